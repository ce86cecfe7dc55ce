
/*
 * Request bodies: a strict RFC 8259 reader for one JSON object, and the
 * checks every field goes through.
 *
 * Every body the API takes is an object of strings, arrays of names and
 * at most one nested object ("demands").  The reader checks the whole
 * text (nested values of unknown members included), gives the members the
 * caller asked for (strings pointing into the body, or decoded into the
 * request's pool when they hold escapes; arrays and objects as their
 * text, read again by ngx_http_runs_demands.c) and skips the rest: no
 * tree is built.  Strings must be valid UTF-8 and escapes must
 * be well formed (lone surrogates are refused), so whatever is stored can
 * be written back out as JSON without another check.
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_JSON_DEPTH  64


typedef struct {
    u_char                     *start;
    u_char                     *pos;
    u_char                     *end;
    ngx_pool_t                 *pool;
    const char                 *error;     /* static text */
    u_char                     *error_at;
    ngx_uint_t                  nomem;
    ngx_str_t                  *unknown;   /* NULL: unknown members are
                                              skipped; else the first one's
                                              key is set here */
} ngx_http_runs_reader_t;


static ngx_int_t ngx_http_runs_json_value(ngx_http_runs_reader_t *rd,
    ngx_uint_t depth, ngx_http_runs_field_t *f);
static ngx_int_t ngx_http_runs_json_container(ngx_http_runs_reader_t *rd,
    ngx_uint_t depth, ngx_http_runs_field_t *f);
static ngx_int_t ngx_http_runs_json_key(ngx_http_runs_reader_t *rd,
    ngx_str_t *key);
static ngx_int_t ngx_http_runs_json_string(ngx_http_runs_reader_t *rd,
    ngx_str_t *out);
static size_t ngx_http_runs_json_escape(ngx_http_runs_reader_t *rd,
    u_char *p);
static ngx_int_t ngx_http_runs_json_number(ngx_http_runs_reader_t *rd,
    ngx_uint_t *integer);
static ngx_int_t ngx_http_runs_json_members(ngx_http_runs_reader_t *rd,
    ngx_http_runs_field_t *fields, ngx_uint_t nfields);
static ngx_int_t ngx_http_runs_json_malformed(ngx_http_runs_reader_t *rd,
    ngx_str_t *err);
static u_char *ngx_http_runs_json_unescape(u_char *dst, u_char *src,
    u_char *last);
static ngx_int_t ngx_http_runs_json_fail(ngx_http_runs_reader_t *rd,
    u_char *at, const char *error);
static size_t ngx_http_runs_utf8_len(u_char *p, u_char *last);
static ngx_int_t ngx_http_runs_field_error(ngx_pool_t *pool, ngx_str_t *err,
    const char *key, const char *what);
static ngx_int_t ngx_http_runs_json_object(ngx_pool_t *pool, ngx_str_t *body,
    ngx_uint_t empty_ok, ngx_http_runs_field_t *fields, ngx_uint_t nfields,
    ngx_str_t *unknown, ngx_str_t *err);


static ngx_inline void
ngx_http_runs_reader_init(ngx_http_runs_reader_t *rd, ngx_pool_t *pool,
    ngx_str_t *text, ngx_str_t *unknown)
{
    rd->start = text->data;
    rd->pos = text->data;
    rd->end = text->data + text->len;
    rd->pool = pool;
    rd->error = NULL;
    rd->error_at = NULL;
    rd->nomem = 0;
    rd->unknown = unknown;
}


static ngx_inline void
ngx_http_runs_json_skip_ws(ngx_http_runs_reader_t *rd)
{
    while (rd->pos < rd->end
           && (*rd->pos == ' ' || *rd->pos == '\n' || *rd->pos == '\r'
               || *rd->pos == '\t'))
    {
        rd->pos++;
    }
}


ngx_int_t
ngx_http_runs_json_read(ngx_pool_t *pool, ngx_str_t *body,
    ngx_uint_t empty_ok, ngx_http_runs_field_t *fields, ngx_uint_t nfields,
    ngx_str_t *err)
{
    return ngx_http_runs_json_object(pool, body, empty_ok, fields, nfields,
                                     NULL, err);
}


