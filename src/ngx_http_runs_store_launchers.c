
/*
 * Launchers (the runners), the claim, and the sweep: a launcher
 * registers, polls (a poll claims the oldest claimable run, or hands over
 * the stops queued for it), heartbeats and deregisters; the sweep, once a
 * second for the whole zone, removes launchers that went silent (their
 * runs fail or go back to the queue), takes back claims never confirmed,
 * and drops finished runs past runs_retention.
 */


#include "ngx_http_runs_zone.h"


/* launchers lost and claims taken back by one sweep, logged after it */
#define NGX_HTTP_RUNS_SWEEP_LOGGED  8

typedef struct {
    ngx_uint_t                  nlost;
    ngx_uint_t                  nexpired;
    ngx_uint_t                  noverdue;
} ngx_http_runs_sweep_t;


/* a run's key, then the words of its error (the lock's holder's only) */
static u_char  ngx_http_runs_overdue_buf[2 * NGX_HTTP_RUNS_KEY_MAX];


static ngx_http_runs_launcher_t *ngx_http_runs_register_locked(
    ngx_http_runs_zone_t *zone, ngx_str_t *hostname, ngx_str_t *project_dir,
    ngx_str_t *executor_type, ngx_str_t *agents, ngx_str_t *tags,
    u_char *token, uint64_t *scope);
static void ngx_http_runs_heard_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr, int64_t now, ngx_http_runs_after_t *af);
static void ngx_http_runs_remove_launcher_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t note,
    ngx_http_runs_after_t *af);
static void ngx_http_runs_expire_claims_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, int64_t now, ngx_msec_t timeout,
    ngx_http_runs_sweep_t *sw, ngx_http_runs_after_t *af);
static void ngx_http_runs_fail_overdue_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, int64_t now, ngx_http_runs_sweep_t *sw,
    ngx_http_runs_after_t *af);
static void ngx_http_runs_maintain_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, int64_t now, ngx_http_runs_sweep_t *sw,
    ngx_http_runs_after_t *af);




static ngx_http_runs_launcher_t *
ngx_http_runs_register_locked(ngx_http_runs_zone_t *zone, ngx_str_t *hostname,
    ngx_str_t *project_dir, ngx_str_t *executor_type, ngx_str_t *agents,
    ngx_str_t *tags, u_char *token, uint64_t *scope)
{
    u_char                    *p;
    size_t                     size;
    uint64_t                   id;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;

    size = sizeof(ngx_http_runs_launcher_t) + hostname->len
           + project_dir->len + executor_type->len + agents->len + tags->len;

    lr = ngx_http_runs_alloc_locked(zone, size, NULL);
    if (lr == NULL) {
        return NULL;
    }

    ngx_memzero(lr, sizeof(ngx_http_runs_launcher_t));

    p = (u_char *) lr + sizeof(ngx_http_runs_launcher_t);
    p = ngx_http_runs_copy_str(p, &lr->hostname, hostname);
    p = ngx_http_runs_copy_str(p, &lr->project_dir, project_dir);
    p = ngx_http_runs_copy_str(p, &lr->executor_type, executor_type);
    p = ngx_http_runs_copy_str(p, &lr->agents, agents);
    (void) ngx_http_runs_copy_str(p, &lr->tags, tags);

    lr->seq = ++sh->launcher_seq;

    /* drawn apart from run ids: launcher k's id tells nothing of run k's */
    id = ngx_http_runs_permute_id(sh, NGX_HTTP_RUNS_LAUNCHER_SEQ | lr->seq);
    lr->node.key = id;
    ngx_http_runs_make_id(lr->id, "lnch_", 5, id);

    lr->registered_at = ngx_http_runs_now();
    lr->last_heartbeat = lr->registered_at;

    ngx_http_runs_token_hash(sh, token, lr->token);
    lr->has_token = 1;

    if (scope) {
        lr->scope[0] = scope[0];
        lr->scope[1] = scope[1];
    }

    ngx_http_runs_link_launcher_locked(sh, lr);

    return lr;
}


/* a launcher whose id is set joins the zone's tree and list */

