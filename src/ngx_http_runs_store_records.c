
/*
 * The record layer of the store: the zone's root, the hash
 * tables and trees that find runs, sessions and launchers, allocation
 * with eviction (the logs of finished runs first, then finished runs),
 * linking and unlinking records, and the snapshots that copy a record
 * out for an answer.  Every function named *_locked expects the caller
 * to hold the zone's lock; none does I/O, JSON work or heap allocation.
 */


#include "ngx_http_runs_zone.h"


static ngx_rbtree_node_t *ngx_http_runs_rbtree_lookup(ngx_rbtree_t *tree,
    uint64_t key);
static ngx_int_t ngx_http_runs_init_sh(ngx_slab_pool_t *shpool,
    ngx_http_runs_shctx_t *sh, size_t size);
static void ngx_http_runs_unlink_run_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run);
static ngx_uint_t ngx_http_runs_evict_one_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *keep);


const ngx_str_t  ngx_http_runs_status_names[] = {
    ngx_string("pending"),
    ngx_string("claimed"),
    ngx_string("running"),
    ngx_string("stopping"),
    ngx_string("completed"),
    ngx_string("failed"),
    ngx_string("stopped")
};


/* texts kept without an allocation, by ngx_http_runs_note_e */
static const ngx_str_t  ngx_http_runs_notes[] = {
    ngx_null_string,
    ngx_string("launcher lost"),
    ngx_string("launcher deregistered"),
    ngx_string("(the error text was dropped: the runs_zone was full)")
};

static const ngx_str_t  ngx_http_runs_cut_suffix =
    ngx_string(" [cut: the runs_zone was full]");


/*
 * Runs by id and sessions by name are chained hash tables with a bucket
 * per 1 KB of zone (a full zone holds about one run per 400-500 bytes):
 * a lookup is a bucket and a chain of one or two, where a tree took about
 * twenty dependent cache misses at a million runs.  Ids are already
 * random; names are hashed with SipHash keyed per zone, so clients cannot
 * aim names at one bucket.
 */

/* the zone's root, in a new zone */

ngx_http_runs_shctx_t *
ngx_http_runs_store_init(ngx_slab_pool_t *shpool, size_t size, ngx_log_t *log)
{
    ngx_http_runs_shctx_t  *sh;

    sh = ngx_slab_alloc(shpool, sizeof(ngx_http_runs_shctx_t));
    if (sh == NULL) {
        return NULL;
    }

    shpool->data = sh;

    if (ngx_http_runs_init_sh(shpool, sh, size) != NGX_OK) {
        return NULL;
    }

    ngx_http_runs_init_keys(sh, log);

    return sh;
}



