
/*
 * Held requests, the HTTP side: one machine for every kind of held
 * request (ngx_http_runs_held_kind_t: runner polls, ?wait=, log follows).
 * A request with nothing to answer yet is held (r->main->count++,
 * NGX_DONE) with a timer and a pool cleanup, and a waiter in the zone; a
 * client that leaves is noticed at once; a worker woken by its doorbell
 * has the store take its woken waiters (their answers computed under the
 * lock, a claim among them) and answers each through its kind.  A stream
 * kind (a log follow) is answered many times: between answers it waits
 * for the client to take what was sent (send_timeout) or for the next
 * wake-up, and an hourly timer keeps a worker that shuts down until its
 * streams have ended.
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_STREAM_TIMER  3600000     /* ms */


static void ngx_http_runs_hold_cleanup(void *data);
static void ngx_http_runs_hold_timeout(ngx_event_t *ev);
static void ngx_http_runs_stream_timer(ngx_event_t *ev);
static void ngx_http_runs_held_read(ngx_event_t *rev);
static void ngx_http_runs_held_write(ngx_http_request_t *r);
static void ngx_http_runs_check_broken(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_probe(ngx_connection_t *c);
static ngx_uint_t ngx_http_runs_client_alive(ngx_http_request_t *r);


ngx_int_t
ngx_http_runs_hold(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_held_kind_t *kind, ngx_pool_cleanup_t *cln,
    ngx_msec_t timeout)
{
    ngx_connection_t  *c;

    c = r->connection;

    ctx->held = kind;

    cln->handler = ngx_http_runs_hold_cleanup;
    cln->data = ctx;

    ctx->timer.data = ctx;
    ctx->timer.log = c->log;

    if (kind->stream) {
        /*
         * not cancelable: a worker shutting down stays until this timer
         * has ended the stream (an HTTP/2 stream is not an idle
         * connection that nginx closes itself)
         */
        ctx->timer.handler = ngx_http_runs_stream_timer;
        ngx_add_timer(&ctx->timer, NGX_HTTP_RUNS_STREAM_TIMER);

    } else if (timeout) {
        ctx->timer.handler = ngx_http_runs_hold_timeout;
        ngx_add_timer(&ctx->timer, timeout);
    }

    ngx_queue_insert_tail(&ctx->zone->held, &ctx->hold.queue);
    ctx->holding = 1;

    r->read_event_handler = ngx_http_runs_check_broken;
    r->write_event_handler = kind->stream ? ngx_http_runs_held_write
                                          : ngx_http_request_empty_handler;

    /* a worker that starts shutting down calls us with c->close set */
    if (!kind->patient
#if (NGX_HTTP_V2)
        && r->stream == NULL
#endif
        )
    {
        ctx->saved_read = c->read->handler;
        c->read->handler = ngx_http_runs_held_read;
        c->idle = 1;
    }

    r->main->count++;

    return NGX_DONE;
}


/*
 * This worker's doorbell rang (or its timer looks): the store takes the
 * woken waiters, each is answered by its kind.
 */

void
ngx_http_runs_held_wake(ngx_http_runs_zone_t *zone)
{
    ngx_queue_t          *q, *next, ready;
    ngx_http_runs_ctx_t  *ctx;

    if (ngx_queue_empty(&zone->held)) {
        return;
    }

    /*
     * A poll whose client has gone must not be handed a run: look at the
     * sockets of the woken requests of such kinds before anything is
     * taken for them.  The state is read without the lock; one woken
     * meanwhile is looked at on its own doorbell.
     */

    for (q = ngx_queue_head(&zone->held);
         q != ngx_queue_sentinel(&zone->held);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_http_runs_hold_ctx(ngx_queue_data(q, ngx_http_runs_hold_t,
                                                    queue));

        if (ctx->held->probe && ngx_http_runs_store_woken(&ctx->hold)
            && !ngx_http_runs_client_alive(ctx->request))
        {
            ngx_http_finalize_request(ctx->request,
                                      NGX_HTTP_CLIENT_CLOSED_REQUEST);
        }
    }

    ngx_queue_init(&ready);

    ngx_http_runs_store_take_woken(zone, &ready);

    while (!ngx_queue_empty(&ready)) {
        q = ngx_queue_head(&ready);
        ngx_queue_remove(q);
        ngx_queue_init(q);

        ctx = ngx_http_runs_hold_ctx(ngx_queue_data(q, ngx_http_runs_hold_t,
                                                    queue));
        ctx->hold.ready = 0;

        if (ctx->held->stream) {
            /* held on between its answers */
            ngx_queue_insert_tail(&zone->held, &ctx->hold.queue);

        } else {
            ngx_http_runs_release(ctx);
        }

        ctx->held->answer(ctx);
    }
}


/* answers a held request now, with whatever there is */

void
ngx_http_runs_held_finish(ngx_http_runs_ctx_t *ctx)
{
    ctx->hold.final = 1;

    if (!ctx->held->stream && ctx->hold.waiter) {
        ngx_http_runs_store_take(ctx->zone, &ctx->hold);
    }

    ngx_http_runs_release(ctx);
    ctx->held->answer(ctx);
}


/* a worker that exits answers everything it holds */

void
ngx_http_runs_held_finish_all(ngx_http_runs_zone_t *zone)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(&zone->held)) {
        q = ngx_queue_head(&zone->held);
        ngx_http_runs_held_finish(ngx_http_runs_hold_ctx(
                                  ngx_queue_data(q, ngx_http_runs_hold_t,
                                                 queue)));
    }
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

    if (!ngx_queue_empty(&ctx->hold.queue)) {
        ngx_queue_remove(&ctx->hold.queue);
        ngx_queue_init(&ctx->hold.queue);
    }
}


