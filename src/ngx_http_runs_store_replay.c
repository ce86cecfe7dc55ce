
/*
 * The journal read back (docs/adr/0011-journal.md): a new, empty zone
 * rebuilt from the file when the zone is made.  The records are checked
 * and indexed by key (the record of the latest change wins), then the
 * live ones are put in the zone in creation order: sessions, launchers,
 * runs.  A torn last record is dropped, a write cut short skipped, a
 * record that does not check with good ones after it refused with its
 * offset.
 */


#include "ngx_http_runs_zone.h"
#include "ngx_http_runs_store_jformat.h"


/* the latest record of one key, while a journal is read */
typedef struct {
    uint64_t                    key;
    uint64_t                    change;
    u_char                     *rec;        /* the record, NULL: none */
    void                       *obj;        /* what it was rebuilt as */
} ngx_http_runs_jentry_t;

typedef struct {
    ngx_http_runs_jentry_t     *e;
    ngx_uint_t                  mask;
    ngx_uint_t                  n;
} ngx_http_runs_jindex_t;

/* a live record while the zone is rebuilt, in creation order */
typedef struct {
    uint64_t                    seq;
    u_char                     *body;
} ngx_http_runs_jlive_t;

typedef struct {
    ngx_http_runs_zone_t       *zone;
    u_char                     *data;
    size_t                      len;
    ngx_log_t                  *log;
    ngx_http_runs_jindex_t      idx[NGX_HTTP_RUNS_J_CLASSES];
                                            /* runs, sessions, launchers,
                                               blueprints */
    int64_t                     now;
    ngx_uint_t                  check;      /* "nginx -t": the records
                                               checked, nothing built */
    ngx_str_t                  *images;
    ngx_uint_t                  nimages;
    u_char                     *bad;        /* a record whose numbers do
                                               not match the zone's keys */
    ngx_uint_t                  orphans;    /* runs of a session whose
                                               name was taken again */
} ngx_http_runs_replay_t;


static ngx_int_t ngx_http_runs_j_scan(ngx_http_runs_replay_t *rp,
    size_t *valid);
static size_t ngx_http_runs_j_resync(u_char *data, size_t from,
    size_t len);
static ngx_uint_t ngx_http_runs_j_good(u_char *p, size_t len);
static ngx_int_t ngx_http_runs_j_index(ngx_http_runs_jindex_t *ix,
    uint64_t key, uint64_t change, u_char *rec);
static ngx_int_t ngx_http_runs_j_presize(ngx_http_runs_replay_t *rp);
static ngx_uint_t ngx_http_runs_j_sane(uint32_t type, u_char *b, size_t blen);
static ngx_uint_t ngx_http_runs_j_demands_sane(u_char *p, size_t len);
static ngx_int_t ngx_http_runs_j_grow(ngx_http_runs_jindex_t *ix,
    ngx_uint_t size);
static void *ngx_http_runs_j_table(size_t size);
static void ngx_http_runs_j_table_free(void *p, size_t size);
static void ngx_http_runs_j_order(ngx_http_runs_jlive_t *l, ngx_uint_t n);
static ngx_int_t ngx_http_runs_j_apply(ngx_http_runs_replay_t *rp);
static ngx_int_t ngx_http_runs_j_restore_one(ngx_http_runs_replay_t *rp,
    ngx_uint_t type, ngx_http_runs_jlive_t *l);
static void ngx_http_runs_j_prefault(ngx_http_runs_zone_t *zone,
    ngx_str_t *images, ngx_uint_t n);
static ngx_http_runs_jentry_t *ngx_http_runs_j_find(ngx_http_runs_jindex_t *ix,
    uint64_t key);
static ngx_http_runs_session_t *ngx_http_runs_j_restore_session(
    ngx_http_runs_replay_t *rp, u_char *body, uint64_t seq, uint64_t sid1,
    ngx_str_t *name);
static ngx_int_t ngx_http_runs_j_restore_launcher(ngx_http_runs_replay_t *rp,
    u_char *body, uint64_t key);
static ngx_int_t ngx_http_runs_j_restore_run(ngx_http_runs_replay_t *rp,
    u_char *body);
static ngx_int_t ngx_http_runs_j_run_session(ngx_http_runs_replay_t *rp,
    u_char *body, ngx_str_t *name, ngx_http_runs_session_t **sessp);
static void ngx_http_runs_j_adopt(ngx_http_runs_replay_t *rp,
    ngx_http_runs_run_t *run);
static int ngx_libc_cdecl ngx_http_runs_j_by_seq(const void *a,
    const void *b);


/* the index's keys (sequential numbers among them) spread over its slots */

static ngx_inline uint64_t
ngx_http_runs_j_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;

    return x ^ (x >> 31);
}


#define ngx_http_runs_j_slot(key, mask)                                      \
    (ngx_http_runs_j_mix(key) & (mask))


/* the index a record's key goes to: runs, sessions, launchers, blueprints */

static ngx_inline ngx_uint_t
ngx_http_runs_j_class(uint32_t type)
{
    return (type == NGX_HTTP_RUNS_J_RUN || type == NGX_HTTP_RUNS_J_RUN_GONE)
           ? 0
           : (type == NGX_HTTP_RUNS_J_SESSION
              || type == NGX_HTTP_RUNS_J_SESSION_GONE) ? 1
           : (type == NGX_HTTP_RUNS_J_BLUEPRINT
              || type == NGX_HTTP_RUNS_J_BLUEPRINT_GONE) ? 3 : 2;
}


/*
 * Rebuilds a new, empty zone from journal images: the journal, and the
 * journal it replaced when a compaction was cut short.  NGX_OK (valid[i]:
 * the bytes of image i to keep; fewer than its length when a torn last
 * record is dropped), NGX_DECLINED (a format this module does not know;
 * logged), NGX_ERROR (damage, logged with its offset; or no room).
 */

