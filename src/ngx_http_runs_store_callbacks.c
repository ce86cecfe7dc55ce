
/*
 * Callbacks: when a run of a session that has a parent ends, the same
 * critical section queues a resume_session run of the parent whose prompt
 * reports the child's end (docs/CALLBACKS.md), or appends the report to
 * the parent's callback run that is still pending.  Nothing is half made:
 * a report that does not fit in the zone is dropped whole, the child's
 * own end stands.  What happened is noted in the change's after-the-lock
 * record and logged once the lock is released.
 */


#include "ngx_http_runs_zone.h"


#define NGX_HTTP_RUNS_CALLBACK_TEXT  16384  /* of a child's error, result */


/* a child's report, as pieces of text in the zone */
typedef struct {
    ngx_str_t                   head;       /* "[child session ...]\n" */
    ngx_str_t                   error;      /* "error: " follows, or empty */
    ngx_str_t                   error_mark;
    ngx_str_t                   result;
    ngx_str_t                   tail;       /* cut notes, "[end of ...]\n" */
    size_t                      len;

    u_char                      head_buf[NGX_HTTP_RUNS_NAME_MAX + 80];
    u_char                      tail_buf[200];
} ngx_http_runs_report_text_t;


static void ngx_http_runs_callback_note(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_str_t *parent, ngx_uint_t full,
    ngx_http_runs_after_t *af);
static void ngx_http_runs_report_text(ngx_http_runs_run_t *run,
    ngx_http_runs_report_text_t *rt);
static u_char *ngx_http_runs_report_write(u_char *p,
    ngx_http_runs_report_text_t *rt);
static ngx_http_runs_run_t *ngx_http_runs_pending_callback_locked(
    ngx_http_runs_session_t *parent);
static ngx_int_t ngx_http_runs_callback_append_locked(
    ngx_http_runs_zone_t *zone, ngx_http_runs_session_t *psess,
    ngx_http_runs_run_t *cb, ngx_http_runs_report_text_t *rt);
static ngx_int_t ngx_http_runs_callback_new_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *psess, ngx_http_runs_report_text_t *rt,
    ngx_http_runs_after_t *af);


static const ngx_str_t  ngx_http_runs_outcomes[] = {
    ngx_string("completed"),
    ngx_string("failed"),
    ngx_string("stopped")
};


void
ngx_http_runs_callback_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af)
{
    ngx_int_t                     rc;
    ngx_str_t                     parent;
    ngx_http_runs_run_t          *cb;
    ngx_http_runs_shctx_t        *sh;
    ngx_http_runs_session_t      *sess, *psess;
    ngx_http_runs_report_text_t   rt;

    sh = zone->sh;
    sess = run->session;

    parent.len = sess->parent_len;
    parent.data = sess->inherit + sess->agent_name_len
                  + sess->project_dir_len;

    /* the parent is named within the child's scope */
    psess = ngx_http_runs_lookup_session_locked(sh, &parent, sess->scope);

    if (psess == NULL || !psess->has_start || psess->nruns == 0
        || psess == sess)
    {
        ngx_http_runs_callback_note(zone, run, &parent, 0, af);
        return;
    }

    ngx_http_runs_report_text(run, &rt);

    /*
     * the child's run is kept out of eviction's reach while room is made
     * (its texts are being copied), and the parent session with it
     */

    ngx_queue_remove(&run->state);
    psess->pinned = 1;

    cb = ngx_http_runs_pending_callback_locked(psess);

    if (cb) {
        rc = ngx_http_runs_callback_append_locked(zone, psess, cb, &rt);
        if (rc == NGX_OK) {
            sh->callbacks_merged++;
            ngx_http_runs_mark_run(af, cb);
        }

    } else {
        rc = ngx_http_runs_callback_new_locked(zone, psess, &rt, af);
        if (rc == NGX_OK) {
            sh->callbacks++;
        }
    }

    psess->pinned = 0;
    ngx_queue_insert_tail(&sh->finished, &run->state);

    if (rc != NGX_OK) {
        (void) ngx_atomic_fetch_add(&sh->callbacks_refused.total, 1);
        ngx_http_runs_callback_note(zone, run, &parent, 1, af);
    }

    /* a parent whose every run was evicted meanwhile is forgotten */
    if (psess->nruns == 0) {
        ngx_http_runs_free_session_locked(zone, psess);
    }
}


