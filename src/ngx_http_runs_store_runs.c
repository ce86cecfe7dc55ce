
/*
 * Runs and their transitions: a run created (with its session's rules:
 * one start, resumes of a known session, parents without loops), every
 * status change through the one setter (ngx_http_runs_set_status_locked),
 * a launcher's reports, stops, and a claim taken back into the queue.
 */


#include "ngx_http_runs_zone.h"


static ngx_uint_t ngx_http_runs_parent_loops_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name, ngx_str_t *parent, uint64_t *scope);
static ngx_uint_t ngx_http_runs_session_rules_locked(
    ngx_http_runs_shctx_t *sh, ngx_http_runs_session_t *sess,
    ngx_http_runs_create_t *cr, ngx_str_t *agent, ngx_str_t *project,
    ngx_str_t *parent);
static ngx_uint_t ngx_http_runs_create_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_create_t *cr, u_char *id, ngx_http_runs_after_t *af);
static void ngx_http_runs_fill_run(ngx_http_runs_run_t *run,
    u_char *strings, ngx_http_runs_create_t *cr, ngx_str_t *agent,
    ngx_str_t *project, ngx_str_t *parent);
static void ngx_http_runs_record_start_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess, u_char *inherit, ngx_str_t *agent,
    ngx_str_t *project, ngx_str_t *parent);
static void ngx_http_runs_set_texts_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_str_t *error, ngx_str_t *result,
    size_t result_max);
static void ngx_http_runs_queue_stop_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af);
static ngx_uint_t ngx_http_runs_report_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_launcher_t *lr,
    ngx_http_runs_report_t *rp, ngx_http_runs_after_t *af);


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
 * Would the session "name" be its own ancestor with this parent?  The
 * chain is walked by name (a parent may not exist yet; one started later
 * is checked then); a chain deeper than 64 counts as a loop.
 */

static ngx_uint_t
ngx_http_runs_parent_loops_locked(ngx_http_runs_shctx_t *sh, ngx_str_t *name,
    ngx_str_t *parent, uint64_t *scope)
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

        up = ngx_http_runs_lookup_session_locked(sh, &p, scope);

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
                                                 parent, cr->scope))
        {
            return NGX_HTTP_RUNS_R_LOOP;
        }

        /* an inactive registry blueprint takes no run */
        return ngx_http_runs_blueprint_check_locked(sh, agent);
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

    return ngx_http_runs_blueprint_check_locked(sh, agent);
}



