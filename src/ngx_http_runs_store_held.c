
/*
 * Held requests, the zone's side: what a woken waiter answers, computed
 * under the lock by its kind's take function (a poll claims here), and
 * the woken waiters of this worker taken in one critical section.  The
 * HTTP side (ngx_http_runs_held.c) holds the requests and answers them;
 * the doorbells and waiter queues are ngx_http_runs_store_wait.c's.
 */


#include "ngx_http_runs_zone.h"


typedef void (*ngx_http_runs_take_pt)(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_hold_t *h,
    ngx_http_runs_after_t *af);


static void ngx_http_runs_take_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_after_t *af);
static void ngx_http_runs_take_poll_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_hold_t *h,
    ngx_http_runs_after_t *af);
static void ngx_http_runs_take_wait_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_hold_t *h,
    ngx_http_runs_after_t *af);
static void ngx_http_runs_take_follow_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_hold_t *h,
    ngx_http_runs_after_t *af);


/* by ngx_http_runs_wait_e */
static ngx_http_runs_take_pt  ngx_http_runs_takes[] = {
    NULL,
    ngx_http_runs_take_poll_locked,
    ngx_http_runs_take_wait_locked,
    ngx_http_runs_take_follow_locked,
    ngx_http_runs_take_follow_locked        /* an event stream: the same */
};


/* takes a waiter and computes its answer into its hold */

static void
ngx_http_runs_take_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_after_t *af)
{
    ngx_http_runs_takes[w->kind](zone, w, w->owner, af);
}


/*
 * A log follower or an event stream reads what there is itself; a
 * follower stays on its run, a stream left the zone's queue when woken
 */

static void
ngx_http_runs_take_follow_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_hold_t *h,
    ngx_http_runs_after_t *af)
{
    if (w->state == NGX_HTTP_RUNS_W_NOTIFIED) {
        ngx_queue_remove(&w->queue);
        ngx_queue_init(&w->queue);
    }

    w->state = NGX_HTTP_RUNS_W_DETACHED;
    h->ready = 1;
}


/* a ?wait= answers the run as it is, or that it is gone */

static void
ngx_http_runs_take_wait_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_hold_t *h,
    ngx_http_runs_after_t *af)
{
    if (w->target == NULL
        || ngx_http_runs_snap_locked(zone->sh, w->target, h->pool,
                                     &h->poll.run)
           != NGX_OK)
    {
        h->poll.what = NGX_HTTP_RUNS_POLL_UNKNOWN;

    } else {
        h->poll.what = NGX_HTTP_RUNS_POLL_RUN;
    }

    ngx_http_runs_waiter_remove_locked(zone, w, af);
    h->waiter = NULL;
    h->ready = 1;
}


/*
 * A poll claims a run or takes its stops; one that finds nothing goes
 * back to the head of the idle queue, unless it is to answer anyway.
 */

static void
ngx_http_runs_take_poll_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_hold_t *h,
    ngx_http_runs_after_t *af)
{
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;

    if (w->superseded) {
        /* its launcher polled anew: this one answers 204 */
        ngx_queue_remove(&w->queue);
        ngx_queue_remove(&w->every);
        ngx_http_runs_waiter_free_locked(zone, w);

        /* a run it may have been woken for goes to another poll */
        if (sh->nready) {
            ngx_http_runs_notify_ready_locked(sh, NULL, af);
        }

        h->poll.what = NGX_HTTP_RUNS_POLL_NOTHING;
        h->waiter = NULL;
        h->ready = 1;
        return;
    }

    lr = w->target;

    /* out of every queue while the poll runs: it may free the launcher */

    if (w->state == NGX_HTTP_RUNS_W_IDLE
        || w->state == NGX_HTTP_RUNS_W_NOTIFIED)
    {
        ngx_queue_remove(&w->queue);
    }

    if (lr) {
        ngx_queue_remove(&w->link);
        lr->nwaiters--;
    }

    w->state = NGX_HTTP_RUNS_W_DETACHED;

    /*
     * a retired zone (replaced by a resized one) hands out no run, nor
     * one whose journal cannot be written (the claim would not be kept)
     */
    if (ngx_http_runs_poll_locked(zone, lr,
                                  !h->noclaim && !sh->retired && !sh->jfailing,
                                  h->pool, &h->poll, af)
        != NGX_OK)
    {
        h->poll.what = NGX_HTTP_RUNS_POLL_NOTHING;
    }

    if (h->poll.what == NGX_HTTP_RUNS_POLL_NOTHING && !h->final) {
        ngx_http_runs_waiter_park_locked(sh, w, lr, h->noclaim, 1);
        return;
    }

    ngx_queue_remove(&w->every);
    ngx_http_runs_waiter_free_locked(zone, w);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "runs: held poll %p answered (%ui)", w, h->poll.what);

    h->waiter = NULL;
    h->ready = 1;
}


