/*
 * backoff.h: capped exponential backoff with jitter for retries.
 */
#ifndef RUNNER_BACKOFF_H
#define RUNNER_BACKOFF_H

#include <stdint.h>

struct backoff {
    uint64_t min_ms;
    uint64_t max_ms;
    uint64_t cur_ms;        /* the next delay before jitter */
    uint64_t rng;           /* splitmix64 state */
};

void backoff_init(struct backoff *b, uint64_t min_ms, uint64_t max_ms);
/* the delay before the next attempt: cur minus up to a quarter, then cur doubles */
uint64_t backoff_next(struct backoff *b);
/* after a success: back to min */
void backoff_reset(struct backoff *b);

#endif
