
/*
 * The HTTP API: routing below each handler's location, request bodies,
 * and one function per endpoint.  Each endpoint parses and checks its
 * input first, takes the zone's lock once for the in-memory work, copies
 * what the answer needs into the request pool, and encodes after the
 * lock is released.
 */


#include "ngx_http_runs.h"


typedef enum {
    NGX_HTTP_RUNS_EP_LIST = 1,
    NGX_HTTP_RUNS_EP_CREATE,
    NGX_HTTP_RUNS_EP_GET,
    NGX_HTTP_RUNS_EP_STOP,
    NGX_HTTP_RUNS_EP_REGISTER,
    NGX_HTTP_RUNS_EP_POLL,
    NGX_HTTP_RUNS_EP_EVENT,
    NGX_HTTP_RUNS_EP_HEARTBEAT,
    NGX_HTTP_RUNS_EP_LAUNCHERS,
    NGX_HTTP_RUNS_EP_DELETE
} ngx_http_runs_ep_e;


typedef struct {
    ngx_uint_t                 endpoint;
    ngx_uint_t                 method;
    ngx_str_t                  allow;
    ngx_str_t                  id;
    ngx_uint_t                 event;
} ngx_http_runs_route_t;


static ngx_int_t ngx_http_runs_route(ngx_http_request_t *r,
    ngx_http_runs_loc_conf_t *rlcf, ngx_http_runs_route_t *rt);