static ngx_int_t
ngx_http_runs_init_sh(ngx_slab_pool_t *shpool, ngx_http_runs_shctx_t *sh,
    size_t size)
{
    ngx_uint_t               i, n;
    ngx_http_runs_rgroup_t  *g;
    ngx_http_runs_rclass_t  *c;

    ngx_memzero(sh, sizeof(ngx_http_runs_shctx_t));

    for (n = 64; n < size / 1024; n <<= 1) { /* void */ }

    sh->mask = n - 1;

    sh->runs = ngx_slab_calloc(shpool, n * sizeof(ngx_http_runs_run_t *));
    sh->sessions = ngx_slab_calloc(shpool,
                                   n * sizeof(ngx_http_runs_session_t *));
    sh->session_ids = ngx_slab_calloc(shpool,
                                      n * sizeof(ngx_http_runs_session_t *));

    if (sh->runs == NULL || sh->sessions == NULL || sh->session_ids == NULL)
    {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&sh->launchers, &sh->launchers_sentinel,
                    ngx_http_runs_rbtree_insert_value);

    ngx_queue_init(&sh->all);
    ngx_queue_init(&sh->finished);
    ngx_queue_init(&sh->logs);
    ngx_queue_init(&sh->session_list);
    ngx_queue_init(&sh->launcher_list);
    ngx_queue_init(&sh->idle);
    ngx_queue_init(&sh->waiters);

    /* the blueprint registry (ngx_http_runs_store_blueprints.c) */
    ngx_rbtree_init(&sh->blueprints, &sh->blueprints_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&sh->blueprint_list);

    /*
     * routing (ngx_http_runs_store_route.c): the class of the runs that
     * demand nothing and its group, keys of zero lengths, are made here
     * and never freed; every runner takes them
     */

    ngx_rbtree_init(&sh->classes, &sh->classes_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_rbtree_init(&sh->groups, &sh->groups_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&sh->class_list);

    c = ngx_slab_calloc(shpool, sizeof(ngx_http_runs_rclass_t)
                                + NGX_HTTP_RUNS_KEY_HEAD);
    g = ngx_slab_calloc(shpool, sizeof(ngx_http_runs_rgroup_t) + 4);

    if (c == NULL || g == NULL) {
        return NGX_ERROR;
    }

    g->sn.str.data = g->key;
    g->sn.str.len = 4;
    g->sn.node.key = ngx_crc32_short(g->key, 4);
    ngx_queue_init(&g->classes);
    ngx_rbtree_insert(&sh->groups, &g->sn.node);

    c->sn.str.data = c->key;
    c->sn.str.len = NGX_HTTP_RUNS_KEY_HEAD;
    c->sn.node.key = ngx_crc32_short(c->key, NGX_HTTP_RUNS_KEY_HEAD);
    ngx_http_runs_key_parts(c->key, &c->parts);
    ngx_rbtree_init(&c->ready, &c->sentinel,
                    ngx_http_runs_rbtree_insert_value);
    ngx_rbtree_insert(&sh->classes, &c->sn.node);
    ngx_queue_insert_tail(&sh->class_list, &c->link);
    ngx_queue_insert_tail(&g->classes, &c->in_group);
    c->group = g;

    sh->any = c;

    for (i = 0; i < NGX_HTTP_RUNS_DOORBELLS; i++) {
        sh->bells[i].rfd = -1;
        sh->bells[i].wfd = -1;
        ngx_queue_init(&sh->bells[i].notified);
    }

    return NGX_OK;
}



/* keys are unique: run and launcher ids, creation sequence numbers */

void
ngx_http_runs_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t  **p;

    for ( ;; ) {

        p = (node->key < temp->key) ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}



static ngx_rbtree_node_t *
ngx_http_runs_rbtree_lookup(ngx_rbtree_t *tree, uint64_t key)
{
    ngx_rbtree_node_t  *node, *sentinel;

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {

        if (key == node->key) {
            return node;
        }

        node = (key < node->key) ? node->left : node->right;
    }

    return NULL;
}



ngx_http_runs_run_t *
ngx_http_runs_lookup_run_locked(ngx_http_runs_shctx_t *sh, uint64_t id)
{
    ngx_http_runs_run_t  *run;

    for (run = sh->runs[id & sh->mask]; run; run = run->next) {
        if (run->id == id) {
            return run;
        }
    }

    return NULL;
}



static void
ngx_http_runs_unlink_run_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run)
{
    ngx_http_runs_run_t  **p;

    for (p = &sh->runs[run->id & sh->mask]; *p; p = &(*p)->next) {
        if (*p == run) {
            *p = run->next;
            return;
        }
    }
}



ngx_http_runs_launcher_t *
ngx_http_runs_lookup_launcher_locked(ngx_http_runs_shctx_t *sh, uint64_t id)
{
    return (ngx_http_runs_launcher_t *)
               ngx_http_runs_rbtree_lookup(&sh->launchers, id);
}


/*
 * A runner token's keyed hash, as the zone keeps it: two SipHashes of the
 * token, each behind its own prefix byte (128 bits)
 */

void
ngx_http_runs_token_hash(ngx_http_runs_shctx_t *sh, u_char *token,
    uint64_t *hash)
{
    u_char  m[1 + NGX_HTTP_RUNS_TOKEN_RAW];

    ngx_memcpy(m + 1, token, NGX_HTTP_RUNS_TOKEN_RAW);

    m[0] = 'T';
    hash[0] = ngx_http_runs_siphash(sh, m, sizeof(m));
    m[0] = 'U';
    hash[1] = ngx_http_runs_siphash(sh, m, sizeof(m));
}


static uint32_t
ngx_http_runs_name_hash(ngx_http_runs_shctx_t *sh, u_char *name, size_t len)
{
    return (uint32_t) ngx_http_runs_siphash(sh, name, len);
}



/*
 * A session by its name within a scope (NULL: the sessions of no scope):
 * names are unique within a scope only, so that tenants cannot tell each
 * other's names by a conflict
 */

