/*
 * logs.c: streaming the runs' logs (see logs.h).
 *
 * A run's log keeps the bytes the coordinator has not taken yet in one
 * buffer, buf[start, start + len), whose first byte is at offset in the
 * stream.  Its first sent bytes were posted and are not answered yet:
 * they are posted again as they are until they are (the coordinator
 * skips what it already has), so they are never dropped nor changed.
 * The bytes after them are free to be dropped when the buffer is over
 * keep_max; the marker that says so sits right after the sent bytes
 * until a post takes it.
 */

#include "runner/logs.h"

#include "common/jsonobj.h"
#include "common/utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_RETRY_MIN_MS  100
#define LOG_RETRY_MAX_MS  5000
#define LOG_RESYNC_MAX    5         /* 409s in a row before the log is closed */
#define LOG_MARKER_MAX    80        /* "\n[agent-runner: N bytes ...]\n" */
#define LOG_LINE_SEARCH   1024      /* a drop ends at a line's end this near */
#define LOG_SHRINK_CAP    (64 * 1024)

struct runlog {
    struct logs     *ls;
    char            *run_id;
    char            *launcher_id;
    char            *buf;
    size_t           start, len, cap;
    uint64_t         offset;        /* the stream offset of buf[start] */
    size_t           sent;          /* posted and not answered: kept as they are */
    size_t           marker;        /* a drop marker's bytes after them, 0: none */
    uint64_t         marked;        /* the bytes the marker stands for */
    char             last;          /* the stream's byte before buf[start] */
    char             hold[3];       /* a character cut by the end of a read */
    size_t           hold_len;
    struct http_req *req;
    size_t           req_len;
    uint64_t         last_post;     /* loop_now_ms() */
    struct timer     timer;         /* the next post: the interval or the backoff */
    bool             backing_off;
    struct backoff   backoff;
    unsigned         resyncs;
    bool             queued;        /* in ls->ready */
    bool             closed;        /* nothing more is posted */
    bool             finished;      /* the executor ended: the report waits */
    const char      *event;         /* the end report */
    json_t          *body;
    uint64_t         finished_at;   /* loop_now_ms() */
    struct timer     give_up;
    struct runlog   *prev, *next;   /* ls->head */
    struct runlog   *ready_next;
};

static void log_schedule(struct runlog *rl);
static void logs_pump(struct logs *ls);
static void log_arm_give_up(struct runlog *rl);

/* ---------------------------------------------------------------- */
/* the buffer */

/* room for extra more bytes after the end; false when out of memory */
static bool
log_reserve(struct runlog *rl, size_t extra)
{
    size_t need = rl->len + extra, cap;
    char  *p;

    if (rl->start + need <= rl->cap) {
        return true;
    }
    if (rl->start > 0) {
        memmove(rl->buf, rl->buf + rl->start, rl->len);
        rl->start = 0;
    }
    if (need <= rl->cap) {
        return true;
    }
    cap = rl->cap > 0 ? rl->cap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    p = realloc(rl->buf, cap);
    if (p == NULL) {
        return false;
    }
    rl->buf = p;
    rl->cap = cap;
    return true;
}

static void
log_release(struct runlog *rl)
{
    free(rl->buf);
    rl->buf = NULL;
    rl->start = rl->len = rl->cap = 0;
    rl->sent = rl->marker = 0;
}

/* the n bytes at s, invalid bytes made U+FFFD, added to the end */
static void
log_put(struct runlog *rl, const char *s, size_t n)
{
    if (n == 0) {
        return;
    }
    if (n > (SIZE_MAX - rl->len) / 4 || !log_reserve(rl, n * 3)) {
        log_msg(rl->ls->log, LOG_ERROR, rl->run_id,
                "out of memory: %zu bytes of the log dropped", n);
        return;
    }
    rl->len += utf8_scrub(rl->buf + rl->start + rl->len, s, n);
}

/*
 * over keep_max: the oldest bytes not posted yet are dropped (an eighth
 * of keep_max at least, so a coordinator that does not keep up costs one
 * move of the buffer per eighth, up to a line's end when one is near),
 * and one marker line counts them
 */
