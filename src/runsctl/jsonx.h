/*
 * jsonx.c: small jansson helpers (reading answers: common/jsonobj.h).
 */

#ifndef RUNSCTL_JSONX_H
#define RUNSCTL_JSONX_H

#include <jansson.h>
#include <stddef.h>

/* set obj[key] to a copy of the len bytes at s (UTF-8); RC_OK, RC_USAGE
   when s is not UTF-8 as common/utf8.h has it (reported, naming what),
   RC_FAIL when out of memory */
int jsonx_set_string(json_t *obj, const char *key, const char *s, size_t len,
                     const char *what);

/* obj compact, in a string to free(); NULL (reported) on failure */
char *jsonx_dump(const json_t *obj);

/* the server's "detail" from an error body, as text to free(), or NULL */
char *jsonx_detail(const char *body, size_t len);

/* the server's document on stdout, byte for byte, ending in a newline */
int jsonx_print_raw(const char *body, size_t len);

#endif
