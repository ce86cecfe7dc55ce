
/*
 * Routing, the store's side (SPEC §13, docs/adr/0012-routing.md): how a
 * poll finds the oldest run its runner can take without looking at the
 * others.  What a run demands and what a runner offers are in
 * ngx_http_runs_store_demand.c.
 *
 * The claimable runs (the first live run of each session, pending) are
 * kept in classes, one per distinct demand (agent, host, tags,
 * project_dir, executor_type), each a tree ordered by creation; the
 * classes of one agent on one host make a group.  A poll looks at the
 * groups its runner can take — for each of "no agent" and the agents it
 * listed, the groups of "any host" and of its own host — checks each of
 * their classes, and takes the oldest run of those it takes; a runner
 * that listed no agent walks every class.  Its cost follows the number of
 * classes it looks at, not the number of runs waiting.  A run made
 * claimable wakes the first held poll whose runner can take it, not
 * merely the first held poll.
 */


#include "ngx_http_runs_zone.h"


static ngx_http_runs_rclass_t *ngx_http_runs_class_get_locked(
    ngx_http_runs_zone_t *zone, ngx_http_runs_run_t *run,
    ngx_http_runs_session_t *keep);
static ngx_http_runs_run_t *ngx_http_runs_class_min(
    ngx_http_runs_rclass_t *c);
static void ngx_http_runs_group_init(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_rgroup_t *g, size_t len);
static void ngx_http_runs_class_init(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_rclass_t *c, ngx_http_runs_rgroup_t *g, size_t len);
static ngx_http_runs_run_t *ngx_http_runs_group_min(
    ngx_http_runs_shctx_t *sh, ngx_http_runs_launcher_t *lr, u_char *key,
    ngx_str_t *agent, ngx_str_t *host, ngx_http_runs_run_t *best);


/* a class's key, then its group's: the lock's holder only writes here */
static u_char  ngx_http_runs_key_buf[NGX_HTTP_RUNS_KEY_MAX + 4
                                     + NGX_HTTP_RUNS_NAME_MAX
                                     + NGX_HTTP_RUNS_FIELD_MAX];

/* a new pending run, its record filled, joins the store and its session */

void
ngx_http_runs_link_run_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *sess,
    ngx_http_runs_after_t *af)
{
    uint64_t                seq;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;

    seq = ++sh->seq;
    run->id = ngx_http_runs_permute_id(sh, seq);
    run->seq = seq;
    run->status = NGX_HTTP_RUNS_PENDING;
    run->created_at = ngx_http_runs_stamp_locked(sh, ngx_http_runs_now());
    sh->created_total++;
    sh->full = 0;

    ngx_http_runs_insert_run_locked(sh, run, sess);

    if (sess->nruns == 1) {
        /* a session is made with its first run */
        ngx_http_runs_event_session_locked(sh,
                                           NGX_HTTP_RUNS_E_SESSION_CREATED,
                                           sess, af);
    }

    ngx_http_runs_event_run_locked(sh, NGX_HTTP_RUNS_E_RUN_CREATED, run, af);

    ngx_http_runs_make_ready_locked(zone, sess, af);
}


/*
 * The first live run of a session becomes claimable when it is pending:
 * into its class, and the first held poll whose runner can take it is
 * woken.  A class that cannot be made (the zone full of live runs) puts
 * the run with the runs of no agent, with a warning: any runner may take
 * it then, as before routing.
 */

