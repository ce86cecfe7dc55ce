
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
    ngx_http_runs_shctx_t *sh, uint64_t *sid, ngx_str_t *name);
static ngx_int_t ngx_http_runs_ssnap_locked(ngx_http_runs_session_t *sess,
    ngx_pool_t *pool, ngx_http_runs_ssnap_t *ss);
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
    ngx_str_t *name)
{
    ngx_http_runs_session_t  *sess;

    sess = sid ? ngx_http_runs_lookup_sid_locked(sh, sid)
               : ngx_http_runs_lookup_session_locked(sh, name);

    /* a session being created (no run yet) is not there yet */
    if (sess && sess->nruns == 0) {
        return NULL;
    }

    return sess;
}


static ngx_int_t
ngx_http_runs_ssnap_locked(ngx_http_runs_session_t *sess, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t *ss)
{
    u_char               *p, *s;
    size_t                n;
    int64_t               t;
    ngx_queue_t          *q;
    ngx_http_runs_run_t  *run, *last;

    ngx_http_runs_format_sid(ss->id, sess->sid);

    last = ngx_queue_data(ngx_queue_last(&sess->runs), ngx_http_runs_run_t,
                          in_session);
    run = ngx_queue_data(ngx_queue_head(&sess->runs), ngx_http_runs_run_t,
                         in_session);

    ngx_http_runs_run_id(ss->last_run_id, last);

    ss->status = last->status;
    ss->run_count = sess->nruns;
    ss->created_at = run->created_at;
    ss->updated_at = 0;

    for (q = ngx_queue_head(&sess->runs);
         q != ngx_queue_sentinel(&sess->runs);
         q = ngx_queue_next(q))
    {
        run = ngx_queue_data(q, ngx_http_runs_run_t, in_session);

        t = ngx_max(ngx_max(run->created_at, run->claimed_at),
                    ngx_max(run->started_at, run->completed_at));

        ss->updated_at = ngx_max(ss->updated_at, t);
    }

    /* the name, then the latest run's agent_name, project_dir, parent */

    n = sess->name_len + last->agent_name_len + last->project_dir_len
        + last->parent_len;

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
    (void) ngx_cpymem(p, s, last->parent_len);

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
    ngx_str_t *name, ngx_pool_t *pool, ngx_http_runs_ssnap_t *ss)
{
    ngx_uint_t                found;
    ngx_http_runs_session_t  *sess;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, name);

    if (sess == NULL) {
        found = NGX_HTTP_RUNS_R_NO_SESSION;

    } else if (ngx_http_runs_ssnap_locked(sess, pool, ss) != NGX_OK) {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;

    } else {
        found = NGX_HTTP_RUNS_R_DONE;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


/*
 * The newest "limit" sessions that match, newest first in *ss; status is
 * a session status or -1, agent->data NULL for any agent.
 */

ngx_uint_t
ngx_http_runs_store_sessions(ngx_http_runs_zone_t *zone, ngx_int_t status,
    ngx_str_t *agent, ngx_uint_t limit, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t **ss, ngx_uint_t *n)
{
    ngx_uint_t                found;
    ngx_queue_t              *q, *head;
    ngx_http_runs_session_t  *sess;

    *n = 0;
    found = NGX_HTTP_RUNS_R_DONE;

    *ss = ngx_palloc(pool, limit * sizeof(ngx_http_runs_ssnap_t));
    if (*ss == NULL) {
        return NGX_HTTP_RUNS_R_NO_MEMORY;
    }

    ngx_shmtx_lock(&zone->shpool->mutex);

    head = &zone->sh->session_list;

    for (q = ngx_queue_last(head);
         q != ngx_queue_sentinel(head) && *n < limit;
         q = ngx_queue_prev(q))
    {
        sess = ngx_queue_data(q, ngx_http_runs_session_t, all);

        if (sess->nruns == 0
            || !ngx_http_runs_session_match(sess, status, agent))
        {
            continue;
        }

        if (ngx_http_runs_ssnap_locked(sess, pool, &(*ss)[*n]) != NGX_OK) {
            found = NGX_HTTP_RUNS_R_NO_MEMORY;
            break;
        }

        (*n)++;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


/* every run of a session, oldest first */

ngx_uint_t
ngx_http_runs_store_session_runs(ngx_http_runs_zone_t *zone, uint64_t *sid,
    ngx_pool_t *pool, ngx_http_runs_snap_t **snaps, ngx_uint_t *n)
{
    ngx_uint_t                found;
    ngx_queue_t              *q;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_session_t  *sess;

    *n = 0;
    found = NGX_HTTP_RUNS_R_DONE;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL);

    if (sess == NULL) {
        found = NGX_HTTP_RUNS_R_NO_SESSION;
        goto done;
    }

    *snaps = ngx_palloc(pool, sess->nruns * sizeof(ngx_http_runs_snap_t));
    if (*snaps == NULL) {
        found = NGX_HTTP_RUNS_R_NO_MEMORY;
        goto done;
    }

    for (q = ngx_queue_head(&sess->runs);
         q != ngx_queue_sentinel(&sess->runs);
         q = ngx_queue_next(q))
    {
        run = ngx_queue_data(q, ngx_http_runs_run_t, in_session);

        if (ngx_http_runs_snap_locked(run, pool, &(*snaps)[*n]) != NGX_OK) {
            found = NGX_HTTP_RUNS_R_NO_MEMORY;
            break;
        }

        (*n)++;
    }

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    return found;
}


/* the session's latest completed run; NGX_HTTP_RUNS_R_NO_RUN: none */

ngx_uint_t
ngx_http_runs_store_session_result(ngx_http_runs_zone_t *zone, uint64_t *sid,
    ngx_pool_t *pool, ngx_http_runs_snap_t *snap)
{
    ngx_uint_t                found;
    ngx_queue_t              *q;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_session_t  *sess;

    found = NGX_HTTP_RUNS_R_NO_RUN;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL);

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

        found = (ngx_http_runs_snap_locked(run, pool, snap) == NGX_OK)
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
    ngx_pool_t *pool, ngx_array_t *stopped, ngx_array_t *cancelled)
{
    u_char                   *id;
    ngx_uint_t                found, before;
    ngx_queue_t              *q, *prev;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_bells_t     bells;
    ngx_http_runs_session_t  *sess;

    bells = 0;
    found = NGX_HTTP_RUNS_R_DONE;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL);

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

        if (ngx_http_runs_stop_locked(zone, run, &bells) != NGX_OK) {
            continue;
        }

        id = ngx_array_push(before == NGX_HTTP_RUNS_PENDING ? cancelled
                                                            : stopped);

        /* never NULL: the arrays hold every run of the session */
        ngx_http_runs_run_id(id, run);
    }

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    return found;
}


