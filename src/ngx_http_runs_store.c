
/*
 * The run store: runs, sessions and launchers in the zone.  Every function
 * named *_locked expects the caller to hold the zone's slab mutex; none of
 * them does I/O, JSON work or heap allocation.  The ngx_http_runs_store_*()
 * functions are what the endpoints call: each takes the lock itself, once.
 */


#include "ngx_http_runs_zone.h"


static void ngx_http_runs_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_rbtree_node_t *ngx_http_runs_rbtree_lookup(ngx_rbtree_t *tree,
    uint64_t key);
static uint64_t ngx_http_runs_siphash(ngx_http_runs_shctx_t *sh,
    u_char *name, size_t len);
static uint32_t ngx_http_runs_name_hash(ngx_http_runs_shctx_t *sh,
    u_char *name, size_t len);
static void ngx_http_runs_unlink_run_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run);
static void ngx_http_runs_make_ready_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, ngx_http_runs_bells_t *bells);
static void ngx_http_runs_requeue_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_bells_t *bells);
static ngx_int_t ngx_http_runs_init_sh(ngx_slab_pool_t *shpool,
    ngx_http_runs_shctx_t *sh, size_t size);
static void ngx_http_runs_init_keys(ngx_http_runs_shctx_t *sh,
    ngx_log_t *log);
static ngx_uint_t ngx_http_runs_create_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_create_t *cr, u_char *id, ngx_http_runs_bells_t *bells);
static ngx_uint_t ngx_http_runs_report_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_launcher_t *lr,
    ngx_http_runs_report_t *rp, ngx_http_runs_bells_t *bells);
static void ngx_http_runs_detach_locked(ngx_http_runs_run_t *run);
static ngx_uint_t ngx_http_runs_parent_loops_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name, ngx_str_t *parent);
static ngx_uint_t ngx_http_runs_session_rules_locked(
    ngx_http_runs_shctx_t *sh, ngx_http_runs_session_t *sess,
    ngx_http_runs_create_t *cr, ngx_str_t *agent, ngx_str_t *project,
    ngx_str_t *parent);
static void ngx_http_runs_record_start_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess, u_char *inherit, ngx_str_t *agent,
    ngx_str_t *project, ngx_str_t *parent);
static ngx_inline void ngx_http_runs_free_locked(ngx_http_runs_zone_t *zone,
    void *p);
static void ngx_http_runs_unqueue_stop_locked(ngx_http_runs_run_t *run);
static void ngx_http_runs_expire_claims_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, int64_t now, ngx_msec_t timeout,
    ngx_http_runs_lost_t *lost, ngx_http_runs_bells_t *bells);
static void ngx_http_runs_queue_stop_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run, ngx_http_runs_bells_t *bells);
static void ngx_http_runs_set_texts_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_str_t *error, ngx_str_t *result,
    size_t result_max);
static ngx_uint_t ngx_http_runs_evict_one_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *keep);
static u_char *ngx_http_runs_copy_str(u_char *p, ngx_str_t *dst,
    ngx_str_t *src);
static size_t ngx_http_runs_strings_len(ngx_http_runs_run_t *run);


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

/* an error text is kept up to _MAX bytes; one that does not fit is tried
   again cut to _CUT */
#define NGX_HTTP_RUNS_ERROR_MAX  65536
#define NGX_HTTP_RUNS_ERROR_CUT  1024


/* the status each event leads to, by ngx_http_runs_event_e */
static const ngx_uint_t  ngx_http_runs_event_status[] = {
    NGX_HTTP_RUNS_RUNNING,
    NGX_HTTP_RUNS_COMPLETED,
    NGX_HTTP_RUNS_FAILED,
    NGX_HTTP_RUNS_STOPPED
};




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
    ngx_uint_t  i, n;

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

    ngx_rbtree_init(&sh->ready, &sh->ready_sentinel,
                    ngx_http_runs_rbtree_insert_value);
    ngx_rbtree_init(&sh->launchers, &sh->launchers_sentinel,
                    ngx_http_runs_rbtree_insert_value);

    ngx_queue_init(&sh->all);
    ngx_queue_init(&sh->finished);
    ngx_queue_init(&sh->logs);
    ngx_queue_init(&sh->session_list);
    ngx_queue_init(&sh->launcher_list);
    ngx_queue_init(&sh->idle);
    ngx_queue_init(&sh->waiters);

    for (i = 0; i < NGX_HTTP_RUNS_DOORBELLS; i++) {
        sh->bells[i].rfd = -1;
        sh->bells[i].wfd = -1;
        ngx_queue_init(&sh->bells[i].notified);
    }

    return NGX_OK;
}


int64_t
ngx_http_runs_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * A time for a run's record (created, claimed, started, ended): each
 * worker's clock is its own cached time, a few ms behind another's at
 * times; a time given under the lock is not earlier than one given before
 * it, so the times agree with the order things happened in (the listings,
 * in creation order, are in time order; a session's latest change is
 * found without reading all its runs).  A clock set back by more than
 * NGX_HTTP_RUNS_CLOCK_STEP is taken as it is: holding the times up until
 * the clock caught up would hold up claim expiry and retention as long.
 */

int64_t
ngx_http_runs_stamp_locked(ngx_http_runs_shctx_t *sh, int64_t t)
{
    if (t < sh->stamped && sh->stamped - t <= NGX_HTTP_RUNS_CLOCK_STEP) {
        t = sh->stamped;
    }

    sh->stamped = t;

    return t;
}


/* keys are unique: run and launcher ids, creation sequence numbers */

static void
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


ngx_int_t
ngx_http_runs_parse_id(ngx_str_t *s, const char *prefix, uint64_t *id)
{
    size_t      plen;
    u_char      c;
    uint64_t    v;
    ngx_uint_t  i;

    plen = ngx_strlen(prefix);

    if (s->len != plen + 12 || ngx_strncmp(s->data, prefix, plen) != 0) {
        return NGX_ERROR;
    }

    v = 0;

    for (i = plen; i < s->len; i++) {
        c = s->data[i];

        if (c >= '0' && c <= '9') {
            v = (v << 4) | (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            v = (v << 4) | (c - 'a' + 10);

        } else {
            return NGX_ERROR;
        }
    }

    *id = v;

    return NGX_OK;
}


void
ngx_http_runs_make_id(u_char *dst, const char *prefix, size_t plen,
    uint64_t id)
{
    static u_char  hex[] = "0123456789abcdef";

    ngx_uint_t  i;

    ngx_memcpy(dst, prefix, plen);

    for (i = 0; i < 12; i++) {
        dst[plen + 11 - i] = hex[id & 0xf];
        id >>= 4;
    }
}


/*
 * Ids are a keyed permutation (a 4-round Feistel network on 48 bits) of a
 * counter: unique by construction, so no lookup is needed, and as hard to
 * guess as the key, which is random per zone.
 */

static uint64_t
ngx_http_runs_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;

    return x;
}