/*
 * A nested object whose members must all be known (the text of a field
 * kept by the reader): an unknown member is refused, naming it, as a
 * member of "key".
 */

ngx_int_t
ngx_http_runs_json_read_known(ngx_pool_t *pool, ngx_str_t *text,
    const char *key, ngx_http_runs_field_t *fields, ngx_uint_t nfields,
    ngx_str_t *err)
{
    ngx_int_t  rc;
    ngx_str_t  unknown;

    unknown.data = NULL;
    unknown.len = 0;

    rc = ngx_http_runs_json_object(pool, text, 0, fields, nfields, &unknown,
                                   err);

    if (rc != NGX_OK || unknown.data == NULL) {
        return rc;
    }

    err->data = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR,
                            "Field '%s' has an unknown member '%V'", key,
                            &unknown)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
}


/*
 * A text that is one JSON array (a JSON-RPC batch): the text of each of
 * its elements, checked as the rest, into "elems" (of ngx_str_t).
 * NGX_OK, or a status with *err.
 */

ngx_int_t
ngx_http_runs_json_elements(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t *elems, ngx_str_t *err)
{
    ngx_str_t               *e;
    ngx_http_runs_field_t    skip;
    ngx_http_runs_reader_t   rd;

    ngx_http_runs_reader_init(&rd, pool, text, NULL);

    skip.key = NULL;

    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos == rd.end || *rd.pos != '[') {
        (void) ngx_http_runs_json_fail(&rd, rd.pos, "'[' expected");
        return ngx_http_runs_json_malformed(&rd, err);
    }

    rd.pos++;
    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos < rd.end && *rd.pos == ']') {
        rd.pos++;
        goto done;
    }

    for ( ;; ) {
        ngx_http_runs_json_skip_ws(&rd);

        e = ngx_array_push(elems);
        if (e == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        e->data = rd.pos;

        if (ngx_http_runs_json_value(&rd, 1, &skip) != NGX_OK) {
            return rd.nomem ? NGX_HTTP_INTERNAL_SERVER_ERROR
                            : ngx_http_runs_json_malformed(&rd, err);
        }

        e->len = rd.pos - e->data;

        ngx_http_runs_json_skip_ws(&rd);

        if (rd.pos < rd.end && *rd.pos == ',') {
            rd.pos++;
            continue;
        }

        if (rd.pos < rd.end && *rd.pos == ']') {
            rd.pos++;
            break;
        }

        (void) ngx_http_runs_json_fail(&rd, rd.pos, "',' or ']' expected");
        return ngx_http_runs_json_malformed(&rd, err);
    }

done:

    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos == rd.end) {
        return NGX_OK;
    }

    (void) ngx_http_runs_json_fail(&rd, rd.pos, "end of text expected");
    return ngx_http_runs_json_malformed(&rd, err);
}


/*
 * The members of a JSON object's text (one checked already, or not): the
 * decoded keys into "keys" and the values' texts into "values" (both of
 * ngx_str_t), in order.  NGX_OK, or a status with *err.
 */

