/*
 * cmd_sessions.c: sessions, session, delete-session, stop --session: the
 * Sessions API (/sessions), a session named on the command line by its
 * name and found through GET /sessions/by-name/NAME.
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/jsonx.h"
#include "runsctl/table.h"

#include "common/jsonobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the session object's fields in the order "session" shows them; any
   field the server adds later comes after these */
static const char *const session_fields[] = {
    "session_name", "session_id", "status", "agent_name", "project_dir",
    "parent_session_name", "created_at", "updated_at", "run_count",
    "last_run_id",
};

#define NSESSION_FIELDS (sizeof(session_fields) / sizeof(session_fields[0]))

/* GET /sessions/by-name/NAME: the answer (*res, *obj, to free) and the
   session object in it (*session, borrowed from *obj) */
static int
session_get(struct ctl *ctl, const char *command, const char *name,
            struct http_response *res, json_t **obj, json_t **session)
{
    char *path;
    int   rc;

    rc = api_check_name(command, "session name", name);
    if (rc != RC_OK) {
        return rc;
    }
    path = api_path(ctl, "/sessions/by-name/", name, "");
    if (path == NULL) {
        return RC_FAIL;
    }
    rc = api_call(ctl, "GET", path, NULL, API_TIMEOUT_MS, res, obj);
    if (rc == RC_OK) {
        *session = json_object_get(*obj, "session");
        if (jsonobj_string(*session, "session_id") == NULL) {
            ctl_error("GET %s: the answer has no session with a session_id: "
                      "is %s the coordinator?", path, ctl->url);
            json_decref(*obj);
            *obj = NULL;
            http_response_free(res);
            rc = RC_UNREACHABLE;
        }
    }
    free(path);
    return rc;
}

