/*
 * cmd_runs.c: get, list, stop, and printing runs.
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/table.h"

#include "common/buf.h"
#include "common/jsonobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROMPT_COLUMNS 40          /* a prompt's width in a table */

/* ---------------------------------------------------------------- */
/* printing runs */

/* the run object's fields in the order "get" shows them; any field the
   server adds later is shown after these, prompt always last */
static const char *const run_fields[] = {
    "run_id", "type", "status", "waiting_for", "session_name", "session_id",
    "agent_name", "project_dir", "parent_session_name", "demands",
    "affinity", "launcher_id", "error", "created_at", "claimed_at",
    "started_at", "completed_at",
};

#define NRUN_FIELDS (sizeof(run_fields) / sizeof(run_fields[0]))

int
print_run(const struct ctl *ctl, const struct http_response *res,
          const json_t *run)
{
    return print_run_to(ctl, res, run, stdout);
}

/* s appended to b */
static void
buf_put(struct buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

/* "tags gpu,linux; hostname h1; project_dir /srv/a; executor_type echo":
   the members of a run's "demands" that are set, as text to free() ("-"
   for none); NULL when out of memory */
static char *
demands_text(const json_t *d)
{
    static const char *const keys[] = {
        "tags", "hostname", "project_dir", "executor_type",
    };
    struct buf  b;
    size_t      i, j;
    json_t     *v, *tag;
    char       *out;

    buf_init(&b, 0);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        v = json_object_get(d, keys[i]);
        if (!json_is_string(v) && json_array_size(v) == 0) {
            continue;
        }
        buf_put(&b, b.len ? "; " : "");
        buf_put(&b, keys[i]);
        buf_put(&b, " ");
        if (json_is_string(v)) {
            buf_put(&b, json_string_value(v));
        }
        json_array_foreach(v, j, tag) {
            buf_put(&b, j ? "," : "");
            buf_put(&b, json_is_string(tag) ? json_string_value(tag) : "?");
        }
    }
    if (b.no_memory) {
        buf_free(&b);
        return NULL;
    }
    out = strdup(b.len ? b.data : "-");
    buf_free(&b);
    return out;
}

int
print_run_to(const struct ctl *ctl, const struct http_response *res,
             const json_t *run, FILE *fp)
{
    const json_t *d = json_object_get(run, "demands");
    json_t       *shown;
    char         *text;
    int           rc;

    if (ctl->json) {
        return api_print_json(res);
    }
    if (!json_is_object(d)) {
        return kv_print_object(fp, run, run_fields, NRUN_FIELDS, "prompt");
    }
    /* the demands as a line for people, in a copy of the run */
    text = demands_text(d);
    shown = json_copy((json_t *) run);
    if (text == NULL || shown == NULL
        || json_object_set_new(shown, "demands", json_string(text)) != 0)
    {
        ctl_error("out of memory");
        free(text);
        json_decref(shown);
        return RC_FAIL;
    }
    free(text);
    rc = kv_print_object(fp, shown, run_fields, NRUN_FIELDS, "prompt");
    json_decref(shown);
    return rc;
}

/* a table_row_fn: the cells of keys (arg), the status with what a
   pending run waits for, the type for people */
static void
run_row(char **cells, size_t ncols, const json_t *run, const void *keys)
{
    table_row_keys(cells, ncols, run, keys);
    /* "pending (waiting for a runner with agent coder)": a run that
       no registered runner can take */
    if (cells[1] != NULL && json_is_string(json_object_get(run, "waiting_for"))) {
        char *why = NULL;

        if (asprintf(&why, "%s (waiting for %s)", cells[1],
                     json_string_value(json_object_get(run, "waiting_for"))) < 0)
        {
            why = NULL;
            ctl_error("out of memory");
        }
        free(cells[1]);
        cells[1] = why;
    }
    /* "start_session" -> "start": the table is for people */
    if (cells[2] != NULL) {
        char *us = strstr(cells[2], "_session");

        if (us != NULL && us[8] == '\0') {
            *us = '\0';
        }
    }
}

