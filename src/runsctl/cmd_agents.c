/*
 * cmd_agents.c: agents list|show|create|edit|delete|enable|disable|import,
 * the coordinator's blueprint registry (runs_agents_api, docs/API.md):
 * GET /agents[?tags=], GET|PATCH|DELETE /agents/NAME, POST /agents,
 * PATCH /agents/NAME/status.  Its base URL: --agents-url, else
 * $RUNS_AGENTS_URL, else the coordinator's URL and /agents.  import reads
 * blueprint folders in either format (common/bpfolder.h).
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/jsonx.h"
#include "runsctl/table.h"

#include "common/bpfolder.h"
#include "common/buf.h"
#include "common/jsonobj.h"
#include "common/names.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AGENTS_ENV        "RUNS_AGENTS_URL"
#define AGENTS_FILE_MAX   (16u * 1024 * 1024)   /* a file read for a body */
#define AGENTS_NAMES_MAX  64

enum {
    O_TAGS, O_DESCRIPTION, O_PROMPT, O_MCP, O_TAG, O_SKILL, O_REPLACE,
    O_AGENTS_URL, O_AGENTS_N
};

static const struct opt_spec agents_opts[O_AGENTS_N] = {
    [O_TAGS] = { "tags", 1, 0 },
    [O_DESCRIPTION] = { "description", 1, 0 },
    [O_PROMPT] = { "system-prompt-file", 1, 0 },
    [O_MCP] = { "mcp-file", 1, 0 },
    [O_TAG] = { "tag", 1, 0 },
    [O_SKILL] = { "skill", 1, 0 },
    [O_REPLACE] = { "replace", 0, 0 },
    [O_AGENTS_URL] = { "agents-url", 1, 0 },
};

#define OPT(o)       (1u << (o))
#define BODY_OPTS    (OPT(O_DESCRIPTION) | OPT(O_PROMPT) | OPT(O_MCP) | OPT(O_TAG) \
                      | OPT(O_SKILL))

/* the members a blueprint is shown with by "show"; others after them */
static const char *const bp_fields[] = {
    "name", "description", "status", "tags", "skills", "model",
    "permission_mode", "allowed_tools", "disallowed_tools", "max_turns",
    "mcp_servers", "created_at", "modified_at",
};

#define NBP_FIELDS (sizeof(bp_fields) / sizeof(bp_fields[0]))

struct agents {
    struct ctl  ctl;            /* the agents API's: its client and URL */
    const char *sub;            /* "agents", for usage errors */
    const char *op;             /* the subcommand: "list", ... */
};

/* ---------------------------------------------------------------- */
/* requests */

/*
 * METHOD base+path with body (NULL: none).  RC_OK with *res (and *val:
 * the answer's JSON, any value, NULL for an empty one) when the server
 * answered; an HTTP error answer is returned as RC_FAIL, reported and
 * freed, or with quiet neither (*res and *val then say what it was).  RC_UNREACHABLE: no answer, or a 2xx one
 * that is not JSON.
 */
static int
agents_call(struct agents *x, const char *method, const char *path, const json_t *body,
            bool quiet, struct http_response *res, json_t **val)
{
    char *text = NULL;
    int   rc;

    *val = NULL;
    memset(res, 0, sizeof(*res));
    if (body != NULL && (text = jsonx_dump(body)) == NULL) {
        return RC_FAIL;
    }
    rc = http_request(x->ctl.http, method, path, text, text ? strlen(text) : 0,
                      API_TIMEOUT_MS, res);
    free(text);
    if (rc != RC_OK) {
        return rc;
    }
    if (res->len > 0) {
        json_error_t je;

        *val = json_loadb(res->body, res->len, JSON_ALLOW_NUL, &je);
    }
    if (res->status < 200 || res->status > 299) {
        if (!quiet) {
            api_report(method, path[0] ? path : "/", res);
            json_decref(*val);
            *val = NULL;
            http_response_free(res);
        }
        return RC_FAIL;
    }
    if (res->len > 0 && *val == NULL) {
        ctl_error("%s %s%s: the answer (HTTP %ld) is not JSON: is %s the agents API?",
                  method, x->ctl.url, path, res->status, x->ctl.url);
        http_response_free(res);
        return RC_UNREACHABLE;
    }
    return RC_OK;
}

