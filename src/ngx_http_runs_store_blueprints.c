
/*
 * The blueprint registry (runs_agents_api), its operations: agent
 * blueprints kept in the
 * zone by name, each its name, its tags (sorted, for ?tags=), whether it
 * is active, and the rest of it as the JSON object the API checked (the
 * store keeps it as bytes: description, system prompt, MCP servers,
 * skills, settings).  A change replaces the record whole, in one
 * critical section, and is journaled like a run (its creation number is
 * its key); a run whose agent names an inactive blueprint is refused
 * when it is made, and a claimed run's answer carries its blueprint.
 */


#include "ngx_http_runs_zone.h"


static ngx_int_t ngx_http_runs_bsnap_locked(ngx_http_runs_blueprint_t *bp,
    ngx_pool_t *pool, ngx_http_runs_bsnap_t *bs);
static ngx_uint_t ngx_http_runs_tags_cover(ngx_str_t *have, ngx_str_t *want);


/*
 * Creates (how: NGX_HTTP_RUNS_B_CREATE), replaces (NGX_HTTP_RUNS_B_UPDATE:
 * only while its version is bs->version, so that two updates read from
 * one version do not both win) or sets the status of (NGX_HTTP_RUNS_B_
 * STATUS: bs->inactive only) the blueprint bs->name; *out is its state
 * after, copied into the pool.
 */

ngx_uint_t
ngx_http_runs_store_blueprint_put(ngx_http_runs_zone_t *zone,
    ngx_http_runs_bsnap_t *bs, ngx_uint_t how, ngx_pool_t *pool,
    ngx_http_runs_bsnap_t *out)
{
    int64_t                     now;
    ngx_str_t                   name;
    ngx_uint_t                  found;
    ngx_http_runs_after_t       af;
    ngx_http_runs_shctx_t      *sh;
    ngx_http_runs_bsnap_t       keep;
    ngx_http_runs_blueprint_t  *bp, *old;

    sh = zone->sh;
    found = NGX_HTTP_RUNS_R_DONE;
    now = ngx_http_runs_now();

    ngx_http_runs_lock(zone, &af);

    old = ngx_http_runs_lookup_blueprint_locked(sh, &bs->name);

    if (how == NGX_HTTP_RUNS_B_CREATE) {
        if (old) {
            found = NGX_HTTP_RUNS_R_EXISTS;
            goto done;
        }

        bs->created_at = now;
        bs->modified_at = now;

        bp = ngx_http_runs_blueprint_new_locked(zone, bs,
                                                sh->blueprint_seq + 1);
        if (bp == NULL) {
            sh->full = 1;
            found = NGX_HTTP_RUNS_R_REFUSED;
            goto done;
        }

        goto changed;
    }

    if (old == NULL) {
        found = NGX_HTTP_RUNS_R_NO_AGENT;
        goto done;
    }

    if (how == NGX_HTTP_RUNS_B_UPDATE && old->version != bs->version) {
        found = NGX_HTTP_RUNS_R_CONFLICT;
        goto done;
    }

    /* the record again, with what changes: the old one goes once made */

    keep.name.data = old->data;
    keep.name.len = old->name_len;
    keep.tags.data = old->data + old->name_len;
    keep.tags.len = old->tags_len;
    keep.text.data = old->data + old->name_len + old->tags_len;
    keep.text.len = old->text_len;
    keep.inactive = bs->inactive;
    keep.created_at = old->created_at;
    keep.modified_at = now;

    if (how == NGX_HTTP_RUNS_B_UPDATE) {
        keep.tags = bs->tags;
        keep.text = bs->text;
        keep.inactive = old->inactive;
    }

    /* a fresh copy of the old bytes' place: the new record may reuse it */
    ngx_http_runs_blueprint_unlink_locked(sh, old);

    bp = ngx_http_runs_blueprint_new_locked(zone, &keep, old->seq);

    if (bp == NULL) {
        /* no room for the new one: the old one stays as it was */
        ngx_rbtree_insert(&sh->blueprints, &old->sn.node);
        ngx_queue_insert_tail(&sh->blueprint_list, &old->list);
        sh->nblueprints++;
        sh->full = 1;
        found = NGX_HTTP_RUNS_R_REFUSED;
        goto done;
    }

    bp->version = old->version + 1;
    ngx_slab_free_locked(zone->shpool, old);

changed:

    ngx_http_runs_after_mark(&af, NGX_HTTP_RUNS_J_BLUEPRINT, bp->seq);

    name.data = bp->data;
    name.len = bp->name_len;

    ngx_http_runs_event_agent_locked(sh, how == NGX_HTTP_RUNS_B_CREATE
                                         ? NGX_HTTP_RUNS_E_AGENT_CREATED
                                         : NGX_HTTP_RUNS_E_AGENT_UPDATED,
                                     &name, bp->inactive, &af);

    if (out && ngx_http_runs_bsnap_locked(bp, pool, out) != NGX_OK) {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;
    }

done:

    ngx_http_runs_unlock(&af);

    return found;
}


