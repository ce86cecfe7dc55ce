
/*
 * Runner credentials (SPEC §11, docs/SECURITY.md): registration answers a
 * secret token, 128 bits from the kernel's random source, and every later
 * call of that runner carries it ("Authorization: Bearer rtk_..."); the
 * zone keeps only a keyed hash of it (ngx_http_runs_store_launchers.c).
 * "runs_launcher_auth off" lets a location take a launcher id alone.
 */


#include "ngx_http_runs.h"

#include <sys/random.h>


#define NGX_HTTP_RUNS_TOKEN_PREFIX  "rtk_"


static ngx_int_t ngx_http_runs_token_parse(ngx_str_t *text, u_char *raw);
static ngx_int_t ngx_http_runs_send_bad_token(ngx_http_request_t *r,
    ngx_uint_t given);


/*
 * A new token: raw (NGX_HTTP_RUNS_TOKEN_RAW bytes) and its text
 * (NGX_HTTP_RUNS_TOKEN_LEN bytes).  NGX_ERROR: no randomness to be had
 * (getrandom() does not block once the kernel's pool is ready, which it
 * is long before nginx starts).
 */

ngx_int_t
ngx_http_runs_token_new(ngx_log_t *log, u_char *raw, u_char *text)
{
    ssize_t  n;

    do {
        n = getrandom(raw, NGX_HTTP_RUNS_TOKEN_RAW, GRND_NONBLOCK);
    } while (n == -1 && ngx_errno == NGX_EINTR);

    if (n != NGX_HTTP_RUNS_TOKEN_RAW) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "getrandom() failed: no runner token can be made");
        return NGX_ERROR;
    }

    text = ngx_cpymem(text, NGX_HTTP_RUNS_TOKEN_PREFIX,
                      sizeof(NGX_HTTP_RUNS_TOKEN_PREFIX) - 1);
    (void) ngx_hex_dump(text, raw, NGX_HTTP_RUNS_TOKEN_RAW);

    return NGX_OK;
}


/* n random bytes (an MCP session's id) */

ngx_int_t
ngx_http_runs_random(ngx_log_t *log, u_char *buf, size_t n)
{
    ssize_t  got;

    do {
        got = getrandom(buf, n, GRND_NONBLOCK);
    } while (got == -1 && ngx_errno == NGX_EINTR);

    if (got != (ssize_t) n) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno, "getrandom() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* "rtk_" and 32 lowercase hex digits into raw; NGX_ERROR: not a token */

static ngx_int_t
ngx_http_runs_token_parse(ngx_str_t *text, u_char *raw)
{
    u_char      *p;
    ngx_int_t    hi, lo;
    ngx_uint_t   i;

    if (text->len != NGX_HTTP_RUNS_TOKEN_LEN
        || ngx_strncmp(text->data, NGX_HTTP_RUNS_TOKEN_PREFIX,
                       sizeof(NGX_HTTP_RUNS_TOKEN_PREFIX) - 1) != 0)
    {
        return NGX_ERROR;
    }

    p = text->data + sizeof(NGX_HTTP_RUNS_TOKEN_PREFIX) - 1;

    for (i = 0; i < NGX_HTTP_RUNS_TOKEN_RAW; i++) {
        hi = ngx_hextoi(p, 1);
        lo = ngx_hextoi(p + 1, 1);

        if (hi == NGX_ERROR || lo == NGX_ERROR) {
            return NGX_ERROR;
        }

        raw[i] = (u_char) (hi << 4 | lo);
        p += 2;
    }

    return NGX_OK;
}


/*
 * Whether the request may act as launcher "id": with runs_launcher_auth
 * on, its "Authorization: Bearer" token must be the launcher's.  NGX_OK,
 * or the request has been answered (401) and *rc is what to return.  An
 * unknown launcher is left to the caller (its own 401, "not registered",
 * which makes a runner register again).
 */

ngx_int_t
ngx_http_runs_launcher_auth(ngx_http_request_t *r, ngx_http_runs_zone_t *zone,
    uint64_t id, ngx_int_t *rc)
{
    u_char                    *p, *last;
    ngx_str_t                  v;
    ngx_uint_t                 found;
    ngx_http_runs_loc_conf_t  *rlcf;
    u_char                     raw[NGX_HTTP_RUNS_TOKEN_RAW];

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);

    if (!rlcf->launcher_auth) {
        return NGX_OK;
    }

    found = 0;

    if (r->headers_in.authorization) {
        p = r->headers_in.authorization->value.data;
        last = p + r->headers_in.authorization->value.len;

        if (last - p > 7 && ngx_strncasecmp(p, (u_char *) "Bearer ", 7) == 0)
        {
            for (p += 7; p < last && *p == ' '; p++) { /* void */ }

            v.data = p;
            v.len = last - p;

            found = (ngx_http_runs_token_parse(&v, raw) == NGX_OK);
        }
    }

    if (!found) {
        ngx_memzero(raw, sizeof(raw));
    }

    switch (ngx_http_runs_store_launcher_auth(zone, id, raw, found)) {

    case NGX_HTTP_RUNS_R_DONE:
    case NGX_HTTP_RUNS_R_NO_LAUNCHER:
        return NGX_OK;

    default:
        break;
    }

    *rc = ngx_http_runs_send_bad_token(r, found);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_runs_send_bad_token(ngx_http_request_t *r, ngx_uint_t given)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    ngx_str_set(&h->value, "Bearer realm=\"runs\"");

    if (!given) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
                   "Launcher token required: send the token registration "
                   "answered as \"Authorization: Bearer rtk_...\"");
    }

    return ngx_http_runs_send_detail(r, NGX_HTTP_UNAUTHORIZED,
               "Launcher token is not this launcher's: register again");
}
