
/*
 * The journal, the worker's side (docs/adr/0011-journal.md): the file
 * made or read when the zone is made (the zone rebuilt from it), and in
 * each worker two buffers that a change's records are written into under
 * the lock (ngx_http_runs_store_journal.c).  One write at a time per
 * worker: a thread of nginx's pool appends the filled buffer to the file
 * (O_APPEND) and, in the strict mode, makes it durable (fdatasync) while
 * the other buffer fills: every change staged during the write goes out
 * with the next one (group commit).  In the strict mode an answer that
 * reports a change is held until the change is on disk, and so are the
 * doorbells it rang; the relaxed mode answers at once and writes every
 * "interval".
 */


#include "ngx_http_runs.h"

#include <libgen.h>


static ngx_int_t ngx_http_runs_journal_create(ngx_http_runs_journal_t *j,
    ngx_log_t *log);
static void ngx_http_runs_journal_kick(ngx_http_runs_jstage_t *js);
static void ngx_http_runs_journal_flush(ngx_event_t *ev);
static void ngx_http_runs_journal_tick(ngx_event_t *ev);
#if (NGX_THREADS)
static void ngx_http_runs_journal_thread(void *data, ngx_log_t *log);
static void ngx_http_runs_journal_written(ngx_event_t *ev);
#endif
static void ngx_http_runs_journal_resume(ngx_http_runs_journal_t *j);
static ngx_int_t ngx_http_runs_journal_write_all(ngx_fd_t fd, u_char *p,
    size_t len, ngx_uint_t sync);


/* a task's data: what one write takes */
typedef struct {
    ngx_http_runs_journal_t    *journal;
} ngx_http_runs_jtask_t;


/* "nginx -t": the journal's directory must be there and writable */

char *
ngx_http_runs_journal_check(ngx_conf_t *cf, ngx_http_runs_journal_t *j)
{
    u_char  *dir;

    dir = ngx_pnalloc(cf->pool, j->path.len + 1);
    if (dir == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(dir, j->path.data, j->path.len + 1);
    dir = (u_char *) dirname((char *) dir);

    if (access((char *) dir, W_OK|X_OK) == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"runs_journal\" directory \"%s\" of \"%V\" is "
                           "not usable", dir, &j->path);
        return NGX_CONF_ERROR;
    }

    if (access((char *) j->path.data, F_OK) == 0
        && access((char *) j->path.data, R_OK|W_OK) == -1)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "\"runs_journal\" file \"%V\" is not readable "
                           "and writable", &j->path);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * In the master, when the zone is made: an existing journal rebuilds it
 * (a torn last record is cut off the file), a missing one is made with
 * the zone's keys.
 */

ngx_int_t
ngx_http_runs_journal_open(ngx_http_runs_zone_t *zone, ngx_log_t *log)
{
    u_char                   *data;
    size_t                    valid;
    ssize_t                   n;
    ngx_fd_t                  fd;
    ngx_int_t                 rc;
    ngx_file_info_t           fi;
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;

    fd = ngx_open_file(j->path.data, NGX_FILE_RDWR, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE && ngx_errno == NGX_ENOENT) {
        return ngx_http_runs_journal_create(j, log);
    }

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", &j->path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      ngx_fd_info_n " \"%V\" failed", &j->path);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    if (ngx_file_size(&fi) == 0) {
        ngx_close_file(fd);
        return ngx_http_runs_journal_create(j, log);
    }

    data = ngx_alloc(ngx_file_size(&fi), log);
    if (data == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, data, ngx_file_size(&fi));

    if (n != (ssize_t) ngx_file_size(&fi)) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      ngx_read_fd_n " \"%V\" failed", &j->path);
        ngx_free(data);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    rc = ngx_http_runs_store_replay(zone, data, n, log, &valid);

    ngx_free(data);

    if (rc == NGX_OK && valid < (size_t) n) {
        /* the torn record goes, so the next records follow good ones */
        if (ftruncate(fd, valid) == -1 || fsync(fd) == -1) {
            ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                          "cutting the torn end of \"%V\" failed",
                          &j->path);
            rc = NGX_ERROR;
        }
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "runs_zone \"%V\" is not started from \"%V\" "
                      "(docs/JOURNAL.md says what to do)", &zone->name,
                      &j->path);
    }

    ngx_close_file(fd);

    return rc == NGX_OK ? NGX_OK : NGX_ERROR;
}


