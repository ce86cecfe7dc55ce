
/*
 * The journal's records, the store's side (docs/adr/0011-journal.md).
 *
 * A change writes the whole state of every record it touched (a run with
 * its strings and result, a session, a launcher) or that a record is
 * gone, under the lock, tagged with the change's number in the zone
 * (sh->jchange), into this worker's journal buffer; the journal's writer
 * (ngx_http_runs_journal.c) appends the buffer to the file.  Workers
 * append in their own order, so a file may hold a record of a later
 * change before one of an earlier change; replay keeps, for each record,
 * the state of the latest change, which is the state the zone had.  Logs
 * are not journaled.
 *
 * A record: u32 size (header included), u32 CRC-32 of what follows it,
 * u64 change, u32 type, u32 reserved, then its body.  Integers are in the
 * byte order of the machine (the file's header says which).
 */


#include "ngx_http_runs_zone.h"
#include "ngx_http_runs_store_jformat.h"


static u_char *ngx_http_runs_j_record(ngx_http_runs_shctx_t *sh,
    u_char *rec, u_char *end, uint64_t change, ngx_uint_t t, uint64_t key);
static u_char *ngx_http_runs_j_run(u_char *p, u_char *end,
    ngx_http_runs_run_t *run);
static u_char *ngx_http_runs_j_session(u_char *p, u_char *end,
    ngx_http_runs_session_t *sess);
static u_char *ngx_http_runs_j_launcher(u_char *p, u_char *end,
    ngx_http_runs_launcher_t *lr);
static u_char *ngx_http_runs_j_gone(u_char *p, u_char *end, uint64_t key);
static void ngx_http_runs_j_spill(ngx_http_runs_jstage_t *js,
    ngx_http_runs_jobj_t *obj);
static size_t ngx_http_runs_j_record_size(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_jobj_t *obj);
static ngx_queue_t *ngx_http_runs_j_from(ngx_http_runs_shctx_t *sh,
    uint64_t next, ngx_uint_t sessions);
static uint64_t ngx_http_runs_j_seq(ngx_queue_t *q, ngx_uint_t phase);


/* CRC-32 (the polynomial of nginx's ngx_crc32_long()), eight bytes a step */
static uint32_t    ngx_http_runs_crc_table[8][256];
static ngx_uint_t  ngx_http_runs_crc_ready;


static void
ngx_http_runs_crc_init(void)
{
    uint32_t    c;
    ngx_uint_t  i, k;

    for (i = 0; i < 256; i++) {
        c = (uint32_t) i;

        for (k = 0; k < 8; k++) {
            c = (c & 1) ? 0xedb88320 ^ (c >> 1) : c >> 1;
        }

        ngx_http_runs_crc_table[0][i] = c;
    }

    for (i = 0; i < 256; i++) {
        for (k = 1; k < 8; k++) {
            c = ngx_http_runs_crc_table[k - 1][i];
            ngx_http_runs_crc_table[k][i] = (c >> 8)
                                  ^ ngx_http_runs_crc_table[0][c & 0xff];
        }
    }

    ngx_http_runs_crc_ready = 1;
}


uint32_t
ngx_http_runs_crc32(u_char *p, size_t len)
{
    uint32_t    crc;
#if (NGX_HAVE_LITTLE_ENDIAN)
    uint32_t    one, two;
#endif
    uint32_t  (*t)[256];

    if (!ngx_http_runs_crc_ready) {
        ngx_http_runs_crc_init();
    }

    t = ngx_http_runs_crc_table;
    crc = 0xffffffff;

#if (NGX_HAVE_LITTLE_ENDIAN)

    while (len >= 8) {
        ngx_memcpy(&one, p, 4);
        ngx_memcpy(&two, p + 4, 4);
        one ^= crc;

        crc = t[7][one & 0xff] ^ t[6][(one >> 8) & 0xff]
              ^ t[5][(one >> 16) & 0xff] ^ t[4][one >> 24]
              ^ t[3][two & 0xff] ^ t[2][(two >> 8) & 0xff]
              ^ t[1][(two >> 16) & 0xff] ^ t[0][two >> 24];

        p += 8;
        len -= 8;
    }

#endif

    while (len--) {
        crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }

    return crc ^ 0xffffffff;
}


