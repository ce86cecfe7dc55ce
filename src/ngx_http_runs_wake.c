
/*
 * Cross-worker wake-ups: the doorbells and the waiter records in the zone.
 *
 * A held request has a waiter record in the zone.  Whoever makes it
 * answerable (a new claimable run, a stop, a deregistration, a run that
 * ends) moves the waiter, under the zone's lock, to the notified queue of
 * the doorbell its worker listens on, and rings that doorbell once the
 * lock is released.  A doorbell is an eventfd (a pipe where there is none)
 * created by the master, kept in the zone and inherited by every worker of
 * every generation, so a reload never strands a waiter.  The HTTP side of
 * a held request (holding it, its timer, a client that leaves, answering
 * it) is in ngx_http_runs_held.c.  See docs/adr/0001-wakeups.md.
 */


#include "ngx_http_runs_zone.h"

#if (NGX_HAVE_EVENTFD) && (NGX_HAVE_SYS_EVENTFD_H)
#include <sys/eventfd.h>
#define NGX_HTTP_RUNS_EVENTFD  1
#endif


static void ngx_http_runs_bell_handler(ngx_event_t *ev);
static void ngx_http_runs_purge_dead_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_bells_t *bells);
static void ngx_http_runs_drop_own_waiters(ngx_http_runs_zone_t *zone);
static void ngx_http_runs_notify_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells);
static void ngx_http_runs_waiter_free_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w);


ngx_int_t
ngx_http_runs_init_bells(ngx_cycle_t *cycle, ngx_http_runs_zone_t *zone)
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


ngx_int_t
ngx_http_runs_init_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i, slot, flags;
    ngx_connection_t           *c;
    ngx_http_runs_zone_t      **zp, *zone;
    ngx_http_runs_bells_t       bells;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_runs_module);
    if (rmcf == NULL || rmcf->zones.nelts == 0) {
        return NGX_OK;
    }

    slot = ngx_worker % NGX_HTTP_RUNS_DOORBELLS;
    flags = (ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT
                                                    : NGX_LEVEL_EVENT;

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {
        zone = zp[i];

        ngx_queue_init(&zone->held);

        bells = 0;
        ngx_shmtx_lock(&zone->shpool->mutex);
        ngx_http_runs_purge_dead_locked(zone, &bells);
        ngx_shmtx_unlock(&zone->shpool->mutex);
        ngx_http_runs_ring(zone, bells);

        if (zone->sh->bells[slot].rfd == -1) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "runs_zone \"%V\" has no doorbell for worker %ui: "
                          "held requests are woken by the 1s timer only",
                          &zone->name, ngx_worker);
            continue;
        }

        c = ngx_get_connection(zone->sh->bells[slot].rfd, cycle->log);
        if (c == NULL) {
            return NGX_ERROR;
        }

        c->data = zone;
        c->read->handler = ngx_http_runs_bell_handler;
        c->read->log = cycle->log;

        if (ngx_add_event(c->read, NGX_READ_EVENT, flags) != NGX_OK) {
            ngx_free_connection(c);
            return NGX_ERROR;
        }

        zone->bell = c;
    }

    rmcf->timer.handler = ngx_http_runs_timer_handler;
    rmcf->timer.data = rmcf;
    rmcf->timer.log = cycle->log;
    rmcf->timer.cancelable = 1;

    ngx_add_timer(&rmcf->timer, NGX_HTTP_RUNS_MAINT_INTERVAL);

    return NGX_OK;
}


void
ngx_http_runs_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_http_runs_zone_t      **zp;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_runs_module);
    if (rmcf == NULL) {
        return;
    }

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {

        /* requests still held here end with the process: so do waiters */
        ngx_http_runs_drop_own_waiters(zp[i]);

        c = zp[i]->bell;

        if (c == NULL) {
            continue;
        }

        /* closes this process's copy only; the master keeps the doorbell */
        ngx_close_connection(c);
        zp[i]->bell = NULL;
    }
}


/* this worker's waiters, at its exit: no request of it is answered now */