static ngx_int_t
ngx_http_runs_journal_create(ngx_http_runs_journal_t *j, ngx_log_t *log)
{
    u_char     header[NGX_HTTP_RUNS_J_HEADER];
    ngx_fd_t   fd;
    ngx_int_t  rc;

    ngx_http_runs_store_journal_header(j->zone, header);

    fd = ngx_open_file(j->path.data, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", &j->path);
        return NGX_ERROR;
    }

    rc = ngx_http_runs_journal_write_all(fd, header, sizeof(header), 1);

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "writing \"%V\" failed", &j->path);
    }

    ngx_close_file(fd);

    return rc;
}


/* in the master: the workers' user must be able to append to the file */

ngx_int_t
ngx_http_runs_journal_own(ngx_http_runs_zone_t *zone, ngx_cycle_t *cycle)
{
    ngx_core_conf_t          *ccf;
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;
    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() != 0 || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return NGX_OK;
    }

    if (chown((char *) j->path.data, ccf->user, -1) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "chown(\"%V\", %d) failed", &j->path, ccf->user);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* in a worker: the file to append to, the buffers, the timer */

ngx_int_t
ngx_http_runs_journal_init_worker(ngx_http_runs_zone_t *zone,
    ngx_cycle_t *cycle)
{
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;

    j->fd = ngx_open_file(j->path.data, NGX_FILE_APPEND, NGX_FILE_CREATE_OR_OPEN,
                          NGX_FILE_DEFAULT_ACCESS);
    if (j->fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", &j->path);
        return NGX_ERROR;
    }

    j->buf[0] = ngx_alloc(j->size, cycle->log);
    j->buf[1] = ngx_alloc(j->size, cycle->log);

    if (j->buf[0] == NULL || j->buf[1] == NULL) {
        return NGX_ERROR;
    }

    j->active = 0;
    j->stage.pos = j->buf[0];
    j->stage.end = j->buf[0] + j->size;
    j->stage.kick = ngx_http_runs_journal_kick;
    j->log = cycle->log;
    ngx_queue_init(&j->waiting);

    j->flush.handler = ngx_http_runs_journal_flush;
    j->flush.data = j;
    j->flush.log = cycle->log;

    j->tick.handler = ngx_http_runs_journal_tick;
    j->tick.data = j;
    j->tick.log = cycle->log;
    j->tick.cancelable = 1;

    if (!j->stage.strict) {
        ngx_add_timer(&j->tick, j->interval);
    }

    zone->journal = &j->stage;

    return NGX_OK;
}


/* at a worker's exit: what is staged is written before it goes */

void
ngx_http_runs_journal_exit_worker(ngx_http_runs_zone_t *zone)
{
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;

    if (zone->journal == NULL || j->writing) {
        return;
    }

    if (j->stage.pos > j->buf[j->active]) {
        (void) ngx_http_runs_journal_write_all(j->fd, j->buf[j->active],
                                               j->stage.pos
                                               - j->buf[j->active], 1);
    }

    zone->journal = NULL;
}


/* a change was staged: the write begins once this turn of events ends */

static void
ngx_http_runs_journal_kick(ngx_http_runs_jstage_t *js)
{
    ngx_http_runs_journal_t  *j = (ngx_http_runs_journal_t *) js;

    if (js->strict || js->pos - j->buf[j->active] > (off_t) j->size / 2) {
        if (!j->flush.posted) {
            ngx_post_event(&j->flush, &ngx_posted_events);
        }
    }
}


static void
ngx_http_runs_journal_tick(ngx_event_t *ev)
{
    ngx_http_runs_journal_t  *j = ev->data;

    ngx_http_runs_journal_flush(&j->flush);

    if (!ngx_exiting) {
        ngx_add_timer(ev, j->interval);
    }
}


/* hands the filled buffer to a thread; the other one fills meanwhile */

static void
ngx_http_runs_journal_flush(ngx_event_t *ev)
{
    ngx_http_runs_journal_t  *j = ev->data;

#if (NGX_THREADS)
    ngx_http_runs_jtask_t    *t;
#endif

    if (j->writing || j->stage.pos == j->buf[j->active]) {
        return;
    }

    j->wbuf = j->buf[j->active];
    j->wlen = j->stage.pos - j->buf[j->active];
    j->wtarget = j->stage.staged;
    j->wbells = j->stage.bells;
    j->stage.bells = 0;

    j->active ^= 1;
    j->stage.pos = j->buf[j->active];
    j->stage.end = j->buf[j->active] + j->size;

    j->writing = 1;

#if (NGX_THREADS)

    if (j->task == NULL) {
        j->task = ngx_thread_task_alloc(ngx_cycle->pool,
                                        sizeof(ngx_http_runs_jtask_t));
        if (j->task == NULL) {
            j->writing = 0;
            return;
        }

        j->task->handler = ngx_http_runs_journal_thread;
        j->task->event.handler = ngx_http_runs_journal_written;
        j->task->event.data = j;
        j->task->event.log = j->log;
    }

    t = j->task->ctx;
    t->journal = j;

    if (ngx_thread_task_post(j->pool, j->task) == NGX_OK) {
        return;
    }

#endif

    /* no thread to hand it to: written here */
    j->werr = ngx_http_runs_journal_write_all(j->fd, j->wbuf, j->wlen,
                                              j->stage.strict)
              == NGX_OK ? 0 : ngx_errno;
    j->writing = 0;
    ngx_http_runs_journal_resume(j);
}


