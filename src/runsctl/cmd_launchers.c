/*
 * cmd_launchers.c: launchers, deregister.
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/table.h"

#include "common/buf.h"
#include "common/jsonobj.h"
#include "common/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR_COLUMNS 40            /* a project dir's width in the table */
#define TAGS_COLUMNS 40           /* the tags' */

/* "online", "stale, deregistering" */
static char *
status_cell(const json_t *l)
{
    const char *st = jsonobj_string(l, "status");
    char       *s;

    if (asprintf(&s, "%s%s", st ? st : "-",
                 json_is_true(json_object_get(l, "deregistering"))
                 ? ", deregistering" : "") < 0)
    {
        ctl_error("out of memory");
        return NULL;
    }
    return s;
}

/* "gpu,linux", "-" for none */
static char *
tags_cell(const json_t *l)
{
    const json_t *tags = json_object_get(l, "tags"), *tag;
    struct buf    b;
    size_t        i;
    char         *s;

    buf_init(&b, 0);
    json_array_foreach(tags, i, tag) {
        const char *name = json_is_string(tag) ? json_string_value(tag) : "?";

        buf_append(&b, ",", i ? 1 : 0);
        buf_append(&b, name, strlen(name));
    }
    s = b.no_memory ? NULL : strdup(b.len ? b.data : "-");
    buf_free(&b);
    if (s == NULL) {
        ctl_error("out of memory");
    }
    return s;
}

/* "3.2s ago" */
static char *
heartbeat_cell(const json_t *l)
{
    const json_t *v = json_object_get(l, "seconds_since_heartbeat");
    char         *s;

    if (!json_is_number(v)) {
        return text_of_member(l, "last_heartbeat");
    }
    if (asprintf(&s, "%.1fs ago", json_number_value(v)) < 0) {
        ctl_error("out of memory");
        return NULL;
    }
    return s;
}

/* a table_row_fn: the cells of one launcher */
static void
launcher_row(char **cells, size_t ncols, const json_t *l, const void *arg)
{
    (void) ncols;
    (void) arg;
    cells[0] = text_of_member(l, "launcher_id");
    cells[1] = status_cell(l);
    cells[2] = text_of_member(l, "hostname");
    cells[3] = text_of_member(l, "executor_type");
    cells[4] = tags_cell(l);
    cells[5] = text_of_member(l, "project_dir");
    cells[6] = text_of_member(l, "registered_at");
    cells[7] = heartbeat_cell(l);
}

static int
print_launchers(const json_t *launchers)
{
    static const char *const headers[] = {
        "LAUNCHER ID", "STATUS", "HOSTNAME", "EXECUTOR", "TAGS",
        "PROJECT DIR", "REGISTERED", "LAST HEARTBEAT",
    };
    static const size_t maxw[] = { 0, 0, 0, 0, TAGS_COLUMNS, DIR_COLUMNS,
                                   0, 0 };

    return table_print_list(launchers, sizeof(headers) / sizeof(headers[0]),
                            headers, maxw, launcher_row, NULL);
}

static int
run_launchers(struct ctl *ctl, const struct args *a)
{
    (void) a;
    return api_get_list(ctl, "/launchers", "launchers", print_launchers);
}

const struct command cmd_launchers = {
    .name = "launchers",
    .synopsis = "launchers",
    .summary = "list the registered runners (launchers)",
    .help =
        "Usage: runsctl launchers\n"
        "\n"
        "List the runners registered with the coordinator, oldest\n"
        "registration first: id, online or stale (and whether it is being\n"
        "deregistered), host, executor, tags (agent-runner --tag; cut to\n"
        "40 columns), project directory, registration time and the time\n"
        "since its last heartbeat.  --json prints the server's\n"
        "{\"launchers\": [...]}, with each runner's agents too.\n"
        "\n"
        "Example:\n"
        "  runsctl launchers --url http://coordinator:8765\n",
    .opts = NULL,
    .nopts = 0,
    .min_pos = 0,
    .max_pos = 0,
    .run = run_launchers,
};

/* ---------------------------------------------------------------- */