static void
log_bound(struct runlog *rl)
{
    struct logs *ls = rl->ls;
    size_t       from = rl->sent + rl->marker, want, cut, look, mlen;
    char        *b = rl->buf + rl->start, *nl, text[LOG_MARKER_MAX];
    char         prev;
    bool         first = rl->marker == 0;

    if (rl->len <= ls->keep_max || from >= rl->len) {
        return;
    }
    want = rl->len - ls->keep_max + LOG_MARKER_MAX;
    if (want < ls->keep_max / 8) {
        want = ls->keep_max / 8;
    }
    if (want > rl->len - from) {
        want = rl->len - from;
    }
    cut = from + want;
    while (cut < rl->len && ((unsigned char) b[cut] & 0xc0) == 0x80) {
        cut++;                          /* not inside a character */
    }
    if (cut < rl->len && b[cut - 1] != '\n') {
        look = rl->len - cut < LOG_LINE_SEARCH ? rl->len - cut : LOG_LINE_SEARCH;
        nl = memchr(b + cut, '\n', look);
        if (nl != NULL) {
            cut = (size_t) (nl - b) + 1;
        }
    }
    rl->marked += cut - from;
    prev = rl->sent > 0 ? b[rl->sent - 1] : rl->last;
    snprintf(text, sizeof(text), "%s[agent-runner: %" PRIu64 " bytes of this log were dropped]\n",
             prev != '\n' ? "\n" : "", rl->marked);
    mlen = strlen(text);
    if (mlen > cut - rl->sent) {
        return;                         /* cannot be: want > LOG_MARKER_MAX */
    }
    memmove(b + rl->sent + mlen, b + cut, rl->len - cut);
    memcpy(b + rl->sent, text, mlen);
    rl->len = rl->sent + mlen + (rl->len - cut);
    rl->marker = mlen;
    if (first) {
        log_msg(ls->log, LOG_WARN, rl->run_id, "log: the coordinator does not take it as "
                "fast as it comes: dropping its oldest bytes not posted yet kept_max=%zu",
                ls->keep_max);
    }
}

/* ---------------------------------------------------------------- */
/* the list and the queue of logs waiting for room to post */

static void
log_enqueue(struct runlog *rl)
{
    struct logs *ls = rl->ls;

    rl->queued = true;
    rl->ready_next = NULL;
    if (ls->ready_tail != NULL) {
        ls->ready_tail->ready_next = rl;
    } else {
        ls->ready = rl;
    }
    ls->ready_tail = rl;
}

static void
log_unqueue(struct runlog *rl)
{
    struct logs    *ls = rl->ls;
    struct runlog **pp, *prev = NULL;

    if (!rl->queued) {
        return;
    }
    for (pp = &ls->ready; *pp != NULL; prev = *pp, pp = &(*pp)->ready_next) {
        if (*pp == rl) {
            *pp = rl->ready_next;
            if (ls->ready_tail == rl) {
                ls->ready_tail = prev;
            }
            break;
        }
    }
    rl->queued = false;
    rl->ready_next = NULL;
}

/* no post in flight or due any more */
static void
log_quiet(struct runlog *rl)
{
    struct logs *ls = rl->ls;

    if (rl->req != NULL) {
        http_cancel(ls->api->http, rl->req);
        rl->req = NULL;
        ls->inflight--;
    }
    loop_timer_cancel(ls->loop, &rl->timer);
    rl->backing_off = false;
    log_unqueue(rl);
}

static void
log_destroy(struct runlog *rl)
{
    struct logs *ls = rl->ls;

    log_quiet(rl);
    loop_timer_cancel(ls->loop, &rl->give_up);
    if (rl->prev != NULL) {
        rl->prev->next = rl->next;
    } else {
        ls->head = rl->next;
    }
    if (rl->next != NULL) {
        rl->next->prev = rl->prev;
    }
    ls->count--;
    json_decref(rl->body);
    free(rl->buf);
    free(rl->run_id);
    free(rl->launcher_id);
    free(rl);
}