/* the list's table; without the SESSION column for one session's runs */
int
print_runs_table(const json_t *runs, int with_session)
{
    static const char *const all_headers[] = {
        "RUN ID", "STATUS", "TYPE", "SESSION", "AGENT", "CREATED", "PROMPT",
    };
    static const char *const all_keys[] = {
        "run_id", "status", "type", "session_name", "agent_name",
        "created_at", "prompt",
    };
    static const size_t all_maxw[] = { 0, 0, 0, 0, 0, 0, PROMPT_COLUMNS };
    static const char *const one_headers[] = {
        "RUN ID", "STATUS", "TYPE", "AGENT", "CREATED", "PROMPT",
    };
    static const char *const one_keys[] = {
        "run_id", "status", "type", "agent_name", "created_at", "prompt",
    };
    static const size_t one_maxw[] = { 0, 0, 0, 0, 0, PROMPT_COLUMNS };
    enum { NCOL = sizeof(all_headers) / sizeof(all_headers[0]) };

    return table_print_list(runs, with_session ? NCOL : NCOL - 1,
                            with_session ? all_headers : one_headers,
                            with_session ? all_maxw : one_maxw, run_row,
                            with_session ? all_keys : one_keys);
}

static int
print_list_table(const json_t *runs)
{
    return print_runs_table(runs, 1);
}

/* ---------------------------------------------------------------- */
/* get */

int
run_call(struct ctl *ctl, const char *command, const char *method,
         const char *run_id, const char *suffix, struct http_response *res,
         json_t **obj)
{
    int rc;

    rc = api_check_id(command, "run id", run_id);
    if (rc != RC_OK) {
        return rc;
    }
    return api_call_at(ctl, method, "/runs/", run_id, suffix, res, obj);
}

static int
run_get(struct ctl *ctl, const struct args *a)
{
    struct http_response  res;
    json_t               *obj;
    int                   rc;

    rc = run_call(ctl, "get", "GET", a->pos[0], "", &res, &obj);
    if (rc != RC_OK) {
        return rc;
    }
    rc = print_run(ctl, &res, obj);
    json_decref(obj);
    http_response_free(&res);
    return rc;
}

const struct command cmd_get = {
    .name = "get",
    .synopsis = "get RUN_ID",
    .summary = "show one run",
    .help =
        "Usage: runsctl get RUN_ID\n"
        "\n"
        "Show the run RUN_ID as 'key: value' lines (the whole prompt last),\n"
        "or with --json the server's run object.\n"
        "\n"
        "Example:\n"
        "  runsctl get run_3f9a0c1b2d4e\n",
    .opts = NULL,
    .nopts = 0,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_get,
};

/* ---------------------------------------------------------------- */
/* list */

enum { O_STATUS, O_SESSION, O_LIMIT, O_LIST_N };

static const struct opt_spec list_opts[O_LIST_N] = {
    [O_STATUS] = { "status", 1 },
    [O_SESSION] = { "session", 1 },
    [O_LIMIT] = { "limit", 1 },
};

static int
run_list(struct ctl *ctl, const struct args *a)
{
    static const char *const param[O_LIST_N] = {
        [O_STATUS] = "status", [O_SESSION] = "session_name",
        [O_LIMIT] = "limit",
    };
    char *query;
    int   rc;

    rc = api_query_of(ctl, "list", a, param, O_LIST_N, &query);
    return api_get_listing(ctl, "/runs", query, rc, "runs",
                           print_list_table);
}

