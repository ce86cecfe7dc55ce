
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


/* the file's pages read in one go, not one fault at a time */
#ifdef MAP_POPULATE
#define NGX_HTTP_RUNS_MAP_POPULATE  MAP_POPULATE
#else
#define NGX_HTTP_RUNS_MAP_POPULATE  0
#endif


static ngx_int_t ngx_http_runs_journal_create(ngx_http_runs_journal_t *j,
    ngx_log_t *log);
static ngx_int_t ngx_http_runs_journal_upgrade(ngx_http_runs_journal_t *j,
    ngx_fd_t fd, ngx_str_t *image, ngx_log_t *log);
static ngx_int_t ngx_http_runs_journal_read(ngx_str_t *path,
    ngx_str_t *image, ngx_fd_t *fdp, ngx_log_t *log);
static void ngx_http_runs_journal_kick(ngx_http_runs_jstage_t *js);
static void ngx_http_runs_journal_flush(ngx_event_t *ev);
static void ngx_http_runs_journal_tick(ngx_event_t *ev);
#if (NGX_THREADS)
static void ngx_http_runs_journal_thread(void *data, ngx_log_t *log);
static void ngx_http_runs_journal_written(ngx_event_t *ev);
#endif
static void ngx_http_runs_journal_post(ngx_http_runs_journal_t *j,
    ngx_http_runs_jwrite_t *w);
static ngx_int_t ngx_http_runs_journal_take(ngx_http_runs_journal_t *j,
    ngx_http_runs_jwrite_t *w);
static ngx_int_t ngx_http_runs_journal_grow(ngx_http_runs_journal_t *j,
    size_t need);
static void ngx_http_runs_journal_resume(ngx_http_runs_journal_t *j);
static void ngx_http_runs_journal_failed(ngx_http_runs_journal_t *j,
    ngx_http_runs_jwrite_t *w);
static ngx_int_t ngx_http_runs_journal_write_all(ngx_fd_t fd, u_char *p,
    size_t len, ngx_uint_t sync);
static void ngx_http_runs_journal_maybe_compact(ngx_http_runs_journal_t *j);
static void ngx_http_runs_journal_force(ngx_event_t *ev);


/* a task's data: the write, or the compaction's journal */
typedef struct {
    ngx_http_runs_jwrite_t     *write;
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
    size_t                    valid[2];
    ngx_fd_t                  fd;
    ngx_int_t                 rc;
    ngx_str_t                 image[2];
    ngx_uint_t                n;
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;

    rc = ngx_http_runs_journal_read(&j->path, &image[0],
                                    ngx_test_config ? NULL : &fd, log);

    if (rc == NGX_DECLINED) {
        /* none yet, or empty ("nginx -t" changes nothing) */
        return ngx_test_config ? NGX_OK : ngx_http_runs_journal_create(j, log);
    }

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    /* a compaction cut short left the file it replaced */
    n = 1;

    switch (ngx_http_runs_journal_read(&j->old, &image[1], NULL, log)) {

    case NGX_OK:
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "\"%V\" is there: a rewrite of the runs_journal was "
                      "cut short, both are read", &j->old);
        n = 2;
        break;

    case NGX_DECLINED:
        break;

    default:
        rc = NGX_ERROR;
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_store_replay(zone, image, n, log, valid);
    }

    if (rc == NGX_OK && valid[0] < image[0].len && !ngx_test_config) {
        /* the torn record goes, so the next records follow good ones */
        if (ftruncate(fd, valid[0]) == -1 || fsync(fd) == -1) {
            ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                          "cutting the torn end of \"%V\" failed",
                          &j->path);
            rc = NGX_ERROR;
        }
    }

    if (rc == NGX_OK && !ngx_test_config) {
        rc = ngx_http_runs_journal_upgrade(j, fd, &image[0], log);
    }

    (void) munmap(image[0].data, image[0].len);

    if (n == 2) {
        (void) munmap(image[1].data, image[1].len);
    }

    if (!ngx_test_config) {
        ngx_close_file(fd);
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_EMERG, log, 0,
                      "runs_zone \"%V\" is not started from \"%V\" "
                      "(docs/JOURNAL.md says what to do)", &zone->name,
                      &j->path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A file of format 1 (written before routing) is format 2 without
 * demands, tags or hosts, and one of format 2 is format 3 without
 * blueprints: read as it is, it says the current format from now on, as
 * the records appended to it are (an older module refuses it, by its
 * header, instead of misreading them).
 */

static ngx_int_t
ngx_http_runs_journal_upgrade(ngx_http_runs_journal_t *j, ngx_fd_t fd,
    ngx_str_t *image, ngx_log_t *log)
{
    uint32_t  v;

    ngx_memcpy(&v, image->data + 8, sizeof(uint32_t));

    if (v == NGX_HTTP_RUNS_J_VERSION) {
        return NGX_OK;
    }

    v = NGX_HTTP_RUNS_J_VERSION;

    if (pwrite(fd, &v, sizeof(uint32_t), 8) != (ssize_t) sizeof(uint32_t)
        || fsync(fd) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "writing the format of \"%V\" failed", &j->path);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "\"%V\" is now of format %d", &j->path,
                  NGX_HTTP_RUNS_J_VERSION);

    return NGX_OK;
}


