
/*
 * Sessions in the zone, for the Sessions API: a session is found by its
 * id (a hash table of its own) or its name, listed in creation order,
 * and stopped or deleted with all its runs in one step under the lock,
 * so nothing is ever half done.  A session's fields are derived from its
 * runs: the status, agent_name, project_dir and parent_session_name of
 * its latest run, its first run's creation, the latest time any of its
 * runs moved.
 */


#include "ngx_http_runs_zone.h"


static ngx_http_runs_session_t *ngx_http_runs_find_session_locked(
    ngx_http_runs_shctx_t *sh, uint64_t *sid, ngx_str_t *name,
    uint64_t *scope);
static ngx_int_t ngx_http_runs_ssnap_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t *ss, ngx_uint_t *visited);
static ngx_int_t ngx_http_runs_sessions_slice_locked(ngx_http_runs_shctx_t *sh,
    ngx_int_t status, ngx_str_t *agent, uint64_t *scope, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t *ss, ngx_uint_t cap, ngx_uint_t *n,
    uint64_t *cursor);
static ngx_uint_t ngx_http_runs_session_match(ngx_http_runs_session_t *sess,
    ngx_int_t status, ngx_str_t *agent);


/* a session's status as the Sessions API shows it */

ngx_uint_t
ngx_http_runs_session_status(ngx_uint_t run_status)
{
    switch (run_status) {

    case NGX_HTTP_RUNS_CLAIMED:
        return NGX_HTTP_RUNS_RUNNING;

    default:
        return run_status;
    }
}


static ngx_http_runs_session_t *
ngx_http_runs_find_session_locked(ngx_http_runs_shctx_t *sh, uint64_t *sid,
    ngx_str_t *name, uint64_t *scope)
{
    ngx_http_runs_session_t  *sess;

    sess = sid ? ngx_http_runs_lookup_sid_locked(sh, sid)
               : ngx_http_runs_lookup_session_locked(sh, name, scope);

    /*
     * a session being created (no run yet) is not there yet; one of
     * another scope is not there at all
     */
    if (sess && (sess->nruns == 0 || !ngx_http_runs_in_scope(sess, scope))) {
        return NULL;
    }

    return sess;
}


/*
 * A session copied out for encoding; *visited counts the runs read.  Its
 * latest change is read from its newest runs back to the latest one ever
 * claimed: a run is claimed only once every run before it has ended, and
 * run times follow the lock's order, so nothing before that one changed
 * later than its claim.  That is one run or two, or the runs queued
 * behind a busy one (counted in *visited, so a listing's slice ends).
 */

static ngx_int_t
ngx_http_runs_ssnap_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t *ss, ngx_uint_t *visited)
{
    u_char               *p, *s;
    size_t                n;
    int64_t               t;

    uint64_t              sid[2];
    ngx_queue_t          *q;
    ngx_http_runs_run_t  *run, *last;

    ngx_http_runs_session_sid(sh, sess, sid);
    ngx_http_runs_format_sid(ss->id, sid);

    last = ngx_queue_data(ngx_queue_last(&sess->runs), ngx_http_runs_run_t,
                          in_session);
    run = ngx_queue_data(ngx_queue_head(&sess->runs), ngx_http_runs_run_t,
                         in_session);

    ngx_http_runs_run_id(ss->last_run_id, last);

    ss->status = last->status;
    ss->run_count = sess->nruns;
    ss->created_at = run->created_at;
    ss->updated_at = 0;

    for (q = ngx_queue_last(&sess->runs);
         q != ngx_queue_sentinel(&sess->runs);
         q = ngx_queue_prev(q))
    {
        run = ngx_queue_data(q, ngx_http_runs_run_t, in_session);
        (*visited)++;

        t = ngx_max(ngx_max(run->created_at, run->claimed_at),
                    ngx_max(run->started_at, run->completed_at));

        ss->updated_at = ngx_max(ss->updated_at, t);

        if (run->claimed_at) {
            break;
        }
    }

    /* the name, then the latest run's agent_name, project_dir, parent */

    n = sess->name_len + last->agent_name_len + last->project_dir_len
        + last->parent_len + sess->host_len;

    p = ngx_pnalloc(pool, n);
    if (p == NULL) {
        return NGX_ERROR;
    }

    s = last->strings + last->prompt_len;

    ss->name.data = p;
    ss->name.len = sess->name_len;
    p = ngx_cpymem(p, sess->name, sess->name_len);

    ss->agent_name.data = last->agent_name_len ? p : NULL;
    ss->agent_name.len = last->agent_name_len;
    p = ngx_cpymem(p, s, last->agent_name_len);
    s += last->agent_name_len;

    ss->project_dir.data = last->project_dir_len ? p : NULL;
    ss->project_dir.len = last->project_dir_len;
    p = ngx_cpymem(p, s, last->project_dir_len);
    s += last->project_dir_len;

    ss->parent.data = last->parent_len ? p : NULL;
    ss->parent.len = last->parent_len;
    p = ngx_cpymem(p, s, last->parent_len);

    /* the host its resumes go to (affinity) */
    ngx_http_runs_session_host(sess, &ss->host);

    if (ss->host.len) {
        ngx_memcpy(p, ss->host.data, ss->host.len);
        ss->host.data = p;
    }

    return NGX_OK;
}


