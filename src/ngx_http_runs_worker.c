
/*
 * The life of the zone and of the workers: the zone made or kept when
 * nginx reads its configuration, its doorbells made by the master, a
 * worker starting (waiters of dead workers dropped, its doorbell
 * listened on, its timer armed) and exiting (its own waiters dropped),
 * the doorbell's event handler, and the per-worker timer (the zone's
 * sweep, a missed doorbell, answering what an exiting worker holds).
 */


#include "ngx_http_runs.h"


static void ngx_http_runs_bell_handler(ngx_event_t *ev);
static void ngx_http_runs_timer_handler(ngx_event_t *ev);
static void ngx_http_runs_warn_resize(ngx_shm_zone_t *shm_zone);


ngx_int_t
ngx_http_runs_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_runs_zone_t  *ozone = data;

    size_t                 len;
    ngx_http_runs_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        /* reload with an unchanged zone: keep every run */
        zone->sh = ozone->sh;
        zone->shpool = ozone->shpool;

        if (zone->events != ozone->events) {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "runs_zone \"%V\" keeps its ring of %ui events: "
                          "events=%ui takes effect when the zone is made "
                          "anew (a restart, a resize)", &zone->name,
                          ozone->events, zone->events);
            zone->events = ozone->events;
        }

        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    ngx_http_runs_warn_resize(shm_zone);

    zone->sh = ngx_http_runs_store_init(zone->shpool, shm_zone->shm.size,
                                        shm_zone->shm.log);
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    /* a zone made anew is rebuilt from its journal before anything else */
    if (zone->jconf
        && ngx_http_runs_journal_open(zone, shm_zone->shm.log) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the changes event streams read: from here on (not the journal's) */
    if (ngx_http_runs_store_events_init(zone, zone->events,
                                        shm_zone->shm.log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    len = sizeof(" in runs_zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in runs_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* the module logs "zone full" itself, once per interval */
    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


/*
 * A zone of this name with another size is dropped with its runs, or,
 * with a journal, retired: the new one is made from the journal.
 */

static void
ngx_http_runs_warn_resize(ngx_shm_zone_t *shm_zone)
{
    ngx_uint_t             i;
    ngx_list_part_t       *part;
    ngx_shm_zone_t        *oshm;
    ngx_http_runs_zone_t  *zone, *ozone;

    zone = shm_zone->data;

    part = &((ngx_cycle_t *) ngx_cycle)->shared_memory.part;
    oshm = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            oshm = part->elts;
            i = 0;
        }

        if (oshm[i].tag == &ngx_http_runs_module
            && oshm[i].shm.name.len == shm_zone->shm.name.len
            && ngx_strncmp(oshm[i].shm.name.data, shm_zone->shm.name.data,
                           shm_zone->shm.name.len) == 0
            && oshm[i].shm.size != shm_zone->shm.size
            && zone->jconf)
        {
            ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                          "runs_zone \"%V\" changed size from %uz to %uz: "
                          "it is made again from its runs_journal",
                          &shm_zone->shm.name, oshm[i].shm.size,
                          shm_zone->shm.size);

            ozone = oshm[i].data;

            if (ozone && ozone->sh) {
                (void) ngx_http_runs_store_retire(ozone, shm_zone->shm.log);
            }

        } else if (oshm[i].tag == &ngx_http_runs_module
            && oshm[i].shm.name.len == shm_zone->shm.name.len
            && ngx_strncmp(oshm[i].shm.name.data, shm_zone->shm.name.data,
                           shm_zone->shm.name.len) == 0
            && oshm[i].shm.size != shm_zone->shm.size)
        {
            ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                          "runs_zone \"%V\" changed size from %uz to %uz: "
                          "it starts empty and every run it held is lost",
                          &shm_zone->shm.name, oshm[i].shm.size,
                          shm_zone->shm.size);
        }
    }
}


/* in the master: every zone's doorbells, inherited by every worker */

ngx_int_t
ngx_http_runs_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_http_runs_zone_t      **zp;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_runs_module);
    if (rmcf == NULL) {
        return NGX_OK;
    }

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {
        if (ngx_http_runs_store_bells(cycle, zp[i]) != NGX_OK) {
            return NGX_ERROR;
        }

        if (zp[i]->jconf
            && ngx_http_runs_journal_own(zp[i], cycle) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_runs_init_process(ngx_cycle_t *cycle)
{
    ngx_fd_t                    fd;
    ngx_uint_t                  i, flags;
    ngx_connection_t           *c;
    ngx_http_runs_zone_t      **zp, *zone;
    ngx_http_runs_main_conf_t  *rmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_runs_module);
    if (rmcf == NULL || rmcf->zones.nelts == 0) {
        return NGX_OK;
    }

    flags = (ngx_event_flags & NGX_USE_CLEAR_EVENT) ? NGX_CLEAR_EVENT
                                                    : NGX_LEVEL_EVENT;

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {
        zone = zp[i];

        ngx_queue_init(&zone->held);

        if (zone->jconf
            && ngx_http_runs_journal_init_worker(zone, cycle) != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* a waiter whose worker died would swallow wake-ups */
        ngx_http_runs_store_purge_waiters(zone, 0);

        fd = ngx_http_runs_store_bell_fd(zone);

        if (fd == -1) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "runs_zone \"%V\" has no doorbell for worker %ui: "
                          "held requests are woken by the 1s timer only",
                          &zone->name, ngx_worker);
            continue;
        }

        c = ngx_get_connection(fd, cycle->log);
        if (c == NULL) {
            return NGX_ERROR;
        }

        c->data = zone;
        c->read->handler = ngx_http_runs_bell_handler;
        c->read->log = cycle->log;

        if (ngx_add_event(c->read, NGX_READ_EVENT, flags) != NGX_OK) {
            ngx_free_connection(c);
            return NGX_ERROR;
        }

        zone->bell = c;
    }

    rmcf->timer.handler = ngx_http_runs_timer_handler;
    rmcf->timer.data = rmcf;
    rmcf->timer.log = cycle->log;
    rmcf->timer.cancelable = 1;

    ngx_add_timer(&rmcf->timer, NGX_HTTP_RUNS_MAINT_INTERVAL);

    return NGX_OK;
}