static uint64_t
ngx_http_runs_permute_id(ngx_http_runs_shctx_t *sh, uint64_t n)
{
    uint64_t    l, r, f;
    ngx_uint_t  i;

    l = (n >> 24) & 0xffffff;
    r = n & 0xffffff;

    for (i = 0; i < 4; i++) {
        f = ngx_http_runs_mix(r ^ sh->id_key[i]) & 0xffffff;
        n = l ^ f;
        l = r;
        r = n;
    }

    return (l << 24) | r;
}


static void
ngx_http_runs_init_keys(ngx_http_runs_shctx_t *sh, ngx_log_t *log)
{
    ssize_t     n;
    uint64_t    key[6];
    ngx_fd_t    fd;
    ngx_uint_t  i;

    n = 0;

    fd = ngx_open_file("/dev/urandom", NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd != NGX_INVALID_FILE) {
        n = read(fd, key, sizeof(key));

        if (ngx_close_file(fd) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          ngx_close_file_n " \"/dev/urandom\" failed");
        }
    }

    if (n != (ssize_t) sizeof(key)) {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "reading /dev/urandom failed: run ids and the session "
                      "table are keyed from the time and pid");

        for (i = 0; i < 6; i++) {
            key[i] = ngx_http_runs_mix((uint64_t) ngx_time() * 8 + i
                                       + ((uint64_t) ngx_pid << 32));
        }
    }

    ngx_memcpy(sh->id_key, key, sizeof(sh->id_key));
    ngx_memcpy(sh->name_key, key + 4, sizeof(sh->name_key));
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


/* SipHash-2-4 of a session name, keyed per zone */

#define ngx_http_runs_rotl(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))

#define ngx_http_runs_sipround                                               \
    v0 += v1; v1 = ngx_http_runs_rotl(v1, 13); v1 ^= v0;                     \
    v0 = ngx_http_runs_rotl(v0, 32);                                         \
    v2 += v3; v3 = ngx_http_runs_rotl(v3, 16); v3 ^= v2;                     \
    v0 += v3; v3 = ngx_http_runs_rotl(v3, 21); v3 ^= v0;                     \
    v2 += v1; v1 = ngx_http_runs_rotl(v1, 17); v1 ^= v2;                     \
    v2 = ngx_http_runs_rotl(v2, 32)

static uint32_t
ngx_http_runs_name_hash(ngx_http_runs_shctx_t *sh, u_char *name, size_t len)
{
    return (uint32_t) ngx_http_runs_siphash(sh, name, len);
}


static uint64_t
ngx_http_runs_siphash(ngx_http_runs_shctx_t *sh, u_char *name, size_t len)
{
    u_char      *p, *last;
    uint64_t     v0, v1, v2, v3, m, b;
    ngx_uint_t   i;

    v0 = 0x736f6d6570736575ULL ^ sh->name_key[0];
    v1 = 0x646f72616e646f6dULL ^ sh->name_key[1];
    v2 = 0x6c7967656e657261ULL ^ sh->name_key[0];
    v3 = 0x7465646279746573ULL ^ sh->name_key[1];

    last = name + (len & ~(size_t) 7);

    for (p = name; p < last; p += 8) {
        m = 0;

        for (i = 0; i < 8; i++) {
            m |= (uint64_t) p[i] << (8 * i);
        }

        v3 ^= m;
        ngx_http_runs_sipround;
        ngx_http_runs_sipround;
        v0 ^= m;
    }

    b = (uint64_t) len << 56;

    for (i = 0; i < (len & 7); i++) {
        b |= (uint64_t) p[i] << (8 * i);
    }

    v3 ^= b;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;
    v0 ^= b;

    v2 ^= 0xff;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;

    return v0 ^ v1 ^ v2 ^ v3;
}


ngx_http_runs_session_t *
ngx_http_runs_lookup_session_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name)
{
    uint32_t                  hash;
    ngx_http_runs_session_t  *sess;

    hash = ngx_http_runs_name_hash(sh, name->data, name->len);

    for (sess = sh->sessions[hash & sh->mask]; sess; sess = sess->next) {
        if (sess->hash == hash && sess->name_len == name->len
            && ngx_memcmp(sess->name, name->data, name->len) == 0)
        {
            return sess;
        }
    }

    return NULL;
}


/*
 * A session's id is a UUID of version 4 whose 122 free bits are two
 * SipHashes, keyed per zone, of a session counter (prefixed with a 0 or a
 * 1 byte, which no session name starts with): as hard to guess as the key,
 * and checked unique in the zone.
 */

static uint64_t
ngx_http_runs_sid_half(ngx_http_runs_shctx_t *sh, uint64_t seq,
    ngx_uint_t half)
{
    u_char      m[9];
    uint64_t    v;
    ngx_uint_t  i;

    m[0] = (u_char) half;

    for (i = 0; i < 8; i++) {
        m[i + 1] = (u_char) (seq >> (8 * i));
    }

    v = ngx_http_runs_siphash(sh, m, 9);

    /* version 4, variant 10 */

    return half ? (v & 0x3fffffffffffffffULL) | 0x8000000000000000ULL
                : (v & ~0xf000ULL) | 0x4000ULL;
}


/*
 * The record keeps the session's creation sequence number and the
 * second half of its id: the first half is made again from the first
 * when it is needed, so a listing can find its place again by number.
 */

void
ngx_http_runs_session_sid(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, uint64_t *sid)
{
    sid[0] = ngx_http_runs_sid_half(sh, sess->seq, 0);
    sid[1] = sess->sid1;
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


static void
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
ngx_http_runs_format_sid(u_char *dst, uint64_t *sid)
{
    static u_char  hex[] = "0123456789abcdef";

    ngx_uint_t  i, k;
    uint64_t    v;

    k = 0;

    for (i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            dst[k++] = '-';
        }

        v = sid[i / 16];
        dst[k++] = hex[(v >> (60 - 4 * (i % 16))) & 0xf];
    }
}


ngx_int_t
ngx_http_runs_parse_sid(ngx_str_t *s, uint64_t *sid)
{
    u_char      c;
    ngx_uint_t  i, n;

    if (s->len != NGX_HTTP_RUNS_SESSION_ID_LEN) {
        return NGX_ERROR;
    }

    sid[0] = 0;
    sid[1] = 0;
    n = 0;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return NGX_ERROR;
            }

            continue;
        }

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else {
            c |= 0x20;

            if (c < 'a' || c > 'f') {
                return NGX_ERROR;
            }

            c = c - 'a' + 10;
        }

        sid[n / 16] = (sid[n / 16] << 4) | c;
        n++;
    }

    return NGX_OK;
}


