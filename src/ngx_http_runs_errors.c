
/*
 * nginx's own error answers in the API's locations, as JSON.
 *
 * Some requests are refused by nginx itself before or while the module
 * reads them: a body over client_max_body_size (413, with a length before
 * the content phase, chunked while it is read), chunked framing nginx
 * cannot parse (400).  nginx answers those with an HTML page (a body that
 * does not come in time, 408, gets no answer at all).  In a location of this module, unless
 * the operator sent them elsewhere with error_page, a header filter turns
 * such a page into the API's {"detail": ...} and the body filter sends
 * that instead of the page.
 */


#include "ngx_http_runs.h"


static ngx_int_t ngx_http_runs_error_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_error_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_runs_errors_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_runs_error_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_runs_error_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_error_header_filter(ngx_http_request_t *r)
{
    u_char                    *p;
    ngx_buf_t                 *b;
    ngx_str_t                  detail;
    ngx_http_runs_ctx_t       *ctx;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_runs_loc_conf_t  *rlcf;
    u_char                     text[NGX_MAX_ERROR_STR];

    if (r->headers_out.status < NGX_HTTP_BAD_REQUEST || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);

    /* nginx's special response pages are the only text/html answers */
    if (rlcf == NULL || rlcf->routes == NULL
        || r->headers_out.content_type.len != sizeof("text/html") - 1
        || ngx_strncmp(r->headers_out.content_type.data, "text/html",
                       sizeof("text/html") - 1) != 0)
    {
        return ngx_http_next_header_filter(r);
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    switch (r->headers_out.status) {

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        p = ngx_snprintf(text, sizeof(text),
                         "Request body too large: the limit "
                         "(client_max_body_size) is %O bytes",
                         clcf->client_max_body_size);
        break;

    case NGX_HTTP_BAD_REQUEST:
        p = ngx_snprintf(text, sizeof(text),
                         "Bad request: nginx could not read it "
                         "(chunked framing, headers)");
        break;

    default:
        p = ngx_snprintf(text, sizeof(text), "Request refused with status %ui",
                         r->headers_out.status);
        break;
    }

    detail.data = text;
    detail.len = p - text;

    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_runs_ctx_t));
        if (ctx == NULL) {
            return NGX_ERROR;
        }

        ctx->request = r;
        ctx->hold.pool = r->pool;
        ngx_queue_init(&ctx->hold.queue);
        ngx_http_set_ctx(r, ctx, ngx_http_runs_module);
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->start = ngx_pnalloc(r->pool, detail.len + sizeof("{\"detail\":\"\"}\n"));
    if (b->start == NULL) {
        return NGX_ERROR;
    }

    /* the texts above need no escaping */
    b->pos = b->start;
    b->last = ngx_sprintf(b->start, "{\"detail\":\"%V\"}\n", &detail);
    b->end = b->last;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    ctx->error_page = b;

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    ngx_http_clear_content_length(r);
    r->headers_out.content_length_n = b->last - b->pos;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_runs_error_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_chain_t           out;
    ngx_http_runs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_runs_module);

    if (ctx == NULL || ctx->error_page == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    if (ctx->error_sent || in == NULL) {
        /* the page nginx wrote is dropped: ours went instead */
        return in ? NGX_OK : ngx_http_next_body_filter(r, in);
    }

    ctx->error_sent = 1;

    out.buf = ctx->error_page;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}
