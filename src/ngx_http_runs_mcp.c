
/*
 * runs_mcp: the Model Context Protocol's Streamable HTTP transport, so
 * that any MCP client (an agent among them) can start and resume agent
 * sessions and read their results: JSON-RPC 2.0 messages POSTed to the
 * location, answered as application/json (202 for notifications and
 * responses).  A session (Mcp-Session-Id) is made by initialize and
 * carries the protocol version agreed; it is a keyed MAC under the
 * zone's key, so that any worker, after a reload too, knows it without
 * keeping it.  GET and DELETE answer 405: nothing is pushed, and a
 * session ends when its client stops using it.  A tool call that waits
 * for its run (a sync start or resume, a status with wait_seconds) is
 * held like ?wait= until the run ends or runs_mcp_timeout passes.  The
 * tools themselves are ngx_http_runs_mcp_tools.c.
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_MCP_SESSION_LEN  44      /* "mcp" v nonce(24) mac(16) */

#define NGX_HTTP_RUNS_MCP_PARSE_ERROR       -32700
#define NGX_HTTP_RUNS_MCP_INVALID_REQUEST   -32600
#define NGX_HTTP_RUNS_MCP_NO_METHOD         -32601
#define NGX_HTTP_RUNS_MCP_INVALID_PARAMS    -32602


/* the protocol versions served, newest first; batches in 2025-03-26 */
static ngx_str_t  ngx_http_runs_mcp_versions[] = {
    ngx_string("2025-11-25"),
    ngx_string("2025-06-18"),
    ngx_string("2025-03-26"),
    ngx_string("2024-11-05"),
    ngx_null_string
};

#define NGX_HTTP_RUNS_MCP_BATCHES  2
#define NGX_HTTP_RUNS_MCP_BATCH_MAX  32

#define NGX_HTTP_RUNS_NOT_ACCEPTABLE  406


static ngx_int_t ngx_http_runs_mcp_post(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_mcp_batch(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *body);
static ngx_int_t ngx_http_runs_mcp_checks(ngx_http_request_t *r);
static ngx_int_t ngx_http_runs_mcp_known_host(ngx_http_request_t *r,
    u_char *p, u_char *last);
static ngx_int_t ngx_http_runs_mcp_session(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *body);
static ngx_int_t ngx_http_runs_mcp_message(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *text);
static ngx_int_t ngx_http_runs_mcp_request(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *method,
    ngx_str_t *params);
static void ngx_http_runs_mcp_initialize(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *params);
static ngx_int_t ngx_http_runs_mcp_call(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *params);
static ngx_int_t ngx_http_runs_mcp_send(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_uint_t status);
static ngx_int_t ngx_http_runs_mcp_fail(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_uint_t status, ngx_int_t code,
    const char *message);
static void ngx_http_runs_mcp_answer(ngx_http_runs_ctx_t *ctx);
static void ngx_http_runs_mcp_sign(ngx_http_runs_zone_t *zone, u_char *id);
static char *ngx_http_runs_mcp_cstr(ngx_pool_t *pool, ngx_str_t *s);


ngx_http_runs_route_t  ngx_http_runs_mcp_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_POST, 1, ngx_http_runs_mcp_post, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


/* a tool call held until its run ends, or runs_mcp_timeout */
ngx_http_runs_held_kind_t  ngx_http_runs_held_mcp = {
    NGX_HTTP_RUNS_WAIT_RUN,
    ngx_http_runs_mcp_answer,
    NULL,
    0,
    0,
    0
};


static ngx_int_t
ngx_http_runs_mcp_post(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char               *p;
    ngx_int_t             rc;
    ngx_http_runs_mcp_t  *m;

    m = ngx_pcalloc(r->pool, sizeof(ngx_http_runs_mcp_t));
    if (m == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->state = m;
    ngx_http_runs_out_init(&m->out, r->pool, 1024);

    rc = ngx_http_runs_mcp_checks(r);
    if (rc != NGX_OK) {
        return ngx_http_runs_mcp_fail(r, m, rc, NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                   rc == NGX_HTTP_FORBIDDEN
                   ? "Forbidden: the Origin is not this server's (its "
                     "Host, and loopback or a server_name)"
                   : rc == NGX_HTTP_RUNS_NOT_ACCEPTABLE
                   ? "Not Acceptable: the client must accept application/json"
                   : "Unsupported Media Type: send application/json");
    }

    for (p = body->data; p < body->data + body->len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            break;
        }
    }

    m->batch = (p < body->data + body->len && *p == '[');

    rc = ngx_http_runs_mcp_session(r, ctx, m, body);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (!m->batch) {
        rc = ngx_http_runs_mcp_message(r, ctx, m, body);

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_AGAIN && ctx->hold.waiter) {
            return ngx_http_runs_hold(r, ctx, &ngx_http_runs_held_mcp,
                                      m->cln, m->wait_ms);
        }

        if (rc == NGX_DECLINED) {
            /* a message that is not a request: never answered */
            return ngx_http_runs_mcp_fail(r, m, NGX_HTTP_BAD_REQUEST,
                       NGX_HTTP_RUNS_MCP_INVALID_REQUEST, m->invalid);
        }

        return ngx_http_runs_mcp_send(r, m, NGX_HTTP_OK);
    }

    return ngx_http_runs_mcp_batch(r, ctx, m, body);
}