void
ngx_http_runs_free_session_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess)
{
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_session_t  **p;

    sh = zone->sh;

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


static size_t
ngx_http_runs_strings_len(ngx_http_runs_run_t *run)
{
    return run->prompt_len + run->agent_name_len + run->project_dir_len
           + run->parent_len + run->error_len + run->result_len;
}


/* an absent string (data NULL) is never handed to memcpy() */

static ngx_inline u_char *
ngx_http_runs_put(u_char *p, ngx_str_t *s)
{
    return s->len ? ngx_cpymem(p, s->data, s->len) : p;
}


static u_char *
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

static ngx_http_runs_session_t *
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


/* a new pending run, its record filled, joins the store and its session */

void
ngx_http_runs_link_run_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *sess,
    ngx_http_runs_bells_t *bells)
{
    uint64_t                seq;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;

    seq = ++sh->seq;
    run->id = ngx_http_runs_permute_id(sh, seq);
    run->seq = seq;
    run->status = NGX_HTTP_RUNS_PENDING;
    run->created_at = ngx_http_runs_stamp_locked(sh, ngx_http_runs_now());
    run->session = sess;

    ngx_queue_init(&run->owned);
    ngx_queue_init(&run->stop);
    ngx_queue_init(&run->waiters);

    run->next = sh->runs[run->id & sh->mask];
    sh->runs[run->id & sh->mask] = run;
    ngx_queue_insert_tail(&sh->all, &run->all);
    ngx_queue_insert_tail(&sess->runs, &run->in_session);
    ngx_queue_insert_tail(&sess->active, &run->state);

    sess->nruns++;
    sess->nblocking++;
    sh->nruns++;
    sh->nstatus[NGX_HTTP_RUNS_PENDING]++;

    ngx_http_runs_make_ready_locked(sh, sess, bells);
}


/*
 * Would the session "name" be its own ancestor with this parent?  The
 * chain is walked by name (a parent may not exist yet; one started later
 * is checked then); a chain deeper than 64 counts as a loop.
 */

static ngx_uint_t
ngx_http_runs_parent_loops_locked(ngx_http_runs_shctx_t *sh, ngx_str_t *name,
    ngx_str_t *parent)
{
    ngx_str_t                 p;
    ngx_uint_t                depth;
    ngx_http_runs_session_t  *up;

    p = *parent;

    for (depth = 0; depth < 64; depth++) {

        if (p.len == name->len && ngx_memcmp(p.data, name->data, p.len) == 0)
        {
            return 1;
        }

        up = ngx_http_runs_lookup_session_locked(sh, &p);

        if (up == NULL || up->parent_len == 0) {
            return 0;
        }

        p.len = up->parent_len;
        p.data = up->inherit + up->agent_name_len + up->project_dir_len;
    }

    return 1;
}


/*
 * A start of a session that has a run not failed or stopped is refused,
 * as is one whose parent chain leads back to it; a resume needs a start
 * run, takes its agent_name and project_dir when it gives none, and its
 * session's parent (naming another is refused).
 */

static ngx_uint_t
ngx_http_runs_session_rules_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, ngx_http_runs_create_t *cr,
    ngx_str_t *agent, ngx_str_t *project, ngx_str_t *parent)
{
    ngx_str_t  own;

    if (cr->type == NGX_HTTP_RUNS_START) {
        if (sess && sess->nblocking) {
            return NGX_HTTP_RUNS_R_SESSION_EXISTS;
        }

        if (parent->data
            && ngx_http_runs_parent_loops_locked(sh, &cr->session_name,
                                                 parent))
        {
            return NGX_HTTP_RUNS_R_LOOP;
        }

        return NGX_HTTP_RUNS_R_DONE;
    }

    if (sess == NULL || !sess->has_start) {
        return NGX_HTTP_RUNS_R_NO_SESSION;
    }

    /* the parent is the session's, set by its start run */

    own.len = sess->parent_len;
    own.data = own.len ? sess->inherit + sess->agent_name_len
                         + sess->project_dir_len
                       : NULL;

    if (parent->data == NULL) {
        *parent = own;

    } else if (parent->len != own.len
               || ngx_memcmp(parent->data, own.data, own.len) != 0)
    {
        return NGX_HTTP_RUNS_R_OTHER_PARENT;
    }

    if (agent->data == NULL && sess->agent_name_len) {
        agent->len = sess->agent_name_len;
        agent->data = sess->inherit;
    }

    if (project->data == NULL && sess->project_dir_len) {
        project->len = sess->project_dir_len;
        project->data = sess->inherit + sess->agent_name_len;
    }

    return NGX_HTTP_RUNS_R_DONE;
}


static ngx_uint_t
ngx_http_runs_create_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_create_t *cr, u_char *id, ngx_http_runs_bells_t *bells)
{
    size_t                    isize;
    u_char                   *p, *inherit, *strings;
    ngx_str_t                 agent, project, parent;
    ngx_uint_t                found;
    ngx_uint_t                new_session;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess;

    sh = zone->sh;

    sess = ngx_http_runs_lookup_session_locked(sh, &cr->session_name);

    agent = cr->agent_name;
    project = cr->project_dir;
    parent = cr->parent;

    found = ngx_http_runs_session_rules_locked(sh, sess, cr, &agent, &project,
                                               &parent);
    if (found != NGX_HTTP_RUNS_R_DONE) {
        return found;
    }

    new_session = (sess == NULL);
    inherit = NULL;
    strings = NULL;

    if (sess) {
        sess->pinned = 1;
    }

    run = ngx_http_runs_alloc_locked(zone, sizeof(ngx_http_runs_run_t), sess);
    if (run == NULL) {
        goto full;
    }

    /* the prompt is never empty: this is never a zero-sized allocation */

    strings = ngx_http_runs_alloc_locked(zone, cr->prompt.len + agent.len
                                               + project.len + parent.len,
                                         sess);
    if (strings == NULL) {
        goto full;
    }

    if (new_session) {
        sess = ngx_http_runs_new_session_locked(zone, &cr->session_name);
        if (sess == NULL) {
            goto full;
        }
    }

    if (cr->type == NGX_HTTP_RUNS_START) {
        isize = agent.len + project.len + parent.len;

        if (isize) {
            inherit = ngx_http_runs_alloc_locked(zone, isize, sess);
            if (inherit == NULL) {
                goto full;
            }
        }
    }

    /* nothing can fail from here on */

    if (new_session) {
        sess->next = sh->sessions[sess->hash & sh->mask];
        sh->sessions[sess->hash & sh->mask] = sess;

        ngx_http_runs_new_sid_locked(sh, sess);
        sess->next_by_id = sh->session_ids[sess->sid1 & sh->mask];
        sh->session_ids[sess->sid1 & sh->mask] = sess;
        ngx_queue_insert_tail(&sh->session_list, &sess->all);

        sh->nsessions++;
    }

    if (cr->type == NGX_HTTP_RUNS_START) {
        ngx_http_runs_record_start_locked(zone, sess, inherit, &agent,
                                          &project, &parent);
    }

    sess->pinned = 0;

    ngx_memzero(run, sizeof(ngx_http_runs_run_t));

    run->strings = strings;
    run->prompt_len = (uint32_t) cr->prompt.len;
    run->agent_name_len = (u_char) agent.len;
    run->project_dir_len = (uint16_t) project.len;
    run->parent_len = (u_char) parent.len;

    p = ngx_http_runs_put(strings, &cr->prompt);
    p = ngx_http_runs_put(p, &agent);
    p = ngx_http_runs_put(p, &project);
    (void) ngx_http_runs_put(p, &parent);

    run->type = cr->type;

    ngx_http_runs_link_run_locked(zone, run, sess, bells);

    ngx_http_runs_run_id(id, run);

    return NGX_HTTP_RUNS_R_DONE;

full:

    /* nothing is half-applied */

    ngx_http_runs_free_locked(zone, inherit);
    ngx_http_runs_free_locked(zone, strings);
    ngx_http_runs_free_locked(zone, run);

    if (new_session && sess) {
        ngx_slab_free_locked(zone->shpool, sess);

    } else if (sess) {
        sess->pinned = 0;

        if (sess->nruns == 0) {
            /* eviction emptied it; it is forgotten as it would have been */
            ngx_http_runs_free_session_locked(zone, sess);
        }
    }

    return NGX_HTTP_RUNS_R_REFUSED;
}


