
/*
 * Run logs over HTTP: a runner posts pieces of a run's log
 * (POST /launcher/runs/{id}/log, in the runner API), a client reads it
 * (GET /runs/{id}/log) or follows it (?follow=1, a held request of its
 * own kind: ngx_http_runs_follow.c).
 */


#include "ngx_http_runs.h"


static const char *ngx_http_runs_log_args(ngx_http_request_t *r,
    uint64_t *offset, ngx_uint_t *follow);


/* GET /runs/{id}/log[?offset=N][&follow=1] */

ngx_int_t
ngx_http_runs_log_read(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    uint64_t                    id, offset;
    ngx_int_t                   rc;
    ngx_uint_t                  follow, refused;
    const char                 *err;
    ngx_buf_t                  *b;
    ngx_chain_t                 out;
    ngx_http_runs_logread_t     rd;
    ngx_http_runs_main_conf_t  *rmcf;

    err = ngx_http_runs_log_args(r, &offset, &follow);
    if (err) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                         "%s", err);
    }

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &id) != NGX_OK
        || ngx_http_runs_store_run_scope(ctx->zone, id, ctx->scope)
           != NGX_HTTP_RUNS_R_DONE)
    {
        return ngx_http_runs_send_no_run(r);
    }

    if (follow && r->method != NGX_HTTP_HEAD) {
        return ngx_http_runs_log_follow(r, ctx, id, offset);
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    /* sized under the lock to what there is (HEAD: nothing is copied) */
    rd.data = NULL;

    switch (ngx_http_runs_store_log_read(ctx->zone, &rmcf->limits, NULL,
                                         id, offset,
                                         r->method == NGX_HTTP_HEAD
                                         ? 0 : rmcf->log_size,
                                         0, r->pool, &rd, &refused))
    {
    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_no_run(r);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* HEAD: the length GET would send */
    r->headers_out.content_length_n = (r->method == NGX_HTTP_HEAD)
                                      ? (off_t) ngx_min(rd.end - rd.start,
                                                        rmcf->log_size)
                                      : (off_t) rd.n;

    rc = ngx_http_runs_log_headers(r, &rd, 0);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = rd.data;
    b->last = rd.data + rd.n;
    b->memory = rd.n ? 1 : 0;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* NULL, or what is wrong with the query */

static const char *
ngx_http_runs_log_args(ngx_http_request_t *r, uint64_t *offset,
    ngx_uint_t *follow)
{
    off_t      n;
    ngx_str_t  v;

    *offset = 0;
    *follow = 0;

    if (ngx_http_runs_get_arg(r, "offset", 6, &v) == NGX_OK) {
        n = ngx_atoof(v.data, v.len);

        if (n == NGX_ERROR) {
            return "Query parameter 'offset' must be a non-negative integer";
        }

        *offset = (uint64_t) n;
    }

    if (ngx_http_runs_get_arg(r, "follow", 6, &v) == NGX_OK) {
        if (v.len == 1 && (v.data[0] == '0' || v.data[0] == '1')) {
            *follow = (v.data[0] == '1');

        } else if (v.len == 4 && ngx_strncmp(v.data, "true", 4) == 0) {
            *follow = 1;

        } else if (!(v.len == 5 && ngx_strncmp(v.data, "false", 5) == 0)) {
            return "Query parameter 'follow' must be 0 or 1";
        }
    }

    return NULL;
}


/* POST /launcher/runs/{id}/log {"launcher_id", "offset", "data"} */

ngx_int_t
ngx_http_runs_log_append(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    off_t                       offset;
    u_char                     *p;
    uint64_t                    lid, rid, end;
    ngx_int_t                   rc;
    ngx_str_t                   err, data, *rid_text;
    ngx_uint_t                  found;
    ngx_http_runs_out_t         o;
    ngx_http_runs_field_t       f[3];
    ngx_http_runs_main_conf_t  *rmcf;

    f[1].key = "offset";
    f[2].key = "data";

    if (ngx_http_runs_launcher_body(r, body, f, 3, &lid, &rc) != NGX_OK) {
        return rc;
    }

    offset = NGX_ERROR;

    if (f[1].type == NGX_HTTP_RUNS_JSON_INTEGER && f[1].value.len
        && f[1].value.data[0] != '-')
    {
        offset = ngx_atoof(f[1].value.data, f[1].value.len);
    }

    if (offset == NGX_ERROR) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "Field 'offset' must be a non-negative integer");
    }

    if (ngx_http_runs_field_str(r->pool, &f[2], 1, &data, &err) != NGX_OK) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                         "%V", &err);
    }

    if (ngx_http_runs_parse_id(&ctx->path_id, "run_", &rid) != NGX_OK) {
        rid = (uint64_t) -1;
    }

    rid_text = &ctx->path_id;
    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);
    end = 0;

    found = ngx_http_runs_store_log_append(ctx->zone, lid, rid,
                                           (uint64_t) offset, &data,
                                           rmcf->log_size, &end);

    switch (found) {

    case NGX_HTTP_RUNS_R_DONE:
        ngx_http_runs_out_init(&o, r->pool, 64);
        p = ngx_http_runs_out_reserve(&o, 64);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_runs_out_commit(&o, ngx_sprintf(p,
                                 "{\"ok\": true, \"offset\": %uL}", end));

        return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);

    case NGX_HTTP_RUNS_R_GAP:
        ngx_http_runs_out_init(&o, r->pool, 160);
        p = ngx_http_runs_out_reserve(&o, 160);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_runs_out_commit(&o, ngx_sprintf(p,
                                 "{\"detail\": \"Log gap: the log of %V "
                                 "ends at %uL, not %O\", \"offset\": %uL}",
                                 rid_text, end, offset, end));

        return ngx_http_runs_send_out(r, NGX_HTTP_CONFLICT, &o);

    case NGX_HTTP_RUNS_R_NO_LAUNCHER:
        return ngx_http_runs_send_no_launcher(r);

    case NGX_HTTP_RUNS_R_NO_RUN:
        return ngx_http_runs_send_no_run(r);

    case NGX_HTTP_RUNS_R_FINISHED:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V has ended: its log is closed", rid_text);

    case NGX_HTTP_RUNS_R_OTHER_HOLDER:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is held by another launcher", rid_text);

    case NGX_HTTP_RUNS_R_NOT_HELD:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                   "Run %V is held by no launcher", rid_text);

    default: /* NGX_HTTP_RUNS_R_REFUSED */
        return ngx_http_runs_send_refused(r, ctx->zone,
                                          NGX_HTTP_RUNS_REFUSED_FULL);
    }
}
