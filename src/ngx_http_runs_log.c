
/*
 * Run logs over HTTP: a runner posts pieces of a run's log
 * (POST /launcher/runs/{id}/log, in the runner API), a client reads it
 * (GET /runs/{id}/log) or follows it (?follow=1): the answer is chunked
 * and held, and each piece posted in any worker is sent as it arrives,
 * until the run has ended and every byte is sent.  A follower copies at
 * most one buffer of the log per turn under the zone's lock, and reads
 * again only once the client has taken what was sent.
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_FOLLOW_BUF    16384
#define NGX_HTTP_RUNS_FOLLOW_TIMER  3600000     /* ms */


static const char *ngx_http_runs_log_args(ngx_http_request_t *r,
    uint64_t *offset, ngx_uint_t *follow);
static ngx_int_t ngx_http_runs_log_headers(ngx_http_request_t *r,
    ngx_http_runs_logread_t *rd, ngx_uint_t follow);
static ngx_int_t ngx_http_runs_log_header(ngx_http_request_t *r,
    const char *key, u_char *value, size_t len);
static ngx_int_t ngx_http_runs_log_send(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, size_t n);
static ngx_int_t ngx_http_runs_log_follow(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, uint64_t id, uint64_t offset);
static void ngx_http_runs_follow_pump(ngx_http_runs_ctx_t *ctx);
static void ngx_http_runs_follow_write(ngx_http_request_t *r);
static void ngx_http_runs_follow_timer(ngx_event_t *ev);
static ngx_int_t ngx_http_runs_follow_wait_write(ngx_http_request_t *r);
static void ngx_http_runs_follow_end(ngx_http_runs_ctx_t *ctx,
    ngx_int_t rc);


/* GET /runs/{id}/log[?offset=N][&follow=1] */

