/*
 * loop.c: epoll + signalfd + timers (see loop.h).
 */

#include "runner/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64

uint64_t
loop_now_ms(void)
{
    struct timespec ts;

    /* CLOCK_MONOTONIC cannot fail with a valid pointer */
    (void) clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
loop_on_signal(void *arg, uint32_t events)
{
    struct loop             *lp = arg;
    struct signalfd_siginfo  si;
    ssize_t                  n;

    (void) events;
    for ( ;; ) {
        n = read(lp->sigfd, &si, sizeof(si));
        if (n < 0) {
            /* EAGAIN: all read; anything else cannot be acted on here */
            return;
        }
        if (n != (ssize_t) sizeof(si)) {
            return;
        }
        lp->sig_cb(lp->sig_arg, &si);
    }
}

int
loop_init(struct loop *lp, const sigset_t *signals, loop_signal_fn *sig_cb,
          void *sig_arg)
{
    struct epoll_event ev;
    int                e;

    memset(lp, 0, sizeof(*lp));
    lp->sigfd = -1;
    lp->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (lp->epfd < 0) {
        return -1;
    }
    if (sigprocmask(SIG_BLOCK, signals, NULL) != 0) {
        goto failed;
    }
    lp->sigfd = signalfd(-1, signals, SFD_NONBLOCK | SFD_CLOEXEC);
    if (lp->sigfd < 0) {
        goto failed;
    }
    lp->sig_cb = sig_cb;
    lp->sig_arg = sig_arg;
    lp->sigwatch.fd = lp->sigfd;
    lp->sigwatch.cb = loop_on_signal;
    lp->sigwatch.arg = lp;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = &lp->sigwatch;
    if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->sigfd, &ev) != 0) {
        goto failed;
    }
    return 0;

failed:
    e = errno;
    loop_free(lp);
    errno = e;
    return -1;
}

static void
loop_bury(struct loop *lp)
{
    struct watch *w;

    while ((w = lp->dead) != NULL) {
        lp->dead = w->next_dead;
        free(w);
    }
}

void
loop_free(struct loop *lp)
{
    loop_bury(lp);
    if (lp->sigfd >= 0) {
        close(lp->sigfd);
        lp->sigfd = -1;
    }
    if (lp->epfd >= 0) {
        close(lp->epfd);
        lp->epfd = -1;
    }
    lp->timers = NULL;
}

struct watch *
loop_watch(struct loop *lp, int fd, uint32_t events, loop_io_fn *cb, void *arg)
{
    struct epoll_event  ev;
    struct watch       *w;

    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return NULL;
    }
    w->fd = fd;
    w->cb = cb;
    w->arg = arg;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int e = errno;

        free(w);
        errno = e;
        return NULL;
    }
    return w;
}

int
loop_modify(struct loop *lp, struct watch *w, uint32_t events)
{
    struct epoll_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    return epoll_ctl(lp->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void
loop_unwatch(struct loop *lp, struct watch *w)
{
    if (w == NULL) {
        return;
    }
    if (w->fd >= 0) {
        /* EBADF/ENOENT: already closed, which removed it from epoll */
        (void) epoll_ctl(lp->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    }
    w->fd = -1;
    /* events of this batch may still point at it */
    w->next_dead = lp->dead;
    lp->dead = w;
}

void
timer_init(struct timer *t, loop_timer_fn *cb, void *arg)
{
    memset(t, 0, sizeof(*t));
    t->cb = cb;
    t->arg = arg;
}

void
loop_timer_cancel(struct loop *lp, struct timer *t)
{
    struct timer **pp;

    if (!t->armed) {
        return;
    }
    for (pp = &lp->timers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = false;
    t->next = NULL;
}

void
loop_timer_arm(struct loop *lp, struct timer *t, uint64_t delay_ms)
{
    struct timer **pp;

    loop_timer_cancel(lp, t);
    t->due = loop_now_ms() + delay_ms;
    for (pp = &lp->timers; *pp != NULL && (*pp)->due <= t->due; pp = &(*pp)->next) {
        /* after the timers due no later than this one */
    }
    t->next = *pp;
    *pp = t;
    t->armed = true;
}

static void
loop_expire(struct loop *lp)
{
    uint64_t      now = loop_now_ms();
    struct timer *t;

    while (!lp->stop && (t = lp->timers) != NULL && t->due <= now) {
        lp->timers = t->next;
        t->next = NULL;
        t->armed = false;
        t->cb(t->arg);
    }
}

void
loop_stop(struct loop *lp)
{
    lp->stop = true;
}

int
loop_run(struct loop *lp)
{
    struct epoll_event  evs[LOOP_MAX_EVENTS];
    struct watch       *w;
    int                 n, i, timeout;
    uint64_t            now;

    while (!lp->stop) {
        timeout = -1;
        if (lp->timers != NULL) {
            now = loop_now_ms();
            if (lp->timers->due <= now) {
                timeout = 0;
            } else if (lp->timers->due - now > 24 * 3600 * 1000) {
                timeout = 24 * 3600 * 1000;
            } else {
                timeout = (int) (lp->timers->due - now);
            }
        }
        n = epoll_wait(lp->epfd, evs, LOOP_MAX_EVENTS, timeout);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        for (i = 0; i < n && !lp->stop; i++) {
            w = evs[i].data.ptr;
            if (w->fd >= 0) {
                w->cb(w->arg, evs[i].events);
            }
        }
        loop_bury(lp);
        loop_expire(lp);
        loop_bury(lp);
    }
    return 0;
}
