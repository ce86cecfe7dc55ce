
/*
 * Event streams read the ring of changes (ngx_http_runs_store_ering.c
 * puts them in it): a stream reads from its position (the id of the last
 * change it was sent), sees the changes its filters and scope let it
 * see, and waits for the next when it has read them all; one whose
 * position is no longer in the ring is told to start again
 * (NGX_HTTP_RUNS_R_RESET).
 */


#include "ngx_http_runs_zone.h"


#define NGX_HTTP_RUNS_EVENTS_SCAN  1024     /* changes looked at per read */


static ngx_uint_t ngx_http_runs_event_visible(ngx_http_runs_zevent_t *ev,
    ngx_http_runs_efilter_t *f);


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
