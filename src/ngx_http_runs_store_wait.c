
/*
 * The store's doorbells and waiter queues.
 *
 * A held request has a waiter record in the zone.  Whoever makes it
 * answerable (a new claimable run, a stop, a deregistration, a run that
 * ends, a log piece) moves the waiter, under the zone's lock, to the
 * notified queue of the doorbell its worker listens on, and notes that
 * doorbell in the after-the-lock record; ngx_http_runs_unlock()
 * (ngx_http_runs_store_after.c) rings it once the lock is released.  A doorbell is an eventfd (a pipe where there is none)
 * created by the master, kept in the zone and inherited by every worker
 * of every generation, so a reload never strands a waiter.  This file
 * knows the zone's records only: what a woken waiter answers is computed
 * by ngx_http_runs_store_held.c.  See docs/adr/0001-wakeups.md.
 */


#include "ngx_http_runs_zone.h"

#if (NGX_HAVE_EVENTFD) && (NGX_HAVE_SYS_EVENTFD_H)
#include <sys/eventfd.h>
#define NGX_HTTP_RUNS_EVENTFD  1
#endif


/* the 503's reason when a kind's cap is reached, by ngx_http_runs_wait_e */
static const ngx_uint_t  ngx_http_runs_kind_refused[] = {
    NGX_HTTP_RUNS_REFUSED_N,
    NGX_HTTP_RUNS_REFUSED_POLLS,
    NGX_HTTP_RUNS_REFUSED_WAITS,
    NGX_HTTP_RUNS_REFUSED_FOLLOWS,
    NGX_HTTP_RUNS_REFUSED_STREAMS
};


/* the master makes a doorbell per worker slot, once per zone */

ngx_int_t
ngx_http_runs_store_bells(ngx_cycle_t *cycle, ngx_http_runs_zone_t *zone)
{
    ngx_fd_t               fds[2];
    ngx_uint_t             i, n;
    ngx_core_conf_t       *ccf;
    ngx_http_runs_bell_t  *bell;

    if (zone->sh == NULL) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    n = ngx_min((ngx_uint_t) ccf->worker_processes, NGX_HTTP_RUNS_DOORBELLS);

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < n; i++) {
        bell = &zone->sh->bells[i];

        if (bell->rfd != -1) {
            continue;
        }

#if (NGX_HTTP_RUNS_EVENTFD)

        fds[0] = eventfd(0, EFD_NONBLOCK|EFD_CLOEXEC);
        if (fds[0] == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "eventfd() for runs_zone \"%V\" failed",
                          &zone->name);
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return NGX_ERROR;
        }

        fds[1] = fds[0];

#else

        if (pipe(fds) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "pipe() for runs_zone \"%V\" failed", &zone->name);
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return NGX_ERROR;
        }

        if (ngx_nonblocking(fds[0]) == -1 || ngx_nonblocking(fds[1]) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          ngx_nonblocking_n " on a runs_zone doorbell failed");
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return NGX_ERROR;
        }

#endif

        bell->rfd = fds[0];
        bell->wfd = fds[1];
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_OK;
}


/* the doorbell this worker listens on, -1 when it has none */

ngx_fd_t
ngx_http_runs_store_bell_fd(ngx_http_runs_zone_t *zone)
{
    return zone->sh->bells[ngx_worker % NGX_HTTP_RUNS_DOORBELLS].rfd;
}


/* rings the doorbells of bit mask "bells", after the lock */

void
ngx_http_runs_store_ring(ngx_http_runs_zone_t *zone, uint64_t bells)
{
    ssize_t     n;
    uint64_t    one;
    ngx_fd_t    fd;
    ngx_uint_t  i;

    one = 1;

    for (i = 0; bells; i++, bells >>= 1) {

        if (!(bells & 1)) {
            continue;
        }

        fd = zone->sh->bells[i].wfd;
        if (fd == -1) {
            continue;
        }

#if (NGX_HTTP_RUNS_EVENTFD)
        n = write(fd, &one, sizeof(uint64_t));
#else
        n = write(fd, &one, 1);
#endif

        if (n == -1 && ngx_errno != NGX_EAGAIN) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "write() to runs_zone \"%V\" doorbell %ui failed",
                          &zone->name, i);
        }
    }
}