/*
 * A journal file's contents: NGX_DECLINED when there is none (or it is
 * empty); fd, when asked for, is left open for writing.
 */

static ngx_int_t
ngx_http_runs_journal_read(ngx_str_t *path, ngx_str_t *image, ngx_fd_t *fdp,
    ngx_log_t *log)
{
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    fd = ngx_open_file(path->data, fdp ? NGX_FILE_RDWR : NGX_FILE_RDONLY,
                       NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        if (ngx_errno == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed", path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      ngx_fd_info_n " \"%V\" failed", path);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    if (ngx_file_size(&fi) == 0) {
        ngx_close_file(fd);
        return NGX_DECLINED;
    }

    /* mapped, not copied: a journal of a million runs is 300 MB */
    image->len = ngx_file_size(&fi);
    image->data = mmap(NULL, image->len, PROT_READ,
                       MAP_PRIVATE|NGX_HTTP_RUNS_MAP_POPULATE, fd, 0);

    if (image->data == MAP_FAILED) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno,
                      "mmap(\"%V\") failed", path);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    (void) madvise(image->data, image->len, MADV_SEQUENTIAL);

    if (fdp) {
        *fdp = fd;

    } else {
        ngx_close_file(fd);
    }

    return NGX_OK;
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


/*
 * In the master: the workers' user appends to the file and, to rewrite
 * it, makes files beside it: the file is given to that user, and so is
 * its directory when that user cannot write there (as nginx does with
 * its temporary directories).
 */

ngx_int_t
ngx_http_runs_journal_own(ngx_http_runs_zone_t *zone, ngx_cycle_t *cycle)
{
    u_char                   *dir;
    ngx_uint_t                mode;
    ngx_core_conf_t          *ccf;
    ngx_file_info_t           fi;
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;
    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() != 0 || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT
        || ngx_test_config)
    {
        return NGX_OK;
    }

    if (chown((char *) j->path.data, ccf->user, -1) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "chown(\"%V\", %d) failed", &j->path, ccf->user);
        return NGX_ERROR;
    }

    /* the workers append to it: a file made read-only is made writable */

    if (ngx_file_info(j->path.data, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      ngx_file_info_n " \"%V\" failed", &j->path);
        return NGX_ERROR;
    }

    if ((fi.st_mode & (S_IRUSR|S_IWUSR)) != (S_IRUSR|S_IWUSR)) {
        if (chmod((char *) j->path.data, fi.st_mode | S_IRUSR | S_IWUSR) == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "chmod(\"%V\") failed", &j->path);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "the runs_journal \"%V\" was not writable by its "
                      "owner: it is made so, the workers append to it",
                      &j->path);
    }

    dir = ngx_pnalloc(cycle->pool, j->path.len + 1);
    if (dir == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(dir, j->path.data, j->path.len + 1);
    dir = (u_char *) dirname((char *) dir);

    if (ngx_file_info(dir, &fi) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      ngx_file_info_n " \"%s\" failed", dir);
        return NGX_ERROR;
    }

    mode = (fi.st_uid == ccf->user) ? (fi.st_mode & S_IWUSR)
           : (fi.st_gid == ccf->group) ? (fi.st_mode & S_IWGRP)
           : (fi.st_mode & S_IWOTH);

    if (mode) {
        return NGX_OK;
    }

    if (chown((char *) dir, ccf->user, -1) == -1
        || chmod((char *) dir, fi.st_mode | S_IWUSR | S_IXUSR) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "giving the runs_journal directory \"%s\" to the "
                      "workers' user failed", dir);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "the runs_journal directory \"%s\" is given to the "
                  "workers' user", dir);

    return NGX_OK;
}


/* in a worker: the file to append to, the buffers, the timer */

