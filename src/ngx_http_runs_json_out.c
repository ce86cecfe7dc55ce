
/*
 * Responses: JSON written straight into a chain of the request's buffers,
 * with no document tree in between, and sent with its length.
 *
 * Stored strings were checked to be UTF-8 when they came in
 * (ngx_http_runs_json_in.c), so writing one only escapes what JSON needs
 * escaped.  Texts that may quote a client (error details) are checked
 * again: invalid bytes become '?'.
 */


#include "ngx_http_runs.h"


static void ngx_http_runs_send_held(ngx_http_runs_ctx_t *ctx);
static void ngx_http_runs_out_demands(ngx_http_runs_out_t *o,
    ngx_str_t *rec);
static ngx_chain_t *ngx_http_runs_keep_chain(ngx_pool_t *pool,
    ngx_chain_t *out, size_t len);


#define NGX_HTTP_RUNS_TIME_LEN   (sizeof("2026-11-24T10:00:01.250Z") - 1)
#define NGX_HTTP_RUNS_OUT_CHUNK  4096


static ngx_str_t  ngx_http_runs_type_names[] = {
    ngx_string("start_session"),
    ngx_string("resume_session")
};


void
ngx_http_runs_out_init(ngx_http_runs_out_t *o, ngx_pool_t *pool, size_t hint)
{
    o->pool = pool;
    o->first = NULL;
    o->last = &o->first;
    o->buf = NULL;
    o->len = 0;
    o->hint = hint ? hint : NGX_HTTP_RUNS_OUT_CHUNK;
    o->failed = 0;
}


/* n contiguous bytes at the returned position, or NULL (o->failed) */

u_char *
ngx_http_runs_out_reserve(ngx_http_runs_out_t *o, size_t n)
{
    size_t        size;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    if (o->failed) {
        return NULL;
    }

    if (o->buf && (size_t) (o->buf->end - o->buf->last) >= n) {
        return o->buf->last;
    }

    size = ngx_max(n, o->hint);
    o->hint = NGX_HTTP_RUNS_OUT_CHUNK;

    b = ngx_create_temp_buf(o->pool, size);
    cl = ngx_alloc_chain_link(o->pool);

    if (b == NULL || cl == NULL) {
        o->failed = 1;
        return NULL;
    }

    cl->buf = b;
    cl->next = NULL;
    *o->last = cl;
    o->last = &cl->next;
    o->buf = b;

    return b->last;
}


void
ngx_http_runs_out_raw(ngx_http_runs_out_t *o, const void *data, size_t len)
{
    u_char  *p;

    p = ngx_http_runs_out_reserve(o, len);
    if (p == NULL) {
        return;
    }

    ngx_http_runs_out_commit(o, ngx_cpymem(p, data, len));
}


/* any byte of v zero; any byte of v below 0x20 (v's bytes below 0x80) */
#define ngx_http_runs_ones   0x0101010101010101ULL
#define ngx_http_runs_highs  0x8080808080808080ULL
#define ngx_http_runs_has_zero(v)                                            \
    (((v) - ngx_http_runs_ones) & ~(v) & ngx_http_runs_highs)
#define ngx_http_runs_has_ctl(v)                                             \
    (((v) - 0x20 * ngx_http_runs_ones) & ~(v) & ngx_http_runs_highs)


/*
 * The length of s escaped for JSON.  Eight bytes at a time are looked at
 * as one word, and only a word with a byte below 0x20, a '"' or a '\\'
 * byte by byte: an agent's answer is mostly text that needs nothing.
 */

static size_t
ngx_http_runs_escaped_len(u_char *s, size_t len)
{
    u_char    *last, *end;
    size_t     n;
    uint64_t   w;

    n = len;
    last = s + len;

    while (s < last) {

        end = last;

        if (last - s >= 8) {
            ngx_memcpy(&w, s, 8);

            if (!(ngx_http_runs_has_ctl(w)
                  | ngx_http_runs_has_zero(w ^ ('"' * ngx_http_runs_ones))
                  | ngx_http_runs_has_zero(w ^ ('\\' * ngx_http_runs_ones))))
            {
                s += 8;
                continue;
            }

            end = s + 8;
        }

        for ( /* void */ ; s < end; s++) {
            if (*s == '"' || *s == '\\') {
                n++;

            } else if (*s < 0x20) {
                n += (*s == '\n' || *s == '\r' || *s == '\t' || *s == '\b'
                      || *s == '\f') ? 1 : 5;
            }
        }
    }

    return n;
}