void
ngx_http_runs_link_launcher_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr)
{
    ngx_queue_init(&lr->runs);
    ngx_queue_init(&lr->stops);
    ngx_queue_init(&lr->waiters);

    ngx_rbtree_insert(&sh->launchers, &lr->node);
    ngx_queue_insert_tail(&sh->launcher_list, &lr->list);
    sh->nlaunchers++;

    /* the classes of runs it takes are offered now (not by one told to go) */
    if (!lr->deregister) {
        ngx_http_runs_offer_locked(sh, lr, 1);
    }
}



static void
ngx_http_runs_remove_launcher_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t note,
    ngx_http_runs_after_t *af)
{
    int64_t                 now;
    ngx_queue_t            *q;
    ngx_http_runs_run_t    *run;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;
    now = ngx_http_runs_now();

    while (!ngx_queue_empty(&lr->runs)) {
        q = ngx_queue_head(&lr->runs);
        run = ngx_queue_data(q, ngx_http_runs_run_t, owned);

        if (run->status == NGX_HTTP_RUNS_CLAIMED) {
            ngx_http_runs_requeue_locked(zone, run, af);
            continue;
        }

        /* a fixed text: nothing to allocate */
        run->error_note = note;

        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_FAILED, now,
                                        af);
    }

    /* held polls answer {"deregistered": true} */
    ngx_http_runs_notify_all_locked(sh, &lr->waiters, 1, af);

    ngx_http_runs_mark_launcher(af, lr);
    ngx_http_runs_event_launcher_locked(sh, NGX_HTTP_RUNS_E_LAUNCHER_REMOVED,
                                        lr, af);

    ngx_rbtree_delete(&sh->launchers, &lr->node);
    ngx_queue_remove(&lr->list);
    sh->nlaunchers--;

    if (!lr->deregister) {
        ngx_http_runs_offer_locked(sh, lr, -1);
    }

    ngx_slab_free_locked(zone->shpool, lr);
}



ngx_int_t
ngx_http_runs_poll_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t claim, ngx_pool_t *pool,
    ngx_http_runs_poll_t *p, ngx_http_runs_after_t *af)
{
    size_t                  n;
    uint64_t                prev_key;
    ngx_str_t              *s;
    ngx_queue_t            *q;
    ngx_http_runs_run_t    *run;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;

    if (lr == NULL) {
        p->what = NGX_HTTP_RUNS_POLL_DEREGISTERED;
        return NGX_OK;
    }

    ngx_http_runs_heard_locked(sh, lr, ngx_http_runs_now(), af);

    if (lr->deregister) {
        p->what = NGX_HTTP_RUNS_POLL_DEREGISTERED;
        ngx_http_runs_remove_launcher_locked(zone, lr,
                                             NGX_HTTP_RUNS_NOTE_DEREGISTERED,
                                             af);
        return NGX_OK;
    }

    if (!ngx_queue_empty(&lr->stops)) {
        n = 0;
        for (q = ngx_queue_head(&lr->stops);
             q != ngx_queue_sentinel(&lr->stops);
             q = ngx_queue_next(q))
        {
            n++;
        }

        p->stops = ngx_array_create(pool, n, sizeof(ngx_str_t));
        if (p->stops == NULL) {
            return NGX_ERROR;
        }

        for (q = ngx_queue_head(&lr->stops);
             q != ngx_queue_sentinel(&lr->stops);
             q = ngx_queue_next(q))
        {
            run = ngx_queue_data(q, ngx_http_runs_run_t, stop);

            s = ngx_array_push(p->stops);
            s->len = NGX_HTTP_RUNS_RUN_ID_LEN;
            s->data = ngx_pnalloc(pool, NGX_HTTP_RUNS_RUN_ID_LEN);
            if (s->data == NULL) {
                return NGX_ERROR;
            }

            ngx_http_runs_run_id(s->data, run);
        }

        /* handed over: a stop repeated by a client queues it again */
        while (!ngx_queue_empty(&lr->stops)) {
            q = ngx_queue_head(&lr->stops);
            run = ngx_queue_data(q, ngx_http_runs_run_t, stop);
            ngx_http_runs_unqueue_stop_locked(run);
        }

        p->what = NGX_HTTP_RUNS_POLL_STOPS;
        return NGX_OK;
    }

    /* the oldest claimable run this runner can take (routing) */
    run = claim ? ngx_http_runs_ready_for_locked(sh, lr) : NULL;

    if (run == NULL) {
        p->what = NGX_HTTP_RUNS_POLL_NOTHING;
        return NGX_OK;
    }

    prev_key = run->launcher_key;
    run->claimed_at = ngx_http_runs_stamp_locked(sh, ngx_http_runs_now());
    run->launcher_key = lr->node.key;
    run->has_launcher_id = 1;
    run->launcher = lr;
    ngx_queue_insert_tail(&lr->runs, &run->owned);

    ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_CLAIMED, 0,
                                    af);

    /* a session's resumes go where its first run went (affinity) */
    ngx_http_runs_pin_host_locked(zone, run, lr, af);

    if (ngx_http_runs_snap_locked(sh, run, pool, &p->run) != NGX_OK
        || ngx_http_runs_blueprint_text_locked(sh, &p->run.agent_name, pool,
                                               &p->run.blueprint)
           != NGX_OK)
    {
        /* a claim whose answer cannot be written is undone */
        ngx_http_runs_detach_locked(run);
        run->launcher_key = prev_key;
        run->has_launcher_id = 0;
        run->claimed_at = 0;

        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_PENDING, 0,
                                        af);
        ngx_http_runs_make_ready_locked(zone, run->session, af);

        return NGX_ERROR;
    }

    run->requeued = 0;

    p->what = NGX_HTTP_RUNS_POLL_RUN;

    return NGX_OK;
}