ngx_int_t
ngx_http_runs_journal_init_worker(ngx_http_runs_zone_t *zone,
    ngx_cycle_t *cycle)
{
    ngx_pid_t                 dead;
    ngx_uint_t                i, lost;
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;

    j->fd = ngx_open_file(j->path.data, NGX_FILE_APPEND, NGX_FILE_CREATE_OR_OPEN,
                          NGX_FILE_DEFAULT_ACCESS);
    if (j->fd == NGX_INVALID_FILE) {
        /*
         * the worker stays: reads are answered, changes refused until the
         * file can be opened (tried again every second, below)
         */
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
                      ngx_open_file_n " \"%V\" failed: changes of runs_zone "
                      "\"%V\" are refused until it can be opened",
                      &j->path, &zone->name);
        j->failed = 1;
        ngx_http_runs_store_jfail(zone, 1);
    }

    /* the buffer being filled and one for each write in flight */

    j->buf = ngx_alloc(j->size, cycle->log);
    if (j->buf == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_HTTP_RUNS_JWRITES; i++) {
        j->w[i].journal = j;
        j->w[i].buf = ngx_alloc(j->size, cycle->log);

        if (j->w[i].buf == NULL) {
            return NGX_ERROR;
        }
    }

    j->stage.pos = j->buf;
    j->stage.end = j->buf + j->size;
    j->stage.kick = ngx_http_runs_journal_kick;
    j->log = cycle->log;
    ngx_queue_init(&j->waiting);

    j->flush.handler = ngx_http_runs_journal_flush;
    j->flush.data = j;
    j->flush.log = cycle->log;

    j->again.handler = ngx_http_runs_journal_flush;
    j->again.data = j;
    j->again.log = cycle->log;
    j->again.cancelable = 1;

    j->tick.handler = ngx_http_runs_journal_tick;
    j->tick.data = j;
    j->tick.log = cycle->log;
    j->tick.cancelable = 1;

    if (!j->stage.strict) {
        ngx_add_timer(&j->tick, j->interval);
    }

    if (j->fd == NGX_INVALID_FILE) {
        ngx_add_timer(&j->again, 1000);
    }

    j->gen = ngx_http_runs_store_jgen(zone);
    zone->journal = &j->stage;

    lost = ngx_http_runs_store_jclaim(zone, &dead);

    if (lost) {
        /*
         * a worker died (killed, crashed) between making changes and
         * writing them: they are in the zone, not in the file; the file
         * is rewritten from the zone at once
         */
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "runs_zone \"%V\": worker process %P exited with %ui "
                      "changes not yet in the runs_journal \"%V\": it is "
                      "rewritten from the live state now", &zone->name,
                      dead, lost, &j->path);

        j->cforce = 1;
        j->cev.handler = ngx_http_runs_journal_force;
        j->cev.data = j;
        j->cev.log = cycle->log;
        j->cev.cancelable = 1;
        ngx_add_timer(&j->cev, 1);
    }

    return NGX_OK;
}


/* a rewrite that cannot wait for the file to grow; tried until it begins */

static void
ngx_http_runs_journal_force(ngx_event_t *ev)
{
    ngx_http_runs_journal_t  *j = ev->data;

    ngx_http_runs_journal_maybe_compact(j);

    if (j->cforce && !j->compacting && !ngx_exiting && !ngx_terminate) {
        ev->handler = ngx_http_runs_journal_force;
        ngx_add_timer(ev, 100);
    }
}


/* at a worker's exit: what is staged is written before it goes */

void
ngx_http_runs_journal_exit_worker(ngx_http_runs_zone_t *zone)
{
    size_t                    need;
    ngx_int_t                 rc;
    ngx_uint_t                i, n;
    ngx_http_runs_jwrite_t   *w;
    ngx_http_runs_journal_t  *j;

    j = zone->jconf;

    if (zone->journal == NULL) {
        return;
    }

    /*
     * nginx's thread pool has run every write handed to it (its threads
     * are joined before the modules' exit), but their answers are not
     * sent any more: a write that failed, and what is left, are written
     * here
     */

    for (i = 0, n = j->whead; i < j->wcount; i++) {
        w = &j->w[n];

        if (w->err) {
            (void) ngx_http_runs_journal_write_all(j->fd, w->buf, w->len, 0);
        }

        n = (n + 1) % NGX_HTTP_RUNS_JWRITES;
    }

    for ( ;; ) {
        need = 0;
        rc = ngx_http_runs_store_jspill(zone, &need);

        if (j->stage.pos > j->buf) {
            (void) ngx_http_runs_journal_write_all(j->fd, j->buf,
                                                   j->stage.pos - j->buf, 0);
            j->stage.pos = j->buf;
            continue;
        }

        if (rc != NGX_DECLINED
            || ngx_http_runs_journal_grow(j, need) != NGX_OK)
        {
            break;
        }
    }

    if (fdatasync(j->fd) == -1 || rc != NGX_OK || j->stage.lost) {
        ngx_log_error(NGX_LOG_ALERT, j->log, ngx_errno,
                      "runs_journal \"%V\": the changes of this worker "
                      "could not all be written before it exits",
                      &j->path);
    }

    ngx_http_runs_store_jwritten(zone, j->stage.staged - j->synced);
    ngx_http_runs_store_jleave(zone);

    zone->journal = NULL;
}