ngx_int_t
ngx_http_runs_json_members_of(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t *keys, ngx_array_t *values, ngx_str_t *err)
{
    ngx_str_t               *k, *v;
    ngx_http_runs_field_t    skip;
    ngx_http_runs_reader_t   rd;

    ngx_http_runs_reader_init(&rd, pool, text, NULL);

    skip.key = NULL;

    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos == rd.end || *rd.pos != '{') {
        (void) ngx_http_runs_json_fail(&rd, rd.pos, "'{' expected");
        return ngx_http_runs_json_malformed(&rd, err);
    }

    rd.pos++;
    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos < rd.end && *rd.pos == '}') {
        return NGX_OK;
    }

    for ( ;; ) {
        ngx_http_runs_json_skip_ws(&rd);

        k = ngx_array_push(keys);
        v = ngx_array_push(values);
        if (k == NULL || v == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_runs_json_key(&rd, k) != NGX_OK) {
            return rd.nomem ? NGX_HTTP_INTERNAL_SERVER_ERROR
                            : ngx_http_runs_json_malformed(&rd, err);
        }

        ngx_http_runs_json_skip_ws(&rd);
        v->data = rd.pos;

        if (ngx_http_runs_json_value(&rd, 1, &skip) != NGX_OK) {
            return rd.nomem ? NGX_HTTP_INTERNAL_SERVER_ERROR
                            : ngx_http_runs_json_malformed(&rd, err);
        }

        v->len = rd.pos - v->data;

        ngx_http_runs_json_skip_ws(&rd);

        if (rd.pos < rd.end && *rd.pos == ',') {
            rd.pos++;
            continue;
        }

        if (rd.pos < rd.end && *rd.pos == '}') {
            return NGX_OK;
        }

        (void) ngx_http_runs_json_fail(&rd, rd.pos, "',' or '}' expected");
        return ngx_http_runs_json_malformed(&rd, err);
    }
}


static ngx_int_t
ngx_http_runs_json_object(ngx_pool_t *pool, ngx_str_t *body,
    ngx_uint_t empty_ok, ngx_http_runs_field_t *fields, ngx_uint_t nfields,
    ngx_str_t *unknown, ngx_str_t *err)
{
    ngx_uint_t               i;
    ngx_http_runs_field_t    skip;
    ngx_http_runs_reader_t   rd;

    for (i = 0; i < nfields; i++) {
        fields[i].type = NGX_HTTP_RUNS_JSON_ABSENT;
        fields[i].value.len = 0;
        fields[i].value.data = NULL;
    }

    ngx_http_runs_reader_init(&rd, pool, body, unknown);

    skip.key = NULL;

    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos == rd.end) {
        if (empty_ok) {
            return NGX_OK;
        }

        ngx_str_set(err, "Request body is required: send a JSON object");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (*rd.pos != '{') {
        /* any other JSON value is well formed but not what is asked for */
        if (ngx_http_runs_json_value(&rd, 0, &skip) == NGX_OK) {
            ngx_http_runs_json_skip_ws(&rd);

            if (rd.pos == rd.end) {
                ngx_str_set(err, "Request body must be a JSON object");
                return NGX_HTTP_UNPROCESSABLE_ENTITY;
            }

            (void) ngx_http_runs_json_fail(&rd, rd.pos,
                                           "end of text expected");
        }

        goto malformed;
    }

    rd.pos++;
    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos < rd.end && *rd.pos == '}') {
        rd.pos++;
        goto done;
    }

    if (ngx_http_runs_json_members(&rd, fields, nfields) != NGX_OK) {
        goto malformed;
    }

done:

    ngx_http_runs_json_skip_ws(&rd);

    if (rd.pos == rd.end) {
        return NGX_OK;
    }

    (void) ngx_http_runs_json_fail(&rd, rd.pos, "end of text expected");

malformed:

    if (rd.error == NULL || rd.nomem) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_runs_json_malformed(&rd, err);
}


/* the members of an object, after its '{', up to and past its '}' */

