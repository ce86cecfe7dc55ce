
/*
 * The ring of changes event streams are told (GET /events; they read it
 * in ngx_http_runs_store_events.c): fixed-size records in the zone, each
 * a change's kind and the ids of what changed, numbered zone-wide.  A
 * change is put in the ring in the critical section that makes it, so
 * the ring's order is the lock's; the streams that have read every
 * change wait in sh->event_waiters and are all woken by the next one
 * (and leave that queue until they read again, so a burst of changes
 * walks them once).
 *
 * Ids go on from the microseconds since the epoch when the zone was
 * made: a zone made anew (a start, a resize) numbers after the one
 * before, so a stream that reconnects with an id of the old zone is told
 * to start again rather than given a wrong tail.
 */


#include "ngx_http_runs_zone.h"


static void ngx_http_runs_event_put_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_zevent_t *ev, ngx_http_runs_after_t *af);
static void ngx_http_runs_event_session_ids(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, ngx_http_runs_zevent_t *ev);


/* the ring, made with a zone made anew (after its journal is read) */

ngx_int_t
ngx_http_runs_store_events_init(ngx_http_runs_zone_t *zone, ngx_uint_t n,
    ngx_log_t *log)
{
    struct timeval          tv;
    ngx_http_runs_shctx_t  *sh;

    sh = zone->sh;

    ngx_queue_init(&sh->event_waiters);

    ngx_gettimeofday(&tv);

    sh->event_first = (uint64_t) tv.tv_sec * 1000000 + tv.tv_usec;
    sh->event_next = sh->event_first;

    sh->events = ngx_slab_calloc(zone->shpool,
                                 n * sizeof(ngx_http_runs_zevent_t));
    if (sh->events == NULL) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "runs_zone \"%V\" has no room for a ring of %ui "
                      "events (%uz bytes): enlarge it or lower events=",
                      &zone->name, n, n * sizeof(ngx_http_runs_zevent_t));
        return NGX_ERROR;
    }

    sh->nevents = n;

    return NGX_OK;
}


void
ngx_http_runs_event_run_locked(ngx_http_runs_shctx_t *sh, ngx_uint_t type,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af)
{
    ngx_http_runs_zevent_t  ev;

    if (sh->nevents == 0) {
        return;
    }

    ngx_memzero(&ev, sizeof(ngx_http_runs_zevent_t));

    ev.type = (u_char) type;
    ev.status = (u_char) run->status;
    ev.has = NGX_HTTP_RUNS_EH_RUN;
    ev.run = run->id;
    ngx_http_runs_event_session_ids(sh, run->session, &ev);

    if (run->has_launcher_id) {
        ev.launcher = run->launcher_key;
        ev.has |= NGX_HTTP_RUNS_EH_LAUNCHER;
    }

    ngx_http_runs_event_put_locked(sh, &ev, af);
}


void
ngx_http_runs_event_session_locked(ngx_http_runs_shctx_t *sh,
    ngx_uint_t type, ngx_http_runs_session_t *sess, ngx_http_runs_after_t *af)
{
    ngx_http_runs_zevent_t  ev;

    if (sh->nevents == 0) {
        return;
    }

    ngx_memzero(&ev, sizeof(ngx_http_runs_zevent_t));

    ev.type = (u_char) type;
    ngx_http_runs_event_session_ids(sh, sess, &ev);

    ngx_http_runs_event_put_locked(sh, &ev, af);
}


void
ngx_http_runs_event_launcher_locked(ngx_http_runs_shctx_t *sh,
    ngx_uint_t type, ngx_http_runs_launcher_t *lr, ngx_http_runs_after_t *af)
{
    ngx_http_runs_zevent_t  ev;

    if (sh->nevents == 0) {
        return;
    }

    ngx_memzero(&ev, sizeof(ngx_http_runs_zevent_t));

    ev.type = (u_char) type;
    ev.has = NGX_HTTP_RUNS_EH_LAUNCHER;
    ev.launcher = lr->node.key;
    ev.scope[0] = lr->scope[0];
    ev.scope[1] = lr->scope[1];

    ngx_http_runs_event_put_locked(sh, &ev, af);
}


/* a change's session: its id and its scope */

static void
ngx_http_runs_event_session_ids(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, ngx_http_runs_zevent_t *ev)
{
    ev->has |= NGX_HTTP_RUNS_EH_SESSION;
    ngx_http_runs_session_sid(sh, sess, ev->sid);
    ev->scope[0] = sess->scope[0];
    ev->scope[1] = sess->scope[1];
}


/*
 * A change to the blueprint registry: the blueprint's name and status
 * after it; every stream sees it (the registry is of no scope), but those
 * that follow a run or a session
 */

void
ngx_http_runs_event_agent_locked(ngx_http_runs_shctx_t *sh, ngx_uint_t type,
    ngx_str_t *name, ngx_uint_t inactive, ngx_http_runs_after_t *af)
{
    ngx_http_runs_zevent_t  ev;

    if (sh->nevents == 0) {
        return;
    }

    ngx_memzero(&ev, sizeof(ngx_http_runs_zevent_t));

    ev.type = (u_char) type;
    ev.has = NGX_HTTP_RUNS_EH_AGENT;

    if (inactive) {
        ev.has |= NGX_HTTP_RUNS_EH_INACTIVE;
    }

    ev.name_len = (u_char) ngx_min(name->len, NGX_HTTP_RUNS_NAME_MAX);
    ngx_memcpy(ev.name, name->data, ev.name_len);

    ngx_http_runs_event_put_locked(sh, &ev, af);
}


/* numbers the change, puts it in the ring and wakes the streams waiting */

static void
ngx_http_runs_event_put_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_zevent_t *ev, ngx_http_runs_after_t *af)
{
    if (ev->scope[0] || ev->scope[1]) {
        ev->has |= NGX_HTTP_RUNS_EH_SCOPED;
    }

    ev->id = sh->event_next++;
    ev->at = ngx_http_runs_now();

    sh->events[ev->id % sh->nevents] = *ev;
    sh->events_total++;

    /*
     * without a critical section's record (a change made outside one)
     * nothing would ring their doorbells: the streams stay where they
     * are, and read this change with the next
     */
    if (af && !ngx_queue_empty(&sh->event_waiters)) {
        ngx_http_runs_notify_all_locked(sh, &sh->event_waiters, 1, af);
    }
}


/* runs_zone's events= is checked with this size */
typedef char ngx_http_runs_event_size_check[
    sizeof(ngx_http_runs_zevent_t) == NGX_HTTP_RUNS_EVENT_SIZE ? 1 : -1];
