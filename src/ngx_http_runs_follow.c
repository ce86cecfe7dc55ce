
/*
 * A log follow (GET /runs/{id}/log?follow=1), a stream kind of held
 * request: the answer is chunked, and each piece posted in any worker is
 * sent as it arrives, until the run has ended and every byte is sent.  A
 * follower copies at most one buffer of the log per turn under the zone's
 * lock, and reads again only once the client has taken what was sent.
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_FOLLOW_BUF  16384


static ngx_int_t ngx_http_runs_follow_send(ngx_http_runs_ctx_t *ctx,
    size_t n);
static void ngx_http_runs_follow_pump(ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_log_header(ngx_http_request_t *r,
    const char *key, u_char *value, size_t len);


/* answered many times: each wake-up, each time the client took a piece */
ngx_http_runs_held_kind_t  ngx_http_runs_held_follow = {
    NGX_HTTP_RUNS_WAIT_LOG,
    ngx_http_runs_follow_pump,
    NULL,
    0,
    1,
    0
};


/*
 * A follow: the first read (which may be refused, beyond
 * runs_max_follows) before the headers, then the pump.
 */

ngx_int_t
ngx_http_runs_log_follow(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    uint64_t id, uint64_t offset)
{
    size_t                      size;
    ngx_int_t                   rc;
    ngx_uint_t                  found, refused;
    ngx_pool_cleanup_t         *cln;
    ngx_http_runs_logread_t     rd;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = ngx_min(rmcf->log_size, NGX_HTTP_RUNS_FOLLOW_BUF);

    ctx->chunk = ngx_create_temp_buf(r->pool, size);
    if (ctx->chunk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->hold.kind = NGX_HTTP_RUNS_WAIT_LOG;
    ctx->run_id = id;

    rd.data = ctx->chunk->start;
    refused = NGX_HTTP_RUNS_REFUSED_N;

    found = ngx_http_runs_store_log_read(ctx->zone, &rmcf->limits,
                                         ngx_exiting ? NULL : &ctx->hold, id,
                                         offset, size, !ngx_exiting, r->pool,
                                         &rd, &refused);

    if (found == NGX_HTTP_RUNS_R_NO_RUN) {
        return ngx_http_runs_send_no_run(r);
    }

    if (found == NGX_HTTP_RUNS_R_REFUSED) {
        return ngx_http_runs_send_refused(r, ctx->zone, refused);
    }

    ctx->offset = rd.start + rd.n;

    /* no length: chunked, or until the connection closes (HTTP/1.0) */

    rc = ngx_http_runs_log_headers(r, &rd, 1);

    if (rc != NGX_ERROR && rc <= NGX_OK) {
        rc = ngx_http_runs_follow_send(ctx, rd.n);
    }

    if (rc != NGX_ERROR && rc <= NGX_OK && rd.n == 0) {
        /* the headers go now, not with the first piece */
        rc = ngx_http_send_special(r, NGX_HTTP_FLUSH);
    }

    if (rc == NGX_ERROR || rc > NGX_OK) {
        /* not held yet: its waiter goes here */
        if (ctx->hold.waiter) {
            ngx_http_runs_unwait(ctx);
        }

        return rc;
    }

    if (found == NGX_HTTP_RUNS_R_DONE && ctx->hold.waiter == NULL
        && ctx->offset >= rd.end)
    {
        /* a finished run's whole log, or a worker shutting down */
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    rc = ngx_http_runs_hold(r, ctx, &ngx_http_runs_held_follow, cln, 0);

    if (found == NGX_HTTP_RUNS_R_DONE) {
        /* more than one buffer to send: on with it once this one is out */
        ngx_post_event(r->connection->write, &ngx_posted_events);

    } else if ((r->connection->buffered || r->out)
               && ngx_http_runs_held_wait_write(ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return rc;
}


/* sends the n bytes read into ctx->chunk, flushed */

static ngx_int_t
ngx_http_runs_follow_send(ngx_http_runs_ctx_t *ctx, size_t n)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (n == 0) {
        return NGX_OK;
    }

    b = ctx->chunk;

    b->pos = b->start;
    b->last = b->start + n;
    b->temporary = 1;
    b->flush = 1;
    b->last_buf = 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(ctx->request, &out);
}


/*
 * Sends what the run's log has beyond ctx->offset, a buffer at a time
 * while the client takes it; then waits: for the client (a write event),
 * or for more of the log (its waiter, woken by a doorbell).  Ends the
 * answer once the run has ended and every byte is sent, when the run is
 * removed, or when the worker shuts down (ctx->hold.final).
 */

static void
ngx_http_runs_follow_pump(ngx_http_runs_ctx_t *ctx)
{
    ngx_int_t                   rc;
    ngx_uint_t                  found, refused;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_runs_logread_t     rd;
    ngx_http_runs_main_conf_t  *rmcf;

    r = ctx->request;
    c = r->connection;

    if (ctx->hold.final || ngx_exiting) {
        ngx_http_runs_held_end(ctx, NGX_OK);
        return;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    for ( ;; ) {

        if (c->buffered || r->out) {
            /* the buffer is still being sent */
            if (ngx_http_runs_held_wait_write(ctx) != NGX_OK) {
                ngx_http_runs_held_end(ctx, NGX_ERROR);
            }

            break;
        }

        rd.data = ctx->chunk->start;

        found = ngx_http_runs_store_log_read(ctx->zone, &rmcf->limits,
                                             &ctx->hold, ctx->run_id,
                                             ctx->offset,
                                             ctx->chunk->end
                                             - ctx->chunk->start,
                                             1, NULL, &rd, &refused);

        if (found != NGX_HTTP_RUNS_R_DONE && found != NGX_HTTP_RUNS_R_HOLD) {
            /* the run is gone (or, never, a cap refused its waiter) */
            ngx_http_runs_held_end(ctx, NGX_OK);
            break;
        }

        if (rd.start > ctx->offset) {
            /*
             * the ring overtook this client: the answer ends, and one
             * asked again from its offset says where the log goes on
             */
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "runs: a log follower fell behind the ring "
                          "(byte %uL, oldest kept %uL): its answer ends",
                          ctx->offset, rd.start);
            ngx_http_runs_held_end(ctx, NGX_OK);
            break;
        }

        ctx->offset = rd.start + rd.n;

        rc = ngx_http_runs_follow_send(ctx, rd.n);

        if (rc == NGX_ERROR) {
            ngx_http_runs_held_end(ctx, NGX_ERROR);
            break;
        }

        if (found == NGX_HTTP_RUNS_R_DONE && ctx->offset >= rd.end) {
            /* the run has ended and its log is sent */
            ngx_http_runs_held_end(ctx, NGX_OK);
            break;
        }

        if (found == NGX_HTTP_RUNS_R_HOLD) {
            /* every byte is out or on its way: wait for more */
            if ((c->buffered || r->out)
                && ngx_http_runs_held_wait_write(ctx) != NGX_OK)
            {
                ngx_http_runs_held_end(ctx, NGX_ERROR);
            }

            break;
        }
    }

    ngx_http_run_posted_requests(c);
}


/* the headers of a log answer, a read's or a follow's */


ngx_int_t
ngx_http_runs_log_headers(ngx_http_request_t *r, ngx_http_runs_logread_t *rd,
    ngx_uint_t follow)
{
    u_char           *p;
    const ngx_str_t  *status;

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "text/plain; charset=utf-8");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

    p = ngx_pnalloc(r->pool, 2 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    status = &ngx_http_runs_status_names[rd->status];

    if (ngx_http_runs_log_header(r, "X-Log-Offset", p,
                                 ngx_sprintf(p, "%uL", rd->start) - p)
        != NGX_OK
        || ngx_http_runs_log_header(r, "X-Run-Status", status->data,
                                    status->len)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    p += NGX_INT64_LEN;

    if (rd->evicted
        && ngx_http_runs_log_header(r, "X-Log-Evicted", (u_char *) "true", 4)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (follow) {
        /* a proxy in front passes the pieces on as they come */
        if (ngx_http_runs_log_header(r, "X-Accel-Buffering",
                                     (u_char *) "no", 2)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

    } else if (ngx_http_runs_log_header(r, "X-Log-End", p,
                                        ngx_sprintf(p, "%uL", rd->end) - p)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_send_header(r);
}



static ngx_int_t
ngx_http_runs_log_header(ngx_http_request_t *r, const char *key,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = value;
    h->value.len = len;

    return NGX_OK;
}