/*
 * A claim its launcher has not confirmed with "started" in time is taken
 * back: the answer that carried it may never have reached the runner (a
 * client that hung up, a proxy's timeout, a worker that died between the
 * claim and the write).  A claimed run goes back to the head of the queue;
 * one stopped before it was confirmed is stopped for good.  The launcher's
 * late "started" is refused (409), so the run is executed by one runner
 * only.  See docs/adr/0004-lost-claims.md.
 */

static void
ngx_http_runs_expire_claims_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, int64_t now, ngx_msec_t timeout,
    ngx_http_runs_sweep_t *sw, ngx_http_runs_after_t *af)
{
    u_char                id[NGX_HTTP_RUNS_RUN_ID_LEN];
    ngx_queue_t          *q, *next;
    ngx_http_runs_run_t  *run;

    for (q = ngx_queue_head(&lr->runs);
         q != ngx_queue_sentinel(&lr->runs);
         q = next)
    {
        next = ngx_queue_next(q);
        run = ngx_queue_data(q, ngx_http_runs_run_t, owned);

        if (run->started_at || now - run->claimed_at < (int64_t) timeout) {
            continue;
        }

        if (sw->nexpired++ < NGX_HTTP_RUNS_SWEEP_LOGGED) {
            ngx_http_runs_run_id(id, run);
            ngx_http_runs_after_log(af, NGX_LOG_WARN,
                                    "runs_zone \"%V\": run %*s was claimed "
                                    "by launcher %*s, which did not confirm "
                                    "it within runs_claim_timeout (%M ms): "
                                    "taken back", &zone->name,
                                    (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id,
                                    (size_t) NGX_HTTP_RUNS_LAUNCHER_ID_LEN,
                                    lr->id, timeout);
        }

        zone->sh->claims_expired++;

        if (run->status == NGX_HTTP_RUNS_CLAIMED) {
            ngx_http_runs_requeue_locked(zone, run, af);
            continue;
        }

        /* stopping before it started: nothing runs it, it is stopped */
        run->requeued = 1;
        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_STOPPED, now,
                                        af);
    }
}



/*
 * Runner loss and retention, run from the workers' timer; "now" is the
 * caller's clock so every worker judges alike.
 */

/* a runner was heard from: one told stale is online again */

static void
ngx_http_runs_heard_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr, int64_t now, ngx_http_runs_after_t *af)
{
    lr->last_heartbeat = now;

    if (lr->stale) {
        lr->stale = 0;
        ngx_http_runs_event_launcher_locked(sh,
                                            NGX_HTTP_RUNS_E_LAUNCHER_ONLINE,
                                            lr, af);
    }
}


