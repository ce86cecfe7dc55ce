/*
 * reports.c: the report queue (see reports.h).
 */

#include "runner/reports.h"

#include <stdlib.h>
#include <string.h>

#define REPORT_RETRY_MIN_MS 500
#define REPORT_RETRY_MAX_MS 30000

struct report {
    char          *run_id;
    char          *event;
    json_t        *body;
    unsigned       attempts;
    struct report *next;
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

static struct report *
reports_pop(struct reports *q)
{
    struct report *rp = q->head;

    if (rp != NULL) {
        q->head = rp->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        q->count--;
    }
    return rp;
}

static void
reports_retry_now(void *arg)
{
    reports_send(arg);
}

void
reports_init(struct reports *q, struct api *a, struct loop *lp, const struct log *lg,
             reports_idle_fn *on_idle, void *arg)
{
    memset(q, 0, sizeof(*q));
    q->api = a;
    q->loop = lp;
    q->log = lg;
    q->on_idle = on_idle;
    q->arg = arg;
    timer_init(&q->retry, reports_retry_now, q);
    backoff_init(&q->backoff, REPORT_RETRY_MIN_MS, REPORT_RETRY_MAX_MS);
}

bool
reports_idle(const struct reports *q)
{
    return q->head == NULL && q->inflight == NULL;
}

static void
reports_done(void *arg, const struct http_response *res)
{
    struct reports *q = arg;
    struct report  *rp = q->head;
    char            why[512];
    uint64_t        delay;

    q->inflight = NULL;
    if (res->status >= 200 && res->status < 300) {
        backoff_reset(&q->backoff);
        log_msg(q->log, LOG_DEBUG, rp->run_id, "reported event=%s", rp->event);
        report_free(reports_pop(q));
    } else if (res->status == 0 || res->status >= 500) {
        delay = backoff_next(&q->backoff);
        log_msg(q->log, LOG_WARN, rp->run_id,
                "report not delivered event=%s %s retry_in=%.1fs", rp->event,
                api_why(res, why, sizeof(why)), (double) delay / 1000);
        loop_timer_arm(q->loop, &q->retry, delay);
        return;
    } else {
        /* 401/404/409...: the coordinator does not know this run as ours */
        backoff_reset(&q->backoff);
        log_msg(q->log, LOG_WARN, rp->run_id, "report refused, dropped event=%s %s",
                rp->event, api_why(res, why, sizeof(why)));
        report_free(reports_pop(q));
    }
    reports_send(q);
    if (reports_idle(q) && q->on_idle != NULL) {
        q->on_idle(q->arg);
    }
}

static void
reports_send(struct reports *q)
{
    struct report *rp;

    while (q->inflight == NULL && !q->retry.armed && (rp = q->head) != NULL) {
        rp->attempts++;
        q->inflight = api_report(q->api, rp->run_id, rp->event, json_incref(rp->body),
                                 reports_done, q);
        if (q->inflight != NULL) {
            return;
        }
        log_msg(q->log, LOG_ERROR, rp->run_id, "report dropped event=%s", rp->event);
        report_free(reports_pop(q));
    }
}

int
reports_push(struct reports *q, const char *run_id, const char *event, json_t *body)
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
    rp->body = body;
    if (q->tail != NULL) {
        q->tail->next = rp;
    } else {
        q->head = rp;
    }
    q->tail = rp;
    q->count++;
    reports_send(q);
    return 0;
}

void
reports_drop_all(struct reports *q, const char *why)
{
    struct report *rp;

    if (q->inflight != NULL) {
        http_cancel(q->api->http, q->inflight);
        q->inflight = NULL;
    }
    loop_timer_cancel(q->loop, &q->retry);
    while ((rp = reports_pop(q)) != NULL) {
        log_msg(q->log, LOG_WARN, rp->run_id, "report dropped event=%s reason=%s",
                rp->event, why);
        report_free(rp);
    }
}

void
reports_free(struct reports *q)
{
    q->on_idle = NULL;
    reports_drop_all(q, "exiting");
}