/* a batch (2025-03-26): each answer in one array, in any order */

static ngx_int_t
ngx_http_runs_mcp_batch(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_str_t     err, *elts;
    ngx_uint_t    i;
    ngx_array_t   elems;

    if (ngx_array_init(&elems, r->pool, 8, sizeof(ngx_str_t)) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_runs_json_elements(r->pool, body, &elems, &err);

    if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        return rc;
    }

    if (rc != NGX_OK) {
        m->batch = 0;
        return ngx_http_runs_mcp_fail(r, m, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_RUNS_MCP_PARSE_ERROR,
                                      ngx_http_runs_mcp_cstr(r->pool, &err));
    }

    if (elems.nelts > NGX_HTTP_RUNS_MCP_BATCH_MAX) {
        m->batch = 0;
        return ngx_http_runs_mcp_fail(r, m, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                                      "Invalid Request: a batch of more than "
                                      "32 messages");
    }

    if (elems.nelts == 0) {
        m->batch = 0;
        return ngx_http_runs_mcp_fail(r, m, NGX_HTTP_BAD_REQUEST,
                                      NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                                      "Invalid Request: an empty batch");
    }

    elts = elems.elts;

    ngx_http_runs_out_literal(&m->out, "[");

    for (i = 0; i < elems.nelts; i++) {
        rc = ngx_http_runs_mcp_message(r, ctx, m, &elts[i]);

        if (rc == NGX_ERROR) {
            if (ctx->hold.waiter) {
                /* a call of it was to wait: its waiter goes */
                ngx_http_runs_unwait(ctx);
            }

            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            /* an element that is not a message: its error, with no id */
            ngx_http_runs_mcp_error(m, NULL,
                                    NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                                    m->invalid);
        }
    }

    if (m->held && ctx->hold.waiter) {
        /* the answers so far wait with the one held call */
        return ngx_http_runs_hold(r, ctx, &ngx_http_runs_held_mcp, m->cln,
                                  m->wait_ms);
    }

    return ngx_http_runs_mcp_send(r, m, NGX_HTTP_OK);
}


/*
 * What the transport asks of every POST: JSON in, JSON accepted, and an
 * Origin (a browser's) that is this server's, against DNS rebinding.
 */

static ngx_int_t
ngx_http_runs_mcp_checks(ngx_http_request_t *r)
{
    u_char           *p, *last;
    ngx_str_t        *ct;
    ngx_table_elt_t  *h;

    ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                    : NULL;

    if (ct == NULL || ct->len < sizeof("application/json") - 1
        || ngx_strncasecmp(ct->data, (u_char *) "application/json",
                           sizeof("application/json") - 1) != 0
        || (ct->len > sizeof("application/json") - 1
            && ct->data[sizeof("application/json") - 1] != ';'
            && ct->data[sizeof("application/json") - 1] != ' '))
    {
        return NGX_HTTP_UNSUPPORTED_MEDIA_TYPE;
    }

    h = ngx_http_runs_mcp_header(r, "Accept", sizeof("Accept") - 1);

    if (h && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                              (u_char *) "application/json",
                              sizeof("application/json") - 2) == NULL
        && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                            (u_char *) "application/*",
                            sizeof("application/*") - 2) == NULL
        && ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                            (u_char *) "*/*", sizeof("*/*") - 2) == NULL)
    {
        return NGX_HTTP_RUNS_NOT_ACCEPTABLE;
    }

    h = ngx_http_runs_mcp_header(r, "Origin", sizeof("Origin") - 1);

    if (h == NULL || r->headers_in.host == NULL) {
        return NGX_OK;
    }

    /*
     * scheme://host[:port], the Host header's, and a host this server is
     * known by (loopback, or a server_name): a name that a rebinding
     * points here is neither
     */

    p = ngx_strlcasestrn(h->value.data, h->value.data + h->value.len,
                         (u_char *) "://", 2);
    if (p == NULL) {
        return NGX_HTTP_FORBIDDEN;
    }

    p += 3;
    last = h->value.data + h->value.len;

    if ((size_t) (last - p) != r->headers_in.host->value.len
        || ngx_strncasecmp(p, r->headers_in.host->value.data, last - p) != 0)
    {
        return NGX_HTTP_FORBIDDEN;
    }

    return ngx_http_runs_mcp_known_host(r, p, last);
}


