/*
 * blueprint.c: an agent's blueprint folder (see blueprint.h).
 */

#include "blueprint.h"
#include "common/names.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SYSTEM_PROMPT_MAX  (1024 * 1024)

/* dir/file if it exists: 1 (and *path), 0 when absent, -1 on error */
static int
blueprint_file(const struct blueprint *b, const char *name, const char *agent,
               char **path, char *err, size_t errsize)
{
    struct stat st;

    if (asprintf(path, "%s/%s", b->dir, name) < 0) {
        *path = NULL;
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    if (stat(*path, &st) != 0) {
        if (errno == ENOENT) {
            free(*path);
            *path = NULL;
            return 0;
        }
        snprintf(err, errsize, "agent \"%s\": %s: %s", agent, *path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errsize, "agent \"%s\": %s is not a file", agent, *path);
        return -1;
    }
    return 1;
}

static int
blueprint_read_prompt(struct blueprint *b, const char *path, const char *agent,
                      char *err, size_t errsize)
{
    FILE   *f = fopen(path, "rb");
    char   *text;
    size_t  n;

    if (f == NULL) {
        snprintf(err, errsize, "agent \"%s\": %s: %s", agent, path, strerror(errno));
        return -1;
    }
    text = malloc(SYSTEM_PROMPT_MAX + 1);
    if (text == NULL) {
        fclose(f);
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    n = fread(text, 1, SYSTEM_PROMPT_MAX + 1, f);
    if (ferror(f) || n > SYSTEM_PROMPT_MAX || memchr(text, '\0', n) != NULL) {
        snprintf(err, errsize, "agent \"%s\": %s: %s", agent, path,
                 ferror(f) ? strerror(errno)
                 : n > SYSTEM_PROMPT_MAX ? "larger than 1 MB" : "holds a NUL byte");
        fclose(f);
        free(text);
        return -1;
    }
    fclose(f);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'
                     || text[n - 1] == ' ' || text[n - 1] == '\t'))
    {
        n--;
    }
    if (n == 0) {
        free(text);             /* an empty file: nothing to append */
        return 0;
    }
    text[n] = '\0';
    b->system_prompt = text;
    return 0;
}

/* the strings of the array v (tool names) into *out */
static int
blueprint_tools(json_t *v, const char *key, const char *agent, char ***out, size_t *n,
                char *err, size_t errsize)
{
    size_t  i;
    json_t *t;

    if (!json_is_array(v)) {
        snprintf(err, errsize, "agent \"%s\": agent.json: \"%s\" is not an array of "
                 "tool names", agent, key);
        return -1;
    }
    *out = calloc(json_array_size(v) + 1, sizeof(**out));
    if (*out == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    json_array_foreach(v, i, t) {
        const char *s = json_string_value(t);

        /* a name starting with '-' would be read as claude's next flag */
        if (s == NULL || s[0] == '\0' || s[0] == '-') {
            snprintf(err, errsize, "agent \"%s\": agent.json: \"%s\" item %zu is not "
                     "a tool name", agent, key, i + 1);
            return -1;
        }
        (*out)[i] = strdup(s);
        if ((*out)[i] == NULL) {
            snprintf(err, errsize, "out of memory");
            return -1;
        }
        *n = i + 1;
    }
    return 0;
}

static int
blueprint_text(json_t *v, const char *key, const char *agent, char **out,
               char *err, size_t errsize)
{
    const char *s = json_string_value(v);

    if (s == NULL || s[0] == '\0' || s[0] == '-') {
        snprintf(err, errsize, "agent \"%s\": agent.json: \"%s\" is not a non-empty "
                 "string", agent, key);
        return -1;
    }
    *out = strdup(s);
    if (*out == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    return 0;
}

static int
blueprint_read_settings(struct blueprint *b, const char *path, const char *agent,
                        char *err, size_t errsize)
{
    json_error_t  je;
    json_t       *doc, *v;
    const char   *key;
    int           rc = 0;

    doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL) {
        snprintf(err, errsize, "agent \"%s\": %s: %s (line %d)", agent, path, je.text,
                 je.line);
        return -1;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errsize, "agent \"%s\": %s is not a JSON object", agent, path);
        json_decref(doc);
        return -1;
    }
    json_object_foreach(doc, key, v) {
        if (strcmp(key, "model") == 0) {
            rc = blueprint_text(v, key, agent, &b->model, err, errsize);
        } else if (strcmp(key, "permission_mode") == 0) {
            rc = blueprint_text(v, key, agent, &b->permission_mode, err, errsize);
        } else if (strcmp(key, "allowed_tools") == 0) {
            rc = blueprint_tools(v, key, agent, &b->allowed_tools, &b->n_allowed,
                                 err, errsize);
        } else if (strcmp(key, "disallowed_tools") == 0) {
            rc = blueprint_tools(v, key, agent, &b->disallowed_tools, &b->n_disallowed,
                                 err, errsize);
        } else if (strcmp(key, "max_turns") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1
                || json_integer_value(v) > 1000000)
            {
                snprintf(err, errsize, "agent \"%s\": agent.json: \"max_turns\" is not "
                         "a number of turns", agent);
                rc = -1;
            } else {
                b->max_turns = (long) json_integer_value(v);
            }
        } else {
            snprintf(err, errsize, "agent \"%s\": agent.json: unknown setting \"%.60s\" "
                     "(known: model, permission_mode, allowed_tools, disallowed_tools, "
                     "max_turns)", agent, key);
            rc = -1;
        }
        if (rc != 0) {
            break;
        }
    }
    json_decref(doc);
    return rc;
}

int
blueprint_load(const char *agents_dir, const char *name, struct blueprint *b,
               char *err, size_t errsize)
{
    struct stat st;
    char       *path = NULL;
    int         rc;

    memset(b, 0, sizeof(*b));
    if (!agent_name_ok(name)
        || asprintf(&b->dir, "%s/%s", agents_dir, name) < 0
        || stat(b->dir, &st) != 0 || !S_ISDIR(st.st_mode))
    {
        snprintf(err, errsize, "unknown agent \"%.80s\" (looked in %s)", name, agents_dir);
        return -1;
    }

    rc = blueprint_file(b, "system-prompt.md", name, &path, err, errsize);
    if (rc > 0) {
        rc = blueprint_read_prompt(b, path, name, err, errsize);
    }
    free(path);
    if (rc < 0) {
        return -1;
    }

    rc = blueprint_file(b, "mcp.json", name, &b->mcp_config, err, errsize);
    if (rc < 0) {
        return -1;
    }

    rc = blueprint_file(b, "agent.json", name, &path, err, errsize);
    if (rc > 0) {
        rc = blueprint_read_settings(b, path, name, err, errsize);
    }
    free(path);
    return rc < 0 ? -1 : 0;
}

static void
blueprint_free_list(char **v, size_t n)
{
    size_t i;

    for (i = 0; v != NULL && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void
blueprint_free(struct blueprint *b)
{
    free(b->dir);
    free(b->system_prompt);
    free(b->mcp_config);
    free(b->model);
    free(b->permission_mode);
    blueprint_free_list(b->allowed_tools, b->n_allowed);
    blueprint_free_list(b->disallowed_tools, b->n_disallowed);
    memset(b, 0, sizeof(*b));
}
