
/*
 * Held requests and cross-worker wake-ups.
 *
 * A held request has a waiter record in the zone.  Whoever makes it
 * answerable (a new claimable run, a stop, a deregistration, a run that
 * ends) moves the waiter, under the zone's lock, to the notified queue of
 * the doorbell its worker listens on, and rings that doorbell once the
 * lock is released.  A doorbell is an eventfd (a pipe where there is none)
 * created by the master, kept in the zone and inherited by every worker of
 * every generation, so a reload never strands a waiter.  A slow cancelable
 * timer in each worker re-checks the notified queue, runs the runner-loss
 * and retention sweeps, and answers held requests when the worker exits.
 * See docs/adr/0001-wakeups.md.
 */


#include "ngx_http_runs.h"

#if (NGX_HAVE_EVENTFD) && (NGX_HAVE_SYS_EVENTFD_H)
#include <sys/eventfd.h>
#define NGX_HTTP_RUNS_EVENTFD  1
#endif


static void ngx_http_runs_bell_handler(ngx_event_t *ev);
static void ngx_http_runs_process_notified(ngx_http_runs_zone_t *zone);
static void ngx_http_runs_hold_cleanup(void *data);
static void ngx_http_runs_hold_timeout(ngx_event_t *ev);
static void ngx_http_runs_held_read(ngx_event_t *rev);
static void ngx_http_runs_check_broken(ngx_http_request_t *r);
static ngx_uint_t ngx_http_runs_client_alive(ngx_http_request_t *r);
static void ngx_http_runs_release(ngx_http_runs_ctx_t *ctx);
static void ngx_http_runs_purge_dead_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_bells_t *bells);
static void ngx_http_runs_take_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells);
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
        c = zp[i]->bell;

        if (c == NULL) {
            continue;
        }

        /* closes this process's copy only; the master keeps the doorbell */
        ngx_close_connection(c);
        zp[i]->bell = NULL;
    }
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
                   ? NGX_HTTP_RUNS_REFUSED_POLLS : NGX_HTTP_RUNS_REFUSED_WAITS;
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

static void
ngx_http_runs_take_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_ctx_t       *ctx;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;
    ctx = w->owner;

    if (w->kind == NGX_HTTP_RUNS_WAIT_RUN) {
        if (w->target == NULL
            || ngx_http_runs_snap_locked(w->target, ctx->request->pool,
                                         &ctx->poll.run)
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


static void
ngx_http_runs_process_notified(ngx_http_runs_zone_t *zone)
{
    ngx_uint_t               slot;
    ngx_queue_t             *q, *next, ready;
    ngx_http_runs_ctx_t     *ctx;
    ngx_http_runs_bell_t    *bell;
    ngx_http_runs_bells_t    bells;
    ngx_http_runs_waiter_t  *w;

    if (ngx_queue_empty(&zone->held)) {
        return;
    }

    /*
     * A poll whose client has gone must not be handed a run: look at the
     * sockets of the notified polls before anything is claimed for them.
     * The state is read without the lock; a poll notified meanwhile is
     * looked at on its own doorbell.
     */

    for (q = ngx_queue_head(&zone->held);
         q != ngx_queue_sentinel(&zone->held);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_http_runs_ctx_t, held);

        if (ctx->kind == NGX_HTTP_RUNS_WAIT_POLL && ctx->waiter
            && ctx->waiter->state == NGX_HTTP_RUNS_W_NOTIFIED
            && !ngx_http_runs_client_alive(ctx->request))
        {
            ngx_http_finalize_request(ctx->request,
                                      NGX_HTTP_CLIENT_CLOSED_REQUEST);
        }
    }

    slot = ngx_worker % NGX_HTTP_RUNS_DOORBELLS;
    bell = &zone->sh->bells[slot];
    bells = 0;

    ngx_queue_init(&ready);

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&bell->notified);
         q != ngx_queue_sentinel(&bell->notified);
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
            ngx_queue_insert_tail(&ready, &ctx->held);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    while (!ngx_queue_empty(&ready)) {
        q = ngx_queue_head(&ready);
        ngx_queue_remove(q);
        ngx_queue_init(q);

        ctx = ngx_queue_data(q, ngx_http_runs_ctx_t, held);
        ngx_http_runs_release(ctx);
        ngx_http_runs_answer_held(ctx);
    }
}


/* answers a held request now, with whatever there is */

