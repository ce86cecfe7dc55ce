/*
 * jsonx.c: jansson helpers: building request bodies, the detail of an
 * error answer, passing the server's documents through unmodified
 * (parsing them: common/jsonobj.c).
 */

#include "runsctl/jsonx.h"
#include "runsctl/runsctl.h"

#include "common/jsonobj.h"
#include "common/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
jsonx_set_string(json_t *obj, const char *key, const char *s, size_t len,
                 const char *what)
{
    json_t *v;

    /* the runner's rule (common/utf8.c); jansson's own check agrees */
    if (utf8_valid_prefix(s, len) != len) {
        ctl_error("%s is not valid UTF-8", what);
        return RC_USAGE;
    }
    v = json_stringn(s, len);
    if (v == NULL || json_object_set_new(obj, key, v) != 0) {
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

    obj = jsonobj_parse(body, len);
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
