/*
 * jsonobj.c: the coordinator's answers as JSON objects (see jsonobj.h).
 */

#include "common/jsonobj.h"

json_t *
jsonobj_parse(const char *buf, size_t len)
{
    json_error_t  err;
    json_t       *v;

    v = json_loadb(buf, len, JSON_ALLOW_NUL, &err);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        v = NULL;
    }
    return v;
}

const char *
jsonobj_string(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}
