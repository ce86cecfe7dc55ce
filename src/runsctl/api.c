/*
 * api.c: one call to the coordinator, checked and reported in one place.
 */

#include "runsctl/api.h"
#include "runsctl/jsonx.h"
#include "runsctl/table.h"

#include "common/jsonobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_NAME_MAX 60         /* the API's longest name */

int
api_check_id(const char *command, const char *what, const char *id)
{
    static const char ok[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

    if (id[0] == '\0' || id[0] == '-' || strspn(id, ok) != strlen(id)) {
        return ctl_usage_error(command, "'%s' is not a %s", id, what);
    }
    return RC_OK;
}

int
api_check_name(const char *command, const char *what, const char *name)
{
    static const char ok[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    size_t len = strlen(name);

    if (len == 0 || len > API_NAME_MAX || name[0] == '.' || name[0] == '_'
        || name[0] == '-' || strspn(name, ok) != len)
    {
        return ctl_usage_error(command, "'%s' is not a %s (1 to %d letters, "
                               "digits, '_', '.' or '-', starting with a "
                               "letter or digit)", name, what, API_NAME_MAX);
    }
    return RC_OK;
}

int
api_check_limit(const char *command, const char *value)
{
    if (*value == '\0' || strspn(value, "0123456789") != strlen(value)
        || strlen(value) > 9)
    {
        return ctl_usage_error(command, "--limit '%s': not a number", value);
    }
    return RC_OK;
}

int
api_query_add(struct ctl *ctl, char **query, const char *name,
              const char *value)
{
    char *esc, *q;

    esc = http_escape(ctl->http, value);
    if (esc == NULL) {
        return RC_FAIL;
    }
    if (asprintf(&q, "%s%c%s=%s", *query, (*query)[0] ? '&' : '?', name,
                 esc) < 0)
    {
        free(esc);
        ctl_error("out of memory");
        return RC_FAIL;
    }
    free(esc);
    free(*query);
    *query = q;
    return RC_OK;
}

int
api_query_of(struct ctl *ctl, const char *command, const struct args *a,
             const char *const *param, size_t n, char **query)
{
    int rc = RC_OK;

    *query = NULL;
    for (size_t o = 0; o < n; o++) {
        if (a->given[o] && strcmp(param[o], "limit") == 0
            && api_check_limit(command, a->value[o]) != RC_OK)
        {
            return RC_USAGE;
        }
    }
    *query = strdup("");
    if (*query == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    for (size_t o = 0; o < n && rc == RC_OK; o++) {
        if (a->given[o]) {
            rc = api_query_add(ctl, query, param[o], a->value[o]);
        }
    }
    return rc;
}

char *
api_path(struct ctl *ctl, const char *prefix, const char *segment,
         const char *suffix)
{
    char *esc, *path;

    esc = http_escape(ctl->http, segment);
    if (esc == NULL) {
        return NULL;
    }
    if (asprintf(&path, "%s%s%s", prefix, esc, suffix) < 0) {
        ctl_error("out of memory");
        path = NULL;
    }
    free(esc);
    return path;
}

void
api_report(const char *method, const char *path,
           const struct http_response *res)
{
    char *detail, *clean = NULL;

    detail = jsonx_detail(res->body, res->len);
    if (detail != NULL) {
        clean = text_clean(detail, strlen(detail), 1);
        free(detail);
    }
    if (clean != NULL && clean[0] != '\0') {
        ctl_error("%s (HTTP %ld)", clean, res->status);
    } else {
        ctl_error("%s %s: the server answered without a detail (HTTP %ld)",
                  method, path, res->status);
    }
    free(clean);
}

int
api_call_any(struct ctl *ctl, const char *method, const char *path,
             const json_t *body, long timeout_ms, struct http_response *res,
             json_t **obj)
{
    char *text = NULL;
    int   rc;

    *obj = NULL;
    res->body = NULL;
    res->len = 0;
    res->status = 0;

    if (body != NULL) {
        text = jsonx_dump(body);
        if (text == NULL) {
            return RC_FAIL;
        }
    }
    rc = http_request(ctl->http, method, path, text,
                      text ? strlen(text) : 0, timeout_ms, res);
    free(text);
    if (rc != RC_OK) {
        return rc;
    }

    *obj = jsonobj_parse(res->body, res->len);
    if (*obj == NULL && res->status >= 200 && res->status <= 299) {
        ctl_error("%s %s: the answer (HTTP %ld) is not a JSON object: "
                  "is %s the coordinator?", method, path, res->status,
                  ctl->url);
        http_response_free(res);
        return RC_UNREACHABLE;
    }
    return RC_OK;
}

int
api_call(struct ctl *ctl, const char *method, const char *path,
         const json_t *body, long timeout_ms, struct http_response *res,
         json_t **obj)
{
    int rc;

    rc = api_call_any(ctl, method, path, body, timeout_ms, res, obj);
    if (rc == RC_OK && (res->status < 200 || res->status > 299)) {
        api_report(method, path, res);
        json_decref(*obj);
        *obj = NULL;
        http_response_free(res);
        rc = RC_FAIL;
    }
    return rc;
}

int
api_call_at(struct ctl *ctl, const char *method, const char *prefix,
            const char *segment, const char *suffix, struct http_response *res,
            json_t **obj)
{
    char *path;
    int   rc;

    path = api_path(ctl, prefix, segment, suffix);
    if (path == NULL) {
        return RC_FAIL;
    }
    rc = api_call(ctl, method, path, NULL, API_TIMEOUT_MS, res, obj);
    free(path);
    return rc;
}

int
api_print_json(const struct http_response *res)
{
    return jsonx_print_raw(res->body, res->len);
}

int
api_print_action(const struct ctl *ctl, const struct http_response *res,
                 const json_t *obj, const char *id, const char *what)
{
    const char *msg;
    char       *clean = NULL;
    int         rc = RC_OK;

    if (ctl->json) {
        return api_print_json(res);
    }
    msg = jsonobj_string(obj, "message");
    if (msg != NULL) {
        clean = text_clean(msg, strlen(msg), 1);
        if (clean == NULL) {
            return RC_FAIL;
        }
    }
    if (printf("%s %s%s%s%s\n", id, what, clean ? " (" : "",
               clean ? clean : "", clean ? ")" : "") < 0)
    {
        ctl_error("cannot write to stdout");
        rc = RC_FAIL;
    }
    free(clean);
    return rc;
}


int
api_get_listing(struct ctl *ctl, const char *base, char *query, int rc,
                const char *key, int (*print)(const json_t *list))
{
    char  *path;

    if (rc == RC_OK && asprintf(&path, "%s%s", base, query) < 0) {
        ctl_error("out of memory");
        rc = RC_FAIL;
    }
    free(query);
    if (rc != RC_OK) {
        return rc;
    }
    rc = api_get_list(ctl, path, key, print);
    free(path);
    return rc;
}


int
api_get_list(struct ctl *ctl, const char *path, const char *key,
             int (*print)(const json_t *list))
{
    struct http_response  res;
    json_t               *obj, *list;
    int                   rc;

    rc = api_call(ctl, "GET", path, NULL, API_TIMEOUT_MS, &res, &obj);
    if (rc != RC_OK) {
        return rc;
    }
    list = json_object_get(obj, key);
    if (ctl->json) {
        rc = api_print_json(&res);
    } else if (!json_is_array(list)) {
        ctl_error("GET %s: the answer has no \"%s\" list: is %s the "
                  "coordinator?", path, key, ctl->url);
        rc = RC_UNREACHABLE;
    } else {
        rc = print(list);
    }
    json_decref(obj);
    http_response_free(&res);
    return rc;
}