/* the log is done with: the run's end report goes, the log is freed */
static void
log_complete(struct runlog *rl)
{
    struct logs *ls = rl->ls;
    json_t      *body = rl->body;

    rl->body = NULL;
    reports_push(ls->reports, rl->run_id, rl->event, body);
    log_destroy(rl);
    if (ls->head == NULL && ls->on_idle != NULL) {
        ls->on_idle(ls->arg);
    }
}

/* finished and nothing more to post: true, and the log is gone */
static bool
log_check_done(struct runlog *rl)
{
    if (rl->finished && rl->req == NULL && (rl->closed || rl->len == 0)) {
        log_complete(rl);
        return true;
    }
    return false;
}

/* nothing more of it is posted; why: key=value pairs for the log line */
static void
log_close(struct runlog *rl, const char *why)
{
    log_msg(rl->ls->log, LOG_WARN, rl->run_id, "log closed: nothing more of it is posted "
            "%s not_posted=%zu", why, rl->len);
    rl->closed = true;
    log_quiet(rl);
    log_release(rl);
    rl->hold_len = 0;
}

/* ---------------------------------------------------------------- */
/* posting */

static void
log_on_posted(void *arg, const struct http_response *res)
{
    struct runlog *rl = arg;
    struct logs   *ls = rl->ls;
    json_t        *doc = NULL, *v;
    int64_t        end = -1;
    uint64_t       expect = rl->offset + rl->req_len, delay;
    char           why[512];

    rl->req = NULL;
    ls->inflight--;
    if (res->status != 0) {
        doc = api_decode(res);
        v = json_object_get(doc, "offset");
        end = json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
    }
    if (res->status >= 200 && res->status < 300) {
        backoff_reset(&rl->backoff);
        rl->resyncs = 0;
        rl->last = rl->buf[rl->start + rl->req_len - 1];
        rl->start += rl->req_len;
        rl->len -= rl->req_len;
        rl->sent = 0;
        rl->offset = expect;
        if (end >= 0 && (uint64_t) end != expect) {
            log_msg(ls->log, LOG_WARN, rl->run_id, "log: the coordinator's log ends at "
                    "%" PRId64 ", not %" PRIu64 ": going on from there", end, expect);
            rl->offset = (uint64_t) end;
        }
        if (rl->len == 0) {
            rl->start = 0;
            if (rl->cap > LOG_SHRINK_CAP) {
                log_release(rl);
            }
        }
        if (rl->finished) {
            log_arm_give_up(rl);        /* it moves: more time */
        }
    } else if (res->status == 409 && end >= 0) {
        if (++rl->resyncs > LOG_RESYNC_MAX) {
            log_close(rl, api_why(res, why, sizeof(why)));
        } else {
            /* the same bytes, at the coordinator's end */
            log_msg(ls->log, LOG_WARN, rl->run_id, "log: the coordinator's log ends at "
                    "%" PRId64 ", not %" PRIu64 ": posting from there", end, rl->offset);
            rl->offset = (uint64_t) end;
        }
    } else if (res->status == 0 || res->status >= 500) {
        rl->backing_off = true;
        delay = backoff_next(&rl->backoff);
        loop_timer_arm(ls->loop, &rl->timer, delay);
        log_msg(ls->log, LOG_WARN, rl->run_id, "log post not delivered offset=%" PRIu64
                " bytes=%zu %s retry_in=%.1fs", rl->offset, rl->req_len,
                api_why(res, why, sizeof(why)), (double) delay / 1000);
    } else {
        /* not this launcher's run (any more), or it ended, or a bug; a
           401: the runner may have to register again */
        log_close(rl, api_why(res, why, sizeof(why)));
        api_refused(ls->api, rl->launcher_id, "log", res);
    }
    json_decref(doc);
    if (!log_check_done(rl)) {
        log_schedule(rl);
    }
    logs_pump(ls);
}