/* where --self finds the runner's token when --token is not given */
#define TOKEN_ENV "RUNS_LAUNCHER_TOKEN"

enum { O_SELF, O_TOKEN, O_DEREG_N };

static const struct opt_spec deregister_opts[O_DEREG_N] = {
    [O_SELF] = { "self", 0 },
    [O_TOKEN] = { "token", 1 },
};

/*
 * --self acts as the runner: its token (--token, else $RUNS_LAUNCHER_TOKEN)
 * goes as "Authorization: Bearer"; none: the coordinator's refusal, if it
 * wants one, is reported as any other.  The token is never printed.
 */
static int
deregister_token(struct ctl *ctl, const struct args *a)
{
    const char *token = a->given[O_TOKEN] ? a->value[O_TOKEN] : NULL;
    const char *from = "--token";

    if (token != NULL && !a->given[O_SELF]) {
        return ctl_usage_error("deregister", "--token goes with --self (an "
                               "external deregistration takes none)");
    }
    if (!a->given[O_SELF]) {
        return RC_OK;
    }
    if (token == NULL) {
        token = getenv(TOKEN_ENV);
        from = "$" TOKEN_ENV;
        if (token == NULL || token[0] == '\0') {
            return RC_OK;
        }
    }
    if (!token_ok(token)) {
        return ctl_usage_error("deregister", "%s is not a runner token (the "
                               "\"token\" its registration answered, "
                               "rtk_...)", from);
    }
    return http_client_bearer(ctl->http, token);
}

static int
run_deregister(struct ctl *ctl, const struct args *a)
{
    struct http_response  res;
    json_t               *obj;
    int                   rc;

    rc = api_check_id("deregister", "launcher id", a->pos[0]);
    if (rc == RC_OK) {
        rc = deregister_token(ctl, a);
    }
    if (rc == RC_OK) {
        rc = api_call_at(ctl, "DELETE", "/launchers/", a->pos[0],
                         a->given[O_SELF] ? "?self=true" : "", &res, &obj);
    }
    if (rc != RC_OK) {
        return rc;
    }
    rc = api_print_action(ctl, &res, obj, a->pos[0],
                          a->given[O_SELF] ? "deregistered" : "deregistering");
    json_decref(obj);
    http_response_free(&res);
    return rc;
}

const struct command cmd_deregister = {
    .name = "deregister",
    .synopsis = "deregister LAUNCHER_ID [--self [--token TOKEN]]",
    .summary = "remove a runner from the coordinator",
    .help =
        "Usage: runsctl deregister LAUNCHER_ID [--self [--token TOKEN]]\n"
        "\n"
        "Deregister a runner.  By default the removal is external: the\n"
        "runner is marked, its next (or held) poll answers\n"
        "{\"deregistered\": true} and it is then removed, so a live runner\n"
        "exits cleanly.  --self removes it at once (DELETE ?self=true, what\n"
        "a runner does for itself): its claimed runs go back to the queue\n"
        "and its running ones fail.  A coordinator with runs_launcher_auth\n"
        "on (the default) takes --self only with the runner's token, the\n"
        "\"token\" its registration answered, sent as \"Authorization:\n"
        "Bearer TOKEN\"; without it the coordinator's refusal is the error\n"
        "(HTTP 401, exit status 1).  Prints \"LAUNCHER_ID deregistering\n"
        "(message)\" or \"LAUNCHER_ID deregistered (message)\", or with\n"
        "--json the server's answer.\n"
        "\n"
        "Options:\n"
        "  --self          remove now, as the runner itself would\n"
        "  --token TOKEN   with --self: the runner's token (default:\n"
        "                  $RUNS_LAUNCHER_TOKEN; prefer it: a command line\n"
        "                  is visible to every user of the host)\n"
        "\n"
        "Examples:\n"
        "  runsctl deregister lnch_0a1b2c3d4e5f\n"
        "  RUNS_LAUNCHER_TOKEN=rtk_... runsctl deregister lnch_0a1b2c3d4e5f --self\n",
    .opts = deregister_opts,
    .nopts = O_DEREG_N,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_deregister,
};