static void ngx_http_runs_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_read_body(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_runs_dispatch(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_get_arg(ngx_http_request_t *r, char *name,
    size_t len, ngx_str_t *value);
static ngx_int_t ngx_http_runs_create(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_list(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_get(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_stop(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_register(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_poll(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_event(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_heartbeat(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_launchers(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_delete(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_send_poll(ngx_http_request_t *r,
    ngx_http_runs_poll_t *p);
static ngx_int_t ngx_http_runs_send_run(ngx_http_request_t *r,
    ngx_http_runs_snap_t *snap);
static ngx_int_t ngx_http_runs_send_ok(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_send_refused(ngx_http_request_t *r,
    ngx_http_runs_zone_t *zone, ngx_uint_t reason);


static const char  ngx_http_runs_created[] =
    "{\"run_id\": \"%*s\", \"status\": \"pending\"}\n";


static ngx_str_t  ngx_http_runs_event_path[] = {
    ngx_string("started"),
    ngx_string("completed"),
    ngx_string("failed"),
    ngx_string("stopped")
};


ngx_int_t
ngx_http_runs_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_table_elt_t           *h;
    ngx_http_runs_ctx_t       *ctx;
    ngx_http_runs_route_t      rt;
    ngx_http_runs_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);

    if (r != r->main) {
        return NGX_HTTP_NOT_FOUND;
    }

    rc = ngx_http_runs_route(r, rlcf, &rt);

    if (rc != NGX_OK) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            r->keepalive = 0;
        }

        if (rc == NGX_HTTP_NOT_ALLOWED) {
            h = ngx_list_push(&r->headers_out.headers);
            if (h == NULL) {
                rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
                goto done;
            }

            h->hash = 1;
            ngx_str_set(&h->key, "Allow");
            h->value = rt.allow;

            rc = ngx_http_runs_send_detail(r, rc, "Method not allowed");

        } else {
            rc = ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                           "Not found");
        }

        goto done;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_runs_ctx_t));
    if (ctx == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    ctx->request = r;
    ctx->zone = rlcf->zone;
    ctx->endpoint = rt.endpoint;
    ctx->event = rt.event;
    ctx->path_id = rt.id;
    ngx_queue_init(&ctx->held);

    ngx_http_set_ctx(r, ctx, ngx_http_runs_module);

    if (rt.method != NGX_HTTP_POST || rt.endpoint == NGX_HTTP_RUNS_EP_STOP) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            goto done;
        }

        rc = ngx_http_runs_dispatch(r, ctx, NULL);
        goto done;
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

done:

    return rc;
}


static ngx_int_t
ngx_http_runs_route(ngx_http_request_t *r, ngx_http_runs_loc_conf_t *rlcf,
    ngx_http_runs_route_t *rt)
{
    u_char     *p, *last, *slash;
    ngx_str_t   seg[3];
    ngx_uint_t  n, i;

    ngx_memzero(rt, sizeof(ngx_http_runs_route_t));

    if (r->uri.len < rlcf->prefix.len) {
        return NGX_HTTP_NOT_FOUND;
    }

    p = r->uri.data + rlcf->prefix.len;
    last = r->uri.data + r->uri.len;

    if (p < last && *p != '/') {
        /* "/runsfoo" under "location /runs" */
        return NGX_HTTP_NOT_FOUND;
    }

    /* split "/a/b/c" into at most three non-empty segments */

    n = 0;

    while (p < last) {
        p++;                                        /* the slash */

        if (p == last) {
            break;                                  /* trailing slash */
        }

        if (n == 3) {
            return NGX_HTTP_NOT_FOUND;
        }

        slash = ngx_strlchr(p, last, '/');
        if (slash == NULL) {
            slash = last;
        }

        if (slash == p) {
            return NGX_HTTP_NOT_FOUND;
        }

        seg[n].data = p;
        seg[n].len = slash - p;
        n++;

        p = slash;
    }

    switch (rlcf->api) {

    case NGX_HTTP_RUNS_API_RUNS:

        if (n == 0) {
            ngx_str_set(&rt->allow, "GET, HEAD, POST");

            if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
                rt->endpoint = NGX_HTTP_RUNS_EP_LIST;
            } else if (r->method == NGX_HTTP_POST) {
                rt->endpoint = NGX_HTTP_RUNS_EP_CREATE;
            } else {
                return NGX_HTTP_NOT_ALLOWED;
            }

        } else if (n == 1) {
            ngx_str_set(&rt->allow, "GET, HEAD");
            rt->endpoint = NGX_HTTP_RUNS_EP_GET;
            rt->method = NGX_HTTP_GET;

        } else if (n == 2 && seg[1].len == 4
                   && ngx_strncmp(seg[1].data, "stop", 4) == 0)
        {
            ngx_str_set(&rt->allow, "POST");
            rt->endpoint = NGX_HTTP_RUNS_EP_STOP;
            rt->method = NGX_HTTP_POST;

        } else {
            return NGX_HTTP_NOT_FOUND;
        }

        break;

    case NGX_HTTP_RUNS_API_LAUNCHER:

        if (n == 1 && seg[0].len == 8
            && ngx_strncmp(seg[0].data, "register", 8) == 0)
        {
            ngx_str_set(&rt->allow, "POST");
            rt->endpoint = NGX_HTTP_RUNS_EP_REGISTER;
            rt->method = NGX_HTTP_POST;

        } else if (n == 1 && seg[0].len == 9
                   && ngx_strncmp(seg[0].data, "heartbeat", 9) == 0)
        {
            ngx_str_set(&rt->allow, "POST");
            rt->endpoint = NGX_HTTP_RUNS_EP_HEARTBEAT;
            rt->method = NGX_HTTP_POST;

        } else if (n >= 1 && seg[0].len == 4
                   && ngx_strncmp(seg[0].data, "runs", 4) == 0)
        {
            if (n == 1) {
                ngx_str_set(&rt->allow, "GET, HEAD");
                rt->endpoint = NGX_HTTP_RUNS_EP_POLL;
                rt->method = NGX_HTTP_GET;

            } else if (n == 3) {
                for (i = 0; i < 4; i++) {
                    if (seg[2].len == ngx_http_runs_event_path[i].len
                        && ngx_strncmp(seg[2].data,
                                       ngx_http_runs_event_path[i].data,
                                       seg[2].len) == 0)
                    {
                        break;
                    }
                }

                if (i == 4) {
                    return NGX_HTTP_NOT_FOUND;
                }

                ngx_str_set(&rt->allow, "POST");
                rt->endpoint = NGX_HTTP_RUNS_EP_EVENT;
                rt->method = NGX_HTTP_POST;
                rt->event = i;

            } else {
                return NGX_HTTP_NOT_FOUND;
            }

        } else {
            return NGX_HTTP_NOT_FOUND;
        }

        break;

    default: /* NGX_HTTP_RUNS_API_LAUNCHERS */

        if (n == 0) {
            ngx_str_set(&rt->allow, "GET, HEAD");
            rt->endpoint = NGX_HTTP_RUNS_EP_LAUNCHERS;
            rt->method = NGX_HTTP_GET;

        } else if (n == 1) {
            ngx_str_set(&rt->allow, "DELETE");
            rt->endpoint = NGX_HTTP_RUNS_EP_DELETE;
            rt->method = NGX_HTTP_DELETE;

        } else {
            return NGX_HTTP_NOT_FOUND;
        }

        break;
    }

    if (n >= 1) {
        rt->id = (rt->endpoint == NGX_HTTP_RUNS_EP_EVENT) ? seg[1] : seg[0];
    }

    /* HEAD wherever GET, as nginx's own handlers answer it */
    if (rt->method
        && r->method != rt->method
        && !(rt->method == NGX_HTTP_GET && r->method == NGX_HTTP_HEAD))
    {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (rt->method == 0) {
        rt->method = r->method;
    }

    return NGX_OK;
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
        rc = ngx_http_runs_dispatch(r, ctx, &body);
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


static ngx_int_t
ngx_http_runs_dispatch(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    switch (ctx->endpoint) {

    case NGX_HTTP_RUNS_EP_LIST:
        return ngx_http_runs_list(r, ctx);

    case NGX_HTTP_RUNS_EP_CREATE:
        return ngx_http_runs_create(r, ctx, body);

    case NGX_HTTP_RUNS_EP_GET:
        return ngx_http_runs_get(r, ctx);

    case NGX_HTTP_RUNS_EP_STOP:
        return ngx_http_runs_stop(r, ctx);

    case NGX_HTTP_RUNS_EP_REGISTER:
        return ngx_http_runs_register(r, ctx, body);

    case NGX_HTTP_RUNS_EP_POLL:
        return ngx_http_runs_poll(r, ctx);

    case NGX_HTTP_RUNS_EP_EVENT:
        return ngx_http_runs_event(r, ctx, body);

    case NGX_HTTP_RUNS_EP_HEARTBEAT:
        return ngx_http_runs_heartbeat(r, ctx, body);

    case NGX_HTTP_RUNS_EP_LAUNCHERS:
        return ngx_http_runs_launchers(r, ctx);

    default: /* NGX_HTTP_RUNS_EP_DELETE */
        return ngx_http_runs_delete(r, ctx);
    }
}


/* NGX_OK: found and unescaped; NGX_DECLINED: absent */

static ngx_int_t
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


static ngx_int_t
ngx_http_runs_create(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char                     *p, *last;
    ngx_int_t                   rc;
    ngx_str_t                   err, type, detail;
    ngx_table_elt_t            *h;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_bells_t       bells;
    ngx_http_runs_create_t      cr;
    ngx_http_runs_loc_conf_t   *rlcf;
    ngx_http_runs_field_t       f[6];
    u_char                      id[NGX_HTTP_RUNS_RUN_ID_LEN];

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);
    zone = ctx->zone;

    f[0].key = "type";
    f[1].key = "session_name";
    f[2].key = "prompt";
    f[3].key = "agent_name";
    f[4].key = "project_dir";
    f[5].key = "parent_session_name";

    rc = ngx_http_runs_json_read(r->pool, body, 0, f, 6, &err);

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[0], 1, &type, &err);
    }

    if (rc == NGX_OK) {
        if (type.len == 13 && ngx_strncmp(type.data, "start_session", 13) == 0)
        {
            cr.type = NGX_HTTP_RUNS_START;

        } else if (type.len == 14
                   && ngx_strncmp(type.data, "resume_session", 14) == 0)
        {
            cr.type = NGX_HTTP_RUNS_RESUME;

        } else {
            ngx_str_set(&err, "Field 'type' must be 'start_session' or "
                              "'resume_session'");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[1], 1, &cr.session_name,
                                     &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_check_name(r->pool, "session_name",
                                      &cr.session_name, &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[2], 1, &cr.prompt, &err);

        if (rc == NGX_OK && cr.prompt.len == 0) {
            ngx_str_set(&err, "Field 'prompt' must not be empty");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }

        if (rc == NGX_OK && cr.prompt.len > NGX_MAX_UINT32_VALUE) {
            ngx_str_set(&err, "Field 'prompt' must be under 4 GB");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[3], 0, &cr.agent_name,
                                     &err);

        if (rc == NGX_OK && cr.agent_name.data) {
            rc = ngx_http_runs_check_name(r->pool, "agent_name",
                                          &cr.agent_name, &err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[4], 0, &cr.project_dir,
                                     &err);
        if (rc == NGX_OK) {
            rc = ngx_http_runs_check_path(r->pool, "project_dir",
                                          &cr.project_dir, &err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[5], 0, &cr.parent, &err);

        if (rc == NGX_OK && cr.parent.data) {
            rc = ngx_http_runs_check_name(r->pool, "parent_session_name",
                                          &cr.parent, &err);
        }
    }

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    rc = ngx_http_runs_create_locked(zone, &cr, &detail, id, &bells);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    switch (rc) {

    case NGX_HTTP_CREATED:
        break;

    case NGX_HTTP_CONFLICT:
        return ngx_http_runs_send_detail(r, rc,
                   "Session '%V' already exists: resume it with a "
                   "resume_session run", &cr.session_name);

    case NGX_HTTP_NOT_FOUND:
        return ngx_http_runs_send_detail(r, rc,
                   "Session '%V' not found: start it with a start_session "
                   "run first", &cr.session_name);

    default:
        return ngx_http_runs_send_refused(r, zone,
                                          NGX_HTTP_RUNS_REFUSED_FULL);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "runs: created run %*s", (size_t) NGX_HTTP_RUNS_RUN_ID_LEN,
                   id);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, rlcf->prefix.len + 1 + NGX_HTTP_RUNS_RUN_ID_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = p;
    p = ngx_cpymem(p, rlcf->prefix.data, rlcf->prefix.len);
    *p++ = '/';
    p = ngx_cpymem(p, id, NGX_HTTP_RUNS_RUN_ID_LEN);
    h->value.len = p - h->value.data;

    /* ngx_http_header_filter() would make a relative Location absolute */
    r->headers_out.location = NULL;

    /* the answer every creation gets: no need for an encoder */

    p = ngx_pnalloc(r->pool, sizeof(ngx_http_runs_created) - 1
                             + NGX_HTTP_RUNS_RUN_ID_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_sprintf(p, ngx_http_runs_created,
                       (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id);

    return ngx_http_runs_send_body(r, NGX_HTTP_CREATED, p, last - p);
}


/*
 * Counts a refusal and says whether to log it: one line per reason per
 * 10 s, whichever worker refuses, with the count since the last line.
 * Lock-free: the zone's lock may not be held here or may be.
 */

ngx_uint_t
ngx_http_runs_refused(ngx_http_runs_zone_t *zone, ngx_uint_t reason,
    ngx_log_t *log)
{
    time_t                  now;
    ngx_atomic_uint_t       last, total, n;
    ngx_http_runs_shctx_t  *sh;
    ngx_http_runs_main_conf_t  *rmcf;

    static const char  *why[] = {
        "is full and holds no finished run to evict; enlarge runs_zone",
        "holds runs_max_waiters requests already; raise runs_max_waiters",
        "holds runs_max_polls runner polls already; raise runs_max_polls",
        "holds runs_max_waits ?wait= requests already; raise runs_max_waits"
    };

    sh = zone->sh;

    (void) ngx_atomic_fetch_add(&sh->refused[reason], 1);

    now = ngx_time();
    last = sh->refused_at[reason];

    if (now - (time_t) last < 10
        || !ngx_atomic_cmp_set(&sh->refused_at[reason], last, now))
    {
        return 0;
    }

    /* the one worker that logs for these 10 s */
    total = sh->refused[reason];
    n = total - sh->refused_logged[reason];
    sh->refused_logged[reason] = total;

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_runs_module);

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "runs_zone \"%V\" (%uz bytes) %s: %uA request%s refused "
                  "with 503 since the last such line (limits: %ui held, "
                  "%ui polls, %ui waits)",
                  &zone->name, zone->size, why[reason], n, n == 1 ? "" : "s",
                  rmcf ? rmcf->max_waiters : 0,
                  rmcf ? rmcf->max_held[NGX_HTTP_RUNS_WAIT_POLL] : 0,
                  rmcf ? rmcf->max_held[NGX_HTTP_RUNS_WAIT_RUN] : 0);

    return 1;
}


/* the one 503 answer: the reason for the client, a throttled log line */

static ngx_int_t
ngx_http_runs_send_refused(ngx_http_request_t *r, ngx_http_runs_zone_t *zone,
    ngx_uint_t reason)
{
    ngx_table_elt_t  *h;

    (void) ngx_http_runs_refused(zone, reason, r->connection->log);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, "1");

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

    default:
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "Too many held requests (runs_max_waiters): retry later");
    }
}


static ngx_int_t
ngx_http_runs_parse_status(ngx_str_t *s)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_RUNS_NSTATUS; i++) {
        if (s->len == ngx_http_runs_status_names[i].len
            && ngx_strncmp(s->data, ngx_http_runs_status_names[i].data,
                           s->len) == 0)
        {
            return i;
        }
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_runs_list(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx)
{
    size_t                      hint;
    uint64_t                    cursor;
    ngx_int_t                   rc, status, limit;
    ngx_str_t                   v, name;
    ngx_uint_t                  cap, n, i;
    ngx_http_runs_out_t         o;
    ngx_http_runs_snap_t       *snaps;
    ngx_http_runs_zone_t       *zone;

    zone = ctx->zone;

    status = -1;
    limit = NGX_HTTP_RUNS_LIST_DEFAULT;
    name.data = NULL;

    if (ngx_http_runs_get_arg(r, "status", 6, &v) == NGX_OK) {
        status = ngx_http_runs_parse_status(&v);
        if (status == NGX_ERROR) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'status' must be one of pending, "
                       "claimed, running, stopping, completed, failed, "
                       "stopped");
        }
    }

    if (ngx_http_runs_get_arg(r, "limit", 5, &v) == NGX_OK) {
        limit = ngx_atoi(v.data, v.len);
        if (limit < 1 || limit > NGX_HTTP_RUNS_LIST_MAX) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'limit' must be an integer from 1 "
                       "to %d", NGX_HTTP_RUNS_LIST_MAX);
        }
    }

    if (ngx_http_runs_get_arg(r, "session_name", 12, &name) == NGX_OK) {
        if (!ngx_http_runs_name_valid(&name)) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'session_name' must be 1-60 "
                       "characters matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$");
        }

    } else {
        name.data = NULL;
    }

    /*
     * sized before the lock from an unlocked read of the run count: runs
     * created meanwhile may be left out, as if they came a moment later
     */
    cap = ngx_min((ngx_uint_t) limit, zone->sh->nruns + 64);

    snaps = ngx_palloc(r->pool, cap * sizeof(ngx_http_runs_snap_t));
    if (snaps == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* newest first, so that "limit" keeps the most recent runs */

    n = 0;
    cursor = 0;

    do {
        ngx_shmtx_lock(&zone->shpool->mutex);

        rc = ngx_http_runs_list_locked(zone->sh, &name, status, r->pool,
                                       snaps, cap, &n, &cursor);

        ngx_shmtx_unlock(&zone->shpool->mutex);

    } while (rc == NGX_AGAIN);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* one buffer, unless strings need escaping */

    hint = 16;

    for (i = 0; i < n; i++) {
        hint += ngx_http_runs_snap_size(&snaps[i]) + 1;
    }

    ngx_http_runs_out_init(&o, r->pool, hint);
    ngx_http_runs_out_literal(&o, "{\"runs\":[");

    for (i = n; i > 0; i--) {
        ngx_http_runs_out_run(&o, &snaps[i - 1]);

        if (i > 1) {
            ngx_http_runs_out_literal(&o, ",");
        }
    }

    ngx_http_runs_out_literal(&o, "]}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


/* seconds with up to three decimals, 0..NGX_HTTP_RUNS_WAIT_MAX */

static ngx_int_t
ngx_http_runs_parse_wait(ngx_str_t *v, ngx_msec_t *ms)
{
    u_char      *p, *last;
    ngx_uint_t   secs, frac, digits, dot;

    secs = 0;
    frac = 0;
    digits = 0;
    dot = 0;

    if (v->len == 0) {
        return NGX_ERROR;
    }

    last = v->data + v->len;

    for (p = v->data; p < last; p++) {

        if (*p == '.' && !dot) {
            dot = 1;
            continue;
        }

        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        if (dot) {
            if (++digits > 3) {
                return NGX_ERROR;
            }

            frac = frac * 10 + (*p - '0');

        } else {
            secs = secs * 10 + (*p - '0');

            if (secs > NGX_HTTP_RUNS_WAIT_MAX) {
                return NGX_ERROR;
            }
        }
    }

    while (digits++ < 3) {
        frac *= 10;
    }

    if (secs == NGX_HTTP_RUNS_WAIT_MAX && frac) {
        return NGX_ERROR;
    }

    *ms = secs * 1000 + frac;

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_get(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx)
{
    uint64_t                    id;
    ngx_str_t                   v;
    ngx_uint_t                  refused;
    ngx_msec_t                  wait;
    ngx_pool_cleanup_t         *cln;
    ngx_http_runs_run_t        *run;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_snap_t        snap;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    zone = ctx->zone;
    wait = 0;
    refused = NGX_HTTP_RUNS_REFUSED_N;

    if (ngx_http_runs_get_arg(r, "wait", 4, &v) == NGX_OK) {
        if (ngx_http_runs_parse_wait(&v, &wait) != NGX_OK) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'wait' must be a number of seconds "
                       "from 0 to %d", NGX_HTTP_RUNS_WAIT_MAX);
        }
    }

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &id) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Run not found");
    }

    cln = NULL;

    if (wait) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    run = ngx_http_runs_lookup_run_locked(zone->sh, id);

    if (run == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Run not found");
    }

    if (wait && !ngx_http_runs_is_terminal(run->status) && !ngx_exiting) {
        ctx->kind = NGX_HTTP_RUNS_WAIT_RUN;
        ctx->waiter = ngx_http_runs_waiter_add_locked(zone, rmcf, ctx,
                                                      NGX_HTTP_RUNS_WAIT_RUN,
                                                      run, &refused, NULL);
        if (ctx->waiter) {
            ngx_shmtx_unlock(&zone->shpool->mutex);
            return ngx_http_runs_hold(r, ctx, cln, wait);
        }

        /* too many held requests or a full zone: the run as it is */
    }

    if (ngx_http_runs_snap_locked(run, r->pool, &snap) != NGX_OK) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (refused != NGX_HTTP_RUNS_REFUSED_N) {
        (void) ngx_http_runs_refused(zone, refused, r->connection->log);
    }

    return ngx_http_runs_send_run(r, &snap);
}