ngx_http_runs_session_t *
ngx_http_runs_lookup_session_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name, uint64_t *scope)
{
    uint32_t                  hash;
    uint64_t                  s0, s1;
    ngx_http_runs_session_t  *sess;

    hash = ngx_http_runs_name_hash(sh, name->data, name->len);
    s0 = scope ? scope[0] : 0;
    s1 = scope ? scope[1] : 0;

    for (sess = sh->sessions[hash & sh->mask]; sess; sess = sess->next) {
        if (sess->hash == hash && sess->name_len == name->len
            && sess->scope[0] == s0 && sess->scope[1] == s1
            && ngx_memcmp(sess->name, name->data, name->len) == 0)
        {
            return sess;
        }
    }

    return NULL;
}


/*
 * Whether a client confined to "scope" (NULL: not confined) sees "sess"
 */

ngx_uint_t
ngx_http_runs_in_scope(ngx_http_runs_session_t *sess, uint64_t *scope)
{
    return scope == NULL
           || (sess->scope[0] == scope[0] && sess->scope[1] == scope[1]);
}


/*
 * Whether a client confined to "scope" sees run "id" (a run's session
 * never changes: a check before acting on it holds while it is acted on)
 */

ngx_uint_t
ngx_http_runs_store_run_scope(ngx_http_runs_zone_t *zone, uint64_t id,
    uint64_t *scope)
{
    if (scope == NULL) {
        return NGX_HTTP_RUNS_R_DONE;
    }

    return ngx_http_runs_store_run_seen(zone, id, scope);
}


/* whether run "id" is there, for a client confined to "scope" (or not) */

ngx_uint_t
ngx_http_runs_store_run_seen(ngx_http_runs_zone_t *zone, uint64_t id,
    uint64_t *scope)
{
    ngx_uint_t            found;
    ngx_http_runs_run_t  *run;

    ngx_shmtx_lock(&zone->shpool->mutex);

    run = ngx_http_runs_lookup_run_locked(zone->sh, id);
    found = (run && ngx_http_runs_in_scope(run->session, scope))
            ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_RUN;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


/*
 * A runs_scope value's keyed hash, as sessions keep it (never 0, 0, which
 * is "no scope"); the zone's key is set once, before any request
 */

void
ngx_http_runs_store_scope_key(ngx_http_runs_zone_t *zone, ngx_str_t *value,
    uint64_t *key)
{
    u_char   m[1 + NGX_HTTP_RUNS_SCOPE_MAX];
    size_t   len;

    len = ngx_min(value->len, NGX_HTTP_RUNS_SCOPE_MAX);
    ngx_memcpy(m + 1, value->data, len);

    m[0] = 'S';
    key[0] = ngx_http_runs_siphash(zone->sh, m, 1 + len) | 1;
    m[0] = 'C';
    key[1] = ngx_http_runs_siphash(zone->sh, m, 1 + len);
}



ngx_http_runs_session_t *
ngx_http_runs_lookup_sid_locked(ngx_http_runs_shctx_t *sh, uint64_t *sid)
{
    ngx_http_runs_session_t  *sess;

    for (sess = sh->session_ids[sid[1] & sh->mask];
         sess;
         sess = sess->next_by_id)
    {
        if (sess->sid1 == sid[1]
            && ngx_http_runs_sid_half(sh, sess->seq, 0) == sid[0])
        {
            return sess;
        }
    }

    return NULL;
}



/* a session by its creation sequence number */

ngx_http_runs_session_t *
ngx_http_runs_lookup_session_seq_locked(ngx_http_runs_shctx_t *sh,
    uint64_t seq)
{
    uint64_t                  sid1;
    ngx_http_runs_session_t  *sess;

    sid1 = ngx_http_runs_sid_half(sh, seq, 1);

    for (sess = sh->session_ids[sid1 & sh->mask];
         sess;
         sess = sess->next_by_id)
    {
        if (sess->seq == seq) {
            return sess;
        }
    }

    return NULL;
}



void
ngx_http_runs_new_sid_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess)
{
    uint64_t  seq, sid[2];

    do {
        seq = ++sh->session_seq;
        sid[0] = ngx_http_runs_sid_half(sh, seq, 0);
        sid[1] = ngx_http_runs_sid_half(sh, seq, 1);

    } while (ngx_http_runs_lookup_sid_locked(sh, sid));

    sess->seq = seq;
    sess->sid1 = sid[1];
}