void
ngx_http_runs_finish_held(ngx_http_runs_ctx_t *ctx)
{
    ngx_http_runs_zone_t   *zone;
    ngx_http_runs_bells_t   bells;

    zone = ctx->zone;
    bells = 0;

    if (ctx->waiter) {
        ctx->final = 1;

        ngx_shmtx_lock(&zone->shpool->mutex);
        ngx_http_runs_take_locked(zone, ctx->waiter, &bells);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_http_runs_ring(zone, bells);
    }

    ngx_http_runs_release(ctx);
    ngx_http_runs_answer_held(ctx);
}


ngx_int_t
ngx_http_runs_hold(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_pool_cleanup_t *cln, ngx_msec_t timeout)
{
    ngx_connection_t  *c;

    c = r->connection;

    cln->handler = ngx_http_runs_hold_cleanup;
    cln->data = ctx;

    ctx->timer.handler = ngx_http_runs_hold_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = c->log;

    ngx_add_timer(&ctx->timer, timeout);

    ngx_queue_insert_tail(&ctx->zone->held, &ctx->held);
    ctx->holding = 1;

    r->read_event_handler = ngx_http_runs_check_broken;
    r->write_event_handler = ngx_http_request_empty_handler;

#if (NGX_HTTP_V2)
    if (r->stream == NULL)
#endif
    {
        /* a worker that starts shutting down calls us with c->close set */
        ctx->saved_read = c->read->handler;
        c->read->handler = ngx_http_runs_held_read;
        c->idle = 1;
    }

    r->main->count++;

    return NGX_DONE;
}


/* undoes ngx_http_runs_hold() before the request is answered */

static void
ngx_http_runs_release(ngx_http_runs_ctx_t *ctx)
{
    ngx_connection_t  *c;

    if (!ctx->holding) {
        return;
    }

    ctx->holding = 0;

    c = ctx->request->connection;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    if (ctx->saved_read) {
        c->read->handler = ctx->saved_read;
        ctx->saved_read = NULL;
        c->idle = 0;
        c->close = 0;
    }

    if (!ngx_queue_empty(&ctx->held)) {
        ngx_queue_remove(&ctx->held);
        ngx_queue_init(&ctx->held);
    }
}


static void
ngx_http_runs_hold_cleanup(void *data)
{
    ngx_http_runs_ctx_t *ctx = data;

    ngx_http_runs_zone_t   *zone;
    ngx_http_runs_bells_t   bells;

    zone = ctx->zone;

    if (ctx->waiter) {
        bells = 0;

        ngx_shmtx_lock(&zone->shpool->mutex);
        ngx_http_runs_waiter_remove_locked(zone, ctx->waiter, &bells);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        ctx->waiter = NULL;
        ngx_http_runs_ring(zone, bells);
    }

    if (ctx->holding) {
        ctx->holding = 0;

        if (ctx->timer.timer_set) {
            ngx_del_timer(&ctx->timer);
        }

        if (!ngx_queue_empty(&ctx->held)) {
            ngx_queue_remove(&ctx->held);
            ngx_queue_init(&ctx->held);
        }
    }
}


static void
ngx_http_runs_hold_timeout(ngx_event_t *ev)
{
    ngx_http_runs_ctx_t  *ctx;

    ctx = ev->data;

    ngx_http_runs_finish_held(ctx);
}


static void
ngx_http_runs_held_read(ngx_event_t *rev)
{
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_runs_ctx_t  *ctx;

    c = rev->data;
    r = c->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    if (c->close && ctx) {
        /* the worker is shutting down: answer now */
        ngx_http_set_log_request(c->log, r);
        ngx_http_runs_finish_held(ctx);
        return;
    }

    if (ctx && ctx->saved_read) {
        ctx->saved_read(rev);
    }
}


static ngx_uint_t
ngx_http_runs_client_alive(ngx_http_request_t *r)
{
    int                n;
    char               buf[1];
    ngx_err_t          err;
    ngx_connection_t  *c;

    c = r->connection;

#if (NGX_HTTP_V2)
    if (r->stream) {
        return 1;
    }
#endif

    if (c->error || c->read->eof) {
        return 0;
    }

    n = recv(c->fd, buf, 1, MSG_PEEK);
    err = ngx_socket_errno;

    if (n == 0 || (n == -1 && err != NGX_EAGAIN)) {
        c->read->eof = 1;
        c->error = 1;

        ngx_log_error(NGX_LOG_INFO, c->log, err,
                      "client closed connection while its request was held");
        return 0;
    }

    return 1;
}