void
ngx_http_runs_make_ready_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess, ngx_http_runs_after_t *af)
{
    ngx_http_runs_run_t     *run;
    ngx_http_runs_shctx_t   *sh;
    ngx_http_runs_rclass_t  *c;

    if (ngx_queue_empty(&sess->active)) {
        return;
    }

    sh = zone->sh;

    run = ngx_queue_data(ngx_queue_head(&sess->active), ngx_http_runs_run_t,
                         state);

    if (run->status != NGX_HTTP_RUNS_PENDING || run->in_ready) {
        return;
    }

    c = ngx_http_runs_class_get_locked(zone, run, sess);

    if (c == NULL) {
        c = sh->any;

        if (af) {
            ngx_http_runs_after_log(af, NGX_LOG_WARN,
                                    "runs_zone \"%V\" is full: a run of "
                                    "session \"%*s\" may go to any runner",
                                    &zone->name, (size_t) sess->name_len,
                                    sess->name);
        }
    }

    /* set each time: ngx_rbtree_delete() zeroes a node's key */
    run->ready.key = run->seq;
    ngx_rbtree_insert(&c->ready, &run->ready);
    run->rclass = c;
    run->in_ready = 1;
    c->nready++;
    sh->nready++;

    ngx_http_runs_notify_ready_locked(sh, c, af);
}


/* a run that is not claimable any more leaves its class */

void
ngx_http_runs_unready_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run)
{
    ngx_http_runs_shctx_t   *sh;
    ngx_http_runs_rclass_t  *c;

    if (!run->in_ready) {
        return;
    }

    sh = zone->sh;
    c = run->rclass;

    ngx_rbtree_delete(&c->ready, &run->ready);
    run->in_ready = 0;
    run->rclass = NULL;
    c->nready--;
    sh->nready--;

    if (c->nready == 0 && c != sh->any) {
        ngx_rbtree_delete(&sh->classes, &c->sn.node);
        ngx_queue_remove(&c->link);
        ngx_queue_remove(&c->in_group);

        if (ngx_queue_empty(&c->group->classes)) {
            ngx_rbtree_delete(&sh->groups, &c->group->sn.node);
            ngx_slab_free_locked(zone->shpool, c->group);
        }

        ngx_slab_free_locked(zone->shpool, c);
    }
}


/* the oldest claimable run launcher "lr" may take; NULL: none */

ngx_http_runs_run_t *
ngx_http_runs_ready_for_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr)
{
    u_char                  *p, *last, *comma;
    ngx_str_t                agent, nohost;
    ngx_queue_t             *q;
    ngx_http_runs_run_t     *run, *best;
    ngx_http_runs_rclass_t  *c;
    u_char                   key[4 + NGX_HTTP_RUNS_NAME_MAX
                                 + NGX_HTTP_RUNS_FIELD_MAX];

    best = NULL;

    if (sh->nready == 0) {
        return NULL;
    }

    if (lr->agents.len == 0) {
        /* a runner that listed no agent may take any agent's runs */
        for (q = ngx_queue_head(&sh->class_list);
             q != ngx_queue_sentinel(&sh->class_list);
             q = ngx_queue_next(q))
        {
            c = ngx_queue_data(q, ngx_http_runs_rclass_t, link);

            if (c->nready == 0 || !ngx_http_runs_offers(lr, &c->parts)) {
                continue;
            }

            run = ngx_http_runs_class_min(c);

            if (best == NULL || run->seq < best->seq) {
                best = run;
            }
        }

        return best;
    }

    /* no agent, then each agent it listed; on any host, then on its own */

    nohost.len = 0;
    nohost.data = NULL;
    agent.len = 0;
    agent.data = NULL;

    p = lr->agents.data;
    last = p + lr->agents.len;

    for ( ;; ) {
        best = ngx_http_runs_group_min(sh, lr, key, &agent, &nohost, best);

        if (lr->hostname.len && lr->hostname.len <= NGX_HTTP_RUNS_FIELD_MAX) {
            best = ngx_http_runs_group_min(sh, lr, key, &agent, &lr->hostname,
                                           best);
        }

        if (p >= last) {
            break;
        }

        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        agent.data = p;
        agent.len = comma - p;
        p = comma + 1;
    }

    return best;
}


/* the oldest run of a group that "lr" takes, if older than "best" */