static void
agents_done(struct http_response *res, json_t *val)
{
    json_decref(val);
    http_response_free(res);
}

/* METHOD "/NAME" + suffix with body (NULL: none), the name checked
   first: agents_call()'s outcome, an HTTP error reported; *res and *val
   empty when no request was made */
static int
agents_call_at(struct agents *x, const char *method, const char *name,
               const char *suffix, const json_t *body,
               struct http_response *res, json_t **val)
{
    char *path;
    int   rc;

    *val = NULL;
    memset(res, 0, sizeof(*res));
    rc = api_check_name(x->sub, "blueprint name", name);
    if (rc != RC_OK) {
        return rc;
    }
    path = api_path(&x->ctl, "/", name, suffix);
    if (path == NULL) {
        return RC_FAIL;
    }
    rc = agents_call(x, method, path, body, false, res, val);
    free(path);
    return rc;
}

/* the answer with --json, else "NAME what" */
static int
agents_said(struct agents *x, const struct http_response *res, const char *name,
            const char *what)
{
    if (x->ctl.json && res->len > 0) {
        return api_print_json(res);
    }
    if (x->ctl.json) {
        return RC_OK;
    }
    if (printf("%s %s\n", name, what) < 0) {
        ctl_error("cannot write to stdout");
        return RC_FAIL;
    }
    return RC_OK;
}

/* rc, the outcome of a call about the blueprint name: when RC_OK, its
   answer told as agents_said() tells it, then freed */
static int
agents_told(struct agents *x, int rc, struct http_response *res, json_t *val,
            const char *name, const char *what)
{
    if (rc != RC_OK) {
        return rc;
    }
    rc = agents_said(x, res, name, what);
    agents_done(res, val);
    return rc;
}

/* ---------------------------------------------------------------- */
/* list, show */

/* "a,b" of the array (or the object's names) v, "-" for none */
static char *
names_cell(const json_t *v)
{
    struct buf  b;
    const char *key;
    json_t     *item;
    size_t      i;
    char       *s;

    buf_init(&b, 0);
    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            const char *t = json_is_string(item) ? json_string_value(item) : "?";

            buf_append(&b, ",", b.len ? 1 : 0);
            buf_append(&b, t, strlen(t));
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *) v, key, item) {
            buf_append(&b, ",", b.len ? 1 : 0);
            buf_append(&b, key, strlen(key));
        }
    }
    s = b.no_memory ? NULL : strdup(b.len ? b.data : "-");
    buf_free(&b);
    if (s == NULL) {
        ctl_error("out of memory");
    }
    return s;
}

/* a table_row_fn: the cells of one blueprint */
static void
blueprint_row(char **cells, size_t ncols, const json_t *bp, const void *arg)
{
    (void) ncols;
    (void) arg;
    cells[0] = text_of_member(bp, "name");
    cells[1] = text_of_member(bp, "status");
    cells[2] = names_cell(json_object_get(bp, "tags"));
    cells[3] = names_cell(json_object_get(bp, "skills"));
    cells[4] = names_cell(json_object_get(bp, "mcp_servers"));
    cells[5] = text_of_member(bp, "model");
    cells[6] = text_of_member(bp, "description");
}

static int
print_blueprints(const json_t *list)
{
    static const char *const headers[] = {
        "NAME", "STATUS", "TAGS", "SKILLS", "MCP SERVERS", "MODEL", "DESCRIPTION",
    };
    static const size_t maxw[] = { 0, 0, 30, 30, 30, 0, 50 };

    return table_print_list(list, sizeof(headers) / sizeof(headers[0]), headers,
                            maxw, blueprint_row, NULL);
}

