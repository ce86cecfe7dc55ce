/*
 * buf.h: a growable byte buffer with an optional size cap, and the
 * libcurl write callback that collects an answer's body in one.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>

/* the largest answer taken from the coordinator: a larger one is not its */
#define BUF_ANSWER_MAX (256u * 1024 * 1024)

struct buf {
    char   *data;           /* NUL-terminated after len bytes; NULL until
                               the first byte */
    size_t  len;
    size_t  cap;
    size_t  max;            /* the most len may reach; 0: no cap */
    bool    too_large;      /* an append was refused for max */
    bool    no_memory;      /* an append could not grow the buffer */
};

/* an empty buffer holding at most max bytes (0: no cap) */
void buf_init(struct buf *b, size_t max);

/* the n bytes at data added to the end: 0, or -1 with nothing added and
   too_large or no_memory set */
int buf_append(struct buf *b, const void *data, size_t n);

/* frees what b holds; b is empty (with the same cap) again */
void buf_free(struct buf *b);

/*
 * CURLOPT_WRITEFUNCTION with a struct buf as CURLOPT_WRITEDATA: every
 * chunk appended; a chunk that does not fit ends the transfer
 * (CURLE_WRITE_ERROR), the buffer's too_large or no_memory says why
 */
size_t buf_curl_write(char *data, size_t size, size_t nmemb, void *userdata);

#endif