static void
ngx_http_runs_maintain_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, int64_t now, ngx_http_runs_sweep_t *sw,
    ngx_http_runs_after_t *af)
{
    ngx_uint_t                 n;
    ngx_queue_t               *q, *next;
    ngx_http_runs_run_t       *run;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;

    for (q = ngx_queue_head(&sh->launcher_list);
         q != ngx_queue_sentinel(&sh->launcher_list);
         q = next)
    {
        next = ngx_queue_next(q);
        lr = ngx_queue_data(q, ngx_http_runs_launcher_t, list);

        if (lim->claim_timeout) {
            ngx_http_runs_expire_claims_locked(zone, lr, now,
                                               lim->claim_timeout, sw, af);
        }

        if (lr->nwaiters) {
            /* a held poll is a live runner */
            ngx_http_runs_heard_locked(sh, lr, now, af);
            continue;
        }

        if (!lr->stale
            && now - lr->last_heartbeat > (int64_t) lim->heartbeat_timeout)
        {
            lr->stale = 1;
            ngx_http_runs_event_launcher_locked(sh,
                                                NGX_HTTP_RUNS_E_LAUNCHER_STALE,
                                                lr, af);
        }

        if (now - lr->last_heartbeat > (int64_t) lim->launcher_expiry) {
            if (sw->nlost++ < NGX_HTTP_RUNS_SWEEP_LOGGED) {
                ngx_http_runs_after_log(af, NGX_LOG_WARN,
                                        "runs_zone \"%V\": launcher %*s "
                                        "silent for %L ms, removed: "
                                        "launcher lost", &zone->name,
                                        (size_t)
                                            NGX_HTTP_RUNS_LAUNCHER_ID_LEN,
                                        lr->id, now - lr->last_heartbeat);
            }

            ngx_http_runs_remove_launcher_locked(zone, lr,
                                                 NGX_HTTP_RUNS_NOTE_LOST,
                                                 af);
        }
    }

    if (lim->demand_timeout) {
        ngx_http_runs_fail_overdue_locked(zone, lim, now, sw, af);
    }

    for (n = 0; n < NGX_HTTP_RUNS_MAINT_BATCH; n++) {

        if (ngx_queue_empty(&sh->finished)) {
            break;
        }

        q = ngx_queue_head(&sh->finished);
        run = ngx_queue_data(q, ngx_http_runs_run_t, state);

        if (now - run->completed_at < (int64_t) lim->retention) {
            break;
        }

        ngx_http_runs_free_run_locked(zone, run, NULL);
    }
}



/*
 * Runs that demand what no registered runner has offered for
 * runs_demand_timeout fail, saying what was missing (a few hundred per
 * sweep: the rest at the next one, a second later).
 */

static void
ngx_http_runs_fail_overdue_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, int64_t now, ngx_http_runs_sweep_t *sw,
    ngx_http_runs_after_t *af)
{
    u_char                  *p, *last, *text;
    ngx_str_t                error;
    ngx_uint_t               i, n, affine;
    ngx_http_runs_run_t     *runs[NGX_HTTP_RUNS_MAINT_BATCH];
    ngx_http_runs_kparts_t   kp;

    text = ngx_http_runs_overdue_buf;

    n = ngx_http_runs_overdue_locked(zone->sh, now, lim->demand_timeout,
                                     runs, NGX_HTTP_RUNS_MAINT_BATCH);

    for (i = 0; i < n; i++) {
        ngx_http_runs_run_key(runs[i], text, &affine);
        ngx_http_runs_key_parts(text, &kp);

        /* the words go after the key, in the same buffer */
        p = text + NGX_HTTP_RUNS_KEY_MAX;
        last = text + sizeof(ngx_http_runs_overdue_buf);

        error.data = p;
        p = ngx_slprintf(p, last, "no runner could take this run: ");
        p = ngx_http_runs_demand_text(p, last, &kp, affine);
        p = ngx_slprintf(p, last, " was not registered for %M ms "
                         "(runs_demand_timeout)%s", lim->demand_timeout,
                         affine ? "; a resume with \"affinity\": false may "
                                  "run on another host" : "");
        error.len = p - error.data;

        sw->noverdue++;
        zone->sh->overdue_total++;

        ngx_http_runs_fail_locked(zone, runs[i], &error, now, af);
    }
}


/*
 * The sweep, from every worker's timer; it runs at most once a second for
 * the whole zone (next_maintenance decides which worker does).  What it
 * did is logged after the lock is released.
 */

