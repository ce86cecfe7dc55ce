/*
 * jsonx.c: jansson helpers: parsing answers, building request bodies,
 * passing the server's documents through unmodified.
 */

#include "runsctl/jsonx.h"
#include "runsctl/runsctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *
jsonx_parse_object(const char *buf, size_t len)
{
    json_error_t  err;
    json_t       *v;

    v = json_loadb(buf, len, JSON_ALLOW_NUL, &err);
    if (v == NULL) {
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

const char *
jsonx_string(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

int
jsonx_set_string(json_t *obj, const char *key, const char *s, size_t len,
                 const char *what)
{
    json_t *v = json_stringn(s, len);

    if (v == NULL) {
        /* jansson refuses only invalid UTF-8 (or memory) */
        ctl_error("%s is not valid UTF-8", what);
        return RC_USAGE;
    }
    if (json_object_set_new(obj, key, v) != 0) {
        ctl_error("out of memory building the request");
        return RC_FAIL;
    }
    return RC_OK;
}

char *
jsonx_dump(const json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);

    if (s == NULL) {
        ctl_error("out of memory encoding the request");
    }
    return s;
}

char *
jsonx_detail(const char *body, size_t len)
{
    json_t       *obj, *d;
    char         *text = NULL;

    obj = jsonx_parse_object(body, len);
    if (obj == NULL) {
        return NULL;
    }
    d = json_object_get(obj, "detail");
    if (json_is_string(d)) {
        text = strndup(json_string_value(d), json_string_length(d));
    } else if (d != NULL && !json_is_null(d)) {
        /* not this server's shape, but show it rather than nothing */
        text = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    json_decref(obj);
    return text;
}

int
jsonx_print_raw(const char *body, size_t len)
{
    if (len > 0 && fwrite(body, 1, len, stdout) != len) {
        ctl_error("cannot write to stdout");
        return RC_FAIL;
    }
    if ((len == 0 || body[len - 1] != '\n') && putchar('\n') == EOF) {
        ctl_error("cannot write to stdout");
        return RC_FAIL;
    }
    return RC_OK;
}