static int
agents_list(struct agents *x, const struct args *a)
{
    struct http_response  res;
    json_t               *val;
    char                 *query;
    int                   rc = RC_OK;

    query = strdup("");
    if (query == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    if (a->given[O_TAGS] && a->value[O_TAGS][0] != '\0') {
        rc = api_query_add(&x->ctl, &query, "tags", a->value[O_TAGS]);
    }
    if (rc == RC_OK) {
        rc = agents_call(x, "GET", query, NULL, false, &res, &val);
    }
    free(query);
    if (rc != RC_OK) {
        return rc;
    }
    if (x->ctl.json) {
        rc = api_print_json(&res);
    } else if (!json_is_array(val)) {
        ctl_error("GET %s: the answer is not a list of blueprints: is it the agents API?",
                  x->ctl.url);
        rc = RC_UNREACHABLE;
    } else {
        rc = print_blueprints(val);
    }
    agents_done(&res, val);
    return rc;
}

static int
agents_show(struct agents *x, const struct args *a)
{
    struct http_response  res;
    json_t               *val;
    int                   rc;

    rc = agents_call_at(x, "GET", a->pos[1], "", NULL, &res, &val);
    if (rc != RC_OK) {
        return rc;
    }
    if (x->ctl.json) {
        rc = api_print_json(&res);
    } else if (!json_is_object(val)) {
        ctl_error("GET %s/%s: the answer is not a blueprint: is it the agents API?",
                  x->ctl.url, a->pos[1]);
        rc = RC_UNREACHABLE;
    } else {
        rc = kv_print_object(stdout, val, bp_fields, NBP_FIELDS, "system_prompt");
    }
    agents_done(&res, val);
    return rc;
}

/* ---------------------------------------------------------------- */
/* bodies from the command line */

/* the file path whole, in *text (to free), len bytes; RC_OK or RC_USAGE */
static int
read_text_file(const char *command, const char *path, char **text, size_t *len)
{
    FILE       *f = fopen(path, "rb");
    struct buf  b;
    char        chunk[65536];
    size_t      n;
    int         rc = RC_OK;

    *text = NULL;
    *len = 0;
    if (f == NULL) {
        return ctl_usage_error(command, "%s: %s", path, strerror(errno));
    }
    buf_init(&b, AGENTS_FILE_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) != 0) {
            break;
        }
    }
    if (ferror(f) || b.too_large || b.no_memory) {
        rc = ctl_usage_error(command, "%s: %s", path, ferror(f) ? strerror(errno)
                             : b.too_large ? "larger than 16 MB" : "out of memory");
        buf_free(&b);
    } else {
        *text = b.data;
        *len = b.len;
    }
    fclose(f);
    return rc;
}

/* body["system_prompt"]: the file's text ("" for an empty file) */
static int
body_prompt(json_t *body, const char *command, const char *path)
{
    char   *text, what[600];
    size_t  len;
    int     rc;

    rc = read_text_file(command, path, &text, &len);
    if (rc != RC_OK) {
        return rc;
    }
    snprintf(what, sizeof(what), "%s", path);
    rc = jsonx_set_string(body, "system_prompt", text ? text : "", len, what);
    free(text);
    return rc;
}

/* the servers of an MCP configuration {"mcpServers": {...}} (mcp), named
   path: its only member; RC_OK (*servers borrowed) or RC_USAGE */
static int
mcp_servers_of(const char *command, const char *path, json_t *mcp, json_t **servers)
{
    const char *key;
    json_t     *v;

    *servers = json_object_get(mcp, "mcpServers");
    if (!json_is_object(mcp) || !json_is_object(*servers)) {
        return ctl_usage_error(command, "%s is not an MCP configuration: "
                               "{\"mcpServers\": {NAME: {...}, ...}}", path);
    }
    json_object_foreach(mcp, key, v) {
        if (strcmp(key, "mcpServers") != 0) {
            return ctl_usage_error(command, "%s: unknown key \"%.60s\" (the registry "
                                   "keeps \"mcpServers\" alone)", path, key);
        }
    }
    return RC_OK;
}

