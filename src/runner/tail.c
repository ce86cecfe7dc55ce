/*
 * tail.c: keeps the last TAIL_MAX bytes of a stream (see tail.h).
 */

#include "runner/tail.h"

#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>

void
tail_append(struct tail *t, const char *data, size_t n)
{
    size_t drop;

    if (n >= TAIL_MAX) {
        t->cut = t->cut || t->len > 0 || n > TAIL_MAX;
        memcpy(t->buf, data + (n - TAIL_MAX), TAIL_MAX);
        t->len = TAIL_MAX;
        return;
    }
    if (t->len + n > TAIL_MAX) {
        drop = t->len + n - TAIL_MAX;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
        t->cut = true;
    }
    memcpy(t->buf + t->len, data, n);
    t->len += n;
}

char *
tail_text(const struct tail *t)
{
    const unsigned char *p = (const unsigned char *) t->buf, *nul;
    size_t               n = t->len, i = 0, o = 0, k;
    char                *out;

    /* room for every byte becoming U+FFFD (3 bytes), "...", NUL */
    out = malloc(n * 3 + 4);
    if (out == NULL) {
        return NULL;
    }
    if (t->cut) {
        memcpy(out, "...", 3);
        o = 3;
        /* continuation bytes of a character whose start was dropped */
        while (i < n && i < 3 && (p[i] & 0xc0) == 0x80) {
            i++;
        }
    }
    /* invalid bytes become U+FFFD, and so does a NUL, which would end the
       text (no sequence holds a 0 byte: cutting there splits none) */
    while (i < n) {
        nul = memchr(p + i, '\0', n - i);
        k = nul != NULL ? (size_t) (nul - p) : n;
        o += utf8_scrub(out + o, t->buf + i, k - i);
        if (k < n) {
            memcpy(out + o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
            o += UTF8_REPLACEMENT_LEN;
            k++;
        }
        i = k;
    }
    while (o > 0 && (out[o - 1] == '\n' || out[o - 1] == '\r'
                     || out[o - 1] == ' ' || out[o - 1] == '\t'))
    {
        o--;
    }
    out[o] = '\0';
    return out;
}
