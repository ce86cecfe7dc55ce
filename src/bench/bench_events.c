/*
 * runs-bench events PORT --streams N --changes K --idle S --master PID
 *
 * N event streams (GET /events) held, spread over the workers by the
 * kernel; first S idle seconds (the nginx processes' CPU over them, no
 * change made), then K changes (a run created in a new session, one at a
 * time, 20 ms apart): for each, the time from the request's sending to
 * each stream's reading of its "run.created" event, and to the last
 * stream's.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "bench.h"


#define EV_MARK  "event: run.created"


typedef struct {
    int       fd;
    int       head;         /* its headers were read */
    size_t    seen;         /* run.created events read */
    char      tail[32];     /* the end of the last read, for a mark cut */
    size_t    tail_len;
} stream_t;


static size_t
count_marks(stream_t *s, const char *data, size_t n)
{
    char        buf[65536 + 64];
    size_t      len, found;
    const char *p, *end;

    len = s->tail_len;
    memcpy(buf, s->tail, len);
    if (n > sizeof(buf) - len) {
        n = sizeof(buf) - len;
    }
    memcpy(buf + len, data, n);
    len += n;

    found = 0;
    p = buf;
    end = buf + len;

    while ((p = memmem(p, (size_t) (end - p), EV_MARK, sizeof(EV_MARK) - 1))
           != NULL)
    {
        found++;
        p += sizeof(EV_MARK) - 1;
    }

    /* keep what may hold the start of a mark cut by this read */
    s->tail_len = len < sizeof(EV_MARK) ? len : sizeof(EV_MARK) - 1;
    memcpy(s->tail, end - s->tail_len, s->tail_len);

    return found;
}


/* reads what stream s has; the run.created events it held */

static size_t
stream_read(stream_t *s)
{
    char     buf[65536];
    char    *h;
    ssize_t  n;
    size_t   found;

    found = 0;

    for ( ;; ) {
        n = read(s->fd, buf, sizeof(buf));

        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return found;
        }

        if (n <= 0) {
            die("events: a stream ended (%s)", n == 0 ? "closed"
                                                      : strerror(errno));
        }

        if (!s->head) {
            h = memmem(buf, (size_t) n, "\r\n\r\n", 4);
            if (h == NULL || strncmp(buf, "HTTP/1.1 200", 12) != 0) {
                die("events: a stream was not held: %.*s", (int) n, buf);
            }
            s->head = 1;
            found += count_marks(s, h + 4, (size_t) (buf + n - (h + 4)));
            continue;
        }

        found += count_marks(s, buf, (size_t) n);
    }
}


/* N streams held: their headers read; the epoll instance they are in */

static int
streams_open(stream_t *st, int nstreams)
{
    int                  i, ep, nev, heads;
    uint64_t             deadline;
    struct epoll_event   ev, evs[256];
    static const char    req[] = "GET /events HTTP/1.1\r\nHost: bench\r\n\r\n";

    ep = epoll_create1(0);
    if (ep == -1) {
        die("epoll_create1: %s", strerror(errno));
    }

    for (i = 0; i < nstreams; i++) {
        st[i].fd = tcp_connect(0);
        send_all(st[i].fd, req, sizeof(req) - 1);
        (void) fcntl(st[i].fd, F_SETFL, O_NONBLOCK);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t) i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, st[i].fd, &ev) == -1) {
            die("epoll_ctl: %s", strerror(errno));
        }
    }

    heads = 0;
    deadline = now_ns() + 10000000000ULL;

    while (heads < nstreams) {
        if (now_ns() > deadline) {
            die("events: %d of %d streams held after 10 s", heads, nstreams);
        }
        nev = epoll_wait(ep, evs, 256, 1000);
        for (i = 0; i < nev; i++) {
            stream_t *s = &st[evs[i].data.u32];
            int had = s->head;
            (void) stream_read(s);
            heads += (s->head && !had);
        }
    }

    return ep;
}


/*
 * K changes one at a time: each stream's time to its event in lat (the
 * count returned), the last stream's in all
 */

