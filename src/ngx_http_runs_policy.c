
/*
 * The name policy (SPEC §11): "runs_name_pattern REGEX;" restricts the
 * session and agent names a location takes beyond the built-in rule
 * (1-60 of ^[A-Za-z0-9][A-Za-z0-9_.-]*$).  The pattern is compiled once,
 * at configuration time, by nginx's ngx_regex (PCRE2, with JIT when
 * "pcre_jit on;"); "nginx -t" refuses one that does not compile, naming
 * the directive.  A name that does not match is answered 422 with the
 * pattern in the detail.
 */


#include "ngx_http_runs.h"


#if (NGX_PCRE)

char *
ngx_http_runs_name_pattern(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_runs_loc_conf_t  *rlcf = conf;

    ngx_str_t            *value;
    ngx_regex_compile_t   rc;
    u_char                errstr[NGX_MAX_CONF_ERRSTR];

    if (rlcf->name_pattern != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        rlcf->name_pattern = NULL;
        return NGX_CONF_OK;
    }

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern = value[1];
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %V",
                           &cmd->name, &rc.err);
        return NGX_CONF_ERROR;
    }

    rlcf->name_pattern = ngx_palloc(cf->pool, sizeof(ngx_http_runs_pattern_t));
    if (rlcf->name_pattern == NULL) {
        return NGX_CONF_ERROR;
    }

    rlcf->name_pattern->regex = rc.regex;
    rlcf->name_pattern->text = value[1];

    return NGX_CONF_OK;
}


#else

char *
ngx_http_runs_name_pattern(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return "needs nginx built with PCRE";
}

#endif


/*
 * Whether "name" (of field "key") may be used here: NGX_OK, or a status
 * with *err
 */

ngx_int_t
ngx_http_runs_check_policy(ngx_http_request_t *r, const char *key,
    ngx_str_t *name, ngx_str_t *err)
{
#if (NGX_PCRE)
    ngx_int_t                  n;
    ngx_http_runs_pattern_t   *pat;
    ngx_http_runs_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);
    pat = rlcf->name_pattern;

    if (pat == NULL || name->data == NULL) {
        return NGX_OK;
    }

    n = ngx_regex_exec(pat->regex, name, NULL, 0);

    if (n >= 0) {
        return NGX_OK;
    }

    if (n != NGX_REGEX_NO_MATCHED) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      ngx_regex_exec_n " failed: %i on \"%V\" using \"%V\"",
                      n, name, &pat->text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->data = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR,
                            "Field '%s' must match the name policy %V "
                            "(runs_name_pattern)", key, &pat->text)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
#else
    return NGX_OK;
#endif
}


/* every name of a comma-separated list (a runner's agents) */

ngx_int_t
ngx_http_runs_check_policy_list(ngx_http_request_t *r, const char *key,
    ngx_str_t *list, ngx_str_t *err)
{
    u_char     *p, *last, *comma;
    ngx_int_t   rc;
    ngx_str_t   name;

    p = list->data;
    last = p + list->len;

    while (p && p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        name.data = p;
        name.len = comma - p;

        rc = ngx_http_runs_check_policy(r, key, &name, err);
        if (rc != NGX_OK) {
            return rc;
        }

        p = comma + 1;
    }

    return NGX_OK;
}