static ngx_uint_t
ngx_http_runs_create_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_create_t *cr, u_char *id, ngx_http_runs_after_t *af)
{
    size_t                    isize;
    u_char                   *inherit, *strings;
    ngx_str_t                 agent, project, parent;
    ngx_uint_t                found;
    ngx_uint_t                new_session;
    ngx_http_runs_run_t      *run;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess;

    sh = zone->sh;

    sess = ngx_http_runs_lookup_session_locked(sh, &cr->session_name,
                                               cr->scope);

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
                                               + project.len + parent.len
                                               + cr->demands.len,
                                         sess);
    if (strings == NULL) {
        goto full;
    }

    if (new_session) {
        sess = ngx_http_runs_new_session_locked(zone, &cr->session_name);
        if (sess == NULL) {
            goto full;
        }

        if (cr->scope) {
            sess->scope[0] = cr->scope[0];
            sess->scope[1] = cr->scope[1];
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
        ngx_http_runs_link_session_locked(sh, sess);
    }

    if (cr->type == NGX_HTTP_RUNS_START) {
        ngx_http_runs_record_start_locked(zone, sess, inherit, &agent,
                                          &project, &parent);
    }

    sess->pinned = 0;

    ngx_http_runs_fill_run(run, strings, cr, &agent, &project, &parent);
    ngx_http_runs_link_run_locked(zone, run, sess, af);

    ngx_http_runs_mark_run(af, run);
    ngx_http_runs_mark_session(af, sess);

    ngx_http_runs_run_id(id, run);

    return NGX_HTTP_RUNS_R_DONE;

full:

    /* nothing is half-applied */

    sh->full = 1;

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


/* a new run's record and strings, before it is linked */

static void
ngx_http_runs_fill_run(ngx_http_runs_run_t *run, u_char *strings,
    ngx_http_runs_create_t *cr, ngx_str_t *agent, ngx_str_t *project,
    ngx_str_t *parent)
{
    u_char  *p;

    ngx_memzero(run, sizeof(ngx_http_runs_run_t));

    run->strings = strings;
    run->prompt_len = (uint32_t) cr->prompt.len;
    run->agent_name_len = (u_char) agent->len;
    run->project_dir_len = (uint16_t) project->len;
    run->parent_len = (u_char) parent->len;
    run->demand_len = (uint16_t) cr->demands.len;

    p = ngx_http_runs_put(strings, &cr->prompt);
    p = ngx_http_runs_put(p, agent);
    p = ngx_http_runs_put(p, project);
    p = ngx_http_runs_put(p, parent);
    (void) ngx_http_runs_put(p, &cr->demands);

    run->type = cr->type;
    run->noaffinity = !cr->affinity;
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
    sess->host_len = 0;     /* set when its first run is claimed */

    if (inherit) {
        p = ngx_http_runs_put(inherit, agent);
        p = ngx_http_runs_put(p, project);
        (void) ngx_http_runs_put(p, parent);
    }

    sess->has_start = 1;
}



void
ngx_http_runs_set_status_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_uint_t status, int64_t now,
    ngx_http_runs_after_t *af)
{
    ngx_uint_t                old;
    ngx_http_runs_shctx_t    *sh;
    ngx_http_runs_session_t  *sess;

    sh = zone->sh;
    sess = run->session;
    old = run->status;

    if (status != NGX_HTTP_RUNS_PENDING) {
        ngx_http_runs_unready_locked(zone, run);
    }

    sh->nstatus[old]--;
    sh->nstatus[status]++;
    run->status = status;

    ngx_http_runs_mark_run(af, run);
    ngx_http_runs_event_run_locked(sh, NGX_HTTP_RUNS_E_RUN_REQUEUED + status,
                                   run, af);

    if (status == NGX_HTTP_RUNS_CLAIMED) {
        sh->claims_total++;
        ngx_http_runs_observe(&sh->hist_claim,
                              run->claimed_at - run->created_at);
    }

    if (!ngx_http_runs_is_terminal(status)) {
        return;
    }

    run->completed_at = ngx_http_runs_stamp_locked(sh, now);
    sh->ended_total[status]++;

    if (status == NGX_HTTP_RUNS_COMPLETED) {
        ngx_http_runs_observe(&sh->hist_done,
                              run->completed_at - run->created_at);
    }

    if (status == NGX_HTTP_RUNS_FAILED || status == NGX_HTTP_RUNS_STOPPED) {
        sess->nblocking--;
    }

    ngx_http_runs_detach_locked(run);

    ngx_queue_remove(&run->state);
    ngx_queue_insert_tail(&sh->finished, &run->state);

    if (run->log) {
        ngx_queue_insert_tail(&sh->logs, &run->log->queue);
    }

    ngx_http_runs_notify_all_locked(sh, &run->waiters, 0, af);

    /* the session's next run may go now */
    ngx_http_runs_make_ready_locked(zone, sess, af);

    /* a child's run ended: its parent hears of it, in this same change */
    if (sess->parent_len && !sh->no_callbacks) {
        ngx_http_runs_callback_locked(zone, run, af);
    }
}



/* a run that fails here, not by its runner's report (a pending run) */

void
ngx_http_runs_fail_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_str_t *error, int64_t now,
    ngx_http_runs_after_t *af)
{
    ngx_str_t  result;

    result.len = 0;
    result.data = NULL;

    ngx_http_runs_set_texts_locked(zone, run, error, &result, 0);
    ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_FAILED, now, af);
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

    keep = ngx_http_runs_names_len(run);

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
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af)
{
    ngx_http_runs_launcher_t  *lr;

    lr = run->launcher;

    if (lr == NULL || run->stop_queued) {
        return;
    }

    ngx_queue_insert_tail(&lr->stops, &run->stop);
    run->stop_queued = 1;

    ngx_http_runs_mark_run(af, run);

    ngx_http_runs_notify_all_locked(sh, &lr->waiters, 0, af);
}