static ngx_int_t
ngx_http_runs_mcp_known_host(ngx_http_request_t *r, u_char *p, u_char *last)
{
    u_char                    *colon;
    size_t                     len;
    ngx_http_core_srv_conf_t  *cscf;

    /* the name without its port ("[::1]:8765" keeps its brackets) */
    colon = (*p == '[') ? ngx_strlchr(p, last, ']') : p;
    colon = colon ? ngx_strlchr(colon, last, ':') : NULL;
    len = (colon ? colon : last) - p;

    if ((len == 9 && ngx_strncasecmp(p, (u_char *) "localhost", 9) == 0)
        || (len == 5 && ngx_strncmp(p, "[::1]", 5) == 0)
        || (len >= 7 && ngx_strncmp(p, "127.", 4) == 0
            && ngx_inet_addr(p, len) != INADDR_NONE))
    {
        return NGX_OK;
    }

    /* the server's name (its first server_name: the others are not kept) */
    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    if (cscf->server_name.len == len && len
        && ngx_strncasecmp(cscf->server_name.data, p, len) == 0)
    {
        return NGX_OK;
    }

    return NGX_HTTP_FORBIDDEN;
}


/*
 * The session: initialize makes one (its id signed with the zone's key,
 * the version agreed in it); every other message must name a valid one.
 * NGX_DECLINED: go on; else the request has been answered.
 */

static ngx_int_t
ngx_http_runs_mcp_session(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *body)
{
    u_char            id[NGX_HTTP_RUNS_MCP_SESSION_LEN];
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    h = ngx_http_runs_mcp_header(r, "Mcp-Session-Id",
                                 sizeof("Mcp-Session-Id") - 1);

    if (h == NULL) {
        /* only an initialize may come without one: it is seen later */
        m->version = NGX_HTTP_RUNS_MCP_VERSIONS;
        return NGX_DECLINED;
    }

    if (h->value.len != NGX_HTTP_RUNS_MCP_SESSION_LEN
        || ngx_strncmp(h->value.data, "mcp", 3) != 0
        || h->value.data[3] < '0'
        || h->value.data[3] >= '0' + NGX_HTTP_RUNS_MCP_VERSIONS)
    {
        goto unknown;
    }

    ngx_memcpy(id, h->value.data, NGX_HTTP_RUNS_MCP_SESSION_LEN);
    ngx_http_runs_mcp_sign(ctx->zone, id);

    if (ngx_strncmp(id, h->value.data, NGX_HTTP_RUNS_MCP_SESSION_LEN) != 0) {
        goto unknown;
    }

    m->version = h->value.data[3] - '0';
    m->session = h->value;

    h = ngx_http_runs_mcp_header(r, "MCP-Protocol-Version",
                                 sizeof("MCP-Protocol-Version") - 1);

    if (h) {
        for (i = 0; ngx_http_runs_mcp_versions[i].len; i++) {
            if (h->value.len == ngx_http_runs_mcp_versions[i].len
                && ngx_strncmp(h->value.data,
                               ngx_http_runs_mcp_versions[i].data,
                               h->value.len) == 0)
            {
                break;
            }
        }

        if (ngx_http_runs_mcp_versions[i].len == 0) {
            m->batch = 0;
            return ngx_http_runs_mcp_fail(r, m, NGX_HTTP_BAD_REQUEST,
                       NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                       "Bad Request: unsupported MCP-Protocol-Version");
        }
    }

    if (m->batch && m->version != NGX_HTTP_RUNS_MCP_BATCHES) {
        m->batch = 0;
        return ngx_http_runs_mcp_fail(r, m, NGX_HTTP_BAD_REQUEST,
                   NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                   "Invalid Request: batches are not part of this session's "
                   "protocol version");
    }

    return NGX_DECLINED;

unknown:

    /* the client starts again with initialize */
    m->batch = 0;
    return ngx_http_runs_mcp_fail(r, m, NGX_HTTP_NOT_FOUND,
                                  NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                                  "Session not found: initialize again");
}


