
/*
 * The Sessions API (runs_sessions_api): list sessions, read one by id or
 * name, its runs and its latest result, stop it, delete it.
 */


#include "ngx_http_runs.h"


static ngx_int_t ngx_http_runs_sessions_list(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_session_get(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_session_by_name(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_session_runs(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_session_result(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_session_stop(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_session_delete(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_session_send(ngx_http_request_t *r,
    ngx_uint_t found, ngx_http_runs_ssnap_t *ss);
static void ngx_http_runs_out_session(ngx_http_runs_out_t *o,
    ngx_http_runs_ssnap_t *ss);
static ngx_int_t ngx_http_runs_send_no_session(ngx_http_request_t *r);
static void ngx_http_runs_out_ids(ngx_http_runs_out_t *o, ngx_array_t *ids);


ngx_http_runs_route_t  ngx_http_runs_sessions_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_sessions_list,
      0 },
    { 2, { ngx_string("by-name"), ngx_null_string }, NGX_HTTP_GET, 0,
      ngx_http_runs_session_by_name, 0 },
    { 1, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_session_get, 0 },
    { 1, { ngx_null_string }, NGX_HTTP_DELETE, 0,
      ngx_http_runs_session_delete, 0 },
    { 2, { ngx_null_string, ngx_string("runs") }, NGX_HTTP_GET, 0,
      ngx_http_runs_session_runs, 0 },
    { 2, { ngx_null_string, ngx_string("result") }, NGX_HTTP_GET, 0,
      ngx_http_runs_session_result, 0 },
    { 2, { ngx_null_string, ngx_string("stop") }, NGX_HTTP_POST, 0,
      ngx_http_runs_session_stop, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


/* by run status, as a session shows it */
static const ngx_str_t  ngx_http_runs_session_status_names[] = {
    ngx_string("pending"),
    ngx_string("running"),              /* claimed */
    ngx_string("running"),
    ngx_string("stopping"),
    ngx_string("finished"),             /* completed */
    ngx_string("failed"),
    ngx_string("stopped")
};


static ngx_int_t
ngx_http_runs_sessions_list(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_int_t               status, limit;
    ngx_str_t               v, agent;
    ngx_uint_t              i, n;
    ngx_http_runs_out_t     o;
    ngx_http_runs_ssnap_t  *ss;

    status = -1;
    agent.data = NULL;
    agent.len = 0;

    if (ngx_http_runs_get_arg(r, "status", 6, &v) == NGX_OK) {
        for (i = 0; i < NGX_HTTP_RUNS_NSTATUS; i++) {
            if (i != NGX_HTTP_RUNS_CLAIMED
                && v.len == ngx_http_runs_session_status_names[i].len
                && ngx_strncmp(v.data,
                               ngx_http_runs_session_status_names[i].data,
                               v.len) == 0)
            {
                status = i;
                break;
            }
        }

        if (status == -1) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'status' must be one of pending, "
                       "running, stopping, finished, failed, stopped");
        }
    }

    if (ngx_http_runs_get_arg(r, "agent_name", 10, &agent) == NGX_OK) {
        if (!ngx_http_runs_name_valid(&agent)) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'agent_name' must be 1-60 "
                       "characters matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$");
        }

    } else {
        agent.data = NULL;
    }

    if (ngx_http_runs_get_limit(r, &limit) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "Query parameter 'limit' must be an integer from 1 to %d",
                   NGX_HTTP_RUNS_LIST_MAX);
    }

    if (ngx_http_runs_store_sessions(ctx->zone, status, &agent, ctx->scope,
                                     (ngx_uint_t) limit, r->pool, &ss, &n)
        != NGX_HTTP_RUNS_R_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_runs_out_init(&o, r->pool, 64 + n * 512);
    ngx_http_runs_out_literal(&o, "{\"sessions\":[");

    /* they came newest first */

    for (i = n; i > 0; i--) {
        ngx_http_runs_out_session(&o, &ss[i - 1]);

        if (i > 1) {
            ngx_http_runs_out_literal(&o, ",");
        }
    }

    ngx_http_runs_out_literal(&o, "]}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_session_get(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t               sid[2];
    ngx_http_runs_ssnap_t  ss;

    if (ngx_http_runs_parse_sid(&ctx->path_id, sid) != NGX_OK) {
        return ngx_http_runs_send_no_session(r);
    }

    return ngx_http_runs_session_send(r,
               ngx_http_runs_store_session(ctx->zone, sid, NULL, ctx->scope, r->pool,
                                           &ss),
               &ss);
}


static ngx_int_t
ngx_http_runs_session_by_name(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_http_runs_ssnap_t  ss;

    /* nginx has decoded the path already */

    if (!ngx_http_runs_name_valid(&ctx->path_id)) {
        return ngx_http_runs_send_no_session(r);
    }

    return ngx_http_runs_session_send(r,
               ngx_http_runs_store_session(ctx->zone, NULL, &ctx->path_id, ctx->scope,
                                           r->pool, &ss),
               &ss);
}


static ngx_int_t
ngx_http_runs_session_send(ngx_http_request_t *r, ngx_uint_t found,
    ngx_http_runs_ssnap_t *ss)
{
    ngx_http_runs_out_t  o;

    if (found == NGX_HTTP_RUNS_R_NO_SESSION) {
        return ngx_http_runs_send_no_session(r);
    }

    if (found != NGX_HTTP_RUNS_R_DONE) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_runs_out_init(&o, r->pool, 600);
    ngx_http_runs_out_literal(&o, "{\"session\":");
    ngx_http_runs_out_session(&o, ss);
    ngx_http_runs_out_literal(&o, "}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_session_runs(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t               sid[2];
    ngx_uint_t             n, found;
    ngx_http_runs_snap_t  *snaps;

    if (ngx_http_runs_parse_sid(&ctx->path_id, sid) != NGX_OK) {
        return ngx_http_runs_send_no_session(r);
    }

    found = ngx_http_runs_store_session_runs(ctx->zone, sid, ctx->scope, r->pool, &snaps,
                                             &n);

    if (found == NGX_HTTP_RUNS_R_NO_SESSION) {
        return ngx_http_runs_send_no_session(r);
    }

    if (found != NGX_HTTP_RUNS_R_DONE) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_runs_send_runs(r, snaps, n);
}


static ngx_int_t
ngx_http_runs_session_result(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t              sid[2];
    ngx_uint_t            found;
    ngx_http_runs_out_t   o;
    ngx_http_runs_snap_t  snap;

    if (ngx_http_runs_parse_sid(&ctx->path_id, sid) != NGX_OK) {
        return ngx_http_runs_send_no_session(r);
    }

    found = ngx_http_runs_store_session_result(ctx->zone, sid, ctx->scope, r->pool,
                                               &snap);

    switch (found) {

    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_SESSION:
        return ngx_http_runs_send_no_session(r);

    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "No completed run in this session");

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_runs_out_init(&o, r->pool, 128 + snap.result.len * 2);
    ngx_http_runs_out_literal(&o, "{\"result\":");
    ngx_http_runs_out_str(&o, &snap.result);
    ngx_http_runs_out_literal(&o, ",\"run_id\":\"");
    ngx_http_runs_out_raw(&o, snap.id, NGX_HTTP_RUNS_RUN_ID_LEN);
    ngx_http_runs_out_literal(&o, "\",\"result_truncated\":");

    if (snap.result_truncated) {
        ngx_http_runs_out_literal(&o, "true}");

    } else {
        ngx_http_runs_out_literal(&o, "false}");
    }

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_session_stop(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t              sid[2];
    ngx_uint_t            found;
    ngx_array_t           stopped, cancelled;
    ngx_http_runs_out_t   o;
    u_char                text[NGX_HTTP_RUNS_SESSION_ID_LEN];

    /* a canonical text of the id, whatever case it came in */

    if (ngx_http_runs_parse_sid(&ctx->path_id, sid) != NGX_OK) {
        return ngx_http_runs_send_no_session(r);
    }

    found = ngx_http_runs_store_session_stop(ctx->zone, sid, ctx->scope, r->pool,
                                             &stopped, &cancelled);

    if (found == NGX_HTTP_RUNS_R_NO_SESSION) {
        return ngx_http_runs_send_no_session(r);
    }

    if (found != NGX_HTTP_RUNS_R_DONE) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "runs: session %V stopped: %ui run%s asked to stop, %ui "
                  "pending run%s stopped", &ctx->path_id, stopped.nelts,
                  stopped.nelts == 1 ? "" : "s", cancelled.nelts,
                  cancelled.nelts == 1 ? "" : "s");

    ngx_http_runs_out_init(&o, r->pool, 128 + (stopped.nelts + cancelled.nelts)
                                              * (NGX_HTTP_RUNS_RUN_ID_LEN + 4));
    ngx_http_runs_format_sid(text, sid);

    ngx_http_runs_out_literal(&o, "{\"ok\":true,\"session_id\":\"");
    ngx_http_runs_out_raw(&o, text, NGX_HTTP_RUNS_SESSION_ID_LEN);
    ngx_http_runs_out_literal(&o, "\",\"stopped\":");
    ngx_http_runs_out_ids(&o, &stopped);
    ngx_http_runs_out_literal(&o, ",\"cancelled\":");
    ngx_http_runs_out_ids(&o, &cancelled);
    ngx_http_runs_out_literal(&o, "}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_session_delete(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char               *p;
    uint64_t              sid[2];
    ngx_uint_t            found, nruns;
    ngx_http_runs_out_t   o;
    u_char                text[NGX_HTTP_RUNS_SESSION_ID_LEN];

    if (ngx_http_runs_parse_sid(&ctx->path_id, sid) != NGX_OK) {
        return ngx_http_runs_send_no_session(r);
    }

    nruns = 0;

    found = ngx_http_runs_store_session_delete(ctx->zone, sid, ctx->scope, &nruns);

    switch (found) {

    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_SESSION:
        return ngx_http_runs_send_no_session(r);

    default: /* NGX_HTTP_RUNS_R_ACTIVE */
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Session %V has a run claimed, running or stopping: stop "
                   "it first", &ctx->path_id);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "runs: session %V deleted with its %ui run%s",
                  &ctx->path_id, nruns, nruns == 1 ? "" : "s");

    ngx_http_runs_out_init(&o, r->pool, 128);
    p = ngx_http_runs_out_reserve(&o, 128);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_runs_format_sid(text, sid);

    ngx_http_runs_out_commit(&o, ngx_sprintf(p,
                             "{\"ok\":true,\"session_id\":\"%*s\","
                             "\"deleted_runs\":%ui}",
                             (size_t) NGX_HTTP_RUNS_SESSION_ID_LEN, text,
                             nruns));

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static void
ngx_http_runs_out_session(ngx_http_runs_out_t *o, ngx_http_runs_ssnap_t *ss)
{
    const ngx_str_t  *st;

    st = &ngx_http_runs_session_status_names[ss->status];

    ngx_http_runs_out_literal(o, "{\"session_id\":\"");
    ngx_http_runs_out_raw(o, ss->id, NGX_HTTP_RUNS_SESSION_ID_LEN);
    ngx_http_runs_out_literal(o, "\",\"session_name\":");
    ngx_http_runs_out_str(o, &ss->name);
    ngx_http_runs_out_literal(o, ",\"status\":\"");
    ngx_http_runs_out_raw(o, st->data, st->len);
    ngx_http_runs_out_literal(o, "\",\"agent_name\":");
    ngx_http_runs_out_str(o, &ss->agent_name);
    ngx_http_runs_out_literal(o, ",\"project_dir\":");
    ngx_http_runs_out_str(o, &ss->project_dir);
    ngx_http_runs_out_literal(o, ",\"parent_session_name\":");
    ngx_http_runs_out_str(o, &ss->parent);
    ngx_http_runs_out_literal(o, ",\"host\":");
    ngx_http_runs_out_str(o, &ss->host);
    ngx_http_runs_out_literal(o, ",\"created_at\":");
    ngx_http_runs_out_time(o, ss->created_at);
    ngx_http_runs_out_literal(o, ",\"updated_at\":");
    ngx_http_runs_out_time(o, ss->updated_at);
    ngx_http_runs_out_literal(o, ",\"run_count\":");
    ngx_http_runs_out_number(o, ss->run_count);
    ngx_http_runs_out_literal(o, ",\"last_run_id\":\"");
    ngx_http_runs_out_raw(o, ss->last_run_id, NGX_HTTP_RUNS_RUN_ID_LEN);
    ngx_http_runs_out_literal(o, "\"}");
}


static void
ngx_http_runs_out_ids(ngx_http_runs_out_t *o, ngx_array_t *ids)
{
    u_char      *id;
    ngx_uint_t   i;

    id = ids->elts;

    ngx_http_runs_out_literal(o, "[");

    /* they were taken newest first: oldest first here */

    for (i = ids->nelts; i > 0; i--) {
        if (i < ids->nelts) {
            ngx_http_runs_out_literal(o, ",");
        }

        ngx_http_runs_out_literal(o, "\"");
        ngx_http_runs_out_raw(o, id + (i - 1) * NGX_HTTP_RUNS_RUN_ID_LEN,
                              NGX_HTTP_RUNS_RUN_ID_LEN);
        ngx_http_runs_out_literal(o, "\"");
    }

    ngx_http_runs_out_literal(o, "]");
}


static ngx_int_t
ngx_http_runs_send_no_session(ngx_http_request_t *r)
{
    return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                     "Session not found");
}
