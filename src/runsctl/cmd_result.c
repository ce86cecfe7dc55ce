/*
 * cmd_result.c: result: a run's result (the agent's answer), or that of a
 * session's latest completed run, byte for byte on stdout.
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/jsonx.h"

#include "common/jsonobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the answer (res, its object obj: a run, or a session's {"result",
   "run_id"}) to a request for the result of the run or session called
   name (kind: "run" or "session"): printed as received with --json, else
   its result; RC_OK, or RC_NO_RESULT when its result is null, with why on
   stderr */
static int
show_result(const struct ctl *ctl, const struct http_response *res,
            const json_t *obj, const char *kind, const char *name)
{
    const char *run_id = jsonobj_string(obj, "run_id");
    const char *status = jsonobj_string(obj, "status");
    int         rc = RC_OK;

    if (ctl->json) {
        rc = api_print_json(res);
        if (rc != RC_OK) {
            return rc;
        }
    }
    if (!json_is_string(json_object_get(obj, "result"))) {
        if (status != NULL) {
            ctl_error("%s %s has no result%s (status %s)", kind, name,
                      run_is_terminal(status) ? "" : " yet", status);
        } else {
            ctl_error("%s %s has no result (run %s)", kind, name,
                      run_id ? run_id : "-");
        }
        return RC_NO_RESULT;
    }
    if (!ctl->json) {
        rc = print_result(obj);
    }
    if (rc == RC_OK && json_is_true(json_object_get(obj, "result_truncated"))) {
        ctl_error("the result of run %s was cut by the coordinator "
                  "(result_truncated: longer than its runs_result_max)",
                  run_id ? run_id : "-");
    }
    return rc;
}

static int
run_result_of_run(struct ctl *ctl, const char *run_id)
{
    struct http_response  res;
    json_t               *obj;
    int                   rc;

    rc = run_call(ctl, "result", "GET", run_id, "", &res, &obj);
    if (rc != RC_OK) {
        return rc;
    }
    rc = show_result(ctl, &res, obj, "run", run_id);
    json_decref(obj);
    http_response_free(&res);
    return rc;
}

static int
run_result_of_session(struct ctl *ctl, const char *name)
{
    struct http_response  res;
    json_t               *obj;
    char                 *id, *path;
    int                   rc;

    rc = session_id_of(ctl, "result", name, &id);
    if (rc != RC_OK) {
        return rc;
    }
    path = api_path(ctl, "/sessions/", id, "/result");
    free(id);
    if (path == NULL) {
        return RC_FAIL;
    }
    rc = api_call_any(ctl, "GET", path, NULL, API_TIMEOUT_MS, &res, &obj);
    if (rc != RC_OK) {
        free(path);
        return rc;
    }
    if (res.status < 200 || res.status > 299) {
        const char *detail = jsonobj_string(obj, "detail");

        api_report("GET", path, &res);
        /* a 404 for a session that exists: none of its runs completed */
        rc = res.status == 404 && detail != NULL
             && strcmp(detail, "Session not found") != 0
             ? RC_NO_RESULT : RC_FAIL;
    } else {
        rc = show_result(ctl, &res, obj, "session", name);
    }
    free(path);
    json_decref(obj);
    http_response_free(&res);
    return rc;
}

enum { O_SESSION, O_RESULT_N };

static const struct opt_spec result_opts[O_RESULT_N] = {
    [O_SESSION] = { "session", 1, 0 },
};

static int
run_result(struct ctl *ctl, const struct args *a)
{
    if (a->given[O_SESSION]) {
        if (a->npos > 0) {
            return ctl_usage_error("result", "give RUN_ID or --session NAME, "
                                   "not both");
        }
        return run_result_of_session(ctl, a->value[O_SESSION]);
    }
    if (a->npos == 0) {
        return ctl_usage_error("result", "missing arguments; usage: runsctl "
                               "result RUN_ID | --session NAME");
    }
    return run_result_of_run(ctl, a->pos[0]);
}

const struct command cmd_result = {
    .name = "result",
    .synopsis = "result RUN_ID | --session NAME",
    .summary = "print a run's result (the agent's answer)",
    .help =
        "Usage: runsctl result RUN_ID\n"
        "       runsctl result --session NAME\n"
        "\n"
        "Print the result of the run RUN_ID (its executor's stdout: the\n"
        "agent's answer) on stdout, byte for byte, nothing added.  With\n"
        "--session, the result of the latest completed run of the session\n"
        "NAME.  When there is none yet (the run has not ended, or reported\n"
        "no result; no run of the session completed) nothing is printed,\n"
        "the reason goes to stderr and the exit status is 5.  A result the\n"
        "coordinator cut (result_truncated) is printed as it has it, with a\n"
        "note on stderr.  --json prints the server's answer instead: the\n"
        "run object, or {\"result\", \"run_id\", \"result_truncated\"} with\n"
        "--session (jq -r .result reads both); the exit status is the same.\n"
        "\n"
        "Options:\n"
        "  --session NAME   the session's latest completed run\n"
        "\n"
        "Examples:\n"
        "  runsctl result run_3f9a0c1b2d4e > answer.md\n"
        "  answer=$(runsctl result --session fix-login)\n",
    .opts = result_opts,
    .nopts = O_RESULT_N,
    .min_pos = 0,
    .max_pos = 1,
    .run = run_result,
};
