
/*
 * The runner API (runs_launcher_api): registration, the poll that hands
 * out runs and stops, a run's reports, heartbeats.
 */


#include "ngx_http_runs.h"



static ngx_int_t ngx_http_runs_poll(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_send_poll(ngx_http_request_t *r,
    ngx_http_runs_poll_t *p);
static void ngx_http_runs_answer_poll(ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_event(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);


#define ngx_http_runs_event_route(name, ev)                                  \
    { 3, { ngx_string("runs"), ngx_null_string, ngx_string(name) },         \
      NGX_HTTP_POST, 1, ngx_http_runs_event, ev }

ngx_http_runs_route_t  ngx_http_runs_runner_routes[] = {
    { 1, { ngx_string("register") }, NGX_HTTP_POST, 1,
      ngx_http_runs_register, 0 },
    { 1, { ngx_string("heartbeat") }, NGX_HTTP_POST, 1,
      ngx_http_runs_heartbeat, 0 },
    { 1, { ngx_string("runs") }, NGX_HTTP_GET, 0, ngx_http_runs_poll, 0 },
    ngx_http_runs_event_route("started", NGX_HTTP_RUNS_EV_STARTED),
    ngx_http_runs_event_route("completed", NGX_HTTP_RUNS_EV_COMPLETED),
    ngx_http_runs_event_route("failed", NGX_HTTP_RUNS_EV_FAILED),
    ngx_http_runs_event_route("stopped", NGX_HTTP_RUNS_EV_STOPPED),
    { 3, { ngx_string("runs"), ngx_null_string, ngx_string("log") },
      NGX_HTTP_POST, 1, ngx_http_runs_log_append, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


/*
 * A held poll: answered once, with a run, stops, "deregistered" or
 * nothing; its client is looked at before a run is claimed for it.
 */
ngx_http_runs_held_kind_t  ngx_http_runs_held_poll = {
    NGX_HTTP_RUNS_WAIT_POLL,
    ngx_http_runs_answer_poll,
    NULL,
    1,
    0,
    0
};


ngx_int_t
ngx_http_runs_register(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char                     *p;
    ngx_int_t                   rc;
    ngx_str_t                   err, host, dir, exec, agents, tags;
    ngx_str_t                   endpoint;
    ngx_http_runs_out_t         o;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_field_t       f[5];
    ngx_http_runs_loc_conf_t   *rlcf;
    ngx_http_runs_main_conf_t  *rmcf;
    u_char                      id[NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
    u_char                      raw[NGX_HTTP_RUNS_TOKEN_RAW];
    u_char                      token[NGX_HTTP_RUNS_TOKEN_LEN];

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);
    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    zone = ctx->zone;

    f[0].key = "hostname";
    f[1].key = "project_dir";
    f[2].key = "executor_type";
    f[3].key = "agents";
    f[4].key = "tags";

    rc = ngx_http_runs_json_read(r->pool, body, 1, f, 5, &err);

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_text(r->pool, &f[0], &host, &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[1], 0, &dir, &err);
        if (rc == NGX_OK) {
            rc = ngx_http_runs_check_path(r->pool, "project_dir", &dir, &err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_text(r->pool, &f[2], &exec, &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_names(r->pool, &f[3],
                                       NGX_HTTP_RUNS_AGENTS_MAX, 0, &agents,
                                       &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_check_policy_list(r, "agents", &agents, &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_names(r->pool, &f[4], NGX_HTTP_RUNS_TAGS_MAX,
                                       1, &tags, &err);
    }

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    if (ngx_http_runs_token_new(r->connection->log, raw, token) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                   "No runner token can be made now: try again");
    }

    if (ngx_http_runs_store_register(zone, &host, &dir, &exec, &agents, &tags,
                                     raw, ctx->scope, id)
        != NGX_HTTP_RUNS_R_DONE)
    {
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
    ngx_http_runs_out_literal(&o, "\",\"token\":\"");
    ngx_http_runs_out_raw(&o, token, NGX_HTTP_RUNS_TOKEN_LEN);
    ngx_http_runs_out_literal(&o, "\",\"poll_endpoint\":");
    ngx_http_runs_out_str(&o, &endpoint);

    p = ngx_http_runs_out_reserve(&o, 3 * NGX_INT_T_LEN + 96);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(p, ",\"poll_timeout_seconds\":%M,"
                    "\"heartbeat_interval_seconds\":%M,"
                    "\"result_max_bytes\":%uz}",
                    rlcf->poll_timeout / 1000,
                    rlcf->heartbeat_interval / 1000, rmcf->result_max);

    ngx_http_runs_out_commit(&o, p);

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_poll(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                    id;
    ngx_int_t                   rc;
    ngx_str_t                   v;
    ngx_uint_t                  refused;
    ngx_pool_cleanup_t         *cln;
    ngx_http_runs_zone_t       *zone;
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
        return ngx_http_runs_send_no_launcher(r);
    }

    if (ngx_http_runs_launcher_auth(r, zone, id, &rc) != NGX_OK) {
        return rc;
    }

    if (r->method == NGX_HTTP_HEAD) {
        /* nothing that changes state: no claim, no stops handed over */
        if (ngx_http_runs_store_launcher(zone, id, 0) != NGX_HTTP_RUNS_R_DONE)
        {
            return ngx_http_runs_send_no_launcher(r);
        }

        return ngx_http_runs_send_empty(r, NGX_HTTP_NO_CONTENT);
    }

    /* "claim=0": a runner whose slots are all busy still hears of stops */
    if (ngx_http_runs_get_arg(r, "claim", 5, &v) == NGX_OK) {
        if (v.len == 1 && (v.data[0] == '0' || v.data[0] == '1')) {
            ctx->hold.noclaim = (v.data[0] == '0');

        } else {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'claim' must be 0 or 1");
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->hold.kind = NGX_HTTP_RUNS_WAIT_POLL;
    refused = NGX_HTTP_RUNS_REFUSED_N;

    switch (ngx_http_runs_store_poll(zone, &rmcf->limits, &ctx->hold, id,
                                     &refused))
    {

    case NGX_HTTP_RUNS_R_DONE:
        return ngx_http_runs_send_poll(r, &ctx->hold.poll);

    case NGX_HTTP_RUNS_R_HOLD:
        return ngx_http_runs_hold(r, ctx, &ngx_http_runs_held_poll, cln,
                                  rlcf->poll_timeout);

    case NGX_HTTP_RUNS_R_NO_LAUNCHER:
        return ngx_http_runs_send_no_launcher(r);

    case NGX_HTTP_RUNS_R_REFUSED:
        return ngx_http_runs_send_refused(r, zone, refused);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
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


static void
ngx_http_runs_answer_poll(ngx_http_runs_ctx_t *ctx)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_finalize_request(r, ngx_http_runs_send_poll(r,
                                                         &ctx->hold.poll));
    ngx_http_run_posted_requests(c);
}


/*
 * Reads a body whose first field (f[0]) is "launcher_id".  NGX_OK: the
 * fields and *id are set; otherwise the request has been answered and
 * *rc is what to return.
 */

ngx_int_t
ngx_http_runs_launcher_body(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_runs_field_t *f, ngx_uint_t n, uint64_t *id, ngx_int_t *rc)
{
    ngx_int_t             st;
    ngx_str_t             err, lid;
    ngx_http_runs_ctx_t  *ctx;

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
        *rc = ngx_http_runs_send_no_launcher(r);
        return NGX_ERROR;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    return ngx_http_runs_launcher_auth(r, ctx->zone, *id, rc);
}


/*
 * A report's body: "launcher_id" and, by event, "error" (failed), "status"
 * (completed), "signal" (stopped), and "result" (completed, failed,
 * stopped).  NGX_OK, or the request has been answered and *rc is what to
 * return.
 */

static ngx_int_t
ngx_http_runs_event_body(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body, uint64_t *lid, ngx_http_runs_report_t *rp,
    ngx_int_t *rc)
{
    ngx_int_t               st;
    ngx_str_t               err, status;
    ngx_http_runs_field_t   f[3];

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

    f[2].key = "result";

    if (ngx_http_runs_launcher_body(r, body, f, 3, lid, rc) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(rp, sizeof(ngx_http_runs_report_t));
    rp->event = ctx->event;
    st = NGX_OK;

    switch (ctx->event) {

    case NGX_HTTP_RUNS_EV_FAILED:
        st = ngx_http_runs_field_str(r->pool, &f[1], 1, &rp->error, &err);
        break;

    case NGX_HTTP_RUNS_EV_COMPLETED:
        /* the reference launcher sends "success" */
        st = ngx_http_runs_field_str(r->pool, &f[1], 0, &status, &err);
        if (st == NGX_OK && status.data
            && !(status.len == 9
                 && ngx_strncmp(status.data, "completed", 9) == 0)
            && !(status.len == 7
                 && ngx_strncmp(status.data, "success", 7) == 0))
        {
            ngx_str_set(&err, "Field 'status' must be 'completed' or "
                              "'success'");
            st = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
        break;

    case NGX_HTTP_RUNS_EV_STOPPED:
        if (f[1].type == NGX_HTTP_RUNS_JSON_OTHER) {
            ngx_str_set(&err, "Field 'signal' must be a string or an "
                              "integer");
            st = NGX_HTTP_UNPROCESSABLE_ENTITY;
        }
        break;

    default:
        break;
    }

    /* the agent's answer: its stdout, whatever the end */
    if (st == NGX_OK && ctx->event != NGX_HTTP_RUNS_EV_STARTED) {
        st = ngx_http_runs_field_str(r->pool, &f[2], 0, &rp->result, &err);
    }

    if (st != NGX_OK) {
        *rc = ngx_http_runs_send_detail(r, st, "%V", &err);
        return NGX_ERROR;
    }

    return NGX_OK;

}


static ngx_int_t
ngx_http_runs_event(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                    lid, rid;
    ngx_int_t                   rc;
    ngx_str_t                  *rid_text, *event;
    ngx_uint_t                  found, status;
    const ngx_str_t            *name;
    ngx_http_runs_report_t      rp;
    ngx_http_runs_main_conf_t  *rmcf;

    if (ngx_http_runs_event_body(r, ctx, body, &lid, &rp, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &rid) != NGX_OK) {
        rid = (uint64_t) -1;
    }

    /* a valid id is the run's own, as it is printed */
    rid_text = &ctx->path_id;
    event = &ctx->route->seg[2];
    status = 0;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    rp.result_max = rmcf->result_max;

    found = ngx_http_runs_store_report(ctx->zone, lid, rid, &rp, &status);
    name = &ngx_http_runs_status_names[status];

    switch (found) {

    case NGX_HTTP_RUNS_R_DONE:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "runs: run %V %V", rid_text, event);
        return ngx_http_runs_send_ok(r);

    case NGX_HTTP_RUNS_R_REPEATED:
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "runs: run %V %V reported again: already recorded",
                       rid_text, event);
        return ngx_http_runs_send_ok(r);

    case NGX_HTTP_RUNS_R_NO_LAUNCHER:
        return ngx_http_runs_send_no_launcher(r);

    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_no_run(r);

    case NGX_HTTP_RUNS_R_TAKEN_BACK:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V was taken back from this launcher (its claim was "
                   "not confirmed in time) and is %V now: do not execute it",
                   rid_text, name);

    case NGX_HTTP_RUNS_R_NOT_HELD:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is %V and held by no launcher", rid_text, name);

    case NGX_HTTP_RUNS_R_OTHER_HOLDER:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is held by another launcher%s", rid_text,
                   ctx->event == NGX_HTTP_RUNS_EV_STARTED
                   ? ": do not execute it" : "");

    default: /* NGX_HTTP_RUNS_R_WRONG_STATE */
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is %V: it cannot be marked %V", rid_text, name,
                   event);
    }
}


ngx_int_t
ngx_http_runs_heartbeat(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                lid;
    ngx_int_t               rc;
    ngx_http_runs_field_t   f[1];

    if (ngx_http_runs_launcher_body(r, body, f, 1, &lid, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_runs_store_launcher(ctx->zone, lid, 1) != NGX_HTTP_RUNS_R_DONE)
    {
        return ngx_http_runs_send_no_launcher(r);
    }

    return ngx_http_runs_send_ok(r);
}