static ngx_int_t
ngx_http_runs_stop(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx)
{
    uint64_t                id;
    ngx_int_t               rc;
    ngx_str_t               session;
    const char             *msg;
    ngx_http_runs_out_t     o;
    ngx_uint_t              before, after;
    ngx_http_runs_run_t    *run;
    ngx_http_runs_zone_t   *zone;
    ngx_http_runs_bells_t   bells;
    u_char                  rid[NGX_HTTP_RUNS_RUN_ID_LEN];

    zone = ctx->zone;

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &id) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Run not found");
    }

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    run = ngx_http_runs_lookup_run_locked(zone->sh, id);

    if (run == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Run not found");
    }

    before = run->status;
    rc = ngx_http_runs_stop_locked(zone, run, &bells);
    after = run->status;

    ngx_http_runs_run_id(rid, run);

    session.len = run->session->name_len;
    session.data = ngx_pnalloc(r->pool, session.len);
    if (session.data) {
        ngx_memcpy(session.data, run->session->name, session.len);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    if (rc == NGX_DECLINED) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %*s is already %V: nothing to stop",
                   (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, rid,
                   &ngx_http_runs_status_names[before]);
    }

    if (session.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "runs: stop of run %*s: %V -> %V",
                  (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, rid,
                  &ngx_http_runs_status_names[before],
                  &ngx_http_runs_status_names[after]);

    if (before == NGX_HTTP_RUNS_PENDING) {
        msg = "Run stopped before it was claimed";

    } else if (before == NGX_HTTP_RUNS_STOPPING) {
        msg = "Stop already requested; the launcher is told again";

    } else {
        msg = "Stop requested; the launcher has been told";
    }

    ngx_http_runs_out_init(&o, r->pool, 256);
    ngx_http_runs_out_literal(&o, "{\"ok\":true,\"run_id\":\"");
    ngx_http_runs_out_raw(&o, rid, NGX_HTTP_RUNS_RUN_ID_LEN);
    ngx_http_runs_out_literal(&o, "\",\"session_name\":");
    ngx_http_runs_out_str(&o, &session);
    ngx_http_runs_out_literal(&o, ",\"status\":\"");
    ngx_http_runs_out_raw(&o, ngx_http_runs_status_names[after].data,
                          ngx_http_runs_status_names[after].len);
    ngx_http_runs_out_literal(&o, "\",\"message\":\"");
    ngx_http_runs_out_raw(&o, msg, ngx_strlen(msg));
    ngx_http_runs_out_literal(&o, "\"}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_register(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char                     *p;
    ngx_int_t                   rc;
    ngx_str_t                   err, host, dir, exec, endpoint;
    ngx_http_runs_out_t         o;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_field_t       f[3];
    ngx_http_runs_launcher_t   *lr;
    ngx_http_runs_loc_conf_t   *rlcf;
    u_char                      id[NGX_HTTP_RUNS_LAUNCHER_ID_LEN];

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);
    zone = ctx->zone;

    f[0].key = "hostname";
    f[1].key = "project_dir";
    f[2].key = "executor_type";

    rc = ngx_http_runs_json_read(r->pool, body, 1, f, 3, &err);

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[0], 0, &host, &err);
    }

    if (rc == NGX_OK && host.len > NGX_HTTP_RUNS_FIELD_MAX) {
        ngx_str_set(&err, "Field 'hostname' must be at most 4096 bytes");
        rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[1], 0, &dir, &err);
        if (rc == NGX_OK) {
            rc = ngx_http_runs_check_path(r->pool, "project_dir", &dir, &err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[2], 0, &exec, &err);
    }

    if (rc == NGX_OK && exec.len > NGX_HTTP_RUNS_FIELD_MAX) {
        ngx_str_set(&err, "Field 'executor_type' must be at most 4096 bytes");
        rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
    }

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_register_locked(zone, &host, &dir, &exec);
    if (lr) {
        ngx_memcpy(id, lr->id, NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (lr == NULL) {
        return ngx_http_runs_send_refused(r, zone, NGX_HTTP_RUNS_REFUSED_FULL);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "runs: launcher %*s registered (host \"%V\")",
                  (size_t) NGX_HTTP_RUNS_LAUNCHER_ID_LEN, id, &host);

    endpoint.len = rlcf->prefix.len + sizeof("/runs") - 1;
    endpoint.data = ngx_pnalloc(r->pool, endpoint.len);
    if (endpoint.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(endpoint.data, rlcf->prefix.data, rlcf->prefix.len);
    ngx_memcpy(p, "/runs", sizeof("/runs") - 1);

    ngx_http_runs_out_init(&o, r->pool, 256 + endpoint.len);
    ngx_http_runs_out_literal(&o, "{\"launcher_id\":\"");
    ngx_http_runs_out_raw(&o, id, NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
    ngx_http_runs_out_literal(&o, "\",\"poll_endpoint\":");
    ngx_http_runs_out_str(&o, &endpoint);

    p = ngx_http_runs_out_reserve(&o, 2 * NGX_INT_T_LEN + 64);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(p, ",\"poll_timeout_seconds\":%M,"
                    "\"heartbeat_interval_seconds\":%M}",
                    rlcf->poll_timeout / 1000,
                    rlcf->heartbeat_interval / 1000);

    ngx_http_runs_out_commit(&o, p);

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_poll(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx)
{
    uint64_t                    id;
    ngx_int_t                   rc;
    ngx_str_t                   v;
    ngx_uint_t                  refused;
    ngx_pool_cleanup_t         *cln;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_bells_t       bells;
    ngx_http_runs_launcher_t   *lr;
    ngx_http_runs_loc_conf_t   *rlcf;
    ngx_http_runs_main_conf_t  *rmcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);
    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    zone = ctx->zone;

    if (ngx_http_runs_get_arg(r, "launcher_id", 11, &v) != NGX_OK
        || v.len == 0)
    {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "Query parameter 'launcher_id' is required");
    }

    if (ngx_http_runs_parse_id(&v, "lnch_", &id) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                                         "Launcher not registered");
    }

    if (r->method == NGX_HTTP_HEAD) {
        /* nothing that changes state: no claim, no stops handed over */
        ngx_shmtx_lock(&zone->shpool->mutex);
        lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);
        ngx_shmtx_unlock(&zone->shpool->mutex);

        if (lr == NULL) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                                             "Launcher not registered");
        }

        return ngx_http_runs_send_empty(r, NGX_HTTP_NO_CONTENT);
    }

    /* "claim=0": a runner whose slots are all busy still hears of stops */
    if (ngx_http_runs_get_arg(r, "claim", 5, &v) == NGX_OK) {
        if (v.len == 1 && (v.data[0] == '0' || v.data[0] == '1')) {
            ctx->noclaim = (v.data[0] == '0');

        } else {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'claim' must be 0 or 1");
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->kind = NGX_HTTP_RUNS_WAIT_POLL;
    bells = 0;
    refused = NGX_HTTP_RUNS_REFUSED_N;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);

    if (lr == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                                         "Launcher not registered");
    }

    rc = ngx_http_runs_poll_locked(zone, lr, !ctx->noclaim, r->pool,
                                   &ctx->poll, &bells);

    if (rc == NGX_OK && ctx->poll.what == NGX_HTTP_RUNS_POLL_NOTHING
        && !ngx_exiting)
    {
        ctx->waiter = ngx_http_runs_waiter_add_locked(zone, rmcf, ctx,
                                                      NGX_HTTP_RUNS_WAIT_POLL,
                                                      lr, &refused, &bells);
        if (ctx->waiter == NULL) {
            rc = NGX_DECLINED;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_runs_send_refused(r, zone, refused);
    }

    if (ctx->waiter) {
        return ngx_http_runs_hold(r, ctx, cln, rlcf->poll_timeout);
    }

    return ngx_http_runs_send_poll(r, &ctx->poll);
}


