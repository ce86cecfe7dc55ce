/*
 * logs.h: the runs' logs (their executors' stderr), streamed to the
 * coordinator while the runs run: POST /launcher/runs/{id}/log.
 *
 * Each run's log is a stream of valid UTF-8 (invalid bytes become U+FFFD;
 * a character split between two reads waits for its end).  Its bytes go
 * out in chunks of at most LOGS_CHUNK_MAX bytes, one chunk of a run in
 * flight at a time, so chunks are never reordered; bytes that come in
 * while one is in flight are sent with the next, at most one post per
 * run every interval unless a whole chunk is waiting.  Offsets count the
 * bytes of the stream posted.  No answer or a 5xx: the same bytes (maybe
 * with more after them) are posted again at the same offset after a
 * backoff, and the coordinator skips what it already has.  A 409 with the
 * coordinator's "offset": the stream goes on from there.  Any other 4xx:
 * the coordinator takes no more of that log (the run is not this
 * launcher's any more, or it ended): nothing more is posted.
 *
 * What is kept per run is bounded (keep_max): when the coordinator does
 * not take the bytes as fast as they come, the oldest bytes not yet
 * posted are dropped and one line stands in their place,
 * "[agent-runner: N bytes of this log were dropped]".
 *
 * When the executor has ended, its log is finished: the last bytes are
 * posted, then the run's end report (completed, failed, stopped) is
 * queued, since the coordinator ends its log followers when the run
 * ends.  The flush is bounded: when no chunk was taken for
 * LOGS_FINISH_STALL_MS, or after LOGS_FINISH_MAX_MS in all, the rest is
 * given up, with a log line, and the report goes anyway.
 */
#ifndef RUNNER_LOGS_H
#define RUNNER_LOGS_H

#include "runner/api.h"
#include "runner/log.h"
#include "runner/loop.h"
#include "runner/reports.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOGS_CHUNK_MAX        (16 * 1024)   /* bytes of one post's data */
#define LOGS_KEEP_DEFAULT     (1024 * 1024) /* bytes kept per run */
#define LOGS_KEEP_MIN         (2 * LOGS_CHUNK_MAX)
#define LOGS_INTERVAL_DEFAULT 50            /* ms between two posts of a run */
#define LOGS_FINISH_STALL_MS  5000          /* the last bytes' flush: without progress */
#define LOGS_FINISH_MAX_MS    30000         /* the last bytes' flush: in all */

struct runlog;

typedef void logs_idle_fn(void *arg);

struct logs {
    struct api       *api;
    struct loop      *loop;
    const struct log *log;
    struct reports   *reports;      /* where the runs' end reports go */
    struct runlog    *head;         /* every log */
    struct runlog    *ready;        /* waiting for room to post, oldest first */
    struct runlog    *ready_tail;
    unsigned          count;
    unsigned          inflight;
    unsigned          max_inflight;
    size_t            keep_max;
    uint64_t          interval_ms;
    logs_idle_fn     *on_idle;      /* the last log is gone */
    void             *arg;
};

/* slots: --max-concurrent, which sizes how many posts are in flight */
void logs_init(struct logs *ls, struct api *a, struct loop *lp, const struct log *lg,
               struct reports *rq, unsigned slots, size_t keep_max,
               uint64_t interval_ms, logs_idle_fn *on_idle, void *arg);
/* frees every log; end reports not queued yet are dropped (logged) */
void logs_free(struct logs *ls);

/* a new run's log, posted as launcher_id; NULL when out of memory (logged) */
struct runlog *logs_open(struct logs *ls, const char *run_id, const char *launcher_id);
/* n more bytes of the executor's stderr */
void logs_feed(struct runlog *rl, const char *data, size_t n);
/*
 * the executor ended: its last bytes are posted, then the report event
 * with body (stolen) is queued; rl belongs to ls from here on
 */
void logs_finish(struct runlog *rl, const char *event, json_t *body);
bool logs_idle(const struct logs *ls);
/* gives up on the logs of ended runs (their reports are queued) and
   stops posting the others (logged) */
void logs_drop_all(struct logs *ls, const char *why);

#endif
