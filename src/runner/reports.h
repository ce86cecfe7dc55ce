/*
 * reports.h: the queue of run reports (started, completed, failed,
 * stopped), sent in order, one at a time; connection errors and 5xx
 * answers are retried with backoff, any other answer is final.
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
    struct report    *head;
    struct report    *tail;
    unsigned          count;
    struct http_req  *inflight;
    struct timer      retry;
    struct backoff    backoff;
    reports_idle_fn  *on_idle;      /* the queue became empty */
    void             *arg;
};

void reports_init(struct reports *q, struct api *a, struct loop *lp,
                  const struct log *lg, reports_idle_fn *on_idle, void *arg);
/* drops what is left (logged) */
void reports_free(struct reports *q);

/* body is stolen; -1 when out of memory (logged) */
int reports_push(struct reports *q, const char *run_id, const char *event, json_t *body);
bool reports_idle(const struct reports *q);
/* gives up on every queued report, with a log line each */
void reports_drop_all(struct reports *q, const char *why);

#endif
