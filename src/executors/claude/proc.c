/*
 * proc.c: claude as a child process (see proc.h).
 */

#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MAX_BYTES  (64u * 1024 * 1024)     /* longer: skipped */
#define READ_CHUNK      65536

static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t forwarded_term, forwarded_int, forwarded_hup;
static volatile pid_t        child_pid;         /* 0: not started */

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

static void
proc_on_signal(int sig)
{
    volatile sig_atomic_t *done = sig == SIGTERM ? &forwarded_term
                                  : sig == SIGINT ? &forwarded_int : &forwarded_hup;
    int   saved = errno;
    pid_t pid = child_pid;

    if (stop_signal == 0) {
        stop_signal = sig;
    }
    if (!*done && pid > 0) {
        *done = 1;
        /* our own group includes us: this handler runs once more, and
         * then forwards nothing */
        kill(getpgrp() == getpid() ? 0 : pid, sig);
    }
    errno = saved;
}

int
proc_signals(void)
{
    struct sigaction sa;
    size_t           i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {   /* claude closing its stdin */
        return -1;
    }
    sa.sa_handler = proc_on_signal;             /* no SA_RESTART: poll() wakes */
    for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
        if (sigaction(stop_signals[i], &sa, NULL) != 0) {
            return -1;
        }
    }
    return 0;
}

int
proc_stop_signal(void)
{
    return stop_signal;
}

static void
proc_block(int how, sigset_t *old)
{
    sigset_t set;
    size_t   i;

    sigemptyset(&set);
    for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
        sigaddset(&set, stop_signals[i]);
    }
    sigprocmask(how, how == SIG_SETMASK ? old : &set, how == SIG_BLOCK ? old : NULL);
}

/* in the child: default signals, the pipes as 0, 1 and 2, then claude */
static void
proc_child(char *const *argv, int in_fd, int out_fd, int log_fd, int err_fd,
           const sigset_t *mask)
{
    size_t i;
    int    e;

    signal(SIGPIPE, SIG_DFL);
    for (i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
        signal(stop_signals[i], SIG_DFL);
    }
    sigprocmask(SIG_SETMASK, mask, NULL);
    /*
     * the executor's own 0, 1 and 2 are open (its payload came on 0), so
     * the pipes are above 2 and no dup2() overwrites one still needed
     */
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(log_fd, 2) < 0) {
        e = errno;
    } else {
        execvp(argv[0], argv);
        e = errno;
    }
    if (write(err_fd, &e, sizeof(e)) < 0) {
        /* nothing more to do */
    }
    _exit(127);
}

/* fork and exec; 0, or -1 with err */
static int
proc_spawn(char *const *argv, int *in_w, int *out_r, int *log_r, char *err,
           size_t errsize)
{
    int      in[2] = { -1, -1 }, out[2] = { -1, -1 }, lp[2] = { -1, -1 };
    int      ep[2] = { -1, -1 };
    int      e = 0;
    ssize_t  n;
    pid_t    pid;
    sigset_t old;

    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0
        || pipe2(lp, O_CLOEXEC) != 0 || pipe2(ep, O_CLOEXEC) != 0)
    {
        snprintf(err, errsize, "pipe: %s", strerror(errno));
        goto fail;
    }
    proc_block(SIG_BLOCK, &old);
    pid = fork();
    if (pid == 0) {
        proc_child(argv, in[0], out[1], lp[1], ep[1], &old);
    }
    if (pid > 0) {
        child_pid = pid;
    }
    e = errno;
    proc_block(SIG_SETMASK, &old);
    if (pid > 0 && stop_signal != 0) {
        kill(pid, stop_signal);     /* a stop that came before claude did */
    }
    if (pid < 0) {
        snprintf(err, errsize, "fork: %s", strerror(e));
        goto fail;
    }
    close(in[0]);
    close(out[1]);
    close(lp[1]);
    close(ep[1]);
    in[0] = out[1] = lp[1] = ep[1] = -1;
    do {
        n = read(ep[0], &e, sizeof(e));
    } while (n < 0 && errno == EINTR);
    close(ep[0]);
    ep[0] = -1;
    if (n == (ssize_t) sizeof(e)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        child_pid = 0;
        snprintf(err, errsize, "could not run %s: %s", argv[0], strerror(e));
        goto fail;
    }
    *in_w = in[1];
    *out_r = out[0];
    *log_r = lp[0];
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(lp[0], F_SETFL, O_NONBLOCK);
    return 0;

fail:
    for (e = 0; e < 2; e++) {
        if (in[e] >= 0) close(in[e]);
        if (out[e] >= 0) close(out[e]);
        if (lp[e] >= 0) close(lp[e]);
        if (ep[e] >= 0) close(ep[e]);
    }
    return -1;
}

struct lines {
    char   *buf;
    size_t  len, cap;
    bool    skipping;               /* in a line over LINE_MAX_BYTES */
};

