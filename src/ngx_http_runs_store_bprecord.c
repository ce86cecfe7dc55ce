
/*
 * A registry blueprint's record (ngx_http_runs_store_blueprints.c has the
 * operations): made, found by name or number, unlinked; whether a run may
 * name it and what a claimed run's answer carries of it; its journal
 * record, written and read back.  It calls nothing that takes the lock.
 */


#include "ngx_http_runs_zone.h"
#include "ngx_http_runs_store_jformat.h"


ngx_http_runs_blueprint_t *
ngx_http_runs_lookup_blueprint_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name)
{
    if (name->len == 0 || sh->blueprints.root == sh->blueprints.sentinel) {
        return NULL;
    }

    return (ngx_http_runs_blueprint_t *)
               ngx_str_rbtree_lookup(&sh->blueprints, name,
                                     ngx_crc32_short(name->data, name->len));
}


/* a blueprint by its creation number (the journal's key): they are few */

ngx_http_runs_blueprint_t *
ngx_http_runs_lookup_blueprint_seq_locked(ngx_http_runs_shctx_t *sh,
    uint64_t seq)
{
    ngx_queue_t                *q;
    ngx_http_runs_blueprint_t  *bp;

    for (q = ngx_queue_head(&sh->blueprint_list);
         q != ngx_queue_sentinel(&sh->blueprint_list);
         q = ngx_queue_next(q))
    {
        bp = ngx_queue_data(q, ngx_http_runs_blueprint_t, list);

        if (bp->seq == seq) {
            return bp;
        }
    }

    return NULL;
}


/*
 * A new record for bs (its name, tags and text copied), linked; NULL when
 * the zone has no room (finished runs are given up for it first).
 */

ngx_http_runs_blueprint_t *
ngx_http_runs_blueprint_new_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_bsnap_t *bs, uint64_t seq)
{
    u_char                     *p;
    ngx_http_runs_shctx_t      *sh;
    ngx_http_runs_blueprint_t  *bp;

    sh = zone->sh;

    bp = ngx_http_runs_alloc_locked(zone, sizeof(ngx_http_runs_blueprint_t)
                                          + bs->name.len + bs->tags.len
                                          + bs->text.len, NULL);
    if (bp == NULL) {
        return NULL;
    }

    ngx_memzero(bp, sizeof(ngx_http_runs_blueprint_t));

    /* no tags: no bytes, and maybe no pointer either */
    p = bp->data;
    p = ngx_cpymem(p, bs->name.data, bs->name.len);
    p = bs->tags.len ? ngx_cpymem(p, bs->tags.data, bs->tags.len) : p;
    (void) ngx_cpymem(p, bs->text.data, bs->text.len);

    bp->name_len = (u_char) bs->name.len;
    bp->tags_len = (uint16_t) bs->tags.len;
    bp->text_len = (uint32_t) bs->text.len;
    bp->inactive = bs->inactive ? 1 : 0;
    bp->created_at = bs->created_at;
    bp->modified_at = bs->modified_at;
    bp->seq = seq;

    bp->sn.str.data = bp->data;
    bp->sn.str.len = bs->name.len;
    bp->sn.node.key = ngx_crc32_short(bp->data, bs->name.len);

    ngx_rbtree_insert(&sh->blueprints, &bp->sn.node);
    ngx_queue_insert_tail(&sh->blueprint_list, &bp->list);
    sh->nblueprints++;

    if (seq > sh->blueprint_seq) {
        sh->blueprint_seq = seq;
    }

    return bp;
}


void
ngx_http_runs_blueprint_unlink_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_blueprint_t *bp)
{
    ngx_rbtree_delete(&sh->blueprints, &bp->sn.node);
    ngx_queue_remove(&bp->list);
    sh->nblueprints--;
}


/*
 * Whether a run naming agent "name" may be made: NGX_HTTP_RUNS_R_INACTIVE
 * when it names a registry blueprint that is inactive
 */

ngx_uint_t
ngx_http_runs_blueprint_check_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name)
{
    ngx_http_runs_blueprint_t  *bp;

    bp = ngx_http_runs_lookup_blueprint_locked(sh, name);

    return (bp && bp->inactive) ? NGX_HTTP_RUNS_R_INACTIVE
                                : NGX_HTTP_RUNS_R_DONE;
}


/* whether "name" is an active registry blueprint's */

ngx_uint_t
ngx_http_runs_blueprint_active_locked(ngx_http_runs_shctx_t *sh, u_char *name,
    size_t len)
{
    ngx_str_t                   s;
    ngx_http_runs_blueprint_t  *bp;

    s.data = name;
    s.len = len;

    bp = ngx_http_runs_lookup_blueprint_locked(sh, &s);

    return bp && !bp->inactive;
}


