
/*
 * The registry (runs_launchers_api): the runners and their state, and
 * their deregistration.
 */


#include "ngx_http_runs.h"


static ngx_int_t ngx_http_runs_launchers(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_delete(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);


ngx_http_runs_route_t  ngx_http_runs_launchers_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_launchers, 0 },
    { 1, { ngx_null_string }, NGX_HTTP_DELETE, 0, ngx_http_runs_delete, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


static ngx_int_t
ngx_http_runs_launchers(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    int64_t                     now;
    ngx_uint_t                  n, i;
    ngx_http_runs_out_t         o;
    ngx_http_runs_lsnap_t      *ls;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    if (ngx_http_runs_store_launchers(ctx->zone, r->pool, &ls, &n)
        != NGX_HTTP_RUNS_R_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    now = ngx_http_runs_now();

    ngx_http_runs_out_init(&o, r->pool, 0);
    ngx_http_runs_out_literal(&o, "{\"launchers\":[");

    for (i = 0; i < n; i++) {
        if (i) {
            ngx_http_runs_out_literal(&o, ",");
        }

        ngx_http_runs_out_launcher(&o, &ls[i], now, rmcf->limits.heartbeat_timeout);
    }

    ngx_http_runs_out_literal(&o, "]}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_delete(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t              id;
    ngx_int_t             rc;
    ngx_str_t             v;
    ngx_uint_t            self;
    ngx_http_runs_out_t   o;

    self = (ngx_http_runs_get_arg(r, "self", 4, &v) == NGX_OK
            && ((v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4)
                               == 0)
                || (v.len == 1 && v.data[0] == '1')));

    if (ngx_http_runs_parse_id(&ctx->path_id, "lnch_", &id) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Launcher not found");
    }

    /* a runner removing itself proves it is that runner */
    if (self && ngx_http_runs_launcher_auth(r, ctx->zone, id, &rc) != NGX_OK) {
        return rc;
    }

    if (ngx_http_runs_store_deregister(ctx->zone, id, self)
           != NGX_HTTP_RUNS_R_DONE)
    {
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
