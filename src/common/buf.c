/*
 * buf.c: the growable byte buffer (see buf.h).
 */

#include "common/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUF_FIRST_CAP 4096

void
buf_init(struct buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max;
}

int
buf_append(struct buf *b, const void *data, size_t n)
{
    size_t  cap, need;
    char   *p;

    if (n == 0) {
        return 0;
    }
    if (b->max != 0 && n > b->max - b->len) {
        b->too_large = true;
        return -1;
    }
    if (n > SIZE_MAX - 1 - b->len) {
        b->no_memory = true;
        return -1;
    }
    need = b->len + n + 1;                  /* and the NUL */
    if (need > b->cap) {
        cap = b->cap ? b->cap : BUF_FIRST_CAP;
        while (cap < need) {
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        }
        p = realloc(b->data, cap);
        if (p == NULL) {
            b->no_memory = true;
            return -1;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void
buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}

size_t
buf_curl_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    size_t n = size * nmemb;

    /* anything but n, 0 among others, makes curl end the transfer */
    return buf_append(userdata, data, n) == 0 ? n : 0;
}