/* body["mcp_servers"]: the file's servers ({} for none: cleared) */
static int
body_mcp(json_t *body, const char *command, const char *path)
{
    json_error_t  je;
    json_t       *mcp, *servers;
    int           rc;

    mcp = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (mcp == NULL) {
        return ctl_usage_error(command, "%s: %s (line %d)", path, je.text, je.line);
    }
    rc = mcp_servers_of(command, path, mcp, &servers);
    if (rc == RC_OK && json_object_set(body, "mcp_servers", servers) != 0) {
        ctl_error("out of memory");
        rc = RC_FAIL;
    }
    json_decref(mcp);
    return rc;
}

/* body[key]: the names of every --tag (--skill) given, commas splitting
   them, each once; an empty one alone: [] (cleared) */
static int
body_names(json_t *body, const char *command, const struct args *a, size_t opt,
           const char *key)
{
    json_t *list = json_array();
    size_t  i, n;

    if (list == NULL || json_object_set_new(body, key, list) != 0) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    for (i = 0; i < a->nall; i++) {
        const char *p = a->all[i].value;

        if (a->all[i].opt != opt || p[0] == '\0') {
            continue;
        }
        while (p != NULL) {
            const char *comma = strchr(p, ',');
            char        name[AGENT_NAME_MAX + 2];
            size_t      j;
            bool        seen = false;

            n = comma ? (size_t) (comma - p) : strlen(p);
            snprintf(name, sizeof(name), "%.*s", (int) (n > AGENT_NAME_MAX + 1
                                                        ? AGENT_NAME_MAX + 1 : n), p);
            if (n > AGENT_NAME_MAX || !agent_name_ok(name)) {
                return ctl_usage_error(command, "--%s '%.*s' is not a name (1 to 60 "
                                       "letters, digits, '_', '.' or '-', starting "
                                       "with a letter or digit)", agents_opts[opt].name,
                                       (int) n, p);
            }
            for (j = 0; j < json_array_size(list); j++) {
                seen |= strcmp(json_string_value(json_array_get(list, j)), name) == 0;
            }
            if (!seen && json_array_size(list) >= AGENTS_NAMES_MAX) {
                return ctl_usage_error(command, "more than 64 --%s names",
                                       agents_opts[opt].name);
            }
            if (!seen && json_array_append_new(list, json_string(name)) != 0) {
                ctl_error("out of memory");
                return RC_FAIL;
            }
            p = comma ? comma + 1 : NULL;
        }
    }
    return RC_OK;
}

