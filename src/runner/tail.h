/*
 * tail.h: the last bytes an executor wrote to stderr, and their text for
 * a run's "error".
 */
#ifndef RUNNER_TAIL_H
#define RUNNER_TAIL_H

#include <stdbool.h>
#include <stddef.h>

#define TAIL_MAX 2048

struct tail {
    char   buf[TAIL_MAX];
    size_t len;
    bool   cut;             /* earlier bytes were dropped */
};

void tail_append(struct tail *t, const char *data, size_t n);
/*
 * the tail as valid UTF-8 (a sequence cut at the start is dropped, invalid
 * bytes become U+FFFD), trailing white space removed, "..." first when
 * earlier output was dropped; malloc'd, NULL when out of memory.
 */
char *tail_text(const struct tail *t);

#endif