static ngx_int_t
ngx_http_runs_send_poll(ngx_http_request_t *r, ngx_http_runs_poll_t *p)
{
    ngx_str_t            *s;
    ngx_uint_t            i;
    ngx_http_runs_out_t   o;

    switch (p->what) {

    case NGX_HTTP_RUNS_POLL_NOTHING:
        return ngx_http_runs_send_empty(r, NGX_HTTP_NO_CONTENT);

    case NGX_HTTP_RUNS_POLL_DEREGISTERED:
        ngx_http_runs_out_init(&o, r->pool, 64);
        ngx_http_runs_out_literal(&o, "{\"deregistered\":true}");
        break;

    case NGX_HTTP_RUNS_POLL_STOPS:
        s = p->stops->elts;

        ngx_http_runs_out_init(&o, r->pool,
                               32 + p->stops->nelts
                                    * (NGX_HTTP_RUNS_RUN_ID_LEN + 3));
        ngx_http_runs_out_literal(&o, "{\"stop_runs\":[");

        for (i = 0; i < p->stops->nelts; i++) {
            if (i) {
                ngx_http_runs_out_literal(&o, ",");
            }

            ngx_http_runs_out_str(&o, &s[i]);
        }

        ngx_http_runs_out_literal(&o, "]}");
        break;

    case NGX_HTTP_RUNS_POLL_RUN:
        ngx_http_runs_out_init(&o, r->pool,
                               ngx_http_runs_snap_size(&p->run) + 16);
        ngx_http_runs_out_literal(&o, "{\"run\":");
        ngx_http_runs_out_run(&o, &p->run);
        ngx_http_runs_out_literal(&o, "}");
        break;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_send_run(ngx_http_request_t *r, ngx_http_runs_snap_t *snap)
{
    ngx_http_runs_out_t  o;

    ngx_http_runs_out_init(&o, r->pool, ngx_http_runs_snap_size(snap));
    ngx_http_runs_out_run(&o, snap);

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


void
ngx_http_runs_answer_held(ngx_http_runs_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    if (ctx->kind == NGX_HTTP_RUNS_WAIT_POLL) {
        rc = ngx_http_runs_send_poll(r, &ctx->poll);

    } else if (ctx->poll.what == NGX_HTTP_RUNS_POLL_RUN) {
        rc = ngx_http_runs_send_run(r, &ctx->poll.run);

    } else {
        rc = ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                       "Run not found");
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * Reads a body whose first field (f[0]) is "launcher_id".  NGX_OK: the
 * fields and *id are set; otherwise the request has been answered and
 * *rc is what to return.
 */

static ngx_int_t
ngx_http_runs_launcher_body(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_runs_field_t *f, ngx_uint_t n, uint64_t *id, ngx_int_t *rc)
{
    ngx_int_t  st;
    ngx_str_t  err, lid;

    f[0].key = "launcher_id";

    st = ngx_http_runs_json_read(r->pool, body, 0, f, n, &err);

    if (st == NGX_OK) {
        st = ngx_http_runs_field_str(r->pool, &f[0], 1, &lid, &err);
    }

    if (st != NGX_OK) {
        *rc = ngx_http_runs_send_detail(r, st, "%V", &err);
        return NGX_ERROR;
    }

    if (ngx_http_runs_parse_id(&lid, "lnch_", id) != NGX_OK) {
        *rc = ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                                        "Launcher not registered");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_event(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                   lid, rid;
    ngx_int_t                  rc;
    ngx_str_t                  err, text, status, detail;
    ngx_http_runs_field_t      f[2];
    ngx_http_runs_run_t       *run;
    ngx_http_runs_zone_t      *zone;
    ngx_http_runs_bells_t      bells;
    ngx_http_runs_launcher_t  *lr;

    zone = ctx->zone;

    switch (ctx->event) {

    case NGX_HTTP_RUNS_EV_FAILED:
        f[1].key = "error";
        break;

    case NGX_HTTP_RUNS_EV_COMPLETED:
        f[1].key = "status";
        break;

    default:
        f[1].key = "signal";
        break;
    }

    if (ngx_http_runs_launcher_body(r, body, f, 2, &lid, &rc) != NGX_OK) {
        return rc;
    }

    text.len = 0;
    text.data = NULL;
    rc = NGX_OK;

    switch (ctx->event) {

    case NGX_HTTP_RUNS_EV_FAILED:
        rc = ngx_http_runs_field_str(r->pool, &f[1], 1, &text, &err);
        break;

    case NGX_HTTP_RUNS_EV_COMPLETED:
        /* the reference launcher sends "success" */
        rc = ngx_http_runs_field_str(r->pool, &f[1], 0, &status, &err);
        if (rc == NGX_OK && status.data
            && !(status.len == 9
                 && ngx_strncmp(status.data, "completed", 9) == 0)
            && !(status.len == 7
                 && ngx_strncmp(status.data, "success", 7) == 0))
        {
            ngx_str_set(&err, "Field 'status' must be 'completed' or "
                              "'success'");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
        break;

    case NGX_HTTP_RUNS_EV_STOPPED:
        if (f[1].type == NGX_HTTP_RUNS_JSON_OTHER) {
            ngx_str_set(&err, "Field 'signal' must be a string or an "
                              "integer");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
        break;

    default:
        break;
    }

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &rid) != NGX_OK) {
        rid = (uint64_t) -1;
    }

    detail.data = ngx_pnalloc(r->pool, 256);
    if (detail.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, lid);

    if (lr == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                                         "Launcher not registered");
    }

    lr->last_heartbeat = ngx_http_runs_now();

    run = ngx_http_runs_lookup_run_locked(zone->sh, rid);

    if (run == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Run not found");
    }

    rc = ngx_http_runs_event_locked(zone, run, lr, ctx->event, &text,
                                    &detail, &bells);

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    if (rc == NGX_DONE) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "runs: run %V %V reported again: already recorded",
                       &ctx->path_id, &ngx_http_runs_event_path[ctx->event]);
        return ngx_http_runs_send_ok(r);
    }

    if (rc != NGX_HTTP_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &detail);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "runs: run %V %V", &ctx->path_id,
                  &ngx_http_runs_event_path[ctx->event]);

    return ngx_http_runs_send_ok(r);
}


static ngx_int_t
ngx_http_runs_heartbeat(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                   lid;
    ngx_int_t                  rc;
    ngx_http_runs_zone_t      *zone;
    ngx_http_runs_field_t      f[1];
    ngx_http_runs_launcher_t  *lr;

    zone = ctx->zone;

    if (ngx_http_runs_launcher_body(r, body, f, 1, &lid, &rc) != NGX_OK) {
        return rc;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, lid);
    if (lr) {
        lr->last_heartbeat = ngx_http_runs_now();
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (lr == NULL) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                                         "Launcher not registered");
    }

    return ngx_http_runs_send_ok(r);
}