ngx_int_t
ngx_http_runs_log_read(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                    id, offset;
    ngx_int_t                   rc;
    ngx_uint_t                  follow, refused;
    const char                 *err;
    ngx_buf_t                  *b;
    ngx_chain_t                 out;
    ngx_http_runs_logread_t     rd;
    ngx_http_runs_main_conf_t  *rmcf;

    err = ngx_http_runs_log_args(r, &offset, &follow);
    if (err) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                         "%s", err);
    }

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &id) != NGX_OK) {
        return ngx_http_runs_send_no_run(r);
    }

    if (follow && r->method != NGX_HTTP_HEAD) {
        return ngx_http_runs_log_follow(r, ctx, id, offset);
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    /* sized under the lock to what there is (HEAD: nothing is copied) */
    rd.data = NULL;

    switch (ngx_http_runs_store_log_read(ctx->zone, rmcf, NULL, id, offset,
                                         r->method == NGX_HTTP_HEAD
                                         ? 0 : rmcf->log_size,
                                         0, r->pool, &rd, &refused))
    {
    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_no_run(r);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* HEAD: the length GET would send */
    r->headers_out.content_length_n = (r->method == NGX_HTTP_HEAD)
                                      ? (off_t) ngx_min(rd.end - rd.start,
                                                        rmcf->log_size)
                                      : (off_t) rd.n;

    rc = ngx_http_runs_log_headers(r, &rd, 0);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = rd.data;
    b->last = rd.data + rd.n;
    b->memory = rd.n ? 1 : 0;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* NULL, or what is wrong with the query */

static const char *
ngx_http_runs_log_args(ngx_http_request_t *r, uint64_t *offset,
    ngx_uint_t *follow)
{
    off_t      n;
    ngx_str_t  v;

    *offset = 0;
    *follow = 0;

    if (ngx_http_runs_get_arg(r, "offset", 6, &v) == NGX_OK) {
        n = ngx_atoof(v.data, v.len);

        if (n == NGX_ERROR) {
            return "Query parameter 'offset' must be a non-negative integer";
        }

        *offset = (uint64_t) n;
    }

    if (ngx_http_runs_get_arg(r, "follow", 6, &v) == NGX_OK) {
        if (v.len == 1 && (v.data[0] == '0' || v.data[0] == '1')) {
            *follow = (v.data[0] == '1');

        } else if (v.len == 4 && ngx_strncmp(v.data, "true", 4) == 0) {
            *follow = 1;

        } else if (!(v.len == 5 && ngx_strncmp(v.data, "false", 5) == 0)) {
            return "Query parameter 'follow' must be 0 or 1";
        }
    }

    return NULL;
}


static ngx_int_t
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


/*
 * A follow: the first read (which may be refused, beyond
 * runs_max_follows) before the headers, then the pump.
 */

static ngx_int_t
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

    ctx->kind = NGX_HTTP_RUNS_WAIT_LOG;
    ctx->run_id = id;
    ctx->answer = ngx_http_runs_follow_pump;

    rd.data = ctx->chunk->start;
    refused = NGX_HTTP_RUNS_REFUSED_N;

    found = ngx_http_runs_store_log_read(ctx->zone, rmcf,
                                         ngx_exiting ? NULL : ctx, id,
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
        rc = ngx_http_runs_log_send(r, ctx, rd.n);
    }

    if (rc != NGX_ERROR && rc <= NGX_OK && rd.n == 0) {
        /* the headers go now, not with the first piece */
        rc = ngx_http_send_special(r, NGX_HTTP_FLUSH);
    }

    if (rc == NGX_ERROR || rc > NGX_OK) {
        /* not held yet: its waiter goes here */
        if (ctx->waiter) {
            ngx_http_runs_unwait(ctx);
        }

        return rc;
    }

    if (found == NGX_HTTP_RUNS_R_DONE && ctx->waiter == NULL
        && ctx->offset >= rd.end)
    {
        /* a finished run's whole log, or a worker shutting down */
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    rc = ngx_http_runs_hold(r, ctx, cln, 0);

    r->write_event_handler = ngx_http_runs_follow_write;

    /*
     * not cancelable: a worker shutting down stays until its timer has
     * ended its follows (an HTTP/2 stream is not an idle connection)
     */
    ctx->timer.handler = ngx_http_runs_follow_timer;
    ngx_add_timer(&ctx->timer, NGX_HTTP_RUNS_FOLLOW_TIMER);

    if (found == NGX_HTTP_RUNS_R_DONE) {
        /* more than one buffer to send: on with it once this one is out */
        ngx_post_event(r->connection->write, &ngx_posted_events);

    } else if ((r->connection->buffered || r->out)
               && ngx_http_runs_follow_wait_write(r) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return rc;
}


/* sends the n bytes read into ctx->chunk, flushed */

static ngx_int_t
ngx_http_runs_log_send(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    size_t n)
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

    return ngx_http_output_filter(r, &out);
}


/*
 * Sends what the run's log has beyond ctx->offset, a buffer at a time
 * while the client takes it; then waits: for the client (a write event),
 * or for more of the log (its waiter, woken by a doorbell).  Ends the
 * answer once the run has ended and every byte is sent, when the run is
 * removed, or when the worker shuts down (ctx->final).
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

    if (ctx->final || ngx_exiting) {
        ngx_http_runs_follow_end(ctx, NGX_OK);
        return;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    /* held while it goes on: a wake-up takes it out of zone->held */
    if (ngx_queue_empty(&ctx->held)) {
        ngx_queue_insert_tail(&ctx->zone->held, &ctx->held);
    }

    for ( ;; ) {

        if (c->buffered || r->out) {
            /* the buffer is still being sent */
            if (ngx_http_runs_follow_wait_write(r) != NGX_OK) {
                ngx_http_runs_follow_end(ctx, NGX_ERROR);
            }

            break;
        }

        rd.data = ctx->chunk->start;

        found = ngx_http_runs_store_log_read(ctx->zone, rmcf, ctx,
                                             ctx->run_id, ctx->offset,
                                             ctx->chunk->end
                                             - ctx->chunk->start,
                                             1, NULL, &rd, &refused);

        if (found != NGX_HTTP_RUNS_R_DONE && found != NGX_HTTP_RUNS_R_HOLD) {
            /* the run is gone (or, never, a cap refused its waiter) */
            ngx_http_runs_follow_end(ctx, NGX_OK);
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
            ngx_http_runs_follow_end(ctx, NGX_OK);
            break;
        }

        ctx->offset = rd.start + rd.n;

        rc = ngx_http_runs_log_send(r, ctx, rd.n);

        if (rc == NGX_ERROR) {
            ngx_http_runs_follow_end(ctx, NGX_ERROR);
            break;
        }

        if (found == NGX_HTTP_RUNS_R_DONE && ctx->offset >= rd.end) {
            /* the run has ended and its log is sent */
            ngx_http_runs_follow_end(ctx, NGX_OK);
            break;
        }

        if (found == NGX_HTTP_RUNS_R_HOLD) {
            /* every byte is out or on its way: wait for more */
            if ((c->buffered || r->out)
                && ngx_http_runs_follow_wait_write(r) != NGX_OK)
            {
                ngx_http_runs_follow_end(ctx, NGX_ERROR);
            }

            break;
        }
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_runs_follow_write(ngx_http_request_t *r)
{
    ngx_event_t          *wev;
    ngx_connection_t     *c;
    ngx_http_runs_ctx_t  *ctx;

    c = r->connection;
    wev = c->write;
    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "client timed out while following a run log");
        c->timedout = 1;
        ngx_http_runs_follow_end(ctx, NGX_HTTP_REQUEST_TIME_OUT);
        return;
    }

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_runs_follow_end(ctx, NGX_ERROR);
        return;
    }

    if (c->buffered || r->out) {
        if (ngx_http_runs_follow_wait_write(r) != NGX_OK) {
            ngx_http_runs_follow_end(ctx, NGX_ERROR);
        }

        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    /* sent: a level-triggered write event is not wanted any more */
    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_runs_follow_end(ctx, NGX_ERROR);
        return;
    }

    ngx_http_runs_follow_pump(ctx);
}