ngx_int_t
ngx_http_runs_store_replay(ngx_http_runs_zone_t *zone, ngx_str_t *images,
    ngx_uint_t n, ngx_log_t *log, size_t *valid)
{
    uint32_t                v, endian;
    ngx_int_t               rc;
    ngx_uint_t              i;
    ngx_http_runs_replay_t  rp;

    ngx_memzero(&rp, sizeof(ngx_http_runs_replay_t));
    rp.zone = zone;
    rp.log = log;
    rp.now = ngx_http_runs_now();
    rp.check = ngx_test_config;
    rp.images = images;
    rp.nimages = n;

    rc = NGX_OK;

    for (i = 0; i < n && rc == NGX_OK; i++) {
        rp.data = images[i].data;
        rp.len = images[i].len;

        if (rp.len < NGX_HTTP_RUNS_J_HEADER
            || ngx_memcmp(rp.data, NGX_HTTP_RUNS_J_MAGIC, 8) != 0)
        {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "the runs_journal of runs_zone \"%V\" is not a "
                          "journal (no header at byte 0)", &zone->name);
            rc = NGX_ERROR;
            break;
        }

        ngx_http_runs_j_get(v, rp.data + 8);
        ngx_http_runs_j_get(endian, rp.data + 12);

        /*
         * format 1 is format 2 with no demands, tags or hosts; format 2
         * is format 3 with no blueprints
         */
        if (v < 1 || v > NGX_HTTP_RUNS_J_VERSION
            || endian != NGX_HTTP_RUNS_J_ENDIAN)
        {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "the runs_journal of runs_zone \"%V\" has format "
                          "%uD%s; this module reads formats 1 to %d written "
                          "on this machine", &zone->name, v,
                          endian == NGX_HTTP_RUNS_J_ENDIAN
                          ? "" : " in another byte order",
                          NGX_HTTP_RUNS_J_VERSION);
            rc = NGX_DECLINED;
            break;
        }

        if (i == 0) {
            ngx_memcpy(zone->sh->id_key, rp.data + 16,
                       sizeof(zone->sh->id_key));
            ngx_memcpy(zone->sh->name_key,
                       rp.data + 16 + sizeof(zone->sh->id_key),
                       sizeof(zone->sh->name_key));
        }

        if (!rp.check && ngx_http_runs_j_presize(&rp) != NGX_OK) {
            ngx_log_error(NGX_LOG_EMERG, log, 0,
                          "no memory to read the runs_journal of "
                          "runs_zone \"%V\"", &zone->name);
            rc = NGX_ERROR;
            break;
        }

        rc = ngx_http_runs_j_scan(&rp, &valid[i]);
    }

    if (rc == NGX_OK && !rp.check) {
        ngx_http_runs_j_prefault(zone, images, n);

        ngx_shmtx_lock(&zone->shpool->mutex);
        rc = ngx_http_runs_j_apply(&rp);
        ngx_shmtx_unlock(&zone->shpool->mutex);
    }

    for (i = 0; i < NGX_HTTP_RUNS_J_CLASSES; i++) {
        if (rp.idx[i].e) {
            ngx_http_runs_j_table_free(rp.idx[i].e, (rp.idx[i].mask + 1)
                                              * sizeof(ngx_http_runs_jentry_t));
        }
    }

    return rc;
}


/*
 * The indexes made large enough at once for the records of an image,
 * counted by their sizes alone (the scan checks them): a million runs
 * make tables of millions of slots, and growing them on the way moves
 * every entry again and again.
 */