static u_char *
ngx_http_runs_escape(u_char *dst, u_char *s, size_t len)
{
    u_char         c, *last;
    static u_char  hex[] = "0123456789abcdef";

    for (last = s + len; s < last; s++) {
        c = *s;

        if (c >= 0x20 && c != '"' && c != '\\') {
            *dst++ = c;
            continue;
        }

        *dst++ = '\\';

        switch (c) {
        case '"':  *dst++ = '"'; break;
        case '\\': *dst++ = '\\'; break;
        case '\n': *dst++ = 'n'; break;
        case '\r': *dst++ = 'r'; break;
        case '\t': *dst++ = 't'; break;
        case '\b': *dst++ = 'b'; break;
        case '\f': *dst++ = 'f'; break;
        default:
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = hex[c >> 4];
            *dst++ = hex[c & 0xf];
        }
    }

    return dst;
}


/* a JSON string, or null for a string whose data is NULL */

void
ngx_http_runs_out_str(ngx_http_runs_out_t *o, ngx_str_t *s)
{
    u_char  *p;
    size_t   n;

    if (s->data == NULL) {
        ngx_http_runs_out_literal(o, "null");
        return;
    }

    n = ngx_http_runs_escaped_len(s->data, s->len);

    p = ngx_http_runs_out_reserve(o, n + 2);
    if (p == NULL) {
        return;
    }

    *p++ = '"';

    if (n == s->len) {
        p = ngx_cpymem(p, s->data, n);

    } else {
        p = ngx_http_runs_escape(p, s->data, s->len);
    }

    *p++ = '"';

    ngx_http_runs_out_commit(o, p);
}


u_char *
ngx_http_runs_format_time(u_char *p, int64_t ms)
{
    ngx_tm_t  tm;

    ngx_gmtime((time_t) (ms / 1000), &tm);

    return ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       (int) (ms % 1000));
}


/* an ISO 8601 UTC time with milliseconds, or null for 0 */

void
ngx_http_runs_out_time(ngx_http_runs_out_t *o, int64_t ms)
{
    u_char  *p;

    if (ms == 0) {
        ngx_http_runs_out_literal(o, "null");
        return;
    }

    p = ngx_http_runs_out_reserve(o, NGX_HTTP_RUNS_TIME_LEN + 2);
    if (p == NULL) {
        return;
    }

    *p++ = '"';
    p = ngx_http_runs_format_time(p, ms);
    *p++ = '"';

    ngx_http_runs_out_commit(o, p);
}


/* the bytes a run object takes when no string needs escaping */

/* "a,b" as "\"a\",\"b\"": names need no escaping */

void
ngx_http_runs_out_names(ngx_http_runs_out_t *o, ngx_str_t *names)
{
    u_char  *p, *last, *comma;

    p = names->data;
    last = p + names->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if (p != names->data) {
            ngx_http_runs_out_literal(o, ",");
        }

        ngx_http_runs_out_literal(o, "\"");
        ngx_http_runs_out_raw(o, p, comma - p);
        ngx_http_runs_out_literal(o, "\"");

        p = comma + 1;
    }
}


void
ngx_http_runs_out_number(ngx_http_runs_out_t *o, ngx_uint_t n)
{
    u_char  *p;

    p = ngx_http_runs_out_reserve(o, NGX_INT_T_LEN);
    if (p != NULL) {
        ngx_http_runs_out_commit(o, ngx_sprintf(p, "%ui", n));
    }
}


/* a run's demands record as an object of the fields it demands; null */

static void
ngx_http_runs_out_demands(ngx_http_runs_out_t *o, ngx_str_t *rec)
{
    ngx_http_runs_demands_t  d;

    if (rec->len == 0) {
        ngx_http_runs_out_literal(o, "null");
        return;
    }

    ngx_http_runs_demands_read(rec->data, rec->len, &d);

    ngx_http_runs_out_literal(o, "{\"tags\":[");
    ngx_http_runs_out_names(o, &d.tags);
    ngx_http_runs_out_literal(o, "],\"hostname\":");
    ngx_http_runs_out_str(o, &d.hostname);
    ngx_http_runs_out_literal(o, ",\"project_dir\":");
    ngx_http_runs_out_str(o, &d.project_dir);
    ngx_http_runs_out_literal(o, ",\"executor_type\":");
    ngx_http_runs_out_str(o, &d.executor_type);
    ngx_http_runs_out_literal(o, "}");
}