static ngx_http_runs_run_t *
ngx_http_runs_group_min(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr, u_char *key, ngx_str_t *agent,
    ngx_str_t *host, ngx_http_runs_run_t *best)
{
    ngx_str_t                k;
    ngx_queue_t             *q;
    ngx_http_runs_run_t     *run;
    ngx_http_runs_rgroup_t  *g;
    ngx_http_runs_rclass_t  *c;

    k.data = key;
    k.len = ngx_http_runs_group_key(key, agent, host);

    g = (ngx_http_runs_rgroup_t *)
            ngx_str_rbtree_lookup(&sh->groups, &k,
                                  ngx_crc32_short(k.data, k.len));
    if (g == NULL) {
        return best;
    }

    for (q = ngx_queue_head(&g->classes);
         q != ngx_queue_sentinel(&g->classes);
         q = ngx_queue_next(q))
    {
        c = ngx_queue_data(q, ngx_http_runs_rclass_t, in_group);

        if (c->nready == 0 || !ngx_http_runs_offers(lr, &c->parts)) {
            continue;
        }

        run = ngx_http_runs_class_min(c);

        if (best == NULL || run->seq < best->seq) {
            best = run;
        }
    }

    return best;
}


/*
 * Wakes the first held poll whose runner can take a run of class "c"
 * (NULL: of any class with a claimable run).  Other polls stay held.
 */

void
ngx_http_runs_notify_ready_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_rclass_t *c, ngx_http_runs_after_t *af)
{
    ngx_queue_t               *q, *cq;
    ngx_http_runs_waiter_t    *w;
    ngx_http_runs_rclass_t    *k;
    ngx_http_runs_launcher_t  *lr;

    for (q = ngx_queue_head(&sh->idle);
         q != ngx_queue_sentinel(&sh->idle);
         q = ngx_queue_next(q))
    {
        w = ngx_queue_data(q, ngx_http_runs_waiter_t, queue);
        lr = w->target;

        if (lr == NULL) {
            continue;
        }

        if (c) {
            if (ngx_http_runs_offers(lr, &c->parts)) {
                ngx_http_runs_notify_locked(sh, w, af);
                return;
            }

            continue;
        }

        for (cq = ngx_queue_head(&sh->class_list);
             cq != ngx_queue_sentinel(&sh->class_list);
             cq = ngx_queue_next(cq))
        {
            k = ngx_queue_data(cq, ngx_http_runs_rclass_t, link);

            if (k->nready && ngx_http_runs_offers(lr, &k->parts)) {
                ngx_http_runs_notify_locked(sh, w, af);
                return;
            }
        }
    }
}


static ngx_http_runs_run_t *
ngx_http_runs_class_min(ngx_http_runs_rclass_t *c)
{
    ngx_rbtree_node_t  *node;

    if (c->nready == 0) {
        return NULL;
    }

    node = ngx_rbtree_min(c->ready.root, c->ready.sentinel);

    return (ngx_http_runs_run_t *)
               ((u_char *) node - offsetof(ngx_http_runs_run_t, ready));
}


/* a group whose key is written joins the zone's tree */

static void
ngx_http_runs_group_init(ngx_http_runs_shctx_t *sh, ngx_http_runs_rgroup_t *g,
    size_t len)
{
    g->sn.str.data = g->key;
    g->sn.str.len = len;
    g->sn.node.key = ngx_crc32_short(g->key, len);

    ngx_queue_init(&g->classes);
    ngx_rbtree_insert(&sh->groups, &g->sn.node);
}


/* a class whose key is written joins the zone's tree, list and group */