/* the body of create (name set) or edit (name NULL): the options given */
static int
body_of(const struct agents *x, const struct args *a, const char *name, json_t **out)
{
    json_t *body = json_object();
    char    what[64];
    int     rc = RC_OK;

    *out = NULL;
    snprintf(what, sizeof(what), "--description");
    if (body == NULL
        || (name != NULL && json_object_set_new(body, "name", json_string(name)) != 0))
    {
        ctl_error("out of memory");
        json_decref(body);
        return RC_FAIL;
    }
    if (a->given[O_DESCRIPTION]) {
        rc = jsonx_set_string(body, "description", a->value[O_DESCRIPTION],
                              strlen(a->value[O_DESCRIPTION]), what);
    }
    if (rc == RC_OK && a->given[O_PROMPT]) {
        rc = body_prompt(body, x->sub, a->value[O_PROMPT]);
    }
    if (rc == RC_OK && a->given[O_MCP]) {
        rc = body_mcp(body, x->sub, a->value[O_MCP]);
    }
    if (rc == RC_OK && a->given[O_TAG]) {
        rc = body_names(body, x->sub, a, O_TAG, "tags");
    }
    if (rc == RC_OK && a->given[O_SKILL]) {
        rc = body_names(body, x->sub, a, O_SKILL, "skills");
    }
    if (rc != RC_OK) {
        json_decref(body);
        return rc;
    }
    *out = body;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* create, edit, delete, enable, disable */

static int
agents_create(struct agents *x, const struct args *a)
{
    struct http_response  res;
    json_t               *body, *val;
    int                   rc;

    rc = api_check_name(x->sub, "blueprint name", a->pos[1]);
    if (rc != RC_OK) {
        return rc;
    }
    if (!a->given[O_DESCRIPTION]) {
        return ctl_usage_error(x->sub, "agents create needs --description (what the "
                               "agent is for)");
    }
    rc = body_of(x, a, a->pos[1], &body);
    if (rc != RC_OK) {
        return rc;
    }
    rc = agents_call(x, "POST", "", body, false, &res, &val);
    json_decref(body);
    return agents_told(x, rc, &res, val, a->pos[1], "created");
}

static int
agents_edit(struct agents *x, const struct args *a)
{
    struct http_response  res;
    json_t               *body, *val;
    int                   rc;

    rc = api_check_name(x->sub, "blueprint name", a->pos[1]);
    if (rc == RC_OK) {
        rc = body_of(x, a, NULL, &body);
    }
    if (rc != RC_OK) {
        return rc;
    }
    if (json_object_size(body) == 0) {
        json_decref(body);
        return ctl_usage_error(x->sub, "agents edit: nothing to change (give "
                               "--description, --system-prompt-file, "
                               "--mcp-file, --tag or --skill)");
    }
    rc = agents_call_at(x, "PATCH", a->pos[1], "", body, &res, &val);
    json_decref(body);
    return agents_told(x, rc, &res, val, a->pos[1], "updated");
}

static int
agents_delete(struct agents *x, const struct args *a)
{
    struct http_response  res;
    json_t               *val;
    int                   rc;

    rc = agents_call_at(x, "DELETE", a->pos[1], "", NULL, &res, &val);
    return agents_told(x, rc, &res, val, a->pos[1], "deleted");
}

/* PATCH /NAME/status: RC_OK with the answer (*res, *val) */
static int
agents_set_status(struct agents *x, const char *name, const char *status,
                  struct http_response *res, json_t **val)
{
    json_t *body = json_pack("{s:s}", "status", status);
    int     rc;

    *val = NULL;
    if (body == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    rc = agents_call_at(x, "PATCH", name, "/status", body, res, val);
    json_decref(body);
    return rc;
}

static int
agents_enable(struct agents *x, const struct args *a)
{
    struct http_response  res;
    json_t               *val;
    const char           *status = strcmp(x->op, "enable") == 0 ? "active" : "inactive";
    int                   rc;

    rc = agents_set_status(x, a->pos[1], status, &res, &val);
    return agents_told(x, rc, &res, val, a->pos[1], status);
}

/* ---------------------------------------------------------------- */
/* import */

struct import {
    bool    replace;
    json_t *done;               /* --json: the blueprints as imported */
    int     rc;                 /* the first failure's */
};

static void
import_failed(struct import *im, int rc)
{
    if (im->rc == RC_OK) {
        im->rc = rc;
    }
}

/*
 * the folder's blueprint made the registry's body; for a replace
 * (clear true), every member the folder lacks is cleared
 */
static int
import_body(const char *dir, struct bpfolder *f, bool clear, json_t **body)
{
    static const char *const clears[] = {
        "system_prompt", "s", "mcp_servers", "o", "skills", "a", "tags", "a",
        "model", "s", "permission_mode", "s", "allowed_tools", "a",
        "disallowed_tools", "a",
    };
    json_t *servers;
    size_t  i;
    int     rc;

    if (json_object_get(f->bp, "description") == NULL) {
        return ctl_usage_error("agents", "%s: no \"description\" in %s (the registry "
                               "needs one: what the agent is for)", dir,
                               f->json_path ? f->json_path : "an agent.json");
    }
    if (f->mcp != NULL
        && (rc = mcp_servers_of("agents", f->mcp_path, f->mcp, &servers)) != RC_OK)
    {
        return rc;
    }
    *body = json_deep_copy(f->bp);
    if (*body == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    for (i = 0; clear && i < sizeof(clears) / sizeof(clears[0]); i += 2) {
        if (json_object_get(*body, clears[i]) == NULL
            && json_object_set_new(*body, clears[i],
                                   clears[i + 1][0] == 's' ? json_string("")
                                   : clears[i + 1][0] == 'o' ? json_object()
                                   : json_array()) != 0)
        {
            ctl_error("out of memory");
            return RC_FAIL;
        }
    }
    if (clear) {
        json_object_del(*body, "name");
    }
    return RC_OK;
}

/* POST, or PATCH when it exists and --replace: RC_OK with the answer */
static int
import_send(struct agents *x, struct import *im, const char *dir, struct bpfolder *f,
            const char *name, struct http_response *res, json_t **val, bool *replaced)
{
    json_t *body;
    int     rc;

    *replaced = false;
    rc = import_body(dir, f, false, &body);
    if (rc != RC_OK) {
        return rc;
    }
    rc = agents_call(x, "POST", "", body, im->replace, res, val);
    json_decref(body);
    if (rc != RC_FAIL || res->status != 409 || !im->replace) {
        if (rc == RC_FAIL && im->replace) {
            api_report("POST", "/", res);
        }
        return rc;
    }
    agents_done(res, *val);
    *val = NULL;
    rc = import_body(dir, f, true, &body);
    if (rc != RC_OK) {
        return rc;
    }
    rc = agents_call_at(x, "PATCH", name, "", body, res, val);
    json_decref(body);
    *replaced = rc == RC_OK;
    if (rc == RC_OK && json_object_get(f->bp, "max_turns") == NULL
        && json_object_get(*val, "max_turns") != NULL)
    {
        ctl_error("%s: max_turns %lld kept: the registry cannot clear it (delete the "
                  "blueprint, then import it)", name,
                  (long long) json_integer_value(json_object_get(*val, "max_turns")));
    }
    return rc;
}

/* one blueprint folder dir, named name */
static void
import_one(struct agents *x, struct import *im, const char *dir, const char *name)
{
    struct http_response  res = { 0 };
    struct bpfolder       f;
    json_t               *val = NULL;
    const char           *want, *now;
    char                  err[2048], what[128];
    bool                  replaced;
    int                   rc;

    if (!agent_name_ok(name)) {
        import_failed(im, ctl_usage_error("agents", "%s: the folder's name is not a "
                                          "blueprint name", dir));
        return;
    }
    if (bpfolder_load(dir, name, &f, err, sizeof(err)) != 0) {
        ctl_error("%s", err);
        import_failed(im, RC_USAGE);
        return;
    }
    rc = import_send(x, im, dir, &f, name, &res, &val, &replaced);
    want = f.disabled ? "inactive" : "active";
    now = jsonobj_string(val, "status");
    if (rc == RC_OK && (now == NULL || strcmp(now, want) != 0)) {
        agents_done(&res, val);
        rc = agents_set_status(x, name, want, &res, &val);
    }
    if (rc != RC_OK) {
        import_failed(im, rc);
    } else if (x->ctl.json) {
        if (json_array_append(im->done, val) != 0) {
            import_failed(im, RC_FAIL);
        }
    } else {
        snprintf(what, sizeof(what), "%s%s", replaced ? "replaced" : "created",
                 f.disabled ? " (inactive: .disabled)" : "");
        import_failed(im, agents_said(x, &res, name, what));
    }
    agents_done(&res, val);
    bpfolder_free(&f);
}

static int
import_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* dir without agent.json: an agents dir, each blueprint folder in it */
static void
import_dir(struct agents *x, struct import *im, const char *dir)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    struct stat    st;
    char          *names[1024], *path;
    size_t         n = 0, i;

    if (d == NULL) {
        import_failed(im, ctl_usage_error("agents", "%s: %s", dir, strerror(errno)));
        return;
    }
    while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0])) {
        if (agent_name_ok(e->d_name) && asprintf(&path, "%s/%s", dir, e->d_name) >= 0) {
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)
                && (names[n] = strdup(e->d_name)) != NULL)
            {
                n++;
            }
            free(path);
        }
    }
    closedir(d);
    if (n == 0) {
        import_failed(im, ctl_usage_error("agents", "%s: neither a blueprint folder (no "
                                          "agent.json) nor a folder of them", dir));
        return;
    }
    qsort(names, n, sizeof(names[0]), import_cmp);
    for (i = 0; i < n; i++) {
        if (asprintf(&path, "%s/%s", dir, names[i]) >= 0) {
            import_one(x, im, path, names[i]);
            free(path);
        }
        free(names[i]);
    }
}

