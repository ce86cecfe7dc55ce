/*
 * token.h: a runner's credentials, the token the coordinator answers to a
 * registration ("rtk_" and 32 hex digits), as agent-runner and runsctl
 * send it: "Authorization: Bearer TOKEN".  A token is a secret: it is
 * kept in memory only, never logged, and wiped when let go.
 */
#ifndef COMMON_TOKEN_H
#define COMMON_TOKEN_H

#include <stdbool.h>

#define TOKEN_MAX 128                   /* characters */

/* what may follow "Bearer " (RFC 6750's b64token): 1 to TOKEN_MAX
   letters, digits, '-', '.', '_', '~', '+', '/', then '=' padding */
bool token_ok(const char *s);

/* "Authorization: Bearer TOKEN" in a string for token_free(); NULL when
   out of memory */
char *token_header(const char *token);

/* s (a token, or a header holding one) wiped, then freed; NULL is fine */
void token_free(char *s);

#endif
