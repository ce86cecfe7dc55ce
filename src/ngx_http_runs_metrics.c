
/*
 * runs_metrics: the zone's figures in the Prometheus text exposition
 * format (version 0.0.4; docs/METRICS.md names every series).  Each
 * series carries the zone's name as label "zone", so that one scrape
 * config can read several zones.
 */


#include "ngx_http_runs.h"


static ngx_int_t ngx_http_runs_metrics(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static void ngx_http_runs_metrics_totals(ngx_http_runs_out_t *o,
    ngx_str_t *z, ngx_http_runs_metrics_t *m);
static void ngx_http_runs_metric_head(ngx_http_runs_out_t *o,
    const char *name, const char *type, const char *help);
static void ngx_http_runs_metric(ngx_http_runs_out_t *o, ngx_str_t *zone,
    const char *name, const char *label, const char *value, uint64_t n);
static void ngx_http_runs_metric_secs(ngx_http_runs_out_t *o,
    ngx_str_t *zone, const char *name, uint64_t ms);
static void ngx_http_runs_metric_hist(ngx_http_runs_out_t *o,
    ngx_str_t *zone, const char *name, const char *help,
    ngx_http_runs_hist_t *h);


ngx_http_runs_route_t  ngx_http_runs_metrics_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_metrics, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


static const char  *ngx_http_runs_refused_names[] = {
    "zone_full", "max_waiters", "max_polls", "max_waits", "max_follows",
    "max_streams"
};

static const char  *ngx_http_runs_held_names[] = {
    NULL, "poll", "wait", "follow", "events"
};


#define ngx_http_runs_metric1(o, zone, name, type, help, n)                  \
    ngx_http_runs_metric_head(o, name, type, help);                          \
    ngx_http_runs_metric(o, zone, name, NULL, NULL, n)


static ngx_int_t
ngx_http_runs_metrics(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_str_t                 *z;
    ngx_uint_t                 i;
    ngx_http_runs_out_t        o;
    ngx_http_runs_metrics_t    m;
    ngx_http_runs_main_conf_t *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    z = &ctx->zone->name;

    ngx_http_runs_store_metrics(ctx->zone, &rmcf->limits, &m);

    ngx_http_runs_out_init(&o, r->pool, 8192);

    ngx_http_runs_metric_head(&o, "runs_runs", "gauge",
                              "Runs in the zone, by status.");

    for (i = 0; i < NGX_HTTP_RUNS_NSTATUS; i++) {
        ngx_http_runs_metric(&o, z, "runs_runs", "status",
                             (char *) ngx_http_runs_status_names[i].data,
                             m.nstatus[i]);
    }

    ngx_http_runs_metric1(&o, z, "runs_sessions", "gauge",
                          "Sessions in the zone.", m.nsessions);
    ngx_http_runs_metrics_totals(&o, z, &m);

    ngx_http_runs_metric1(&o, z, "runs_queue_depth", "gauge",
                          "Runs a runner could claim now (the first live "
                          "run of each session, pending).", m.queued);
    ngx_http_runs_metric_head(&o, "runs_queue_oldest_age_seconds", "gauge",
                              "Age of the oldest run a runner could claim "
                              "now; 0 when there is none.");
    ngx_http_runs_metric_secs(&o, z, "runs_queue_oldest_age_seconds",
                              m.oldest_ms > 0 ? (uint64_t) m.oldest_ms : 0);

    ngx_http_runs_metric_head(&o, "runs_runners", "gauge",
                              "Registered runners, online or stale (silent "
                              "beyond runs_heartbeat_timeout).");
    ngx_http_runs_metric(&o, z, "runs_runners", "state", "online",
                         m.runners_online);
    ngx_http_runs_metric(&o, z, "runs_runners", "state", "stale",
                         m.runners_stale);

    ngx_http_runs_metric_head(&o, "runs_held_requests", "gauge",
                              "Requests held open, by kind.");

    for (i = 1; i < NGX_HTTP_RUNS_WAIT_KINDS; i++) {
        ngx_http_runs_metric(&o, z, "runs_held_requests", "kind",
                             ngx_http_runs_held_names[i], m.held[i]);
    }

    ngx_http_runs_metric_head(&o, "runs_refused_total", "counter",
                              "Requests answered 503, by reason.");

    for (i = 0; i < NGX_HTTP_RUNS_REFUSED_N; i++) {
        ngx_http_runs_metric(&o, z, "runs_refused_total", "reason",
                             ngx_http_runs_refused_names[i], m.refused[i]);
    }

    ngx_http_runs_metric1(&o, z, "runs_zone_size_bytes", "gauge",
                          "Size of the shared memory zone.", m.zone_size);
    ngx_http_runs_metric1(&o, z, "runs_zone_free_bytes", "gauge",
                          "Bytes of the zone in free pages.", m.zone_free);

    ngx_http_runs_metric1(&o, z, "runs_zone_full", "gauge",
                          "1 since a run was refused for want of room, "
                          "until a run is made or freed; else 0.", m.full);

    if (m.journal) {
        ngx_http_runs_metric1(&o, z, "runs_journal_failing", "gauge",
                              "1 while the journal's writes fail (changes "
                              "are refused), else 0.", m.journal == 2);
        ngx_http_runs_metric1(&o, z, "runs_journal_pending_changes", "gauge",
                              "Changes made and not yet written to the "
                              "journal.", m.journal_pending);
    }

    ngx_http_runs_metric_hist(&o, z, "runs_claim_latency_seconds",
                              "Time from a run's creation to its claim.",
                              &m.claim);
    ngx_http_runs_metric_hist(&o, z, "runs_completion_seconds",
                              "Time from a run's creation to its end, for "
                              "runs that completed.", &m.done);

    ngx_str_set(&r->headers_out.content_type,
                "text/plain; version=0.0.4; charset=utf-8");

    /* (a blank last line, which the format ignores) */
    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


/* the counters of runs created, claimed, ended and given up */

static void
ngx_http_runs_metrics_totals(ngx_http_runs_out_t *o, ngx_str_t *z,
    ngx_http_runs_metrics_t *m)
{
    ngx_http_runs_metric1(o, z, "runs_created_total", "counter",
                          "Runs created.", m->created);
    ngx_http_runs_metric1(o, z, "runs_claimed_total", "counter",
                          "Claims of runs by runners (a claim taken back "
                          "and made again counts twice).", m->claims);
    ngx_http_runs_metric1(o, z, "runs_completed_total", "counter",
                          "Runs that ended completed.",
                          m->ended[NGX_HTTP_RUNS_COMPLETED]);
    ngx_http_runs_metric1(o, z, "runs_failed_total", "counter",
                          "Runs that ended failed.",
                          m->ended[NGX_HTTP_RUNS_FAILED]);
    ngx_http_runs_metric1(o, z, "runs_stopped_total", "counter",
                          "Runs that ended stopped.",
                          m->ended[NGX_HTTP_RUNS_STOPPED]);
    ngx_http_runs_metric1(o, z, "runs_demand_timeouts_total", "counter",
                          "Runs failed because no runner offered what they "
                          "demand within runs_demand_timeout.", m->overdue);
    ngx_http_runs_metric1(o, z, "runs_evicted_total", "counter",
                          "Finished runs given up before runs_retention "
                          "to make room.", m->evicted);
    ngx_http_runs_metric1(o, z, "runs_logs_evicted_total", "counter",
                          "Logs of finished runs given up to make room.",
                          m->logs_evicted);
    ngx_http_runs_metric1(o, z, "runs_claims_expired_total", "counter",
                          "Claims not confirmed within runs_claim_timeout, "
                          "taken back.", m->claims_expired);
    ngx_http_runs_metric1(o, z, "runs_callbacks_total", "counter",
                          "Callback runs made for a parent session.",
                          m->callbacks);
    ngx_http_runs_metric1(o, z, "runs_callbacks_refused_total", "counter",
                          "Callbacks not made for want of room.",
                          m->callbacks_refused);
}


static void
ngx_http_runs_metric_head(ngx_http_runs_out_t *o, const char *name,
    const char *type, const char *help)
{
    u_char  *p;

    p = ngx_http_runs_out_reserve(o, 2 * ngx_strlen(name) + ngx_strlen(type)
                                     + ngx_strlen(help) + 32);
    if (p == NULL) {
        return;
    }

    ngx_http_runs_out_commit(o, ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n",
                                            name, help, name, type));
}


/* one sample: name{zone="Z"[,label="value"]} n */

static void
ngx_http_runs_metric(ngx_http_runs_out_t *o, ngx_str_t *zone,
    const char *name, const char *label, const char *value, uint64_t n)
{
    u_char  *p;

    p = ngx_http_runs_out_reserve(o, ngx_strlen(name) + zone->len + 64
                                     + (label ? ngx_strlen(label)
                                                + ngx_strlen(value) : 0));
    if (p == NULL) {
        return;
    }

    p = ngx_sprintf(p, "%s{zone=\"%V\"", name, zone);

    if (label) {
        p = ngx_sprintf(p, ",%s=\"%s\"", label, value);
    }

    ngx_http_runs_out_commit(o, ngx_sprintf(p, "} %uL\n", n));
}


/* one sample of a time in seconds, from ms */

static void
ngx_http_runs_metric_secs(ngx_http_runs_out_t *o, ngx_str_t *zone,
    const char *name, uint64_t ms)
{
    u_char  *p;

    p = ngx_http_runs_out_reserve(o, ngx_strlen(name) + zone->len + 64);
    if (p == NULL) {
        return;
    }

    ngx_http_runs_out_commit(o, ngx_sprintf(p, "%s{zone=\"%V\"} %uL.%03uL\n",
                                            name, zone, ms / 1000,
                                            ms % 1000));
}


/* a histogram: cumulative buckets in seconds, the sum, the count */

static void
ngx_http_runs_metric_hist(ngx_http_runs_out_t *o, ngx_str_t *zone,
    const char *name, const char *help, ngx_http_runs_hist_t *h)
{
    u_char      *p;
    ngx_msec_t   b;
    ngx_uint_t   i, cum;

    ngx_http_runs_metric_head(o, name, "histogram", help);

    cum = 0;

    for (i = 0; i <= NGX_HTTP_RUNS_HIST_N; i++) {
        cum += h->bucket[i];

        p = ngx_http_runs_out_reserve(o, ngx_strlen(name) + zone->len + 96);
        if (p == NULL) {
            return;
        }

        if (i == NGX_HTTP_RUNS_HIST_N) {
            p = ngx_sprintf(p, "%s_bucket{zone=\"%V\",le=\"+Inf\"} %ui\n",
                            name, zone, cum);

        } else {
            b = ngx_http_runs_hist_bounds[i];
            p = ngx_sprintf(p, "%s_bucket{zone=\"%V\",le=\"%M.%03M\"} %ui\n",
                            name, zone, b / 1000, b % 1000, cum);
        }

        ngx_http_runs_out_commit(o, p);
    }

    p = ngx_http_runs_out_reserve(o, 2 * ngx_strlen(name) + 2 * zone->len
                                     + 96);
    if (p == NULL) {
        return;
    }

    p = ngx_sprintf(p, "%s_sum{zone=\"%V\"} %uL.%03uL\n", name, zone,
                    h->sum_ms / 1000, h->sum_ms % 1000);
    p = ngx_sprintf(p, "%s_count{zone=\"%V\"} %ui\n", name, zone, h->count);

    ngx_http_runs_out_commit(o, p);
}
