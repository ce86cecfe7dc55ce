/*
 * cmd_logs.c: logs: a run's log (its executor's stderr) on stdout, byte
 * for byte as it arrives, and with --follow until the run ends.
 *
 * GET /runs/{id}/log[?offset=N][&follow=1] answers text/plain starting at
 * the log offset its X-Log-Offset header gives; X-Run-Status is the run's
 * status when the answer began.  A followed answer is held by the server
 * and ends once the run is terminal and its whole log sent; it may also
 * end (or break) sooner: a worker shutting down ends its follows, a
 * connection can drop, a follow beyond runs_max_follows is a 503.  Then
 * the next request asks from the offset reached (X-Log-Offset + the bytes
 * received), so no byte is printed twice or skipped, after a short pause.
 * The answer that begins with the run already terminal holds the rest of
 * its log: when it has arrived whole, the log is complete.
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/table.h"

#include "common/jsonobj.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGS_PAUSE_FIRST   0.1    /* s: the first pause before reconnecting */
#define LOGS_PAUSE_MAX     2.0    /* s: pauses double up to this */
#define LOGS_RETRY_FOR    30.0    /* s with no answer before giving up */
#define LOGS_RETRY_AFTER   5.0    /* s: the longest Retry-After obeyed */
#define LOGS_CALM          5.0    /* s: an answer held this long is no
                                     reason to slow down */
#define LOGS_OFFSET_DIGITS 18     /* --offset below 10^18 */

enum { H_OFFSET, H_STATUS, H_RETRY_AFTER, H_EVICTED };

/* one invocation's state across its requests */
struct logs {
    struct ctl                 *ctl;
    const char                 *run_id;
    const struct http_stream   *s;          /* the current answer */
    unsigned long long          next;       /* offset of the next byte */
    unsigned long long          start;      /* the answer's X-Log-Offset */
    char                        status[16]; /* its X-Run-Status */
    int                         begun;      /* its headers were read */
    int                         evicted;    /* said the log was given up */
    int                         failed;     /* an error was reported: the
                                               exit status it means */
};

/* a byte offset (an option, a header) in *out: 0, or -1 when text is
   not one */
static int
parse_offset(const char *text, unsigned long long *out)
{
    if (text == NULL || text[0] == '\0'
        || strspn(text, "0123456789") != strlen(text)
        || strlen(text) > LOGS_OFFSET_DIGITS)
    {
        return -1;
    }
    *out = strtoull(text, NULL, 10);
    return 0;
}

/* the headers of a 2xx answer, before its first byte is printed */
static int
begin(struct logs *l)
{
    const char *st = l->s->values[H_STATUS];

    l->begun = 1;
    if (parse_offset(l->s->values[H_OFFSET], &l->start) != 0) {
        ctl_error("GET /runs/%s/log: the answer has no X-Log-Offset header: "
                  "is %s the coordinator?", l->run_id, l->ctl->url);
        l->failed = RC_UNREACHABLE;
        return -1;
    }
    snprintf(l->status, sizeof(l->status), "%s", st ? st : "");
    if (!l->evicted && l->s->values[H_EVICTED] != NULL
        && strcmp(l->s->values[H_EVICTED], "true") == 0)
    {
        ctl_error("the log of run %s is no longer kept: the coordinator gave "
                  "it up to make room (runs_zone)", l->run_id);
        l->evicted = 1;
    }
    if (l->start > l->next) {
        ctl_error("the log of run %s goes on at byte %llu: bytes %llu to "
                  "%llu are no longer kept (runs_log_size)", l->run_id,
                  l->start, l->next, l->start - 1);
    }
    return 0;
}

/* http_stream's on_body: the bytes to stdout, as they come */
static int
on_body(void *arg, const char *data, size_t len)
{
    struct logs *l = arg;

    if (!l->begun && begin(l) != 0) {
        return -1;
    }
    if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
        ctl_error("cannot write to stdout: %s", strerror(errno));
        l->failed = RC_FAIL;
        return -1;
    }
    return 0;
}

static char *
log_path(const char *base, unsigned long long offset, int with_offset,
         int follow)
{
    char *path;
    char  num[32] = "";

    if (with_offset) {
        snprintf(num, sizeof(num), "%llu", offset);
    }
    if (asprintf(&path, "%s%s%s%s", base, with_offset ? "?offset=" : "",
                 num, follow ? (with_offset ? "&follow=1" : "?follow=1")
                             : "") < 0)
    {
        ctl_error("out of memory");
        return NULL;
    }
    return path;
}

/* the server's refusal s (not 2xx), as api_call reports one */
static void
report_refusal(const char *path, const struct http_stream *s)
{
    struct http_response r = {
        .status = s->status, .body = s->error ? s->error : "",
        .len = s->error_len,
    };

    api_report("GET", path, &r);
}

/* a stream for l's next request */
static void
stream_init(struct http_stream *s, struct logs *l)
{
    memset(s, 0, sizeof(*s));
    s->names[H_OFFSET] = "X-Log-Offset";
    s->names[H_STATUS] = "X-Run-Status";
    s->names[H_RETRY_AFTER] = "Retry-After";
    s->names[H_EVICTED] = "X-Log-Evicted";
    s->on_body = on_body;
    s->arg = l;
    l->s = s;
    l->begun = 0;
}