static void
ngx_http_runs_class_init(ngx_http_runs_shctx_t *sh, ngx_http_runs_rclass_t *c,
    ngx_http_runs_rgroup_t *g, size_t len)
{
    ngx_queue_t               *q;
    ngx_http_runs_launcher_t  *lr;

    c->sn.str.data = c->key;
    c->sn.str.len = len;
    c->sn.node.key = ngx_crc32_short(c->key, len);

    ngx_http_runs_key_parts(c->key, &c->parts);

    ngx_rbtree_init(&c->ready, &c->sentinel,
                    ngx_http_runs_rbtree_insert_value);
    ngx_rbtree_insert(&sh->classes, &c->sn.node);
    ngx_queue_insert_tail(&sh->class_list, &c->link);
    ngx_queue_insert_tail(&g->classes, &c->in_group);
    c->group = g;

    /* the runners that take it now */
    c->noffer = 0;
    c->unoffered = ngx_http_runs_now();

    for (q = ngx_queue_head(&sh->launcher_list);
         q != ngx_queue_sentinel(&sh->launcher_list);
         q = ngx_queue_next(q))
    {
        lr = ngx_queue_data(q, ngx_http_runs_launcher_t, list);

        if (ngx_http_runs_offers(lr, &c->parts)) {
            c->noffer++;
        }
    }
}


/*
 * A launcher that joins (+1) or leaves (-1) the zone: the classes it
 * takes count it; one that nobody takes any more notes since when.
 */

void
ngx_http_runs_offer_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr, ngx_int_t delta)
{
    ngx_queue_t             *q;
    ngx_http_runs_rclass_t  *c;

    for (q = ngx_queue_head(&sh->class_list);
         q != ngx_queue_sentinel(&sh->class_list);
         q = ngx_queue_next(q))
    {
        c = ngx_queue_data(q, ngx_http_runs_rclass_t, link);

        if (!ngx_http_runs_offers(lr, &c->parts)) {
            continue;
        }

        c->noffer += delta;

        if (c->noffer == 0) {
            c->unoffered = ngx_http_runs_now();
        }
    }
}


/*
 * Affinity: the session of a start run just claimed keeps the host of the
 * runner that claimed it (at most NGX_HTTP_RUNS_HOST_MAX bytes), for its
 * resumes.  When there is no room for it, its resumes go anywhere.
 */

void
ngx_http_runs_pin_host_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_launcher_t *lr,
    ngx_http_runs_after_t *af)
{
    u_char                   *inherit;
    size_t                    ilen;
    ngx_str_t                 host;
    ngx_http_runs_session_t  *sess;

    if (run->type != NGX_HTTP_RUNS_START) {
        return;
    }

    sess = run->session;
    ngx_http_runs_session_host(sess, &host);

    if (host.len == lr->hostname.len
        && (host.len == 0
            || ngx_memcmp(host.data, lr->hostname.data, host.len) == 0))
    {
        return;
    }

    ngx_http_runs_mark_session(af, sess);

    if (lr->hostname.len == 0 || lr->hostname.len > NGX_HTTP_RUNS_HOST_MAX) {
        sess->host_len = 0;
        return;
    }

    ilen = sess->agent_name_len + sess->project_dir_len + sess->parent_len;

    inherit = ngx_http_runs_alloc_locked(zone, ilen + lr->hostname.len, sess);

    if (inherit == NULL) {
        sess->host_len = 0;

        ngx_http_runs_after_log(af, NGX_LOG_WARN,
                                "runs_zone \"%V\" is full: the resumes of "
                                "session \"%*s\" may go to any host",
                                &zone->name, (size_t) sess->name_len,
                                sess->name);
        return;
    }

    if (ilen) {
        ngx_memcpy(inherit, sess->inherit, ilen);
    }

    ngx_memcpy(inherit + ilen, lr->hostname.data, lr->hostname.len);

    ngx_http_runs_free_locked(zone, sess->inherit);
    sess->inherit = inherit;
    sess->host_len = (u_char) lr->hostname.len;
}


/*
 * The overdue runs: claimable runs of classes that no runner has taken
 * for "timeout" ms, oldest class first, at most "max" of them into runs[];
 * their number.  The caller fails them (ngx_http_runs_store_launchers.c).
 */

