
/*
 * The request layer: finds the endpoint a request is for in its API
 * group's route table, reads its body (in memory, from a temp file,
 * chunked), and holds the answers every group shares: the errors, the
 * one 503 with its throttled log line, a run, {"ok": true}.  Each API
 * group lives in a file of its own (ngx_http_runs_client.c,
 * ngx_http_runs_runner.c, ngx_http_runs_launchers.c) and exports its
 * route table.
 */


#include "ngx_http_runs.h"


static ngx_http_runs_route_t *ngx_http_runs_route(ngx_http_request_t *r,
    ngx_http_runs_loc_conf_t *rlcf, ngx_str_t *id, ngx_uint_t *allowed);
static void ngx_http_runs_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_confine(ngx_http_request_t *r,
    ngx_http_runs_loc_conf_t *rlcf, ngx_http_runs_ctx_t *ctx, ngx_int_t *rc);
static ngx_int_t ngx_http_runs_read_body(ngx_http_request_t *r,
    ngx_str_t *body);


ngx_int_t
ngx_http_runs_handler(ngx_http_request_t *r)
{
    char                      *detail;
    ngx_int_t                  rc;
    ngx_str_t                  id;
    ngx_uint_t                 allowed;
    ngx_http_runs_ctx_t       *ctx;
    ngx_http_runs_route_t     *rt;
    ngx_http_runs_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);

    if (r != r->main) {
        return NGX_HTTP_NOT_FOUND;
    }

    rt = ngx_http_runs_route(r, rlcf, &id, &allowed);

    if (rt == NULL) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            r->keepalive = 0;
        }

        if (allowed) {
            return ngx_http_runs_send_not_allowed(r, allowed);
        }

        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND, "Not found");
    }

    if (ngx_http_runs_store_retired(rlcf->zone)) {
        /* a resized zone replaced this one: its new workers answer */
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            r->keepalive = 0;
        }

        r->keepalive = 0;

        if (ngx_http_runs_add_retry_after(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "The coordinator is being reconfigured: ask again");
    }

    /*
     * a change the journal cannot take is refused before it is made
     * (heartbeats are not written to it)
     */
    if (rt->method != NGX_HTTP_GET && rt->handler != ngx_http_runs_heartbeat) {
        detail = ngx_http_runs_journal_refusal(rlcf->zone);

        if (detail) {
            if (ngx_http_discard_request_body(r) != NGX_OK) {
                r->keepalive = 0;
            }

            if (ngx_http_runs_add_retry_after(r) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             detail);
        }
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_runs_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->zone = rlcf->zone;
    ctx->route = rt;
    ctx->event = rt->event;
    ctx->path_id = id;
    ctx->hold.pool = r->pool;
    ngx_queue_init(&ctx->hold.queue);

    if (ctx->zone->journal) {
        ctx->jmark = ctx->zone->journal->staged;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_runs_module);

    if (ngx_http_runs_confine(r, rlcf, ctx, &rc) != NGX_OK) {
        return rc;
    }

    if (!rt->body) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return rt->handler(r, ctx, NULL);
    }

    /*
     * a body over client_max_body_size never gets here: nginx answers 413
     * itself, before the content phase (with a length) or while reading
     */

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_runs_body_handler);

    if (rc < NGX_HTTP_SPECIAL_RESPONSE) {
        rc = NGX_DONE;
    }

    return rc;
}


/*
 * runs_scope: the clients of the client, sessions and events APIs are
 * confined to
 * the sessions of their scope value (docs/SECURITY.md); a runner that
 * registers there takes the runs of that scope only.  NGX_OK; else the
 * request has been answered (403 when the value is empty or too long) and
 * *rc is what to return.
 */

static ngx_int_t
ngx_http_runs_confine(ngx_http_request_t *r, ngx_http_runs_loc_conf_t *rlcf,
    ngx_http_runs_ctx_t *ctx, ngx_int_t *rc)
{
    ngx_str_t  v;

    /* a runner's registration takes its location's scope, once for all */
    if (rlcf->scope == NULL
        || (rlcf->routes != ngx_http_runs_client_routes
            && rlcf->routes != ngx_http_runs_sessions_routes
            && rlcf->routes != ngx_http_runs_events_routes
            && rlcf->routes != ngx_http_runs_mcp_routes
            && ctx->route->handler != ngx_http_runs_register))
    {
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, rlcf->scope, &v) != NGX_OK) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NGX_ERROR;
    }

    if (v.len == 0 || v.len > NGX_HTTP_RUNS_SCOPE_MAX) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            r->keepalive = 0;
        }

        *rc = ngx_http_runs_send_detail(r, NGX_HTTP_FORBIDDEN,
                  "No scope for this client: runs_scope is empty (or "
                  "longer than %d bytes) here", NGX_HTTP_RUNS_SCOPE_MAX);
        return NGX_ERROR;
    }

    ngx_http_runs_store_scope_key(ctx->zone, &v, ctx->scope_key);
    ctx->scope = ctx->scope_key;

    return NGX_OK;
}