/* keeps an exiting worker until its follows are ended */

static void
ngx_http_runs_follow_timer(ngx_event_t *ev)
{
    ngx_http_runs_ctx_t  *ctx;

    ctx = ev->data;

    if (ngx_exiting) {
        ngx_http_runs_finish_held(ctx);
        return;
    }

    ngx_add_timer(ev, NGX_HTTP_RUNS_FOLLOW_TIMER);
}


/* a write event when the socket takes more, within send_timeout */

static ngx_int_t
ngx_http_runs_follow_wait_write(ngx_http_request_t *r)
{
    ngx_event_t               *wev;
    ngx_http_core_loc_conf_t  *clcf;

    wev = r->connection->write;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (!wev->delayed && !wev->timer_set) {
        ngx_add_timer(wev, clcf->send_timeout);
    }

    return ngx_handle_write_event(wev, clcf->send_lowat);
}


static void
ngx_http_runs_follow_end(ngx_http_runs_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_request_t  *r;

    r = ctx->request;

    ngx_http_runs_release(ctx);

    if (ctx->waiter) {
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


/* POST /launcher/runs/{id}/log {"launcher_id", "offset", "data"} */

ngx_int_t
ngx_http_runs_log_append(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    off_t                       offset;
    u_char                     *p;
    uint64_t                    lid, rid, end;
    ngx_int_t                   rc;
    ngx_str_t                   err, data, *rid_text;
    ngx_uint_t                  found;
    ngx_http_runs_out_t         o;
    ngx_http_runs_field_t       f[3];
    ngx_http_runs_main_conf_t  *rmcf;

    f[1].key = "offset";
    f[2].key = "data";

    if (ngx_http_runs_launcher_body(r, body, f, 3, &lid, &rc) != NGX_OK) {
        return rc;
    }

    offset = NGX_ERROR;

    if (f[1].type == NGX_HTTP_RUNS_JSON_INTEGER && f[1].value.len
        && f[1].value.data[0] != '-')
    {
        offset = ngx_atoof(f[1].value.data, f[1].value.len);
    }

    if (offset == NGX_ERROR) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "Field 'offset' must be a non-negative integer");
    }

    if (ngx_http_runs_field_str(r->pool, &f[2], 1, &data, &err) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                         "%V", &err);
    }

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &rid) != NGX_OK) {
        rid = (uint64_t) -1;
    }

    rid_text = &ctx->path_id;
    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    end = 0;

    found = ngx_http_runs_store_log_append(ctx->zone, lid, rid,
                                           (uint64_t) offset, &data,
                                           rmcf->log_size, &end);

    switch (found) {

    case NGX_HTTP_RUNS_R_DONE:
        ngx_http_runs_out_init(&o, r->pool, 64);
        p = ngx_http_runs_out_reserve(&o, 64);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_runs_out_commit(&o, ngx_sprintf(p,
                                 "{\"ok\": true, \"offset\": %uL}", end));

        return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);

    case NGX_HTTP_RUNS_R_GAP:
        ngx_http_runs_out_init(&o, r->pool, 160);
        p = ngx_http_runs_out_reserve(&o, 160);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_runs_out_commit(&o, ngx_sprintf(p,
                                 "{\"detail\": \"Log gap: the log of %V "
                                 "ends at %uL, not %O\", \"offset\": %uL}",
                                 rid_text, end, offset, end));

        return ngx_http_runs_send_out(r, NGX_HTTP_CONFLICT, &o);

    case NGX_HTTP_RUNS_R_NO_LAUNCHER:
        return ngx_http_runs_send_no_launcher(r);

    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_no_run(r);

    case NGX_HTTP_RUNS_R_FINISHED:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V has ended: its log is closed", rid_text);

    case NGX_HTTP_RUNS_R_OTHER_HOLDER:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is held by another launcher", rid_text);

    case NGX_HTTP_RUNS_R_NOT_HELD:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is held by no launcher", rid_text);

    default: /* NGX_HTTP_RUNS_R_REFUSED */
        return ngx_http_runs_send_refused(r, ctx->zone,
                                          NGX_HTTP_RUNS_REFUSED_FULL);
    }
}
