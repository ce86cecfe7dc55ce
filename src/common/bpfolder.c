/*
 * bpfolder.c: an agent blueprint folder in either format (see bpfolder.h).
 */

#include "common/bpfolder.h"
#include "common/names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BPF_NAMES_MAX  64           /* tags or skills: the registry's limit */

static const char bpf_not_folder[] = "is not the folder's name";
static const char bpf_known[] = "name, description, tags, skills, model, "
    "permission_mode, allowed_tools, disallowed_tools, max_turns";

bool
bpfolder_disabled(const char *dir)
{
    struct stat st;
    char        path[4096];

    snprintf(path, sizeof(path), "%s/.disabled", dir);
    return lstat(path, &st) == 0;
}

/*
 * dir/ref or dir/own, whichever is there: 1 (*path set), 0 when neither
 * is, -1 with err (both are, one is not a file, stat failed)
 */
static int
bpf_pick(const char *dir, const char *ref, const char *own, char **path,
         char *err, size_t errsize)
{
    const char *names[2] = { ref, own };
    struct stat st;
    char       *p;
    int         i;

    *path = NULL;
    for (i = 0; i < 2; i++) {
        if (names[i] == NULL) {
            continue;
        }
        if (asprintf(&p, "%s/%s", dir, names[i]) < 0) {
            snprintf(err, errsize, "out of memory");
            return -1;
        }
        if (stat(p, &st) != 0) {
            if (errno != ENOENT) {
                snprintf(err, errsize, "%s: %s", p, strerror(errno));
                free(p);
                return -1;
            }
            free(p);
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errsize, "%s is not a file", p);
            free(p);
            return -1;
        }
        if (*path != NULL) {
            snprintf(err, errsize, "%s: holds both %s and %s: keep one", dir, ref, own);
            free(p);
            return -1;
        }
        *path = p;
    }
    return *path != NULL;
}

/* the system prompt file's text, as it is (an empty one: no member) */
static int
bpf_prompt(struct bpfolder *f, char *err, size_t errsize)
{
    FILE   *fp = fopen(f->prompt_path, "rb");
    char   *text;
    size_t  n;
    json_t *s;
    int     rc = -1;

    if (fp == NULL) {
        snprintf(err, errsize, "%s: %s", f->prompt_path, strerror(errno));
        return -1;
    }
    text = malloc(BPFOLDER_PROMPT_MAX + 1);
    if (text == NULL) {
        fclose(fp);
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    n = fread(text, 1, BPFOLDER_PROMPT_MAX + 1, fp);
    if (ferror(fp) || n > BPFOLDER_PROMPT_MAX || memchr(text, '\0', n) != NULL) {
        snprintf(err, errsize, "%s: %s", f->prompt_path,
                 ferror(fp) ? strerror(errno)
                 : n > BPFOLDER_PROMPT_MAX ? "larger than 1 MB" : "holds a NUL byte");
    } else if (n == 0) {
        rc = 0;
    } else if ((s = json_stringn(text, n)) == NULL) {
        snprintf(err, errsize, "%s: not UTF-8 text", f->prompt_path);
    } else if (json_object_set_new(f->bp, "system_prompt", s) != 0) {
        snprintf(err, errsize, "out of memory");
    } else {
        rc = 0;
    }
    fclose(fp);
    free(text);
    return rc;
}

/* v: an array of at most max strings, each a name (names) or not empty */
static bool
bpf_strings(json_t *v, bool names, size_t max)
{
    size_t  i;
    json_t *s;

    if (!json_is_array(v) || json_array_size(v) > max) {
        return false;
    }
    json_array_foreach(v, i, s) {
        const char *t = json_string_value(s);

        if (t == NULL || t[0] == '\0' || (names && !agent_name_ok(t))) {
            return false;
        }
    }
    return true;
}

static int
bpf_cmp(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *) a),
                  json_string_value(*(json_t *const *) b));
}