void
ngx_http_runs_free_session_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess)
{
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_session_t  **p;

    sh = zone->sh;
    sh->full = 0;      /* room made */

    for (p = &sh->sessions[sess->hash & sh->mask]; *p; p = &(*p)->next) {
        if (*p == sess) {
            *p = sess->next;
            break;
        }
    }

    for (p = &sh->session_ids[sess->sid1 & sh->mask];
         *p;
         p = &(*p)->next_by_id)
    {
        if (*p == sess) {
            *p = sess->next_by_id;
            break;
        }
    }

    /*
     * told to event streams however it goes: deleted, its last run gone
     * with retention or for room (none is told while a journal is read)
     */
    ngx_http_runs_event_session_locked(sh, NGX_HTTP_RUNS_E_SESSION_DELETED,
                                       sess, zone->after);

    ngx_queue_remove(&sess->all);

    if (sess->inherit) {
        ngx_slab_free_locked(zone->shpool, sess->inherit);
    }

    ngx_slab_free_locked(zone->shpool, sess);
    sh->nsessions--;
}



/*
 * Allocates from the zone, evicting finished runs oldest first while the
 * allocation does not fit.  "keep" is a session that must survive the
 * eviction of its last run because the caller is about to add one.
 */

void *
ngx_http_runs_alloc_locked(ngx_http_runs_zone_t *zone, size_t size,
    ngx_http_runs_session_t *keep)
{
    void  *p;

    for ( ;; ) {
        p = ngx_slab_alloc_locked(zone->shpool, size);
        if (p != NULL) {
            return p;
        }

        if (!ngx_http_runs_evict_one_locked(zone, keep)) {
            return NULL;
        }
    }
}



static ngx_uint_t
ngx_http_runs_evict_one_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *keep)
{
    ngx_queue_t          *q;
    ngx_http_runs_run_t  *run;

    /* the logs of finished runs go first */

    if (ngx_http_runs_log_evict_locked(zone)) {
        return 1;
    }

    if (ngx_queue_empty(&zone->sh->finished)) {
        return 0;
    }

    q = ngx_queue_head(&zone->sh->finished);
    run = ngx_queue_data(q, ngx_http_runs_run_t, state);

    ngx_http_runs_free_run_locked(zone, run, keep);
    zone->sh->evicted++;

    return 1;
}



size_t
ngx_http_runs_strings_len(ngx_http_runs_run_t *run)
{
    return ngx_http_runs_names_len(run) + run->error_len + run->result_len;
}



/* an absent string (data NULL) is never handed to memcpy() */

u_char *
ngx_http_runs_put(u_char *p, ngx_str_t *s)
{
    return s->len ? ngx_cpymem(p, s->data, s->len) : p;
}



u_char *
ngx_http_runs_copy_str(u_char *p, ngx_str_t *dst, ngx_str_t *src)
{
    if (src->data == NULL) {
        dst->len = 0;
        dst->data = NULL;
        return p;
    }

    dst->len = src->len;
    dst->data = p;

    return ngx_cpymem(p, src->data, src->len);
}



/* a session of this name, empty and pinned, not yet in the table */

ngx_http_runs_session_t *
ngx_http_runs_new_session_locked(ngx_http_runs_zone_t *zone, ngx_str_t *name)
{
    ngx_http_runs_session_t  *sess;

    sess = ngx_http_runs_alloc_locked(zone,
                                      offsetof(ngx_http_runs_session_t, name)
                                      + name->len, NULL);
    if (sess == NULL) {
        return NULL;
    }

    ngx_memzero(sess, offsetof(ngx_http_runs_session_t, name));
    sess->pinned = 1;

    sess->name_len = (u_char) name->len;
    ngx_memcpy(sess->name, name->data, name->len);
    sess->hash = ngx_http_runs_name_hash(zone->sh, sess->name, sess->name_len);

    ngx_queue_init(&sess->runs);
    ngx_queue_init(&sess->active);

    return sess;
}



void
ngx_http_runs_free_locked(ngx_http_runs_zone_t *zone, void *p)
{
    if (p) {
        ngx_slab_free_locked(zone->shpool, p);
    }
}



