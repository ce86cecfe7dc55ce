
/*
 * Run listings (GET /runs, a session's runs): the runs newest first, in
 * slices of at most NGX_HTTP_RUNS_LIST_SLICE runs per lock, the lock
 * handed over between slices (docs/adr/0009).
 */


#include "ngx_http_runs_zone.h"


static ngx_int_t ngx_http_runs_list_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_query_t *qy, ngx_pool_t *pool, ngx_http_runs_snap_t *snaps,
    ngx_uint_t cap, ngx_uint_t *n, uint64_t *cursor);




/*
 * One slice of a listing, newest first: visits at most
 * NGX_HTTP_RUNS_LIST_SLICE runs (or sequence numbers of runs gone) from
 * *cursor, the creation sequence of the next run to visit (0: the newest),
 * and copies those that match into snaps.  The runs of one session when
 * its sid or name is set (NGX_DECLINED: there is no such session, in the
 * query's scope); else those of every session in its scope.
 * NGX_AGAIN: call again, the lock may be released in between; NGX_OK:
 * done; NGX_ERROR: no memory.
 *
 * A run found again by its sequence number is an O(1) lookup (the id is a
 * permutation of it), so a listing never holds the lock for a scan of the
 * whole store, and a run freed between two slices only costs a walk down
 * the sequence numbers to the next one still stored.
 */

static ngx_int_t
ngx_http_runs_list_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_query_t *qy, ngx_pool_t *pool, ngx_http_runs_snap_t *snaps,
    ngx_uint_t cap, ngx_uint_t *n, uint64_t *cursor)
{
    uint64_t                  seq, oldest;
    ngx_uint_t                budget;
    ngx_queue_t              *q, *head;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_session_t  *sess;

    sess = NULL;
    head = &sh->all;

    if (qy->sid || qy->name.data) {
        sess = qy->sid ? ngx_http_runs_lookup_sid_locked(sh, qy->sid)
                       : ngx_http_runs_lookup_session_locked(sh, &qy->name,
                                                             qy->scope);
        if (sess == NULL || !ngx_http_runs_in_scope(sess, qy->scope)) {
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

        if (qy->status != -1 && run->status != (ngx_uint_t) qy->status) {
            continue;
        }

        if (!ngx_http_runs_in_scope(run->session, qy->scope)) {
            continue;
        }

        if (ngx_http_runs_snap_locked(sh, run, pool, &snaps[*n]) != NGX_OK) {
            return NGX_ERROR;
        }

        (*n)++;
    }

    return NGX_OK;
}



/* the newest "limit" runs that match, newest first, a slice per lock */

ngx_uint_t
ngx_http_runs_store_list(ngx_http_runs_zone_t *zone, ngx_str_t *name,
    ngx_int_t status, ngx_uint_t limit, uint64_t *scope, ngx_pool_t *pool,
    ngx_http_runs_snap_t **snaps, ngx_uint_t *n)
{
    uint64_t               cursor;
    ngx_uint_t             cap, found;
    ngx_http_runs_query_t  qy;

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

    qy.name = *name;
    qy.sid = NULL;
    qy.status = status;
    qy.scope = scope;

    found = ngx_http_runs_list_slices(zone, &qy, pool, *snaps, cap, n,
                                      &cursor);

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
ngx_http_runs_list_slices(ngx_http_runs_zone_t *zone,
    ngx_http_runs_query_t *qy, ngx_pool_t *pool, ngx_http_runs_snap_t *snaps,
    ngx_uint_t cap, ngx_uint_t *n, uint64_t *cursor)
{
    ngx_int_t  rc;

    do {
        ngx_shmtx_lock(&zone->shpool->mutex);

        rc = ngx_http_runs_list_locked(zone->sh, qy, pool, snaps, cap, n,
                                       cursor);

        ngx_http_runs_slice_unlock(&zone->shpool->mutex, rc);

    } while (rc == NGX_AGAIN);

    if (rc == NGX_DECLINED) {
        return *n ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_SESSION;
    }

    return rc == NGX_OK ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_MEMORY;
}

