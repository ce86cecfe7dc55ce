
/*
 * A critical section's way in and out, and what it leaves for after the
 * lock (ngx_http_runs_after_t): the doorbells to ring, the log lines to
 * write, and, with a journal, the records it changed.  Every change goes
 * through ngx_http_runs_lock() and ngx_http_runs_unlock(): the records
 * are written into this worker's journal buffer before the lock is
 * released (in the order the lock gave), the log lines after it; the
 * doorbells ring at once, or, in the journal's strict mode, once the
 * records are on disk, so that nothing is woken or answered before the
 * change that caused it is durable.
 */


#include "ngx_http_runs_zone.h"


void
ngx_http_runs_lock(ngx_http_runs_zone_t *zone, ngx_http_runs_after_t *af)
{
    af->zone = zone;
    af->bells = 0;
    af->nlines = 0;
    af->nobj = 0;

    ngx_shmtx_lock(&zone->shpool->mutex);

    zone->after = af;
}


/*
 * Notes a log line for after the lock: formatted now, into the record,
 * written by ngx_http_runs_unlock().
 */

void
ngx_http_runs_after_log(ngx_http_runs_after_t *af, ngx_uint_t level,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    if (af->nlines++ >= NGX_HTTP_RUNS_AFTER_LINES) {
        return;
    }

    p = af->line[af->nlines - 1].text;

    va_start(args, fmt);
    p = ngx_vslprintf(p, p + NGX_HTTP_RUNS_AFTER_LINE, fmt, args);
    va_end(args);

    af->line[af->nlines - 1].level = level;
    af->line[af->nlines - 1].len = p - af->line[af->nlines - 1].text;
}


/*
 * Notes a record the change touched, for the journal: its state is
 * written when the lock is released, once however often it was touched.
 */

void
ngx_http_runs_after_mark(ngx_http_runs_after_t *af, ngx_uint_t type,
    uint64_t key)
{
    ngx_uint_t  i;

    if (af->zone->journal == NULL) {
        return;
    }

    for (i = 0; i < af->nobj; i++) {
        if (af->obj[i].key == key && af->obj[i].type == type) {
            return;
        }
    }

    if (af->nobj == NGX_HTTP_RUNS_AFTER_OBJECTS) {
        /* a large change: what it touched so far is written now */
        ngx_http_runs_journal_write_locked(af);
        af->nobj = 0;
    }

    af->obj[af->nobj].type = type;
    af->obj[af->nobj].key = key;
    af->nobj++;
}


/*
 * The one way out of a critical section: the change's records go to the
 * journal's buffer, the lock is released, then its log lines are written
 * and its doorbells rung (strict: held with the records until they are on
 * disk).
 */

void
ngx_http_runs_unlock(ngx_http_runs_after_t *af)
{
    ngx_uint_t               i, staged;
    ngx_http_runs_zone_t    *zone;
    ngx_http_runs_jstage_t  *js;

    zone = af->zone;
    js = zone->journal;
    staged = 0;

    if (af->nobj) {
        staged = ngx_http_runs_journal_write_locked(af);
    }

    zone->after = NULL;

    ngx_shmtx_unlock(&zone->shpool->mutex);

    for (i = 0; i < ngx_min(af->nlines, NGX_HTTP_RUNS_AFTER_LINES); i++) {
        ngx_log_error(af->line[i].level, ngx_cycle->log, 0, "%*s",
                      af->line[i].len, af->line[i].text);
    }

    if (af->nlines > NGX_HTTP_RUNS_AFTER_LINES) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "runs_zone \"%V\": %ui more lines of one change not "
                      "logged", &zone->name,
                      af->nlines - NGX_HTTP_RUNS_AFTER_LINES);
    }

    if (!staged) {
        ngx_http_runs_store_ring(zone, af->bells);
        return;
    }

    if (js->strict) {
        js->bells |= af->bells;

    } else {
        ngx_http_runs_store_ring(zone, af->bells);
    }

    js->kick(js);
}