#if (NGX_THREADS)

/* in a thread of nginx's pool: the buffer appended, made durable */

static void
ngx_http_runs_journal_thread(void *data, ngx_log_t *log)
{
    ngx_http_runs_jtask_t    *t = data;
    ngx_http_runs_journal_t  *j;

    j = t->journal;

    j->werr = ngx_http_runs_journal_write_all(j->fd, j->wbuf, j->wlen,
                                              j->stage.strict)
              == NGX_OK ? 0 : ngx_errno;
}


/* back in the worker's event loop */

static void
ngx_http_runs_journal_written(ngx_event_t *ev)
{
    ngx_http_runs_journal_t  *j = ev->data;

    j->writing = 0;
    ngx_http_runs_journal_resume(j);
}

#endif


/*
 * A write ended: the changes it carried are on disk (or not: their
 * answers say so), their doorbells ring, their answers go; the next
 * write starts if changes were staged meanwhile.
 */

static void
ngx_http_runs_journal_resume(ngx_http_runs_journal_t *j)
{
    ngx_queue_t          *q, *next;
    ngx_http_runs_ctx_t  *ctx;

    if (j->werr) {
        if (ngx_time() - j->err_logged >= 10) {
            ngx_log_error(NGX_LOG_ERR, j->log, j->werr,
                          "writing the runs_journal \"%V\" failed: changes "
                          "of runs_zone \"%V\" are answered 503",
                          &j->path, &j->zone->name);
            j->err_logged = ngx_time();
        }

        j->failed = 1;

    } else {
        j->failed = 0;
        j->synced = j->wtarget;
    }

    ngx_http_runs_store_ring(j->zone, j->wbells);

    for (q = ngx_queue_head(&j->waiting);
         q != ngx_queue_sentinel(&j->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_http_runs_hold_ctx(ngx_queue_data(q, ngx_http_runs_hold_t,
                                                    queue));

        if (ctx->jtarget <= j->wtarget) {
            ctx->jfailed = j->werr ? 1 : 0;
            ngx_http_runs_release(ctx);
            ctx->held->answer(ctx);
        }
    }

    if (j->stage.pos > j->buf[j->active] && !j->flush.posted
        && (j->stage.strict || ngx_exiting))
    {
        ngx_post_event(&j->flush, &ngx_posted_events);
    }
}


static ngx_int_t
ngx_http_runs_journal_write_all(ngx_fd_t fd, u_char *p, size_t len,
    ngx_uint_t sync)
{
    ssize_t  n;

    while (len) {
        n = write(fd, p, len);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            return NGX_ERROR;
        }

        p += n;
        len -= n;
    }

    if (sync && fdatasync(fd) == -1) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Whether a request's answer waits for the journal: in the strict mode,
 * when changes were staged in this worker since the request began that
 * are not yet on disk.  Then it is held (its answer kept in ctx) and
 * NGX_DONE returned.
 */

ngx_int_t
ngx_http_runs_journal_defer(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx)
{
    ngx_pool_cleanup_t       *cln;
    ngx_http_runs_journal_t  *j;

    if (ctx == NULL || ctx->jsending || ctx->zone == NULL
        || ctx->zone->journal == NULL)
    {
        return NGX_DECLINED;
    }

    j = ctx->zone->jconf;

    if (!j->stage.strict || j->stage.staged == ctx->jmark
        || (j->synced >= j->stage.staged && !j->failed))
    {
        return NGX_DECLINED;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ctx->jtarget = j->stage.staged;

    (void) ngx_http_runs_hold(r, ctx, &ngx_http_runs_held_journal, cln, 0);

    /* waits on the journal, not for a doorbell */
    ngx_queue_remove(&ctx->hold.queue);
    ngx_queue_insert_tail(&j->waiting, &ctx->hold.queue);

    if (!j->writing && !j->flush.posted) {
        ngx_post_event(&j->flush, &ngx_posted_events);
    }

    return NGX_DONE;
}
