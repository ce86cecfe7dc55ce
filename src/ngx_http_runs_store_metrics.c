
/*
 * The zone's figures (runs_metrics, runs_health; docs/METRICS.md): what
 * the zone counts as it goes — totals of runs created, claimed and ended,
 * histograms of created→claimed and created→completed — and a copy of
 * them taken under the lock.  The copy walks the runners and the routing
 * classes (a few of each), never the runs: a scrape costs the same with
 * ten runs as with a million.
 */


#include "ngx_http_runs_zone.h"


/* the buckets' upper bounds, in ms */
const ngx_msec_t  ngx_http_runs_hist_bounds[NGX_HTTP_RUNS_HIST_N] = {
    10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
    900000, 3600000
};


/* one time into a histogram (under the lock) */

void
ngx_http_runs_observe(ngx_http_runs_hist_t *h, int64_t ms)
{
    ngx_uint_t  i;

    if (ms < 0) {
        ms = 0;
    }

    for (i = 0; i < NGX_HTTP_RUNS_HIST_N; i++) {
        if ((ngx_msec_t) ms <= ngx_http_runs_hist_bounds[i]) {
            break;
        }
    }

    h->bucket[i]++;
    h->sum_ms += (uint64_t) ms;
    h->count++;
}


void
ngx_http_runs_store_metrics(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_metrics_t *m)
{
    int64_t                    now, oldest;
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    ngx_rbtree_node_t         *node;
    ngx_http_runs_run_t       *run;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_rclass_t    *c;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;
    now = ngx_http_runs_now();

    ngx_memzero(m, sizeof(ngx_http_runs_metrics_t));

    ngx_shmtx_lock(&zone->shpool->mutex);

    ngx_memcpy(m->nstatus, sh->nstatus, sizeof(m->nstatus));
    ngx_memcpy(m->ended, sh->ended_total, sizeof(m->ended));
    ngx_memcpy(m->held, sh->nheld, sizeof(m->held));

    m->nsessions = sh->nsessions;
    m->created = sh->created_total;
    m->claims = sh->claims_total;
    m->overdue = sh->overdue_total;
    m->evicted = sh->evicted;
    m->logs_evicted = sh->logs_evicted;
    m->claims_expired = sh->claims_expired;
    m->callbacks = sh->callbacks;
    m->queued = sh->nready;
    m->full = sh->full;
    m->claim = sh->hist_claim;
    m->done = sh->hist_done;

    /* the oldest claimable run: the oldest of each class's oldest */
    oldest = -1;

    for (q = ngx_queue_head(&sh->class_list);
         q != ngx_queue_sentinel(&sh->class_list);
         q = ngx_queue_next(q))
    {
        c = ngx_queue_data(q, ngx_http_runs_rclass_t, link);

        if (c->nready == 0) {
            continue;
        }

        node = ngx_rbtree_min(c->ready.root, c->ready.sentinel);
        run = (ngx_http_runs_run_t *)
                  ((u_char *) node - offsetof(ngx_http_runs_run_t, ready));

        if (oldest == -1 || run->created_at < oldest) {
            oldest = run->created_at;
        }
    }

    m->oldest_ms = (oldest == -1) ? -1 : ngx_max(now - oldest, 0);

    for (q = ngx_queue_head(&sh->launcher_list);
         q != ngx_queue_sentinel(&sh->launcher_list);
         q = ngx_queue_next(q))
    {
        lr = ngx_queue_data(q, ngx_http_runs_launcher_t, list);

        /* as GET /launchers tells them */
        if (now - lr->last_heartbeat > (int64_t) lim->heartbeat_timeout) {
            m->runners_stale++;

        } else {
            m->runners_online++;
        }
    }

    m->zone_free = zone->shpool->pfree * ngx_pagesize;
    m->evictable = m->nstatus[NGX_HTTP_RUNS_COMPLETED]
                   + m->nstatus[NGX_HTTP_RUNS_FAILED]
                   + m->nstatus[NGX_HTTP_RUNS_STOPPED];

    ngx_shmtx_unlock(&zone->shpool->mutex);

    m->zone_size = zone->size;
    m->callbacks_refused = sh->callbacks_refused.total;

    for (i = 0; i < NGX_HTTP_RUNS_REFUSED_N; i++) {
        m->refused[i] = sh->refused[i].total;
    }

    m->retired = sh->retired;
    m->journal_pending = sh->jpending;

    if (zone->jconf) {
        m->journal = sh->jfailing ? 2 : 1;
    }
}
