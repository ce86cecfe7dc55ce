
/*
 * Routing, the store's side (SPEC §13, docs/adr/0012-routing.md): which
 * runner a claimable run may go to, and how a poll finds the oldest run
 * its runner can take without looking at the others.
 *
 * A run that names an agent goes only to a runner that listed that agent
 * at registration, or to a runner that listed none (it takes anything:
 * the echo executor, the reference launcher); a run that names no agent
 * goes to any runner.  The claimable runs (the first live run of each
 * session, pending) are kept in classes, one per agent named, each a
 * tree ordered by creation: a poll looks at the oldest run of each class
 * its runner can take (the class of no agent, then its agents' classes,
 * or every class for a runner that listed none) and takes the oldest of
 * those.  Its cost follows the number of classes it looks at, not the
 * number of runs waiting.  A run made claimable wakes the first held
 * poll whose runner can take it, not merely the first held poll.
 */


#include "ngx_http_runs_zone.h"


static ngx_http_runs_rclass_t *ngx_http_runs_class_get_locked(
    ngx_http_runs_zone_t *zone, u_char *name, size_t len,
    ngx_http_runs_session_t *keep);
static ngx_uint_t ngx_http_runs_takes(ngx_http_runs_launcher_t *lr,
    ngx_http_runs_rclass_t *c);
static ngx_http_runs_run_t *ngx_http_runs_class_min(
    ngx_http_runs_rclass_t *c);
static ngx_uint_t ngx_http_runs_next_agent(ngx_str_t *agents, u_char **p,
    ngx_str_t *name);


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

    ngx_http_runs_insert_run_locked(sh, run, sess);

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

    c = sh->any;

    if (run->agent_name_len) {
        c = ngx_http_runs_class_get_locked(zone,
                                           run->strings + run->prompt_len,
                                           run->agent_name_len, sess);
        if (c == NULL) {
            c = sh->any;

            if (af) {
                ngx_http_runs_after_log(af, NGX_LOG_WARN,
                                        "runs_zone \"%V\" is full: a run for "
                                        "agent \"%*s\" may go to any runner",
                                        &zone->name,
                                        (size_t) run->agent_name_len,
                                        run->strings + run->prompt_len);
            }
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
        ngx_slab_free_locked(zone->shpool, c);
    }
}


/* the oldest claimable run launcher "lr" may take; NULL: none */

ngx_http_runs_run_t *
ngx_http_runs_ready_for_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr)
{
    u_char                  *p;
    uint32_t                 hash;
    ngx_str_t                name;
    ngx_queue_t             *q;
    ngx_http_runs_run_t     *run, *best;
    ngx_http_runs_rclass_t  *c;

    best = NULL;

    if (sh->nready == 0) {
        return NULL;
    }

    if (lr->agents.len == 0) {
        /* a runner that listed no agent takes anything */
        for (q = ngx_queue_head(&sh->class_list);
             q != ngx_queue_sentinel(&sh->class_list);
             q = ngx_queue_next(q))
        {
            c = ngx_queue_data(q, ngx_http_runs_rclass_t, link);
            run = ngx_http_runs_class_min(c);

            if (run && (best == NULL || run->seq < best->seq)) {
                best = run;
            }
        }

        return best;
    }

    best = ngx_http_runs_class_min(sh->any);

    p = lr->agents.data;

    while (ngx_http_runs_next_agent(&lr->agents, &p, &name)) {
        hash = ngx_crc32_short(name.data, name.len);
        c = (ngx_http_runs_rclass_t *)
                ngx_str_rbtree_lookup(&sh->classes, &name, hash);

        if (c == NULL) {
            continue;
        }

        run = ngx_http_runs_class_min(c);

        if (run && (best == NULL || run->seq < best->seq)) {
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
            if (ngx_http_runs_takes(lr, c)) {
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

            if (k->nready && ngx_http_runs_takes(lr, k)) {
                ngx_http_runs_notify_locked(sh, w, af);
                return;
            }
        }
    }
}


/* whether a runner takes the runs of a class */

static ngx_uint_t
ngx_http_runs_takes(ngx_http_runs_launcher_t *lr, ngx_http_runs_rclass_t *c)
{
    u_char     *p;
    ngx_str_t   name;

    if (c->sn.str.len == 0 || lr->agents.len == 0) {
        return 1;
    }

    p = lr->agents.data;

    while (ngx_http_runs_next_agent(&lr->agents, &p, &name)) {
        if (name.len == c->sn.str.len
            && ngx_memcmp(name.data, c->sn.str.data, name.len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* the next name of a runner's agents (comma-separated) from *p; 0: none */

static ngx_uint_t
ngx_http_runs_next_agent(ngx_str_t *agents, u_char **p, ngx_str_t *name)
{
    u_char  *last, *comma;

    last = agents->data + agents->len;

    if (*p >= last) {
        return 0;
    }

    comma = ngx_strlchr(*p, last, ',');
    if (comma == NULL) {
        comma = last;
    }

    name->data = *p;
    name->len = comma - *p;
    *p = comma + 1;

    return 1;
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


/*
 * The class of an agent, made when it has none (room is made as for any
 * allocation: "keep" is the session whose run it is for); NULL: no room.
 */

static ngx_http_runs_rclass_t *
ngx_http_runs_class_get_locked(ngx_http_runs_zone_t *zone, u_char *name,
    size_t len, ngx_http_runs_session_t *keep)
{
    uint32_t                 hash;
    ngx_str_t                key;
    ngx_http_runs_shctx_t   *sh;
    ngx_http_runs_rclass_t  *c;

    sh = zone->sh;

    key.data = name;
    key.len = len;
    hash = ngx_crc32_short(name, len);

    c = (ngx_http_runs_rclass_t *) ngx_str_rbtree_lookup(&sh->classes, &key,
                                                         hash);
    if (c) {
        return c;
    }

    c = ngx_http_runs_alloc_locked(zone, sizeof(ngx_http_runs_rclass_t) + len,
                                   keep);
    if (c == NULL) {
        return NULL;
    }

    ngx_memzero(c, sizeof(ngx_http_runs_rclass_t));
    ngx_memcpy(c->name, name, len);

    c->sn.node.key = hash;
    c->sn.str.data = c->name;
    c->sn.str.len = len;

    ngx_rbtree_init(&c->ready, &c->sentinel,
                    ngx_http_runs_rbtree_insert_value);
    ngx_rbtree_insert(&sh->classes, &c->sn.node);
    ngx_queue_insert_tail(&sh->class_list, &c->link);

    return c;
}