/*
 * Splits the path below the location's prefix into at most three
 * non-empty segments and finds the route with that shape (an empty
 * segment in a route is an id) and the request's method; HEAD goes where
 * GET does.  NULL: no route; *allowed then has the methods the path
 * takes (0: an unknown path).
 */

static ngx_http_runs_route_t *
ngx_http_runs_route(ngx_http_request_t *r, ngx_http_runs_loc_conf_t *rlcf,
    ngx_str_t *id, ngx_uint_t *allowed)
{
    u_char                 *p, *last, *slash;
    ngx_str_t               seg[3], any;
    ngx_uint_t              n, i, method;
    ngx_http_runs_route_t  *rt;

    *allowed = 0;
    id->len = 0;
    id->data = NULL;

    if (r->uri.len < rlcf->prefix.len) {
        return NULL;
    }

    p = r->uri.data + rlcf->prefix.len;
    last = r->uri.data + r->uri.len;

    if (p < last && *p != '/') {
        /* "/runsfoo" under "location /runs" */
        return NULL;
    }

    n = 0;

    while (p < last) {
        p++;                                        /* the slash */

        if (p == last) {
            break;                                  /* trailing slash */
        }

        if (n == 3) {
            return NULL;
        }

        slash = ngx_strlchr(p, last, '/');
        if (slash == NULL) {
            slash = last;
        }

        if (slash == p) {
            return NULL;
        }

        seg[n].data = p;
        seg[n].len = slash - p;
        n++;

        p = slash;
    }

    method = (r->method == NGX_HTTP_HEAD) ? NGX_HTTP_GET : r->method;

    for (rt = rlcf->routes; rt->handler; rt++) {

        if (rt->nseg != n) {
            continue;
        }

        any.len = 0;
        any.data = NULL;

        for (i = 0; i < n; i++) {
            if (rt->seg[i].len == 0) {
                any = seg[i];
                continue;
            }

            if (rt->seg[i].len != seg[i].len
                || ngx_strncmp(rt->seg[i].data, seg[i].data, seg[i].len) != 0)
            {
                break;
            }
        }

        if (i < n) {
            continue;
        }

        *allowed |= rt->method;

        if (rt->method == method) {
            *id = any;
            return rt;
        }
    }

    return NULL;
}


ngx_int_t
ngx_http_runs_send_not_allowed(ngx_http_request_t *r, ngx_uint_t allowed)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, PATCH, DELETE, "));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = p;

    if (allowed & NGX_HTTP_GET) {
        p = ngx_cpymem(p, "GET, HEAD, ", sizeof("GET, HEAD, ") - 1);
    }

    if (allowed & NGX_HTTP_POST) {
        p = ngx_cpymem(p, "POST, ", sizeof("POST, ") - 1);
    }

    if (allowed & NGX_HTTP_PATCH) {
        p = ngx_cpymem(p, "PATCH, ", sizeof("PATCH, ") - 1);
    }

    if (allowed & NGX_HTTP_DELETE) {
        p = ngx_cpymem(p, "DELETE, ", sizeof("DELETE, ") - 1);
    }

    /* without the last ", " */
    h->value.len = (p > h->value.data) ? p - h->value.data - 2 : 0;

    return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_ALLOWED,
                                     "Method not allowed");
}


static void
ngx_http_runs_body_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_str_t             body;
    ngx_http_runs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    if (ngx_http_runs_read_body(r, &body) != NGX_OK) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ctx->route->handler(r, ctx, &body);
    }

    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_runs_read_body(ngx_http_request_t *r, ngx_str_t *body)
{
    u_char       *p;
    off_t         len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    body->len = 0;
    body->data = (u_char *) "";

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        /*
         * a chunked body ends with an empty buffer that is neither in
         * memory nor in a file (last_buf only)
         */
        if (ngx_buf_size(b) == 0) {
            continue;
        }

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file || b->file == NULL) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "runs: a request body buffer is neither in memory "
                          "nor in a file");
            return NGX_ERROR;
        }

        /* a body larger than client_body_buffer_size went to a temp file */
        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "runs: reading the request body from \"%V\" "
                          "failed", &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    *p = '\0';

    return NGX_OK;
}


/* NGX_OK: found and unescaped; NGX_DECLINED: absent */