void
ngx_http_runs_store_maintain(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim)
{
    int64_t                 now;
    ngx_http_runs_after_t   af;
    ngx_http_runs_sweep_t   sw;

    now = ngx_http_runs_now();
    sw.nlost = 0;
    sw.nexpired = 0;
    sw.noverdue = 0;

    ngx_http_runs_lock(zone, &af);

    /*
     * a tenth of slack: the timer runs on the monotonic clock, "now" is
     * the wall clock; a tick a few ms early must not skip a whole second
     */
    if (now >= zone->sh->next_maintenance) {
        zone->sh->next_maintenance = now + NGX_HTTP_RUNS_MAINT_INTERVAL
                                     - NGX_HTTP_RUNS_MAINT_INTERVAL / 10;
        ngx_http_runs_maintain_locked(zone, lim, now, &sw, &af);
    }

    if (sw.nlost > NGX_HTTP_RUNS_SWEEP_LOGGED) {
        ngx_http_runs_after_log(&af, NGX_LOG_WARN,
                                "runs_zone \"%V\": %ui more launchers "
                                "removed: launcher lost", &zone->name,
                                sw.nlost - NGX_HTTP_RUNS_SWEEP_LOGGED);
    }

    if (sw.nexpired > NGX_HTTP_RUNS_SWEEP_LOGGED) {
        ngx_http_runs_after_log(&af, NGX_LOG_WARN,
                                "runs_zone \"%V\": %ui more unconfirmed "
                                "claims taken back", &zone->name,
                                sw.nexpired - NGX_HTTP_RUNS_SWEEP_LOGGED);
    }

    if (sw.noverdue) {
        ngx_http_runs_after_log(&af, NGX_LOG_WARN,
                                "runs_zone \"%V\": %ui runs failed: no "
                                "registered runner offered what they demand "
                                "within runs_demand_timeout", &zone->name,
                                sw.noverdue);
    }

    ngx_http_runs_unlock(&af);
}



ngx_uint_t
ngx_http_runs_store_register(ngx_http_runs_zone_t *zone, ngx_str_t *hostname,
    ngx_str_t *project_dir, ngx_str_t *executor_type, ngx_str_t *agents,
    ngx_str_t *tags, u_char *token, uint64_t *scope, u_char *id)
{
    ngx_http_runs_after_t      af;
    ngx_http_runs_launcher_t  *lr;

    ngx_http_runs_lock(zone, &af);

    lr = ngx_http_runs_register_locked(zone, hostname, project_dir,
                                       executor_type, agents, tags, token,
                                       scope);
    if (lr) {
        ngx_memcpy(id, lr->id, NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
        ngx_http_runs_mark_launcher(&af, lr);
        ngx_http_runs_event_launcher_locked(zone->sh,
                                        NGX_HTTP_RUNS_E_LAUNCHER_REGISTERED,
                                        lr, &af);
    }

    ngx_http_runs_unlock(&af);

    return lr ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_REFUSED;
}



/*
 * Whether "token" (given: sent at all) is launcher id's; the keyed hashes
 * compared in constant time.  A launcher restored from a journal written
 * before tokens has none: it registers again.
 */

ngx_uint_t
ngx_http_runs_store_launcher_auth(ngx_http_runs_zone_t *zone, uint64_t id,
    u_char *token, ngx_uint_t given)
{
    uint64_t                   hash[2], diff;
    ngx_uint_t                 rc;
    ngx_http_runs_launcher_t  *lr;

    /* the zone's key is set before any request: hashed outside the lock */
    ngx_http_runs_token_hash(zone->sh, token, hash);

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);

    if (lr == NULL) {
        rc = NGX_HTTP_RUNS_R_NO_LAUNCHER;

    } else {
        diff = (hash[0] ^ lr->token[0]) | (hash[1] ^ lr->token[1]);

        rc = (diff == 0 && given && lr->has_token) ? NGX_HTTP_RUNS_R_DONE
                                                    : NGX_HTTP_RUNS_R_BAD_TOKEN;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}



/* is this launcher registered; with "beat", it is alive now */

ngx_uint_t
ngx_http_runs_store_launcher(ngx_http_runs_zone_t *zone, uint64_t id,
    ngx_uint_t beat)
{
    ngx_http_runs_after_t      af;
    ngx_http_runs_launcher_t  *lr;

    ngx_http_runs_lock(zone, &af);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);
    if (lr && beat) {
        ngx_http_runs_heard_locked(zone->sh, lr, ngx_http_runs_now(), &af);
    }

    ngx_http_runs_unlock(&af);

    return lr ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_LAUNCHER;
}



