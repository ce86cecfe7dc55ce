/*
 * blueprint.c: an agent's blueprint, from its folder or the coordinator's
 * registry (see blueprint.h).
 */

#include "blueprint.h"
#include "common/bpfolder.h"
#include "common/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REGISTRY_FROM "the coordinator's blueprint"

/* the strings of the array v (tool names) into *out */
static int
blueprint_tools(json_t *v, const char *key, const char *agent, const char *from,
                char ***out, size_t *n, char *err, size_t errsize)
{
    size_t  i;
    json_t *t;

    if (!json_is_array(v)) {
        snprintf(err, errsize, "agent \"%s\": %s: \"%s\" is not an array of tool names",
                 agent, from, key);
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
            snprintf(err, errsize, "agent \"%s\": %s: \"%s\" item %zu is not a tool name",
                     agent, from, key, i + 1);
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
blueprint_text(json_t *v, const char *key, const char *agent, const char *from,
               char **out, char *err, size_t errsize)
{
    const char *s = json_string_value(v);

    if (s == NULL || s[0] == '\0' || s[0] == '-') {
        snprintf(err, errsize, "agent \"%s\": %s: \"%s\" is not a non-empty string",
                 agent, from, key);
        return -1;
    }
    *out = strdup(s);
    if (*out == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    return 0;
}

/* the system prompt without trailing white space; only white space: none */
static int
blueprint_prompt(struct blueprint *b, json_t *v, const char *agent, const char *from,
                 char *err, size_t errsize)
{
    const char *s = json_string_value(v);
    size_t      n = json_string_length(v);

    if (s == NULL || memchr(s, '\0', n) != NULL) {
        snprintf(err, errsize, "agent \"%s\": %s: \"system_prompt\" is not text", agent,
                 from);
        return -1;
    }
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '
                     || s[n - 1] == '\t'))
    {
        n--;
    }
    if (n == 0) {
        return 0;
    }
    b->system_prompt = strndup(s, n);
    if (b->system_prompt == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    return 0;
}

/*
 * the members of bp (the registry's shape) claude's flags take; from
 * says where they came from.  Others (name, description, tags, skills,
 * and any this executor does not know) are not claude's.
 */
static int
blueprint_settings(struct blueprint *b, json_t *bp, const char *agent, const char *from,
                   char *err, size_t errsize)
{
    const char *key;
    json_t     *v;
    int         rc = 0;

    json_object_foreach(bp, key, v) {
        if (json_is_null(v)) {
            continue;
        }
        if (strcmp(key, "system_prompt") == 0) {
            rc = blueprint_prompt(b, v, agent, from, err, errsize);
        } else if (strcmp(key, "model") == 0) {
            rc = blueprint_text(v, key, agent, from, &b->model, err, errsize);
        } else if (strcmp(key, "permission_mode") == 0) {
            rc = blueprint_text(v, key, agent, from, &b->permission_mode, err, errsize);
        } else if (strcmp(key, "allowed_tools") == 0) {
            rc = blueprint_tools(v, key, agent, from, &b->allowed_tools, &b->n_allowed,
                                 err, errsize);
        } else if (strcmp(key, "disallowed_tools") == 0) {
            rc = blueprint_tools(v, key, agent, from, &b->disallowed_tools,
                                 &b->n_disallowed, err, errsize);
        } else if (strcmp(key, "max_turns") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1
                || json_integer_value(v) > BPFOLDER_TURNS_MAX)
            {
                snprintf(err, errsize, "agent \"%s\": %s: \"max_turns\" is not a number "
                         "of turns", agent, from);
                rc = -1;
            } else {
                b->max_turns = (long) json_integer_value(v);
            }
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

/* the folder dir of agent name */
static int
blueprint_folder(struct blueprint *b, const char *name, char *err, size_t errsize)
{
    struct bpfolder f;
    char            why[1536];
    int             rc = -1;

    if (bpfolder_disabled(b->dir)) {
        snprintf(err, errsize, "agent \"%s\" is disabled on this host: %s/.disabled is "
                 "there (remove it to run the agent)", name, b->dir);
        return -1;
    }
    if (bpfolder_load(b->dir, name, &f, why, sizeof(why)) != 0) {
        snprintf(err, errsize, "agent \"%s\": %s", name, why);
        return -1;
    }
    if (blueprint_settings(b, f.bp, name, f.json_path ? f.json_path : b->dir,
                           err, errsize) == 0)
    {
        rc = 0;
        if (f.mcp != NULL) {
            b->mcp = json_incref(f.mcp);
            b->mcp_from = strdup(f.mcp_path);
            if (b->mcp_from == NULL) {
                snprintf(err, errsize, "out of memory");
                rc = -1;
            }
        }
    }
    bpfolder_free(&f);
    return rc;
}

/* the registry's blueprint of agent name, from the payload */
static int
blueprint_registry(struct blueprint *b, const char *name, json_t *bp, char *err,
                   size_t errsize)
{
    json_t *servers = json_object_get(bp, "mcp_servers");

    if (blueprint_settings(b, bp, name, REGISTRY_FROM, err, errsize) != 0) {
        return -1;
    }
    if (servers == NULL || json_is_null(servers)) {
        return 0;
    }
    if (!json_is_object(servers)) {
        snprintf(err, errsize, "agent \"%s\": " REGISTRY_FROM ": \"mcp_servers\" is not "
                 "an object of MCP servers", name);
        return -1;
    }
    b->mcp = json_pack("{s:O}", "mcpServers", servers);
    b->mcp_from = strdup(REGISTRY_FROM);
    if (b->mcp == NULL || b->mcp_from == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    return 0;
}

int
blueprint_load(const char *agents_dir, const char *name, json_t *registry,
               struct blueprint *b, char *err, size_t errsize)
{
    struct stat st;
    bool        folder;

    memset(b, 0, sizeof(*b));
    if (!agent_name_ok(name) || asprintf(&b->dir, "%s/%s", agents_dir, name) < 0) {
        b->dir = NULL;
        snprintf(err, errsize, "unknown agent \"%.80s\" (looked in %s)", name, agents_dir);
        return -1;
    }
    folder = stat(b->dir, &st) == 0 && S_ISDIR(st.st_mode);
    if (folder) {
        return blueprint_folder(b, name, err, errsize);
    }
    free(b->dir);
    b->dir = NULL;
    if (json_is_object(registry)) {
        return blueprint_registry(b, name, registry, err, errsize);
    }
    snprintf(err, errsize, "unknown agent \"%.80s\" (looked in %s)", name, agents_dir);
    return -1;
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
    json_decref(b->mcp);
    free(b->mcp_from);
    free(b->model);
    free(b->permission_mode);
    blueprint_free_list(b->allowed_tools, b->n_allowed);
    blueprint_free_list(b->disallowed_tools, b->n_disallowed);
    memset(b, 0, sizeof(*b));
}