const struct command cmd_list = {
    .name = "list",
    .synopsis = "list [--status STATUS] [--session SESSION] [--limit N]",
    .summary = "list runs, oldest first",
    .help =
        "Usage: runsctl list [--status STATUS] [--session SESSION] "
        "[--limit N]\n"
        "\n"
        "List the newest N runs (default 100, at most 10000) that match,\n"
        "oldest first, as a table; prompts are cut to "
        "40 columns.  --json\n"
        "prints the server's {\"runs\": [...]}.\n"
        "\n"
        "Options:\n"
        "  --status STATUS     pending, claimed, running, stopping,\n"
        "                      completed, failed or stopped\n"
        "  --session SESSION   runs of this session only\n"
        "  --limit N           at most N runs\n"
        "\n"
        "Examples:\n"
        "  runsctl list --status running\n"
        "  runsctl list --session fix-login --json\n",
    .opts = list_opts,
    .nopts = O_LIST_N,
    .min_pos = 0,
    .max_pos = 0,
    .run = run_list,
};

/* ---------------------------------------------------------------- */
/* stop */

enum { O_STOP_SESSION, O_STOP_N };

static const struct opt_spec stop_opts[O_STOP_N] = {
    [O_STOP_SESSION] = { "session", 1, 0 },
};

static int
run_stop(struct ctl *ctl, const struct args *a)
{
    struct http_response  res;
    json_t               *obj;
    const char           *id, *status;
    int                   rc;

    if (a->given[O_STOP_SESSION]) {
        if (a->npos > 0) {
            return ctl_usage_error("stop", "give RUN_ID or --session NAME, "
                                   "not both");
        }
        return stop_session(ctl, a->value[O_STOP_SESSION]);
    }
    if (a->npos == 0) {
        return ctl_usage_error("stop", "missing arguments; usage: runsctl "
                               "stop RUN_ID | --session NAME");
    }
    rc = run_call(ctl, "stop", "POST", a->pos[0], "/stop", &res, &obj);
    if (rc != RC_OK) {
        return rc;
    }
    id = jsonobj_string(obj, "run_id");
    status = jsonobj_string(obj, "status");
    rc = api_print_action(ctl, &res, obj, id ? id : a->pos[0],
                          status ? status : "-");
    json_decref(obj);
    http_response_free(&res);
    return rc;
}

const struct command cmd_stop = {
    .name = "stop",
    .synopsis = "stop RUN_ID | --session NAME",
    .summary = "stop a run, or everything live in a session",
    .help =
        "Usage: runsctl stop RUN_ID\n"
        "       runsctl stop --session NAME\n"
        "\n"
        "Stop the run RUN_ID.  A pending run is stopped at once; a claimed\n"
        "or running one becomes 'stopping' and its runner is told.  Prints\n"
        "\"RUN_ID STATUS (message)\", or with --json the server's answer.\n"
        "A run that already ended cannot be stopped (exit 1, HTTP 409).\n"
        "\n"
        "With --session, stop the session NAME in one step: its claimed or\n"
        "running run becomes 'stopping' (its runner is told) and its pending\n"
        "runs are cancelled ('stopped').  Prints one line per run,\n"
        "\"RUN_ID stopping\" or \"RUN_ID stopped (cancelled)\", or that\n"
        "nothing was live; --json prints the server's answer.\n"
        "\n"
        "Options:\n"
        "  --session NAME   stop the session NAME instead of one run\n"
        "\n"
        "Examples:\n"
        "  runsctl stop run_3f9a0c1b2d4e\n"
        "  runsctl stop --session fix-login\n",
    .opts = stop_opts,
    .nopts = O_STOP_N,
    .min_pos = 0,
    .max_pos = 1,
    .run = run_stop,
};

int
print_result(const json_t *run)
{
    const json_t *v = json_object_get(run, "result");
    size_t        len;

    if (!json_is_string(v)) {
        return RC_OK;
    }
    len = json_string_length(v);
    if (fwrite(json_string_value(v), 1, len, stdout) != len || fflush(stdout) != 0) {
        ctl_error("cannot write to stdout");
        return RC_FAIL;
    }
    return RC_OK;
}