/*
 * A poll: h->poll says what it found, or the request is to be held
 * (NGX_HTTP_RUNS_R_HOLD, h->waiter set); NGX_HTTP_RUNS_R_REFUSED: no
 * room to hold it, *refused says why.
 */

ngx_uint_t
ngx_http_runs_store_poll(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h, uint64_t id,
    ngx_uint_t *refused)
{
    ngx_int_t                  rc;
    ngx_uint_t                 found;
    ngx_http_runs_after_t      af;
    ngx_http_runs_launcher_t  *lr;

    found = NGX_HTTP_RUNS_R_DONE;

    ngx_http_runs_lock(zone, &af);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);

    if (lr == NULL) {
        ngx_http_runs_unlock(&af);
        return NGX_HTTP_RUNS_R_NO_LAUNCHER;
    }

    rc = ngx_http_runs_poll_locked(zone, lr, !h->noclaim,
                                   h->pool, &h->poll, &af);

    if (rc != NGX_OK) {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;

    } else if (h->poll.what == NGX_HTTP_RUNS_POLL_NOTHING && !ngx_exiting) {
        h->waiter = ngx_http_runs_waiter_new_locked(zone, lim, h, lr,
                                                    refused, &af);
        found = h->waiter ? NGX_HTTP_RUNS_R_HOLD : NGX_HTTP_RUNS_R_REFUSED;
    }

    ngx_http_runs_unlock(&af);

    if (found == NGX_HTTP_RUNS_R_DONE
        && h->poll.what == NGX_HTTP_RUNS_POLL_RUN)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "runs: run %*s claimed",
                       (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, h->poll.run.id);
    }

    return found;
}



/* every launcher, oldest registration first */

ngx_uint_t
ngx_http_runs_store_launchers(ngx_http_runs_zone_t *zone, ngx_pool_t *pool,
    ngx_http_runs_lsnap_t **ls, ngx_uint_t *n)
{
    ngx_uint_t                 cap;
    ngx_queue_t               *q, *head;
    ngx_http_runs_launcher_t  *lr;

    /*
     * sized before the lock from an unlocked read of the count: a launcher
     * registered meanwhile beyond the margin is left out of this listing
     */
    cap = zone->sh->nlaunchers + 16;

    *ls = ngx_palloc(pool, cap * sizeof(ngx_http_runs_lsnap_t));
    if (*ls == NULL) {
        return NGX_HTTP_RUNS_R_NO_MEMORY;
    }

    *n = 0;
    head = &zone->sh->launcher_list;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (q = ngx_queue_head(head);
         q != ngx_queue_sentinel(head) && *n < cap;
         q = ngx_queue_next(q))
    {
        lr = ngx_queue_data(q, ngx_http_runs_launcher_t, list);

        if (lr->nwaiters) {
            /* a held poll is a live runner */
            lr->last_heartbeat = ngx_http_runs_now();
        }

        ngx_http_runs_lsnap_locked(lr, pool, &(*ls)[(*n)++]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return NGX_HTTP_RUNS_R_DONE;
}



/*
 * "self": removed now; otherwise marked, and its next (or held) poll
 * answers {"deregistered": true} and removes it
 */

ngx_uint_t
ngx_http_runs_store_deregister(ngx_http_runs_zone_t *zone, uint64_t id,
    ngx_uint_t self)
{
    ngx_http_runs_after_t      af;
    ngx_http_runs_launcher_t  *lr;

    ngx_http_runs_lock(zone, &af);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);

    if (lr && self) {
        ngx_http_runs_remove_launcher_locked(zone, lr,
                                             NGX_HTTP_RUNS_NOTE_DEREGISTERED,
                                             &af);

    } else if (lr) {
        if (!lr->deregister) {
            /* it takes no run any more: what it offered is not offered */
            ngx_http_runs_offer_locked(zone->sh, lr, -1);
        }

        lr->deregister = 1;
        ngx_http_runs_mark_launcher(&af, lr);
        ngx_http_runs_notify_all_locked(zone->sh, &lr->waiters, 0, &af);
    }

    ngx_http_runs_unlock(&af);

    return lr ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_LAUNCHER;
}