size_t
ngx_http_runs_snap_size(ngx_http_runs_snap_t *s)
{
    return 672 + s->session_name.len + s->prompt.len + s->agent_name.len
           + s->project_dir.len + s->parent.len + s->error.len
           + s->result.len + 2 * s->demands.len + s->waiting_for.len
           + s->blueprint.len;
}


void
ngx_http_runs_out_run(ngx_http_runs_out_t *o, ngx_http_runs_snap_t *s)
{
    ngx_str_t  v;

    ngx_http_runs_out_literal(o, "{\"run_id\":\"");
    ngx_http_runs_out_raw(o, s->id, NGX_HTTP_RUNS_RUN_ID_LEN);
    ngx_http_runs_out_literal(o, "\",\"type\":\"");
    ngx_http_runs_out_raw(o, ngx_http_runs_type_names[s->type].data,
                          ngx_http_runs_type_names[s->type].len);
    ngx_http_runs_out_literal(o, "\",\"session_name\":");
    ngx_http_runs_out_str(o, &s->session_name);
    ngx_http_runs_out_literal(o, ",\"session_id\":\"");
    ngx_http_runs_out_raw(o, s->session_id, NGX_HTTP_RUNS_SESSION_ID_LEN);
    ngx_http_runs_out_literal(o, "\",\"agent_name\":");
    ngx_http_runs_out_str(o, &s->agent_name);
    ngx_http_runs_out_literal(o, ",\"prompt\":");
    ngx_http_runs_out_str(o, &s->prompt);
    ngx_http_runs_out_literal(o, ",\"project_dir\":");
    ngx_http_runs_out_str(o, &s->project_dir);
    ngx_http_runs_out_literal(o, ",\"parent_session_name\":");
    ngx_http_runs_out_str(o, &s->parent);

    if (s->callback) {
        ngx_http_runs_out_literal(o, ",\"callback\":true");

    } else {
        ngx_http_runs_out_literal(o, ",\"callback\":false");
    }

    ngx_http_runs_out_literal(o, ",\"demands\":");
    ngx_http_runs_out_demands(o, &s->demands);

    if (s->affinity) {
        ngx_http_runs_out_literal(o, ",\"affinity\":true");

    } else {
        ngx_http_runs_out_literal(o, ",\"affinity\":false");
    }

    ngx_http_runs_out_literal(o, ",\"status\":\"");
    ngx_http_runs_out_raw(o, ngx_http_runs_status_names[s->status].data,
                          ngx_http_runs_status_names[s->status].len);
    ngx_http_runs_out_literal(o, "\",\"waiting_for\":");
    ngx_http_runs_out_str(o, &s->waiting_for);
    ngx_http_runs_out_literal(o, ",\"launcher_id\":");

    if (s->has_launcher_id) {
        v.data = s->launcher_id;
        v.len = NGX_HTTP_RUNS_LAUNCHER_ID_LEN;
        ngx_http_runs_out_str(o, &v);

    } else {
        ngx_http_runs_out_literal(o, "null");
    }

    ngx_http_runs_out_literal(o, ",\"error\":");
    ngx_http_runs_out_str(o, &s->error);
    ngx_http_runs_out_literal(o, ",\"result\":");
    ngx_http_runs_out_str(o, &s->result);

    if (s->result_truncated) {
        ngx_http_runs_out_literal(o, ",\"result_truncated\":true");

    } else {
        ngx_http_runs_out_literal(o, ",\"result_truncated\":false");
    }

    ngx_http_runs_out_literal(o, ",\"created_at\":");
    ngx_http_runs_out_time(o, s->created_at);
    ngx_http_runs_out_literal(o, ",\"claimed_at\":");
    ngx_http_runs_out_time(o, s->claimed_at);
    ngx_http_runs_out_literal(o, ",\"started_at\":");
    ngx_http_runs_out_time(o, s->started_at);
    ngx_http_runs_out_literal(o, ",\"completed_at\":");
    ngx_http_runs_out_time(o, s->completed_at);

    if (s->blueprint.len > 2) {
        /* a claimed run's registry blueprint: {"name": ..., its members} */
        ngx_http_runs_out_literal(o, ",\"blueprint\":{\"name\":");
        ngx_http_runs_out_str(o, &s->agent_name);
        ngx_http_runs_out_literal(o, ",");
        ngx_http_runs_out_raw(o, s->blueprint.data + 1, s->blueprint.len - 1);

    } else if (s->blueprint.len) {
        ngx_http_runs_out_literal(o, ",\"blueprint\":{\"name\":");
        ngx_http_runs_out_str(o, &s->agent_name);
        ngx_http_runs_out_literal(o, "}");
    }

    ngx_http_runs_out_literal(o, "}");
}