/*
 * Deletes a session and every run of it in one step; refused
 * (NGX_HTTP_RUNS_R_ACTIVE) while a runner holds one of its runs.
 */

ngx_uint_t
ngx_http_runs_store_session_delete(ngx_http_runs_zone_t *zone, uint64_t *sid,
    ngx_uint_t *nruns)
{
    int64_t                   now;
    ngx_uint_t                found;
    ngx_queue_t              *q, *prev, *next;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_bells_t     bells;
    ngx_http_runs_session_t  *sess;

    bells = 0;
    found = NGX_HTTP_RUNS_R_DONE;

    ngx_shmtx_lock(&zone->shpool->mutex);

    sess = ngx_http_runs_find_session_locked(zone->sh, sid, NULL);

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
                                        &bells);
    }

    *nruns = sess->nruns;

    /* the last run's removal removes the session */

    for (q = ngx_queue_head(&sess->runs); *nruns && q; q = next) {
        run = ngx_queue_data(q, ngx_http_runs_run_t, in_session);

        next = (ngx_queue_next(q) == ngx_queue_sentinel(&sess->runs))
               ? NULL : ngx_queue_next(q);

        ngx_http_runs_free_run_locked(zone, run, NULL);
    }

    zone->sh->no_callbacks = 0;

done:

    ngx_shmtx_unlock(&zone->shpool->mutex);

    ngx_http_runs_ring(zone, bells);

    return found;
}
