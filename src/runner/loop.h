/*
 * loop.h: the runner's one event loop: epoll for file descriptors, a
 * signalfd for the signals it handles, and timers kept in a sorted list
 * whose nearest deadline is epoll_wait's timeout.
 */
#ifndef RUNNER_LOOP_H
#define RUNNER_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

typedef void loop_io_fn(void *arg, uint32_t events);
typedef void loop_timer_fn(void *arg);
typedef void loop_signal_fn(void *arg, const struct signalfd_siginfo *si);

/* a file descriptor in the loop */
struct watch {
    int            fd;              /* -1 once unwatched */
    loop_io_fn    *cb;
    void          *arg;
    struct watch  *next_dead;
};

/* embedded in its owner; armed at most once at a time */
struct timer {
    uint64_t       due;             /* loop_now_ms() time */
    bool           armed;
    loop_timer_fn *cb;
    void          *arg;
    struct timer  *next;
};

struct loop {
    int             epfd;
    int             sigfd;
    struct watch    sigwatch;
    loop_signal_fn *sig_cb;
    void           *sig_arg;
    struct timer   *timers;         /* sorted by due */
    struct watch   *dead;           /* unwatched during a batch, freed after it */
    bool            stop;
};

/* milliseconds of CLOCK_MONOTONIC */
uint64_t loop_now_ms(void);

/*
 * signals: blocked here and read from a signalfd; sig_cb gets each.
 * Returns -1 with errno set on failure.
 */
int loop_init(struct loop *lp, const sigset_t *signals, loop_signal_fn *sig_cb,
              void *sig_arg);
void loop_free(struct loop *lp);

/* events: EPOLLIN / EPOLLOUT ...; NULL with errno set on failure */
struct watch *loop_watch(struct loop *lp, int fd, uint32_t events,
                         loop_io_fn *cb, void *arg);
int loop_modify(struct loop *lp, struct watch *w, uint32_t events);
/* removes fd from epoll (it is not closed); w is freed after the batch */
void loop_unwatch(struct loop *lp, struct watch *w);

void timer_init(struct timer *t, loop_timer_fn *cb, void *arg);
void loop_timer_arm(struct loop *lp, struct timer *t, uint64_t delay_ms);
void loop_timer_cancel(struct loop *lp, struct timer *t);

/* dispatches events until loop_stop(); -1 with errno on an epoll failure */
int loop_run(struct loop *lp);
void loop_stop(struct loop *lp);

#endif