static size_t
changes(int ep, stream_t *st, int nstreams, int nchanges, uint64_t *lat,
    uint64_t *all)
{
    int                  i, nev;
    char                 body[512], name[64];
    size_t               k, got, ns;
    conn_t               ctl;
    resp_t               r;
    uint64_t             start, deadline;
    struct epoll_event   evs[256];

    conn_open(&ctl);
    ns = 0;

    for (k = 0; k < (size_t) nchanges; k++) {
        snprintf(name, sizeof(name), "ev-%ld-%zu", (long) getpid(), k);
        create_body(body, sizeof(body), name, prompt100);

        start = now_ns();
        conn_roundtrip(&ctl, "POST", "/runs", body, &r, 201);

        got = 0;
        deadline = start + 10000000000ULL;

        for (i = 0; i < nstreams; i++) {
            if (st[i].seen > k) {
                got++;
            }
        }

        while (got < (size_t) nstreams) {
            if (now_ns() > deadline) {
                die("events: change %zu reached %zu of %d streams in 10 s",
                    k, got, nstreams);
            }
            nev = epoll_wait(ep, evs, 256, 1000);
            for (i = 0; i < nev; i++) {
                stream_t *s = &st[evs[i].data.u32];
                size_t before = s->seen;
                s->seen += stream_read(s);
                if (before <= k && s->seen > k) {
                    lat[ns++] = now_ns() - start;
                    got++;
                }
            }
        }

        all[k] = now_ns() - start;
        sleep_us(20000);
    }

    conn_close(&ctl);

    return ns;
}


int
cmd_events(int argc, char **argv)
{
    int        i, ep, nstreams, nchanges;
    long       master, idle, t0, t1, hz, pids[MAX_WORKERS];
    size_t     npids, ns;
    stream_t  *st;
    uint64_t   w0, w1, *lat, *all;

    nstreams = 1000;
    nchanges = 200;
    idle = 10;
    master = 0;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--streams") == 0 && i + 1 < argc) {
            nstreams = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--changes") == 0 && i + 1 < argc) {
            nchanges = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--idle") == 0 && i + 1 < argc) {
            idle = atol(argv[++i]);
        } else if (strcmp(argv[i], "--master") == 0 && i + 1 < argc) {
            master = atol(argv[++i]);
        } else {
            die("events: unknown argument %s", argv[i]);
        }
    }

    if (master == 0 || nstreams < 1 || nchanges < 1) {
        die("usage: events PORT --streams N --changes K --idle S "
            "--master PID");
    }

    raise_nofile();
    hz = sysconf(_SC_CLK_TCK);
    npids = nginx_pids(master, pids, MAX_WORKERS);

    st = calloc((size_t) nstreams, sizeof(stream_t));
    lat = calloc((size_t) nstreams * (size_t) nchanges, sizeof(uint64_t));
    all = calloc((size_t) nchanges, sizeof(uint64_t));
    if (st == NULL || lat == NULL || all == NULL) {
        die("out of memory");
    }

    ep = streams_open(st, nstreams);

    /* idle: nothing changes */

    t0 = sum_ticks(pids, npids, 0);
    w0 = now_ns();
    sleep_us(idle * 1000000);
    t1 = sum_ticks(pids, npids, 0);
    w1 = now_ns();

    /* changes, one at a time */

    ns = changes(ep, st, nstreams, nchanges, lat, all);

    for (i = 0; i < nstreams; i++) {
        close(st[i].fd);
    }
    close(ep);

    printf("{\"streams\":%d,\"changes\":%d,\"processes\":%zu,"
           "\"idle_seconds\":%.3f,\"idle_cpu_ticks\":%ld,\"hz\":%ld,"
           "\"idle_cpu_percent\":%.3f,",
           nstreams, nchanges, npids, (double) (w1 - w0) / 1e9, t1 - t0, hz,
           100.0 * (double) (t1 - t0) / (double) hz
           / ((double) (w1 - w0) / 1e9));
    print_dist("each_stream", lat, ns);
    printf(",");
    print_dist("all_streams", all, (size_t) nchanges);
    printf("}\n");

    free(st);
    free(lat);
    free(all);

    return 0;
}
