
/*
 * The client API (runs_api): create a run, list runs, read one (and wait
 * for it to end), stop one.
 */


#include "ngx_http_runs.h"


static ngx_int_t ngx_http_runs_create(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_list(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_get(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_stop(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static void ngx_http_runs_answer_wait(ngx_http_runs_ctx_t *ctx);


ngx_http_runs_route_t  ngx_http_runs_client_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_list, 0 },
    { 0, { ngx_null_string }, NGX_HTTP_POST, 1, ngx_http_runs_create, 0 },
    { 1, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_get, 0 },
    { 2, { ngx_null_string, ngx_string("stop") }, NGX_HTTP_POST, 0,
      ngx_http_runs_stop, 0 },
    { 2, { ngx_null_string, ngx_string("log") }, NGX_HTTP_GET, 0,
      ngx_http_runs_log_read, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


/* a held ?wait=: answered once, when the run ends or the wait does */
ngx_http_runs_held_kind_t  ngx_http_runs_held_wait = {
    NGX_HTTP_RUNS_WAIT_RUN,
    ngx_http_runs_answer_wait,
    NULL,
    0,
    0,
    0
};


static const char  ngx_http_runs_created[] =
    "{\"run_id\": \"%*s\", \"status\": \"pending\"}\n";


/* a POST /runs body, checked: NGX_OK, or a status with *err */

static ngx_int_t
ngx_http_runs_create_body(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_runs_create_t *cr, ngx_str_t *err_out)
{
    ngx_int_t               rc;
    ngx_str_t               err, type;
    ngx_http_runs_field_t   f[8];

    f[0].key = "type";
    f[1].key = "session_name";
    f[2].key = "prompt";
    f[3].key = "agent_name";
    f[4].key = "project_dir";
    f[5].key = "parent_session_name";
    f[6].key = "demands";
    f[7].key = "affinity";

    rc = ngx_http_runs_json_read(r->pool, body, 0, f, 8, &err);

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[0], 1, &type, &err);
    }

    if (rc == NGX_OK) {
        if (type.len == 13 && ngx_strncmp(type.data, "start_session", 13) == 0)
        {
            cr->type = NGX_HTTP_RUNS_START;

        } else if (type.len == 14
                   && ngx_strncmp(type.data, "resume_session", 14) == 0)
        {
            cr->type = NGX_HTTP_RUNS_RESUME;

        } else {
            ngx_str_set(&err, "Field 'type' must be 'start_session' or "
                              "'resume_session'");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[1], 1, &cr->session_name,
                                     &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_check_name(r->pool, "session_name",
                                      &cr->session_name, &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_check_policy(r, "session_name", &cr->session_name,
                                        &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[2], 1, &cr->prompt, &err);

        if (rc == NGX_OK && cr->prompt.len == 0) {
            ngx_str_set(&err, "Field 'prompt' must not be empty");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }

        if (rc == NGX_OK && cr->prompt.len > NGX_MAX_UINT32_VALUE) {
            ngx_str_set(&err, "Field 'prompt' must be under 4 GB");
            rc = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[3], 0, &cr->agent_name,
                                     &err);

        if (rc == NGX_OK && cr->agent_name.data) {
            rc = ngx_http_runs_check_name(r->pool, "agent_name",
                                          &cr->agent_name, &err);
        }

        if (rc == NGX_OK) {
            rc = ngx_http_runs_check_policy(r, "agent_name", &cr->agent_name,
                                            &err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[4], 0, &cr->project_dir,
                                     &err);
        if (rc == NGX_OK) {
            rc = ngx_http_runs_check_path(r->pool, "project_dir",
                                          &cr->project_dir, &err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[5], 0, &cr->parent, &err);

        if (rc == NGX_OK && cr->parent.data) {
            rc = ngx_http_runs_check_name(r->pool, "parent_session_name",
                                          &cr->parent, &err);
        }

        if (rc == NGX_OK) {
            rc = ngx_http_runs_check_policy(r, "parent_session_name",
                                            &cr->parent, &err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_demands(r->pool, &f[6], &cr->demands, &err);
    }

    cr->affinity = 1;

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_bool(r->pool, &f[7], &cr->affinity, &err);
    }

    *err_out = err;

    return rc;
}


static ngx_int_t
ngx_http_runs_create(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char                     *p, *last;
    ngx_int_t                   rc;
    ngx_str_t                   err;
    ngx_table_elt_t            *h;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_create_t      cr;
    ngx_http_runs_loc_conf_t   *rlcf;
    u_char                      id[NGX_HTTP_RUNS_RUN_ID_LEN];

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);
    zone = ctx->zone;

    rc = ngx_http_runs_create_body(r, body, &cr, &err);

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    cr.scope = ctx->scope;

    switch (ngx_http_runs_store_create(zone, &cr, id)) {

    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_SESSION_EXISTS:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Session '%V' already exists: resume it with a "
                   "resume_session run", &cr.session_name);

    case NGX_HTTP_RUNS_R_NO_SESSION:
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                   "Session '%V' not found: start it with a start_session "
                   "run first", &cr.session_name);

    case NGX_HTTP_RUNS_R_LOOP:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Session '%V' would be its own ancestor through parent "
                   "'%V': callbacks would loop", &cr.session_name,
                   &cr.parent);

    case NGX_HTTP_RUNS_R_INACTIVE:
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "Agent blueprint '%V' is inactive: activate it (PATCH "
                   "/agents/%V/status) or name another agent",
                   cr.agent_name.data ? &cr.agent_name : &cr.session_name,
                   cr.agent_name.data ? &cr.agent_name : &cr.session_name);

    case NGX_HTTP_RUNS_R_OTHER_PARENT:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Session '%V' has another parent (set by its start run): "
                   "a resume cannot name '%V'", &cr.session_name,
                   &cr.parent);

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
ngx_http_runs_list(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_int_t                   status, limit;
    ngx_str_t                   v, name;
    ngx_uint_t                  n;
    ngx_http_runs_snap_t       *snaps;

    status = -1;
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

    if (ngx_http_runs_get_limit(r, &limit) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "Query parameter 'limit' must be an integer from 1 to %d",
                   NGX_HTTP_RUNS_LIST_MAX);
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

    /* newest first, so that "limit" keeps the most recent runs */

    if (ngx_http_runs_store_list(ctx->zone, &name, status, (ngx_uint_t) limit,
                                 ctx->scope, r->pool, &snaps, &n)
        != NGX_HTTP_RUNS_R_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_runs_send_runs(r, snaps, n);
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
ngx_http_runs_get(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                    id;
    ngx_str_t                   v;
    ngx_uint_t                  refused;
    ngx_msec_t                  wait;
    ngx_pool_cleanup_t         *cln;
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

    /* a run of another scope is not there */
    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &id) != NGX_OK
        || ngx_http_runs_store_run_scope(zone, id, ctx->scope)
           != NGX_HTTP_RUNS_R_DONE)
    {
        return ngx_http_runs_send_no_run(r);
    }

    cln = NULL;

    if (wait) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->hold.kind = NGX_HTTP_RUNS_WAIT_RUN;

    switch (ngx_http_runs_store_get(zone, &rmcf->limits, &ctx->hold, id,
                                    wait != 0, &snap, &refused))
    {
    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_no_run(r);

    case NGX_HTTP_RUNS_R_HOLD:
        return ngx_http_runs_hold(r, ctx, &ngx_http_runs_held_wait, cln,
                                  wait);

    case NGX_HTTP_RUNS_R_DONE:
        break;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* too many held requests or a full zone: the run as it is */
    if (refused != NGX_HTTP_RUNS_REFUSED_N) {
        ngx_http_runs_refused(zone, refused, r->connection->log);
    }

    return ngx_http_runs_send_run(r, &snap);
}


/* a held ?wait= answers the run as it is, or 404 when it was removed */

static void
ngx_http_runs_answer_wait(ngx_http_runs_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    if (ctx->hold.poll.what == NGX_HTTP_RUNS_POLL_RUN) {
        rc = ngx_http_runs_send_run(r, &ctx->hold.poll.run);

    } else {
        rc = ngx_http_runs_send_no_run(r);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_runs_stop(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t               id;
    ngx_str_t             *rid;
    const char            *msg;
    ngx_uint_t             before, after;
    ngx_http_runs_out_t    o;
    ngx_http_runs_stop_t   st;

    /* a valid id is the run's own, as it is printed */
    rid = &ctx->path_id;

    if (ngx_http_runs_parse_id(rid, "run_", &id) != NGX_OK
        || ngx_http_runs_store_run_scope(ctx->zone, id, ctx->scope)
           != NGX_HTTP_RUNS_R_DONE)
    {
        return ngx_http_runs_send_no_run(r);
    }

    switch (ngx_http_runs_store_stop(ctx->zone, id, r->pool, &st)) {

    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_no_run(r);

    case NGX_HTTP_RUNS_R_FINISHED:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is already %V: nothing to stop", rid,
                   &ngx_http_runs_status_names[st.before]);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    before = st.before;
    after = st.after;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "runs: stop of run %V: %V -> %V", rid,
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
    ngx_http_runs_out_raw(&o, rid->data, rid->len);
    ngx_http_runs_out_literal(&o, "\",\"session_name\":");
    ngx_http_runs_out_str(&o, &st.session);
    ngx_http_runs_out_literal(&o, ",\"status\":\"");
    ngx_http_runs_out_raw(&o, ngx_http_runs_status_names[after].data,
                          ngx_http_runs_status_names[after].len);
    ngx_http_runs_out_literal(&o, "\",\"message\":\"");
    ngx_http_runs_out_raw(&o, msg, ngx_strlen(msg));
    ngx_http_runs_out_literal(&o, "\"}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}