/*
 * For after the lock: one info line per dropped report; a callback refused
 * for room is one warn line per 10 s across the workers (the zone's
 * throttle), with the number refused since the last such line.
 */

static void
ngx_http_runs_callback_note(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_str_t *parent, ngx_uint_t full,
    ngx_http_runs_after_t *af)
{
    u_char             id[NGX_HTTP_RUNS_RUN_ID_LEN];
    ngx_atomic_uint_t  n;

    ngx_http_runs_run_id(id, run);

    if (!full) {
        ngx_http_runs_after_log(af, NGX_LOG_INFO,
                                "runs: run %*s ended: no callback, its "
                                "parent session \"%V\" does not exist or "
                                "was never started",
                                (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id,
                                parent);
        return;
    }

    n = ngx_http_runs_throttle(&zone->sh->callbacks_refused, 0);

    if (n == 0) {
        return;
    }

    ngx_http_runs_after_log(af, NGX_LOG_WARN,
                            "runs: the callback of run %*s to session "
                            "\"%V\" was not made: runs_zone \"%V\" is full "
                            "(%uA callback%s refused since the last such "
                            "line)", (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id,
                            parent, &zone->name, n, n == 1 ? "" : "s");
}


/* the report's pieces and length (docs/CALLBACKS.md) */

static void
ngx_http_runs_report_text(ngx_http_runs_run_t *run,
    ngx_http_runs_report_text_t *rt)
{
    u_char                   *p;
    size_t                    full;
    ngx_uint_t                outcome;
    ngx_http_runs_session_t  *sess;

    u_char                    id[NGX_HTTP_RUNS_RUN_ID_LEN];

    sess = run->session;
    ngx_http_runs_run_id(id, run);

    outcome = run->status - NGX_HTTP_RUNS_COMPLETED;

    p = ngx_sprintf(rt->head_buf, "[child session \"%*s\" run %*s %V]\n",
                    (size_t) sess->name_len, sess->name,
                    (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id,
                    &ngx_http_runs_outcomes[outcome]);
    rt->head.data = rt->head_buf;
    rt->head.len = p - rt->head_buf;

    rt->error.len = 0;
    rt->error_mark.len = 0;

    if (run->status != NGX_HTTP_RUNS_COMPLETED) {
        ngx_http_runs_error_text_locked(run, &rt->error, &rt->error_mark);
    }

    rt->result.len = run->result_len;
    rt->result.data = run->strings + ngx_http_runs_names_len(run)
                      + run->error_len;

    p = rt->tail_buf;

    full = rt->error.len;
    rt->error.len = ngx_http_runs_utf8_cut(&rt->error,
                                           NGX_HTTP_RUNS_CALLBACK_TEXT);

    if (rt->error.len < full) {
        p = ngx_sprintf(p, "[cut at %d bytes: GET /runs/%*s has it whole]\n",
                        NGX_HTTP_RUNS_CALLBACK_TEXT,
                        (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id);
    }

    full = rt->result.len;
    rt->result.len = ngx_http_runs_utf8_cut(&rt->result,
                                            NGX_HTTP_RUNS_CALLBACK_TEXT);

    if (rt->result.len < full && p == rt->tail_buf) {
        p = ngx_sprintf(p, "[cut at %d bytes: GET /runs/%*s has it whole]\n",
                        NGX_HTTP_RUNS_CALLBACK_TEXT,
                        (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id);
    }

    p = ngx_sprintf(p, "[end of run %*s]\n",
                    (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id);

    rt->tail.data = rt->tail_buf;
    rt->tail.len = p - rt->tail_buf;

    /* "error: " + error (+ mark) + "\n", result + "\n" when not ending so */

    rt->len = rt->head.len + rt->tail.len;

    if (rt->error.len || rt->error_mark.len) {
        rt->len += sizeof("error: ") - 1 + rt->error.len + rt->error_mark.len
                   + 1;
    }

    if (rt->result.len) {
        rt->len += rt->result.len
                   + (rt->result.data[rt->result.len - 1] != '\n');
    }
}


static u_char *
ngx_http_runs_report_write(u_char *p, ngx_http_runs_report_text_t *rt)
{
    p = ngx_cpymem(p, rt->head.data, rt->head.len);

    if (rt->error.len || rt->error_mark.len) {
        p = ngx_cpymem(p, "error: ", sizeof("error: ") - 1);

        if (rt->error.len) {
            p = ngx_cpymem(p, rt->error.data, rt->error.len);
        }

        if (rt->error_mark.len) {
            p = ngx_cpymem(p, rt->error_mark.data, rt->error_mark.len);
        }

        *p++ = '\n';
    }

    if (rt->result.len) {
        p = ngx_cpymem(p, rt->result.data, rt->result.len);

        if (rt->result.data[rt->result.len - 1] != '\n') {
            *p++ = '\n';
        }
    }

    return ngx_cpymem(p, rt->tail.data, rt->tail.len);
}


/* the parent's callback run that no runner has taken yet */

static ngx_http_runs_run_t *
ngx_http_runs_pending_callback_locked(ngx_http_runs_session_t *parent)
{
    ngx_queue_t          *q;
    ngx_http_runs_run_t  *run;

    for (q = ngx_queue_last(&parent->active);
         q != ngx_queue_sentinel(&parent->active);
         q = ngx_queue_prev(q))
    {
        run = ngx_queue_data(q, ngx_http_runs_run_t, state);

        if (run->callback && run->status == NGX_HTTP_RUNS_PENDING) {
            return run;
        }
    }

    return NULL;
}


/* the report after the prompt of a pending callback run */

static ngx_int_t
ngx_http_runs_callback_append_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *psess, ngx_http_runs_run_t *cb,
    ngx_http_runs_report_text_t *rt)
{
    u_char  *strings, *p;
    size_t   rest;

    if ((uint64_t) cb->prompt_len + rt->len > NGX_MAX_UINT32_VALUE) {
        return NGX_ERROR;
    }

    /* a pending run has no error and no result: its names follow */
    rest = ngx_http_runs_names_len(cb) - cb->prompt_len;

    strings = ngx_http_runs_alloc_locked(zone, cb->prompt_len + rt->len
                                               + rest, psess);
    if (strings == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(strings, cb->strings, cb->prompt_len);
    p = ngx_http_runs_report_write(p, rt);

    if (rest) {
        ngx_memcpy(p, cb->strings + cb->prompt_len, rest);
    }

    ngx_slab_free_locked(zone->shpool, cb->strings);

    cb->strings = strings;
    cb->prompt_len += (uint32_t) rt->len;

    return NGX_OK;
}


/* a new resume_session run of the parent, with the report as its prompt */

static ngx_int_t
ngx_http_runs_callback_new_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *psess, ngx_http_runs_report_text_t *rt,
    ngx_http_runs_after_t *af)
{
    u_char               *strings, *p;
    size_t                inherit;
    ngx_http_runs_run_t  *cb;

    inherit = psess->agent_name_len + psess->project_dir_len
              + psess->parent_len;

    cb = ngx_http_runs_alloc_locked(zone, sizeof(ngx_http_runs_run_t), psess);
    if (cb == NULL) {
        return NGX_ERROR;
    }

    strings = ngx_http_runs_alloc_locked(zone, rt->len + inherit, psess);
    if (strings == NULL) {
        ngx_slab_free_locked(zone->shpool, cb);
        return NGX_ERROR;
    }

    p = ngx_http_runs_report_write(strings, rt);

    /* agent_name, project_dir and parent_session_name: the session's */
    if (inherit) {
        ngx_memcpy(p, psess->inherit, inherit);
    }

    ngx_memzero(cb, sizeof(ngx_http_runs_run_t));

    cb->strings = strings;
    cb->prompt_len = (uint32_t) rt->len;
    cb->agent_name_len = psess->agent_name_len;
    cb->project_dir_len = psess->project_dir_len;
    cb->parent_len = psess->parent_len;
    cb->type = NGX_HTTP_RUNS_RESUME;
    cb->callback = 1;

    ngx_http_runs_link_run_locked(zone, cb, psess, af);
    ngx_http_runs_mark_run(af, cb);

    return NGX_OK;
}
