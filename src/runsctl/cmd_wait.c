/*
 * cmd_wait.c: wait, and the waiting behind start/resume --wait.
 *
 * The wait is the server's: GET /runs/{id}?wait=N holds the request until
 * the run is terminal or N seconds pass, N = min(time left, 60).  The loop
 * asks again only when a wait ended with the run still going.
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/table.h"

#include "common/jsonobj.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_CHUNK      60.0      /* seconds: the longest single ?wait= */
#define WAIT_MAX        1e9       /* seconds: the largest --timeout */
#define WAIT_EARLY_NAP  0.5       /* seconds: see wait_run() */

int
parse_seconds(const char *command, const char *text, double *out)
{
    char   *end;
    double  v;

    errno = 0;
    v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v)
        || v < 0 || v > WAIT_MAX)
    {
        return ctl_usage_error(command, "--timeout '%s': not a number of "
                               "seconds (0 or more, fractions allowed)",
                               text);
    }
    *out = v;
    return RC_OK;
}

static double
dmin(double a, double b)
{
    return a < b ? a : b;
}

static double
dmax(double a, double b)
{
    return a > b ? a : b;
}

int
clock_now(double *t)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        ctl_error("clock_gettime: %s", strerror(errno));
        return RC_FAIL;
    }
    *t = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
    return RC_OK;
}

int
clock_nap(double seconds)
{
    struct timespec ts, rem;

    ts.tv_sec = (time_t) seconds;
    ts.tv_nsec = (long) ((seconds - (double) ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &rem) != 0) {
        if (errno != EINTR) {
            ctl_error("nanosleep: %s", strerror(errno));
            return RC_FAIL;
        }
        ts = rem;
    }
    return RC_OK;
}

int
run_is_terminal(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0
           || strcmp(status, "stopped") == 0;
}

/* "/runs/ID?wait=N" with N in seconds, milliseconds at most */
static char *
wait_path(const char *base, double n)
{
    char   num[32], *path;
    size_t len;

    snprintf(num, sizeof(num), "%.3f", n);
    len = strlen(num);
    while (len > 1 && num[len - 1] == '0') {
        num[--len] = '\0';
    }
    if (num[len - 1] == '.') {
        num[len - 1] = '\0';
    }
    if (asprintf(&path, "%s?wait=%s", base, num) < 0) {
        ctl_error("out of memory");
        return NULL;
    }
    return path;
}

int
run_end_status(const char *run_id, const json_t *run, const char *status)
{
    const char *err;
    char       *clean;

    if (strcmp(status, "completed") == 0) {
        return RC_OK;
    }
    if (strcmp(status, "failed") == 0) {
        err = jsonobj_string(run, "error");
        clean = err ? text_clean(err, strlen(err), 1) : NULL;
        ctl_error("run %s failed%s%s", run_id, clean ? ": " : "",
                  clean ? clean : "");
        free(clean);
        return RC_FAIL;
    }
    ctl_error("run %s was %s", run_id, status);
    return RC_FAIL;
}

/* the outcome of a run that ended (or not, at a timeout) */
static int
report_end(const char *run_id, const json_t *run, const char *status,
           double timeout, int timed_out)
{
    if (timed_out) {
        ctl_error("timed out after %gs waiting for run %s (status %s)",
                  timeout, run_id, status);
        return RC_TIMEOUT;
    }
    return run_end_status(run_id, run, status);
}