static void
ngx_http_runs_drop_own_waiters(ngx_http_runs_zone_t *zone)
{
    ngx_queue_t             *q, *next;
    ngx_http_runs_bells_t    bells;
    ngx_http_runs_waiter_t  *w;

    if (zone->sh == NULL) {
        return;
    }

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&zone->sh->waiters);
         q != ngx_queue_sentinel(&zone->sh->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, every);

        if (w->pid == ngx_pid) {
            ngx_http_runs_waiter_remove_locked(zone, w, &bells);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);
}


/* a waiter whose worker died would swallow wake-ups: drop it */

static void
ngx_http_runs_purge_dead_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_bells_t *bells)
{
    ngx_queue_t             *q, *next;
    ngx_http_runs_waiter_t  *w;

    for (q = ngx_queue_head(&zone->sh->waiters);
         q != ngx_queue_sentinel(&zone->sh->waiters);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, every);

        if (w->pid == ngx_pid
            || kill(w->pid, 0) == 0
            || ngx_errno != NGX_ESRCH)
        {
            continue;
        }

        ngx_http_runs_waiter_remove_locked(zone, w, bells);
    }
}


void
ngx_http_runs_ring(ngx_http_runs_zone_t *zone, ngx_http_runs_bells_t bells)
{
    ssize_t     n;
    uint64_t    one;
    ngx_fd_t    fd;
    ngx_uint_t  i;

    /* what the change under the lock had to say */
    ngx_http_runs_callbacks_log(zone);

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


static void
ngx_http_runs_bell_handler(ngx_event_t *ev)
{
    u_char                 buf[64];
    ssize_t                n;
    ngx_connection_t      *c;
    ngx_http_runs_zone_t  *zone;

    c = ev->data;
    zone = c->data;

    for ( ;; ) {
        n = read(c->fd, buf, sizeof(buf));

        if (n > 0) {
            continue;
        }

        if (n == -1 && ngx_errno != NGX_EAGAIN) {
            ngx_log_error(NGX_LOG_ALERT, ev->log, ngx_errno,
                          "read() from runs_zone \"%V\" doorbell failed",
                          &zone->name);
        }

        break;
    }

    ngx_http_runs_process_notified(zone);
}


/* moves a waiter to its doorbell's notified queue */

static void
ngx_http_runs_notify_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells)
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

    if (bells) {
        *bells |= (ngx_http_runs_bells_t) 1 << w->slot;
    }
}


void
ngx_http_runs_notify_idle_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_waiter_t  *w;

    if (ngx_queue_empty(&sh->idle)) {
        return;
    }

    w = ngx_queue_data(ngx_queue_head(&sh->idle), ngx_http_runs_waiter_t,
                       queue);

    ngx_http_runs_notify_locked(sh, w, bells);
}


void
ngx_http_runs_notify_all_locked(ngx_http_runs_shctx_t *sh,
    ngx_queue_t *waiters, ngx_uint_t detach, ngx_http_runs_bells_t *bells)
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

        ngx_http_runs_notify_locked(sh, w, bells);
    }
}


/* wakes the waiters of one kind on a run: log followers on an append */