/* the run ended as l->status, its log all printed: the exit status */
static int
finish(struct logs *l)
{
    struct http_response  res;
    json_t               *run = NULL;
    char                 *path;
    int                   rc;

    if (strcmp(l->status, "failed") != 0) {
        return run_end_status(l->run_id, NULL, l->status);
    }
    /* its error, for the message */
    path = api_path(l->ctl, "/runs/", l->run_id, "");
    if (path == NULL) {
        return RC_FAIL;
    }
    rc = api_call(l->ctl, "GET", path, NULL, API_TIMEOUT_MS, &res, &run);
    free(path);
    rc = run_end_status(l->run_id, rc == RC_OK ? run : NULL, "failed");
    if (run != NULL) {
        json_decref(run);
        http_response_free(&res);
    }
    return rc;
}

/* the pause a refusal asks for (Retry-After, in seconds), else dflt */
static double
retry_after(const struct http_stream *s, double dflt)
{
    const char *v = s->values[H_RETRY_AFTER];
    double      d;

    if (v == NULL || v[0] == '\0' || strspn(v, "0123456789") != strlen(v)) {
        return dflt;
    }
    d = strtod(v, NULL);
    return d < LOGS_PAUSE_FIRST ? LOGS_PAUSE_FIRST
           : d > LOGS_RETRY_AFTER ? LOGS_RETRY_AFTER : d;
}

/* the pause before the next try: the backoff, which then doubles */
static double
next_pause(double *backoff)
{
    double p = *backoff;

    *backoff = p * 2 < LOGS_PAUSE_MAX ? p * 2 : LOGS_PAUSE_MAX;
    return p;
}

/*
 * The outcome of one request of a follow: RC_OK with *pause < 0 when the
 * log is complete, RC_OK with *pause >= 0 when the next request follows
 * on after *pause seconds, else the exit status (reported).
 */
static int
follow_step(struct logs *l, const char *path, const struct http_stream *s,
            int got, double held, int *answered, double *backoff,
            double *pause)
{
    if (s->status >= 200 && s->status <= 299) {
        if (!l->begun && begin(l) != 0) {
            return RC_UNREACHABLE;
        }
        *answered = 1;
        l->next = l->start + s->received;
        if (l->status[0] == '\0') {
            ctl_error("GET %s: the answer has no X-Run-Status header: is %s "
                      "the coordinator?", path, l->ctl->url);
            return RC_UNREACHABLE;
        }
        if (got == RC_OK && run_is_terminal(l->status)) {
            *pause = -1;
            return RC_OK;
        }
        if (got != RC_OK) {
            ctl_error("the log of run %s broke off at byte %llu (%s): "
                      "following on", l->run_id, l->next, s->why);
        }
        if (s->received > 0 || held >= LOGS_CALM) {
            *backoff = LOGS_PAUSE_FIRST;
        }
        *pause = next_pause(backoff);
        return RC_OK;
    }
    if (s->status == 0) {
        if (!*answered) {
            ctl_error("cannot reach the server at %s: %s", l->ctl->url,
                      s->why);
            return RC_UNREACHABLE;
        }
        *pause = next_pause(backoff);
        return RC_OK;
    }
    if (s->status == 502 || s->status == 503 || s->status == 504) {
        *pause = retry_after(s, next_pause(backoff));
        return RC_OK;
    }
    if (s->status == 404 && *answered) {
        ctl_error("run %s was removed while its log was followed",
                  l->run_id);
        return RC_FAIL;
    }
    report_refusal(path, s);
    return RC_FAIL;
}

/* a follow that has had no answer for too long: the last failure */
static int
give_up(const struct logs *l, const char *path, const struct http_stream *s)
{
    if (s->status != 0) {
        report_refusal(path, s);
        return RC_FAIL;
    }
    ctl_error("lost the log of run %s at byte %llu: %s; gave up after %gs "
              "without an answer", l->run_id, l->next, s->why,
              LOGS_RETRY_FOR);
    return RC_UNREACHABLE;
}

static int
logs_follow(struct logs *l, const char *base, int offset_given)
{
    struct http_stream  s;
    double              backoff = LOGS_PAUSE_FIRST, pause, last, t0, t1;
    char               *path;
    int                 rc, answered = 0, got;

    if (clock_now(&last) != RC_OK) {
        return RC_FAIL;
    }
    for ( ;; ) {
        path = log_path(base, l->next, offset_given || answered, 1);
        if (path == NULL) {
            return RC_FAIL;
        }
        stream_init(&s, l);
        rc = clock_now(&t0);
        got = http_stream(l->ctl->http, path, 1, 0, &s);
        if (rc == RC_OK) {
            rc = clock_now(&t1);
        }
        if (rc != RC_OK) {
            /* reported */
        } else if (l->failed || got == RC_FAIL || got == RC_USAGE) {
            if (!l->failed) {
                ctl_error("GET %s: %s", path, s.why);
            }
            rc = l->failed ? l->failed : got;
        } else {
            rc = follow_step(l, path, &s, got, t1 - t0, &answered, &backoff,
                             &pause);
            if (s.status >= 200 && s.status <= 299) {
                last = t1;
            }
            if (rc == RC_OK && pause < 0) {
                rc = finish(l);
            } else if (rc == RC_OK && t1 + pause - last > LOGS_RETRY_FOR) {
                rc = give_up(l, path, &s);
            } else if (rc == RC_OK) {
                rc = clock_nap(pause);
                if (rc == RC_OK) {
                    http_stream_free(&s);
                    free(path);
                    continue;
                }
            }
        }
        http_stream_free(&s);
        free(path);
        return rc;
    }
}