/*
 * A start run's agent_name, project_dir and parent_session_name, inherited
 * by resumes
 */

static void
ngx_http_runs_record_start_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess, u_char *inherit, ngx_str_t *agent,
    ngx_str_t *project, ngx_str_t *parent)
{
    u_char  *p;

    ngx_http_runs_free_locked(zone, sess->inherit);

    sess->inherit = inherit;
    sess->agent_name_len = (u_char) agent->len;
    sess->project_dir_len = (uint16_t) project->len;
    sess->parent_len = (u_char) parent->len;

    if (inherit) {
        p = ngx_http_runs_put(inherit, agent);
        p = ngx_http_runs_put(p, project);
        (void) ngx_http_runs_put(p, parent);
    }

    sess->has_start = 1;
}


static ngx_inline void
ngx_http_runs_free_locked(ngx_http_runs_zone_t *zone, void *p)
{
    if (p) {
        ngx_slab_free_locked(zone->shpool, p);
    }
}


/* the first live run of a session becomes claimable when it is pending */

static void
ngx_http_runs_make_ready_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_run_t  *run;

    if (ngx_queue_empty(&sess->active)) {
        return;
    }

    run = ngx_queue_data(ngx_queue_head(&sess->active), ngx_http_runs_run_t,
                         state);

    if (run->status != NGX_HTTP_RUNS_PENDING || run->in_ready) {
        return;
    }

    /* set each time: ngx_rbtree_delete() zeroes a node's key */
    run->ready.key = run->seq;
    ngx_rbtree_insert(&sh->ready, &run->ready);
    run->in_ready = 1;

    ngx_http_runs_notify_idle_locked(sh, bells);
}


void
ngx_http_runs_set_status_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_uint_t status, int64_t now,
    ngx_http_runs_bells_t *bells)
{
    ngx_uint_t                old;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess;

    sh = zone->sh;
    sess = run->session;
    old = run->status;

    if (run->in_ready && status != NGX_HTTP_RUNS_PENDING) {
        ngx_rbtree_delete(&sh->ready, &run->ready);
        run->in_ready = 0;
    }

    sh->nstatus[old]--;
    sh->nstatus[status]++;
    run->status = status;

    if (!ngx_http_runs_is_terminal(status)) {
        return;
    }

    run->completed_at = ngx_http_runs_stamp_locked(sh, now);

    if (status == NGX_HTTP_RUNS_FAILED || status == NGX_HTTP_RUNS_STOPPED) {
        sess->nblocking--;
    }

    ngx_http_runs_detach_locked(run);

    ngx_queue_remove(&run->state);
    ngx_queue_insert_tail(&sh->finished, &run->state);

    if (run->log) {
        ngx_queue_insert_tail(&sh->logs, &run->log->queue);
    }

    ngx_http_runs_notify_all_locked(sh, &run->waiters, 0, bells);

    /* the session's next run may go now */
    ngx_http_runs_make_ready_locked(sh, sess, bells);

    /* a child's run ended: its parent hears of it, in this same change */
    if (sess->parent_len && !sh->no_callbacks) {
        ngx_http_runs_callback_locked(zone, run, bells);
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
    text->data = run->strings + run->prompt_len + run->agent_name_len
                 + run->project_dir_len + run->parent_len;
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


/*
 * A report's texts: the error of a failed run and the result of any run
 * that ended.  Never fails: a report about a run is recorded whatever
 * room is left.  The texts are stored whole if they fit (finished runs
 * are evicted for them; an error beyond NGX_HTTP_RUNS_ERROR_MAX and a
 * result beyond runs_result_max are cut first), else cut to
 * NGX_HTTP_RUNS_ERROR_CUT bytes each, else dropped: the error becomes a
 * fixed note, the result null and marked cut.  Both go in one new
 * allocation with the run's other strings.
 */

static void
ngx_http_runs_set_texts_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_str_t *error, ngx_str_t *result,
    size_t result_max)
{
    u_char  *p;
    size_t   keep, elen, rlen;

    run->has_result = (result->data != NULL);

    elen = error->len ? ngx_http_runs_utf8_cut(error, NGX_HTTP_RUNS_ERROR_MAX)
                      : 0;
    rlen = result->len ? ngx_http_runs_utf8_cut(result, result_max) : 0;

    if (elen == 0 && rlen == 0) {
        run->result_cut = (result->len != 0);
        return;
    }

    keep = run->prompt_len + run->agent_name_len + run->project_dir_len
           + run->parent_len;

    p = ngx_http_runs_alloc_locked(zone, keep + elen + rlen, NULL);

    if (p == NULL) {
        elen = ngx_http_runs_utf8_cut(error, ngx_min(elen,
                                                     NGX_HTTP_RUNS_ERROR_CUT));
        rlen = ngx_http_runs_utf8_cut(result, ngx_min(rlen,
                                                      NGX_HTTP_RUNS_ERROR_CUT));

        p = ngx_http_runs_alloc_locked(zone, keep + elen + rlen, NULL);
    }

    if (p == NULL) {
        /* no room at all: the transition is recorded all the same */
        run->error_note = error->len ? NGX_HTTP_RUNS_NOTE_DROPPED
                                     : run->error_note;
        run->result_cut = (result->len != 0);
        return;
    }

    ngx_memcpy(p, run->strings, keep);

    if (elen) {
        ngx_memcpy(p + keep, error->data, elen);
    }

    if (rlen) {
        ngx_memcpy(p + keep + elen, result->data, rlen);
    }

    ngx_slab_free_locked(zone->shpool, run->strings);

    run->strings = p;
    run->error_len = (uint32_t) elen;
    run->error_cut = (elen < error->len);
    run->result_len = (uint32_t) rlen;
    run->result_cut = (rlen < result->len);

    if (elen) {
        run->error_note = NGX_HTTP_RUNS_NOTE_NONE;
    }
}


static void
ngx_http_runs_queue_stop_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run, ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_launcher_t  *lr;

    lr = run->launcher;

    if (lr == NULL || run->stop_queued) {
        return;
    }

    ngx_queue_insert_tail(&lr->stops, &run->stop);
    run->stop_queued = 1;

    ngx_http_runs_notify_all_locked(sh, &lr->waiters, 0, bells);
}