/* data read from claude's stdout: whole lines to on_line */
static void
proc_feed(struct lines *l, const char *data, size_t n, proc_line_fn *on_line, void *arg)
{
    const char *nl;
    size_t      take;

    while (n > 0) {
        nl = memchr(data, '\n', n);
        take = nl ? (size_t) (nl - data) : n;
        if (!l->skipping) {
            if (l->len + take > LINE_MAX_BYTES) {
                fprintf(stderr, "agent-executor-claude: skipped a line of claude's output "
                        "longer than %u bytes\n", LINE_MAX_BYTES);
                l->skipping = true;
                l->len = 0;
            } else {
                if (l->len + take + 1 > l->cap) {
                    size_t cap = l->cap ? l->cap : READ_CHUNK;
                    char  *grown;

                    while (cap < l->len + take + 1) {
                        cap *= 2;
                    }
                    grown = realloc(l->buf, cap);
                    if (grown == NULL) {
                        fprintf(stderr, "agent-executor-claude: out of memory: skipped "
                                "a line of claude's output\n");
                        l->skipping = true;
                        l->len = 0;
                        goto next;
                    }
                    l->buf = grown;
                    l->cap = cap;
                }
                memcpy(l->buf + l->len, data, take);
                l->len += take;
            }
        }
    next:
        if (nl == NULL) {
            return;
        }
        if (!l->skipping) {
            l->buf[l->len] = '\0';
            on_line(arg, l->buf, l->len);
        }
        l->len = 0;
        l->skipping = false;
        data += take + 1;
        n -= take + 1;
    }
}

/*
 * bytes of claude's stderr to ours as they are: after our own buffered
 * lines, and whole even when a stop signal interrupts the write
 */
static void
proc_write_log(const char *p, size_t n)
{
    ssize_t w;

    fflush(stderr);
    while (n > 0) {
        w = write(2, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        p += w;
        n -= (size_t) w;
    }
}

/*
 * what claude wrote to its stderr: passed on to ours as it comes (the
 * run's log), its start kept in head; -1 at its end
 */
static int
proc_log(int fd, char *chunk, char *head, size_t head_size, size_t *head_len)
{
    ssize_t n;
    size_t  keep;

    for ( ;; ) {
        n = read(fd, chunk, READ_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return (n < 0 && errno == EAGAIN) ? 0 : -1;
        }
        proc_write_log(chunk, (size_t) n);
        keep = head_size - 1 - *head_len;
        keep = (size_t) n < keep ? (size_t) n : keep;
        memcpy(head + *head_len, chunk, keep);
        *head_len += keep;
        head[*head_len] = '\0';
    }
}

int
proc_run(char *const *argv, const char *prompt, size_t prompt_len,
         proc_line_fn *on_line, void *arg, int *status, char *head, size_t head_size,
         char *err, size_t errsize)
{
    struct lines  l = { NULL, 0, 0, false };
    struct pollfd pfd[3];
    int           in_w, out_r, log_r, rc = 0;
    size_t        sent = 0, head_len = 0;
    ssize_t       n;
    char         *chunk;

    head[0] = '\0';
    chunk = malloc(READ_CHUNK);
    if (chunk == NULL) {
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    if (proc_spawn(argv, &in_w, &out_r, &log_r, err, errsize) != 0) {
        free(chunk);
        return -1;
    }
    if (prompt_len == 0) {
        close(in_w);
        in_w = -1;
    }
    while (out_r >= 0) {
        pfd[0].fd = out_r;
        pfd[0].events = POLLIN;
        pfd[1].fd = in_w;                       /* -1: ignored */
        pfd[1].events = POLLOUT;
        pfd[2].fd = log_r;
        pfd[2].events = POLLIN;
        if (poll(pfd, 3, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            snprintf(err, errsize, "poll: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (in_w >= 0 && (pfd[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            n = write(in_w, prompt + sent, prompt_len - sent);
            if (n > 0) {
                sent += (size_t) n;
            }
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || sent == prompt_len) {
                if (n < 0 && errno != EPIPE) {
                    fprintf(stderr, "agent-executor-claude: writing the prompt to claude: "
                            "%s\n", strerror(errno));
                }
                close(in_w);
                in_w = -1;
            }
        }
        if ((pfd[2].revents & (POLLIN | POLLHUP | POLLERR))
            && proc_log(log_r, chunk, head, head_size, &head_len) != 0)
        {
            close(log_r);
            log_r = -1;
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(out_r, chunk, READ_CHUNK);
            if (n > 0) {
                proc_feed(&l, chunk, (size_t) n, on_line, arg);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                close(out_r);
                out_r = -1;
            }
        }
    }
    if (l.len > 0 && !l.skipping) {             /* a last line without newline */
        l.buf[l.len] = '\0';
        on_line(arg, l.buf, l.len);
    }
    if (in_w >= 0) {
        close(in_w);
    }
    if (out_r >= 0) {
        close(out_r);
    }
    /*
     * what it wrote before its stdout ended; what its own children, who
     * may keep the pipe, write after it is not waited for
     */
    if (log_r >= 0) {
        (void) proc_log(log_r, chunk, head, head_size, &head_len);
        close(log_r);
    }
    free(l.buf);
    free(chunk);
    while (waitpid(child_pid, status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(err, errsize, "waitpid: %s", strerror(errno));
            rc = -1;
            break;
        }
    }
    child_pid = 0;
    return rc;
}