/* the file's header: magic, version, byte order, the zone's keys */

void
ngx_http_runs_store_journal_header(ngx_http_runs_zone_t *zone, u_char *buf)
{
    u_char    *p;
    uint32_t   v;

    ngx_memzero(buf, NGX_HTTP_RUNS_J_HEADER);

    p = ngx_cpymem(buf, NGX_HTTP_RUNS_J_MAGIC, 8);
    v = NGX_HTTP_RUNS_J_VERSION;
    p = ngx_http_runs_j_put(p, v);
    v = NGX_HTTP_RUNS_J_ENDIAN;
    p = ngx_http_runs_j_put(p, v);
    p = ngx_cpymem(p, zone->sh->id_key, sizeof(zone->sh->id_key));
    (void) ngx_cpymem(p, zone->sh->name_key, sizeof(zone->sh->name_key));
}


/*
 * The records of the change in "af", under the lock, into this worker's
 * buffer; the number of records staged (0: none, nothing to wait for).
 * An object whose record does not fit (a write in flight while the
 * buffer filled, or a record larger than the buffer) is noted instead:
 * its state is read again from the zone before the next write
 * (ngx_http_runs_store_jspill()), and the changes from this one on wait
 * for it.
 */

ngx_uint_t
ngx_http_runs_journal_write_locked(ngx_http_runs_after_t *af)
{
    u_char                  *p;
    uint64_t                 change;
    ngx_uint_t               i, n;
    ngx_http_runs_shctx_t   *sh;
    ngx_http_runs_jstage_t  *js;

    sh = af->zone->sh;
    js = af->zone->journal;
    change = ++sh->jchange;
    n = 0;

    for (i = 0; i < af->nobj; i++) {
        p = NULL;

        if (js->nspill == 0) {
            p = ngx_http_runs_j_record(sh, js->pos, js->end, change,
                                       af->obj[i].type, af->obj[i].key);
        }

        if (p == NULL) {
            ngx_http_runs_j_spill(js, &af->obj[i]);

        } else {
            js->pos = p;
        }

        n++;
    }

    if (n) {
        js->staged++;
        (void) ngx_atomic_fetch_add(&sh->jpending, 1);

        if (js->slot >= 0) {
            (void) ngx_atomic_fetch_add(&sh->jw[js->slot].pending, 1);
        }

        if (js->nspill && js->spill_first == 0) {
            js->spill_first = js->staged;
        }
    }

    return n;
}


/*
 * Notes an object whose record waits for room; the list grows (rarely:
 * a disk that cannot keep up is refused new changes before it is long).
 */

static void
ngx_http_runs_j_spill(ngx_http_runs_jstage_t *js, ngx_http_runs_jobj_t *obj)
{
    ngx_uint_t             max;
    ngx_http_runs_jobj_t  *spill;

    if (js->nspill == js->spill_max) {
        max = js->spill_max ? js->spill_max * 2 : 1024;

        spill = ngx_alloc(max * sizeof(ngx_http_runs_jobj_t), ngx_cycle->log);
        if (spill == NULL) {
            js->lost++;
            return;
        }

        if (js->spill) {
            ngx_memcpy(spill, js->spill,
                       js->nspill * sizeof(ngx_http_runs_jobj_t));
            ngx_free(js->spill);
        }

        js->spill = spill;
        js->spill_max = max;
    }

    js->spill[js->nspill++] = *obj;
}


/*
 * Before a write, in the worker: the noted objects' records, as the zone
 * has them now, after what is staged.  NGX_OK: all written (the buffer
 * holds whole changes again); NGX_AGAIN: the buffer filled first;
 * NGX_DECLINED: the first one does not fit in an empty buffer (*need:
 * the room it takes, the caller grows the buffer).
 */