ngx_int_t
ngx_http_runs_stop_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_bells_t *bells)
{
    switch (run->status) {

    case NGX_HTTP_RUNS_PENDING:
        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_STOPPED,
                                        ngx_http_runs_now(), bells);
        return NGX_OK;

    case NGX_HTTP_RUNS_CLAIMED:
    case NGX_HTTP_RUNS_RUNNING:
        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_STOPPING,
                                        0, bells);
        /* fall through */

    case NGX_HTTP_RUNS_STOPPING:
        ngx_http_runs_queue_stop_locked(zone->sh, run, bells);
        return NGX_OK;

    default:
        return NGX_DECLINED;
    }
}


/*
 * A launcher's report on a run: the transition, or why there is none.
 * A report repeated by the launcher that made it (its answer was lost) is
 * NGX_HTTP_RUNS_R_REPEATED and changes nothing.
 */

static ngx_uint_t
ngx_http_runs_report_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_launcher_t *lr,
    ngx_http_runs_report_t *rp, ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_event_e  ev = rp->event;

    int64_t     now;
    ngx_uint_t  status, next;

    status = run->status;

    if (run->launcher != lr) {

        if (run->has_launcher_id && run->launcher_key == lr->node.key
            && ngx_http_runs_is_terminal(status)
            && status == ngx_http_runs_event_status[ev])
        {
            return NGX_HTTP_RUNS_R_REPEATED;
        }

        if (run->requeued && run->launcher_key == lr->node.key) {
            return NGX_HTTP_RUNS_R_TAKEN_BACK;
        }

        return run->launcher ? NGX_HTTP_RUNS_R_OTHER_HOLDER
                             : NGX_HTTP_RUNS_R_NOT_HELD;
    }

    next = NGX_HTTP_RUNS_NSTATUS;

    switch (ev) {

    case NGX_HTTP_RUNS_EV_STARTED:
        if (status == NGX_HTTP_RUNS_CLAIMED) {
            next = NGX_HTTP_RUNS_RUNNING;

        } else if (status == NGX_HTTP_RUNS_RUNNING
                   || (status == NGX_HTTP_RUNS_STOPPING && run->started_at))
        {
            return NGX_HTTP_RUNS_R_REPEATED;

        } else if (status == NGX_HTTP_RUNS_STOPPING) {
            next = NGX_HTTP_RUNS_STOPPING;
        }
        break;

    case NGX_HTTP_RUNS_EV_COMPLETED:
        if (status == NGX_HTTP_RUNS_RUNNING
            || status == NGX_HTTP_RUNS_STOPPING)
        {
            next = NGX_HTTP_RUNS_COMPLETED;
        }
        break;

    case NGX_HTTP_RUNS_EV_FAILED:
        next = NGX_HTTP_RUNS_FAILED;
        break;

    case NGX_HTTP_RUNS_EV_STOPPED:
        next = NGX_HTTP_RUNS_STOPPED;
        break;
    }

    if (next == NGX_HTTP_RUNS_NSTATUS) {
        return NGX_HTTP_RUNS_R_WRONG_STATE;
    }

    now = ngx_http_runs_now();

    if (ev != NGX_HTTP_RUNS_EV_STARTED) {
        ngx_http_runs_set_texts_locked(zone, run, &rp->error, &rp->result,
                                       rp->result_max);
    }

    if (ev == NGX_HTTP_RUNS_EV_STARTED) {
        run->started_at = ngx_http_runs_stamp_locked(zone->sh, now);
    }

    if (next != status) {
        ngx_http_runs_set_status_locked(zone, run, next, now, bells);
    }

    return NGX_HTTP_RUNS_R_DONE;
}


static void
ngx_http_runs_requeue_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_bells_t *bells)
{
    ngx_http_runs_detach_locked(run);
    run->has_launcher_id = 0;
    run->requeued = 1;          /* launcher_key still names the holder */
    run->claimed_at = 0;

    ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_PENDING, 0,
                                    bells);

    /* its creation sequence number puts it ahead of every newer run */
    ngx_http_runs_make_ready_locked(zone->sh, run->session, bells);
}


/* the run leaves its launcher: the runs it holds, the stops queued */

static void
ngx_http_runs_detach_locked(ngx_http_runs_run_t *run)
{
    if (run->launcher) {
        ngx_queue_remove(&run->owned);
        ngx_queue_init(&run->owned);
        run->launcher = NULL;
    }

    ngx_http_runs_unqueue_stop_locked(run);
}


static void
ngx_http_runs_unqueue_stop_locked(ngx_http_runs_run_t *run)
{
    if (run->stop_queued) {
        ngx_queue_remove(&run->stop);
        ngx_queue_init(&run->stop);
        run->stop_queued = 0;
    }
}


ngx_http_runs_launcher_t *
ngx_http_runs_register_locked(ngx_http_runs_zone_t *zone, ngx_str_t *hostname,
    ngx_str_t *project_dir, ngx_str_t *executor_type, ngx_str_t *agents)
{
    u_char                    *p;
    size_t                     size;
    uint64_t                   id;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = zone->sh;

    size = sizeof(ngx_http_runs_launcher_t) + hostname->len
           + project_dir->len + executor_type->len + agents->len;

    lr = ngx_http_runs_alloc_locked(zone, size, NULL);
    if (lr == NULL) {
        return NULL;
    }

    ngx_memzero(lr, sizeof(ngx_http_runs_launcher_t));

    p = (u_char *) lr + sizeof(ngx_http_runs_launcher_t);
    p = ngx_http_runs_copy_str(p, &lr->hostname, hostname);
    p = ngx_http_runs_copy_str(p, &lr->project_dir, project_dir);
    p = ngx_http_runs_copy_str(p, &lr->executor_type, executor_type);
    (void) ngx_http_runs_copy_str(p, &lr->agents, agents);

    id = ngx_http_runs_permute_id(sh, ++sh->launcher_seq);
    lr->node.key = id;
    ngx_http_runs_make_id(lr->id, "lnch_", 5, id);

    lr->registered_at = ngx_http_runs_now();
    lr->last_heartbeat = lr->registered_at;

    ngx_queue_init(&lr->runs);
    ngx_queue_init(&lr->stops);
    ngx_queue_init(&lr->waiters);

    ngx_rbtree_insert(&sh->launchers, &lr->node);
    ngx_queue_insert_tail(&sh->launcher_list, &lr->list);
    sh->nlaunchers++;

    return lr;
}


void
ngx_http_runs_remove_launcher_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t note,
    ngx_http_runs_bells_t *bells)
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
            ngx_http_runs_requeue_locked(zone, run, bells);
            continue;
        }

        /* a fixed text: nothing to allocate */
        run->error_note = note;

        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_FAILED, now,
                                        bells);
    }

    /* held polls answer {"deregistered": true} */
    ngx_http_runs_notify_all_locked(sh, &lr->waiters, 1, bells);

    ngx_rbtree_delete(&sh->launchers, &lr->node);
    ngx_queue_remove(&lr->list);
    sh->nlaunchers--;

    ngx_slab_free_locked(zone->shpool, lr);
}