/* without --follow: the log as it is, one answer */
static int
logs_once(struct logs *l, const char *base, int offset_given)
{
    struct http_stream  s;
    char               *path;
    int                 rc;

    path = log_path(base, l->next, offset_given, 0);
    if (path == NULL) {
        return RC_FAIL;
    }
    stream_init(&s, l);
    rc = http_stream(l->ctl->http, path, 0, API_TIMEOUT_MS, &s);
    if (l->failed) {
        rc = l->failed;
    } else if (s.status >= 200 && s.status <= 299) {
        if (!l->begun && begin(l) != 0) {
            rc = RC_UNREACHABLE;
        } else if (rc != RC_OK) {
            ctl_error("the log of run %s broke off after %zu bytes: %s",
                      l->run_id, s.received, s.why);
        }
    } else if (s.status != 0) {
        report_refusal(path, &s);
        rc = RC_FAIL;
    } else if (rc == RC_UNREACHABLE) {
        ctl_error("cannot reach the server at %s: %s", l->ctl->url, s.why);
    } else {
        ctl_error("GET %s: %s", path, s.why);
    }
    http_stream_free(&s);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- */

enum { O_FOLLOW, O_OFFSET, O_LOGS_N };

static const struct opt_spec logs_opts[O_LOGS_N] = {
    [O_FOLLOW] = { "follow", 0, 'f' },
    [O_OFFSET] = { "offset", 1, 0 },
};

static int
run_logs(struct ctl *ctl, const struct args *a)
{
    struct logs  l = { .ctl = ctl, .run_id = a->pos[0] };
    char        *base;
    int          rc;

    if (ctl->json) {
        return ctl_usage_error("logs", "--json: a log is text, it has no "
                               "JSON form");
    }
    if (a->given[O_OFFSET] && parse_offset(a->value[O_OFFSET], &l.next) != 0) {
        return ctl_usage_error("logs", "--offset '%s': not a byte offset "
                               "(0 or more)", a->value[O_OFFSET]);
    }
    rc = api_check_id("logs", "run id", a->pos[0]);
    if (rc != RC_OK) {
        return rc;
    }
    base = api_path(ctl, "/runs/", a->pos[0], "/log");
    if (base == NULL) {
        return RC_FAIL;
    }
    rc = a->given[O_FOLLOW] ? logs_follow(&l, base, a->given[O_OFFSET])
                            : logs_once(&l, base, a->given[O_OFFSET]);
    free(base);
    return rc;
}

const struct command cmd_logs = {
    .name = "logs",
    .synopsis = "logs RUN_ID [-f|--follow] [--offset N]",
    .summary = "print a run's log; -f: follow it until the run ends",
    .help =
        "Usage: runsctl logs RUN_ID [-f|--follow] [--offset N]\n"
        "\n"
        "Print the log of the run RUN_ID (its executor's stderr, as its\n"
        "runner streamed it) on stdout, byte for byte, from byte N (default\n"
        "0).  The coordinator keeps the newest runs_log_size bytes of each\n"
        "log (64 KB by default); when older bytes were asked for, a note on\n"
        "stderr says which are gone (and when the coordinator gave up a\n"
        "finished run's whole log to make room, that it did).  Exit 0.\n"
        "\n"
        "With -f the server holds the request and sends the log's bytes as\n"
        "they arrive, until the run has ended and its whole log is out;\n"
        "runsctl then exits as 'runsctl wait' does: 0 if the run completed,\n"
        "1 if it failed or was stopped (the reason on stderr).  If the\n"
        "connection ends sooner (the server reloaded, a network error, a\n"
        "503), it asks again from the byte reached after a short pause, so\n"
        "no byte is printed twice or lost; after 30 s with no answer it\n"
        "gives up (exit 3).\n"
        "\n"
        "Options:\n"
        "  -f, --follow   follow the log until the run ends\n"
        "  --offset N     start at byte N of the log\n"
        "\n"
        "Examples:\n"
        "  runsctl logs run_3f9a0c1b2d4e\n"
        "  runsctl logs run_3f9a0c1b2d4e -f | tee run.log\n"
        "  runsctl logs run_3f9a0c1b2d4e --offset 4096\n",
    .opts = logs_opts,
    .nopts = O_LOGS_N,
    .min_pos = 1,
    .max_pos = 1,
    .run = run_logs,
};