ngx_int_t
ngx_http_runs_store_jspill(ngx_http_runs_zone_t *zone, size_t *need)
{
    u_char                  *p;
    uint64_t                 change;
    ngx_uint_t               i;
    ngx_http_runs_jstage_t  *js;

    js = zone->journal;

    if (js->nspill == 0) {
        return NGX_OK;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    /* the states read now are those of a change of their own */
    change = ++zone->sh->jchange;

    for (i = 0; i < js->nspill; i++) {
        p = ngx_http_runs_j_record(zone->sh, js->pos, js->end, change,
                                   js->spill[i].type, js->spill[i].key);
        if (p == NULL) {
            break;
        }

        js->pos = p;
    }

    if (i == 0 && need) {
        *need = ngx_http_runs_j_record_size(zone->sh, &js->spill[0]);
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (i < js->nspill) {
        ngx_memmove(js->spill, js->spill + i,
                    (js->nspill - i) * sizeof(ngx_http_runs_jobj_t));
        js->nspill -= i;

        return i ? NGX_AGAIN : NGX_DECLINED;
    }

    js->nspill = 0;
    js->spill_first = 0;

    return NGX_OK;
}


/*
 * One record at "rec": the state of the object "key" of "type", or that
 * it is gone; the end of the record, NULL when it does not fit.
 */

static u_char *
ngx_http_runs_j_record(ngx_http_runs_shctx_t *sh, u_char *rec, u_char *end,
    uint64_t change, ngx_uint_t t, uint64_t key)
{
    u_char                    *p;
    uint32_t                    size, crc, type, zero;
    ngx_http_runs_run_t        *run;
    ngx_http_runs_session_t    *sess;
    ngx_http_runs_launcher_t   *lr;
    ngx_http_runs_blueprint_t  *bp;

    if (rec + NGX_HTTP_RUNS_J_RECORD > end) {
        return NULL;
    }

    type = (uint32_t) t;
    p = rec + NGX_HTTP_RUNS_J_RECORD;

    switch (type) {

    case NGX_HTTP_RUNS_J_RUN:
        run = ngx_http_runs_lookup_run_locked(sh, key);
        if (run) {
            p = ngx_http_runs_j_run(p, end, run);
            break;
        }

        /* freed later in the change: gone */
        type = NGX_HTTP_RUNS_J_RUN_GONE;
        p = ngx_http_runs_j_gone(p, end, key);
        break;

    case NGX_HTTP_RUNS_J_SESSION:
        sess = ngx_http_runs_lookup_session_seq_locked(sh, key);
        if (sess) {
            p = ngx_http_runs_j_session(p, end, sess);
            break;
        }

        type = NGX_HTTP_RUNS_J_SESSION_GONE;
        p = ngx_http_runs_j_gone(p, end, key);
        break;

    case NGX_HTTP_RUNS_J_LAUNCHER:
        lr = ngx_http_runs_lookup_launcher_locked(sh, key);
        if (lr) {
            p = ngx_http_runs_j_launcher(p, end, lr);
            break;
        }

        type = NGX_HTTP_RUNS_J_LAUNCHER_GONE;
        p = ngx_http_runs_j_gone(p, end, key);
        break;

    case NGX_HTTP_RUNS_J_BLUEPRINT:
        bp = ngx_http_runs_lookup_blueprint_seq_locked(sh, key);
        if (bp) {
            p = ngx_http_runs_j_blueprint(p, end, bp);
            break;
        }

        type = NGX_HTTP_RUNS_J_BLUEPRINT_GONE;
        p = ngx_http_runs_j_gone(p, end, key);
        break;

    default:
        p = ngx_http_runs_j_gone(p, end, key);
    }

    if (p == NULL) {
        return NULL;
    }

    size = (uint32_t) (p - rec);
    zero = 0;

    (void) ngx_http_runs_j_put(rec, size);
    (void) ngx_http_runs_j_put(rec + 8, change);
    (void) ngx_http_runs_j_put(rec + 16, type);
    (void) ngx_http_runs_j_put(rec + 20, zero);

    crc = ngx_http_runs_crc32(rec + 8, size - 8);
    (void) ngx_http_runs_j_put(rec + 4, crc);

    return p;
}


/* the size of the record ngx_http_runs_j_record() would write */

static size_t
ngx_http_runs_j_record_size(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_jobj_t *obj)
{
    ngx_http_runs_run_t        *run;
    ngx_http_runs_session_t    *sess;
    ngx_http_runs_launcher_t   *lr;
    ngx_http_runs_blueprint_t  *bp;

    switch (obj->type) {

    case NGX_HTTP_RUNS_J_RUN:
        run = ngx_http_runs_lookup_run_locked(sh, obj->key);
        if (run) {
            return NGX_HTTP_RUNS_J_RECORD + NGX_HTTP_RUNS_J_RUN_BODY
                   + run->session->name_len + ngx_http_runs_strings_len(run);
        }

        break;

    case NGX_HTTP_RUNS_J_SESSION:
        sess = ngx_http_runs_lookup_session_seq_locked(sh, obj->key);
        if (sess) {
            return NGX_HTTP_RUNS_J_RECORD + NGX_HTTP_RUNS_J_SESSION_BODY
                   + sess->name_len + sess->agent_name_len
                   + sess->project_dir_len + sess->parent_len
                   + sess->host_len
                   + (sess->scope[0] ? sizeof(sess->scope) : 0);
        }

        break;

    case NGX_HTTP_RUNS_J_LAUNCHER:
        lr = ngx_http_runs_lookup_launcher_locked(sh, obj->key);
        if (lr) {
            return NGX_HTTP_RUNS_J_RECORD + NGX_HTTP_RUNS_J_LAUNCHER_BODY
                   + lr->hostname.len + lr->project_dir.len
                   + lr->executor_type.len + lr->agents.len
                   + lr->tags.len + sizeof(lr->token)
                   + sizeof(lr->scope);
        }

        break;

    case NGX_HTTP_RUNS_J_BLUEPRINT:
        bp = ngx_http_runs_lookup_blueprint_seq_locked(sh, obj->key);
        if (bp) {
            return NGX_HTTP_RUNS_J_RECORD
                   + ngx_http_runs_j_blueprint_size(bp);
        }

        break;
    }

    return NGX_HTTP_RUNS_J_RECORD + sizeof(uint64_t);
}


static u_char *
ngx_http_runs_j_gone(u_char *p, u_char *end, uint64_t key)
{
    if (p + sizeof(uint64_t) > end) {
        return NULL;
    }

    return ngx_http_runs_j_put(p, key);
}


/*
 * A run: ids and numbers, times, lengths and flags, then its session's
 * name and its strings (prompt, agent, project, parent, error, result).
 */

static u_char *
ngx_http_runs_j_run(u_char *p, u_char *end, ngx_http_runs_run_t *run)
{
    size_t                    slen;
    uint16_t                  flags;
    ngx_http_runs_session_t  *sess;

    sess = run->session;
    slen = ngx_http_runs_strings_len(run);

    if (p + NGX_HTTP_RUNS_J_RUN_BODY + sess->name_len + slen > end) {
        return NULL;
    }

    flags = (run->has_launcher_id ? NGX_HTTP_RUNS_JF_LAUNCHER : 0)
            | (run->requeued ? NGX_HTTP_RUNS_JF_REQUEUED : 0)
            | (run->error_cut ? NGX_HTTP_RUNS_JF_ERROR_CUT : 0)
            | (run->result_cut ? NGX_HTTP_RUNS_JF_RESULT_CUT : 0)
            | (run->has_result ? NGX_HTTP_RUNS_JF_RESULT : 0)
            | (run->callback ? NGX_HTTP_RUNS_JF_CALLBACK : 0)
            | (run->stop_queued ? NGX_HTTP_RUNS_JF_STOP : 0)
            | (run->noaffinity ? NGX_HTTP_RUNS_JF_NOAFFINITY : 0);

    p = ngx_http_runs_j_put(p, run->id);
    p = ngx_http_runs_j_put(p, run->seq);
    p = ngx_http_runs_j_put(p, sess->seq);
    p = ngx_http_runs_j_put(p, sess->sid1);
    p = ngx_http_runs_j_put(p, run->launcher_key);
    p = ngx_http_runs_j_put(p, run->created_at);
    p = ngx_http_runs_j_put(p, run->claimed_at);
    p = ngx_http_runs_j_put(p, run->started_at);
    p = ngx_http_runs_j_put(p, run->completed_at);
    p = ngx_http_runs_j_put(p, run->prompt_len);
    p = ngx_http_runs_j_put(p, run->error_len);
    p = ngx_http_runs_j_put(p, run->result_len);
    p = ngx_http_runs_j_put(p, run->project_dir_len);
    p = ngx_http_runs_j_put(p, flags);
    *p++ = run->agent_name_len;
    *p++ = run->parent_len;
    *p++ = sess->name_len;
    *p++ = (u_char) run->status;
    *p++ = (u_char) run->type;
    *p++ = (u_char) run->error_note;
    p = ngx_http_runs_j_put(p, run->demand_len);        /* format 2 */

    p = ngx_cpymem(p, sess->name, sess->name_len);

    return ngx_cpymem(p, run->strings, slen);
}


/* a session: its numbers, what its runs inherit, its name */

static u_char *
ngx_http_runs_j_session(u_char *p, u_char *end, ngx_http_runs_session_t *sess)
{
    size_t    ilen, slen;
    uint16_t  flags;

    ilen = sess->agent_name_len + sess->project_dir_len + sess->parent_len
           + sess->host_len;
    slen = sess->scope[0] ? sizeof(sess->scope) : 0;

    if (p + NGX_HTTP_RUNS_J_SESSION_BODY + sess->name_len + ilen + slen > end)
    {
        return NULL;
    }

    flags = (sess->has_start ? NGX_HTTP_RUNS_JF_START : 0)
            | (slen ? NGX_HTTP_RUNS_JF_SCOPE : 0);

    p = ngx_http_runs_j_put(p, sess->seq);
    p = ngx_http_runs_j_put(p, sess->sid1);
    p = ngx_http_runs_j_put(p, sess->project_dir_len);
    p = ngx_http_runs_j_put(p, flags);
    *p++ = sess->agent_name_len;
    *p++ = sess->parent_len;
    *p++ = sess->name_len;
    *p++ = sess->host_len;                              /* format 2 */

    p = ngx_cpymem(p, sess->name, sess->name_len);

    if (ilen) {
        p = ngx_cpymem(p, sess->inherit, ilen);
    }

    if (slen) {
        p = ngx_cpymem(p, sess->scope, slen);
    }

    return p;
}


static u_char *
ngx_http_runs_j_launcher(u_char *p, u_char *end, ngx_http_runs_launcher_t *lr)
{
    uint32_t  len[4];
    uint16_t  flags;
    uint16_t  zero;
    uint32_t  tlen;

    len[0] = (uint32_t) lr->hostname.len;
    len[1] = (uint32_t) lr->project_dir.len;
    len[2] = (uint32_t) lr->executor_type.len;
    len[3] = (uint32_t) lr->agents.len;
    tlen = (uint32_t) lr->tags.len;

    if (p + NGX_HTTP_RUNS_J_LAUNCHER_BODY + len[0] + len[1] + len[2] + len[3]
        + tlen + sizeof(lr->token) + sizeof(lr->scope) > end)
    {
        return NULL;
    }

    flags = (lr->deregister ? NGX_HTTP_RUNS_JF_DEREGISTER : 0)
            | (lr->has_token ? NGX_HTTP_RUNS_JF_TOKEN : 0)
            | (lr->scope[0] ? NGX_HTTP_RUNS_JF_SCOPE : 0)
            | (lr->hostname.data ? 0 : NGX_HTTP_RUNS_JF_NULL)
            | (lr->project_dir.data ? 0 : NGX_HTTP_RUNS_JF_NULL << 1)
            | (lr->executor_type.data ? 0 : NGX_HTTP_RUNS_JF_NULL << 2)
            | (lr->agents.data ? 0 : NGX_HTTP_RUNS_JF_NULL << 3);
    zero = 0;

    p = ngx_http_runs_j_put(p, lr->node.key);
    p = ngx_http_runs_j_put(p, lr->seq);
    p = ngx_http_runs_j_put(p, lr->registered_at);
    p = ngx_cpymem(p, len, sizeof(len));
    p = ngx_http_runs_j_put(p, flags);
    p = ngx_http_runs_j_put(p, zero);
    p = ngx_http_runs_j_put(p, tlen);                   /* format 2 */

    /* a null string (no data) has no bytes */
    p = len[0] ? ngx_cpymem(p, lr->hostname.data, len[0]) : p;
    p = len[1] ? ngx_cpymem(p, lr->project_dir.data, len[1]) : p;
    p = len[2] ? ngx_cpymem(p, lr->executor_type.data, len[2]) : p;

    p = len[3] ? ngx_cpymem(p, lr->agents.data, len[3]) : p;
    p = tlen ? ngx_cpymem(p, lr->tags.data, tlen) : p;

    /* the token's keyed hash, never the token; the scope's */
    p = lr->has_token ? ngx_cpymem(p, lr->token, sizeof(lr->token)) : p;

    return lr->scope[0] ? ngx_cpymem(p, lr->scope, sizeof(lr->scope)) : p;
}


/*
 * Compaction, the store's side: one worker at a time takes the snapshot
 * of the live state, slice by slice (NGX_HTTP_RUNS_LIST_SLICE objects per
 * lock), as records tagged with the change number of their slice: a
 * later change of an object has a higher number, and wins at replay,
 * wherever its record is.
 */

ngx_int_t
ngx_http_runs_store_compact_begin(ngx_http_runs_zone_t *zone,
    ngx_http_runs_jcursor_t *cur)
{
    ngx_int_t               rc;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;
    rc = NGX_DECLINED;

    ngx_shmtx_lock(&zone->shpool->mutex);

    if (sh->jcompactor == 0
        || (kill(sh->jcompactor, 0) == -1 && ngx_errno == NGX_ESRCH))
    {
        sh->jcompactor = ngx_pid;
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    cur->phase = 0;
    cur->next = 1;
    cur->last = 0;

    return rc;
}


/*
 * Writes the next slice of the snapshot at *pos: NGX_AGAIN, more to come;
 * NGX_OK, done; NGX_DECLINED, no room left before "end" (the caller makes
 * room and asks again, from where it stopped).
 */

ngx_int_t
ngx_http_runs_store_compact_slice(ngx_http_runs_zone_t *zone,
    ngx_http_runs_jcursor_t *cur, u_char **pos, u_char *end)
{
    u_char                    *p;
    uint64_t                   key, change;
    ngx_int_t                  rc;
    ngx_uint_t                 budget, type;
    ngx_queue_t                *q;
    ngx_http_runs_shctx_t      *sh;
    ngx_http_runs_run_t        *run;
    ngx_http_runs_launcher_t   *lr;
    ngx_http_runs_blueprint_t  *bp;

    sh = zone->sh;
    rc = NGX_AGAIN;

    ngx_shmtx_lock(&zone->shpool->mutex);

    change = sh->jchange;

    if (cur->phase == 0) {
        /* blueprints and launchers are few: all of them at once */
        for (q = ngx_queue_head(&sh->blueprint_list);
             q != ngx_queue_sentinel(&sh->blueprint_list);
             q = ngx_queue_next(q))
        {
            bp = ngx_queue_data(q, ngx_http_runs_blueprint_t, list);

            p = ngx_http_runs_j_record(sh, *pos, end, change,
                                       NGX_HTTP_RUNS_J_BLUEPRINT, bp->seq);
            if (p == NULL) {
                rc = NGX_DECLINED;
                goto done;
            }

            *pos = p;
        }

        for (q = ngx_queue_head(&sh->launcher_list);
             q != ngx_queue_sentinel(&sh->launcher_list);
             q = ngx_queue_next(q))
        {
            lr = ngx_queue_data(q, ngx_http_runs_launcher_t, list);

            p = ngx_http_runs_j_record(sh, *pos, end, change,
                                       NGX_HTTP_RUNS_J_LAUNCHER, lr->node.key);
            if (p == NULL) {
                rc = NGX_DECLINED;
                goto done;
            }

            *pos = p;
        }

        cur->phase = 1;
        cur->next = 1;
        cur->last = sh->session_seq;
    }

    for (budget = NGX_HTTP_RUNS_LIST_SLICE; budget; budget--) {

        q = (cur->phase == 1) ? ngx_http_runs_j_from(sh, cur->next, 1)
                              : ngx_http_runs_j_from(sh, cur->next, 0);

        if (q == NULL || ngx_http_runs_j_seq(q, cur->phase) > cur->last) {
            if (cur->phase == 2) {
                rc = NGX_OK;
                goto done;
            }

            cur->phase = 2;
            cur->next = 1;
            cur->last = sh->seq;
            continue;
        }

        if (cur->phase == 1) {
            type = NGX_HTTP_RUNS_J_SESSION;
            key = ngx_http_runs_j_seq(q, 1);

        } else {
            run = ngx_queue_data(q, ngx_http_runs_run_t, all);
            type = NGX_HTTP_RUNS_J_RUN;
            key = run->id;
        }

        p = ngx_http_runs_j_record(sh, *pos, end, change, type, key);
        if (p == NULL) {
            rc = NGX_DECLINED;
            goto done;
        }

        *pos = p;
        cur->next = ngx_http_runs_j_seq(q, cur->phase) + 1;
    }

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return rc;
}


/*
 * The first session (sessions 1) or run with a creation number from
 * "next" on, in the queue that holds them in creation order; NULL: none.
 * The one before it, the last written, is found by its number and its
 * successor taken; if it went between two slices, the numbers after it
 * are tried, then the queue is walked from its head: a walk by numbers
 * alone would take as long as the zone has ever made objects.
 */

static ngx_queue_t *
ngx_http_runs_j_from(ngx_http_runs_shctx_t *sh, uint64_t next,
    ngx_uint_t sessions)
{
    uint64_t                  seq;
    ngx_uint_t                tries;
    ngx_queue_t              *q, *all;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_session_t  *sess;

    all = sessions ? &sh->session_list : &sh->all;

    for (seq = next - 1, tries = 0; seq && tries < 64; seq++, tries++) {
        if (sessions) {
            sess = ngx_http_runs_lookup_session_seq_locked(sh, seq);
            q = sess ? &sess->all : NULL;

        } else {
            run = ngx_http_runs_lookup_run_locked(sh,
                                          ngx_http_runs_permute_id(sh, seq));
            q = run ? &run->all : NULL;
        }

        if (q) {
            /* the first try is the last written: its successor follows */
            q = (seq == next - 1) ? ngx_queue_next(q) : q;
            return q == ngx_queue_sentinel(all) ? NULL : q;
        }
    }

    for (q = ngx_queue_head(all); q != ngx_queue_sentinel(all);
         q = ngx_queue_next(q))
    {
        if (ngx_http_runs_j_seq(q, sessions ? 1 : 2) >= next) {
            return q;
        }
    }

    return NULL;
}


static uint64_t
ngx_http_runs_j_seq(ngx_queue_t *q, ngx_uint_t phase)
{
    ngx_http_runs_run_t      *run;
    ngx_http_runs_session_t  *sess;

    if (phase == 1) {
        sess = ngx_queue_data(q, ngx_http_runs_session_t, all);
        return sess->seq;
    }

    run = ngx_queue_data(q, ngx_http_runs_run_t, all);

    return run->seq;
}


void
ngx_http_runs_store_compact_end(ngx_http_runs_zone_t *zone, off_t size)
{
    ngx_shmtx_lock(&zone->shpool->mutex);

    if (zone->sh->jcompactor == ngx_pid) {
        zone->sh->jcompactor = 0;

        if (size) {
            zone->sh->jbase = size;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* the journal file's generation: a worker reopens it when it changed */

uint64_t
ngx_http_runs_store_jgen(ngx_http_runs_zone_t *zone)
{
    return zone->sh->jgen;
}


void
ngx_http_runs_store_jgen_next(ngx_http_runs_zone_t *zone)
{
    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->jgen++;
    ngx_shmtx_unlock(&zone->shpool->mutex);
}


/* this worker's write in flight: to the file of generation gen - 1; 0 none */

void
ngx_http_runs_store_jflight(ngx_http_runs_zone_t *zone, uint64_t gen)
{
    if (zone->journal->slot >= 0) {
        zone->sh->jw[zone->journal->slot].flight = gen;
    }
}


/*
 * A worker's slot among the zone's writers, taken when it starts; the
 * slots of dead processes are freed, and the changes they had staged
 * without writing them are counted: the number returned (*dead: one of
 * those processes).  Those changes are in the zone but not in the file.
 */

ngx_uint_t
ngx_http_runs_store_jclaim(ngx_http_runs_zone_t *zone, ngx_pid_t *dead)
{
    ngx_uint_t                i, lost;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_jwriter_t  *w;

    sh = zone->sh;
    lost = 0;
    zone->journal->slot = -1;

    ngx_shmtx_lock(&zone->shpool->mutex);

    for (i = 0; i < NGX_HTTP_RUNS_JWRITERS; i++) {
        w = &sh->jw[i];

        if (w->pid && (ngx_pid_t) w->pid != ngx_pid
            && kill((ngx_pid_t) w->pid, 0) == -1 && ngx_errno == NGX_ESRCH)
        {
            if (w->pending) {
                lost += w->pending;
                *dead = (ngx_pid_t) w->pid;
                (void) ngx_atomic_fetch_add(&sh->jpending,
                                            -(ngx_atomic_int_t) w->pending);
            }

            w->pid = 0;
            w->pending = 0;
            w->flight = 0;
        }

        if (w->pid == 0 && zone->journal->slot == -1) {
            w->pid = ngx_pid;
            zone->journal->slot = i;
        }
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return lost;
}


/* at a worker's exit, once what it staged is written */

void
ngx_http_runs_store_jleave(ngx_http_runs_zone_t *zone)
{
    ngx_http_runs_jwriter_t  *w;

    if (zone->journal->slot < 0) {
        return;
    }

    w = &zone->sh->jw[zone->journal->slot];
    w->flight = 0;
    w->pending = 0;
    ngx_memory_barrier();
    w->pid = 0;
}


/* no write in flight goes to a file older than the current one */

ngx_uint_t
ngx_http_runs_store_jsettled(ngx_http_runs_zone_t *zone)
{
    ngx_uint_t              i;
    ngx_atomic_uint_t       f;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;

    for (i = 0; i < NGX_HTTP_RUNS_JWRITERS; i++) {
        f = sh->jw[i].flight;

        if (f && f - 1 < sh->jgen) {
            return 0;
        }
    }

    return 1;
}


off_t
ngx_http_runs_store_jbase(ngx_http_runs_zone_t *zone)
{
    return zone->sh->jbase;
}


/* a worker's write has carried "changes" to the file */

void
ngx_http_runs_store_jwritten(ngx_http_runs_zone_t *zone, uint64_t changes)
{
    ngx_int_t  slot;

    (void) ngx_atomic_fetch_add(&zone->sh->jpending, -(ngx_atomic_int_t) changes);

    slot = zone->journal ? zone->journal->slot : -1;

    if (slot >= 0) {
        (void) ngx_atomic_fetch_add(&zone->sh->jw[slot].pending,
                                    -(ngx_atomic_int_t) changes);
    }
}


/*
 * In the master, when a resized zone is made from the journal: the old
 * zone takes no more changes (its workers answer 503 until they exit,
 * and claim nothing), and what its workers had staged is written first
 * (a few ms at most), so that the journal read holds every change the
 * old zone acknowledged.
 */

ngx_int_t
ngx_http_runs_store_retire(ngx_http_runs_zone_t *zone, ngx_log_t *log)
{
    ngx_uint_t  i;

    ngx_shmtx_lock(&zone->shpool->mutex);
    zone->sh->retired = 1;
    ngx_shmtx_unlock(&zone->shpool->mutex);

    for (i = 0; i < 3000 && (ngx_atomic_int_t) zone->sh->jpending > 0; i++) {
        ngx_msleep(1);
    }

    if ((ngx_atomic_int_t) zone->sh->jpending > 0) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "runs_zone \"%V\": %A changes of the old zone were "
                      "not written after 3 s; the resized zone is made "
                      "without them", &zone->name,
                      (ngx_atomic_int_t) zone->sh->jpending);
    }

    return NGX_OK;
}


ngx_uint_t
ngx_http_runs_store_retired(ngx_http_runs_zone_t *zone)
{
    return zone->sh && zone->sh->retired;
}


/* whether the journal cannot be written: changes are refused up front */

ngx_uint_t
ngx_http_runs_store_jfailing(ngx_http_runs_zone_t *zone)
{
    return zone->sh && zone->sh->jfailing;
}


void
ngx_http_runs_store_jfail(ngx_http_runs_zone_t *zone, ngx_uint_t failing)
{
    if (zone->sh->jfailing != failing) {
        zone->sh->jfailing = failing;
    }
}
