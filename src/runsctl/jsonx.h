/*
 * jsonx.c: small jansson helpers.
 */

#ifndef RUNSCTL_JSONX_H
#define RUNSCTL_JSONX_H

#include <jansson.h>
#include <stddef.h>

/* the JSON object in buf (strings may hold \u0000), or NULL when buf is
   not a JSON object */
json_t *jsonx_parse_object(const char *buf, size_t len);

/* obj[key] when it is a string, else NULL */
const char *jsonx_string(const json_t *obj, const char *key);

/* set obj[key] to a copy of the len bytes at s (UTF-8); RC_OK, RC_USAGE
   when s is not UTF-8 (reported, naming what), RC_FAIL when out of memory */
int jsonx_set_string(json_t *obj, const char *key, const char *s, size_t len,
                     const char *what);

/* obj compact, in a string to free(); NULL (reported) on failure */
char *jsonx_dump(const json_t *obj);

/* the server's "detail" from an error body, as text to free(), or NULL */
char *jsonx_detail(const char *body, size_t len);

/* the server's document on stdout, byte for byte, ending in a newline */
int jsonx_print_raw(const char *body, size_t len);

#endif