/* a claimed run's blueprint, for its runner: name and text; none: empty */

ngx_int_t
ngx_http_runs_blueprint_text_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name, ngx_pool_t *pool, ngx_str_t *text)
{
    ngx_http_runs_blueprint_t  *bp;

    text->len = 0;
    text->data = NULL;

    bp = ngx_http_runs_lookup_blueprint_locked(sh, name);

    if (bp == NULL || bp->inactive) {
        return NGX_OK;
    }

    text->data = ngx_pnalloc(pool, bp->text_len);
    if (text->data == NULL) {
        return NGX_ERROR;
    }

    text->len = bp->text_len;
    ngx_memcpy(text->data, bp->data + bp->name_len + bp->tags_len,
               bp->text_len);

    return NGX_OK;
}


/* ---------------------------------------------------------- the journal */

/*
 * A blueprint's record body: its number, times, version, lengths and
 * flags (NGX_HTTP_RUNS_J_BLUEPRINT_BODY bytes), then name, tags, text.
 */

size_t
ngx_http_runs_j_blueprint_size(ngx_http_runs_blueprint_t *bp)
{
    return NGX_HTTP_RUNS_J_BLUEPRINT_BODY + bp->name_len + bp->tags_len
           + bp->text_len;
}


u_char *
ngx_http_runs_j_blueprint(u_char *p, u_char *end,
    ngx_http_runs_blueprint_t *bp)
{
    uint32_t  len[3], flags;

    if (p + ngx_http_runs_j_blueprint_size(bp) > end) {
        return NULL;
    }

    len[0] = bp->name_len;
    len[1] = bp->tags_len;
    len[2] = bp->text_len;
    flags = bp->inactive ? 1 : 0;

    p = ngx_http_runs_j_put(p, bp->seq);
    p = ngx_http_runs_j_put(p, bp->created_at);
    p = ngx_http_runs_j_put(p, bp->modified_at);
    p = ngx_http_runs_j_put(p, bp->version);
    p = ngx_cpymem(p, len, sizeof(len));
    p = ngx_http_runs_j_put(p, flags);

    return ngx_cpymem(p, bp->data, len[0] + len[1] + len[2]);
}


/* whether a record body of blen bytes is a blueprint's, as written */

ngx_uint_t
ngx_http_runs_j_blueprint_sane(u_char *b, size_t blen)
{
    uint32_t  len[3], flags;

    if (blen < NGX_HTTP_RUNS_J_BLUEPRINT_BODY) {
        return 0;
    }

    ngx_memcpy(len, b + 32, sizeof(len));
    ngx_http_runs_j_get(flags, b + 44);

    return (uint64_t) NGX_HTTP_RUNS_J_BLUEPRINT_BODY + len[0] + len[1]
           + len[2] == blen
           && len[0] >= 1 && len[0] <= NGX_HTTP_RUNS_NAME_MAX
           && len[1] <= 0xffff
           && flags <= 1;
}


/* a blueprint restored from its record (a zone rebuilt, under the lock) */

ngx_int_t
ngx_http_runs_restore_blueprint_locked(ngx_http_runs_zone_t *zone, u_char *b)
{
    uint32_t                    len[3], flags;
    uint64_t                    seq;
    ngx_http_runs_bsnap_t       bs;
    ngx_http_runs_blueprint_t  *bp;

    ngx_memcpy(len, b + 32, sizeof(len));
    ngx_http_runs_j_get(flags, b + 44);

    bs.name.data = b + NGX_HTTP_RUNS_J_BLUEPRINT_BODY;
    bs.name.len = len[0];
    bs.tags.data = bs.name.data + len[0];
    bs.tags.len = len[1];
    bs.text.data = bs.tags.data + len[1];
    bs.text.len = len[2];
    bs.inactive = flags & 1;
    ngx_http_runs_j_get(bs.created_at, b + 8);
    ngx_http_runs_j_get(bs.modified_at, b + 16);

    if (ngx_http_runs_lookup_blueprint_locked(zone->sh, &bs.name)) {
        /* two numbers for one name: the later one wins (never written) */
        return NGX_OK;
    }

    ngx_http_runs_j_get(seq, b);

    bp = ngx_http_runs_blueprint_new_locked(zone, &bs, seq);
    if (bp == NULL) {
        return NGX_ERROR;
    }

    ngx_http_runs_j_get(bp->version, b + 24);

    return NGX_OK;
}
