
/*
 * Run logs in the zone: the newest runs_log_size bytes of what a run's
 * runner posted (its executor's stderr), in a ring that grows while the
 * zone has room.  Appends are placed by offset, so a chunk sent again is
 * never doubled; readers and followers ask from an offset.  The logs of
 * finished runs are the first thing the zone gives up for room (see
 * ngx_http_runs_alloc_locked()); a live run's log that cannot grow keeps
 * what fits.
 */


#include "ngx_http_runs_zone.h"


#define NGX_HTTP_RUNS_LOG_MIN  256


static void ngx_http_runs_log_put(ngx_http_runs_log_t *log, uint64_t at,
    u_char *src, size_t n);
static void *ngx_http_runs_log_alloc_locked(ngx_http_runs_zone_t *zone,
    size_t size);
static size_t ngx_http_runs_log_chunk(size_t want);
static ngx_http_runs_log_t *ngx_http_runs_log_room_locked(
    ngx_http_runs_zone_t *zone, ngx_http_runs_run_t *run, size_t want,
    size_t max);


/* an allocation for which only the logs of finished runs are given up */

static void *
ngx_http_runs_log_alloc_locked(ngx_http_runs_zone_t *zone, size_t size)
{
    void  *p;

    do {
        p = ngx_slab_alloc_locked(zone->shpool, size);
    } while (p == NULL && ngx_http_runs_log_evict_locked(zone));

    return p;
}



/* writes the bytes at log offsets [at, at + n), n <= log->size */

static void
ngx_http_runs_log_put(ngx_http_runs_log_t *log, uint64_t at, u_char *src,
    size_t n)
{
    size_t  pos, first;

    pos = (size_t) (at % log->size);
    first = ngx_min(n, log->size - pos);

    ngx_memcpy(log->data + pos, src, first);

    if (n > first) {
        ngx_memcpy(log->data, src + first, n - first);
    }
}



/* copies the bytes at log offsets [at, at + n), all of them kept */

void
ngx_http_runs_log_get(ngx_http_runs_log_t *log, uint64_t at, u_char *dst,
    size_t n)
{
    size_t  pos, first;

    if (n == 0) {
        return;
    }

    pos = (size_t) (at % log->size);
    first = ngx_min(n, log->size - pos);

    ngx_memcpy(dst, log->data + pos, first);

    if (n > first) {
        ngx_memcpy(dst + first, log->data, n - first);
    }
}



/* the bytes a log of "want" bytes takes: a slab chunk, or whole pages */

static size_t
ngx_http_runs_log_chunk(size_t want)
{
    size_t  size, n;

    size = offsetof(ngx_http_runs_log_t, data) + want;

    if (size > ngx_pagesize / 2) {
        return ngx_align(size, ngx_pagesize);
    }

    for (n = NGX_HTTP_RUNS_LOG_MIN; n < size; n <<= 1) { /* void */ }

    return n;
}



/*
 * The run's log, grown towards "want" bytes (at most "max") when the zone
 * has room for it; NULL only when the run has no log and no room for one.
 */

static ngx_http_runs_log_t *
ngx_http_runs_log_room_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, size_t want, size_t max)
{
    size_t                size, piece;
    uint64_t              at;
    ngx_http_runs_log_t  *log, *old;

    old = run->log;

    want = ngx_min(want, max);

    if (old && old->size >= want) {
        return old;
    }

    /* at least double; the whole slab chunk or pages the size takes */

    if (old) {
        want = ngx_max(want, (size_t) old->size * 2);
    }

    size = ngx_http_runs_log_chunk(want) - offsetof(ngx_http_runs_log_t, data);

    /* never more than runs_log_size: what is kept is what was set */
    size = ngx_min(size, max);

    if (old == NULL) {
        /* a first log: room is made for it as for anything */
        log = ngx_http_runs_alloc_locked(zone,
                                         offsetof(ngx_http_runs_log_t, data)
                                         + size, NULL);

    } else {
        /* growing one: only the logs of finished runs give way */
        log = ngx_http_runs_log_alloc_locked(zone,
                                             offsetof(ngx_http_runs_log_t,
                                                      data)
                                             + size);
    }

    if (log == NULL) {
        /* a live run's log keeps what fits in what it has */
        return old;
    }

    ngx_queue_init(&log->queue);
    log->run = run;
    log->size = (uint32_t) size;
    log->end = 0;
    log->kept = 0;

    if (old) {
        log->end = old->end;
        log->kept = ngx_min(old->kept, log->size);

        /* the kept bytes, in the two pieces they may be in */

        at = old->end - log->kept;

        while (at < old->end) {
            piece = ngx_min(old->end - at, old->size - at % old->size);
            ngx_http_runs_log_put(log, at, old->data + at % old->size, piece);
            at += piece;
        }

        ngx_slab_free_locked(zone->shpool, old);
    }

    run->log = log;

    return log;
}



/*
 * A runner posts a piece of a run it holds: the part before the log's end
 * is skipped (a retry is never doubled), a piece beyond it is a gap.
 * *end: the log's end after it.
 */

