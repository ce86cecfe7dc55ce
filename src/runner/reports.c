/*
 * reports.c: the report queue (see reports.h).
 *
 * One list, oldest first, holds every report not yet answered: queued,
 * in flight, or waiting for the backoff.  A report is "held" while an
 * earlier report of its run is still in the list; sends walk the list
 * from the head and start what is neither held nor in flight.  Finding a
 * run's earlier or next report is a walk of the list: it is short (about
 * the reports in flight) unless the coordinator is unreachable, and then
 * sends are rare.
 */

#include "runner/reports.h"

#include "common/jsonobj.h"

#include <stdlib.h>
#include <string.h>

#define REPORT_RETRY_MIN_MS 500
#define REPORT_RETRY_MAX_MS 30000

/*
 * Reports in flight at once: two per executor slot, at most 64.  A slot
 * yields its reports two at a time at most (the ended run's completed and
 * the next run's started, moments apart), so two per slot lets a burst's
 * reports leave as fast as the slots turn over, and a runner with few
 * slots puts little load on the coordinator.  Each request in flight is a
 * connection of its own (HTTP/1.1, no pipelining): the cap keeps a runner
 * with thousands of slots from opening as many to the coordinator.
 */
#define REPORTS_PER_SLOT     2
#define REPORTS_MAX_INFLIGHT 64

struct report {
    struct reports  *q;
    char            *run_id;
    char            *event;
    json_t          *body;
    unsigned         attempts;
    bool             held;          /* an earlier report of its run is in the list */
    struct http_req *req;           /* in flight */
    reports_done_fn *done;          /* told what became of it, or NULL */
    void            *done_arg;
    struct report   *prev;
    struct report   *next;
};

static void reports_send(struct reports *q);

static void
report_free(struct report *rp)
{
    free(rp->run_id);
    free(rp->event);
    json_decref(rp->body);
    free(rp);
}

static bool
reports_has_run(const struct reports *q, const char *run_id)
{
    const struct report *rp;

    for (rp = q->head; rp != NULL; rp = rp->next) {
        if (strcmp(rp->run_id, run_id) == 0) {
            return true;
        }
    }
    return false;
}

static void
reports_append(struct reports *q, struct report *rp)
{
    rp->prev = q->tail;
    rp->next = NULL;
    if (q->tail != NULL) {
        q->tail->next = rp;
    } else {
        q->head = rp;
    }
    q->tail = rp;
    q->count++;
}

static void
reports_unlink(struct reports *q, struct report *rp)
{
    if (rp->prev != NULL) {
        rp->prev->next = rp->next;
    } else {
        q->head = rp->next;
    }
    if (rp->next != NULL) {
        rp->next->prev = rp->prev;
    } else {
        q->tail = rp->prev;
    }
    q->count--;
}

/*
 * takes rp out of the list and frees it; rp is its run's earliest report
 * (only those are sent), so the run's next one, if any, may go; then
 * tells whoever waits for it
 */
static void
reports_remove(struct reports *q, struct report *rp, enum report_outcome outcome,
               const struct http_response *res)
{
    struct report   *n;
    reports_done_fn *done = rp->done;
    void            *arg = rp->done_arg;
    char            *run_id = rp->run_id;

    for (n = rp->next; n != NULL; n = n->next) {
        if (strcmp(n->run_id, rp->run_id) == 0) {
            n->held = false;
            break;
        }
    }
    reports_unlink(q, rp);
    rp->run_id = NULL;
    report_free(rp);
    if (done != NULL) {
        done(arg, run_id, outcome, res);
    }
    free(run_id);
}

static unsigned
reports_window(unsigned slots)
{
    if (slots >= REPORTS_MAX_INFLIGHT / REPORTS_PER_SLOT) {
        return REPORTS_MAX_INFLIGHT;
    }
    return (slots > 0 ? slots : 1) * REPORTS_PER_SLOT;
}

static void
reports_retry_now(void *arg)
{
    reports_send(arg);
}

void
reports_init(struct reports *q, struct api *a, struct loop *lp, const struct log *lg,
             unsigned slots, reports_idle_fn *on_idle, void *arg)
{
    memset(q, 0, sizeof(*q));
    q->api = a;
    q->loop = lp;
    q->log = lg;
    q->max_inflight = reports_window(slots);
    q->on_idle = on_idle;
    q->arg = arg;
    timer_init(&q->retry, reports_retry_now, q);
    backoff_init(&q->backoff, REPORT_RETRY_MIN_MS, REPORT_RETRY_MAX_MS);
}

bool
reports_idle(const struct reports *q)
{
    return q->head == NULL;
}

