
/*
 * Held requests, the HTTP side: a poll or a ?wait= that has nothing to
 * answer yet is held (r->main->count++, NGX_DONE) with a timer and a pool
 * cleanup; a client that leaves is noticed at once; a worker woken by its
 * doorbell takes its notified waiters (ngx_http_runs_wake.c) and answers
 * each through the function its endpoint set (ctx->answer).  The
 * per-worker timer runs the zone's maintenance, catches a missed doorbell
 * and answers everything held when the worker exits.
 */


#include "ngx_http_runs.h"


static void ngx_http_runs_hold_cleanup(void *data);
static void ngx_http_runs_hold_timeout(ngx_event_t *ev);
static void ngx_http_runs_held_read(ngx_event_t *rev);
static void ngx_http_runs_check_broken(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_probe(ngx_connection_t *c);
static ngx_uint_t ngx_http_runs_client_alive(ngx_http_request_t *r);


void
ngx_http_runs_process_notified(ngx_http_runs_zone_t *zone)
{
    ngx_queue_t          *q, *next, ready;
    ngx_http_runs_ctx_t  *ctx;

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
            && ngx_http_runs_waiter_woken(ctx->waiter)
            && !ngx_http_runs_client_alive(ctx->request))
        {
            ngx_http_finalize_request(ctx->request,
                                      NGX_HTTP_CLIENT_CLOSED_REQUEST);
        }
    }

    ngx_queue_init(&ready);

    ngx_http_runs_take_woken(zone, &ready);

    while (!ngx_queue_empty(&ready)) {
        q = ngx_queue_head(&ready);
        ngx_queue_remove(q);
        ngx_queue_init(q);

        ctx = ngx_queue_data(q, ngx_http_runs_ctx_t, held);

        if (ctx->kind != NGX_HTTP_RUNS_WAIT_LOG) {
            ngx_http_runs_release(ctx);
        }

        /* a log follower sends what came and is held again */
        ctx->ready = 0;
        ctx->answer(ctx);
    }
}


/* answers a held request now, with whatever there is */

void
ngx_http_runs_finish_held(ngx_http_runs_ctx_t *ctx)
{
    if (ctx->kind == NGX_HTTP_RUNS_WAIT_LOG) {
        /* a log follower's answer ends */
        ngx_http_runs_release(ctx);
        ctx->final = 1;
        ctx->answer(ctx);
        return;
    }

    if (ctx->waiter) {
        ctx->final = 1;
        ngx_http_runs_take(ctx);
    }

    ngx_http_runs_release(ctx);
    ctx->answer(ctx);
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

    if (timeout) {
        ngx_add_timer(&ctx->timer, timeout);
    }

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

void
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

    if (ctx->waiter) {
        ngx_http_runs_unwait(ctx);
    }

    ngx_http_runs_release(ctx);
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


/*
 * Looks at a held request's socket: NGX_OK, the client is there; NGX_AGAIN,
 * it pipelined a request (left for after the answer); NGX_ERROR, it has
 * gone (logged, the connection marked).
 */

static ngx_int_t
ngx_http_runs_probe(ngx_connection_t *c)
{
    int        n;
    char       buf[1];
    ngx_err_t  err;

    n = recv(c->fd, buf, 1, MSG_PEEK);
    err = ngx_socket_errno;

    if (n > 0) {
        return NGX_AGAIN;
    }

    if (n == -1 && err == NGX_EAGAIN) {
        return NGX_OK;
    }

    c->read->eof = 1;
    c->error = 1;

    ngx_log_error(NGX_LOG_INFO, c->log, err,
                  "client closed connection while its request was held");

    return NGX_ERROR;
}


static ngx_uint_t
ngx_http_runs_client_alive(ngx_http_request_t *r)
{
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

    return ngx_http_runs_probe(c) != NGX_ERROR;
}


static void
ngx_http_runs_check_broken(ngx_http_request_t *r)
{
    ngx_event_t       *ev;
    ngx_connection_t  *c;

    c = r->connection;
    ev = c->read;

    if (c->error) {
        /* an HTTP/2 stream reset or its connection gone, too */
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
        return;
    }

#if (NGX_HTTP_V2)
    if (r->stream) {
        return;
    }
#endif

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

    switch (ngx_http_runs_probe(c)) {

    case NGX_AGAIN:
        /* pipelined data: leave it for after the answer */
        if ((ngx_event_flags & NGX_USE_LEVEL_EVENT) && ev->active) {
            if (ngx_del_event(ev, NGX_READ_EVENT, 0) != NGX_OK) {
                ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            }
        }

        return;

    case NGX_OK:
        return;

    default:
        ngx_http_finalize_request(r, NGX_HTTP_CLIENT_CLOSED_REQUEST);
    }
}


void
ngx_http_runs_timer_handler(ngx_event_t *ev)
{
    ngx_uint_t                  i;
    ngx_queue_t                *q;
    ngx_http_runs_ctx_t        *ctx;
    ngx_http_runs_zone_t      **zp, *zone;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ev->data;

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {
        zone = zp[i];

        /* runner loss, claims not confirmed, retention */
        ngx_http_runs_maintain(zone, rmcf, ev->log);

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