ngx_int_t
ngx_http_runs_poll_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t claim, ngx_pool_t *pool,
    ngx_http_runs_poll_t *p, ngx_http_runs_bells_t *bells)
{
    size_t                  n;
    uint64_t                prev_key;
    ngx_str_t              *s;
    ngx_queue_t            *q;
    ngx_rbtree_node_t      *node;
    ngx_http_runs_run_t    *run;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;

    if (lr == NULL) {
        p->what = NGX_HTTP_RUNS_POLL_DEREGISTERED;
        return NGX_OK;
    }

    lr->last_heartbeat = ngx_http_runs_now();

    if (lr->deregister) {
        p->what = NGX_HTTP_RUNS_POLL_DEREGISTERED;
        ngx_http_runs_remove_launcher_locked(zone, lr,
                                             NGX_HTTP_RUNS_NOTE_DEREGISTERED,
                                             bells);
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

    if (!claim || sh->ready.root == sh->ready.sentinel) {
        p->what = NGX_HTTP_RUNS_POLL_NOTHING;
        return NGX_OK;
    }

    node = ngx_rbtree_min(sh->ready.root, sh->ready.sentinel);
    run = (ngx_http_runs_run_t *)
              ((u_char *) node - offsetof(ngx_http_runs_run_t, ready));

    prev_key = run->launcher_key;
    run->claimed_at = ngx_http_runs_stamp_locked(sh, ngx_http_runs_now());
    run->launcher_key = lr->node.key;
    run->has_launcher_id = 1;
    run->launcher = lr;
    ngx_queue_insert_tail(&lr->runs, &run->owned);

    ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_CLAIMED, 0,
                                    bells);

    if (ngx_http_runs_snap_locked(sh, run, pool, &p->run) != NGX_OK) {
        /* a claim whose answer cannot be written is undone */
        ngx_http_runs_detach_locked(run);
        run->launcher_key = prev_key;
        run->has_launcher_id = 0;
        run->claimed_at = 0;

        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_PENDING, 0,
                                        bells);
        ngx_http_runs_make_ready_locked(sh, run->session, bells);

        return NGX_ERROR;
    }

    run->requeued = 0;

    p->what = NGX_HTTP_RUNS_POLL_RUN;

    return NGX_OK;
}


/*
 * One slice of a listing, newest first: visits at most
 * NGX_HTTP_RUNS_LIST_SLICE runs (or sequence numbers of runs gone) from
 * *cursor, the creation sequence of the next run to visit (0: the newest),
 * and copies those that match into snaps.  The runs of one session when
 * sid or name->data is set (NGX_DECLINED: there is no such session).
 * NGX_AGAIN: call again, the lock may be released in between; NGX_OK:
 * done; NGX_ERROR: no memory.
 *
 * A run found again by its sequence number is an O(1) lookup (the id is a
 * permutation of it), so a listing never holds the lock for a scan of the
 * whole store, and a run freed between two slices only costs a walk down
 * the sequence numbers to the next one still stored.
 */

ngx_int_t
ngx_http_runs_list_locked(ngx_http_runs_shctx_t *sh, ngx_str_t *name,
    uint64_t *sid, ngx_int_t status, ngx_pool_t *pool,
    ngx_http_runs_snap_t *snaps, ngx_uint_t cap, ngx_uint_t *n,
    uint64_t *cursor)
{
    uint64_t                  seq, oldest;
    ngx_uint_t                budget;
    ngx_queue_t              *q, *head;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_session_t  *sess;

    sess = NULL;
    head = &sh->all;

    if (sid || name->data) {
        sess = sid ? ngx_http_runs_lookup_sid_locked(sh, sid)
                   : ngx_http_runs_lookup_session_locked(sh, name);
        if (sess == NULL) {
            return NGX_DECLINED;
        }

        head = &sess->runs;
    }

    if (ngx_queue_empty(head) || *n >= cap) {
        return NGX_OK;
    }

    budget = NGX_HTTP_RUNS_LIST_SLICE;

    if (*cursor == 0) {
        q = ngx_queue_last(head);

    } else {
        q = ngx_queue_head(head);
        run = sess ? ngx_queue_data(q, ngx_http_runs_run_t, in_session)
                   : ngx_queue_data(q, ngx_http_runs_run_t, all);
        oldest = run->seq;

        for (seq = *cursor; /* void */ ; seq--) {

            if (seq < oldest) {
                return NGX_OK;
            }

            if (budget == 0) {
                *cursor = seq;
                return NGX_AGAIN;
            }

            budget--;

            run = ngx_http_runs_lookup_run_locked(sh,
                                        ngx_http_runs_permute_id(sh, seq));

            if (run && (sess == NULL || run->session == sess)) {
                break;
            }
        }

        q = sess ? &run->in_session : &run->all;
    }

    for ( /* void */ ; q != ngx_queue_sentinel(head); q = ngx_queue_prev(q)) {

        run = sess ? ngx_queue_data(q, ngx_http_runs_run_t, in_session)
                   : ngx_queue_data(q, ngx_http_runs_run_t, all);

        if (*n >= cap) {
            return NGX_OK;
        }

        if (budget == 0) {
            *cursor = run->seq;
            return NGX_AGAIN;
        }

        budget--;

        if (status != -1 && run->status != (ngx_uint_t) status) {
            continue;
        }

        if (ngx_http_runs_snap_locked(sh, run, pool, &snaps[*n]) != NGX_OK) {
            return NGX_ERROR;
        }

        (*n)++;
    }

    return NGX_OK;
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
}


void
ngx_http_runs_free_run_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *keep)
{
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess;

    sh = zone->sh;
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
    ngx_http_runs_lost_t *lost, ngx_http_runs_bells_t *bells)
{
    ngx_uint_t            k;
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

        k = lost->nexpired++;

        if (k < NGX_HTTP_RUNS_LOST_LOGGED) {
            ngx_http_runs_run_id(lost->run[k], run);
            ngx_memcpy(lost->holder[k], lr->id,
                       NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
        }

        zone->sh->claims_expired++;

        if (run->status == NGX_HTTP_RUNS_CLAIMED) {
            ngx_http_runs_requeue_locked(zone, run, bells);
            continue;
        }

        /* stopping before it started: nothing runs it, it is stopped */
        run->requeued = 1;
        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_STOPPED, now,
                                        bells);
    }
}


/*
 * Runner loss and retention, run from the workers' timer; "now" is the
 * caller's clock so every worker judges alike.
 */

void
ngx_http_runs_maintain_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_main_conf_t *rmcf, int64_t now, ngx_http_runs_lost_t *lost,
    ngx_http_runs_bells_t *bells)
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

        if (rmcf->claim_timeout) {
            ngx_http_runs_expire_claims_locked(zone, lr, now,
                                               rmcf->claim_timeout, lost,
                                               bells);
        }

        if (lr->nwaiters) {
            /* a held poll is a live runner */
            lr->last_heartbeat = now;
            continue;
        }

        if (now - lr->last_heartbeat > (int64_t) rmcf->launcher_expiry) {
            if (lost->n < NGX_HTTP_RUNS_LOST_LOGGED) {
                ngx_memcpy(lost->id[lost->n], lr->id,
                           NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
                lost->silent[lost->n] = now - lr->last_heartbeat;
            }

            lost->n++;

            ngx_http_runs_remove_launcher_locked(zone, lr,
                                                 NGX_HTTP_RUNS_NOTE_LOST,
                                                 bells);
        }
    }

    for (n = 0; n < NGX_HTTP_RUNS_MAINT_BATCH; n++) {

        if (ngx_queue_empty(&sh->finished)) {
            break;
        }

        q = ngx_queue_head(&sh->finished);
        run = ngx_queue_data(q, ngx_http_runs_run_t, state);

        if (now - run->completed_at < (int64_t) rmcf->retention) {
            break;
        }

        ngx_http_runs_free_run_locked(zone, run, NULL);
    }
}