/* posts the first bytes: those already sent and more, up to a chunk */
static void
log_post(struct runlog *rl)
{
    struct logs *ls = rl->ls;
    size_t       n = rl->len < LOGS_CHUNK_MAX ? rl->len : LOGS_CHUNK_MAX;
    const char  *b = rl->buf + rl->start;
    uint64_t     delay;

    while (n < rl->len && n > rl->sent && ((unsigned char) b[n] & 0xc0) == 0x80) {
        n--;                            /* not inside a character */
    }
    if (n > rl->sent && rl->marker > 0) {
        log_msg(ls->log, LOG_WARN, rl->run_id, "log: %" PRIu64 " bytes of it were dropped "
                "(a line of the log says so)", rl->marked);
        rl->marker = 0;
        rl->marked = 0;
    }
    rl->sent = n;
    rl->req_len = n;
    rl->last_post = loop_now_ms();
    rl->req = api_log(ls->api, rl->run_id, rl->launcher_id, rl->offset, b, n,
                      log_on_posted, rl);
    if (rl->req == NULL) {
        rl->backing_off = true;
        delay = backoff_next(&rl->backoff);
        loop_timer_arm(ls->loop, &rl->timer, delay);
        log_msg(ls->log, LOG_WARN, rl->run_id, "log post not started retry_in=%.1fs",
                (double) delay / 1000);
        return;
    }
    ls->inflight++;
}

/* the posts that may start, oldest waiting first */
static void
logs_pump(struct logs *ls)
{
    struct runlog *rl;

    while (ls->inflight < ls->max_inflight && (rl = ls->ready) != NULL) {
        ls->ready = rl->ready_next;
        if (ls->ready == NULL) {
            ls->ready_tail = NULL;
        }
        rl->queued = false;
        rl->ready_next = NULL;
        if (!rl->closed && rl->req == NULL && rl->len > 0) {
            log_post(rl);
        }
    }
}

/*
 * bytes are waiting: posted at once when the last post is an interval
 * old, a whole chunk waits, or the executor has ended; else when the
 * interval has passed (a backoff always runs its course)
 */
static void
log_schedule(struct runlog *rl)
{
    struct logs *ls = rl->ls;
    uint64_t     now, due;
    bool         urgent = rl->finished || rl->len >= LOGS_CHUNK_MAX;

    if (rl->closed || rl->req != NULL || rl->queued || rl->len == 0) {
        return;
    }
    if (rl->timer.armed) {
        if (rl->backing_off || !urgent) {
            return;
        }
        loop_timer_cancel(ls->loop, &rl->timer);
    }
    now = loop_now_ms();
    due = rl->last_post + ls->interval_ms;
    if (!urgent && now < due) {
        loop_timer_arm(ls->loop, &rl->timer, due - now);
        return;
    }
    log_enqueue(rl);
}

static void
log_on_timer(void *arg)
{
    struct runlog *rl = arg;

    rl->backing_off = false;
    log_schedule(rl);
    logs_pump(rl->ls);
}

static void
log_on_give_up(void *arg)
{
    struct runlog *rl = arg;

    log_msg(rl->ls->log, LOG_WARN, rl->run_id, "log: its last bytes could not be posted "
            "after the executor's end (%.1fs, no chunk taken for %ds at most, %ds in "
            "all): giving them up not_posted=%zu",
            (double) (loop_now_ms() - rl->finished_at) / 1000, LOGS_FINISH_STALL_MS / 1000,
            LOGS_FINISH_MAX_MS / 1000, rl->len);
    log_complete(rl);
}

/* the give-up: LOGS_FINISH_STALL_MS from now, within LOGS_FINISH_MAX_MS */
static void
log_arm_give_up(struct runlog *rl)
{
    uint64_t now = loop_now_ms(), end = rl->finished_at + LOGS_FINISH_MAX_MS;
    uint64_t delay = LOGS_FINISH_STALL_MS;

    if (now + delay > end) {
        delay = end > now ? end - now : 0;
    }
    loop_timer_arm(rl->ls->loop, &rl->give_up, delay);
}

/* ---------------------------------------------------------------- */

void
logs_init(struct logs *ls, struct api *a, struct loop *lp, const struct log *lg,
          struct reports *rq, unsigned slots, size_t keep_max, uint64_t interval_ms,
          logs_idle_fn *on_idle, void *arg)
{
    memset(ls, 0, sizeof(*ls));
    ls->api = a;
    ls->loop = lp;
    ls->log = lg;
    ls->reports = rq;
    /* one post per run at most: a cap only for runners with many slots */
    ls->max_inflight = slots == 0 ? 1 : slots < 64 ? slots : 64;
    ls->keep_max = keep_max < LOGS_KEEP_MIN ? LOGS_KEEP_MIN : keep_max;
    ls->interval_ms = interval_ms;
    ls->on_idle = on_idle;
    ls->arg = arg;
}