/*
 * A finished run's error text as the API shows it: *text (may be empty)
 * and, when its end was cut for room, the mark in *mark
 */

void
ngx_http_runs_error_text_locked(ngx_http_runs_run_t *run, ngx_str_t *text,
    ngx_str_t *mark)
{
    text->data = run->strings + ngx_http_runs_names_len(run);
    text->len = run->error_len;

    mark->len = 0;
    mark->data = NULL;

    if (run->error_len == 0 && run->error_note) {
        *text = ngx_http_runs_notes[run->error_note];

    } else if (run->error_cut) {
        *mark = ngx_http_runs_cut_suffix;
    }
}



/* at most max bytes of s, cut between two UTF-8 characters */

size_t
ngx_http_runs_utf8_cut(ngx_str_t *s, size_t max)
{
    size_t  len;

    if (s->len <= max) {
        return s->len;
    }

    len = max;

    while (len && (s->data[len] & 0xc0) == 0x80) {
        len--;
    }

    return len;
}



static ngx_int_t
ngx_http_runs_snap_str(ngx_pool_t *pool, ngx_str_t *dst, ngx_str_t *src)
{
    if (src->data == NULL) {
        dst->len = 0;
        dst->data = NULL;
        return NGX_OK;
    }

    dst->len = src->len;
    dst->data = ngx_pnalloc(pool, src->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);

    return NGX_OK;
}



static u_char *
ngx_http_runs_snap_part(u_char *p, ngx_str_t *dst, size_t len)
{
    dst->len = len;
    dst->data = len ? p : NULL;

    return p + len;
}



static ngx_int_t ngx_http_runs_snap_waiting(ngx_http_runs_run_t *run,
    ngx_pool_t *pool, ngx_http_runs_snap_t *snap);


ngx_int_t
ngx_http_runs_snap_locked(ngx_http_runs_shctx_t *sh, ngx_http_runs_run_t *run,
    ngx_pool_t *pool, ngx_http_runs_snap_t *snap)
{
    u_char                   *p;
    size_t                    n, cut;

    uint64_t                  sid[2];
    ngx_http_runs_session_t  *sess;

    sess = run->session;

    ngx_http_runs_run_id(snap->id, run);

    if (run->has_launcher_id) {
        ngx_http_runs_make_id(snap->launcher_id, "lnch_", 5,
                              run->launcher_key);
    }

    ngx_http_runs_session_sid(sh, sess, sid);
    ngx_http_runs_format_sid(snap->session_id, sid);

    snap->status = run->status;
    snap->type = run->type;
    snap->has_launcher_id = run->has_launcher_id;
    snap->created_at = run->created_at;
    snap->claimed_at = run->claimed_at;
    snap->started_at = run->started_at;
    snap->completed_at = run->completed_at;

    /*
     * one copy of all the strings (the mark of a cut error text after the
     * error, before the result) and the session's name after them
     */

    n = ngx_http_runs_strings_len(run) - run->result_len;
    cut = run->error_cut ? ngx_http_runs_cut_suffix.len : 0;

    p = ngx_pnalloc(pool, n + cut + run->result_len + sess->name_len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, run->strings, n);
    ngx_memcpy(p + n, ngx_http_runs_cut_suffix.data, cut);
    ngx_memcpy(p + n + cut, run->strings + n, run->result_len);
    ngx_memcpy(p + n + cut + run->result_len, sess->name, sess->name_len);

    p = ngx_http_runs_snap_part(p, &snap->prompt, run->prompt_len);
    p = ngx_http_runs_snap_part(p, &snap->agent_name, run->agent_name_len);
    p = ngx_http_runs_snap_part(p, &snap->project_dir, run->project_dir_len);
    p = ngx_http_runs_snap_part(p, &snap->parent, run->parent_len);
    p = ngx_http_runs_snap_part(p, &snap->demands, run->demand_len);
    p = ngx_http_runs_snap_part(p, &snap->error, run->error_len + cut);
    p = ngx_http_runs_snap_part(p, &snap->result, run->result_len);
    (void) ngx_http_runs_snap_part(p, &snap->session_name, sess->name_len);

    snap->result_truncated = run->result_cut;

    /* a result of 0 bytes is an empty string, not null */
    if (run->result_len == 0 && run->has_result) {
        ngx_str_set(&snap->result, "");
    }

    if (run->error_len == 0 && run->error_note) {
        snap->error = ngx_http_runs_notes[run->error_note];
    }

    snap->affinity = !run->noaffinity;
    snap->callback = run->callback;

    return ngx_http_runs_snap_waiting(run, pool, snap);
}