/*
 * The sweep, from every worker's timer; it runs at most once a second for
 * the whole zone (next_maintenance decides which worker does).  What it
 * did is logged after the lock is released.
 */

void
ngx_http_runs_maintain(ngx_http_runs_zone_t *zone,
    ngx_http_runs_main_conf_t *rmcf, ngx_log_t *log)
{
    int64_t                 now;
    ngx_uint_t              k;
    ngx_http_runs_lost_t    lost;
    ngx_http_runs_bells_t   bells;

    now = ngx_http_runs_now();
    bells = 0;
    lost.n = 0;
    lost.nexpired = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    /*
     * a tenth of slack: the timer runs on the monotonic clock, "now" is
     * the wall clock; a tick a few ms early must not skip a whole second
     */
    if (now >= zone->sh->next_maintenance) {
        zone->sh->next_maintenance = now + NGX_HTTP_RUNS_MAINT_INTERVAL
                                     - NGX_HTTP_RUNS_MAINT_INTERVAL / 10;
        ngx_http_runs_maintain_locked(zone, rmcf, now, &lost, &bells);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    for (k = 0; k < ngx_min(lost.n, NGX_HTTP_RUNS_LOST_LOGGED); k++) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "runs_zone \"%V\": launcher %*s silent for %L ms, "
                      "removed: launcher lost", &zone->name,
                      (size_t) NGX_HTTP_RUNS_LAUNCHER_ID_LEN, lost.id[k],
                      lost.silent[k]);
    }

    if (lost.n > NGX_HTTP_RUNS_LOST_LOGGED) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "runs_zone \"%V\": %ui more launchers removed: "
                      "launcher lost", &zone->name,
                      lost.n - NGX_HTTP_RUNS_LOST_LOGGED);
    }

    for (k = 0; k < ngx_min(lost.nexpired, NGX_HTTP_RUNS_LOST_LOGGED); k++) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "runs_zone \"%V\": run %*s was claimed by "
                      "launcher %*s, which did not confirm it within "
                      "runs_claim_timeout (%M ms): taken back",
                      &zone->name,
                      (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, lost.run[k],
                      (size_t) NGX_HTTP_RUNS_LAUNCHER_ID_LEN,
                      lost.holder[k], rmcf->claim_timeout);
    }

    if (lost.nexpired > NGX_HTTP_RUNS_LOST_LOGGED) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "runs_zone \"%V\": %ui more unconfirmed claims "
                      "taken back", &zone->name,
                      lost.nexpired - NGX_HTTP_RUNS_LOST_LOGGED);
    }
}


/*
 * What the endpoints call.  Each takes the zone's lock once for the
 * in-memory work, copies what the answer needs into the request's pool,
 * releases the lock and rings the doorbells it has to; none writes a text
 * for a client: it says what it found (ngx_http_runs_found_e) and the
 * endpoint answers.
 */

ngx_uint_t
ngx_http_runs_store_create(ngx_http_runs_zone_t *zone,
    ngx_http_runs_create_t *cr, u_char *id)
{
    ngx_uint_t             found;
    ngx_http_runs_bells_t  bells;

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);
    found = ngx_http_runs_create_locked(zone, cr, id, &bells);
    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    return found;
}


/* the newest "limit" runs that match, newest first, a slice per lock */

ngx_uint_t
ngx_http_runs_store_list(ngx_http_runs_zone_t *zone, ngx_str_t *name,
    ngx_int_t status, ngx_uint_t limit, ngx_pool_t *pool,
    ngx_http_runs_snap_t **snaps, ngx_uint_t *n)
{
    uint64_t    cursor;
    ngx_uint_t  cap, found;

    /*
     * sized before the lock from unlocked reads of the newest run's
     * sequence number, where the walk starts, and of the run count: runs
     * created meanwhile are not listed, as if they came a moment later
     * (one session's runs: from its newest)
     */
    cursor = name->data ? 0 : zone->sh->seq;
    cap = ngx_min(limit, zone->sh->nruns + 64);

    *snaps = ngx_palloc(pool, cap * sizeof(ngx_http_runs_snap_t));
    if (*snaps == NULL) {
        return NGX_HTTP_RUNS_R_NO_MEMORY;
    }

    *n = 0;

    found = ngx_http_runs_list_slices(zone, name, NULL, status, pool, *snaps,
                                      cap, n, &cursor);

    /* no such session: an empty listing */
    return found == NGX_HTTP_RUNS_R_NO_SESSION ? NGX_HTTP_RUNS_R_DONE : found;
}


/*
 * The lock released after a slice of a listing.  Taken again at once, it
 * would go to this worker ahead of the others waiting for it (the lock is
 * not fair: one asleep on it needs tens of microseconds to wake): when
 * one was asleep (and another processor can run it), it is given the time
 * to take the lock first; else the processor is given up once.
 */

void
ngx_http_runs_slice_unlock(ngx_shmtx_t *mtx, ngx_int_t rc)
{
#if (NGX_HAVE_ATOMIC_OPS && NGX_HAVE_POSIX_SEM)

    ngx_uint_t  i, asleep;

    asleep = mtx->semaphore && (ngx_atomic_int_t) *mtx->wait > 0;

    ngx_shmtx_unlock(mtx);

    if (rc == NGX_AGAIN && asleep && ngx_ncpu > 1) {

        /* woken by the unlock; bounded, should it never come */
        for (i = 0; i < 16384 && *mtx->lock == 0; i++) {
            ngx_cpu_pause();
        }

        return;
    }

#else

    ngx_shmtx_unlock(mtx);

#endif

    if (rc == NGX_AGAIN) {
        ngx_sched_yield();
    }
}


/*
 * ngx_http_runs_list_locked() a slice per lock, from *cursor;
 * NGX_HTTP_RUNS_R_NO_SESSION: the session was not there when first looked
 * for, or went before anything was copied
 */

ngx_uint_t
ngx_http_runs_list_slices(ngx_http_runs_zone_t *zone, ngx_str_t *name,
    uint64_t *sid, ngx_int_t status, ngx_pool_t *pool,
    ngx_http_runs_snap_t *snaps, ngx_uint_t cap, ngx_uint_t *n,
    uint64_t *cursor)
{
    ngx_int_t  rc;

    do {
        ngx_shmtx_lock(&zone->shpool->mutex);

        rc = ngx_http_runs_list_locked(zone->sh, name, sid, status, pool,
                                       snaps, cap, n, cursor);

        ngx_http_runs_slice_unlock(&zone->shpool->mutex, rc);

    } while (rc == NGX_AGAIN);

    if (rc == NGX_DECLINED) {
        return *n ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_SESSION;
    }

    return rc == NGX_OK ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_MEMORY;
}