static void
ngx_http_runs_check_broken(ngx_http_request_t *r)
{
    int                n;
    char               buf[1];
    ngx_err_t          err;
    ngx_event_t       *ev;
    ngx_connection_t  *c;

    c = r->connection;
    ev = c->read;

#if (NGX_HTTP_V2)
    if (r->stream) {
        return;
    }
#endif

    if (c->error) {
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

#if (NGX_HAVE_EPOLLRDHUP)

    if ((ngx_event_flags & NGX_USE_EPOLL_EVENT) && ngx_use_epoll_rdhup) {

        if (!ev->pending_eof) {
            return;
        }

        ev->eof = 1;
        c->error = 1;

        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "client closed connection while its request was held");

        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

#endif

    n = recv(c->fd, buf, 1, MSG_PEEK);

    err = ngx_socket_errno;

    if (n > 0) {
        /* pipelined data: leave it for after the answer */
        if ((ngx_event_flags & NGX_USE_LEVEL_EVENT) && ev->active) {
            if (ngx_del_event(ev, NGX_READ_EVENT, 0) != NGX_OK) {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            }
        }

        return;
    }

    if (n == -1 && err == NGX_EAGAIN) {
        return;
    }

    ev->eof = 1;
    c->error = 1;

    ngx_log_error(NGX_LOG_INFO, c->log, err,
                  "client closed connection while its request was held");

    ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
}


void
ngx_http_runs_timer_handler(ngx_event_t *ev)
{
    int64_t                     now;
    ngx_uint_t                  i, k;
    ngx_queue_t                *q;
    ngx_http_runs_ctx_t        *ctx;
    ngx_http_runs_lost_t        lost;
    ngx_http_runs_zone_t      **zp, *zone;
    ngx_http_runs_bells_t       bells;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ev->data;
    now = ngx_http_runs_now();

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {
        zone = zp[i];
        bells = 0;
        lost.n = 0;
        lost.nexpired = 0;

        ngx_shmtx_lock(&zone->shpool->mutex);

        if (now >= zone->sh->next_maintenance) {
            zone->sh->next_maintenance = now + NGX_HTTP_RUNS_MAINT_INTERVAL;
            ngx_http_runs_maintain_locked(zone, rmcf, now, &lost, &bells);
        }

        ngx_shmtx_unlock(&zone->shpool->mutex);

        ngx_http_runs_ring(zone, bells);

        for (k = 0; k < ngx_min(lost.n, NGX_HTTP_RUNS_LOST_LOGGED); k++) {
            ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                          "runs_zone \"%V\": launcher %*s silent for %L ms, "
                          "removed: launcher lost", &zone->name,
                          (size_t) NGX_HTTP_RUNS_LAUNCHER_ID_LEN, lost.id[k],
                          lost.silent[k]);
        }

        if (lost.n > NGX_HTTP_RUNS_LOST_LOGGED) {
            ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                          "runs_zone \"%V\": %ui more launchers removed: "
                          "launcher lost", &zone->name,
                          lost.n - NGX_HTTP_RUNS_LOST_LOGGED);
        }

        for (k = 0; k < ngx_min(lost.nexpired, NGX_HTTP_RUNS_LOST_LOGGED);
             k++)
        {
            ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                          "runs_zone \"%V\": run %*s was claimed by "
                          "launcher %*s, which did not confirm it within "
                          "runs_claim_timeout (%M ms): taken back",
                          &zone->name,
                          (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, lost.run[k],
                          (size_t) NGX_HTTP_RUNS_LAUNCHER_ID_LEN,
                          lost.holder[k], rmcf->claim_timeout);
        }

        if (lost.nexpired > NGX_HTTP_RUNS_LOST_LOGGED) {
            ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                          "runs_zone \"%V\": %ui more unconfirmed claims "
                          "taken back", &zone->name,
                          lost.nexpired - NGX_HTTP_RUNS_LOST_LOGGED);
        }

        /* a wake-up whose doorbell was missed */
        ngx_http_runs_process_notified(zone);

        if (ngx_exiting) {
            while (!ngx_queue_empty(&zone->held)) {
                q = ngx_queue_head(&zone->held);
                ctx = ngx_queue_data(q, ngx_http_runs_ctx_t, held);
                ngx_http_runs_finish_held(ctx);
            }
        }
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_RUNS_MAINT_INTERVAL);
    }
}
