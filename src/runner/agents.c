/*
 * agents.c: the agent blueprints of the agents dir (see agents.h).
 */

#include "runner/agents.h"
#include "common/bpfolder.h"
#include "common/names.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
agents_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* is dir/name a directory (following a symbolic link)? */
static bool
agents_is_dir(int dfd, const struct dirent *d)
{
    struct stat st;

    if (d->d_type == DT_DIR) {
        return true;
    }
    if (d->d_type != DT_LNK && d->d_type != DT_UNKNOWN) {
        return false;
    }
    return fstatat(dfd, d->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/* dir/name/.disabled is there: the agent is not offered */
static bool
agents_disabled(const char *dir, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return bpfolder_disabled(path);
}

json_t *
agents_list(const char *dir, const struct log *lg)
{
    static int     last_errno = -1;    /* what the log said last */
    DIR           *d;
    struct dirent *e;
    char         **names = NULL, **grown;
    size_t         n = 0, cap = 0, i;
    json_t        *out;

    out = json_array();
    if (out == NULL) {
        return NULL;
    }
    d = opendir(dir);
    if (d == NULL) {
        int  err = errno;
        char q[600];

        if (err != last_errno) {
            last_errno = err;
            log_msg(lg, err == ENOENT ? LOG_INFO : LOG_WARN, NULL,
                    "no agent blueprints: the agents dir cannot be read "
                    "agents_dir=%s error=\"%s\"", log_quote(q, sizeof(q), dir),
                    strerror(err));
        }
        return out;
    }
    last_errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (!agent_name_ok(e->d_name) || !agents_is_dir(dirfd(d), e)
            || agents_disabled(dir, e->d_name))
        {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                goto nomem;
            }
            names = grown;
        }
        names[n] = strdup(e->d_name);
        if (names[n] == NULL) {
            goto nomem;
        }
        n++;
    }
    closedir(d);
    d = NULL;
    if (n > 0) {
        qsort(names, n, sizeof(*names), agents_cmp);
    }
    for (i = 0; i < n; i++) {
        if (json_array_append_new(out, json_string(names[i])) != 0) {
            goto nomem;
        }
    }
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    return out;

nomem:
    if (d != NULL) {
        closedir(d);
    }
    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    json_decref(out);
    return NULL;
}