/* what a claimable run that no registered runner takes waits for */

static ngx_int_t
ngx_http_runs_snap_waiting(ngx_http_runs_run_t *run, ngx_pool_t *pool,
    ngx_http_runs_snap_t *snap)
{
    u_char                  *p;
    size_t                   size;
    ngx_uint_t               affine;
    ngx_http_runs_rclass_t  *c;

    snap->waiting_for.len = 0;
    snap->waiting_for.data = NULL;
    snap->blueprint.len = 0;
    snap->blueprint.data = NULL;

    c = run->rclass;

    if (!run->in_ready || c->noffer) {
        return NGX_OK;
    }

    /* the host is the session's when the run demands none itself */
    affine = c->parts.host.len
             && (run->demand_len == 0
                 || ngx_http_runs_demanded_host(run) == 0);

    size = 160 + c->sn.str.len;

    p = ngx_pnalloc(pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    snap->waiting_for.data = p;
    snap->waiting_for.len = ngx_http_runs_demand_text(p, p + size, &c->parts,
                                                      affine)
                            - p;

    return NGX_OK;
}



void
ngx_http_runs_lsnap_locked(ngx_http_runs_launcher_t *lr, ngx_pool_t *pool,
    ngx_http_runs_lsnap_t *ls)
{
    ngx_memcpy(ls->id, lr->id, NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
    ls->registered_at = lr->registered_at;
    ls->last_heartbeat = lr->last_heartbeat;
    ls->deregister = lr->deregister;

    /* a failed copy leaves the field null */
    (void) ngx_http_runs_snap_str(pool, &ls->hostname, &lr->hostname);
    (void) ngx_http_runs_snap_str(pool, &ls->project_dir, &lr->project_dir);
    (void) ngx_http_runs_snap_str(pool, &ls->executor_type,
                                  &lr->executor_type);
    (void) ngx_http_runs_snap_str(pool, &ls->agents, &lr->agents);
    (void) ngx_http_runs_snap_str(pool, &ls->tags, &lr->tags);
}



void
ngx_http_runs_free_run_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *keep)
{
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess;

    sh = zone->sh;
    sh->full = 0;      /* room made */
    sess = run->session;

    /* only terminal runs are freed: they hold no launcher and no stop */

    ngx_http_runs_notify_all_locked(sh, &run->waiters, 1, NULL);

    ngx_http_runs_unlink_run_locked(sh, run);
    ngx_queue_remove(&run->all);
    ngx_queue_remove(&run->in_session);
    ngx_queue_remove(&run->state);

    sh->nruns--;
    sh->nstatus[run->status]--;

    if (run->status == NGX_HTTP_RUNS_COMPLETED) {
        sess->nblocking--;
    }

    if (run->log) {
        ngx_http_runs_log_free_locked(zone, run->log);
    }

    ngx_slab_free_locked(zone->shpool, run->strings);
    ngx_slab_free_locked(zone->shpool, run);

    if (--sess->nruns == 0 && sess != keep && !sess->pinned) {
        ngx_http_runs_free_session_locked(zone, sess);
    }
}



/*
 * Adds to a throttled count; what was added since the last line when this
 * worker is the one to log it now (once per 10 s), else 0.  Lock-free.
 */

ngx_atomic_uint_t
ngx_http_runs_throttle(ngx_http_runs_throttle_t *t, ngx_uint_t add)
{
    time_t             now;
    ngx_atomic_uint_t  last, total, n;

    if (add) {
        (void) ngx_atomic_fetch_add(&t->total, add);
    }

    now = ngx_time();
    last = t->at;

    /* a clock set back does not silence it */

    if ((now >= (time_t) last && now - (time_t) last < 10)
        || !ngx_atomic_cmp_set(&t->at, last, now))
    {
        return 0;
    }

    /* the one worker that logs for these 10 s */
    total = t->total;
    n = total - t->logged;
    t->logged = total;

    return n;
}



/* a refusal with 503 counted; the count to log now, else 0 */

ngx_atomic_uint_t
ngx_http_runs_store_refusal(ngx_http_runs_zone_t *zone, ngx_uint_t reason)
{
    return ngx_http_runs_throttle(&zone->sh->refused[reason], 1);
}



void
ngx_http_runs_log_free_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_log_t *log)
{
    ngx_queue_remove(&log->queue);
    log->run->log = NULL;
    log->run->log_evicted = 1;

    ngx_slab_free_locked(zone->shpool, log);
}