ngx_uint_t
ngx_http_runs_store_log_append(ngx_http_runs_zone_t *zone, uint64_t lid,
    uint64_t rid, uint64_t offset, ngx_str_t *data, size_t max,
    uint64_t *end)
{
    u_char                    *p;
    size_t                     n, kept;
    uint64_t                   at, skip;
    ngx_uint_t                 found;
    ngx_http_runs_log_t       *log;
    ngx_http_runs_run_t       *run;
    ngx_http_runs_after_t      af;
    ngx_http_runs_launcher_t  *lr;

    ngx_http_runs_lock(zone, &af);

    found = ngx_http_runs_runner_call_locked(zone->sh, lid, rid, &lr, &run);

    if (found != NGX_HTTP_RUNS_R_DONE) {
        goto done;
    }

    *end = run->log ? run->log->end : 0;

    if (ngx_http_runs_is_terminal(run->status)) {
        found = NGX_HTTP_RUNS_R_FINISHED;
        goto done;
    }

    if (run->launcher != lr) {
        found = run->launcher ? NGX_HTTP_RUNS_R_OTHER_HOLDER
                              : NGX_HTTP_RUNS_R_NOT_HELD;
        goto done;
    }

    if (offset > *end) {
        found = NGX_HTTP_RUNS_R_GAP;
        goto done;
    }

    skip = *end - offset;

    if (skip >= data->len) {
        goto done;                          /* all of it stored already */
    }

    p = data->data + skip;
    n = data->len - (size_t) skip;

    kept = run->log ? run->log->kept : 0;

    log = ngx_http_runs_log_room_locked(zone, run, kept + n, max);

    if (log == NULL) {
        found = NGX_HTTP_RUNS_R_REFUSED;
        goto done;
    }

    at = log->end;

    /* only the newest log->size bytes of the piece can be kept */

    if (n > log->size) {
        at += n - log->size;
        p += n - log->size;
        ngx_http_runs_log_put(log, at, p, log->size);

    } else {
        ngx_http_runs_log_put(log, at, p, n);
    }

    log->end += n;
    log->kept = (uint32_t) ngx_min((uint64_t) log->kept + n, log->size);

    *end = log->end;

    ngx_http_runs_notify_kind_locked(zone->sh, &run->waiters,
                                     NGX_HTTP_RUNS_WAIT_LOG, &af);

done:

    ngx_http_runs_unlock(&af);

    return found;
}



/*
 * Copies at most "cap" bytes of a run's log from "offset" (or from the
 * oldest byte kept, or the end, whichever is nearest) into rd->data, or
 * into a buffer of the size found from "pool" when rd->data is NULL.
 * With "follow", a reader of a live run has a waiter from its first read
 * (NGX_HTTP_RUNS_R_REFUSED beyond runs_max_follows), armed once it has
 * every byte (NGX_HTTP_RUNS_R_HOLD); one that has every byte of a
 * finished run's log, or whose run is gone, is done (its waiter
 * released).
 */

ngx_uint_t
ngx_http_runs_store_log_read(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h, uint64_t rid,
    uint64_t offset, size_t cap, ngx_uint_t follow, ngx_pool_t *pool,
    ngx_http_runs_logread_t *rd, ngx_uint_t *refused)
{
    uint64_t                oldest;
    ngx_uint_t              found, release;
    ngx_http_runs_log_t    *log;
    ngx_http_runs_run_t    *run;
    ngx_http_runs_after_t   af;

    found = NGX_HTTP_RUNS_R_DONE;
    release = 1;
    rd->n = 0;

    ngx_http_runs_lock(zone, &af);

    run = ngx_http_runs_lookup_run_locked(zone->sh, rid);

    if (run == NULL) {
        found = NGX_HTTP_RUNS_R_NO_RUN;
        goto done;
    }

    log = run->log;

    rd->status = run->status;
    rd->evicted = run->log_evicted;
    rd->end = log ? log->end : 0;
    oldest = log ? log->end - log->kept : 0;

    rd->start = ngx_max(offset, oldest);
    rd->start = ngx_min(rd->start, rd->end);

    /* a ring that wrapped may keep the tail of a character: not sent */
    while (rd->start > offset && rd->start < rd->end
           && rd->start - oldest < 3
           && (log->data[rd->start % log->size] & 0xc0) == 0x80)
    {
        rd->start++;
    }

    rd->n = (size_t) ngx_min(rd->end - rd->start, (uint64_t) cap);

    if (rd->data == NULL) {
        /* a plain read: a buffer of the size found */
        rd->data = ngx_pnalloc(pool, rd->n + 1);
        if (rd->data == NULL) {
            rd->n = 0;
            found = NGX_HTTP_RUNS_R_NO_MEMORY;
            goto done;
        }
    }

    if (rd->n) {
        ngx_http_runs_log_get(log, rd->start, rd->data, rd->n);
    }

    if (!follow) {
        goto done;
    }

    if (ngx_http_runs_is_terminal(run->status)) {
        /* held on only while there is more to send */
        release = (rd->start + rd->n >= rd->end);
        goto done;
    }

    release = 0;

    /* a live run's follower waits from its first read: a cap refuses it then */

    if (h->waiter == NULL) {
        h->waiter = ngx_http_runs_waiter_new_locked(zone, lim, h, run,
                                                    refused, &af);
        if (h->waiter == NULL) {
            found = NGX_HTTP_RUNS_R_REFUSED;
            goto done;
        }
    }

    if (rd->start + rd->n < rd->end) {
        /* more to read once this is sent */
        goto done;
    }

    /* the reader has every byte there is: it waits for more */

    ngx_http_runs_waiter_rearm_locked(zone->sh, h->waiter);
    found = NGX_HTTP_RUNS_R_HOLD;

done:

    if (release && h && h->waiter) {
        ngx_http_runs_waiter_remove_locked(zone, h->waiter, &af);
        h->waiter = NULL;
    }

    ngx_http_runs_unlock(&af);

    return found;
}

