
/*
 * The routing fields of request bodies (SPEC §13, docs/adr/0012-routing.md):
 * what a runner offers at registration ("agents", "tags", besides its
 * hostname, project_dir and executor_type) and what a run demands
 * ("demands", "affinity").  Names are checked as session names are; a
 * run's demands are kept as one short record (ngx_http_runs_demands_t's
 * layout in ngx_http_runs_store.h).
 */


#include "ngx_http_runs.h"


static int ngx_libc_cdecl ngx_http_runs_name_cmp(const void *a,
    const void *b);
static ngx_int_t ngx_http_runs_field_empty(ngx_pool_t *pool,
    const char *key, ngx_str_t *err);


/* an optional string of at most NGX_HTTP_RUNS_FIELD_MAX bytes */

ngx_int_t
ngx_http_runs_field_text(ngx_pool_t *pool, ngx_http_runs_field_t *f,
    ngx_str_t *out, ngx_str_t *err)
{
    ngx_int_t  rc;

    rc = ngx_http_runs_field_str(pool, f, 0, out, err);

    if (rc != NGX_OK || out->len <= NGX_HTTP_RUNS_FIELD_MAX) {
        return rc;
    }

    err->data = ngx_pnalloc(pool, 64 + ngx_strlen(f->key));
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_sprintf(err->data, "Field '%s' must be at most %d bytes",
                           f->key, NGX_HTTP_RUNS_FIELD_MAX)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
}


/*
 * An optional array of at most "max" names (agents, tags), kept
 * comma-separated; with "sort", sorted and each once (tags, compared as
 * sets).  The reader has checked the array's JSON.
 */

ngx_int_t
ngx_http_runs_field_names(ngx_pool_t *pool, ngx_http_runs_field_t *f,
    ngx_uint_t max, ngx_uint_t sort, ngx_str_t *out, ngx_str_t *err)
{
    u_char      *p, *last, *q, *dst;
    ngx_str_t   *names;
    ngx_uint_t   n, i;

    out->len = 0;
    out->data = NULL;

    if (f->type == NGX_HTTP_RUNS_JSON_ABSENT
        || f->type == NGX_HTTP_RUNS_JSON_NULL)
    {
        return NGX_OK;
    }

    if (f->value.len < 2 || f->value.data[0] != '[') {
        goto invalid;
    }

    /* at most one name in two bytes of the array's text ("a",) */
    names = ngx_palloc(pool, (ngx_min(f->value.len / 2, max) + 1)
                             * sizeof(ngx_str_t));
    dst = ngx_pnalloc(pool, f->value.len);

    if (names == NULL || dst == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = f->value.data + 1;
    last = f->value.data + f->value.len - 1;        /* the ']' */

    for (n = 0; /* void */ ; n++) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == '\n'
                            || *p == '\r' || *p == ','))
        {
            p++;
        }

        if (p == last) {
            break;
        }

        if (*p != '"' || n == max) {
            goto invalid;
        }

        q = ngx_strlchr(p + 1, last, '"');
        if (q == NULL) {
            goto invalid;
        }

        names[n].data = p + 1;
        names[n].len = q - names[n].data;

        /* a valid name has no escape in it: it is the text as it is */
        if (!ngx_http_runs_name_valid(&names[n])) {
            goto invalid;
        }

        p = q + 1;
    }

    if (sort && n > 1) {
        ngx_qsort(names, n, sizeof(ngx_str_t), ngx_http_runs_name_cmp);
    }

    out->data = dst;

    for (i = 0; i < n; i++) {
        if (sort && i && ngx_http_runs_name_cmp(&names[i - 1], &names[i]) == 0)
        {
            continue;
        }

        if (dst != out->data) {
            *dst++ = ',';
        }

        dst = ngx_cpymem(dst, names[i].data, names[i].len);
    }

    out->len = dst - out->data;

    return NGX_OK;

invalid:

    err->data = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR,
                            "Field '%s' must be an array of at most %ui "
                            "names (1-60 characters matching "
                            "^[A-Za-z0-9][A-Za-z0-9_.-]*$)", f->key, max)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
}