static ngx_int_t
ngx_http_runs_j_presize(ngx_http_runs_replay_t *rp)
{
    size_t                   off;
    uint32_t                 size, type;
    ngx_uint_t               c, count[NGX_HTTP_RUNS_J_CLASSES], slots;
    ngx_http_runs_jindex_t  *ix;

    count[0] = count[1] = count[2] = count[3] = 0;

    for (off = NGX_HTTP_RUNS_J_HEADER;
         rp->len - off >= NGX_HTTP_RUNS_J_RECORD;
         off += size)
    {
        ngx_http_runs_j_get(size, rp->data + off);
        ngx_http_runs_j_get(type, rp->data + off + 16);

        if (size < NGX_HTTP_RUNS_J_RECORD || size > rp->len - off) {
            break;
        }

        count[ngx_http_runs_j_class(type)]++;
    }

    if (off < rp->len && off > NGX_HTTP_RUNS_J_HEADER) {
        /* a write cut short on the way: the rest counted like the start */
        for (c = 0; c < NGX_HTTP_RUNS_J_CLASSES; c++) {
            count[c] = (ngx_uint_t) ((double) count[c] * rp->len / off) + 1;
        }
    }

    for (c = 0; c < NGX_HTTP_RUNS_J_CLASSES; c++) {
        ix = &rp->idx[c];

        for (slots = 4096; slots < 2 * (ix->n + count[c]); slots <<= 1) {
            /* void */
        }

        if (slots > ix->mask + 1
            && ngx_http_runs_j_grow(ix, slots) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The next record after *pf (not checked: a hint only) has its index
 * slot fetched into the cache while the records before it are read: the
 * indexes of a large journal are far larger than the cache.
 */

static ngx_inline void
ngx_http_runs_j_prefetch(ngx_http_runs_replay_t *rp, size_t *pf)
{
    uint32_t                 size, type;
    uint64_t                 key;
    ngx_http_runs_jindex_t  *ix;

    if (rp->len - *pf < NGX_HTTP_RUNS_J_RECORD + sizeof(uint64_t)) {
        return;
    }

    ngx_http_runs_j_get(size, rp->data + *pf);

    if (size < NGX_HTTP_RUNS_J_RECORD + sizeof(uint64_t)
        || size > rp->len - *pf)
    {
        return;
    }

    ngx_http_runs_j_get(type, rp->data + *pf + 16);
    ngx_http_runs_j_get(key, rp->data + *pf + NGX_HTTP_RUNS_J_RECORD);

    ix = &rp->idx[ngx_http_runs_j_class(type)];

#if (__GNUC__)
    if (ix->e) {
        __builtin_prefetch(&ix->e[ngx_http_runs_j_slot(key, ix->mask)], 1);
    }
#endif

    *pf += size;
}


/*
 * Whether a record's body holds what its kind says: its lengths add up to
 * its size, its numbers are in range.  A record is written whole by one
 * writer, so a body that checks (CRC) and is not sane is a file that was
 * not written by this module as it is: it is refused as damage, not read
 * past its end.
 */

static ngx_uint_t
ngx_http_runs_j_sane(uint32_t type, u_char *b, size_t blen)
{
    uint16_t    u16, dlen, tlen16;
    uint32_t    u32[4], tlen;
    uint64_t    need;
    ngx_uint_t  i;

    switch (type) {

    case NGX_HTTP_RUNS_J_RUN:
        if (blen < NGX_HTTP_RUNS_J_RUN_BODY) {
            return 0;
        }

        ngx_memcpy(u32, b + 72, 3 * sizeof(uint32_t));
        ngx_http_runs_j_get(u16, b + 84);
        ngx_http_runs_j_get(dlen, b + 94);

        need = (uint64_t) NGX_HTTP_RUNS_J_RUN_BODY + b[90] + u32[0] + u32[1]
               + u32[2] + u16 + b[88] + b[89] + dlen;

        return need == blen
               && b[90] >= 1 && b[90] <= NGX_HTTP_RUNS_NAME_MAX
               && u32[0] >= 1
               && b[91] < NGX_HTTP_RUNS_NSTATUS
               && b[92] <= NGX_HTTP_RUNS_RESUME
               && b[93] < NGX_HTTP_RUNS_NOTE_N
               && ngx_http_runs_j_demands_sane(b + NGX_HTTP_RUNS_J_RUN_BODY
                                               + b[90] + u32[0] + b[88]
                                               + u16 + b[89], dlen);

    case NGX_HTTP_RUNS_J_SESSION:
        if (blen < NGX_HTTP_RUNS_J_SESSION_BODY) {
            return 0;
        }

        ngx_http_runs_j_get(u16, b + 16);

        ngx_http_runs_j_get(tlen16, b + 18);

        need = (uint64_t) NGX_HTTP_RUNS_J_SESSION_BODY + b[22] + b[20] + u16
               + b[21] + b[23]
               + ((tlen16 & NGX_HTTP_RUNS_JF_SCOPE) ? 2 * sizeof(uint64_t)
                                                    : 0);

        return need == blen
               && b[22] >= 1 && b[22] <= NGX_HTTP_RUNS_NAME_MAX;

    case NGX_HTTP_RUNS_J_BLUEPRINT:
        return ngx_http_runs_j_blueprint_sane(b, blen);

    case NGX_HTTP_RUNS_J_LAUNCHER:
        if (blen < NGX_HTTP_RUNS_J_LAUNCHER_BODY) {
            return 0;
        }

        ngx_memcpy(u32, b + 24, sizeof(u32));
        ngx_http_runs_j_get(u16, b + 40);
        ngx_http_runs_j_get(tlen, b + 44);

        need = (uint64_t) NGX_HTTP_RUNS_J_LAUNCHER_BODY + u32[0] + u32[1]
               + u32[2] + u32[3] + tlen
               + ((u16 & NGX_HTTP_RUNS_JF_TOKEN) ? 2 * sizeof(uint64_t) : 0)
               + ((u16 & NGX_HTTP_RUNS_JF_SCOPE) ? 2 * sizeof(uint64_t) : 0);

        /* a null string has no bytes */
        for (i = 0; i < 4; i++) {
            if ((u16 & (NGX_HTTP_RUNS_JF_NULL << i)) && u32[i]) {
                return 0;
            }
        }

        return need == blen;

    default:
        /* that a record is gone: its key */
        return blen == sizeof(uint64_t);
    }
}


/*
 * A run's demands record (format 2): its lengths add up, each within what
 * the API takes, so that a routing key made of it fits its buffer
 */

static ngx_uint_t
ngx_http_runs_j_demands_sane(u_char *p, size_t len)
{
    uint16_t  n[4];

    if (len == 0) {
        return 1;
    }

    if (len < NGX_HTTP_RUNS_DEMANDS_HEAD) {
        return 0;
    }

    ngx_memcpy(n, p, sizeof(n));

    return (size_t) NGX_HTTP_RUNS_DEMANDS_HEAD + n[0] + n[1] + n[2] + n[3]
               == len
           && n[0] <= NGX_HTTP_RUNS_TAGS_MAX * (NGX_HTTP_RUNS_NAME_MAX + 1)
           && n[1] <= NGX_HTTP_RUNS_FIELD_MAX
           && n[2] <= NGX_HTTP_RUNS_FIELD_MAX
           && n[3] <= NGX_HTTP_RUNS_FIELD_MAX;
}


/* the latest record of every key; a torn tail is cut, damage refused */

static ngx_int_t
ngx_http_runs_j_scan(ngx_http_runs_replay_t *rp, size_t *valid)
{
    size_t      off, good, pf;
    uint32_t    size, crc, type;
    uint64_t    change, key;
    ngx_uint_t  c, i;

    off = NGX_HTTP_RUNS_J_HEADER;
    pf = off;

    while (off < rp->len) {

        if (!rp->check) {
            /* the index slots of the next records, asked for early */
            if (pf <= off) {
                pf = off;

                for (i = 0; i < 8; i++) {
                    ngx_http_runs_j_prefetch(rp, &pf);
                }
            }

            ngx_http_runs_j_prefetch(rp, &pf);
        }

        size = 0;
        crc = 0;
        type = 0;

        if (rp->len - off >= NGX_HTTP_RUNS_J_RECORD) {
            ngx_http_runs_j_get(size, rp->data + off);
            ngx_http_runs_j_get(crc, rp->data + off + 4);
            ngx_http_runs_j_get(type, rp->data + off + 16);
        }

        if (size < NGX_HTTP_RUNS_J_RECORD + sizeof(uint64_t)
            || size > rp->len - off
            || type == 0 || type >= NGX_HTTP_RUNS_J_TYPES
            || ngx_http_runs_crc32(rp->data + off + 8, size - 8) != crc)
        {
            good = ngx_http_runs_j_resync(rp->data, off, rp->len);

            if (good && size >= NGX_HTTP_RUNS_J_RECORD + sizeof(uint64_t)
                && off + size <= good)
            {
                /* a whole record that does not check: damage */
                ngx_log_error(NGX_LOG_EMERG, rp->log, 0,
                              "the runs_journal of runs_zone \"%V\" is "
                              "damaged at byte %uz: a record that does not "
                              "check, with good records after it",
                              &rp->zone->name, off);
                return NGX_ERROR;
            }

            if (good) {
                /*
                 * a record cut short by the next one: a write of a
                 * worker killed in the middle of it, never answered
                 */
                ngx_log_error(NGX_LOG_WARN, rp->log, 0,
                              "the runs_journal of runs_zone \"%V\" has a "
                              "write cut short at byte %uz (%uz bytes): "
                              "skipped, it was never acknowledged",
                              &rp->zone->name, off, good - off);
                off = good;
                continue;
            }

            ngx_log_error(NGX_LOG_WARN, rp->log, 0,
                          "the runs_journal of runs_zone \"%V\" ends with "
                          "a torn record at byte %uz (%uz bytes): dropped, "
                          "it was never acknowledged", &rp->zone->name, off,
                          rp->len - off);
            break;
        }

        if (!ngx_http_runs_j_sane(type, rp->data + off + NGX_HTTP_RUNS_J_RECORD,
                                  size - NGX_HTTP_RUNS_J_RECORD))
        {
            /* it checks, but is not what a record of its kind is */
            ngx_log_error(NGX_LOG_EMERG, rp->log, 0,
                          "the runs_journal of runs_zone \"%V\" is "
                          "damaged at byte %uz: a record whose contents "
                          "do not hold together", &rp->zone->name, off);
            return NGX_ERROR;
        }

        ngx_http_runs_j_get(change, rp->data + off + 8);
        ngx_http_runs_j_get(key, rp->data + off + NGX_HTTP_RUNS_J_RECORD);

        c = ngx_http_runs_j_class(type);

        if (!rp->check
            && ngx_http_runs_j_index(&rp->idx[c], key, change,
                                     rp->data + off)
               != NGX_OK)
        {
            ngx_log_error(NGX_LOG_EMERG, rp->log, 0,
                          "no memory to read the runs_journal of "
                          "runs_zone \"%V\"", &rp->zone->name);
            return NGX_ERROR;
        }

        if (change > rp->zone->sh->jchange) {
            rp->zone->sh->jchange = change;
        }

        off += size;
    }

    *valid = off;

    return NGX_OK;
}


/*
 * The next record that checks after a bad spot, 0: none (the bad spot is
 * a write cut short at the journal's end).
 */

static size_t
ngx_http_runs_j_resync(u_char *data, size_t from, size_t len)
{
    size_t  off;

    for (off = from + 1; off + NGX_HTTP_RUNS_J_RECORD + 8 <= len; off++) {
        if (ngx_http_runs_j_good(data + off, len - off)) {
            return off;
        }
    }

    return 0;
}


/* whether a whole record that checks begins at "p" */

static ngx_uint_t
ngx_http_runs_j_good(u_char *p, size_t len)
{
    uint32_t  size, crc, type;

    if (len < NGX_HTTP_RUNS_J_RECORD + 8) {
        return 0;
    }

    ngx_http_runs_j_get(size, p);

    if (size < NGX_HTTP_RUNS_J_RECORD + 8 || size > len) {
        return 0;
    }

    ngx_http_runs_j_get(type, p + 16);

    if (type == 0 || type >= NGX_HTTP_RUNS_J_TYPES) {
        return 0;
    }

    ngx_http_runs_j_get(crc, p + 4);

    return ngx_http_runs_crc32(p + 8, size - 8) == crc;
}


/*
 * Where the first whole record of "data" begins ("len" if none): the
 * file's size read while another worker's write was in the middle of it
 * can fall inside a record.
 */

size_t
ngx_http_runs_store_jboundary(u_char *data, size_t len)
{
    size_t  off;

    if (ngx_http_runs_j_good(data, len)) {
        return 0;
    }

    off = ngx_http_runs_j_resync(data, 0, len);

    return off ? off : len;
}


/*
 * The part of the zone the journal's records will take, its pages made
 * at once (Linux 5.14): a million runs fill hundreds of megabytes, and a
 * page fault for each page costs more than the rest of the replay.
 */

static void
ngx_http_runs_j_prefault(ngx_http_runs_zone_t *zone, ngx_str_t *images,
    ngx_uint_t n)
{
#if (NGX_LINUX && defined MADV_POPULATE_WRITE)
    size_t      len;
    ngx_uint_t  i;

    for (len = 0, i = 0; i < n; i++) {
        len += images[i].len;
    }

    len = ngx_min(2 * len, zone->size);
    len = ngx_align(len, ngx_pagesize);

    (void) madvise(zone->shpool, len, MADV_POPULATE_WRITE);
#endif
}


/* the index's entry of a key, NULL: none */

static ngx_http_runs_jentry_t *
ngx_http_runs_j_find(ngx_http_runs_jindex_t *ix, uint64_t key)
{
    ngx_uint_t  i;

    if (ix->e == NULL) {
        return NULL;
    }

    for (i = ngx_http_runs_j_slot(key, ix->mask);
         ix->e[i].rec;
         i = (i + 1) & ix->mask)
    {
        if (ix->e[i].key == key) {
            return &ix->e[i];
        }
    }

    return NULL;
}


/* open addressing by key; the record of the latest change wins */

static ngx_int_t
ngx_http_runs_j_index(ngx_http_runs_jindex_t *ix, uint64_t key,
    uint64_t change, u_char *rec)
{
    ngx_uint_t  i;

    if ((ix->n + 1) * 2 > ix->mask + 1
        && ngx_http_runs_j_grow(ix, ix->e ? (ix->mask + 1) * 2 : 4096)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (i = ngx_http_runs_j_slot(key, ix->mask);
         ix->e[i].rec;
         i = (i + 1) & ix->mask)
    {
        if (ix->e[i].key == key) {
            if (change >= ix->e[i].change) {
                ix->e[i].change = change;
                ix->e[i].rec = rec;
            }

            return NGX_OK;
        }
    }

    ix->e[i].key = key;
    ix->e[i].change = change;
    ix->e[i].rec = rec;
    ix->n++;

    return NGX_OK;
}


/* the index moved to a table of "size" slots */

static ngx_int_t
ngx_http_runs_j_grow(ngx_http_runs_jindex_t *ix, ngx_uint_t size)
{
    ngx_uint_t               i, j;
    ngx_http_runs_jentry_t  *e, *old;

    e = ngx_http_runs_j_table(size * sizeof(ngx_http_runs_jentry_t));
    if (e == NULL) {
        return NGX_ERROR;
    }

    old = ix->e;

    if (old) {
        for (i = 0; i <= ix->mask; i++) {
            if (old[i].rec == NULL) {
                continue;
            }

            for (j = ngx_http_runs_j_slot(old[i].key, size - 1);
                 e[j].rec;
                 j = (j + 1) & (size - 1))
            { /* void */ }

            e[j] = old[i];
        }

        ngx_http_runs_j_table_free(old, (ix->mask + 1)
                                        * sizeof(ngx_http_runs_jentry_t));
    }

    ix->e = e;
    ix->mask = size - 1;

    return NGX_OK;
}


/*
 * A table of zeros for the replay (an index, a placement by number): the
 * kernel's zeroed pages, not memory cleared by hand; NULL: no memory.
 */

static void *
ngx_http_runs_j_table(size_t size)
{
    void  *p;

    p = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANON, -1, 0);

    if (p == MAP_FAILED) {
        return NULL;
    }

#if (NGX_LINUX && defined MADV_HUGEPAGE)
    /* fewer TLB misses while the index is probed at random */
    (void) madvise(p, size, MADV_HUGEPAGE);
#endif

    return p;
}


static void
ngx_http_runs_j_table_free(void *p, size_t size)
{
    (void) munmap(p, size);
}


static ngx_http_runs_jlive_t *
ngx_http_runs_j_live(ngx_http_runs_replay_t *rp, ngx_uint_t c,
    ngx_uint_t type, size_t seq_at, ngx_uint_t *n)
{
    uint32_t                 t;
    ngx_uint_t               i, k;
    ngx_http_runs_jlive_t   *l;
    ngx_http_runs_jindex_t  *ix;

    ix = &rp->idx[c];
    *n = 0;

    l = ngx_alloc((ix->n + 1) * sizeof(ngx_http_runs_jlive_t), rp->log);
    if (l == NULL) {
        return NULL;
    }

    for (i = 0, k = 0; ix->e && i <= ix->mask; i++) {
        if (ix->e[i].rec == NULL) {
            continue;
        }

        ngx_http_runs_j_get(t, ix->e[i].rec + 16);

        if (t != type) {
            continue;
        }

        l[k].body = ix->e[i].rec + NGX_HTTP_RUNS_J_RECORD;
        ngx_http_runs_j_get(l[k].seq, l[k].body + seq_at);
        k++;
    }

    ngx_http_runs_j_order(l, k);

    *n = k;

    return l;
}


static int ngx_libc_cdecl
ngx_http_runs_j_by_seq(const void *a, const void *b)
{
    const ngx_http_runs_jlive_t  *x = a, *y = b;

    return (x->seq > y->seq) - (x->seq < y->seq);
}


/*
 * In creation order: numbers are given one after the other, so those of
 * the live records are nearly dense; each is put at its place in a table
 * as long as their range, O(n).  Sparse numbers (most records gone) or
 * one number twice are sorted.
 */

static void
ngx_http_runs_j_order(ngx_http_runs_jlive_t *l, ngx_uint_t n)
{
    uint64_t    min, max;
    ngx_uint_t  i, k, range;
    u_char    **at;

    if (n < 2) {
        return;
    }

    min = max = l[0].seq;

    for (i = 1; i < n; i++) {
        min = ngx_min(min, l[i].seq);
        max = ngx_max(max, l[i].seq);
    }

    if (max - min >= 4 * (uint64_t) n) {
        goto sort;
    }

    range = (ngx_uint_t) (max - min) + 1;

    at = ngx_http_runs_j_table(range * sizeof(u_char *));
    if (at == NULL) {
        goto sort;
    }

    for (i = 0; i < n; i++) {
        if (at[l[i].seq - min]) {
            ngx_http_runs_j_table_free(at, range * sizeof(u_char *));
            goto sort;
        }

        at[l[i].seq - min] = l[i].body;
    }

    for (i = 0, k = 0; i < range; i++) {
        if (at[i]) {
            l[k].seq = min + i;
            l[k].body = at[i];
            k++;
        }
    }

    ngx_http_runs_j_table_free(at, range * sizeof(u_char *));

    return;

sort:

    ngx_qsort(l, n, sizeof(ngx_http_runs_jlive_t), ngx_http_runs_j_by_seq);
}


/* one live object of the journal, made again in the zone */

static ngx_int_t
ngx_http_runs_j_restore_one(ngx_http_runs_replay_t *rp, ngx_uint_t type,
    ngx_http_runs_jlive_t *l)
{
    uint64_t                  seq, sid1;
    ngx_str_t                 name;
    ngx_http_runs_jentry_t   *e;
    ngx_http_runs_session_t  *sess;

    switch (type) {

    case NGX_HTTP_RUNS_J_SESSION:
        ngx_http_runs_j_get(seq, l->body);
        ngx_http_runs_j_get(sid1, l->body + 8);
        name.len = l->body[22];
        name.data = l->body + NGX_HTTP_RUNS_J_SESSION_BODY;

        sess = ngx_http_runs_j_restore_session(rp, l->body, seq, sid1, &name);
        if (sess == NULL) {
            return NGX_ERROR;
        }

        /* for its runs to find it */
        e = ngx_http_runs_j_find(&rp->idx[1], seq);
        if (e) {
            e->obj = sess;
        }

        return NGX_OK;

    case NGX_HTTP_RUNS_J_LAUNCHER:
        return ngx_http_runs_j_restore_launcher(rp, l->body, l->seq);

    case NGX_HTTP_RUNS_J_BLUEPRINT:
        return ngx_http_runs_restore_blueprint_locked(rp->zone, l->body);

    default:
        return ngx_http_runs_j_restore_run(rp, l->body);
    }
}


/* blueprints, sessions, then launchers, then runs, each in creation order */

static ngx_int_t
ngx_http_runs_j_apply(ngx_http_runs_replay_t *rp)
{
    ngx_int_t                 rc;
    ngx_uint_t                i, n, c;
    ngx_queue_t              *q, *next;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_jlive_t    *l;
    ngx_http_runs_session_t  *sess;

    static const ngx_uint_t   types[4] = { NGX_HTTP_RUNS_J_BLUEPRINT,
                                           NGX_HTTP_RUNS_J_SESSION,
                                           NGX_HTTP_RUNS_J_LAUNCHER,
                                           NGX_HTTP_RUNS_J_RUN };
    static const ngx_uint_t   classes[4] = { 3, 1, 2, 0 };

    sh = rp->zone->sh;
    rc = NGX_OK;

    for (c = 0; c < 4 && rc == NGX_OK; c++) {

        l = ngx_http_runs_j_live(rp, classes[c], types[c],
                                 (types[c] == NGX_HTTP_RUNS_J_SESSION
                                  || types[c] == NGX_HTTP_RUNS_J_BLUEPRINT)
                                 ? 0 : 8, &n);
        if (l == NULL) {
            return NGX_ERROR;
        }

        for (i = 0; i < n && rc == NGX_OK; i++) {

            rc = ngx_http_runs_j_restore_one(rp, types[c], &l[i]);
        }

        ngx_free(l);
    }

    if (rc != NGX_OK && rp->bad) {
        for (i = 0; i < rp->nimages; i++) {
            if (rp->bad >= rp->images[i].data
                && rp->bad < rp->images[i].data + rp->images[i].len)
            {
                break;
            }
        }

        ngx_log_error(NGX_LOG_EMERG, rp->log, 0,
                      "the runs_journal of runs_zone \"%V\" is damaged at "
                      "byte %uz%s: a record whose numbers do not match the "
                      "journal's keys", &rp->zone->name,
                      (size_t) (rp->bad - NGX_HTTP_RUNS_J_RECORD
                                - rp->images[i < rp->nimages ? i : 0].data),
                      i ? " of the journal it replaced (.old)" : "");
        return NGX_ERROR;
    }

    if (rp->orphans) {
        ngx_log_error(NGX_LOG_WARN, rp->log, 0,
                      "runs_zone \"%V\": %ui runs of sessions whose name was "
                      "taken again by a later session are not restored",
                      &rp->zone->name, rp->orphans);
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, rp->log, 0,
                      "runs_zone \"%V\" (%uz bytes) is too small for what "
                      "its runs_journal holds: enlarge it", &rp->zone->name,
                      rp->zone->size);
        return NGX_ERROR;
    }

    /* sessions whose every run is gone go too; the others may go on */

    for (q = ngx_queue_head(&sh->session_list);
         q != ngx_queue_sentinel(&sh->session_list);
         q = next)
    {
        next = ngx_queue_next(q);
        sess = ngx_queue_data(q, ngx_http_runs_session_t, all);

        if (sess->nruns == 0) {
            ngx_http_runs_free_session_locked(rp->zone, sess);
            continue;
        }

        ngx_http_runs_make_ready_locked(rp->zone, sess, NULL);
    }

    return NGX_OK;
}


/*
 * A session as it was: body NULL for one made again from a run whose
 * session record is gone.  A name taken by an older session means that
 * one had ended (every run of it removed) before this one started: the
 * older one goes.
 */

static ngx_http_runs_session_t *
ngx_http_runs_j_restore_session(ngx_http_runs_replay_t *rp, u_char *body,
    uint64_t seq, uint64_t sid1, ngx_str_t *name)
{
    size_t                    ilen;
    uint16_t                  project_len, flags;
    uint64_t                  scope[2];
    ngx_queue_t              *q;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess, *old;

    sh = rp->zone->sh;

    if (sid1 != ngx_http_runs_session_sid1(sh, seq)) {
        rp->bad = body;
        return NULL;
    }

    /* its scope: after its name and what its runs inherit (format 2) */
    scope[0] = 0;
    scope[1] = 0;
    flags = 0;
    project_len = 0;

    if (body) {
        ngx_http_runs_j_get(project_len, body + 16);
        ngx_http_runs_j_get(flags, body + 18);

        if (flags & NGX_HTTP_RUNS_JF_SCOPE) {
            ngx_memcpy(scope, body + NGX_HTTP_RUNS_J_SESSION_BODY + name->len
                              + body[20] + project_len + body[21] + body[23],
                       sizeof(scope));
        }
    }

    old = ngx_http_runs_lookup_session_locked(sh, name, scope);

    if (old && old->nruns) {
        /*
         * a run whose session is not there, named as a live session
         * made later (the first one's deletion was not written): the
         * run went with its session
         */
        rp->orphans++;
        return NULL;
    }

    if (old) {
        /* the later of two sessions of one name wins */
        ngx_http_runs_free_session_locked(rp->zone, old);
    }

    sess = ngx_http_runs_new_session_locked(rp->zone, name);
    if (sess == NULL) {
        return NULL;
    }

    sess->seq = seq;
    sess->sid1 = sid1;
    sess->scope[0] = scope[0];
    sess->scope[1] = scope[1];

    if (body) {
        sess->project_dir_len = project_len;
        sess->agent_name_len = body[20];
        sess->parent_len = body[21];
        sess->host_len = body[23];
        sess->has_start = (flags & NGX_HTTP_RUNS_JF_START) ? 1 : 0;

        ilen = sess->agent_name_len + sess->project_dir_len
               + sess->parent_len + sess->host_len;

        if (ilen) {
            sess->inherit = ngx_http_runs_alloc_locked(rp->zone, ilen, sess);
            if (sess->inherit == NULL) {
                ngx_slab_free_locked(rp->zone->shpool, sess);
                return NULL;
            }

            ngx_memcpy(sess->inherit,
                       body + NGX_HTTP_RUNS_J_SESSION_BODY + name->len, ilen);
        }
    }

    sess->next = sh->sessions[sess->hash & sh->mask];
    sh->sessions[sess->hash & sh->mask] = sess;
    sess->next_by_id = sh->session_ids[sess->sid1 & sh->mask];
    sh->session_ids[sess->sid1 & sh->mask] = sess;
    /*
     * in creation order, as listings and compactions walk it: a session
     * made again from one of its runs (its own record missing) comes
     * after the sessions restored before it, maybe later ones
     */
    for (q = ngx_queue_last(&sh->session_list);
         q != ngx_queue_sentinel(&sh->session_list);
         q = ngx_queue_prev(q))
    {
        old = ngx_queue_data(q, ngx_http_runs_session_t, all);

        if (old->seq < seq) {
            break;
        }
    }

    ngx_queue_insert_after(q, &sess->all);
    sh->nsessions++;
    sess->pinned = 0;

    if (seq > sh->session_seq) {
        sh->session_seq = seq;
    }

    return sess;
}


/* a launcher, registered as it was; its silence counts from now */

static ngx_int_t
ngx_http_runs_j_restore_launcher(ngx_http_runs_replay_t *rp, u_char *body,
    uint64_t seq)
{
    u_char                    *p;
    uint32_t                   len[5];
    uint64_t                   key;
    uint16_t                   flags;
    ngx_str_t                  s[5];
    ngx_uint_t                 i;
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = rp->zone->sh;

    ngx_http_runs_j_get(key, body);

    ngx_memcpy(len, body + 24, 4 * sizeof(uint32_t));
    ngx_http_runs_j_get(flags, body + 40);

    /*
     * launcher ids are drawn apart from run ids since tokens came; one
     * registered before (no token) has an id of the run ids' permutation
     */
    if (key != ngx_http_runs_permute_id(sh, NGX_HTTP_RUNS_LAUNCHER_SEQ | seq)
        && ((flags & NGX_HTTP_RUNS_JF_TOKEN)
            || key != ngx_http_runs_permute_id(sh, seq)))
    {
        rp->bad = body;
        return NGX_ERROR;
    }
    ngx_http_runs_j_get(len[4], body + 44);             /* format 2: tags */

    p = body + NGX_HTTP_RUNS_J_LAUNCHER_BODY;

    for (i = 0; i < 5; i++) {
        s[i].len = len[i];
        s[i].data = (i < 4 && (flags & (NGX_HTTP_RUNS_JF_NULL << i))) ? NULL
                                                                      : p;
        p += len[i];
    }

    lr = ngx_http_runs_alloc_locked(rp->zone,
                                    sizeof(ngx_http_runs_launcher_t)
                                    + len[0] + len[1] + len[2] + len[3]
                                    + len[4],
                                    NULL);
    if (lr == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(lr, sizeof(ngx_http_runs_launcher_t));

    p = (u_char *) lr + sizeof(ngx_http_runs_launcher_t);
    p = ngx_http_runs_copy_str(p, &lr->hostname, &s[0]);
    p = ngx_http_runs_copy_str(p, &lr->project_dir, &s[1]);
    p = ngx_http_runs_copy_str(p, &lr->executor_type, &s[2]);
    p = ngx_http_runs_copy_str(p, &lr->agents, &s[3]);
    (void) ngx_http_runs_copy_str(p, &lr->tags, &s[4]);

    p = body + NGX_HTTP_RUNS_J_LAUNCHER_BODY + len[0] + len[1] + len[2]
        + len[3] + len[4];

    if (flags & NGX_HTTP_RUNS_JF_TOKEN) {
        ngx_memcpy(lr->token, p, sizeof(lr->token));
        lr->has_token = 1;
        p += sizeof(lr->token);
    }

    if (flags & NGX_HTTP_RUNS_JF_SCOPE) {
        ngx_memcpy(lr->scope, p, sizeof(lr->scope));
    }

    lr->node.key = key;
    lr->seq = seq;
    ngx_http_runs_make_id(lr->id, "lnch_", 5, key);
    ngx_http_runs_j_get(lr->registered_at, body + 16);
    lr->last_heartbeat = rp->now;
    lr->deregister = (flags & NGX_HTTP_RUNS_JF_DEREGISTER) ? 1 : 0;

    ngx_http_runs_link_launcher_locked(sh, lr);

    if (seq > sh->launcher_seq) {
        sh->launcher_seq = seq;
    }

    return NGX_OK;
}


/* a run as it was, in its session, held by its launcher */

static ngx_int_t
ngx_http_runs_j_restore_run(ngx_http_runs_replay_t *rp, u_char *body)
{
    u_char                   *p;
    size_t                    slen;
    uint16_t                  flags;
    ngx_str_t                 name;
    ngx_int_t                 rc;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess;

    sh = rp->zone->sh;

    name.len = body[90];
    name.data = body + NGX_HTTP_RUNS_J_RUN_BODY;

    rc = ngx_http_runs_j_run_session(rp, body, &name, &sess);
    if (rc != NGX_OK) {
        /* NGX_DECLINED: the run went with its session */
        return rc == NGX_DECLINED ? NGX_OK : NGX_ERROR;
    }

    run = ngx_http_runs_alloc_locked(rp->zone, sizeof(ngx_http_runs_run_t),
                                     sess);
    if (run == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(run, sizeof(ngx_http_runs_run_t));

    ngx_http_runs_j_get(run->id, body);
    ngx_http_runs_j_get(run->seq, body + 8);
    ngx_http_runs_j_get(run->launcher_key, body + 32);
    ngx_http_runs_j_get(run->created_at, body + 40);
    ngx_http_runs_j_get(run->claimed_at, body + 48);
    ngx_http_runs_j_get(run->started_at, body + 56);
    ngx_http_runs_j_get(run->completed_at, body + 64);
    ngx_http_runs_j_get(run->prompt_len, body + 72);
    ngx_http_runs_j_get(run->error_len, body + 76);
    ngx_http_runs_j_get(run->result_len, body + 80);
    ngx_http_runs_j_get(run->project_dir_len, body + 84);
    ngx_http_runs_j_get(flags, body + 86);
    run->agent_name_len = body[88];
    run->parent_len = body[89];
    run->status = body[91];
    run->type = body[92];
    run->error_note = body[93];
    ngx_http_runs_j_get(run->demand_len, body + 94);

    run->has_launcher_id = (flags & NGX_HTTP_RUNS_JF_LAUNCHER) ? 1 : 0;
    run->requeued = (flags & NGX_HTTP_RUNS_JF_REQUEUED) ? 1 : 0;
    run->error_cut = (flags & NGX_HTTP_RUNS_JF_ERROR_CUT) ? 1 : 0;
    run->result_cut = (flags & NGX_HTTP_RUNS_JF_RESULT_CUT) ? 1 : 0;
    run->has_result = (flags & NGX_HTTP_RUNS_JF_RESULT) ? 1 : 0;
    run->callback = (flags & NGX_HTTP_RUNS_JF_CALLBACK) ? 1 : 0;
    run->stop_queued = (flags & NGX_HTTP_RUNS_JF_STOP) ? 1 : 0;
    run->noaffinity = (flags & NGX_HTTP_RUNS_JF_NOAFFINITY) ? 1 : 0;

    slen = ngx_http_runs_strings_len(run);
    p = body + NGX_HTTP_RUNS_J_RUN_BODY + name.len;

    /* a run's strings are never empty: it has a prompt */
    run->strings = ngx_http_runs_alloc_locked(rp->zone, slen, sess);
    if (run->strings == NULL) {
        ngx_slab_free_locked(rp->zone->shpool, run);
        return NGX_ERROR;
    }

    ngx_memcpy(run->strings, p, slen);

    ngx_http_runs_insert_run_locked(sh, run, sess);

    if (!ngx_http_runs_is_terminal(run->status)) {
        ngx_http_runs_j_adopt(rp, run);
    }

    if (run->seq > sh->seq) {
        sh->seq = run->seq;
    }

    sh->stamped = ngx_max(sh->stamped,
                          ngx_max(run->created_at, run->completed_at));

    return NGX_OK;
}


/*
 * A run's numbers checked against the zone's keys, and its session: the
 * one rebuilt before it (found through the index, without hashing its
 * id), or made again from the run.  NGX_DECLINED: a session of its name
 * was made later, the run is not restored; NGX_ERROR: damage (rp->bad)
 * or no room.
 */

static ngx_int_t
ngx_http_runs_j_run_session(ngx_http_runs_replay_t *rp, u_char *body,
    ngx_str_t *name, ngx_http_runs_session_t **sessp)
{
    uint64_t                  sseq, sid1, id, rseq;
    ngx_uint_t                orphans;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_jentry_t   *e;
    ngx_http_runs_session_t  *sess;

    sh = rp->zone->sh;

    ngx_http_runs_j_get(id, body);
    ngx_http_runs_j_get(rseq, body + 8);
    ngx_http_runs_j_get(sseq, body + 16);
    ngx_http_runs_j_get(sid1, body + 24);

    if (id != ngx_http_runs_permute_id(sh, rseq)
        || sid1 != ngx_http_runs_session_sid1(sh, sseq))
    {
        rp->bad = body;
        return NGX_ERROR;
    }

    e = ngx_http_runs_j_find(&rp->idx[1], sseq);
    sess = e ? e->obj : NULL;

    if (sess == NULL) {
        sess = ngx_http_runs_lookup_session_seq_locked(sh, sseq);
    }

    if (sess == NULL) {
        orphans = rp->orphans;

        sess = ngx_http_runs_j_restore_session(rp, NULL, sseq, sid1, name);

        if (sess == NULL) {
            return rp->orphans != orphans ? NGX_DECLINED : NGX_ERROR;
        }
    }

    if (e) {
        e->obj = sess;
    }

    *sessp = sess;

    return NGX_OK;
}


/*
 * A held run goes back to its launcher; one whose launcher is gone is
 * taken back (claimed) or fails as runner loss would have it.
 */

static void
ngx_http_runs_j_adopt(ngx_http_runs_replay_t *rp, ngx_http_runs_run_t *run)
{
    ngx_http_runs_shctx_t     *sh;
    ngx_http_runs_launcher_t  *lr;

    sh = rp->zone->sh;

    if (run->status == NGX_HTTP_RUNS_PENDING) {
        return;
    }

    lr = ngx_http_runs_lookup_launcher_locked(sh, run->launcher_key);

    if (lr) {
        run->launcher = lr;
        ngx_queue_insert_tail(&lr->runs, &run->owned);

        if (run->stop_queued) {
            ngx_queue_insert_tail(&lr->stops, &run->stop);
        }

        return;
    }

    run->stop_queued = 0;

    if (run->status == NGX_HTTP_RUNS_CLAIMED) {
        sh->nstatus[run->status]--;
        sh->nstatus[NGX_HTTP_RUNS_PENDING]++;
        run->status = NGX_HTTP_RUNS_PENDING;
        run->requeued = 1;
        return;
    }

    sh->nstatus[run->status]--;
    sh->nstatus[NGX_HTTP_RUNS_FAILED]++;
    run->status = NGX_HTTP_RUNS_FAILED;
    run->error_note = NGX_HTTP_RUNS_NOTE_LOST;
    run->completed_at = rp->now;
    run->session->nblocking--;

    ngx_queue_remove(&run->state);
    ngx_queue_insert_tail(&sh->finished, &run->state);
}