/* gives up the oldest log of a finished run: 0 when there is none */

ngx_uint_t
ngx_http_runs_log_evict_locked(ngx_http_runs_zone_t *zone)
{
    ngx_http_runs_log_t  *log;

    if (ngx_queue_empty(&zone->sh->logs)) {
        return 0;
    }

    log = ngx_queue_data(ngx_queue_head(&zone->sh->logs),
                         ngx_http_runs_log_t, queue);

    ngx_http_runs_log_free_locked(zone, log);
    zone->sh->logs_evicted++;

    return 1;
}



/*
 * A waiter for a held request, within its kind's cap and the zone's room
 * (finished runs are evicted for it like for any record); NULL: refused,
 * *refused says why.
 */

ngx_http_runs_waiter_t *
ngx_http_runs_waiter_new_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h, void *target,
    ngx_uint_t *refused, ngx_http_runs_after_t *af)
{
    ngx_http_runs_waiter_t  *w;

    if (ngx_http_runs_waiter_admit_locked(zone->sh, lim, h->kind, refused)
        != NGX_OK)
    {
        return NULL;
    }

    w = ngx_http_runs_alloc_locked(zone, sizeof(ngx_http_runs_waiter_t),
                                   NULL);
    if (w == NULL) {
        *refused = NGX_HTTP_RUNS_REFUSED_FULL;
        return NULL;
    }

    ngx_http_runs_waiter_add_locked(zone->sh, lim, w, h, target, af);

    return w;
}


/* a new session in the tables that find it, by name and by id */

void
ngx_http_runs_link_session_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess)
{
    sess->next = sh->sessions[sess->hash & sh->mask];
    sh->sessions[sess->hash & sh->mask] = sess;

    ngx_http_runs_new_sid_locked(sh, sess);
    sess->next_by_id = sh->session_ids[sess->sid1 & sh->mask];
    sh->session_ids[sess->sid1 & sh->mask] = sess;
    ngx_queue_insert_tail(&sh->session_list, &sess->all);

    sh->nsessions++;
}


/*
 * A run into the tables and queues that find it, last of its session's
 * runs and, live, of its active ones (a new run, or one a journal gives
 * back); its status is counted.
 */

void
ngx_http_runs_insert_run_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *sess)
{
    run->session = sess;

    ngx_queue_init(&run->owned);
    ngx_queue_init(&run->stop);
    ngx_queue_init(&run->waiters);

    run->next = sh->runs[run->id & sh->mask];
    sh->runs[run->id & sh->mask] = run;
    ngx_queue_insert_tail(&sh->all, &run->all);
    ngx_queue_insert_tail(&sess->runs, &run->in_session);

    if (ngx_http_runs_is_terminal(run->status)) {
        ngx_queue_insert_tail(&sh->finished, &run->state);

    } else {
        ngx_queue_insert_tail(&sess->active, &run->state);
    }

    if (run->status != NGX_HTTP_RUNS_FAILED
        && run->status != NGX_HTTP_RUNS_STOPPED)
    {
        sess->nblocking++;
    }

    sess->nruns++;
    sh->nruns++;
    sh->nstatus[run->status]++;
}


/*
 * A runner's call about a run (a report, a log piece): its launcher, seen
 * alive now, and the run; NGX_HTTP_RUNS_R_DONE, or which one is unknown.
 */

ngx_uint_t
ngx_http_runs_runner_call_locked(ngx_http_runs_shctx_t *sh, uint64_t lid,
    uint64_t rid, ngx_http_runs_launcher_t **lr, ngx_http_runs_run_t **run)
{
    *lr = ngx_http_runs_lookup_launcher_locked(sh, lid);

    if (*lr == NULL) {
        return NGX_HTTP_RUNS_R_NO_LAUNCHER;
    }

    (*lr)->last_heartbeat = ngx_http_runs_now();

    *run = ngx_http_runs_lookup_run_locked(sh, rid);

    return *run ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_RUN;
}