/* no answer or a 5xx: rp keeps its place and new sends wait for the backoff */
static void
reports_defer(struct reports *q, struct report *rp, const struct http_response *res)
{
    char     why[512];
    uint64_t delay, now;

    q->failing = true;
    if (!q->retry.armed) {
        delay = backoff_next(&q->backoff);
        loop_timer_arm(q->loop, &q->retry, delay);
    } else {
        /* others failed with it: one pause for all, the backoff grows once */
        now = loop_now_ms();
        delay = q->retry.due > now ? q->retry.due - now : 0;
    }
    log_msg(q->log, LOG_WARN, rp->run_id,
            "report not delivered event=%s %s retry_in=%.1fs", rp->event,
            api_why(res, why, sizeof(why)), (double) delay / 1000);
}

static void
reports_done(void *arg, const struct http_response *res)
{
    struct report  *rp = arg;
    struct reports *q = rp->q;
    char            why[512];

    rp->req = NULL;
    q->inflight--;
    if (res->status >= 200 && res->status < 300) {
        q->failing = false;
        backoff_reset(&q->backoff);
        log_msg(q->log, LOG_DEBUG, rp->run_id, "reported event=%s", rp->event);
        reports_remove(q, rp, REPORT_DELIVERED, res);
    } else if (res->status == 0 || res->status >= 500) {
        reports_defer(q, rp, res);
    } else {
        /* 401/404/409...: the coordinator does not know this run as ours */
        q->failing = false;
        backoff_reset(&q->backoff);
        log_msg(q->log, LOG_WARN, rp->run_id, "report refused, dropped event=%s %s",
                rp->event, api_why(res, why, sizeof(why)));
        /* a 401: the runner may have to register again */
        api_refused(q->api, jsonobj_string(rp->body, "launcher_id"), "report", res);
        reports_remove(q, rp, REPORT_REFUSED, res);
    }
    reports_send(q);
    if (reports_idle(q) && q->on_idle != NULL) {
        q->on_idle(q->arg);
    }
}

/* sends rp; a report that cannot even be sent is dropped (logged): false */
static bool
reports_start(struct reports *q, struct report *rp)
{
    rp->attempts++;
    rp->req = api_report(q->api, rp->run_id, rp->event, json_incref(rp->body),
                         reports_done, rp);
    if (rp->req == NULL) {
        log_msg(q->log, LOG_ERROR, rp->run_id, "report dropped event=%s", rp->event);
        reports_remove(q, rp, REPORT_DROPPED, NULL);
        return false;
    }
    q->inflight++;
    return true;
}

/*
 * starts the oldest reports that may go, up to the limit: nothing while
 * the backoff runs, a single one while the coordinator is failing
 */
static void
reports_send(struct reports *q)
{
    struct report *rp, *next;
    unsigned       limit = q->failing ? 1 : q->max_inflight;

    if (q->retry.armed) {
        return;
    }
    for (rp = q->head; rp != NULL && q->inflight < limit; rp = next) {
        next = rp->next;
        if (rp->req == NULL && !rp->held && !reports_start(q, rp)) {
            /* rp was dropped, and whoever waited for it may have changed
               the list: walk it again */
            next = q->head;
        }
    }
}

int
reports_push(struct reports *q, const char *run_id, const char *event, json_t *body)
{
    return reports_push_then(q, run_id, event, body, NULL, NULL);
}

int
reports_push_then(struct reports *q, const char *run_id, const char *event, json_t *body,
                  reports_done_fn *done, void *arg)
{
    struct report *rp = calloc(1, sizeof(*rp));

    if (rp == NULL || (rp->run_id = strdup(run_id)) == NULL
        || (rp->event = strdup(event)) == NULL || body == NULL)
    {
        log_msg(q->log, LOG_ERROR, run_id, "out of memory: report dropped event=%s", event);
        if (rp != NULL) {
            free(rp->run_id);
            free(rp->event);
            free(rp);
        }
        json_decref(body);
        return -1;
    }
    rp->q = q;
    rp->body = body;
    rp->done = done;
    rp->done_arg = arg;
    rp->held = reports_has_run(q, run_id);
    reports_append(q, rp);
    reports_send(q);
    return 0;
}

void
reports_drop_all(struct reports *q, const char *why)
{
    struct report *rp;

    loop_timer_cancel(q->loop, &q->retry);
    while ((rp = q->head) != NULL) {
        if (rp->req != NULL) {
            http_cancel(q->api->http, rp->req);
            rp->req = NULL;
            q->inflight--;
        }
        log_msg(q->log, LOG_WARN, rp->run_id, "report dropped event=%s reason=%s",
                rp->event, why);
        reports_remove(q, rp, REPORT_DROPPED, NULL);
    }
}

void
reports_free(struct reports *q)
{
    struct report *rp;

    q->on_idle = NULL;
    for (rp = q->head; rp != NULL; rp = rp->next) {
        rp->done = NULL;
    }
    reports_drop_all(q, "exiting");
}