/* a request that ends without (another) answer: its waiter goes */

void
ngx_http_runs_unwait(ngx_http_runs_ctx_t *ctx)
{
    ngx_http_runs_store_unwait(ctx->zone, &ctx->hold);
}


static void
ngx_http_runs_hold_cleanup(void *data)
{
    ngx_http_runs_ctx_t *ctx = data;

    if (ctx->hold.waiter) {
        ngx_http_runs_unwait(ctx);
    }

    ngx_http_runs_release(ctx);

    if (ctx->held && ctx->held->cleanup) {
        ctx->held->cleanup(ctx);
    }
}


static void
ngx_http_runs_hold_timeout(ngx_event_t *ev)
{
    ngx_http_runs_held_finish(ev->data);
}


/* keeps an exiting worker until its streams are ended */

static void
ngx_http_runs_stream_timer(ngx_event_t *ev)
{
    if (ngx_exiting) {
        ngx_http_runs_held_finish(ev->data);
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_RUNS_STREAM_TIMER);
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
        ngx_http_runs_held_finish(ctx);
        return;
    }

    if (ctx && ctx->saved_read) {
        ctx->saved_read(rev);
    }
}


/* a write event when the socket takes more, within send_timeout */

ngx_int_t
ngx_http_runs_held_wait_write(ngx_http_runs_ctx_t *ctx)
{
    ngx_event_t               *wev;
    ngx_http_request_t        *r;
    ngx_http_core_loc_conf_t  *clcf;

    r = ctx->request;
    wev = r->connection->write;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (!wev->delayed && !wev->timer_set) {
        ngx_add_timer(wev, clcf->send_timeout);
    }

    return ngx_handle_write_event(wev, clcf->send_lowat);
}


/* a stream's client took what was sent: its kind goes on */

static void
ngx_http_runs_held_write(ngx_http_request_t *r)
{
    ngx_event_t          *wev;
    ngx_connection_t     *c;
    ngx_http_runs_ctx_t  *ctx;

    c = r->connection;
    wev = c->write;
    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "client timed out while taking a held stream");
        c->timedout = 1;
        ngx_http_runs_held_end(ctx, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_runs_held_end(ctx, NGX_ERROR);
        return;
    }

    if (c->buffered || r->out) {
        if (ngx_http_runs_held_wait_write(ctx) != NGX_OK) {
            ngx_http_runs_held_end(ctx, NGX_ERROR);
        }

        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    /* sent: a level-triggered write event is not wanted any more */
    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_runs_held_end(ctx, NGX_ERROR);
        return;
    }

    ctx->held->answer(ctx);
}


/* a stream ends: NGX_OK sends its last piece */

void
ngx_http_runs_held_end(ngx_http_runs_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    ngx_http_runs_release(ctx);

    if (ctx->hold.waiter) {
        ngx_http_runs_unwait(ctx);
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    if (r->connection->write->timer_set) {
        ngx_del_timer(r->connection->write);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    ngx_http_finalize_request(r, rc);
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