void
ngx_http_runs_notify_kind_locked(ngx_http_runs_shctx_t *sh,
    ngx_queue_t *waiters, ngx_uint_t kind, ngx_http_runs_bells_t *bells)
{
    ngx_queue_t             *q;
    ngx_http_runs_waiter_t  *w;

    for (q = ngx_queue_head(waiters);
         q != ngx_queue_sentinel(waiters);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, link);

        if (w->kind == kind) {
            ngx_http_runs_notify_locked(sh, w, bells);
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
 * Held requests are capped per kind (runner polls, ?wait=), so that one
 * kind cannot starve another, and in all (runs_max_waiters).  A launcher
 * holds at most runs_max_polls_per_launcher polls: a new one supersedes
 * its oldest, which answers 204, so a runner that reconnects is never
 * locked out by polls of its own that linger.  NULL: refused, *refused
 * says why.
 */

ngx_http_runs_waiter_t *
ngx_http_runs_waiter_add_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_main_conf_t *rmcf, ngx_http_runs_ctx_t *ctx,
    ngx_uint_t kind, void *target, ngx_uint_t *refused,
    ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_waiter_t    *w, *old;
    ngx_http_runs_launcher_t  *lr;
    ngx_http_runs_run_t       *run;

    sh = zone->sh;
    lr = NULL;

    if (sh->nheld[kind] >= rmcf->max_held[kind]) {
        *refused = (kind == NGX_HTTP_RUNS_WAIT_POLL)
                   ? NGX_HTTP_RUNS_REFUSED_POLLS
                   : (kind == NGX_HTTP_RUNS_WAIT_RUN)
                     ? NGX_HTTP_RUNS_REFUSED_WAITS
                     : NGX_HTTP_RUNS_REFUSED_FOLLOWS;
        return NULL;
    }

    if (sh->nwaiters >= rmcf->max_waiters) {
        *refused = NGX_HTTP_RUNS_REFUSED_WAITERS;
        return NULL;
    }

    w = ngx_http_runs_alloc_locked(zone, sizeof(ngx_http_runs_waiter_t),
                                   NULL);
    if (w == NULL) {
        *refused = NGX_HTTP_RUNS_REFUSED_FULL;
        return NULL;
    }

    /* admitted: only now may it supersede an older poll of its launcher */

    if (kind == NGX_HTTP_RUNS_WAIT_POLL) {
        lr = target;

        if (lr->nwaiters >= rmcf->max_polls_per_launcher) {
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

            ngx_http_runs_notify_locked(sh, old, bells);
        }
    }

    ngx_memzero(w, sizeof(ngx_http_runs_waiter_t));

    w->target = target;
    w->owner = ctx;
    w->pid = ngx_pid;
    w->slot = ngx_worker % NGX_HTTP_RUNS_DOORBELLS;
    w->kind = kind;

    ngx_queue_insert_tail(&sh->waiters, &w->every);

    if (kind == NGX_HTTP_RUNS_WAIT_POLL && !ctx->noclaim) {
        ngx_queue_insert_tail(&lr->waiters, &w->link);
        lr->nwaiters++;
        w->state = NGX_HTTP_RUNS_W_IDLE;
        ngx_queue_insert_tail(&sh->idle, &w->queue);

    } else if (kind == NGX_HTTP_RUNS_WAIT_POLL) {
        /* stops and deregistration only: never woken for a run */
        ngx_queue_insert_tail(&lr->waiters, &w->link);
        lr->nwaiters++;
        w->state = NGX_HTTP_RUNS_W_WATCH;
        ngx_queue_init(&w->queue);

    } else {
        run = target;
        ngx_queue_insert_tail(&run->waiters, &w->link);
        w->state = NGX_HTTP_RUNS_W_WATCH;
        ngx_queue_init(&w->queue);
    }

    sh->nwaiters++;
    sh->nheld[kind]++;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "runs: waiter %p held, kind %ui, %ui held in all",
                   w, kind, sh->nwaiters);

    return w;
}


void
ngx_http_runs_waiter_remove_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells)
{
    ngx_uint_t                 was_notified;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;
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

    /* a wake-up meant for a poll that went away goes to the next one */
    if (was_notified && w->kind == NGX_HTTP_RUNS_WAIT_POLL
        && sh->ready.root != sh->ready.sentinel)
    {
        ngx_http_runs_notify_idle_locked(sh, bells);
    }

    ngx_http_runs_waiter_free_locked(zone, w);
}


static void
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


/*
 * Takes a waiter out of the zone and computes its answer into its ctx;
 * a poll that finds nothing goes back to the head of the idle queue.
 */

