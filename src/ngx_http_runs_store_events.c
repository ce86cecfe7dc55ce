
/*
 * The changes event streams are told (GET /events): a ring of fixed-size
 * records in the zone, each a change's kind and the ids of what changed,
 * numbered zone-wide.  A change is put in the ring in the critical
 * section that makes it, so the ring's order is the lock's; the streams
 * that have read every change wait in sh->event_waiters and are all
 * woken by the next one (and leave that queue until they read again, so
 * a burst of changes walks them once).  A stream reads from its position
 * (the id of the last change it was sent); one whose position is no
 * longer in the ring is told to start again (NGX_HTTP_RUNS_R_RESET).
 *
 * Ids go on from the microseconds since the epoch when the zone was
 * made: a zone made anew (a start, a resize) numbers after the one
 * before, so a stream that reconnects with an id of the old zone is told
 * to start again rather than given a wrong tail.
 */


#include "ngx_http_runs_zone.h"


#define NGX_HTTP_RUNS_EVENTS_SCAN  1024     /* changes looked at per read */


static void ngx_http_runs_event_put_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_zevent_t *ev, ngx_http_runs_after_t *af);
static ngx_uint_t ngx_http_runs_event_visible(ngx_http_runs_zevent_t *ev,
    ngx_http_runs_efilter_t *f);


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
    ngx_http_runs_zevent_t    ev;
    ngx_http_runs_session_t  *sess;

    if (sh->nevents == 0) {
        return;
    }

    sess = run->session;

    ev.type = (u_char) type;
    ev.status = (u_char) run->status;
    ev.has = NGX_HTTP_RUNS_EH_RUN | NGX_HTTP_RUNS_EH_SESSION;
    ev.run = run->id;
    ngx_http_runs_session_sid(sh, sess, ev.sid);
    ev.launcher = 0;

    if (run->has_launcher_id) {
        ev.launcher = run->launcher_key;
        ev.has |= NGX_HTTP_RUNS_EH_LAUNCHER;
    }

    ev.scope[0] = sess->scope[0];
    ev.scope[1] = sess->scope[1];

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

    ev.type = (u_char) type;
    ev.status = 0;
    ev.has = NGX_HTTP_RUNS_EH_SESSION;
    ev.run = 0;
    ngx_http_runs_session_sid(sh, sess, ev.sid);
    ev.launcher = 0;
    ev.scope[0] = sess->scope[0];
    ev.scope[1] = sess->scope[1];

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

    ev.type = (u_char) type;
    ev.status = 0;
    ev.has = NGX_HTTP_RUNS_EH_LAUNCHER;
    ev.run = 0;
    ev.sid[0] = 0;
    ev.sid[1] = 0;
    ev.launcher = lr->node.key;
    ev.scope[0] = lr->scope[0];
    ev.scope[1] = lr->scope[1];

    ngx_http_runs_event_put_locked(sh, &ev, af);
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

    if (!ngx_queue_empty(&sh->event_waiters)) {
        ngx_http_runs_notify_all_locked(sh, &sh->event_waiters, 1, af);
    }
}


/*
 * A stream reads the changes after *pos it may see, at most "max" of
 * them (and looks at NGX_HTTP_RUNS_EVENTS_SCAN at most); *pos is moved
 * past every change looked at.  NGX_HTTP_RUNS_R_DONE: there may be more;
 * NGX_HTTP_RUNS_R_HOLD: none is left, the stream's waiter waits for the
 * next (made on the first read: a cap may refuse it,
 * NGX_HTTP_RUNS_R_REFUSED); NGX_HTTP_RUNS_R_RESET: *pos was not in the
 * ring, it is the newest change's now and nothing is read.
 */