ngx_uint_t
ngx_http_runs_store_blueprint_delete(ngx_http_runs_zone_t *zone,
    ngx_str_t *name)
{
    ngx_uint_t                  found;
    ngx_http_runs_after_t       af;
    ngx_http_runs_blueprint_t  *bp;

    found = NGX_HTTP_RUNS_R_DONE;

    ngx_http_runs_lock(zone, &af);

    bp = ngx_http_runs_lookup_blueprint_locked(zone->sh, name);

    if (bp == NULL) {
        found = NGX_HTTP_RUNS_R_NO_AGENT;

    } else {
        ngx_http_runs_after_mark(&af, NGX_HTTP_RUNS_J_BLUEPRINT_GONE,
                                 bp->seq);
        ngx_http_runs_event_agent_locked(zone->sh,
                                         NGX_HTTP_RUNS_E_AGENT_DELETED, name,
                                         bp->inactive, &af);
        ngx_http_runs_blueprint_unlink_locked(zone->sh, bp);
        ngx_slab_free_locked(zone->shpool, bp);
    }

    ngx_http_runs_unlock(&af);

    return found;
}


ngx_uint_t
ngx_http_runs_store_blueprint(ngx_http_runs_zone_t *zone, ngx_str_t *name,
    ngx_pool_t *pool, ngx_http_runs_bsnap_t *bs)
{
    ngx_uint_t                  found;
    ngx_http_runs_blueprint_t  *bp;

    ngx_shmtx_lock(&zone->shpool->mutex);

    bp = ngx_http_runs_lookup_blueprint_locked(zone->sh, name);

    found = (bp == NULL) ? NGX_HTTP_RUNS_R_NO_AGENT
            : (ngx_http_runs_bsnap_locked(bp, pool, bs) == NGX_OK)
              ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_MEMORY;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


/* every blueprint whose tags include all of "tags" (empty: every one) */

ngx_uint_t
ngx_http_runs_store_blueprints(ngx_http_runs_zone_t *zone, ngx_str_t *tags,
    ngx_pool_t *pool, ngx_http_runs_bsnap_t **out, ngx_uint_t *n)
{
    ngx_str_t                   have;
    ngx_uint_t                  found;
    ngx_queue_t                *q;
    ngx_http_runs_shctx_t      *sh;
    ngx_http_runs_blueprint_t  *bp;

    sh = zone->sh;
    found = NGX_HTTP_RUNS_R_DONE;
    *n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    *out = ngx_palloc(pool, (sh->nblueprints + 1)
                            * sizeof(ngx_http_runs_bsnap_t));
    if (*out == NULL) {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;
        goto done;
    }

    for (q = ngx_queue_head(&sh->blueprint_list);
         q != ngx_queue_sentinel(&sh->blueprint_list);
         q = ngx_queue_next(q))
    {
        bp = ngx_queue_data(q, ngx_http_runs_blueprint_t, list);

        have.data = bp->data + bp->name_len;
        have.len = bp->tags_len;

        if (tags->len && !ngx_http_runs_tags_cover(&have, tags)) {
            continue;
        }

        if (ngx_http_runs_bsnap_locked(bp, pool, &(*out)[*n]) != NGX_OK) {
            found = NGX_HTTP_RUNS_R_NO_MEMORY;
            goto done;
        }

        (*n)++;
    }

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


static ngx_int_t
ngx_http_runs_bsnap_locked(ngx_http_runs_blueprint_t *bp, ngx_pool_t *pool,
    ngx_http_runs_bsnap_t *bs)
{
    u_char  *p;
    size_t   len;

    len = (size_t) bp->name_len + bp->tags_len + bp->text_len;

    p = ngx_pnalloc(pool, len ? len : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, bp->data, len);

    bs->name.data = p;
    bs->name.len = bp->name_len;
    bs->tags.data = p + bp->name_len;
    bs->tags.len = bp->tags_len;
    bs->text.data = p + bp->name_len + bp->tags_len;
    bs->text.len = bp->text_len;
    bs->inactive = bp->inactive;
    bs->created_at = bp->created_at;
    bs->modified_at = bp->modified_at;
    bs->version = bp->version;

    return NGX_OK;
}


/* two sorted, comma-separated lists: every name of "want" is in "have" */

static ngx_uint_t
ngx_http_runs_tags_cover(ngx_str_t *have, ngx_str_t *want)
{
    u_char  *h, *hend, *w, *wend, *hc, *wc;
    size_t   hl, wl;
    ngx_int_t  cmp;

    h = have->data;
    hend = have->data + have->len;
    w = want->data;
    wend = want->data + want->len;

    while (w < wend) {
        wc = ngx_strlchr(w, wend, ',');
        wl = (wc ? wc : wend) - w;

        for ( ;; ) {
            if (h >= hend) {
                return 0;
            }

            hc = ngx_strlchr(h, hend, ',');
            hl = (hc ? hc : hend) - h;

            cmp = ngx_memn2cmp(h, w, hl, wl);

            h = hc ? hc + 1 : hend;

            if (cmp == 0) {
                break;
            }

            if (cmp > 0) {
                return 0;
            }
        }

        w = wc ? wc + 1 : wend;
    }

    return 1;
}
