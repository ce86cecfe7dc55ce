
/*
 * runs_dashboard: the browser dashboard, served from the module itself.
 * Its files (src/dashboard/) are compiled into the module at build time
 * (ngx_http_runs_dashboard_embed.sh writes them as a C file), so a
 * deployment stays one load_module line and the page needs nothing from
 * the internet.  Besides its files it serves config.json: where the API
 * groups it talks to are mounted, as the directive's parameters say.
 */


#include "ngx_http_runs.h"


/* written by ngx_http_runs_dashboard_embed.sh */
extern const ngx_http_runs_dashboard_file_t  ngx_http_runs_dashboard_files[];


typedef struct {
    ngx_str_t                   key;
    ngx_str_t                   path;       /* the default */
} ngx_http_runs_dashboard_api_t;


static ngx_http_runs_dashboard_api_t  ngx_http_runs_dashboard_apis[] = {
    { ngx_string("runs"), ngx_string("/runs") },
    { ngx_string("sessions"), ngx_string("/sessions") },
    { ngx_string("launchers"), ngx_string("/launchers") },
    { ngx_string("events"), ngx_string("/events") },
    { ngx_string("agents"), ngx_string("/agents") },
    { ngx_null_string, ngx_null_string }
};


static ngx_int_t ngx_http_runs_dashboard_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_dashboard_send(ngx_http_request_t *r,
    ngx_str_t *type, ngx_str_t *etag, const u_char *data, size_t len);
static ngx_int_t ngx_http_runs_dashboard_redirect(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_dashboard_header(ngx_http_request_t *r,
    const char *key, ngx_str_t *value);
static void ngx_http_runs_dashboard_type(ngx_str_t *name, ngx_str_t *type);


/*
 * runs_dashboard [runs=PATH] [sessions=PATH] [launchers=PATH] [events=PATH]
 *     [agents=PATH]
 */

char *
ngx_http_runs_dashboard(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_runs_loc_conf_t *rlcf = conf;

    u_char                         *p;
    size_t                          len;
    ngx_str_t                      *value, path[5], *v;
    ngx_uint_t                      i, k;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_runs_dashboard_api_t  *api;

    if (rlcf->routes || rlcf->dashboard.data) {
        return "conflicts with another runs handler in this location";
    }

    value = cf->args->elts;

    for (k = 0; ngx_http_runs_dashboard_apis[k].key.len; k++) {
        path[k] = ngx_http_runs_dashboard_apis[k].path;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        v = &value[i];

        for (k = 0; ngx_http_runs_dashboard_apis[k].key.len; k++) {
            api = &ngx_http_runs_dashboard_apis[k];

            if (v->len > api->key.len
                && v->data[api->key.len] == '='
                && ngx_strncmp(v->data, api->key.data, api->key.len) == 0)
            {
                break;
            }
        }

        if (ngx_http_runs_dashboard_apis[k].key.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\": expected runs=, "
                               "sessions=, launchers=, events= or agents=",
                               v);
            return NGX_CONF_ERROR;
        }

        path[k].data = v->data + api->key.len + 1;
        path[k].len = v->len - api->key.len - 1;

        /* a path the page can use as it is: no quote, no escape */
        for (p = path[k].data; p < path[k].data + path[k].len; p++) {
            if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\'
                || *p == '?' || *p == '#')
            {
                break;
            }
        }

        if (path[k].len == 0 || path[k].data[0] != '/'
            || p != path[k].data + path[k].len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid path in \"%V\": an absolute path "
                               "without spaces, quotes, \"?\" or \"#\"", v);
            return NGX_CONF_ERROR;
        }
    }

    len = sizeof("{}") - 1;

    for (k = 0; ngx_http_runs_dashboard_apis[k].key.len; k++) {
        len += ngx_http_runs_dashboard_apis[k].key.len + path[k].len
               + sizeof("\"\":\"\",") - 1;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    rlcf->dashboard.data = p;

    *p++ = '{';

    for (k = 0; ngx_http_runs_dashboard_apis[k].key.len; k++) {
        p = ngx_sprintf(p, "%s\"%V\":\"%V\"", k ? "," : "",
                        &ngx_http_runs_dashboard_apis[k].key, &path[k]);
    }

    *p++ = '}';

    rlcf->dashboard.len = p - rlcf->dashboard.data;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->named) {
        return "cannot be used in a named location";
    }

    rlcf->prefix = clcf->name;
    while (rlcf->prefix.len && rlcf->prefix.data[rlcf->prefix.len - 1] == '/')
    {
        rlcf->prefix.len--;
    }

    clcf->handler = ngx_http_runs_dashboard_handler;

    /* "/dashboard" is sent on to "/dashboard/", as for proxy_pass */
    if (clcf->name.len && clcf->name.data[clcf->name.len - 1] == '/') {
        clcf->auto_redirect = 1;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_runs_dashboard_handler(ngx_http_request_t *r)
{
    ngx_int_t                              rc;
    ngx_str_t                              name, type, etag;
    const ngx_http_runs_dashboard_file_t  *f;
    ngx_http_runs_loc_conf_t              *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_runs_send_not_allowed(r, NGX_HTTP_GET);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* the path below the location; a regex location serves it all */

    name = r->uri;

    if (name.len >= rlcf->prefix.len
        && ngx_strncmp(name.data, rlcf->prefix.data, rlcf->prefix.len) == 0)
    {
        name.data += rlcf->prefix.len;
        name.len -= rlcf->prefix.len;
    }

    if (name.len == 0) {
        return ngx_http_runs_dashboard_redirect(r);
    }

    if (name.data[0] != '/') {
        /* "location /dash" and /dashX...: not the dashboard's */
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND, "Not found");
    }

    name.data++;
    name.len--;

    if (name.len == 0) {
        ngx_str_set(&name, "index.html");
    }

    if (name.len == sizeof("config.json") - 1
        && ngx_strncmp(name.data, "config.json", name.len) == 0)
    {
        ngx_str_set(&type, "application/json");
        ngx_str_null(&etag);

        return ngx_http_runs_dashboard_send(r, &type, &etag,
                                            rlcf->dashboard.data,
                                            rlcf->dashboard.len);
    }

    for (f = ngx_http_runs_dashboard_files; f->name.len; f++) {
        if (f->name.len == name.len
            && ngx_strncmp(f->name.data, name.data, name.len) == 0)
        {
            ngx_http_runs_dashboard_type(&name, &type);

            return ngx_http_runs_dashboard_send(r, &type,
                                                (ngx_str_t *) &f->etag,
                                                f->data, f->len);
        }
    }

    if (name.len == sizeof("index.html") - 1
        && ngx_strncmp(name.data, "index.html", name.len) == 0)
    {
        /* a module built without the dashboard's files */
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                   "This nginx module was built without the dashboard's "
                   "files (src/dashboard/)");
    }

    return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND, "Not found");
}


