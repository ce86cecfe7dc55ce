/*
 * jsonobj.h: reading the coordinator's answers with jansson: the JSON
 * object of a body, its string members.
 */
#ifndef COMMON_JSONOBJ_H
#define COMMON_JSONOBJ_H

#include <jansson.h>
#include <stddef.h>

/* the JSON object in the len bytes at buf (its strings may hold \u0000),
   to json_decref(); NULL when buf holds anything else, or nothing */
json_t *jsonobj_parse(const char *buf, size_t len);

/* obj[key] when obj is an object and that is a string, else NULL */
const char *jsonobj_string(const json_t *obj, const char *key);

#endif