/* does the session match a listing's filters: read in place, no copy */

static ngx_uint_t
ngx_http_runs_session_match(ngx_http_runs_session_t *sess, ngx_int_t status,
    ngx_str_t *agent)
{
    ngx_http_runs_run_t  *last;

    last = ngx_queue_data(ngx_queue_last(&sess->runs), ngx_http_runs_run_t,
                          in_session);

    if (status != -1
        && ngx_http_runs_session_status(last->status) != (ngx_uint_t) status)
    {
        return 0;
    }

    if (agent->data
        && (last->agent_name_len != agent->len
            || ngx_memcmp(last->strings + last->prompt_len, agent->data,
                          agent->len) != 0))
    {
        return 0;
    }

    return 1;
}


/* one session, by id (sid) or by name */

ngx_uint_t
ngx_http_runs_store_session(ngx_http_runs_zone_t *zone, uint64_t *sid,
    ngx_str_t *name, uint64_t *scope, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t *ss)
{
    ngx_uint_t                found, visited;
    ngx_http_runs_session_t  *sess;

    visited = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, name, scope);

    if (sess == NULL) {
        found = NGX_HTTP_RUNS_R_NO_SESSION;

    } else if (ngx_http_runs_ssnap_locked(zone->sh, sess, pool, ss, &visited)
               != NGX_OK)
    {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;

    } else {
        found = NGX_HTTP_RUNS_R_DONE;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


/*
 * One slice of the sessions listing, newest first, like the runs
 * listing's: at most NGX_HTTP_RUNS_LIST_SLICE sessions, runs read and
 * sequence numbers of sessions gone, from *cursor, the creation sequence
 * of the next session to visit (0: the newest).  NGX_AGAIN: call again,
 * the lock may be released in between; NGX_OK: done; NGX_ERROR: no memory.
 */

static ngx_int_t
ngx_http_runs_sessions_slice_locked(ngx_http_runs_shctx_t *sh,
    ngx_int_t status, ngx_str_t *agent, uint64_t *scope, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t *ss, ngx_uint_t cap, ngx_uint_t *n,
    uint64_t *cursor)
{
    uint64_t                  seq, oldest;
    ngx_uint_t                budget, visited;
    ngx_queue_t              *q, *head;
    ngx_http_runs_session_t  *sess;

    head = &sh->session_list;

    if (ngx_queue_empty(head) || *n >= cap) {
        return NGX_OK;
    }

    budget = NGX_HTTP_RUNS_LIST_SLICE;

    if (*cursor == 0) {
        q = ngx_queue_last(head);

    } else {
        sess = ngx_queue_data(ngx_queue_head(head), ngx_http_runs_session_t,
                              all);
        oldest = sess->seq;

        for (seq = *cursor; /* void */ ; seq--) {

            if (seq < oldest) {
                return NGX_OK;
            }

            if (budget == 0) {
                *cursor = seq;
                return NGX_AGAIN;
            }

            budget--;

            sess = ngx_http_runs_lookup_session_seq_locked(sh, seq);
            if (sess) {
                break;
            }
        }

        q = &sess->all;
    }

    for ( /* void */ ; q != ngx_queue_sentinel(head); q = ngx_queue_prev(q)) {

        sess = ngx_queue_data(q, ngx_http_runs_session_t, all);

        if (*n >= cap) {
            return NGX_OK;
        }

        if (budget == 0) {
            *cursor = sess->seq;
            return NGX_AGAIN;
        }

        budget--;

        if (sess->nruns == 0
            || !ngx_http_runs_in_scope(sess, scope)
            || !ngx_http_runs_session_match(sess, status, agent))
        {
            continue;
        }

        visited = 0;

        if (ngx_http_runs_ssnap_locked(sh, sess, pool, &ss[*n], &visited)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        budget -= ngx_min(budget, visited);
        (*n)++;
    }

    return NGX_OK;
}


/*
 * The newest "limit" sessions that match, newest first in *ss, a slice
 * per lock; status is a session status or -1, agent->data NULL for any
 * agent.
 */

ngx_uint_t
ngx_http_runs_store_sessions(ngx_http_runs_zone_t *zone, ngx_int_t status,
    ngx_str_t *agent, uint64_t *scope, ngx_uint_t limit, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t **ss, ngx_uint_t *n)
{
    uint64_t    cursor;
    ngx_int_t   rc;
    ngx_uint_t  cap;

    /* as for the runs listing: sessions made meanwhile come a moment later */
    cursor = zone->sh->session_seq;
    cap = ngx_min(limit, zone->sh->nsessions + 64);

    *ss = ngx_palloc(pool, cap * sizeof(ngx_http_runs_ssnap_t));
    if (*ss == NULL) {
        return NGX_HTTP_RUNS_R_NO_MEMORY;
    }

    *n = 0;

    do {
        ngx_shmtx_lock(&zone->shpool->mutex);

        rc = ngx_http_runs_sessions_slice_locked(zone->sh, status, agent,
                                                 scope, pool, *ss, cap, n,
                                                 &cursor);

        ngx_http_runs_slice_unlock(&zone->shpool->mutex, rc);

    } while (rc == NGX_AGAIN);

    return rc == NGX_OK ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_MEMORY;
}


/*
 * Every run of a session, newest first, a slice per lock: the runs it
 * has when asked (counted then); runs made meanwhile come a moment later.
 * A session deleted before its first slice is not found.
 */

ngx_uint_t
ngx_http_runs_store_session_runs(ngx_http_runs_zone_t *zone, uint64_t *sid,
    uint64_t *scope, ngx_pool_t *pool, ngx_http_runs_snap_t **snaps,
    ngx_uint_t *n)
{
    uint64_t                  cursor;
    ngx_uint_t                cap;
    ngx_http_runs_run_t      *last;
    ngx_http_runs_query_t     qy;
    ngx_http_runs_session_t  *sess;

    *n = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL, scope);

    if (sess == NULL) {
        ngx_shmtx_unlock(&zone->shpool->mutex);
        return NGX_HTTP_RUNS_R_NO_SESSION;
    }

    last = ngx_queue_data(ngx_queue_last(&sess->runs), ngx_http_runs_run_t,
                          in_session);
    cursor = last->seq;
    cap = sess->nruns;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    *snaps = ngx_palloc(pool, cap * sizeof(ngx_http_runs_snap_t));
    if (*snaps == NULL) {
        return NGX_HTTP_RUNS_R_NO_MEMORY;
    }

    ngx_str_null(&qy.name);
    qy.sid = sid;
    qy.status = -1;
    qy.scope = NULL;        /* the session was found in the caller's */

    return ngx_http_runs_list_slices(zone, &qy, pool, *snaps, cap, n,
                                     &cursor);
}


/* the session's latest completed run; NGX_HTTP_RUNS_R_NO_RUN: none */

ngx_uint_t
ngx_http_runs_store_session_result(ngx_http_runs_zone_t *zone, uint64_t *sid,
    uint64_t *scope, ngx_pool_t *pool, ngx_http_runs_snap_t *snap)
{
    ngx_uint_t                found;
    ngx_queue_t              *q;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_session_t  *sess;

    found = NGX_HTTP_RUNS_R_NO_RUN;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL, scope);

    if (sess == NULL) {
        found = NGX_HTTP_RUNS_R_NO_SESSION;
        goto done;
    }

    for (q = ngx_queue_last(&sess->runs);
         q != ngx_queue_sentinel(&sess->runs);
         q = ngx_queue_prev(q))
    {
        run = ngx_queue_data(q, ngx_http_runs_run_t, in_session);

        if (run->status != NGX_HTTP_RUNS_COMPLETED) {
            continue;
        }

        found = (ngx_http_runs_snap_locked(zone->sh, run, pool, snap) == NGX_OK)
                ? NGX_HTTP_RUNS_R_DONE : NGX_HTTP_RUNS_R_NO_MEMORY;
        break;
    }

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


/*
 * Stops a session's live runs in one step: pending ones are stopped at
 * once ("cancelled"), claimed and running ones are asked to stop through
 * their runner ("stopped").  The ids go to the two arrays (of run id
 * texts, NGX_HTTP_RUNS_RUN_ID_LEN bytes each).
 */

ngx_uint_t
ngx_http_runs_store_session_stop(ngx_http_runs_zone_t *zone, uint64_t *sid,
    uint64_t *scope, ngx_pool_t *pool, ngx_array_t *stopped,
    ngx_array_t *cancelled)
{
    u_char                   *id;
    ngx_uint_t                found, before;
    ngx_queue_t              *q, *prev;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_after_t     af;
    ngx_http_runs_session_t  *sess;

    found = NGX_HTTP_RUNS_R_DONE;

    ngx_http_runs_lock(zone, &af);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL, scope);

    if (sess == NULL) {
        found = NGX_HTTP_RUNS_R_NO_SESSION;
        goto done;
    }

    /* room for the answer first: then nothing can fail halfway */

    if (ngx_array_init(stopped, pool, sess->nruns, NGX_HTTP_RUNS_RUN_ID_LEN)
        != NGX_OK
        || ngx_array_init(cancelled, pool, sess->nruns,
                          NGX_HTTP_RUNS_RUN_ID_LEN)
           != NGX_OK)
    {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;
        goto done;
    }

    /* the newest first, so no run is made claimable on the way */

    for (q = ngx_queue_last(&sess->active);
         q != ngx_queue_sentinel(&sess->active);
         q = prev)
    {
        prev = ngx_queue_prev(q);
        run = ngx_queue_data(q, ngx_http_runs_run_t, state);

        before = run->status;

        if (ngx_http_runs_stop_locked(zone, run, &af) != NGX_OK) {
            continue;
        }

        id = ngx_array_push(before == NGX_HTTP_RUNS_PENDING ? cancelled
                                                            : stopped);

        /* never NULL: the arrays hold every run of the session */
        ngx_http_runs_run_id(id, run);
    }

done:

    ngx_http_runs_unlock(&af);

    return found;
}


