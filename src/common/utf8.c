/*
 * utf8.c: the strict UTF-8 decoder (see utf8.h).
 */

#include "common/utf8.h"

#include <string.h>

size_t
utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t   len, i;
    uint32_t c, min;

    if (p[0] < 0x80) {
        len = 1;
        c = p[0];
        min = 0;
    } else if (p[0] >= 0xc2 && p[0] <= 0xdf) {  /* 0xc0, 0xc1: overlong */
        len = 2;
        c = p[0] & 0x1f;
        min = 0x80;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        c = p[0] & 0x0f;
        min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {  /* above: past U+10FFFF */
        len = 4;
        c = p[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;                   /* a continuation byte, or 0xf5..0xff */
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        return 0;                   /* overlong, too large, a surrogate */
    }
    if (cp != NULL) {
        *cp = c;
    }
    return len;
}

size_t
utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len = utf8_decode(p, n, cp);

    if (len == 0) {
        *cp = 0xfffd;
        return 1;
    }
    return len;
}

size_t
utf8_valid_prefix(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0, k;

    while (i < len && (k = utf8_decode(p + i, len - i, NULL)) != 0) {
        i += k;
    }
    return i;
}

size_t
utf8_scrub(char *dst, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i = 0, o = 0, k;

    while (i < len) {
        k = utf8_decode(p + i, len - i, NULL);
        if (k == 0) {
            memcpy(dst + o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
            o += UTF8_REPLACEMENT_LEN;
            i++;
        } else {
            memcpy(dst + o, p + i, k);
            o += k;
            i += k;
        }
    }
    return o;
}

/* the length of the sequence a byte starts; 1 for one that starts none */
static size_t
utf8_lead_len(unsigned char c)
{
    if (c >= 0xc2 && c <= 0xdf) {
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        return 4;
    }
    return 1;
}

size_t
utf8_incomplete_tail(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               i, back;

    /* the last byte that is not a continuation byte, among the last 3:
       a sequence that starts earlier is either complete or not valid */
    for (back = 1; back <= 3 && back <= len; back++) {
        i = len - back;
        if ((p[i] & 0xc0) != 0x80) {
            return utf8_lead_len(p[i]) > back ? back : 0;
        }
    }
    return 0;
}
