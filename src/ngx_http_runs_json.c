
/*
 * JSON in and out, with jansson allocating from the request's pool (see
 * ngx_http_runs_json_use()), and the checks every field goes through.
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_TIME_LEN  (sizeof("2026-11-24T10:00:01.250Z") - 1)


typedef struct {
    ngx_pool_t  *pool;
    u_char      *start;
    u_char      *pos;
    u_char      *end;
} ngx_http_runs_out_t;


static int ngx_http_runs_dump_cb(const char *buffer, size_t size,
    void *data);


static ngx_str_t  ngx_http_runs_type_names[] = {
    ngx_string("start_session"),
    ngx_string("resume_session")
};


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


static json_t *
ngx_http_runs_json_time(int64_t ms)
{
    u_char  buf[NGX_HTTP_RUNS_TIME_LEN];

    if (ms == 0) {
        return json_null();
    }

    (void) ngx_http_runs_format_time(buf, ms);

    return json_stringn_nocheck((char *) buf, NGX_HTTP_RUNS_TIME_LEN);
}


json_t *
ngx_http_runs_json_str(ngx_str_t *s)
{
    if (s->data == NULL) {
        return json_null();
    }

    /* every stored string was decoded by jansson: it is valid UTF-8 */
    return json_stringn_nocheck((char *) s->data, s->len);
}


json_t *
ngx_http_runs_json_run(ngx_http_runs_snap_t *s)
{
    json_t  *o;

    o = json_object();
    if (o == NULL) {
        return NULL;
    }

    json_object_set_new_nocheck(o, "run_id",
        json_stringn_nocheck((char *) s->id, NGX_HTTP_RUNS_RUN_ID_LEN));
    json_object_set_new_nocheck(o, "type",
        ngx_http_runs_json_str(&ngx_http_runs_type_names[s->type]));
    json_object_set_new_nocheck(o, "session_name",
        ngx_http_runs_json_str(&s->session_name));
    json_object_set_new_nocheck(o, "agent_name",
        ngx_http_runs_json_str(&s->agent_name));
    json_object_set_new_nocheck(o, "prompt",
        ngx_http_runs_json_str(&s->prompt));
    json_object_set_new_nocheck(o, "project_dir",
        ngx_http_runs_json_str(&s->project_dir));
    json_object_set_new_nocheck(o, "parent_session_name",
        ngx_http_runs_json_str(&s->parent));
    json_object_set_new_nocheck(o, "status",
        ngx_http_runs_json_str((ngx_str_t *)
                               &ngx_http_runs_status_names[s->status]));
    json_object_set_new_nocheck(o, "launcher_id",
        s->has_launcher_id
        ? json_stringn_nocheck((char *) s->launcher_id,
                               NGX_HTTP_RUNS_LAUNCHER_ID_LEN)
        : json_null());
    json_object_set_new_nocheck(o, "error", ngx_http_runs_json_str(&s->error));
    json_object_set_new_nocheck(o, "created_at",
                                ngx_http_runs_json_time(s->created_at));
    json_object_set_new_nocheck(o, "claimed_at",
                                ngx_http_runs_json_time(s->claimed_at));
    json_object_set_new_nocheck(o, "started_at",
                                ngx_http_runs_json_time(s->started_at));
    json_object_set_new_nocheck(o, "completed_at",
                                ngx_http_runs_json_time(s->completed_at));

    return o;
}


json_t *
ngx_http_runs_json_launcher(ngx_http_runs_lsnap_t *ls, int64_t now,
    ngx_msec_t heartbeat_timeout)
{
    int64_t   silent;
    json_t   *o;

    o = json_object();
    if (o == NULL) {
        return NULL;
    }

    silent = now - ls->last_heartbeat;
    if (silent < 0) {
        silent = 0;
    }

    json_object_set_new_nocheck(o, "launcher_id",
        json_stringn_nocheck((char *) ls->id, NGX_HTTP_RUNS_LAUNCHER_ID_LEN));
    json_object_set_new_nocheck(o, "hostname",
                                ngx_http_runs_json_str(&ls->hostname));
    json_object_set_new_nocheck(o, "project_dir",
                                ngx_http_runs_json_str(&ls->project_dir));
    json_object_set_new_nocheck(o, "executor_type",
                                ngx_http_runs_json_str(&ls->executor_type));
    json_object_set_new_nocheck(o, "registered_at",
                                ngx_http_runs_json_time(ls->registered_at));
    json_object_set_new_nocheck(o, "last_heartbeat",
                                ngx_http_runs_json_time(ls->last_heartbeat));
    json_object_set_new_nocheck(o, "status",
        json_string_nocheck(silent > (int64_t) heartbeat_timeout
                            ? "stale" : "online"));
    json_object_set_new_nocheck(o, "seconds_since_heartbeat",
                                json_real((double) silent / 1000));
    json_object_set_new_nocheck(o, "deregistering",
                                json_boolean(ls->deregister));

    return o;
}


static int
ngx_http_runs_dump_cb(const char *buffer, size_t size, void *data)
{
    ngx_http_runs_out_t *out = data;

    u_char  *p;
    size_t   len, want;

    if ((size_t) (out->end - out->pos) < size) {
        len = out->pos - out->start;
        want = ngx_max(2 * (size_t) (out->end - out->start), len + size);

        p = ngx_pnalloc(out->pool, want);
        if (p == NULL) {
            return -1;
        }

        ngx_memcpy(p, out->start, len);
        out->start = p;
        out->pos = p + len;
        out->end = p + want;
    }

    out->pos = ngx_cpymem(out->pos, buffer, size);

    return 0;
}