static ngx_int_t
ngx_http_runs_launchers(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx)
{
    int64_t                     now;
    ngx_uint_t                  n, i, cap;
    ngx_http_runs_out_t         o;
    ngx_queue_t                *q;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_lsnap_t      *ls;
    ngx_http_runs_launcher_t   *lr;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    zone = ctx->zone;

    /*
     * sized before the lock from an unlocked read of the count: a launcher
     * registered meanwhile beyond the margin is left out of this listing
     */
    cap = zone->sh->nlaunchers + 16;

    ls = ngx_palloc(r->pool, cap * sizeof(ngx_http_runs_lsnap_t));
    if (ls == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(&zone->sh->launcher_list);
         q != ngx_queue_sentinel(&zone->sh->launcher_list) && n < cap;
         q = ngx_queue_next(q))
    {
        lr = ngx_queue_data(q, ngx_http_runs_launcher_t, list);

        if (lr->nwaiters) {
            lr->last_heartbeat = ngx_http_runs_now();
        }

        ngx_http_runs_lsnap_locked(lr, r->pool, &ls[n++]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    now = ngx_http_runs_now();

    ngx_http_runs_out_init(&o, r->pool, 0);
    ngx_http_runs_out_literal(&o, "{\"launchers\":[");

    for (i = 0; i < n; i++) {
        if (i) {
            ngx_http_runs_out_literal(&o, ",");
        }

        ngx_http_runs_out_launcher(&o, &ls[i], now, rmcf->heartbeat_timeout);
    }

    ngx_http_runs_out_literal(&o, "]}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_delete(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx)
{
    uint64_t                   id;
    ngx_str_t                  v;
    ngx_uint_t                 self;
    ngx_http_runs_out_t        o;
    ngx_http_runs_zone_t      *zone;
    ngx_http_runs_bells_t      bells;
    ngx_http_runs_launcher_t  *lr;

    zone = ctx->zone;

    self = (ngx_http_runs_get_arg(r, "self", 4, &v) == NGX_OK
            && ((v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4)
                               == 0)
                || (v.len == 1 && v.data[0] == '1')));

    if (ngx_http_runs_parse_id(&ctx->path_id, "lnch_", &id) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Launcher not found");
    }

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);

    if (lr) {
        if (self) {
            ngx_http_runs_remove_launcher_locked(zone, lr,
                                             NGX_HTTP_RUNS_NOTE_DEREGISTERED,
                                             &bells);
        } else {
            lr->deregister = 1;
            ngx_http_runs_notify_all_locked(zone->sh, &lr->waiters, 0,
                                            &bells);
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    if (lr == NULL) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Launcher not found");
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "runs: launcher %V %s", &ctx->path_id,
                  self ? "deregistered itself"
                       : "marked for deregistration");

    ngx_http_runs_out_init(&o, r->pool, 128);

    if (self) {
        ngx_http_runs_out_literal(&o, "{\"ok\":true,"
                                  "\"message\":\"Launcher deregistered\","
                                  "\"initiated_by\":\"self\"}");

    } else {
        ngx_http_runs_out_literal(&o, "{\"ok\":true,"
                                  "\"message\":\"Launcher marked for "
                                  "deregistration\","
                                  "\"initiated_by\":\"external\"}");
    }

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_send_ok(ngx_http_request_t *r)
{
    static u_char  ok[] = "{\"ok\":true}\n";

    return ngx_http_runs_send_body(r, NGX_HTTP_OK, ok, sizeof(ok) - 1);
}