ngx_uint_t
ngx_http_runs_overdue_locked(ngx_http_runs_shctx_t *sh, int64_t now,
    ngx_msec_t timeout, ngx_http_runs_run_t **runs, ngx_uint_t max)
{
    ngx_uint_t               n;
    ngx_queue_t             *q;
    ngx_rbtree_node_t       *node;
    ngx_http_runs_rclass_t  *c;

    n = 0;

    for (q = ngx_queue_head(&sh->class_list);
         q != ngx_queue_sentinel(&sh->class_list) && n < max;
         q = ngx_queue_next(q))
    {
        c = ngx_queue_data(q, ngx_http_runs_rclass_t, link);

        /*
         * a run that demands nothing (but its session's scope) waits for
         * any runner, however long
         */
        if (c->nready == 0 || c->noffer || c == sh->any
            || c->sn.str.len == NGX_HTTP_RUNS_KEY_HEAD + c->parts.scope.len
            || now - c->unoffered < (int64_t) timeout)
        {
            continue;
        }

        for (node = ngx_rbtree_min(c->ready.root, c->ready.sentinel);
             node && n < max;
             node = ngx_rbtree_next(&c->ready, node))
        {
            runs[n++] = (ngx_http_runs_run_t *)
                            ((u_char *) node
                             - offsetof(ngx_http_runs_run_t, ready));
        }
    }

    return n;
}


/*
 * The class of a run's demands, made when there is none (room is made as
 * for any allocation: "keep" is the session whose run it is for); NULL:
 * no room.
 */

static ngx_http_runs_rclass_t *
ngx_http_runs_class_get_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *keep)
{
    size_t                   len;
    uint32_t                 hash;
    ngx_str_t                key, gkey;
    ngx_uint_t               affine;
    ngx_http_runs_shctx_t   *sh;
    ngx_http_runs_rgroup_t  *g;
    ngx_http_runs_rclass_t  *c;
    ngx_http_runs_kparts_t   kp;

    sh = zone->sh;

    /*
     * an agent the registry holds goes to any runner (its executor gets
     * the blueprint with the run), not only to those that list it
     */
    run->registry = ngx_http_runs_blueprint_active_locked(sh,
                                  run->strings + run->prompt_len,
                                  run->agent_name_len);

    key.data = ngx_http_runs_key_buf;
    key.len = ngx_http_runs_run_key(run, key.data, &affine);
    hash = ngx_crc32_short(key.data, key.len);

    c = (ngx_http_runs_rclass_t *) ngx_str_rbtree_lookup(&sh->classes, &key,
                                                         hash);
    if (c) {
        return c;
    }

    /* the group: the key's agent and host, lengths and text */
    ngx_http_runs_key_parts(key.data, &kp);

    gkey.data = ngx_http_runs_key_buf + key.len;
    gkey.len = ngx_http_runs_group_key(gkey.data, &kp.agent, &kp.host);

    g = (ngx_http_runs_rgroup_t *)
            ngx_str_rbtree_lookup(&sh->groups, &gkey,
                                  ngx_crc32_short(gkey.data, gkey.len));

    len = sizeof(ngx_http_runs_rclass_t) + key.len;
    c = ngx_http_runs_alloc_locked(zone, len, keep);

    if (c == NULL) {
        return NULL;
    }

    if (g == NULL) {
        g = ngx_http_runs_alloc_locked(zone, sizeof(ngx_http_runs_rgroup_t)
                                             + gkey.len, keep);
        if (g == NULL) {
            ngx_slab_free_locked(zone->shpool, c);
            return NULL;
        }

        ngx_memzero(g, sizeof(ngx_http_runs_rgroup_t));
        ngx_memcpy(g->key, gkey.data, gkey.len);
        ngx_http_runs_group_init(sh, g, gkey.len);
    }

    ngx_memzero(c, sizeof(ngx_http_runs_rclass_t));
    ngx_memcpy(c->key, key.data, key.len);
    ngx_http_runs_class_init(sh, c, g, key.len);

    return c;
}