void
ngx_http_runs_take_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_ctx_t       *ctx;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;
    ctx = w->owner;

    if (w->kind == NGX_HTTP_RUNS_WAIT_LOG) {
        /* the follower reads what there is; it stays on its run */
        if (w->state == NGX_HTTP_RUNS_W_NOTIFIED) {
            ngx_queue_remove(&w->queue);
            ngx_queue_init(&w->queue);
        }

        w->state = NGX_HTTP_RUNS_W_DETACHED;
        ctx->ready = 1;
        return;
    }

    if (w->kind == NGX_HTTP_RUNS_WAIT_RUN) {
        if (w->target == NULL
            || ngx_http_runs_snap_locked(zone->sh, w->target,
                                         ctx->request->pool, &ctx->poll.run)
               != NGX_OK)
        {
            ctx->poll.what = NGX_HTTP_RUNS_POLL_UNKNOWN;

        } else {
            ctx->poll.what = NGX_HTTP_RUNS_POLL_RUN;
        }

        ngx_http_runs_waiter_remove_locked(zone, w, bells);
        ctx->waiter = NULL;
        ctx->ready = 1;
        return;
    }

    if (w->superseded) {
        /* its launcher polled anew: this one answers 204 */
        ngx_queue_remove(&w->queue);
        ngx_queue_remove(&w->every);
        ngx_http_runs_waiter_free_locked(zone, w);

        /* a run it may have been woken for goes to another poll */
        if (sh->ready.root != sh->ready.sentinel) {
            ngx_http_runs_notify_idle_locked(sh, bells);
        }

        ctx->poll.what = NGX_HTTP_RUNS_POLL_NOTHING;
        ctx->waiter = NULL;
        ctx->ready = 1;
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

    if (ngx_http_runs_poll_locked(zone, lr, !ctx->noclaim, ctx->request->pool,
                                  &ctx->poll, bells)
        != NGX_OK)
    {
        ctx->poll.what = NGX_HTTP_RUNS_POLL_NOTHING;
    }

    if (ctx->poll.what == NGX_HTTP_RUNS_POLL_NOTHING && !ctx->final) {
        ngx_queue_insert_tail(&lr->waiters, &w->link);
        lr->nwaiters++;

        if (ctx->noclaim) {
            w->state = NGX_HTTP_RUNS_W_WATCH;
            ngx_queue_init(&w->queue);

        } else {
            w->state = NGX_HTTP_RUNS_W_IDLE;
            ngx_queue_insert_head(&sh->idle, &w->queue);
        }

        return;
    }

    ngx_queue_remove(&w->every);
    ngx_http_runs_waiter_free_locked(zone, w);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "runs: held poll %p answered (%ui)", w, ctx->poll.what);

    ctx->waiter = NULL;
    ctx->ready = 1;
}


/* the waiter was woken and is to be answered */

ngx_uint_t
ngx_http_runs_waiter_woken(ngx_http_runs_waiter_t *w)
{
    /* read without the lock: a wake-up after it is seen on its doorbell */
    return w->state == NGX_HTTP_RUNS_W_NOTIFIED;
}


/*
 * Takes this worker's woken waiters from its doorbell's queue, computes
 * each answer (a claim happens here) and moves the requests that have an
 * answer to "ready"; a poll that found nothing is parked again.
 */

void
ngx_http_runs_take_woken(ngx_http_runs_zone_t *zone, ngx_queue_t *ready)
{
    ngx_queue_t             *q, *next, *notified;
    ngx_http_runs_ctx_t     *ctx;
    ngx_http_runs_bells_t    bells;
    ngx_http_runs_waiter_t  *w;

    notified = &zone->sh->bells[ngx_worker % NGX_HTTP_RUNS_DOORBELLS].notified;
    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(notified);
         q != ngx_queue_sentinel(notified);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, queue);

        if (w->pid != ngx_pid) {
            continue;
        }

        ctx = w->owner;

        ngx_http_runs_take_locked(zone, w, &bells);

        if (ctx->ready) {
            ngx_queue_remove(&ctx->held);
            ngx_queue_insert_tail(ready, &ctx->held);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);
}


/* a held request's answer now, woken or not */

void
ngx_http_runs_take(ngx_http_runs_ctx_t *ctx)
{
    ngx_http_runs_bells_t  bells;

    bells = 0;

    ngx_shmtx_lock(&ctx->zone->shpool->mutex);
    ngx_http_runs_take_locked(ctx->zone, ctx->waiter, &bells);
    ngx_shmtx_unlock(&ctx->zone->shpool->mutex);

    ngx_http_runs_ring(ctx->zone, bells);
}


/* a held request that ends without an answer: its waiter goes */

void
ngx_http_runs_unwait(ngx_http_runs_ctx_t *ctx)
{
    ngx_http_runs_bells_t  bells;

    bells = 0;

    ngx_shmtx_lock(&ctx->zone->shpool->mutex);
    ngx_http_runs_waiter_remove_locked(ctx->zone, ctx->waiter, &bells);
    ngx_shmtx_unlock(&ctx->zone->shpool->mutex);

    ctx->waiter = NULL;
    ngx_http_runs_ring(ctx->zone, bells);
}
