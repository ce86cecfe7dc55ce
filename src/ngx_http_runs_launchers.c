
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
ngx_http_runs_delete(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
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