ngx_int_t
ngx_http_runs_get_arg(ngx_http_request_t *r, char *name, size_t len,
    ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(r, (u_char *) name, len, &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    dst = ngx_pnalloc(r->pool, raw.len);
    if (dst == NULL && raw.len) {
        return NGX_ERROR;
    }

    value->data = dst;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);

    value->len = dst - value->data;

    return NGX_OK;
}


/* a listing's ?limit=: 1..NGX_HTTP_RUNS_LIST_MAX, or the default */

ngx_int_t
ngx_http_runs_get_limit(ngx_http_request_t *r, ngx_int_t *limit)
{
    ngx_str_t  v;

    *limit = NGX_HTTP_RUNS_LIST_DEFAULT;

    if (ngx_http_runs_get_arg(r, "limit", 5, &v) != NGX_OK) {
        return NGX_OK;
    }

    *limit = ngx_atoi(v.data, v.len);

    return (*limit >= 1 && *limit <= NGX_HTTP_RUNS_LIST_MAX) ? NGX_OK
                                                              : NGX_ERROR;
}


/*
 * Counts a refusal in the zone and logs it: one line per reason per 10 s,
 * whichever worker refuses, with the count since the last line.
 */

void
ngx_http_runs_refused(ngx_http_runs_zone_t *zone, ngx_uint_t reason,
    ngx_log_t *log)
{
    ngx_atomic_uint_t           n;
    ngx_http_runs_main_conf_t  *rmcf;

    static const char  *why[] = {
        "is full and holds no finished run to evict; enlarge runs_zone",
        "holds runs_max_waiters requests already; raise runs_max_waiters",
        "holds runs_max_polls runner polls already; raise runs_max_polls",
        "holds runs_max_waits ?wait= requests already; raise runs_max_waits",
        "holds runs_max_follows log follows already; raise runs_max_follows",
        "holds runs_max_streams event streams already; raise runs_max_streams"
    };

    n = ngx_http_runs_store_refusal(zone, reason);

    if (n == 0) {
        return;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_runs_module);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "runs_zone \"%V\" (%uz bytes) %s: %uA request%s refused "
                  "with 503 since the last such line (limits: %ui held, "
                  "%ui polls, %ui waits, %ui follows, %ui streams)",
                  &zone->name, zone->size, why[reason], n, n == 1 ? "" : "s",
                  rmcf ? rmcf->limits.max_waiters : 0,
                  rmcf ? rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_POLL] : 0,
                  rmcf ? rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_RUN] : 0,
                  rmcf ? rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_LOG] : 0,
                  rmcf ? rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_EVENTS] : 0);
}


/* "Retry-After: 1", for an answer that asks the client to come again */

ngx_int_t
ngx_http_runs_add_retry_after(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, "1");

    return NGX_OK;
}


/* the one 503 answer: the reason for the client, a throttled log line */

ngx_int_t
ngx_http_runs_send_refused(ngx_http_request_t *r, ngx_http_runs_zone_t *zone,
    ngx_uint_t reason)
{
    ngx_http_runs_refused(zone, reason, r->connection->log);

    if (ngx_http_runs_add_retry_after(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    switch (reason) {

    case NGX_HTTP_RUNS_REFUSED_FULL:
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Run store is full: no finished run is left to evict; "
                   "enlarge runs_zone \"%V\"", &zone->name);

    case NGX_HTTP_RUNS_REFUSED_POLLS:
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Too many held runner polls (runs_max_polls): retry later");

    case NGX_HTTP_RUNS_REFUSED_WAITS:
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Too many held ?wait= requests (runs_max_waits): retry "
                   "later");

    case NGX_HTTP_RUNS_REFUSED_FOLLOWS:
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Too many held log follows (runs_max_follows): retry "
                   "later");

    case NGX_HTTP_RUNS_REFUSED_STREAMS:
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Too many event streams (runs_max_streams): retry later");

    default:
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Too many held requests (runs_max_waiters): retry later");
    }
}


ngx_int_t
ngx_http_runs_send_run(ngx_http_request_t *r, ngx_http_runs_snap_t *snap)
{
    ngx_http_runs_out_t  o;

    ngx_http_runs_out_init(&o, r->pool, ngx_http_runs_snap_size(snap));
    ngx_http_runs_out_run(&o, snap);

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


ngx_int_t
ngx_http_runs_send_ok(ngx_http_request_t *r)
{
    static u_char  ok[] = "{\"ok\":true}\n";

    return ngx_http_runs_send_body(r, NGX_HTTP_OK, ok, sizeof(ok) - 1);
}


ngx_int_t
ngx_http_runs_send_no_run(ngx_http_request_t *r)
{
    return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND, "Run not found");
}


ngx_int_t
ngx_http_runs_send_no_launcher(ngx_http_request_t *r)
{
    return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                                     "Launcher not registered");
}