/* moves a waiter to its doorbell's notified queue */

void
ngx_http_runs_notify_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w, ngx_http_runs_after_t *af)
{
    switch (w->state) {

    case NGX_HTTP_RUNS_W_IDLE:
        ngx_queue_remove(&w->queue);
        break;

    case NGX_HTTP_RUNS_W_WATCH:
        break;

    default:
        return;
    }

    w->state = NGX_HTTP_RUNS_W_NOTIFIED;
    ngx_queue_insert_tail(&sh->bells[w->slot].notified, &w->queue);

    if (af) {
        af->bells |= (uint64_t) 1 << w->slot;
    }
}

void
ngx_http_runs_notify_all_locked(ngx_http_runs_shctx_t *sh,
    ngx_queue_t *waiters, ngx_uint_t detach, ngx_http_runs_after_t *af)
{
    ngx_queue_t             *q, *next;
    ngx_http_runs_waiter_t  *w;

    for (q = ngx_queue_head(waiters);
         q != ngx_queue_sentinel(waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, link);

        if (detach) {
            ngx_queue_remove(&w->link);
            ngx_queue_init(&w->link);
            w->target = NULL;
        }

        ngx_http_runs_notify_locked(sh, w, af);
    }
}


/* wakes the waiters of one kind on a run: log followers on an append */

void
ngx_http_runs_notify_kind_locked(ngx_http_runs_shctx_t *sh,
    ngx_queue_t *waiters, ngx_uint_t kind, ngx_http_runs_after_t *af)
{
    ngx_queue_t             *q;
    ngx_http_runs_waiter_t  *w;

    for (q = ngx_queue_head(waiters);
         q != ngx_queue_sentinel(waiters);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, link);

        if (w->kind == kind) {
            ngx_http_runs_notify_locked(sh, w, af);
        }
    }
}


/*
 * A log follower that has read every byte waits again; one notified
 * meanwhile has read what it was woken for and leaves its doorbell's queue.
 */

void
ngx_http_runs_waiter_rearm_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w)
{
    if (w->state == NGX_HTTP_RUNS_W_NOTIFIED) {
        ngx_queue_remove(&w->queue);
    }

    w->state = NGX_HTTP_RUNS_W_WATCH;
    ngx_queue_init(&w->queue);
}


/*
 * Held requests are capped per kind (runner polls, ?wait=, log follows),
 * so that one kind cannot starve another, and in all (runs_max_waiters).
 * NGX_OK: one more may be held; else *refused says why not.
 */