/* a change was staged: the write begins once this turn of events ends */

static void
ngx_http_runs_journal_kick(ngx_http_runs_jstage_t *js)
{
    ngx_http_runs_journal_t  *j = (ngx_http_runs_journal_t *) js;

    if (js->strict || js->pos - j->buf > (off_t) j->size / 2) {
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


/*
 * Starts a write of what is staged, when a write may start: fewer than
 * NGX_HTTP_RUNS_JWRITES in flight, none failed (a failed write is written
 * again on its own timer, "again", before any other), and the file not
 * replaced by a compaction while writes to the old one are in flight.
 */

static void
ngx_http_runs_journal_flush(ngx_event_t *ev)
{
    ngx_http_runs_journal_t  *j = ev->data;

    uint64_t                  gen;
    ngx_fd_t                  fd;
    ngx_http_runs_jwrite_t   *w;

    if (j->failed) {
        if (ev != &j->again) {
            return;
        }

        if (j->fd == NGX_INVALID_FILE) {
            /* the file could not be opened when the worker started */
            j->fd = ngx_open_file(j->path.data, NGX_FILE_APPEND,
                                  NGX_FILE_CREATE_OR_OPEN,
                                  NGX_FILE_DEFAULT_ACCESS);

            if (j->fd == NGX_INVALID_FILE) {
                if (!ngx_exiting && !ngx_terminate) {
                    ngx_add_timer(&j->again, 1000);
                }

                return;
            }

            ngx_log_error(NGX_LOG_NOTICE, j->log, 0,
                          "the runs_journal \"%V\" is open: changes are "
                          "taken again", &j->path);
            j->failed = 0;
            ngx_http_runs_store_jfail(j->zone, 0);

        } else {
            w = &j->w[j->whead];
            w->done = 0;
            w->err = 0;
            ngx_http_runs_journal_post(j, w);

            return;
        }
    }

    if (j->wcount == NGX_HTTP_RUNS_JWRITES) {
        /* the next write starts when one ends */
        return;
    }

    /*
     * the write about to be in flight is announced before the file's
     * generation is read: a compaction that put a new file in place
     * either sees it, or is seen, and the write goes to the new file
     */
    ngx_http_runs_store_jflight(j->zone, j->gen + 1);
    ngx_memory_barrier();
    gen = ngx_http_runs_store_jgen(j->zone);

    if (gen != j->gen) {
        if (j->wcount) {
            /* the old file's writes end first */
            return;
        }

        fd = ngx_open_file(j->path.data, NGX_FILE_APPEND, NGX_FILE_OPEN, 0);

        if (fd != NGX_INVALID_FILE) {
            ngx_close_file(j->fd);
            j->fd = fd;
            j->gen = gen;
            ngx_http_runs_store_jflight(j->zone, gen + 1);
        }
    }

    w = &j->w[(j->whead + j->wcount) % NGX_HTTP_RUNS_JWRITES];

    if (ngx_http_runs_journal_take(j, w) != NGX_OK) {
        if (j->wcount == 0) {
            ngx_http_runs_store_jflight(j->zone, 0);
        }

        return;
    }

    j->wcount++;
    ngx_http_runs_journal_post(j, w);
}


/* a write handed to a thread of nginx's pool (or made here without one) */

static void
ngx_http_runs_journal_post(ngx_http_runs_journal_t *j,
    ngx_http_runs_jwrite_t *w)
{
    w->fd = j->fd;
    w->busy = 1;

#if (NGX_THREADS)

    if (w->task == NULL) {
        w->task = ngx_thread_task_alloc(ngx_cycle->pool,
                                        sizeof(ngx_http_runs_jtask_t));
        if (w->task == NULL) {
            goto here;
        }

        w->task->handler = ngx_http_runs_journal_thread;
        w->task->event.handler = ngx_http_runs_journal_written;
        w->task->event.data = w;
        w->task->event.log = j->log;
        ((ngx_http_runs_jtask_t *) w->task->ctx)->write = w;
    }

    if (ngx_thread_task_post(j->pool, w->task) == NGX_OK) {
        return;
    }

here:

#endif

    /* no thread to hand it to: written here */
    w->err = ngx_http_runs_journal_write_all(w->fd, w->buf, w->len,
                                             j->stage.strict)
             == NGX_OK ? 0 : ngx_errno;
    w->busy = 0;
    w->done = 1;
    ngx_http_runs_journal_resume(j);
}


/*
 * The next write: the records of objects that did not fit are read from
 * the zone into the buffer, which is then handed to the write "w" (its
 * own buffer becomes the one to fill); the changes it ends with are
 * those whose every record it holds.  NGX_DECLINED: nothing to write.
 */

static ngx_int_t
ngx_http_runs_journal_take(ngx_http_runs_journal_t *j,
    ngx_http_runs_jwrite_t *w)
{
    u_char                  *b;
    size_t                   need;
    ngx_int_t                rc;
    ngx_http_runs_jstage_t  *js;

    js = &j->stage;

    if (js->lost) {
        ngx_log_error(NGX_LOG_ALERT, j->log, 0,
                      "runs_journal \"%V\": %ui changed objects could not "
                      "be noted (no memory): they are written with their "
                      "next change or the next rewrite of the journal",
                      &j->path, js->lost);
        js->lost = 0;
    }

    for ( ;; ) {
        need = 0;
        rc = ngx_http_runs_store_jspill(j->zone, &need);

        if (rc != NGX_DECLINED || js->pos > j->buf || j->wcount) {
            break;
        }

        /* a record larger than the buffers, none in flight: they grow */
        if (ngx_http_runs_journal_grow(j, need) != NGX_OK) {
            break;
        }
    }

    if (js->pos == j->buf) {
        return NGX_DECLINED;
    }

    b = w->buf;
    w->buf = j->buf;
    w->len = js->pos - j->buf;
    w->target = js->nspill ? ngx_max(js->spill_first - 1, j->synced)
                           : js->staged;
    w->bells = js->bells;
    js->bells = 0;

    j->buf = b;
    js->pos = j->buf;
    js->end = j->buf + j->size;

    return NGX_OK;
}


/* every buffer made large enough for a record of "need" bytes, twice */

static ngx_int_t
ngx_http_runs_journal_grow(ngx_http_runs_journal_t *j, size_t need)
{
    u_char      *b[NGX_HTTP_RUNS_JWRITES + 1];
    size_t       size;
    ngx_uint_t   i;

    size = ngx_align(2 * need, 1024 * 1024);

    if (need == 0 || size <= j->size) {
        return NGX_ERROR;
    }

    for (i = 0; i <= NGX_HTTP_RUNS_JWRITES; i++) {
        b[i] = ngx_alloc(size, j->log);

        if (b[i] == NULL) {
            while (i--) {
                ngx_free(b[i]);
            }

            return NGX_ERROR;
        }
    }

    ngx_log_error(NGX_LOG_NOTICE, j->log, 0,
                  "runs_journal \"%V\": a record of %uz bytes, the buffers "
                  "grow to %uz bytes", &j->path, need, size);

    /* staged bytes, if any, come along */
    ngx_memcpy(b[0], j->buf, j->stage.pos - j->buf);
    j->stage.pos = b[0] + (j->stage.pos - j->buf);

    ngx_free(j->buf);
    j->buf = b[0];

    for (i = 0; i < NGX_HTTP_RUNS_JWRITES; i++) {
        ngx_free(j->w[i].buf);
        j->w[i].buf = b[i + 1];
    }

    j->size = size;
    j->stage.end = j->buf + j->size;

    return NGX_OK;
}


#if (NGX_THREADS)

/* in a thread of nginx's pool: the buffer appended, made durable */

static void
ngx_http_runs_journal_thread(void *data, ngx_log_t *log)
{
    ngx_http_runs_jtask_t    *t = data;
    ngx_http_runs_jwrite_t   *w;
    ngx_http_runs_journal_t  *j;

    w = t->write;
    j = w->journal;

    w->err = ngx_http_runs_journal_write_all(w->fd, w->buf, w->len,
                                             j->stage.strict)
             == NGX_OK ? 0 : ngx_errno;
}


/* back in the worker's event loop */

static void
ngx_http_runs_journal_written(ngx_event_t *ev)
{
    ngx_http_runs_jwrite_t  *w = ev->data;

    w->busy = 0;
    w->done = 1;
    ngx_http_runs_journal_resume(w->journal);
}

#endif


/*
 * Writes ended: in the order they began, the changes each carried are on
 * disk, their doorbells ring, their answers go; the next write starts if
 * changes were staged meanwhile.  A failed write stops the line: every
 * change waiting is answered 503 (not acknowledged), new changes are
 * refused until it succeeds, and it is written again, whole, every
 * second (a part of it that reached the file is read as a write cut
 * short).
 */

static void
ngx_http_runs_journal_resume(ngx_http_runs_journal_t *j)
{
    ngx_uint_t               ended;
    ngx_queue_t             *q, *next;
    ngx_http_runs_ctx_t     *ctx;
    ngx_http_runs_jwrite_t  *w;

    ended = 0;

    while (j->wcount) {
        w = &j->w[j->whead];

        if (!w->done) {
            break;
        }

        if (w->err) {
            ngx_http_runs_journal_failed(j, w);
            return;
        }

        if (j->failed) {
            j->failed = 0;
            ngx_http_runs_store_jfail(j->zone, 0);
            ngx_log_error(NGX_LOG_NOTICE, j->log, 0,
                          "the runs_journal \"%V\" is written again",
                          &j->path);
        }

        ngx_http_runs_store_jwritten(j->zone, w->target - j->synced);
        j->synced = w->target;
        ngx_http_runs_store_ring(j->zone, w->bells);

        w->done = 0;
        j->whead = (j->whead + 1) % NGX_HTTP_RUNS_JWRITES;
        j->wcount--;
        ended++;
    }

    if (j->wcount == 0) {
        ngx_http_runs_store_jflight(j->zone, 0);
    }

    if (ended == 0) {
        return;
    }

    for (q = ngx_queue_head(&j->waiting);
         q != ngx_queue_sentinel(&j->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_http_runs_hold_ctx(ngx_queue_data(q, ngx_http_runs_hold_t,
                                                    queue));

        if (ctx->jtarget <= j->synced) {
            ngx_http_runs_release(ctx);
            ctx->held->answer(ctx);
        }
    }

    if ((j->stage.pos > j->buf || j->stage.nspill)
        && !j->flush.posted
        && (j->stage.strict || ngx_exiting || !ngx_queue_empty(&j->waiting)))
    {
        ngx_post_event(&j->flush, &ngx_posted_events);
    }

    ngx_http_runs_journal_maybe_compact(j);
}


/* the oldest write failed: see above */

static void
ngx_http_runs_journal_failed(ngx_http_runs_journal_t *j,
    ngx_http_runs_jwrite_t *w)
{
    ngx_queue_t          *q;
    ngx_http_runs_ctx_t  *ctx;

    if (ngx_time() - j->err_logged >= 10) {
        ngx_log_error(NGX_LOG_ERR, j->log, w->err,
                      "writing the runs_journal \"%V\" failed: changes of "
                      "runs_zone \"%V\" are refused until it can be written",
                      &j->path, &j->zone->name);
        j->err_logged = ngx_time();
    }

    j->failed = 1;
    ngx_http_runs_store_jfail(j->zone, 1);

    while (!ngx_queue_empty(&j->waiting)) {
        q = ngx_queue_head(&j->waiting);
        ctx = ngx_http_runs_hold_ctx(ngx_queue_data(q, ngx_http_runs_hold_t,
                                                    queue));
        ctx->jfailed = 1;
        ngx_http_runs_release(ctx);
        ctx->held->answer(ctx);
    }

    if (!ngx_exiting && !ngx_terminate && !j->again.timer_set) {
        ngx_add_timer(&j->again, 1000);
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
 * Why a change is refused before it is made (NULL: it is not): the
 * journal cannot be written (a full disk, a file made unwritable), or
 * this worker's writes have fallen far behind its changes.
 */

char *
ngx_http_runs_journal_refusal(ngx_http_runs_zone_t *zone)
{
    ngx_http_runs_journal_t  *j;

    if (zone->journal == NULL) {
        return NULL;
    }

    j = zone->jconf;

    if (ngx_http_runs_store_jfailing(zone)) {
        return "The runs_journal cannot be written (see the error log): "
               "nothing was changed, ask again later";
    }

    if (j->stage.nspill
        || (j->wcount
            && (size_t) (j->stage.pos - j->buf) > j->size / 4 * 3))
    {
        return "The runs_journal is behind the changes: nothing was "
               "changed, ask again";
    }

    return NULL;
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
        || j->synced >= j->stage.staged)
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

    if (!j->flush.posted) {
        ngx_post_event(&j->flush, &ngx_posted_events);
    }

    return NGX_DONE;
}


/*
 * Compaction: when the file has grown past twice its size after the last
 * compaction (and past compact=), one worker rewrites it from the live
 * state without stopping service.  The snapshot is taken slice by slice
 * (ngx_http_runs_store_compact_slice()), one slice per turn of the event
 * loop; a thread writes it to PATH.new, keeps the old file as PATH.old
 * (a hard link) and renames PATH.new over PATH.  The workers reopen PATH
 * before their next write (the zone's file generation changed); once no
 * write to the old file is in flight, what was appended to it since the
 * compaction began is copied to the new one and PATH.old goes.  A start
 * that finds PATH.old (a compaction cut short) reads both.
 */

static void ngx_http_runs_journal_compact_step(ngx_event_t *ev);
#if (NGX_THREADS)
static void ngx_http_runs_journal_compact_thread(void *data, ngx_log_t *log);
static void ngx_http_runs_journal_compact_done(ngx_event_t *ev);
#endif
static ngx_int_t ngx_http_runs_journal_compact_io(ngx_http_runs_journal_t *j);
static void ngx_http_runs_journal_compact_stop(ngx_http_runs_journal_t *j,
    off_t size);


static void
ngx_http_runs_journal_maybe_compact(ngx_http_runs_journal_t *j)
{
    off_t            bound;
    ngx_file_info_t  fi;

    if (j->compacting || ngx_exiting || ngx_terminate
        || (ngx_time() < j->cretry && !j->cforce)
        || j->fd == NGX_INVALID_FILE)
    {
        return;
    }

    if (ngx_fd_info(j->fd, &fi) == NGX_FILE_ERROR) {
        return;
    }

    bound = ngx_max(j->compact, 2 * ngx_http_runs_store_jbase(j->zone));

    if (ngx_file_size(&fi) < bound && !j->cforce) {
        return;
    }

    if (ngx_http_runs_store_compact_begin(j->zone, &j->cur) != NGX_OK) {
        return;
    }

    j->cforce = 0;

    j->snap_size = 1024 * 1024;
    j->snap = ngx_alloc(j->snap_size, j->log);
    if (j->snap == NULL) {
        ngx_http_runs_journal_compact_stop(j, 0);
        return;
    }

    /* the header goes first */
    ngx_http_runs_store_journal_header(j->zone, j->snap);
    j->snap_pos = j->snap + NGX_HTTP_RUNS_J_HEADER;

    j->ostart = ngx_file_size(&fi);
    j->compacting = 1;
    j->cstart = ngx_current_msec;

    ngx_log_error(NGX_LOG_NOTICE, j->log, 0,
                  "runs_journal \"%V\": %O bytes, rewritten from the live "
                  "state of runs_zone \"%V\"", &j->path, j->ostart,
                  &j->zone->name);

    j->cev.handler = ngx_http_runs_journal_compact_step;
    j->cev.data = j;
    j->cev.log = j->log;
    j->cev.cancelable = 1;

    ngx_post_event(&j->cev, &ngx_posted_events);
}


static void
ngx_http_runs_journal_compact_step(ngx_event_t *ev)
{
    u_char                   *p;
    size_t                    size;
    ngx_int_t                 rc;
    ngx_http_runs_journal_t  *j = ev->data;

    if (j->compacting == 2) {
        /* the new file is in place: waiting for writes to the old one */
        if (!ngx_http_runs_store_jsettled(j->zone)) {
            ngx_add_timer(&j->cev, 10);
            return;
        }

        j->cstep = 2;
        goto io;
    }

    rc = ngx_http_runs_store_compact_slice(j->zone, &j->cur, &j->snap_pos,
                                           j->snap + j->snap_size);

    if (rc == NGX_DECLINED) {
        size = j->snap_size * 2;

        p = ngx_alloc(size, j->log);
        if (p == NULL) {
            ngx_http_runs_journal_compact_stop(j, 0);
            return;
        }

        ngx_memcpy(p, j->snap, j->snap_pos - j->snap);
        j->snap_pos = p + (j->snap_pos - j->snap);
        ngx_free(j->snap);
        j->snap = p;
        j->snap_size = size;
    }

    if (rc != NGX_OK) {
        /* the next slice once other events have had their turn */
        ngx_post_event(&j->cev, &ngx_posted_next_events);
        return;
    }

    j->cstep = 1;

io:

#if (NGX_THREADS)

    if (j->ctask == NULL) {
        j->ctask = ngx_thread_task_alloc(ngx_cycle->pool,
                                         sizeof(ngx_http_runs_jtask_t));
        if (j->ctask == NULL) {
            ngx_http_runs_journal_compact_stop(j, 0);
            return;
        }

        j->ctask->handler = ngx_http_runs_journal_compact_thread;
        j->ctask->event.handler = ngx_http_runs_journal_compact_done;
        j->ctask->event.data = j;
        j->ctask->event.log = j->log;
    }

    ((ngx_http_runs_jtask_t *) j->ctask->ctx)->journal = j;

    if (ngx_thread_task_post(j->pool, j->ctask) == NGX_OK) {
        return;
    }

#endif

    j->cerr = ngx_http_runs_journal_compact_io(j) == NGX_OK ? 0 : ngx_errno;

#if (NGX_THREADS)
    ngx_http_runs_journal_compact_done(&j->ctask->event);
#endif
}


#if (NGX_THREADS)

static void
ngx_http_runs_journal_compact_thread(void *data, ngx_log_t *log)
{
    ngx_http_runs_jtask_t    *t = data;
    ngx_http_runs_journal_t  *j;

    j = t->journal;

    j->cerr = ngx_http_runs_journal_compact_io(j) == NGX_OK ? 0 : ngx_errno;
}


static void
ngx_http_runs_journal_compact_done(ngx_event_t *ev)
{
    ngx_http_runs_journal_t  *j = ev->data;

    if (j->cerr) {
        ngx_log_error(NGX_LOG_ERR, j->log, j->cerr,
                      "rewriting the runs_journal \"%V\" failed: it goes "
                      "on growing until the next try, in a minute",
                      &j->path);
        j->cretry = ngx_time() + 60;
        ngx_http_runs_journal_compact_stop(j, 0);
        return;
    }

    if (j->cstep == 2) {
        ngx_log_error(NGX_LOG_NOTICE, j->log, 0,
                      "runs_journal \"%V\" rewritten: %O bytes in %M ms",
                      &j->path, j->csize, ngx_current_msec - j->cstart);
        ngx_http_runs_journal_compact_stop(j, j->csize);
        return;
    }

    /*
     * the new file is PATH: every worker, this one too, reopens it before
     * its next write (not now: a write of this worker may be in flight)
     */

    ngx_http_runs_store_jgen_next(j->zone);

    j->compacting = 2;
    ngx_post_event(&j->cev, &ngx_posted_events);
}

#endif


/* in a thread: step 1 writes the new file and puts it in place, step 2
   copies the old file's tail to it */

static ngx_int_t
ngx_http_runs_journal_compact_io(ngx_http_runs_journal_t *j)
{
    u_char           *tail;
    size_t            len, skip;
    ssize_t           n;
    ngx_fd_t          fd, ofd;
    ngx_int_t         rc;
    ngx_file_info_t   fi;

    if (j->cstep == 1) {
        fd = ngx_open_file(j->tmp.data, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                           NGX_FILE_DEFAULT_ACCESS);
        if (fd == NGX_INVALID_FILE) {
            return NGX_ERROR;
        }

        rc = ngx_http_runs_journal_write_all(fd, j->snap,
                                             j->snap_pos - j->snap, 1);
        ngx_close_file(fd);

        if (rc != NGX_OK) {
            (void) ngx_delete_file(j->tmp.data);
            return NGX_ERROR;
        }

        (void) ngx_delete_file(j->old.data);

        if (link((char *) j->path.data, (char *) j->old.data) == -1
            || ngx_rename_file(j->tmp.data, j->path.data) == NGX_FILE_ERROR)
        {
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    ofd = ngx_open_file(j->old.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (ofd == NGX_INVALID_FILE) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(j->path.data, NGX_FILE_APPEND, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_close_file(ofd);
        return NGX_ERROR;
    }

    /*
     * the tail in one write: the other workers append to the new file
     * meanwhile, and a record must not be cut by one of their writes
     */

    rc = NGX_ERROR;
    tail = NULL;

    if (ngx_fd_info(ofd, &fi) != NGX_FILE_ERROR) {
        len = ngx_file_size(&fi) > j->ostart ? ngx_file_size(&fi) - j->ostart
                                              : 0;
        tail = len ? ngx_alloc(len, j->log) : NULL;

        if (len == 0) {
            rc = NGX_OK;

        } else if (tail) {
            n = pread(ofd, tail, len, j->ostart);

            if (n == (ssize_t) len) {
                /*
                 * the size read when the compaction began may fall inside
                 * a record another worker was writing: that record's
                 * change is in the new file already (it was made before
                 * the size was read), the copy begins after it
                 */
                skip = ngx_http_runs_store_jboundary(tail, len);
                rc = ngx_http_runs_journal_write_all(fd, tail + skip,
                                                     len - skip, 0);
            }

            ngx_free(tail);
        }
    }

    if (rc == NGX_OK) {
        rc = (fdatasync(fd) == 0 && ngx_fd_info(fd, &fi) != NGX_FILE_ERROR)
             ? NGX_OK : NGX_ERROR;
        j->csize = (rc == NGX_OK) ? ngx_file_size(&fi) : 0;
    }

    ngx_close_file(fd);
    ngx_close_file(ofd);

    if (rc == NGX_OK) {
        (void) ngx_delete_file(j->old.data);
    }

    return rc;
}


static void
ngx_http_runs_journal_compact_stop(ngx_http_runs_journal_t *j, off_t size)
{
    if (j->snap) {
        ngx_free(j->snap);
        j->snap = NULL;
    }

    j->compacting = 0;

    ngx_http_runs_store_compact_end(j->zone, size);
}