struct runlog *
logs_open(struct logs *ls, const char *run_id, const char *launcher_id)
{
    struct runlog *rl = calloc(1, sizeof(*rl));

    if (rl == NULL || (rl->run_id = strdup(run_id)) == NULL
        || (rl->launcher_id = strdup(launcher_id)) == NULL)
    {
        log_msg(ls->log, LOG_ERROR, run_id, "out of memory: its log is not posted");
        if (rl != NULL) {
            free(rl->run_id);
            free(rl);
        }
        return NULL;
    }
    rl->ls = ls;
    rl->last = '\n';
    timer_init(&rl->timer, log_on_timer, rl);
    timer_init(&rl->give_up, log_on_give_up, rl);
    backoff_init(&rl->backoff, LOG_RETRY_MIN_MS, LOG_RETRY_MAX_MS);
    rl->next = ls->head;
    if (ls->head != NULL) {
        ls->head->prev = rl;
    }
    ls->head = rl;
    ls->count++;
    return rl;
}

void
logs_feed(struct runlog *rl, const char *data, size_t n)
{
    char   *joined = NULL;
    size_t  keep;

    if (rl->closed || rl->finished || n == 0) {
        return;
    }
    if (rl->hold_len > 0) {
        /* the start of a character the last read cut */
        joined = malloc(rl->hold_len + n);
        if (joined == NULL) {
            log_put(rl, rl->hold, rl->hold_len);
        } else {
            memcpy(joined, rl->hold, rl->hold_len);
            memcpy(joined + rl->hold_len, data, n);
            data = joined;
            n += rl->hold_len;
        }
        rl->hold_len = 0;
    }
    keep = utf8_incomplete_tail(data, n);
    log_put(rl, data, n - keep);
    memcpy(rl->hold, data + n - keep, keep);
    rl->hold_len = keep;
    free(joined);
    log_bound(rl);
    log_schedule(rl);
    logs_pump(rl->ls);
}

void
logs_finish(struct runlog *rl, const char *event, json_t *body)
{
    struct logs *ls = rl->ls;

    if (!rl->closed && rl->hold_len > 0) {
        log_put(rl, rl->hold, rl->hold_len);    /* cut short by the end */
        log_bound(rl);
    }
    rl->hold_len = 0;
    rl->finished = true;
    rl->finished_at = loop_now_ms();
    rl->event = event;
    rl->body = body;
    if (log_check_done(rl)) {
        return;
    }
    log_arm_give_up(rl);
    log_schedule(rl);
    logs_pump(ls);
}

bool
logs_idle(const struct logs *ls)
{
    return ls->head == NULL;
}

void
logs_drop_all(struct logs *ls, const char *why)
{
    struct runlog *rl, *next;
    logs_idle_fn  *on_idle = ls->on_idle;

    ls->on_idle = NULL;                 /* the caller goes on from here */
    for (rl = ls->head; rl != NULL; rl = next) {
        next = rl->next;
        if (rl->finished) {
            if (!rl->closed && rl->len > 0) {
                char q[200];

                log_msg(ls->log, LOG_WARN, rl->run_id, "log given up not_posted=%zu "
                        "reason=%s", rl->len, log_quote(q, sizeof(q), why));
            }
            log_complete(rl);
        } else if (!rl->closed) {
            char reason[256], q[200];

            snprintf(reason, sizeof(reason), "reason=%s", log_quote(q, sizeof(q), why));
            log_close(rl, reason);
        }
    }
    ls->on_idle = on_idle;
}

void
logs_free(struct logs *ls)
{
    while (ls->head != NULL) {
        if (ls->head->finished) {
            log_msg(ls->log, LOG_WARN, ls->head->run_id, "report dropped event=%s "
                    "reason=exiting", ls->head->event);
        }
        log_destroy(ls->head);
    }
}