ngx_int_t
ngx_http_runs_waiter_admit_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_limits_t *lim, ngx_uint_t kind, ngx_uint_t *refused)
{
    if (sh->nheld[kind] >= lim->max_held[kind]) {
        *refused = ngx_http_runs_kind_refused[kind];
        return NGX_DECLINED;
    }

    if (sh->nwaiters >= lim->max_waiters) {
        *refused = NGX_HTTP_RUNS_REFUSED_WAITERS;
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * Puts an admitted waiter (w, allocated by the caller) on its queues: a
 * poll on its launcher's list and, unless it is for stops only, in the
 * idle queue; a wait or a follow on its run's list; an event stream on
 * the zone's.  A launcher holds at
 * most runs_max_polls_per_launcher polls: a new one supersedes its
 * oldest, which answers 204, so a runner that reconnects is never locked
 * out by polls of its own that linger.
 */

void
ngx_http_runs_waiter_add_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_limits_t *lim, ngx_http_runs_waiter_t *w,
    ngx_http_runs_hold_t *h, void *target, ngx_http_runs_after_t *af)
{
    ngx_http_runs_run_t       *run;
    ngx_http_runs_waiter_t    *old;
    ngx_http_runs_launcher_t  *lr;

    lr = target;

    if (h->kind == NGX_HTTP_RUNS_WAIT_POLL
        && lr->nwaiters >= lim->max_polls_per_launcher)
    {
        old = ngx_queue_data(ngx_queue_head(&lr->waiters),
                             ngx_http_runs_waiter_t, link);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "runs: launcher %*s polls again: its oldest "
                       "held poll is answered",
                       (size_t) NGX_HTTP_RUNS_LAUNCHER_ID_LEN, lr->id);

        ngx_queue_remove(&old->link);
        ngx_queue_init(&old->link);
        old->target = NULL;
        old->superseded = 1;
        lr->nwaiters--;

        ngx_http_runs_notify_locked(sh, old, af);
    }

    ngx_memzero(w, sizeof(ngx_http_runs_waiter_t));

    w->target = target;
    w->owner = h;
    w->pid = ngx_pid;
    w->slot = ngx_worker % NGX_HTTP_RUNS_DOORBELLS;
    w->kind = h->kind;

    ngx_queue_insert_tail(&sh->waiters, &w->every);

    if (h->kind == NGX_HTTP_RUNS_WAIT_POLL) {
        ngx_http_runs_waiter_park_locked(sh, w, lr, h->noclaim, 0);

    } else if (h->kind == NGX_HTTP_RUNS_WAIT_EVENTS) {
        /* the zone's changes: woken by the next one */
        ngx_queue_insert_tail(&sh->event_waiters, &w->link);
        w->state = NGX_HTTP_RUNS_W_WATCH;
        ngx_queue_init(&w->queue);

    } else {
        run = target;
        ngx_queue_insert_tail(&run->waiters, &w->link);
        w->state = NGX_HTTP_RUNS_W_WATCH;
        ngx_queue_init(&w->queue);
    }

    sh->nwaiters++;
    sh->nheld[h->kind]++;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "runs: waiter %p held, kind %ui, %ui held in all",
                   w, h->kind, sh->nwaiters);
}


/*
 * A poll's waiter on its launcher's list and, unless it is for stops and
 * deregistration only (never woken for a run), in the idle queue: at its
 * tail, or at its head for a poll that was woken and found nothing (it
 * was first in line).
 */

void
ngx_http_runs_waiter_park_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w, ngx_http_runs_launcher_t *lr,
    ngx_uint_t noclaim, ngx_uint_t head)
{
    ngx_queue_insert_tail(&lr->waiters, &w->link);
    lr->nwaiters++;

    if (noclaim) {
        w->state = NGX_HTTP_RUNS_W_WATCH;
        ngx_queue_init(&w->queue);
        return;
    }

    w->state = NGX_HTTP_RUNS_W_IDLE;

    if (head) {
        ngx_queue_insert_head(&sh->idle, &w->queue);

    } else {
        ngx_queue_insert_tail(&sh->idle, &w->queue);
    }
}


/*
 * A waiter gone; 1 when it was a poll woken and not yet answered: the
 * caller passes the wake-up on (ngx_http_runs_notify_ready_locked())
 */

ngx_uint_t
ngx_http_runs_waiter_remove_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_after_t *af)
{
    ngx_uint_t                 was_notified;
    ngx_http_runs_launcher_t  *lr;

    was_notified = (w->state == NGX_HTTP_RUNS_W_NOTIFIED);

    if (w->state == NGX_HTTP_RUNS_W_IDLE || was_notified) {
        ngx_queue_remove(&w->queue);
    }

    if (w->target) {
        ngx_queue_remove(&w->link);

        if (w->kind == NGX_HTTP_RUNS_WAIT_POLL) {
            lr = w->target;
            lr->nwaiters--;
        }
    }

    ngx_queue_remove(&w->every);

    was_notified = was_notified && w->kind == NGX_HTTP_RUNS_WAIT_POLL;

    ngx_http_runs_waiter_free_locked(zone, w);

    return was_notified;
}


void
ngx_http_runs_waiter_free_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w)
{
    zone->sh->nwaiters--;
    zone->sh->nheld[w->kind]--;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "runs: waiter %p released, %ui held in all",
                   w, zone->sh->nwaiters);

    ngx_slab_free_locked(zone->shpool, w);
}

