/*
 * token.c: runner tokens (see token.h).
 */

#include "common/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
token_ok(const char *s)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/";
    size_t n, pad;

    if (s == NULL) {
        return false;
    }
    n = strspn(s, chars);
    pad = strspn(s + n, "=");
    return n > 0 && s[n + pad] == '\0' && n + pad <= TOKEN_MAX;
}

char *
token_header(const char *token)
{
    char *h;

    if (asprintf(&h, "Authorization: Bearer %s", token) < 0) {
        return NULL;
    }
    return h;
}

void
token_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}