int
wait_run(struct ctl *ctl, const char *run_id, double timeout)
{
    struct http_response  res = { 0 };
    json_t               *run = NULL;
    const char           *status = NULL;
    char                 *base, *path;
    double                start, t0, t1, left, n;
    int                   rc, timed_out = 0;

    base = api_path(ctl, "/runs/", run_id, "");
    if (base == NULL) {
        return RC_FAIL;
    }
    rc = clock_now(&start);

    while (rc == RC_OK) {
        rc = clock_now(&t0);
        if (rc != RC_OK) {
            break;
        }
        left = timeout < 0 ? WAIT_CHUNK : start + timeout - t0;
        n = dmin(dmax(left, 0), WAIT_CHUNK);

        path = wait_path(base, n);
        if (path == NULL) {
            rc = RC_FAIL;
            break;
        }
        rc = api_call(ctl, "GET", path, NULL,
                      API_TIMEOUT_MS + (long) (n * 1000), &res, &run);
        free(path);
        if (rc != RC_OK) {
            break;
        }
        status = jsonobj_string(run, "status");
        if (status == NULL) {
            ctl_error("GET /runs/%s: the answer has no status: is %s the "
                      "coordinator?", run_id, ctl->url);
            rc = RC_UNREACHABLE;
            break;
        }
        if (run_is_terminal(status)) {
            break;
        }
        rc = clock_now(&t1);
        if (rc != RC_OK) {
            break;
        }
        if (timeout >= 0 && t1 >= start + timeout) {
            timed_out = 1;
            break;
        }
        /* the server answered a still-going run well before the wait
           ended (a worker shutting down answers its held requests at
           once): do not turn that into a busy loop */
        if (t1 - t0 < n / 2) {
            rc = clock_nap(timeout < 0 ? WAIT_EARLY_NAP
                     : dmin(WAIT_EARLY_NAP, start + timeout - t1));
        }
        json_decref(run);
        run = NULL;
        http_response_free(&res);
    }
    free(base);

    if (rc == RC_OK) {
        /* the answer on stdout, so that $(runsctl ... --wait) is it; the
           record on stderr (or the JSON on stdout with --json) */
        rc = print_run_to(ctl, &res, run, stderr);
        if (rc == RC_OK && !ctl->json) {
            rc = print_result(run);
        }
        if (rc == RC_OK) {
            rc = report_end(run_id, run, status, timeout, timed_out);
        }
    }
    json_decref(run);
    http_response_free(&res);
    return rc;
}

/* ---------------------------------------------------------------- */

enum { O_TIMEOUT, O_WAIT_N };

static const struct opt_spec wait_opts[O_WAIT_N] = {
    [O_TIMEOUT] = { "timeout", 1 },
};

static int
run_wait(struct ctl *ctl, const struct args *a)
{
    double timeout = -1;
    int    rc;

    if (a->given[O_TIMEOUT]) {
        rc = parse_seconds("wait", a->value[O_TIMEOUT], &timeout);
        if (rc != RC_OK) {
            return rc;
        }
    }
    rc = api_check_id("wait", "run id", a->pos[0]);
    if (rc != RC_OK) {
        return rc;
    }
    return wait_run(ctl, a->pos[0], timeout);
}

const struct command cmd_wait = {
    .name = "wait",
    .synopsis = "wait RUN_ID [--timeout S]",
    .summary = "wait until a run ends; exit 0 only if it completed",
    .help =
        "Usage: runsctl wait RUN_ID [--timeout S]\n"
        "\n"
        "Wait until the run RUN_ID is completed, failed or stopped, then\n"
        "print its result (the agent's answer) on stdout and the run on\n"
        "stderr as 'runsctl get' prints it (--json: the server's run object\n"
        "on stdout).\n"
        "The server holds each request until the run ends (GET\n"
        "/runs/RUN_ID?wait=N, N at most 60 s, asked again while the run\n"
        "goes on): there is no polling.  Exit 0 if the run completed, 1 if\n"
        "it failed or was stopped (the error on stderr).\n"
        "\n"
        "Options:\n"
        "  --timeout S   give up after S seconds (fractions allowed): print\n"
        "                the run as it is and exit 4.  Default: no limit.\n"
        "\n"
        "Examples:\n"
        "  runsctl wait run_3f9a0c1b2d4e --timeout 300\n"
        "  runsctl wait run_3f9a0c1b2d4e --json | jq -r .status\n",
    .opts = wait_opts,
    .nopts = O_WAIT_N,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_wait,
};