void
ngx_http_runs_out_launcher(ngx_http_runs_out_t *o, ngx_http_runs_lsnap_t *ls,
    int64_t now, ngx_msec_t heartbeat_timeout)
{
    u_char   *p;
    int64_t   silent;

    silent = now - ls->last_heartbeat;
    if (silent < 0) {
        silent = 0;
    }

    ngx_http_runs_out_literal(o, "{\"launcher_id\":\"");
    ngx_http_runs_out_raw(o, ls->id, NGX_HTTP_RUNS_LAUNCHER_ID_LEN);
    ngx_http_runs_out_literal(o, "\",\"hostname\":");
    ngx_http_runs_out_str(o, &ls->hostname);
    ngx_http_runs_out_literal(o, ",\"project_dir\":");
    ngx_http_runs_out_str(o, &ls->project_dir);
    ngx_http_runs_out_literal(o, ",\"executor_type\":");
    ngx_http_runs_out_str(o, &ls->executor_type);
    ngx_http_runs_out_literal(o, ",\"agents\":[");
    ngx_http_runs_out_names(o, &ls->agents);
    ngx_http_runs_out_literal(o, "],\"tags\":[");
    ngx_http_runs_out_names(o, &ls->tags);
    ngx_http_runs_out_literal(o, "]");
    ngx_http_runs_out_literal(o, ",\"registered_at\":");
    ngx_http_runs_out_time(o, ls->registered_at);
    ngx_http_runs_out_literal(o, ",\"last_heartbeat\":");
    ngx_http_runs_out_time(o, ls->last_heartbeat);

    if (silent > (int64_t) heartbeat_timeout) {
        ngx_http_runs_out_literal(o, ",\"status\":\"stale\"");

    } else {
        ngx_http_runs_out_literal(o, ",\"status\":\"online\"");
    }

    p = ngx_http_runs_out_reserve(o, sizeof(",\"seconds_since_heartbeat\":")
                                     + NGX_INT64_LEN + 4);
    if (p == NULL) {
        return;
    }

    p = ngx_sprintf(p, ",\"seconds_since_heartbeat\":%L.%03L",
                    silent / 1000, silent % 1000);
    ngx_http_runs_out_commit(o, p);

    if (ls->deregister) {
        ngx_http_runs_out_literal(o, ",\"deregistering\":true}");

    } else {
        ngx_http_runs_out_literal(o, ",\"deregistering\":false}");
    }
}


static ngx_int_t
ngx_http_runs_send_chain(ngx_http_request_t *r, ngx_uint_t status,
    ngx_chain_t *out, size_t len)
{
    ngx_int_t             rc;
    ngx_chain_t          *cl;
    ngx_http_runs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    rc = ngx_http_runs_journal_defer(r, ctx);

    if (rc != NGX_DECLINED) {
        /*
         * strict journal: answered once its change is on disk; the body,
         * which may be on the caller's stack, is kept in one buffer of
         * the request's pool
         */
        if (rc == NGX_DONE) {
            ctx->jstatus = status;
            ctx->jout = ngx_http_runs_keep_chain(r->pool, out, len);
            ctx->jlen = len;

            if (ctx->jout == NULL) {
                ctx->jfailed = 1;
            }
        }

        return rc;
    }

    r->headers_out.status = status;

    if (status == NGX_HTTP_UNPROCESSABLE_ENTITY) {
        /* nginx has no reason phrase of its own for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }

    /* JSON, unless the handler said otherwise (runs_metrics) */
    if (r->headers_out.content_type.len == 0) {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = len;

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, out);
}


/* sends what was written, with a final newline */

ngx_int_t
ngx_http_runs_send_out(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_runs_out_t *o)
{
    ngx_http_runs_out_literal(o, "\n");

    if (o->failed) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "runs: no memory for a response");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_runs_send_chain(r, status, o->first, o->len);
}


