
/*
 * runs_health: a load balancer's check of a zone (docs/METRICS.md).  200
 * {"status": "healthy", ...} while the zone can take a run; 503
 * {"status": "unhealthy", "reason": ...} when it cannot: its journal's
 * writes fail (changes are refused), the zone was replaced by a resize
 * and this process has not moved to the new one yet, or it is full of
 * live runs (a run was refused for want of room, with nothing finished
 * to give up, and no run has been made or freed since).
 */


#include "ngx_http_runs.h"


static ngx_int_t ngx_http_runs_health(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);


ngx_http_runs_route_t  ngx_http_runs_health_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_health, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


static ngx_int_t
ngx_http_runs_health(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char                     *p;
    ngx_uint_t                  live, i, status;
    const char                 *reason;
    ngx_http_runs_out_t         o;
    ngx_http_runs_metrics_t     m;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    ngx_http_runs_store_metrics(ctx->zone, &rmcf->limits, &m);

    live = 0;

    for (i = 0; i < NGX_HTTP_RUNS_NSTATUS; i++) {
        live += m.nstatus[i];
    }

    live -= m.evictable;

    reason = NULL;

    if (m.journal == 2) {
        reason = "the journal's writes fail: changes are refused";

    } else if (m.retired) {
        reason = "the zone is being replaced (a resize on reload)";

    } else if (m.full) {
        reason = "the zone is full of live runs";
    }

    status = reason ? NGX_HTTP_SERVICE_UNAVAILABLE : NGX_HTTP_OK;

    ngx_http_runs_out_init(&o, r->pool, 512);

    p = ngx_http_runs_out_reserve(&o, 384 + ctx->zone->name.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(p, "{\"status\":\"%s\",", reason ? "unhealthy"
                                                      : "healthy");

    ngx_http_runs_out_commit(&o, p);

    if (reason) {
        ngx_http_runs_out_literal(&o, "\"reason\":\"");
        ngx_http_runs_out_raw(&o, reason, ngx_strlen(reason));
        ngx_http_runs_out_literal(&o, "\",");
    }

    ngx_http_runs_out_literal(&o, "\"zone\":");
    ngx_http_runs_out_str(&o, &ctx->zone->name);

    p = ngx_http_runs_out_reserve(&o, 6 * NGX_INT_T_LEN + 192);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(p, ",\"zone_bytes\":%uz,\"zone_free_bytes\":%uz,"
                    "\"live_runs\":%ui,\"finished_runs\":%ui,"
                    "\"queue_depth\":%ui,\"runners_online\":%ui,"
                    "\"journal\":\"%s\"}",
                    m.zone_size, m.zone_free, live, m.evictable, m.queued,
                    m.runners_online,
                    m.journal == 0 ? "none"
                                   : (m.journal == 1 ? "ok" : "failing"));

    ngx_http_runs_out_commit(&o, p);

    if (status != NGX_HTTP_OK) {
        (void) ngx_http_runs_add_retry_after(r);
    }

    return ngx_http_runs_send_out(r, status, &o);
}
