/*
 * reports.h: the queue of run reports (started, completed, failed,
 * stopped).
 *
 * Reports of different runs go out concurrently, a bounded number in
 * flight (see reports.c); the reports of one run go out one after the
 * other in the order they were queued: the next is sent once the
 * coordinator has answered the one before, so "started" reaches it before
 * that run's completed/failed/stopped.  Connection errors and 5xx answers
 * are retried: the report keeps its place (its run's later reports wait
 * behind it) and one shared backoff pauses every new send; after it, a
 * single report probes the coordinator until one is answered.  Any other
 * answer is final: a 4xx drops the report, with a log line.
 */
#ifndef RUNNER_REPORTS_H
#define RUNNER_REPORTS_H

#include "runner/api.h"
#include "runner/backoff.h"
#include "runner/log.h"
#include "runner/loop.h"

#include <jansson.h>
#include <stdbool.h>

struct report;

typedef void reports_idle_fn(void *arg);

struct reports {
    struct api       *api;
    struct loop      *loop;
    const struct log *log;
    struct report    *head;         /* oldest first, those in flight included */
    struct report    *tail;
    unsigned          count;
    unsigned          inflight;
    unsigned          max_inflight;
    bool              failing;      /* the last answer: no connection or a 5xx */
    struct timer      retry;        /* armed: new sends wait for it */
    struct backoff    backoff;
    reports_idle_fn  *on_idle;      /* the queue became empty */
    void             *arg;
};

/* slots: the runner's --max-concurrent, which sizes how many are in flight */
void reports_init(struct reports *q, struct api *a, struct loop *lp,
                  const struct log *lg, unsigned slots,
                  reports_idle_fn *on_idle, void *arg);
/* drops what is left (logged) */
void reports_free(struct reports *q);

/* what became of a report, told to the function given with it */
enum report_outcome {
    REPORT_DELIVERED,               /* a 2xx answer */
    REPORT_REFUSED,                 /* a 4xx answer: res says why */
    REPORT_DROPPED                  /* given up without an answer */
};

typedef void reports_done_fn(void *arg, const char *run_id,
                             enum report_outcome outcome,
                             const struct http_response *res);

/* body is stolen; -1 when out of memory (logged) */
int reports_push(struct reports *q, const char *run_id, const char *event, json_t *body);
/* the same, with done called once when the report is answered or dropped
   (not when the queue is freed); -1 when out of memory, done not called */
int reports_push_then(struct reports *q, const char *run_id, const char *event,
                      json_t *body, reports_done_fn *done, void *arg);
bool reports_idle(const struct reports *q);
/* gives up on every queued report, those in flight included, with a log line each */
void reports_drop_all(struct reports *q, const char *why);

#endif