void
ngx_http_runs_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_connection_t           *c;
    ngx_http_runs_zone_t      **zp;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_runs_module);
    if (rmcf == NULL) {
        return;
    }

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {

        /* requests still held here end with the process: so do waiters */
        ngx_http_runs_store_purge_waiters(zp[i], 1);

        if (zp[i]->jconf) {
            ngx_http_runs_journal_exit_worker(zp[i]);
        }

        c = zp[i]->bell;

        if (c == NULL) {
            continue;
        }

        /* closes this process's copy only; the master keeps the doorbell */
        ngx_close_connection(c);
        zp[i]->bell = NULL;
    }
}


static void
ngx_http_runs_bell_handler(ngx_event_t *ev)
{
    u_char                 buf[64];
    ssize_t                n;
    ngx_connection_t      *c;
    ngx_http_runs_zone_t  *zone;

    c = ev->data;
    zone = c->data;

    for ( ;; ) {
        n = read(c->fd, buf, sizeof(buf));

        if (n > 0) {
            continue;
        }

        if (n == -1 && ngx_errno != NGX_EAGAIN) {
            ngx_log_error(NGX_LOG_ALERT, ev->log, ngx_errno,
                          "read() from runs_zone \"%V\" doorbell failed",
                          &zone->name);
        }

        break;
    }

    ngx_http_runs_held_wake(zone);
}


static void
ngx_http_runs_timer_handler(ngx_event_t *ev)
{
    ngx_uint_t                  i;
    ngx_http_runs_zone_t      **zp, *zone;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ev->data;

    zp = rmcf->zones.elts;

    for (i = 0; i < rmcf->zones.nelts; i++) {
        zone = zp[i];

        /* runner loss, claims not confirmed, retention */
        ngx_http_runs_store_maintain(zone, &rmcf->limits);

        /* a wake-up whose doorbell was missed */
        ngx_http_runs_held_wake(zone);

        if (ngx_exiting) {
            ngx_http_runs_held_finish_all(zone);
        }
    }

    if (!ngx_exiting) {
        ngx_add_timer(ev, NGX_HTTP_RUNS_MAINT_INTERVAL);
    }
}