static ngx_int_t
ngx_http_runs_json_members(ngx_http_runs_reader_t *rd,
    ngx_http_runs_field_t *fields, ngx_uint_t nfields)
{
    ngx_str_t               key;
    ngx_uint_t              i;
    ngx_http_runs_field_t  *f, skip;

    for ( ;; ) {
        if (ngx_http_runs_json_key(rd, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        f = &skip;
        skip.key = NULL;

        for (i = 0; i < nfields; i++) {
            if (ngx_strlen(fields[i].key) == key.len
                && ngx_strncmp(fields[i].key, key.data, key.len) == 0)
            {
                /* a repeated member: the last one counts */
                f = &fields[i];
                break;
            }
        }

        if (f == &skip && rd->unknown && rd->unknown->data == NULL) {
            *rd->unknown = key;
        }

        if (ngx_http_runs_json_value(rd, 1, f) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_http_runs_json_skip_ws(rd);

        if (rd->pos < rd->end && *rd->pos == ',') {
            rd->pos++;
            continue;
        }

        if (rd->pos < rd->end && *rd->pos == '}') {
            rd->pos++;
            return NGX_OK;
        }

        (void) ngx_http_runs_json_fail(rd, rd->pos, "',' or '}' expected");
        return NGX_ERROR;
    }
}


/* where reading stopped, as 1-based line and column (in bytes) */

static ngx_int_t
ngx_http_runs_json_malformed(ngx_http_runs_reader_t *rd, ngx_str_t *err)
{
    u_char      *p, *line;
    ngx_uint_t   ln, col;

    ln = 1;
    line = rd->start;

    for (p = rd->start; p < rd->error_at; p++) {
        if (*p == '\n') {
            ln++;
            line = p + 1;
        }
    }

    col = rd->error_at - line + 1;

    err->data = ngx_pnalloc(rd->pool, NGX_MAX_ERROR_STR);
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR,
                            "Malformed JSON: %s (line %ui, column %ui)",
                            rd->error, ln, col)
               - err->data;

    return NGX_HTTP_BAD_REQUEST;
}


static ngx_int_t
ngx_http_runs_json_fail(ngx_http_runs_reader_t *rd, u_char *at,
    const char *error)
{
    if (rd->error == NULL) {
        rd->error = error;
        rd->error_at = at;
    }

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_runs_json_literal(ngx_http_runs_reader_t *rd, const char *word,
    size_t len)
{
    if ((size_t) (rd->end - rd->pos) < len
        || ngx_strncmp(rd->pos, word, len) != 0)
    {
        return ngx_http_runs_json_fail(rd, rd->pos, "invalid literal");
    }

    rd->pos += len;

    return NGX_OK;
}


/*
 * Reads one value at rd->pos.  f->type tells what it was; a string is
 * decoded into f->value only for a field the caller asked for (f->key).
 */

static ngx_int_t
ngx_http_runs_json_value(ngx_http_runs_reader_t *rd, ngx_uint_t depth,
    ngx_http_runs_field_t *f)
{
    ngx_str_t   s;
    ngx_uint_t  integer;

    if (rd->pos == rd->end) {
        return ngx_http_runs_json_fail(rd, rd->pos, "unexpected end of text");
    }

    f->value.len = 0;
    f->value.data = NULL;

    switch (*rd->pos) {

    case '"':
        f->type = NGX_HTTP_RUNS_JSON_STRING;

        if (f->key == NULL) {
            return ngx_http_runs_json_string(rd, NULL);
        }

        if (ngx_http_runs_json_string(rd, &s) != NGX_OK) {
            return NGX_ERROR;
        }

        f->value = s;
        return NGX_OK;

    case 'n':
        f->type = NGX_HTTP_RUNS_JSON_NULL;
        return ngx_http_runs_json_literal(rd, "null", 4);

    case 't':
        f->type = NGX_HTTP_RUNS_JSON_OTHER;
        ngx_str_set(&f->value, "true");
        return ngx_http_runs_json_literal(rd, "true", 4);

    case 'f':
        f->type = NGX_HTTP_RUNS_JSON_OTHER;
        ngx_str_set(&f->value, "false");
        return ngx_http_runs_json_literal(rd, "false", 5);

    case '{':
    case '[':
        f->type = NGX_HTTP_RUNS_JSON_OTHER;
        return ngx_http_runs_json_container(rd, depth, f);

    default:
        if (*rd->pos == '-' || (*rd->pos >= '0' && *rd->pos <= '9')) {
            s.data = rd->pos;

            if (ngx_http_runs_json_number(rd, &integer) != NGX_OK) {
                return NGX_ERROR;
            }

            f->type = integer ? NGX_HTTP_RUNS_JSON_INTEGER
                              : NGX_HTTP_RUNS_JSON_OTHER;

            /* an integer's text, for a field the caller asked for */
            if (integer && f->key) {
                f->value.data = s.data;
                f->value.len = rd->pos - s.data;
            }

            return NGX_OK;
        }

        return ngx_http_runs_json_fail(rd, rd->pos, "invalid token");
    }
}


/*
 * Reads the object or array at rd->pos (at its '{' or '['), its values
 * read as unknown members at depth + 1; an array's text is kept for a
 * field the caller asked for.
 */

static ngx_int_t
ngx_http_runs_json_container(ngx_http_runs_reader_t *rd, ngx_uint_t depth,
    ngx_http_runs_field_t *f)
{
    u_char                 close;
    ngx_http_runs_field_t  inner;

    if (depth >= NGX_HTTP_RUNS_JSON_DEPTH) {
        return ngx_http_runs_json_fail(rd, rd->pos, "nesting too deep");
    }

    close = (*rd->pos == '{') ? '}' : ']';

    /* an array's or object's text, for a field the caller asked for */
    if (f->key) {
        f->value.data = rd->pos;
    }

    rd->pos++;
    ngx_http_runs_json_skip_ws(rd);

    if (rd->pos < rd->end && *rd->pos == close) {
        rd->pos++;

        if (f->value.data) {
            f->value.len = rd->pos - f->value.data;
        }

        return NGX_OK;
    }

    for ( ;; ) {
        ngx_http_runs_json_skip_ws(rd);

        if (close == '}' && ngx_http_runs_json_key(rd, NULL) != NGX_OK) {
            return NGX_ERROR;
        }

        inner.key = NULL;

        if (ngx_http_runs_json_value(rd, depth + 1, &inner) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_http_runs_json_skip_ws(rd);

        if (rd->pos < rd->end && *rd->pos == ',') {
            rd->pos++;
            continue;
        }

        if (rd->pos < rd->end && *rd->pos == close) {
            rd->pos++;

            if (f->value.data) {
                f->value.len = rd->pos - f->value.data;
            }

            return NGX_OK;
        }

        return ngx_http_runs_json_fail(rd, rd->pos,
                                       close == '}' ? "',' or '}' expected"
                                                    : "',' or ']' expected");
    }
}


/*
 * Reads a member's key and its ':' (whitespace before each skipped);
 * rd->pos is then at the member's value.  With key, the key's decoded
 * text is set.
 */

static ngx_int_t
ngx_http_runs_json_key(ngx_http_runs_reader_t *rd, ngx_str_t *key)
{
    ngx_http_runs_json_skip_ws(rd);

    if (rd->pos == rd->end || *rd->pos != '"') {
        return ngx_http_runs_json_fail(rd, rd->pos, "string or '}' expected");
    }

    if (ngx_http_runs_json_string(rd, key) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_runs_json_skip_ws(rd);

    if (rd->pos == rd->end || *rd->pos != ':') {
        return ngx_http_runs_json_fail(rd, rd->pos, "':' expected");
    }

    rd->pos++;
    ngx_http_runs_json_skip_ws(rd);

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_json_number(ngx_http_runs_reader_t *rd, ngx_uint_t *integer)
{
    u_char  *p, *start;

    p = rd->pos;
    start = p;
    *integer = 1;

    if (*p == '-') {
        p++;
    }

    if (p == rd->end || *p < '0' || *p > '9') {
        return ngx_http_runs_json_fail(rd, start, "invalid number");
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < rd->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < rd->end && *p == '.') {
        *integer = 0;
        p++;

        if (p == rd->end || *p < '0' || *p > '9') {
            return ngx_http_runs_json_fail(rd, start, "invalid number");
        }

        while (p < rd->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < rd->end && (*p == 'e' || *p == 'E')) {
        *integer = 0;
        p++;

        if (p < rd->end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == rd->end || *p < '0' || *p > '9') {
            return ngx_http_runs_json_fail(rd, start, "invalid number");
        }

        while (p < rd->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    rd->pos = p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_json_hex4(u_char *p, uint32_t *cp)
{
    u_char      c;
    uint32_t    v;
    ngx_uint_t  i;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            v = v * 16 + (c - '0');

        } else {
            c |= 0x20;

            if (c < 'a' || c > 'f') {
                return NGX_ERROR;
            }

            v = v * 16 + (c - 'a' + 10);
        }
    }

    *cp = v;

    return NGX_OK;
}


/* the text of a string known to be well formed, its escapes decoded */

static u_char *
ngx_http_runs_json_unescape(u_char *dst, u_char *src, u_char *last)
{
    uint32_t  cp, lo;

    while (src < last) {

        if (*src != '\\') {
            *dst++ = *src++;
            continue;
        }

        switch (src[1]) {
        case 'b': *dst++ = '\b'; src += 2; continue;
        case 'f': *dst++ = '\f'; src += 2; continue;
        case 'n': *dst++ = '\n'; src += 2; continue;
        case 'r': *dst++ = '\r'; src += 2; continue;
        case 't': *dst++ = '\t'; src += 2; continue;
        case 'u': break;
        default:  *dst++ = src[1]; src += 2; continue;
        }

        (void) ngx_http_runs_json_hex4(src + 2, &cp);
        src += 6;

        if (cp >= 0xd800 && cp <= 0xdbff) {
            (void) ngx_http_runs_json_hex4(src + 2, &lo);
            src += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }

        /* UTF-8 is never longer than the escape it comes from */

        if (cp < 0x80) {
            *dst++ = (u_char) cp;

        } else if (cp < 0x800) {
            *dst++ = (u_char) (0xc0 | (cp >> 6));
            *dst++ = (u_char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            *dst++ = (u_char) (0xe0 | (cp >> 12));
            *dst++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            *dst++ = (u_char) (0x80 | (cp & 0x3f));

        } else {
            *dst++ = (u_char) (0xf0 | (cp >> 18));
            *dst++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
            *dst++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            *dst++ = (u_char) (0x80 | (cp & 0x3f));
        }
    }

    return dst;
}


/*
 * Reads the string at rd->pos (at its opening quote).  With out, the
 * decoded text is set; out->data is never NULL then.  A string with no
 * escapes is its own text: out points into the body, which lives as long
 * as the request; one with escapes is decoded into the pool.
 */

static ngx_int_t
ngx_http_runs_json_string(ngx_http_runs_reader_t *rd, ngx_str_t *out)
{
    u_char    *p, *start, *dst;
    size_t     n;
    ngx_uint_t escaped;

    start = rd->pos + 1;
    escaped = 0;

    /* pass 1: find the end, check the text */

    for (p = start; p < rd->end; /* void */) {

        if (*p == '"') {
            break;
        }

        if (*p < 0x20) {
            return ngx_http_runs_json_fail(rd, p,
                                           "control character in string");
        }

        if (*p == '\\') {
            escaped = 1;

            n = ngx_http_runs_json_escape(rd, p);
            if (n == 0) {
                return NGX_ERROR;
            }

            p += n;
            continue;
        }

        if (*p < 0x80) {
            p++;
            continue;
        }

        n = ngx_http_runs_utf8_len(p, rd->end);
        if (n == 0) {
            return ngx_http_runs_json_fail(rd, p, "invalid UTF-8 in string");
        }

        p += n;
    }

    if (p >= rd->end) {
        return ngx_http_runs_json_fail(rd, rd->pos, "unterminated string");
    }

    rd->pos = p + 1;

    if (out == NULL) {
        return NGX_OK;
    }

    /* pass 2: decode; the text is known to be well formed */

    if (!escaped) {
        out->data = start;
        out->len = p - start;
        return NGX_OK;
    }

    out->data = ngx_pnalloc(rd->pool, p - start);
    if (out->data == NULL) {
        rd->nomem = 1;
        return ngx_http_runs_json_fail(rd, start, "out of memory");
    }

    dst = ngx_http_runs_json_unescape(out->data, start, p);

    out->len = dst - out->data;

    return NGX_OK;
}


/*
 * The length of the well-formed escape at p (at its backslash) in a
 * string that started at rd->pos; 0 if it is not, with the error set.
 */

static size_t
ngx_http_runs_json_escape(ngx_http_runs_reader_t *rd, u_char *p)
{
    uint32_t  cp, lo;

    if (p + 1 == rd->end) {
        (void) ngx_http_runs_json_fail(rd, rd->pos, "unterminated string");
        return 0;
    }

    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n':
    case 'r': case 't':
        return 2;

    case 'u':
        if (rd->end - p < 6 || ngx_http_runs_json_hex4(p + 2, &cp) != NGX_OK) {
            (void) ngx_http_runs_json_fail(rd, p, "invalid \\u escape");
            return 0;
        }

        if (cp >= 0xdc00 && cp <= 0xdfff) {
            (void) ngx_http_runs_json_fail(rd, p,
                                           "lone surrogate in \\u escape");
            return 0;
        }

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (rd->end - p < 12 || p[6] != '\\' || p[7] != 'u'
                || ngx_http_runs_json_hex4(p + 8, &lo) != NGX_OK
                || lo < 0xdc00 || lo > 0xdfff)
            {
                (void) ngx_http_runs_json_fail(rd, p,
                                               "lone surrogate in \\u escape");
                return 0;
            }

            return 12;
        }

        return 6;

    default:
        (void) ngx_http_runs_json_fail(rd, p, "invalid escape");
        return 0;
    }
}


/*
 * The length of the well-formed UTF-8 sequence at p (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if it is not.
 */

static size_t
ngx_http_runs_utf8_len(u_char *p, u_char *last)
{
    u_char  c, lo, hi;
    size_t  n, i;

    c = p[0];
    lo = 0x80;
    hi = 0xbf;

    if (c < 0x80) {
        return 1;

    } else if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if ((size_t) (last - p) < n) {
        return 0;
    }

    if (p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


/* the first invalid UTF-8 byte of s, or NULL */

u_char *
ngx_http_runs_utf8_check(u_char *p, size_t len)
{
    size_t   n;
    u_char  *last;

    last = p + len;

    while (p < last) {
        if (*p < 0x80) {
            p++;
            continue;
        }

        n = ngx_http_runs_utf8_len(p, last);
        if (n == 0) {
            return p;
        }

        p += n;
    }

    return NULL;
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


/* a string member, or null/absent when not required (out->data NULL) */

ngx_int_t
ngx_http_runs_field_str(ngx_pool_t *pool, ngx_http_runs_field_t *f,
    ngx_uint_t required, ngx_str_t *out, ngx_str_t *err)
{
    out->len = 0;
    out->data = NULL;

    switch (f->type) {

    case NGX_HTTP_RUNS_JSON_STRING:
        *out = f->value;
        return NGX_OK;

    case NGX_HTTP_RUNS_JSON_ABSENT:
    case NGX_HTTP_RUNS_JSON_NULL:
        if (required) {
            return ngx_http_runs_field_error(pool, err, f->key,
                                             "is required");
        }

        return NGX_OK;

    default:
        return ngx_http_runs_field_error(pool, err, f->key,
                                         "must be a string");
    }
}


/* session and agent names: 1-60 of ^[A-Za-z0-9][A-Za-z0-9_.-]*$ */

ngx_int_t
ngx_http_runs_name_valid(ngx_str_t *name)
{
    u_char  c, *p, *last;

    if (name->len == 0 || name->len > NGX_HTTP_RUNS_NAME_MAX) {
        return 0;
    }

    last = name->data + name->len;

    for (p = name->data; p < last; p++) {
        c = *p;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9'))
        {
            continue;
        }

        if (p != name->data && (c == '_' || c == '.' || c == '-')) {
            continue;
        }

        return 0;
    }

    return 1;
}


ngx_int_t
ngx_http_runs_check_name(ngx_pool_t *pool, const char *key, ngx_str_t *name,
    ngx_str_t *err)
{
    if (!ngx_http_runs_name_valid(name)) {
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
                                         "must be at most "
                                         ngx_value(NGX_HTTP_RUNS_FIELD_MAX)
                                         " bytes");
    }

    return NGX_OK;
}