/*
 * {"runs": [...]} from snapshots taken newest first (so that a listing's
 * limit keeps the most recent), oldest first in the answer; one buffer,
 * unless strings need escaping
 */

ngx_int_t
ngx_http_runs_send_runs(ngx_http_request_t *r, ngx_http_runs_snap_t *snaps,
    ngx_uint_t n)
{
    size_t               hint;
    ngx_uint_t           i;
    ngx_http_runs_out_t  o;

    hint = 16;

    for (i = 0; i < n; i++) {
        hint += ngx_http_runs_snap_size(&snaps[i]) + 1;
    }

    ngx_http_runs_out_init(&o, r->pool, hint);
    ngx_http_runs_out_literal(&o, "{\"runs\":[");

    for (i = n; i > 0; i--) {
        ngx_http_runs_out_run(&o, &snaps[i - 1]);

        if (i > 1) {
            ngx_http_runs_out_literal(&o, ",");
        }
    }

    ngx_http_runs_out_literal(&o, "]}");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


/* an answer with no body (204) */

ngx_int_t
ngx_http_runs_send_empty(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_int_t             rc;
    ngx_http_runs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    rc = ngx_http_runs_journal_defer(r, ctx);

    if (rc != NGX_DECLINED) {
        if (rc == NGX_DONE) {
            ctx->jstatus = status;
            ctx->jout = NULL;
            ctx->jlen = 0;
        }

        return rc;
    }

    r->headers_out.status = status;
    r->header_only = 1;
    r->headers_out.content_length_n = 0;

    return ngx_http_send_header(r);
}


/* sends a JSON document that is already encoded */

ngx_int_t
ngx_http_runs_send_body(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_runs_send_chain(r, status, &out, len);
}


/* {"detail": "..."}: the text may quote what the client sent */

ngx_int_t
ngx_http_runs_send_detail(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char               *p, *last, *bad;
    va_list               args;
    ngx_str_t             text;
    ngx_http_runs_out_t   o;

    p = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + NGX_MAX_ERROR_STR, fmt, args);
    va_end(args);

    text.data = p;
    text.len = last - p;

    while ((bad = ngx_http_runs_utf8_check(p, last - p)) != NULL) {
        *bad = '?';
        p = bad + 1;
    }

    ngx_http_runs_out_init(&o, r->pool, text.len + 64);
    ngx_http_runs_out_literal(&o, "{\"detail\":");
    ngx_http_runs_out_str(&o, &text);
    ngx_http_runs_out_literal(&o, "}");

    return ngx_http_runs_send_out(r, status, &o);
}


/* a body copied whole into one buffer of the pool */

static ngx_chain_t *
ngx_http_runs_keep_chain(ngx_pool_t *pool, ngx_chain_t *out, size_t len)
{
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    b = ngx_create_temp_buf(pool, ngx_max(len, 1));
    if (b == NULL) {
        return NULL;
    }

    cl = ngx_alloc_chain_link(pool);
    if (cl == NULL) {
        return NULL;
    }

    p = b->pos;

    for ( /* void */ ; out; out = out->next) {
        p = ngx_cpymem(p, out->buf->pos, out->buf->last - out->buf->pos);
    }

    b->last = p;
    cl->buf = b;
    cl->next = NULL;

    return cl;
}


/*
 * An answer held for the journal (ngx_http_runs_journal_defer()): sent
 * once the changes it reports are on disk, or 503 when they could not be
 * written.
 */

static void
ngx_http_runs_send_held(ngx_http_runs_ctx_t *ctx)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ctx->jsending = 1;

    if (ctx->jfailed) {
        rc = ngx_http_runs_send_detail(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                 "The change could not be written to the runs_journal: "
                 "it is not acknowledged");

    } else if (ctx->jout == NULL) {
        rc = ngx_http_runs_send_empty(r, ctx->jstatus);

    } else {
        rc = ngx_http_runs_send_chain(r, ctx->jstatus, ctx->jout, ctx->jlen);
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* answers held until their changes are on disk, whatever happens */
ngx_http_runs_held_kind_t  ngx_http_runs_held_journal = {
    0,
    ngx_http_runs_send_held,
    NULL,
    0,
    0,
    1
};