static ngx_int_t
ngx_http_runs_dashboard_send(ngx_http_request_t *r, ngx_str_t *type,
    ngx_str_t *etag, const u_char *data, size_t len)
{
    u_char       *p;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_str_t     v;
    ngx_chain_t   out;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = *type;

    /* the type without its parameters: gzip_types and the like match it */
    p = ngx_strlchr(type->data, type->data + type->len, ';');
    r->headers_out.content_type_len = p ? (size_t) (p - type->data)
                                        : type->len;
    r->headers_out.content_length_n = len;

    /* the browser asks again each time: a 304 while the build is the same */
    ngx_str_set(&v, "no-cache");

    if (ngx_http_runs_dashboard_header(r, "Cache-Control", &v) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&v, "nosniff");

    if (ngx_http_runs_dashboard_header(r, "X-Content-Type-Options", &v)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the page runs its own files only and talks to this origin only */
    ngx_str_set(&v, "default-src 'none'; script-src 'self'; "
                    "style-src 'self'; img-src 'self' data:; "
                    "connect-src 'self'; base-uri 'none'; "
                    "form-action 'none'; frame-ancestors 'none'");

    if (ngx_http_runs_dashboard_header(r, "Content-Security-Policy", &v)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (etag->len) {
        /* the not-modified filter answers If-None-Match with it */
        r->headers_out.etag = ngx_list_push(&r->headers_out.headers);
        if (r->headers_out.etag == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        r->headers_out.etag->hash = 1;
        ngx_str_set(&r->headers_out.etag->key, "ETag");
        r->headers_out.etag->value = *etag;
    }

    if (len == 0 || r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = (u_char *) data;
    b->last = (u_char *) data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* the location without its slash: the page's relative links need it */

static ngx_int_t
ngx_http_runs_dashboard_redirect(ngx_http_request_t *r)
{
    u_char     *p;
    ngx_str_t   v;

    v.len = r->uri.len + 1 + (r->args.len ? r->args.len + 1 : 0);

    p = ngx_pnalloc(r->pool, v.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    v.data = p;
    p = ngx_cpymem(p, r->uri.data, r->uri.len);
    *p++ = '/';

    if (r->args.len) {
        *p++ = '?';
        ngx_memcpy(p, r->args.data, r->args.len);
    }

    r->headers_out.location = ngx_list_push(&r->headers_out.headers);
    if (r->headers_out.location == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.location->hash = 1;
    ngx_str_set(&r->headers_out.location->key, "Location");
    r->headers_out.location->value = v;

    return NGX_HTTP_MOVED_PERMANENTLY;
}


static ngx_int_t
ngx_http_runs_dashboard_header(ngx_http_request_t *r, const char *key,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value = *value;

    return NGX_OK;
}


static void
ngx_http_runs_dashboard_type(ngx_str_t *name, ngx_str_t *type)
{
    u_char  *dot;

    dot = (u_char *) ngx_strlchr(name->data, name->data + name->len, '.');

    while (dot && ngx_strlchr(dot + 1, name->data + name->len, '.')) {
        dot = (u_char *) ngx_strlchr(dot + 1, name->data + name->len, '.');
    }

    ngx_str_set(type, "application/octet-stream");

    if (dot == NULL) {
        return;
    }

    dot++;

#define ngx_http_runs_ext(e)                                                 \
    ((size_t) (name->data + name->len - dot) == sizeof(e) - 1              \
     && ngx_strncmp(dot, e, sizeof(e) - 1) == 0)

    if (ngx_http_runs_ext("html")) {
        ngx_str_set(type, "text/html; charset=utf-8");

    } else if (ngx_http_runs_ext("js")) {
        ngx_str_set(type, "text/javascript; charset=utf-8");

    } else if (ngx_http_runs_ext("css")) {
        ngx_str_set(type, "text/css; charset=utf-8");

    } else if (ngx_http_runs_ext("svg")) {
        ngx_str_set(type, "image/svg+xml");

    } else if (ngx_http_runs_ext("png")) {
        ngx_str_set(type, "image/png");

    } else if (ngx_http_runs_ext("json")) {
        ngx_str_set(type, "application/json");
    }

#undef ngx_http_runs_ext
}