ngx_uint_t
ngx_http_runs_store_events_read(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h,
    ngx_http_runs_efilter_t *f, uint64_t *pos, ngx_http_runs_event_t *out,
    ngx_uint_t max, ngx_uint_t *n, ngx_uint_t *refused)
{
    uint64_t                 oldest, id, last;
    ngx_uint_t               found;
    ngx_http_runs_after_t    af;
    ngx_http_runs_shctx_t   *sh;
    ngx_http_runs_zevent_t  *ev;
    ngx_http_runs_waiter_t  *w;

    sh = zone->sh;
    *n = 0;
    found = NGX_HTTP_RUNS_R_DONE;

    ngx_http_runs_lock(zone, &af);

    if (h->waiter == NULL) {
        h->waiter = ngx_http_runs_waiter_new_locked(zone, lim, h, sh, refused,
                                                    &af);
        if (h->waiter == NULL) {
            found = NGX_HTTP_RUNS_R_REFUSED;
            goto done;
        }
    }

    oldest = sh->event_first;

    if (sh->event_next - sh->event_first > sh->nevents) {
        oldest = sh->event_next - sh->nevents;
    }

    if (*pos == NGX_HTTP_RUNS_EV_NOW) {
        *pos = sh->event_next - 1;

    } else if (*pos + 1 < oldest || *pos >= sh->event_next) {
        *pos = sh->event_next - 1;
        found = NGX_HTTP_RUNS_R_RESET;
        goto done;
    }

    last = ngx_min(sh->event_next, *pos + 1 + NGX_HTTP_RUNS_EVENTS_SCAN);

    for (id = *pos + 1; id < last && *n < max; id++) {
        ev = &sh->events[id % sh->nevents];

        if (!ngx_http_runs_event_visible(ev, f)) {
            continue;
        }

        out[*n].id = ev->id;
        out[*n].at = ev->at;
        out[*n].run = ev->run;
        out[*n].sid[0] = ev->sid[0];
        out[*n].sid[1] = ev->sid[1];
        out[*n].launcher = ev->launcher;
        out[*n].type = ev->type;
        out[*n].status = ev->status;
        out[*n].has = ev->has;
        out[*n].name_len = 0;

        if (ev->has & NGX_HTTP_RUNS_EH_AGENT) {
            out[*n].name_len = ev->name_len;
            ngx_memcpy(out[*n].name, ev->name, ev->name_len);
        }

        (*n)++;
    }

    *pos = id - 1;

    if (id < sh->event_next) {
        goto done;
    }

    /* every change is read: the next one wakes this stream */

    w = h->waiter;

    ngx_http_runs_waiter_rearm_locked(sh, w);

    if (w->target == NULL) {
        ngx_queue_insert_tail(&sh->event_waiters, &w->link);
        w->target = sh;
    }

    found = NGX_HTTP_RUNS_R_HOLD;

done:

    ngx_http_runs_unlock(&af);

    return found;
}


/* whether a stream sees a change: its filters, its scope */

static ngx_uint_t
ngx_http_runs_event_visible(ngx_http_runs_zevent_t *ev,
    ngx_http_runs_efilter_t *f)
{
    if (f->by_run
        && (!(ev->has & NGX_HTTP_RUNS_EH_RUN) || ev->run != f->run))
    {
        return 0;
    }

    if (f->by_session
        && (!(ev->has & NGX_HTTP_RUNS_EH_SESSION)
            || ev->sid[0] != f->sid[0] || ev->sid[1] != f->sid[1]))
    {
        return 0;
    }

    if (f->scope == NULL || (ev->has & NGX_HTTP_RUNS_EH_AGENT)) {
        return 1;
    }

    if (ev->scope[0] == f->scope[0] && ev->scope[1] == f->scope[1]) {
        return 1;
    }

    /* a runner of every scope serves this one too */
    return (ev->has & NGX_HTTP_RUNS_EH_LAUNCHER)
           && !(ev->has & NGX_HTTP_RUNS_EH_SESSION)
           && !(ev->has & NGX_HTTP_RUNS_EH_SCOPED);
}


/* runs_zone's events= is checked with this size */
typedef char ngx_http_runs_event_size_check[
    sizeof(ngx_http_runs_zevent_t) == NGX_HTTP_RUNS_EVENT_SIZE ? 1 : -1];
