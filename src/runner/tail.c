/*
 * tail.c: keeps the last TAIL_MAX bytes of a stream (see tail.h).
 */

#include "runner/tail.h"

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

/* length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    size_t   len, i;
    unsigned cp;

    if (p[0] == 0) {
        return 0;                       /* a NUL would end the text */
    } else if (p[0] < 0x80) {
        return 1;
    } else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    {
        return 0;
    }
    return len;
}

char *
tail_text(const struct tail *t)
{
    const unsigned char *p = (const unsigned char *) t->buf;
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
    while (i < n) {
        k = utf8_seq(p + i, n - i);
        if (k == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, p + i, k);
            o += k;
            i += k;
        }
    }
    while (o > 0 && (out[o - 1] == '\n' || out[o - 1] == '\r'
                     || out[o - 1] == ' ' || out[o - 1] == '\t'))
    {
        o--;
    }
    out[o] = '\0';
    return out;
}