ngx_int_t
ngx_http_runs_send_json(ngx_http_request_t *r, ngx_uint_t status,
    json_t *json)
{
    ngx_http_runs_out_t  o;

    r->headers_out.status = status;

    if (status == NGX_HTTP_UNPROCESSABLE_ENTITY) {
        /* nginx has no reason phrase of its own for 422 */
        ngx_str_set(&r->headers_out.status_line, "422 Unprocessable Entity");
    }

    if (status == NGX_HTTP_NO_CONTENT || json == NULL) {
        r->header_only = 1;
        r->headers_out.content_length_n = 0;
        return ngx_http_send_header(r);
    }

    o.pool = r->pool;
    o.start = ngx_pnalloc(r->pool, 1024);
    if (o.start == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    o.pos = o.start;
    o.end = o.start + 1024;

    if (json_dump_callback(json, ngx_http_runs_dump_cb, &o,
                           JSON_PRESERVE_ORDER|JSON_REAL_PRECISION(6))
        != 0
        || ngx_http_runs_dump_cb("\n", 1, &o) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "runs: encoding a response failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_runs_send_body(r, status, o.start, o.pos - o.start);
}


/* sends a JSON document that is already encoded */

ngx_int_t
ngx_http_runs_send_body(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_length_n = len;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_runs_send_detail(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char   *p, *last;
    json_t   *o;
    va_list   args;

    p = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    va_start(args, fmt);
    last = ngx_vslprintf(p, p + NGX_MAX_ERROR_STR, fmt, args);
    va_end(args);

    o = json_object();
    if (o == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the text may quote what the client sent: let jansson check it */
    if (json_object_set_new_nocheck(o, "detail",
                                    json_stringn((char *) p, last - p))
        != 0)
    {
        json_object_set_new_nocheck(o, "detail",
                                    json_string("invalid request"));
    }

    return ngx_http_runs_send_json(r, status, o);
}


ngx_int_t
ngx_http_runs_json_parse(ngx_pool_t *pool, ngx_str_t *body,
    ngx_uint_t empty_ok, json_t **out, ngx_str_t *err)
{
    u_char        *p;
    size_t         i;
    json_t        *json;
    json_error_t   e;

    *out = NULL;

    for (i = 0; i < body->len; i++) {
        p = &body->data[i];
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            break;
        }
    }

    if (i == body->len) {
        if (empty_ok) {
            return NGX_OK;
        }

        ngx_str_set(err, "Request body is required: send a JSON object");
        return NGX_HTTP_BAD_REQUEST;
    }

    json = json_loadb((char *) body->data, body->len, JSON_ALLOW_NUL|JSON_DECODE_ANY,
                      &e);

    if (json == NULL) {
        err->data = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
        if (err->data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR,
                                "Malformed JSON: %s (line %d, column %d)",
                                e.text, e.line, e.column)
                   - err->data;

        return NGX_HTTP_BAD_REQUEST;
    }

    if (!json_is_object(json)) {
        ngx_str_set(err, "Request body must be a JSON object");
        return NGX_HTTP_UNPROCESSABLE_ENTITY;
    }

    *out = json;

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_field_error(ngx_pool_t *pool, ngx_str_t *err, const char *key,
    const char *what)
{
    err->data = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR, "Field '%s' %s",
                            key, what)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
}


ngx_int_t
ngx_http_runs_json_get_str(ngx_pool_t *pool, json_t *obj, const char *key,
    ngx_uint_t required, ngx_str_t *out, ngx_str_t *err)
{
    json_t  *v;

    out->len = 0;
    out->data = NULL;

    v = obj ? json_object_get(obj, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        if (required) {
            return ngx_http_runs_field_error(pool, err, key, "is required");
        }

        return NGX_OK;
    }

    if (!json_is_string(v)) {
        return ngx_http_runs_field_error(pool, err, key, "must be a string");
    }

    out->len = json_string_length(v);
    out->data = (u_char *) json_string_value(v);

    return NGX_OK;
}


ngx_int_t
ngx_http_runs_check_name(ngx_regex_t *re, ngx_pool_t *pool, const char *key,
    ngx_str_t *name, ngx_str_t *err)
{
    if (name->len == 0 || name->len > NGX_HTTP_RUNS_NAME_MAX
        || ngx_regex_exec(re, name, NULL, 0) < 0)
    {
        return ngx_http_runs_field_error(pool, err, key,
                   "must be 1-60 characters matching "
                   "^[A-Za-z0-9][A-Za-z0-9_.-]*$");
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_runs_check_path(ngx_pool_t *pool, const char *key, ngx_str_t *path,
    ngx_str_t *err)
{
    if (path->data == NULL) {
        return NGX_OK;
    }

    if (path->len == 0 || path->data[0] != '/'
        || ngx_strlchr(path->data, path->data + path->len, '\0') != NULL)
    {
        return ngx_http_runs_field_error(pool, err, key,
                                         "must be an absolute path");
    }

    if (path->len > NGX_HTTP_RUNS_FIELD_MAX) {
        return ngx_http_runs_field_error(pool, err, key,
                                         "must be at most 4096 bytes");
    }

    return NGX_OK;
}