ngx_int_t
ngx_http_runs_stop_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af)
{
    switch (run->status) {

    case NGX_HTTP_RUNS_PENDING:
        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_STOPPED,
                                        ngx_http_runs_now(), af);
        return NGX_OK;

    case NGX_HTTP_RUNS_CLAIMED:
    case NGX_HTTP_RUNS_RUNNING:
        ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_STOPPING,
                                        0, af);
        /* fall through */

    case NGX_HTTP_RUNS_STOPPING:
        ngx_http_runs_queue_stop_locked(zone->sh, run, af);
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
    ngx_http_runs_report_t *rp, ngx_http_runs_after_t *af)
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

        if (run->has_result) {
            ngx_http_runs_event_run_locked(zone->sh,
                                           NGX_HTTP_RUNS_E_RUN_RESULT, run,
                                           af);
        }
    }

    if (ev == NGX_HTTP_RUNS_EV_STARTED) {
        run->started_at = ngx_http_runs_stamp_locked(zone->sh, now);
    }

    ngx_http_runs_mark_run(af, run);

    if (next != status) {
        ngx_http_runs_set_status_locked(zone, run, next, now, af);
    }

    return NGX_HTTP_RUNS_R_DONE;
}



void
ngx_http_runs_requeue_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af)
{
    ngx_http_runs_detach_locked(run);
    run->has_launcher_id = 0;
    run->requeued = 1;          /* launcher_key still names the holder */
    run->claimed_at = 0;

    ngx_http_runs_set_status_locked(zone, run, NGX_HTTP_RUNS_PENDING, 0,
                                    af);

    /* its creation sequence number puts it ahead of every newer run */
    ngx_http_runs_make_ready_locked(zone, run->session, af);
}



/* the run leaves its launcher: the runs it holds, the stops queued */

void
ngx_http_runs_detach_locked(ngx_http_runs_run_t *run)
{
    if (run->launcher) {
        ngx_queue_remove(&run->owned);
        ngx_queue_init(&run->owned);
        run->launcher = NULL;
    }

    ngx_http_runs_unqueue_stop_locked(run);
}



void
ngx_http_runs_unqueue_stop_locked(ngx_http_runs_run_t *run)
{
    if (run->stop_queued) {
        ngx_queue_remove(&run->stop);
        ngx_queue_init(&run->stop);
        run->stop_queued = 0;
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
    ngx_http_runs_after_t  af;

    ngx_http_runs_lock(zone, &af);
    found = ngx_http_runs_create_locked(zone, cr, id, &af);
    ngx_http_runs_unlock(&af);

    return found;
}



/*
 * A run as it is, or, with "wait" and a live run, a waiter for h:
 * NGX_HTTP_RUNS_R_HOLD.  A wait refused (its cap, a full zone) answers
 * the run as it is, with *refused set.
 */

ngx_uint_t
ngx_http_runs_store_get(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h, uint64_t id,
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
        h->waiter = ngx_http_runs_waiter_new_locked(zone, lim, h, run,
                                                    refused, NULL);
        if (h->waiter) {
            found = NGX_HTTP_RUNS_R_HOLD;
            goto done;
        }
    }

    if (ngx_http_runs_snap_locked(zone->sh, run, h->pool,
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
    ngx_http_runs_after_t   af;

    st->session.data = NULL;

    ngx_http_runs_lock(zone, &af);

    run = ngx_http_runs_lookup_run_locked(zone->sh, id);

    if (run == NULL) {
        ngx_http_runs_unlock(&af);
        return NGX_HTTP_RUNS_R_NO_RUN;
    }

    st->before = run->status;
    rc = ngx_http_runs_stop_locked(zone, run, &af);
    st->after = run->status;

    st->session.len = run->session->name_len;
    st->session.data = ngx_pnalloc(pool, st->session.len);
    if (st->session.data) {
        ngx_memcpy(st->session.data, run->session->name, st->session.len);
    }

    ngx_http_runs_unlock(&af);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_RUNS_R_FINISHED;
    }

    return st->session.data ? NGX_HTTP_RUNS_R_DONE
                            : NGX_HTTP_RUNS_R_NO_MEMORY;
}



/* a launcher's report; *status: the run's status, for the answer */

ngx_uint_t
ngx_http_runs_store_report(ngx_http_runs_zone_t *zone, uint64_t lid,
    uint64_t rid, ngx_http_runs_report_t *rp, ngx_uint_t *status)
{
    ngx_uint_t                 found;
    ngx_http_runs_run_t       *run;
    ngx_http_runs_after_t      af;
    ngx_http_runs_launcher_t  *lr;

    ngx_http_runs_lock(zone, &af);

    found = ngx_http_runs_runner_call_locked(zone->sh, lid, rid, &lr, &run);

    if (found != NGX_HTTP_RUNS_R_DONE) {
        goto done;
    }

    found = ngx_http_runs_report_locked(zone, run, lr, rp, &af);
    *status = run->status;

done:

    ngx_http_runs_unlock(&af);

    return found;
}