static int ngx_libc_cdecl
ngx_http_runs_name_cmp(const void *a, const void *b)
{
    int               rc;
    const ngx_str_t  *x, *y;

    x = a;
    y = b;

    rc = ngx_memcmp(x->data, y->data, ngx_min(x->len, y->len));

    if (rc) {
        return rc;
    }

    return (x->len > y->len) - (x->len < y->len);
}


/* an optional boolean: *out keeps its value when the field is absent */

ngx_int_t
ngx_http_runs_field_bool(ngx_pool_t *pool, ngx_http_runs_field_t *f,
    ngx_uint_t *out, ngx_str_t *err)
{
    if (f->type == NGX_HTTP_RUNS_JSON_ABSENT) {
        return NGX_OK;
    }

    if (f->type == NGX_HTTP_RUNS_JSON_OTHER && f->value.len == 4) {
        *out = 1;
        return NGX_OK;
    }

    if (f->type == NGX_HTTP_RUNS_JSON_OTHER && f->value.len == 5) {
        *out = 0;
        return NGX_OK;
    }

    err->data = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR,
                            "Field '%s' must be true or false", f->key)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
}


/*
 * "demands": an optional object of "tags" (names), "hostname",
 * "project_dir" and "executor_type" (strings); any other member is
 * refused.  *out is the record the store keeps (empty: none).
 */

ngx_int_t
ngx_http_runs_field_demands(ngx_pool_t *pool, ngx_http_runs_field_t *f,
    ngx_str_t *out, ngx_str_t *err)
{
    u_char                   *p;
    uint16_t                  len[4];
    ngx_int_t                 rc;
    ngx_str_t                 v[4];
    ngx_uint_t                i;
    ngx_http_runs_field_t     d[4];

    out->len = 0;
    out->data = NULL;

    if (f->type == NGX_HTTP_RUNS_JSON_ABSENT
        || f->type == NGX_HTTP_RUNS_JSON_NULL)
    {
        return NGX_OK;
    }

    if (f->value.len == 0 || f->value.data[0] != '{') {
        ngx_str_set(err, "Field 'demands' must be an object of 'tags', "
                         "'hostname', 'project_dir' and 'executor_type'");
        return NGX_HTTP_UNPROCESSABLE_ENTITY;
    }

    d[0].key = "tags";
    d[1].key = "hostname";
    d[2].key = "project_dir";
    d[3].key = "executor_type";

    rc = ngx_http_runs_json_read_known(pool, &f->value, "demands", d, 4, err);

    /* read: the keys name the members in errors from here on */
    d[0].key = "demands.tags";
    d[1].key = "demands.hostname";
    d[2].key = "demands.project_dir";
    d[3].key = "demands.executor_type";

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_names(pool, &d[0], NGX_HTTP_RUNS_TAGS_MAX, 1,
                                       &v[0], err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_text(pool, &d[1], &v[1], err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(pool, &d[2], 0, &v[2], err);
        if (rc == NGX_OK) {
            rc = ngx_http_runs_check_path(pool, d[2].key, &v[2], err);
        }
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_text(pool, &d[3], &v[3], err);
    }

    if (rc != NGX_OK) {
        return rc;
    }

    for (i = 1; i < 4; i++) {
        if (v[i].data && v[i].len == 0) {
            return ngx_http_runs_field_empty(pool, d[i].key, err);
        }
    }

    if (v[0].len + v[1].len + v[2].len + v[3].len == 0) {
        /* {} or only empty tags: no demand */
        return NGX_OK;
    }

    out->len = NGX_HTTP_RUNS_DEMANDS_HEAD;

    for (i = 0; i < 4; i++) {
        len[i] = (uint16_t) v[i].len;
        out->len += v[i].len;
    }

    out->data = ngx_pnalloc(pool, out->len);
    if (out->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(out->data, len, sizeof(len));

    for (i = 0; i < 4; i++) {
        if (v[i].len) {
            p = ngx_cpymem(p, v[i].data, v[i].len);
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_field_empty(ngx_pool_t *pool, const char *key, ngx_str_t *err)
{
    err->data = ngx_pnalloc(pool, 64 + ngx_strlen(key));
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_sprintf(err->data, "Field '%s' must not be empty", key)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
}