/*
 * A run as it is, or, with "wait" and a live run, a waiter for ctx:
 * NGX_HTTP_RUNS_R_HOLD.  A wait refused (its cap, a full zone) answers
 * the run as it is, with *refused set.
 */

ngx_uint_t
ngx_http_runs_store_get(ngx_http_runs_zone_t *zone,
    ngx_http_runs_main_conf_t *rmcf, ngx_http_runs_ctx_t *ctx, uint64_t id,
    ngx_uint_t wait, ngx_http_runs_snap_t *snap, ngx_uint_t *refused)
{
    ngx_uint_t            found;
    ngx_http_runs_run_t  *run;

    found = NGX_HTTP_RUNS_R_DONE;

    ngx_shmtx_lock(&zone->shpool->mutex);

    run = ngx_http_runs_lookup_run_locked(zone->sh, id);

    if (run == NULL) {
        found = NGX_HTTP_RUNS_R_NO_RUN;
        goto done;
    }

    if (wait && !ngx_http_runs_is_terminal(run->status) && !ngx_exiting) {
        ctx->waiter = ngx_http_runs_waiter_add_locked(zone, rmcf, ctx,
                                                      NGX_HTTP_RUNS_WAIT_RUN,
                                                      run, refused, NULL);
        if (ctx->waiter) {
            found = NGX_HTTP_RUNS_R_HOLD;
            goto done;
        }
    }

    if (ngx_http_runs_snap_locked(zone->sh, run, ctx->request->pool,
                                  snap) != NGX_OK) {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;
    }

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


ngx_uint_t
ngx_http_runs_store_stop(ngx_http_runs_zone_t *zone, uint64_t id,
    ngx_pool_t *pool, ngx_http_runs_stop_t *st)
{
    ngx_int_t               rc;
    ngx_http_runs_run_t    *run;
    ngx_http_runs_bells_t   bells;

    bells = 0;
    st->session.data = NULL;

    ngx_shmtx_lock(&zone->shpool->mutex);

    run = ngx_http_runs_lookup_run_locked(zone->sh, id);

    if (run == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_HTTP_RUNS_R_NO_RUN;
    }

    st->before = run->status;
    rc = ngx_http_runs_stop_locked(zone, run, &bells);
    st->after = run->status;

    st->session.len = run->session->name_len;
    st->session.data = ngx_pnalloc(pool, st->session.len);
    if (st->session.data) {
        ngx_memcpy(st->session.data, run->session->name, st->session.len);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_RUNS_R_FINISHED;
    }

    return st->session.data ? NGX_HTTP_RUNS_R_DONE
                            : NGX_HTTP_RUNS_R_NO_MEMORY;
}


ngx_uint_t
ngx_http_runs_store_register(ngx_http_runs_zone_t *zone, ngx_str_t *hostname,
    ngx_str_t *project_dir, ngx_str_t *executor_type, ngx_str_t *agents,
    u_char *id)
{
    ngx_http_runs_launcher_t  *lr;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_register_locked(zone, hostname, project_dir,
                                       executor_type, agents);
    if (lr) {
        ngx_memcpy(id, lr->id, NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return lr ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_REFUSED;
}


/* is this launcher registered; with "beat", it is alive now */

ngx_uint_t
ngx_http_runs_store_launcher(ngx_http_runs_zone_t *zone, uint64_t id,
    ngx_uint_t beat)
{
    ngx_http_runs_launcher_t  *lr;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);
    if (lr && beat) {
        lr->last_heartbeat = ngx_http_runs_now();
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return lr ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_LAUNCHER;
}


/*
 * A poll: ctx->poll says what it found, or the request is to be held
 * (NGX_HTTP_RUNS_R_HOLD, ctx->waiter set); NGX_HTTP_RUNS_R_REFUSED: no
 * room to hold it, *refused says why.
 */

ngx_uint_t
ngx_http_runs_store_poll(ngx_http_runs_zone_t *zone,
    ngx_http_runs_main_conf_t *rmcf, ngx_http_runs_ctx_t *ctx, uint64_t id,
    ngx_uint_t *refused)
{
    ngx_int_t                  rc;
    ngx_uint_t                 found;
    ngx_http_runs_bells_t      bells;
    ngx_http_runs_launcher_t  *lr;

    bells = 0;
    found = NGX_HTTP_RUNS_R_DONE;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);

    if (lr == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_HTTP_RUNS_R_NO_LAUNCHER;
    }

    rc = ngx_http_runs_poll_locked(zone, lr, !ctx->noclaim,
                                   ctx->request->pool, &ctx->poll, &bells);

    if (rc != NGX_OK) {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;

    } else if (ctx->poll.what == NGX_HTTP_RUNS_POLL_NOTHING && !ngx_exiting) {
        ctx->waiter = ngx_http_runs_waiter_add_locked(zone, rmcf, ctx,
                                                      NGX_HTTP_RUNS_WAIT_POLL,
                                                      lr, refused, &bells);
        found = ctx->waiter ? NGX_HTTP_RUNS_R_HOLD : NGX_HTTP_RUNS_R_REFUSED;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    if (found == NGX_HTTP_RUNS_R_DONE
        && ctx->poll.what == NGX_HTTP_RUNS_POLL_RUN)
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "runs: run %*s claimed",
                       (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, ctx->poll.run.id);
    }

    return found;
}


/* a launcher's report; *status: the run's status, for the answer */

ngx_uint_t
ngx_http_runs_store_report(ngx_http_runs_zone_t *zone, uint64_t lid,
    uint64_t rid, ngx_http_runs_report_t *rp, ngx_uint_t *status)
{
    ngx_uint_t                 found;
    ngx_http_runs_run_t       *run;
    ngx_http_runs_bells_t      bells;
    ngx_http_runs_launcher_t  *lr;

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, lid);

    if (lr == NULL) {
        found = NGX_HTTP_RUNS_R_NO_LAUNCHER;
        goto done;
    }

    lr->last_heartbeat = ngx_http_runs_now();

    run = ngx_http_runs_lookup_run_locked(zone->sh, rid);

    if (run == NULL) {
        found = NGX_HTTP_RUNS_R_NO_RUN;
        goto done;
    }

    found = ngx_http_runs_report_locked(zone, run, lr, rp, &bells);
    *status = run->status;

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

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
    ngx_http_runs_bells_t      bells;
    ngx_http_runs_launcher_t  *lr;

    bells = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    lr = ngx_http_runs_lookup_launcher_locked(zone->sh, id);

    if (lr && self) {
        ngx_http_runs_remove_launcher_locked(zone, lr,
                                             NGX_HTTP_RUNS_NOTE_DEREGISTERED,
                                             &bells);

    } else if (lr) {
        lr->deregister = 1;
        ngx_http_runs_notify_all_locked(zone->sh, &lr->waiters, 0, &bells);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    return lr ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_LAUNCHER;
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