/* the array of strings v sorted, as a new array */
static json_t *
bpf_sorted(json_t *v)
{
    size_t   n = json_array_size(v), i;
    json_t **items = calloc(n + 1, sizeof(*items));
    json_t  *out = json_array();

    if (items == NULL || out == NULL) {
        free(items);
        json_decref(out);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        items[i] = json_array_get(v, i);
    }
    qsort(items, n, sizeof(*items), bpf_cmp);
    for (i = 0; i < n; i++) {
        if (json_array_append(out, items[i]) != 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    free(items);
    return out;
}

/* what is wrong with agent.json's member key = v, NULL: nothing */
static const char *
bpf_check(const char *key, json_t *v, const char *name)
{
    if (strcmp(key, "name") == 0) {
        return !json_is_string(v) ? "is not a string"
               : strcmp(json_string_value(v), name) != 0
                 ? bpf_not_folder : NULL;
    }
    if (strcmp(key, "description") == 0 || strcmp(key, "model") == 0
        || strcmp(key, "permission_mode") == 0)
    {
        return json_string_length(v) > 0 ? NULL : "is not a non-empty string";
    }
    if (strcmp(key, "tags") == 0 || strcmp(key, "skills") == 0) {
        return bpf_strings(v, true, BPF_NAMES_MAX) ? NULL
               : "is not an array of at most 64 names (1-60 characters "
                 "matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$)";
    }
    if (strcmp(key, "allowed_tools") == 0 || strcmp(key, "disallowed_tools") == 0) {
        return bpf_strings(v, false, 4096) ? NULL
               : "is not an array of tool names (non-empty strings)";
    }
    if (strcmp(key, "max_turns") == 0) {
        return json_is_integer(v) && json_integer_value(v) >= 1
               && json_integer_value(v) <= BPFOLDER_TURNS_MAX
               ? NULL : "is not a number of turns";
    }
    return "";                          /* unknown */
}

/* agent.json: every key known and checked, copied into f->bp */
static int
bpf_settings(struct bpfolder *f, const char *name, char *err, size_t errsize)
{
    json_error_t  je;
    json_t       *doc, *v, *copy;
    const char   *key, *why;
    int           rc = 0;

    doc = json_load_file(f->json_path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        snprintf(err, errsize, "%s: %s (line %d)", f->json_path, je.text, je.line);
        return -1;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errsize, "%s is not a JSON object", f->json_path);
        json_decref(doc);
        return -1;
    }
    json_object_foreach(doc, key, v) {
        why = bpf_check(key, v, name);
        if (why != NULL && why[0] == '\0') {
            snprintf(err, errsize, "%s: unknown key \"%.60s\" (known: %s)", f->json_path,
                     key, bpf_known);
            rc = -1;
            break;
        }
        if (why != NULL) {
            snprintf(err, errsize, "%s: \"%s\" %s%s%s%s", f->json_path, key, why,
                     why == bpf_not_folder ? " (\"" : "",
                     why == bpf_not_folder ? name : "",
                     why == bpf_not_folder ? "\")" : "");
            rc = -1;
            break;
        }
        if (strcmp(key, "name") == 0) {
            continue;
        }
        copy = strcmp(key, "tags") == 0 ? bpf_sorted(v) : json_deep_copy(v);
        if (copy == NULL || json_object_set_new(f->bp, key, copy) != 0) {
            snprintf(err, errsize, "out of memory");
            rc = -1;
            break;
        }
    }
    json_decref(doc);
    return rc;
}

/* the MCP file: {"mcpServers": {NAME: {...}, ...}, ...} */
static int
bpf_mcp(struct bpfolder *f, char *err, size_t errsize)
{
    json_error_t  je;
    json_t       *servers, *srv;
    const char   *name;

    f->mcp = json_load_file(f->mcp_path, JSON_REJECT_DUPLICATES, &je);
    if (f->mcp == NULL) {
        snprintf(err, errsize, "%s: %s (line %d)", f->mcp_path, je.text, je.line);
        return -1;
    }
    servers = json_object_get(f->mcp, "mcpServers");
    if (!json_is_object(f->mcp) || (servers != NULL && !json_is_object(servers))) {
        snprintf(err, errsize, "%s is not an MCP configuration: "
                 "{\"mcpServers\": {NAME: {...}, ...}}", f->mcp_path);
        return -1;
    }
    json_object_foreach(servers, name, srv) {
        if (!json_is_object(srv)) {
            snprintf(err, errsize, "%s: the MCP server \"%.60s\" is not an object",
                     f->mcp_path, name);
            return -1;
        }
    }
    if (json_object_size(servers) > 0
        && json_object_set_new(f->bp, "mcp_servers", json_deep_copy(servers)) != 0)
    {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    return 0;
}

int
bpfolder_load(const char *dir, const char *name, struct bpfolder *f,
              char *err, size_t errsize)
{
    memset(f, 0, sizeof(*f));
    f->bp = json_pack("{s:s}", "name", name);
    if (f->bp == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    f->disabled = bpfolder_disabled(dir);
    if (bpf_pick(dir, "agent.json", NULL, &f->json_path, err, errsize) < 0
        || (f->json_path != NULL && bpf_settings(f, name, err, errsize) != 0)
        || bpf_pick(dir, "agent.system-prompt.md", "system-prompt.md", &f->prompt_path,
                    err, errsize) < 0
        || (f->prompt_path != NULL && bpf_prompt(f, err, errsize) != 0)
        || bpf_pick(dir, "agent.mcp.json", "mcp.json", &f->mcp_path, err, errsize) < 0
        || (f->mcp_path != NULL && bpf_mcp(f, err, errsize) != 0))
    {
        bpfolder_free(f);
        return -1;
    }
    return 0;
}

void
bpfolder_free(struct bpfolder *f)
{
    json_decref(f->bp);
    json_decref(f->mcp);
    free(f->mcp_path);
    free(f->prompt_path);
    free(f->json_path);
    memset(f, 0, sizeof(*f));
}