int
session_id_of(struct ctl *ctl, const char *command, const char *name,
              char **id)
{
    struct http_response  res;
    json_t               *obj, *session;
    int                   rc;

    *id = NULL;
    rc = session_get(ctl, command, name, &res, &obj, &session);
    if (rc != RC_OK) {
        return rc;
    }
    *id = strdup(jsonobj_string(session, "session_id"));
    json_decref(obj);
    http_response_free(&res);
    if (*id == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    return RC_OK;
}

/* METHOD /sessions/ID + suffix, without a body, for the session called
   name: api_call()'s outcome, or session_id_of()'s failure */
static int
session_call(struct ctl *ctl, const char *command, const char *name,
             const char *method, const char *suffix,
             struct http_response *res, json_t **obj)
{
    char *id;
    int   rc;

    rc = session_id_of(ctl, command, name, &id);
    if (rc != RC_OK) {
        return rc;
    }
    rc = api_call_at(ctl, method, "/sessions/", id, suffix, res, obj);
    free(id);
    return rc;
}

/* ---------------------------------------------------------------- */
/* sessions */

static int
print_sessions_table(const json_t *sessions)
{
    static const char *const headers[] = {
        "SESSION", "STATUS", "AGENT", "RUNS", "LAST RUN", "UPDATED",
        "SESSION ID",
    };
    static const char *const keys[] = {
        "session_name", "status", "agent_name", "run_count", "last_run_id",
        "updated_at", "session_id",
    };

    return table_print_list(sessions, sizeof(headers) / sizeof(headers[0]),
                            headers, NULL, table_row_keys, keys);
}

enum { O_STATUS, O_AGENT, O_LIMIT, O_SESSIONS_N };

static const struct opt_spec sessions_opts[O_SESSIONS_N] = {
    [O_STATUS] = { "status", 1, 0 },
    [O_AGENT] = { "agent", 1, 0 },
    [O_LIMIT] = { "limit", 1, 0 },
};

static int
run_sessions(struct ctl *ctl, const struct args *a)
{
    static const char *const param[O_SESSIONS_N] = {
        [O_STATUS] = "status", [O_AGENT] = "agent_name", [O_LIMIT] = "limit",
    };
    char *query;
    int   rc;

    rc = api_query_of(ctl, "sessions", a, param, O_SESSIONS_N, &query);
    return api_get_listing(ctl, "/sessions", query, rc, "sessions",
                           print_sessions_table);
}

const struct command cmd_sessions = {
    .name = "sessions",
    .synopsis = "sessions [--status STATUS] [--agent NAME] [--limit N]",
    .summary = "list sessions, oldest first",
    .help =
        "Usage: runsctl sessions [--status STATUS] [--agent NAME] "
        "[--limit N]\n"
        "\n"
        "List the newest N sessions (default 100, at most 10000) that\n"
        "match, oldest first, as a table: name, status (that of its latest\n"
        "run: pending, running, stopping, finished, failed or stopped),\n"
        "agent, number of runs, latest run, last change and session id.\n"
        "--json prints the server's {\"sessions\": [...]}.\n"
        "\n"
        "Options:\n"
        "  --status STATUS   pending, running, stopping, finished, failed\n"
        "                    or stopped\n"
        "  --agent NAME      sessions of this agent only\n"
        "  --limit N         at most N sessions\n"
        "\n"
        "Examples:\n"
        "  runsctl sessions --status running\n"
        "  runsctl sessions --agent coder --json | jq -r "
        "'.sessions[].session_name'\n",
    .opts = sessions_opts,
    .nopts = O_SESSIONS_N,
    .min_pos = 0,
    .max_pos = 0,
    .run = run_sessions,
};

/* ---------------------------------------------------------------- */
/* session */

/* --json: {"session": ..., "runs": [...]}, the two answers in one */
static int
print_session_json(json_t *session, json_t *runs)
{
    json_t *doc;
    char   *text;
    int     rc;

    doc = json_pack("{s:O, s:O}", "session", session, "runs", runs);
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (text == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    rc = jsonx_print_raw(text, strlen(text));
    free(text);
    return rc;
}

static int
run_session(struct ctl *ctl, const struct args *a)
{
    struct http_response  res, rres = { 0 };
    json_t               *obj, *session, *robj = NULL, *runs = NULL;
    char                 *path;
    int                   rc;

    rc = session_get(ctl, "session", a->pos[0], &res, &obj, &session);
    if (rc != RC_OK) {
        return rc;
    }
    path = api_path(ctl, "/sessions/", jsonobj_string(session, "session_id"),
                    "/runs");
    rc = path ? api_call(ctl, "GET", path, NULL, API_TIMEOUT_MS, &rres, &robj)
              : RC_FAIL;
    if (rc == RC_OK) {
        runs = json_object_get(robj, "runs");
        if (!json_is_array(runs)) {
            ctl_error("GET %s: the answer has no \"runs\" list: is %s the "
                      "coordinator?", path, ctl->url);
            rc = RC_UNREACHABLE;
        }
    }
    if (rc == RC_OK && ctl->json) {
        rc = print_session_json(session, runs);
    } else if (rc == RC_OK) {
        rc = kv_print_object(stdout, session, session_fields,
                             NSESSION_FIELDS, NULL);
        if (rc == RC_OK && putchar('\n') == EOF) {
            ctl_error("cannot write to stdout");
            rc = RC_FAIL;
        }
        if (rc == RC_OK) {
            rc = print_runs_table(runs, 0);
        }
    }
    free(path);
    json_decref(robj);
    http_response_free(&rres);
    json_decref(obj);
    http_response_free(&res);
    return rc;
}

const struct command cmd_session = {
    .name = "session",
    .synopsis = "session NAME",
    .summary = "show a session and its runs",
    .help =
        "Usage: runsctl session NAME\n"
        "\n"
        "Show the session NAME as 'key: value' lines, then its runs, oldest\n"
        "first, as a table (as 'runsctl list' shows them).  --json prints\n"
        "one document, {\"session\": {...}, \"runs\": [...]}: the server's\n"
        "session object and its list of runs.  An unknown session is the\n"
        "server's 404 (exit 1).\n"
        "\n"
        "Examples:\n"
        "  runsctl session fix-login\n"
        "  runsctl session fix-login --json | jq -r .session.session_id\n",
    .opts = NULL,
    .nopts = 0,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_session,
};

/* ---------------------------------------------------------------- */
/* delete-session */

static int
run_delete_session(struct ctl *ctl, const struct args *a)
{
    struct http_response  res;
    json_t               *obj;
    json_t               *n;
    int                   rc;

    rc = session_call(ctl, "delete-session", a->pos[0], "DELETE", "", &res,
                      &obj);
    if (rc != RC_OK) {
        return rc;
    }
    if (ctl->json) {
        rc = api_print_json(&res);
    } else {
        n = json_object_get(obj, "deleted_runs");
        if ((json_is_integer(n)
             ? printf("%s deleted (%" JSON_INTEGER_FORMAT " run%s)\n",
                      a->pos[0], json_integer_value(n),
                      json_integer_value(n) == 1 ? "" : "s")
             : printf("%s deleted\n", a->pos[0])) < 0)
        {
            ctl_error("cannot write to stdout");
            rc = RC_FAIL;
        }
    }
    json_decref(obj);
    http_response_free(&res);
    return rc;
}

const struct command cmd_delete_session = {
    .name = "delete-session",
    .synopsis = "delete-session NAME",
    .summary = "remove a session and all its runs",
    .help =
        "Usage: runsctl delete-session NAME\n"
        "\n"
        "Remove the session NAME and every run of it (their results and\n"
        "logs too).  Its name may then start a new session, which gets a\n"
        "new session id.  Refused (HTTP 409, exit 1) while a run of it is\n"
        "claimed, running or stopping: 'runsctl stop --session NAME'\n"
        "first; pending runs are removed with it.  Prints \"NAME deleted\n"
        "(N runs)\", or with --json the server's answer.\n"
        "\n"
        "Examples:\n"
        "  runsctl delete-session fix-login\n"
        "  runsctl delete-session fix-login --json\n",
    .opts = NULL,
    .nopts = 0,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_delete_session,
};

/* ---------------------------------------------------------------- */
/* stop --session */

/* one line per run id of list: "RUN_ID <what>" */
static int
print_ids(const json_t *list, const char *what, size_t *count)
{
    size_t  i;
    json_t *v;
    char   *id;
    int     rc = RC_OK;

    json_array_foreach(list, i, v) {
        id = text_of_json(v);
        if (id == NULL) {
            return RC_FAIL;
        }
        if (printf("%s %s\n", id, what) < 0) {
            ctl_error("cannot write to stdout");
            rc = RC_FAIL;
        }
        free(id);
        if (rc != RC_OK) {
            return rc;
        }
        (*count)++;
    }
    return RC_OK;
}

int
stop_session(struct ctl *ctl, const char *name)
{
    struct http_response  res;
    json_t               *obj;
    size_t                count = 0;
    int                   rc;

    rc = session_call(ctl, "stop", name, "POST", "/stop", &res, &obj);
    if (rc != RC_OK) {
        return rc;
    }
    if (ctl->json) {
        rc = api_print_json(&res);
    } else {
        rc = print_ids(json_object_get(obj, "stopped"),
                       "stopping (its runner has been told)", &count);
        if (rc == RC_OK) {
            rc = print_ids(json_object_get(obj, "cancelled"),
                           "stopped (cancelled: it was pending)", &count);
        }
        if (rc == RC_OK && count == 0
            && printf("%s: nothing to stop (no run pending or running)\n",
                      name) < 0)
        {
            ctl_error("cannot write to stdout");
            rc = RC_FAIL;
        }
    }
    json_decref(obj);
    http_response_free(&res);
    return rc;
}