static int
agents_import(struct agents *x, const struct args *a)
{
    struct import  im = { .replace = a->given[O_REPLACE] != 0 };
    struct stat    st;
    size_t         i;
    char          *dir, *base, *json;

    im.done = json_array();
    if (im.done == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    for (i = 1; i < a->npos && im.rc != RC_UNREACHABLE; i++) {
        size_t len = strlen(a->pos[i]);

        while (len > 1 && a->pos[i][len - 1] == '/') {
            len--;
        }
        dir = strndup(a->pos[i], len);
        if (dir == NULL || asprintf(&json, "%s/agent.json", dir) < 0) {
            free(dir);
            import_failed(&im, RC_FAIL);
            break;
        }
        base = strrchr(dir, '/');
        if (stat(json, &st) == 0) {
            import_one(x, &im, dir, base ? base + 1 : dir);
        } else {
            import_dir(x, &im, dir);
        }
        free(json);
        free(dir);
    }
    if (x->ctl.json && im.rc == RC_OK) {
        char *text = json_dumps(im.done, JSON_COMPACT);

        if (text == NULL || puts(text) < 0) {
            import_failed(&im, RC_FAIL);
        }
        free(text);
    }
    json_decref(im.done);
    return im.rc;
}

/* ---------------------------------------------------------------- */
/* the group */

struct agents_sub {
    const char *name;
    size_t      min_pos, max_pos;       /* after the subcommand's name */
    unsigned    opts;
    int       (*run)(struct agents *x, const struct args *a);
};

static const struct agents_sub agents_subs[] = {
    { "list", 0, 0, OPT(O_TAGS), agents_list },
    { "show", 1, 1, 0, agents_show },
    { "create", 1, 1, BODY_OPTS, agents_create },
    { "edit", 1, 1, BODY_OPTS, agents_edit },
    { "delete", 1, 1, 0, agents_delete },
    { "enable", 1, 1, 0, agents_enable },
    { "disable", 1, 1, 0, agents_enable },
    { "import", 1, (size_t) -1, OPT(O_REPLACE), agents_import },
};

/* --agents-url, else $RUNS_AGENTS_URL, else <--url>/agents, to free() */
static char *
agents_url(const struct ctl *ctl, const struct args *a)
{
    const char *env = getenv(AGENTS_ENV);
    char       *url;

    if (a->given[O_AGENTS_URL]) {
        url = strdup(a->value[O_AGENTS_URL]);
    } else if (env != NULL && env[0] != '\0') {
        url = strdup(env);
    } else if (asprintf(&url, "%s/agents", ctl->url) < 0) {
        url = NULL;
    }
    if (url == NULL) {
        ctl_error("out of memory");
    }
    return url;
}

static int
run_agents(struct ctl *ctl, const struct args *a)
{
    const struct agents_sub *s = NULL;
    struct agents            x = { .ctl = *ctl };
    char                    *url;
    size_t                   i;
    int                      rc;

    for (i = 0; i < sizeof(agents_subs) / sizeof(agents_subs[0]); i++) {
        if (strcmp(agents_subs[i].name, a->pos[0]) == 0) {
            s = &agents_subs[i];
        }
    }
    if (s == NULL) {
        return ctl_usage_error("agents", "agents: no subcommand '%s' (list, show, "
                               "create, edit, delete, enable, disable, import)", a->pos[0]);
    }
    for (i = 0; i < a->nall; i++) {
        size_t o = a->all[i].opt;

        if (o != O_AGENTS_URL && !(s->opts & OPT(o))) {
            return ctl_usage_error("agents", "agents %s takes no option --%s", s->name,
                                   agents_opts[o].name);
        }
    }
    if (a->npos - 1 < s->min_pos) {
        return ctl_usage_error("agents", "agents %s: missing arguments", s->name);
    }
    if (a->npos - 1 > s->max_pos) {
        return ctl_usage_error("agents", "agents %s: unexpected argument '%s'", s->name,
                               a->pos[s->max_pos + 1]);
    }
    url = agents_url(ctl, a);
    if (url == NULL) {
        return RC_FAIL;
    }
    x.sub = "agents";
    x.op = s->name;
    rc = http_client_new(url, &x.ctl.http);
    if (rc == RC_OK) {
        x.ctl.url = url;
        rc = s->run(&x, a);
    }
    http_client_free(x.ctl.http);
    free(url);
    return rc;
}

const struct command cmd_agents = {
    .name = "agents",
    .synopsis = "agents list|show|create|edit|delete|enable|disable|import ...",
    .summary = "the coordinator's agent blueprints (list, create, import folders, ...)",
    .help =
        "Usage: runsctl agents list [--tags TAG,...]\n"
        "       runsctl agents show NAME\n"
        "       runsctl agents create NAME --description TEXT [--system-prompt-file F]\n"
        "                             [--mcp-file F] [--tag T]... [--skill S]...\n"
        "       runsctl agents edit NAME [the options of create: only those given change]\n"
        "       runsctl agents delete NAME\n"
        "       runsctl agents enable NAME\n"
        "       runsctl agents disable NAME\n"
        "       runsctl agents import [--replace] DIR...\n"
        "\n"
        "The coordinator's blueprint registry (runs_agents_api).  A run whose\n"
        "agent_name names an active blueprint carries it to its runner's\n"
        "executor; an inactive one refuses new runs.\n"
        "\n"
        "  list      the blueprints, by name: NAME STATUS TAGS SKILLS MCP SERVERS\n"
        "            MODEL DESCRIPTION; --tags a,b: those with every tag\n"
        "  show      one blueprint as key: value lines, its system prompt last\n"
        "  create    a new one; prints \"NAME created\"\n"
        "  edit      changes what is given: --tag and --skill replace the list\n"
        "            (--tag '' clears it), an empty --system-prompt-file clears\n"
        "            the prompt, an --mcp-file of {\"mcpServers\": {}} the servers\n"
        "  delete    removes it; enable / disable: status active / inactive\n"
        "  import    each DIR a blueprint folder (NAME/agent.json, in the\n"
        "            reference's format: agent.system-prompt.md, agent.mcp.json,\n"
        "            .disabled; or this product's: system-prompt.md, mcp.json), or\n"
        "            a folder of them; POSTs each (.disabled: then made inactive)\n"
        "\n"
        "Options:\n"
        "  --description TEXT        what the agent is for\n"
        "  --system-prompt-file F    the system prompt, the file's text\n"
        "  --mcp-file F              MCP servers: {\"mcpServers\": {NAME: {...}}}\n"
        "  --tag T, --skill S        a name (repeat, or T1,T2)\n"
        "  --replace                 import: a blueprint that exists is replaced\n"
        "                            by the folder (PATCH), not refused\n"
        "  --agents-url URL          the agents API; default $" AGENTS_ENV ",\n"
        "                            else the coordinator's URL and /agents\n"
        "\n"
        "--json prints the server's answer (import: a JSON array of the\n"
        "blueprints as imported).\n"
        "\n"
        "Examples:\n"
        "  runsctl agents import ~/agent-orchestrator/config/agents\n"
        "  runsctl agents create reviewer --description 'Reviews diffs' \\\n"
        "      --system-prompt-file reviewer.md --tag review\n"
        "  runsctl agents list --tags review\n"
        "  runsctl start fix-1 'Review the last commit' --agent reviewer\n",
    .opts = agents_opts,
    .nopts = O_AGENTS_N,
    .min_pos = 1,
    .max_pos = (size_t) -1,
    .run = run_agents,
};