/*
 * One JSON-RPC message: its answer written into m->out (a request's),
 * nothing (a notification, a response).  NGX_OK; NGX_AGAIN: a call is
 * held, answered later; NGX_DECLINED: not a message (m->invalid says
 * why); NGX_ERROR.
 */

static ngx_int_t
ngx_http_runs_mcp_message(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *text)
{
    ngx_int_t               rc;
    ngx_str_t               err, version, method;
    ngx_http_runs_field_t   f[6];

    f[0].key = "jsonrpc";
    f[1].key = "id";
    f[2].key = "method";
    f[3].key = "params";
    f[4].key = "result";
    f[5].key = "error";

    rc = ngx_http_runs_json_read(r->pool, text, 0, f, 6, &err);

    if (rc == NGX_HTTP_INTERNAL_SERVER_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_HTTP_BAD_REQUEST && !m->batch) {
        /* not JSON at all */
        m->parse_error = 1;
        m->invalid = ngx_http_runs_mcp_cstr(r->pool, &err);
        return m->invalid ? NGX_DECLINED : NGX_ERROR;
    }

    if (rc != NGX_OK) {
        m->invalid = "Invalid Request: a message is a JSON object";
        return NGX_DECLINED;
    }

    if (f[0].type != NGX_HTTP_RUNS_JSON_STRING
        || ngx_http_runs_field_str(r->pool, &f[0], 1, &version, &err)
           != NGX_OK
        || version.len != 3 || ngx_strncmp(version.data, "2.0", 3) != 0)
    {
        m->invalid = "Invalid Request: \"jsonrpc\" must be \"2.0\"";
        return NGX_DECLINED;
    }

    if (f[2].type == NGX_HTTP_RUNS_JSON_ABSENT) {
        if (f[4].type != NGX_HTTP_RUNS_JSON_ABSENT
            || f[5].type != NGX_HTTP_RUNS_JSON_ABSENT)
        {
            /* a response to a request of ours: there are none */
            m->accepted = 1;
            return NGX_OK;
        }

        m->invalid = "Invalid Request: no \"method\"";
        return NGX_DECLINED;
    }

    if (f[2].type != NGX_HTTP_RUNS_JSON_STRING) {
        m->invalid = "Invalid Request: \"method\" must be a string";
        return NGX_DECLINED;
    }

    method = f[2].value;

    if (f[3].type != NGX_HTTP_RUNS_JSON_ABSENT
        && (f[3].type != NGX_HTTP_RUNS_JSON_OTHER || f[3].value.data[0] != '{'))
    {
        m->invalid = "Invalid Request: \"params\" must be an object";
        return NGX_DECLINED;
    }

    if (f[1].type == NGX_HTTP_RUNS_JSON_ABSENT) {
        /* a notification (initialized, cancelled, ...): nothing to say */
        m->accepted = 1;
        return NGX_OK;
    }

    /* the id as it goes back: a string written again, an integer as is */

    if (f[1].type == NGX_HTTP_RUNS_JSON_STRING
        || f[1].type == NGX_HTTP_RUNS_JSON_INTEGER)
    {
        m->cur.text = f[1].value;
        m->cur.string = (f[1].type == NGX_HTTP_RUNS_JSON_STRING);

    } else {
        m->invalid = "Invalid Request: \"id\" must be a string or an integer";
        return NGX_DECLINED;
    }

    if (m->version == NGX_HTTP_RUNS_MCP_VERSIONS
        && !(method.len == sizeof("initialize") - 1
             && ngx_strncmp(method.data, "initialize", method.len) == 0))
    {
        /* before initialize, only a ping may be answered */
        if (!(method.len == 4 && ngx_strncmp(method.data, "ping", 4) == 0)) {
            ngx_http_runs_mcp_error(m, &m->cur, NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                                    "Bad Request: no Mcp-Session-Id: "
                                    "initialize first");
            m->status = NGX_HTTP_BAD_REQUEST;
            return NGX_OK;
        }
    }

    return ngx_http_runs_mcp_request(r, ctx, m, &method, &f[3].value);
}