/*
 * Deletes a session and every run of it in one step; refused
 * (NGX_HTTP_RUNS_R_ACTIVE) while a runner holds one of its runs.
 */

ngx_uint_t
ngx_http_runs_store_session_delete(ngx_http_runs_zone_t *zone, uint64_t *sid,
    uint64_t *scope, ngx_uint_t *nruns)
{
    int64_t                   now;
    ngx_uint_t                found;
    ngx_queue_t              *q, *prev, *next;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_after_t     af;
    ngx_http_runs_session_t  *sess;

    found = NGX_HTTP_RUNS_R_DONE;

    ngx_http_runs_lock(zone, &af);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL, scope);

    if (sess == NULL) {
        found = NGX_HTTP_RUNS_R_NO_SESSION;
        goto done;
    }

    for (q = ngx_queue_head(&sess->active);
         q != ngx_queue_sentinel(&sess->active);
         q = ngx_queue_next(q))
    {
        run = ngx_queue_data(q, ngx_http_runs_run_t, state);

        if (run->status != NGX_HTTP_RUNS_PENDING) {
            found = NGX_HTTP_RUNS_R_ACTIVE;
            goto done;
        }
    }

    /* pending runs end first (newest first: none is made claimable) */

    now = ngx_http_runs_now();

    /* what is deleted reports to no parent */
    zone->sh->no_callbacks = 1;

    for (q = ngx_queue_last(&sess->active);
         q != ngx_queue_sentinel(&sess->active);
         q = prev)
    {
        prev = ngx_queue_prev(q);
        run = ngx_queue_data(q, ngx_http_runs_run_t, state);

        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_STOPPED, now,
                                        &af);
    }

    *nruns = sess->nruns;

    ngx_http_runs_after_mark(&af, NGX_HTTP_RUNS_J_SESSION_GONE, sess->seq);

    /* the last run's removal removes the session (and tells streams) */

    for (q = ngx_queue_head(&sess->runs); *nruns && q; q = next) {
        run = ngx_queue_data(q, ngx_http_runs_run_t, in_session);

        next = (ngx_queue_next(q) == ngx_queue_sentinel(&sess->runs))
               ? NULL : ngx_queue_next(q);

        ngx_http_runs_after_mark(&af, NGX_HTTP_RUNS_J_RUN_GONE, run->id);
        ngx_http_runs_free_run_locked(zone, run, NULL);
    }

    zone->sh->no_callbacks = 0;

done:

    ngx_http_runs_unlock(&af);

    return found;
}
