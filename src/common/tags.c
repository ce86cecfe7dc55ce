/*
 * tags.c: tag lists (see tags.h).
 */

#include "common/tags.h"
#include "common/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* where name (len bytes) is in t, or goes: *at; 1 when it is there */
static int
tags_find(const struct tags *t, const char *name, size_t len, size_t *at)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        int c = strncmp(t->name[i], name, len);

        if (c == 0 && t->name[i][len] == '\0') {
            *at = i;
            return 1;
        }
        if (c > 0 || (c == 0 && t->name[i][len] != '\0')) {
            break;
        }
    }
    *at = i;
    return 0;
}

/* one name of len bytes at s into t, in its place; 0 or -1 (err) */
static int
tags_put(struct tags *t, const char *s, size_t len, char *err, size_t size)
{
    char   *name;
    size_t  at;

    name = strndup(s, len);
    if (name == NULL) {
        snprintf(err, size, "out of memory");
        return -1;
    }
    if (!agent_name_ok(name)) {
        snprintf(err, size, "'%.80s%s' is not a tag name (1-%d characters "
                 "matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$)", name,
                 len > 80 ? "..." : "", AGENT_NAME_MAX);
        free(name);
        return -1;
    }
    if (tags_find(t, name, len, &at)) {
        free(name);
        return 0;
    }
    if (t->n == TAGS_MAX) {
        snprintf(err, size, "more than %d tags", TAGS_MAX);
        free(name);
        return -1;
    }
    memmove(t->name + at + 1, t->name + at, (t->n - at) * sizeof(char *));
    t->name[at] = name;
    t->n++;
    return 0;
}

int
tags_add(struct tags *t, const char *text, char *err, size_t size)
{
    struct tags  tmp = *t;
    const char  *p = text, *end, *a, *b;
    size_t       i;

    /* on a refusal t is left as it was: the names are added to a copy
       whose new strings are freed then */
    for ( ;; ) {
        end = strchrnul(p, ',');
        for (a = p; a < end && (*a == ' ' || *a == '\t'); a++) { }
        for (b = end; b > a && (b[-1] == ' ' || b[-1] == '\t'); b--) { }
        if (tags_put(&tmp, a, (size_t) (b - a), err, size) != 0) {
            for (i = 0; i < tmp.n; i++) {
                size_t at;

                if (!tags_find(t, tmp.name[i], strlen(tmp.name[i]), &at)) {
                    free(tmp.name[i]);
                }
            }
            return -1;
        }
        if (*end == '\0') {
            break;
        }
        p = end + 1;
    }
    *t = tmp;
    return 0;
}

json_t *
tags_json(const struct tags *t)
{
    json_t *a = json_array();
    size_t  i;

    for (i = 0; a != NULL && i < t->n; i++) {
        if (json_array_append_new(a, json_string(t->name[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

const char *
tags_text(const struct tags *t, char *buf, size_t size)
{
    size_t i, used = 0;
    int    n;

    if (size == 0) {
        return buf;
    }
    buf[0] = '\0';
    for (i = 0; i < t->n && used < size; i++) {
        n = snprintf(buf + used, size - used, "%s%s", i ? "," : "", t->name[i]);
        if (n < 0) {
            break;
        }
        used += (size_t) n;
    }
    return buf;
}

void
tags_free(struct tags *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->name[i]);
    }
    t->n = 0;
}