static ngx_int_t
ngx_http_runs_mcp_request(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *method, ngx_str_t *params)
{
#define ngx_http_runs_mcp_is(s)                                               \
    (method->len == sizeof(s) - 1                                            \
     && ngx_strncmp(method->data, s, sizeof(s) - 1) == 0)

    if (ngx_http_runs_mcp_is("initialize")) {
        if (m->batch) {
            ngx_http_runs_mcp_error(m, &m->cur, NGX_HTTP_RUNS_MCP_INVALID_REQUEST,
                                    "Invalid Request: initialize cannot be "
                                    "part of a batch");
            return NGX_OK;
        }

        ngx_http_runs_mcp_initialize(r, ctx, m, params);
        return NGX_OK;
    }

    if (ngx_http_runs_mcp_is("ping")) {
        ngx_http_runs_mcp_result(m, &m->cur);
        ngx_http_runs_out_literal(&m->out, "{}}");
        return NGX_OK;
    }

    if (ngx_http_runs_mcp_is("tools/list")) {
        ngx_http_runs_mcp_result(m, &m->cur);
        ngx_http_runs_mcp_tools_list(&m->out);
        ngx_http_runs_out_literal(&m->out, "}");
        return NGX_OK;
    }

    if (ngx_http_runs_mcp_is("tools/call")) {
        return ngx_http_runs_mcp_call(r, ctx, m, params);
    }

#undef ngx_http_runs_mcp_is

    ngx_http_runs_mcp_error(m, &m->cur, NGX_HTTP_RUNS_MCP_NO_METHOD,
                            "Method not found");
    return NGX_OK;
}


static void
ngx_http_runs_mcp_initialize(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *params)
{
    u_char                 *id, raw[12];
    ngx_str_t               err, want;
    ngx_uint_t              i;
    ngx_table_elt_t        *h;
    ngx_http_runs_field_t   f[1];

    f[0].key = "protocolVersion";

    i = 0;

    if (params->data
        && ngx_http_runs_json_read(r->pool, params, 1, f, 1, &err) == NGX_OK
        && f[0].type == NGX_HTTP_RUNS_JSON_STRING)
    {
        want = f[0].value;

        /* the client's version when it is served, else the newest */
        for (i = 0; ngx_http_runs_mcp_versions[i].len; i++) {
            if (want.len == ngx_http_runs_mcp_versions[i].len
                && ngx_strncmp(want.data, ngx_http_runs_mcp_versions[i].data,
                               want.len) == 0)
            {
                break;
            }
        }

        if (ngx_http_runs_mcp_versions[i].len == 0) {
            i = 0;
        }
    }

    m->version = i;

    id = ngx_pnalloc(r->pool, NGX_HTTP_RUNS_MCP_SESSION_LEN);
    h = ngx_list_push(&r->headers_out.headers);

    if (id == NULL || h == NULL) {
        m->out.failed = 1;
        return;
    }

    /* "mcp", the version, 96 random bits, then their MAC */
    ngx_memcpy(id, "mcp", 3);
    id[3] = (u_char) ('0' + i);

    if (ngx_http_runs_random(r->connection->log, raw, sizeof(raw))
        != NGX_OK)
    {
        m->out.failed = 1;
        return;
    }

    (void) ngx_hex_dump(id + 4, raw, sizeof(raw));

    ngx_http_runs_mcp_sign(ctx->zone, id);

    h->hash = 1;
    ngx_str_set(&h->key, "Mcp-Session-Id");
    h->value.data = id;
    h->value.len = NGX_HTTP_RUNS_MCP_SESSION_LEN;

    ngx_http_runs_mcp_result(m, &m->cur);
    ngx_http_runs_out_literal(&m->out, "{\"protocolVersion\":\"");
    ngx_http_runs_out_raw(&m->out, ngx_http_runs_mcp_versions[i].data,
                          ngx_http_runs_mcp_versions[i].len);
    ngx_http_runs_out_literal(&m->out,
        "\",\"capabilities\":{\"tools\":{\"listChanged\":false}},"
        "\"serverInfo\":{\"name\":\"ngx_http_runs_module\","
        "\"title\":\"Agent runs\",\"version\":\"" NGX_HTTP_RUNS_VERSION "\"},"
        "\"instructions\":\"Start agent sessions, resume them, and read "
        "their answers. list_agent_blueprints says which agents the "
        "runners offer.\"}}");
}