/* the request was woken and is to be answered */

ngx_uint_t
ngx_http_runs_store_woken(ngx_http_runs_hold_t *h)
{
    /* read without the lock: a wake-up after it is seen on its doorbell */
    return h->waiter && h->waiter->state == NGX_HTTP_RUNS_W_NOTIFIED;
}


/*
 * Takes this worker's woken waiters from its doorbell's queue, computes
 * each answer (a claim happens here) and moves the holds that have an
 * answer from zone->held to "ready"; a poll that found nothing is parked
 * again.
 */

void
ngx_http_runs_store_take_woken(ngx_http_runs_zone_t *zone,
    ngx_queue_t *ready)
{
    ngx_queue_t             *q, *next, *notified;
    ngx_http_runs_hold_t    *h;
    ngx_http_runs_after_t    af;
    ngx_http_runs_waiter_t  *w;

    notified = &zone->sh->bells[ngx_worker % NGX_HTTP_RUNS_DOORBELLS].notified;

    ngx_http_runs_lock(zone, &af);

    for (q = ngx_queue_head(notified);
         q != ngx_queue_sentinel(notified);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, queue);

        if (w->pid != ngx_pid) {
            continue;
        }

        h = w->owner;

        ngx_http_runs_take_locked(zone, w, &af);

        if (h->ready) {
            ngx_queue_remove(&h->queue);
            ngx_queue_insert_tail(ready, &h->queue);
        }
    }

    ngx_http_runs_unlock(&af);
}


/* a held request's answer now, woken or not */

void
ngx_http_runs_store_take(ngx_http_runs_zone_t *zone, ngx_http_runs_hold_t *h)
{
    ngx_http_runs_after_t  af;

    ngx_http_runs_lock(zone, &af);
    ngx_http_runs_take_locked(zone, h->waiter, &af);
    ngx_http_runs_unlock(&af);
}


/* a held request that ends without an answer: its waiter goes */

void
ngx_http_runs_store_unwait(ngx_http_runs_zone_t *zone,
    ngx_http_runs_hold_t *h)
{
    ngx_http_runs_after_t  af;

    ngx_http_runs_lock(zone, &af);

    /* a wake-up meant for a poll that went away goes to another one */
    if (ngx_http_runs_waiter_remove_locked(zone, h->waiter, &af)
        && zone->sh->nready)
    {
        ngx_http_runs_notify_ready_locked(zone->sh, NULL, &af);
    }

    ngx_http_runs_unlock(&af);

    h->waiter = NULL;
}



/*
 * own: this worker's waiters, at its exit (no request of it is answered
 * now); else the waiters of workers that died, which would swallow
 * wake-ups.
 */

void
ngx_http_runs_store_purge_waiters(ngx_http_runs_zone_t *zone, ngx_uint_t own)
{
    ngx_queue_t             *q, *next;
    ngx_http_runs_after_t    af;
    ngx_http_runs_waiter_t  *w;

    if (zone->sh == NULL) {
        return;
    }

    ngx_http_runs_lock(zone, &af);

    for (q = ngx_queue_head(&zone->sh->waiters);
         q != ngx_queue_sentinel(&zone->sh->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, every);

        if (own) {
            if (w->pid != ngx_pid) {
                continue;
            }

        } else if (w->pid == ngx_pid
                   || kill(w->pid, 0) == 0
                   || ngx_errno != NGX_ESRCH)
        {
            continue;
        }

        if (ngx_http_runs_waiter_remove_locked(zone, w, &af)
            && zone->sh->nready)
        {
            ngx_http_runs_notify_ready_locked(zone->sh, NULL, &af);
        }
    }

    ngx_http_runs_unlock(&af);
}
