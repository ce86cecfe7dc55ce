/*
 * backoff.c: capped exponential backoff with jitter (see backoff.h).
 */

#include "runner/backoff.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t
backoff_rand(struct backoff *b)
{
    uint64_t z;

    b->rng += 0x9e3779b97f4a7c15ULL;
    z = b->rng;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
backoff_init(struct backoff *b, uint64_t min_ms, uint64_t max_ms)
{
    struct timespec ts;

    b->min_ms = min_ms;
    b->max_ms = max_ms;
    b->cur_ms = min_ms;
    if (getrandom(&b->rng, sizeof(b->rng), GRND_NONBLOCK) != (ssize_t) sizeof(b->rng)) {
        /* no entropy yet: jitter only has to differ between runners */
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        b->rng = (uint64_t) ts.tv_nsec ^ ((uint64_t) getpid() << 32);
    }
}

uint64_t
backoff_next(struct backoff *b)
{
    uint64_t d = b->cur_ms;

    if (d >= 4) {
        d -= backoff_rand(b) % (d / 4 + 1);
    }
    b->cur_ms = b->cur_ms * 2 > b->max_ms ? b->max_ms : b->cur_ms * 2;
    return d;
}

void
backoff_reset(struct backoff *b)
{
    b->cur_ms = b->min_ms;
}