/* tools/call: {"name": ..., "arguments": {...}} */

static ngx_int_t
ngx_http_runs_mcp_call(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *params)
{
    ngx_int_t               rc;
    ngx_str_t               err, name;
    ngx_http_runs_field_t   f[2];

    f[0].key = "name";
    f[1].key = "arguments";

    if (params->data == NULL
        || ngx_http_runs_json_read(r->pool, params, 0, f, 2, &err) != NGX_OK
        || f[0].type != NGX_HTTP_RUNS_JSON_STRING
        || (f[1].type != NGX_HTTP_RUNS_JSON_ABSENT
            && f[1].type != NGX_HTTP_RUNS_JSON_NULL
            && (f[1].type != NGX_HTTP_RUNS_JSON_OTHER
                || f[1].value.data[0] != '{')))
    {
        ngx_http_runs_mcp_error(m, &m->cur, NGX_HTTP_RUNS_MCP_INVALID_PARAMS,
                                "Invalid params: tools/call takes \"name\" "
                                "(a string) and \"arguments\" (an object)");
        return NGX_OK;
    }

    name = f[0].value;

    if (f[1].type != NGX_HTTP_RUNS_JSON_OTHER) {
        ngx_str_set(&f[1].value, "{}");
    }

    rc = ngx_http_runs_mcp_tool(r, ctx, m, &name, &f[1].value);

    if (rc == NGX_DECLINED) {
        ngx_http_runs_mcp_error(m, &m->cur, NGX_HTTP_RUNS_MCP_INVALID_PARAMS,
                                "Unknown tool: see tools/list");
        return NGX_OK;
    }

    return rc;
}


/* the answers written, as one object or an array; 202 when there are none */

static ngx_int_t
ngx_http_runs_mcp_send(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_uint_t status)
{
    if (m->nanswers == 0) {
        return ngx_http_runs_send_empty(r, NGX_HTTP_ACCEPTED);
    }

    if (m->status) {
        status = m->status;
    }

    if (m->batch) {
        /* the batch's "[" was written first */
        ngx_http_runs_out_literal(&m->out, "]");
    }

    return ngx_http_runs_send_out(r, status, &m->out);
}


/* a request that is not answered with a response: an error, no id */

static ngx_int_t
ngx_http_runs_mcp_fail(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_uint_t status, ngx_int_t code, const char *message)
{
    ngx_http_runs_out_init(&m->out, r->pool, 256);
    m->nanswers = 0;
    m->batch = 0;

    if (m->parse_error) {
        code = NGX_HTTP_RUNS_MCP_PARSE_ERROR;
    }

    ngx_http_runs_mcp_error(m, NULL, code, message ? message : "Bad Request");

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    return ngx_http_runs_send_out(r, status, &m->out);
}


/* a held call's run ended, or its time is up: its answer, then the rest */

static void
ngx_http_runs_mcp_answer(ngx_http_runs_ctx_t *ctx)
{
    ngx_int_t             rc;
    ngx_connection_t     *c;
    ngx_http_request_t   *r;
    ngx_http_runs_mcp_t  *m;

    r = ctx->request;
    c = r->connection;
    m = ctx->state;

    ngx_http_runs_mcp_ended(r, m, &m->held_id, m->held, &m->held_session,
                            m->wait_ms, ctx->hold.poll.what
                                        == NGX_HTTP_RUNS_POLL_RUN
                                        ? &ctx->hold.poll.run : NULL);

    rc = ngx_http_runs_mcp_send(r, m, NGX_HTTP_OK);

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* an id's last 16 characters made again: the MAC of what comes before */

static void
ngx_http_runs_mcp_sign(ngx_http_runs_zone_t *zone, u_char *id)
{
    uint64_t   key[2];
    ngx_str_t  v;

    v.data = id;
    v.len = NGX_HTTP_RUNS_MCP_SESSION_LEN - 16;

    ngx_http_runs_store_scope_key(zone, &v, key);

    (void) ngx_hex_dump(id + v.len, (u_char *) key, 8);
}


static char *
ngx_http_runs_mcp_cstr(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_cpymem(p, s->data, s->len) = '\0';

    return (char *) p;
}
