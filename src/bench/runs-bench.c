/*
 * runs-bench: the measurements of "./build.sh bench" that wrk cannot make.
 *
 *   runs-bench fill    PORT N [--conns C] [--depth D] [--prompt BYTES]
 *                      [--prefix P] [--ids FILE] [--until-full]
 *                      [--resume SESSION]
 *       creates N runs (start_session, each its own session; with
 *       --resume, resume_session runs of one session) over C keep-alive
 *       connections with D pipelined requests each; with --until-full,
 *       keeps creating until the zone answers 503
 *   runs-bench latency PORT create|stop [--samples N] [--gap-us U]
 *       time from the request that makes a held poll answerable (a
 *       create, a stop) to the held poll's answer, with the poll held in
 *       the other nginx worker (X-Worker response header)
 *   runs-bench claim   PORT --ids FILE [--samples N]
 *       GET /runs/{id} of random stored runs, and create then claim, one
 *       request at a time on one connection
 *   runs-bench idle    PORT --polls N --seconds S --master PID
 *       N registered launchers each with a held poll; CPU of the nginx
 *       master and workers over S idle seconds, from /proc/PID/stat
 *   runs-bench e2e     PORT --runs N [--sequential K] --master PID
 *                      --runner PID
 *       K runs one at a time (latency), then N runs at once (runs/s); each
 *       run's time split by its timestamps, and the CPU time of nginx, the
 *       runner and its executors (the runner's cutime/cstime)
 *
 *   runs-bench loglat  PORT [--samples N] [--piece BYTES] [--gap-us U]
 *       time from a log piece's post to its last byte at a follower
 *       (GET /runs/{id}/log?follow=1) held in the other nginx worker
 *   runs-bench logtput PORT --master PID [--runs R] [--seconds S]
 *                      [--piece BYTES] [--ceiling]
 *       R runs each with one connection posting log pieces back to back
 *       and one follower in the other worker: MB/s posted and delivered,
 *       nginx CPU per MB; --ceiling: the same posts, no runs, no followers
 *   runs-bench done    PORT N [--conns C] [--result BYTES] [--log BYTES]
 *                      [--prefix P] [--ids FILE] [--until-evicted]
 *       N runs taken through claim, started, one log post and completed
 *       with a result; with --until-evicted, one at a time until the zone
 *       gives up the first run's log or run, cuts a result or refuses
 *   runs-bench stall   PORT [--load PATH] [--seconds S]
 *       GET /runs/{id} one at a time in one worker for S seconds, alone
 *       or while a process asks for PATH without pause in the other
 *   runs-bench route   PORT [--runs N] [--match ONE_IN] [--claims N]
 *
 *   (loglat, logtput and done: src/bench/bench_logs.c; stall:
 *   src/bench/bench_stall.c; route: src/bench/bench_route.c)
 *
 * Every command prints one JSON object on stdout.  The server is
 * 127.0.0.1:PORT.  HTTP/1.1 over plain sockets, Content-Length bodies.
 */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "bench.h"


int  port;


void
die(const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "runs-bench: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}


uint64_t
now_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}


void
sleep_us(long us)
{
    struct timespec  ts;

    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (us % 1000000) * 1000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* the rest */
    }
}


void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        die("out of memory");
    }
    return p;
}


void
raise_nofile(void)
{
    struct rlimit  rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
    }
}


/* ---------------------------------------------------------------- HTTP */

/*
 * One response from buf: 1 complete (*used: its bytes), 0 incomplete,
 * -1 malformed.
 */
int
parse_response(const char *buf, size_t len, resp_t *r, size_t *used)
{
    const char  *end, *p, *eol, *v;
    size_t       hlen, cl;
    int          have_cl;

    if (len < 4) {
        return 0;               /* buf may be NULL yet */
    }

    end = memmem(buf, len, "\r\n\r\n", 4);
    if (end == NULL) {
        return len > 65536 ? -1 : 0;
    }

    hlen = (size_t) (end - buf) + 4;

    if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0) {
        return -1;
    }

    r->status = atoi(buf + 9);
    r->worker = 0;
    r->location[0] = '\0';
    cl = 0;
    have_cl = 0;

    for (p = memchr(buf, '\n', hlen) + 1; p < end; p = eol + 2) {
        eol = memmem(p, (size_t) (end + 2 - p), "\r\n", 2);
        if (eol == NULL) {
            break;
        }

        v = memchr(p, ':', (size_t) (eol - p));
        if (v == NULL) {
            continue;
        }

        for (v++; v < eol && *v == ' '; v++) { /* void */ }

        if (strncasecmp(p, "content-length:", 15) == 0) {
            cl = strtoul(v, NULL, 10);
            have_cl = 1;

        } else if (strncasecmp(p, "x-worker:", 9) == 0) {
            r->worker = strtol(v, NULL, 10);

        } else if (strncasecmp(p, "location:", 9) == 0) {
            size_t n = (size_t) (eol - v);
            if (n >= sizeof(r->location)) {
                n = sizeof(r->location) - 1;
            }
            memcpy(r->location, v, n);
            r->location[n] = '\0';

        } else if (strncasecmp(p, "transfer-encoding:", 18) == 0) {
            return -1;          /* never sent by the module or "return" */
        }
    }

    if (!have_cl && r->status != 204 && r->status != 304) {
        return -1;
    }

    if (len < hlen + cl) {
        return 0;
    }

    r->body = buf + hlen;
    r->body_len = cl;
    *used = hlen + cl;

    return 1;
}


int
tcp_connect(int nonblock)
{
    int                 fd, one;
    struct sockaddr_in  sin;

    fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd == -1) {
        die("socket: %s", strerror(errno));
    }

    one = 1;
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == -1
        && errno != EINPROGRESS)
    {
        die("connect 127.0.0.1:%d: %s", port, strerror(errno));
    }

    return fd;
}


void
conn_open(conn_t *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = tcp_connect(0);
}


void
conn_close(conn_t *c)
{
    if (c->fd != -1) {
        close(c->fd);
    }
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}


void
send_all(int fd, const char *data, size_t len)
{
    ssize_t  n;

    while (len) {
        n = write(fd, data, len);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("write: %s", strerror(errno));
        }
        data += n;
        len -= (size_t) n;
    }
}


/* the next response on c, waiting up to timeout_ms; 0 on timeout */

int
conn_recv(conn_t *c, resp_t *r, int timeout_ms)
{
    int            rc;
    size_t         used;
    ssize_t        n;
    struct pollfd  pfd;

    if (c->consumed) {
        memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
        c->len -= c->consumed;
        c->consumed = 0;
    }

    for ( ;; ) {
        rc = parse_response(c->buf, c->len, r, &used);
        if (rc == 1) {
            c->consumed = used;
            if (r->worker) {
                c->worker = r->worker;
            }
            return 1;
        }

        if (rc == -1) {
            die("malformed response: %.*s", (int) (c->len > 300 ? 300 : c->len),
                c->buf);
        }

        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 131072;
            c->buf = xrealloc(c->buf, c->cap);
        }

        pfd.fd = c->fd;
        pfd.events = POLLIN;
        rc = poll(&pfd, 1, timeout_ms);
        if (rc == 0) {
            return 0;
        }
        if (rc == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("poll: %s", strerror(errno));
        }

        n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n == 0) {
            die("connection closed by the server");
        }
        if (n == -1) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            die("read: %s", strerror(errno));
        }
        c->len += (size_t) n;
    }
}


void
conn_must_recv(conn_t *c, resp_t *r, const char *what)
{
    if (!conn_recv(c, r, RESP_TIMEOUT_MS)) {
        die("no answer to %s in %d ms", what, RESP_TIMEOUT_MS);
    }
}


size_t
fmt_request(char *buf, size_t size, const char *method, const char *path,
    const char *body)
{
    int  n;

    if (body) {
        n = snprintf(buf, size, "%s %s HTTP/1.1\r\nHost: bench\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     method, path, strlen(body), body);
    } else {
        n = snprintf(buf, size, "%s %s HTTP/1.1\r\nHost: bench\r\n\r\n",
                     method, path);
    }

    if (n < 0 || (size_t) n >= size) {
        die("request too large");
    }

    return (size_t) n;
}


void
conn_request(conn_t *c, const char *method, const char *path,
    const char *body)
{
    char    req[4096];
    size_t  n;

    n = fmt_request(req, sizeof(req), method, path, body);
    send_all(c->fd, req, n);
}


void
conn_roundtrip(conn_t *c, const char *method, const char *path,
    const char *body, resp_t *r, int expect)
{
    conn_request(c, method, path, body);
    conn_must_recv(c, r, path);

    if (expect && r->status != expect) {
        die("%s %s: status %d, expected %d: %.*s", method, path, r->status,
            expect, (int) r->body_len, r->body);
    }
}


/* a string member of a JSON text: 1 found, 0 null or absent */

int
json_str(const char *body, size_t len, const char *key, char *out,
    size_t size)
{
    char         pat[64];
    const char  *p, *end, *q;
    size_t       n;

    snprintf(pat, sizeof(pat), "\"%s\"", key);
    end = body + len;
    p = memmem(body, len, pat, strlen(pat));
    if (p == NULL) {
        return 0;
    }

    p += strlen(pat);
    while (p < end && (*p == ' ' || *p == ':')) {
        p++;
    }

    if (p >= end || *p != '"') {
        return 0;
    }

    p++;
    q = memchr(p, '"', (size_t) (end - p));
    if (q == NULL) {
        return 0;
    }

    n = (size_t) (q - p);
    if (n >= size) {
        n = size - 1;
    }
    memcpy(out, p, n);
    out[n] = '\0';

    return 1;
}


const char  *prompt100 =
    "Refactor the login handler so that expired sessions redirect to the "
    "sign-in page; add a test for it.";


void
create_body(char *buf, size_t size, const char *name, const char *prompt)
{
    snprintf(buf, size, "{\"type\":\"start_session\",\"session_name\":\"%s\","
             "\"prompt\":\"%s\"}", name, prompt);
}


void
register_launcher(conn_t *c, char *id, size_t size)
{
    resp_t  r;

    conn_roundtrip(c, "POST", "/launcher/register",
                   "{\"hostname\":\"bench\",\"executor_type\":\"bench\"}",
                   &r, 200);

    if (!json_str(r.body, r.body_len, "launcher_id", id, size)) {
        die("no launcher_id in %.*s", (int) r.body_len, r.body);
    }
}


/* ------------------------------------------------------------ numbers */

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t  x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


/* nearest-rank percentile of n sorted values, in microseconds */

static double
pct_us(uint64_t *v, size_t n, double pct)
{
    size_t  i;

    if (n == 0) {
        return -1;
    }

    i = (size_t) (pct / 100.0 * (double) n + 0.999999);
    if (i < 1) {
        i = 1;
    }
    if (i > n) {
        i = n;
    }

    return (double) v[i - 1] / 1000.0;
}


static double
mean_us(uint64_t *v, size_t n)
{
    size_t  i;
    double  s = 0;

    for (i = 0; i < n; i++) {
        s += (double) v[i];
    }

    return n ? s / (double) n / 1000.0 : -1;
}


void
print_dist(const char *name, uint64_t *v, size_t n)
{
    qsort(v, n, sizeof(uint64_t), cmp_u64);
    printf("\"%s\":{\"n\":%zu,\"p50_us\":%.1f,\"p90_us\":%.1f,"
           "\"p99_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f}",
           name, n, pct_us(v, n, 50), pct_us(v, n, 90), pct_us(v, n, 99),
           pct_us(v, n, 100), mean_us(v, n));
}


/* ---------------------------------------------------------------- fill */

typedef struct {
    int     fd;
    char   *rbuf;
    size_t  rlen, rcap;
    char   *wbuf;
    size_t  wlen, woff, wcap;
    int     inflight;
    int     want_out;
} aconn_t;


static void
aconn_flush(aconn_t *a, int ep)
{
    ssize_t             n;
    struct epoll_event  ev;

    while (a->woff < a->wlen) {
        n = write(a->fd, a->wbuf + a->woff, a->wlen - a->woff);
        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                break;
            }
            die("write: %s", strerror(errno));
        }
        a->woff += (size_t) n;
    }

    if (a->woff == a->wlen) {
        a->woff = a->wlen = 0;
    }

    if ((a->wlen != 0) != a->want_out) {
        a->want_out = (a->wlen != 0);
        ev.events = EPOLLIN | (a->want_out ? EPOLLOUT : 0);
        ev.data.ptr = a;
        if (epoll_ctl(ep, EPOLL_CTL_MOD, a->fd, &ev) == -1) {
            die("epoll_ctl: %s", strerror(errno));
        }
    }
}


#define FILL_BODY_SIZE  8192
#define FILL_REQ_SIZE   9000


typedef struct {
    long         total;
    int          nconns;
    int          depth;
    int          plen;
    int          until_full;
    const char  *prefix;
    const char  *idsfile;
    const char  *resume;
} fill_opts_t;


typedef struct {
    fill_opts_t  o;
    char        *prompt;
    FILE        *ids;
    int          ep;
    aconn_t     *conns;
    long         sent;
    long         created;
    long         full;
    long         other;
    int          stop;
} fill_t;


static void
fill_options(int argc, char **argv, fill_opts_t *o)
{
    int  i;

    if (argc < 4) {
        die("usage: fill PORT N [--conns C] [--depth D] [--prompt BYTES] "
            "[--prefix P] [--ids FILE] [--until-full]");
    }

    o->total = atol(argv[3]);
    o->nconns = 32;
    o->depth = 16;
    o->plen = 100;
    o->prefix = "f";
    o->idsfile = NULL;
    o->resume = NULL;
    o->until_full = 0;

    for (i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc) {
            o->nconns = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc) {
            o->depth = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc) {
            o->plen = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            o->prefix = argv[++i];
        } else if (strcmp(argv[i], "--ids") == 0 && i + 1 < argc) {
            o->idsfile = argv[++i];
        } else if (strcmp(argv[i], "--until-full") == 0) {
            o->until_full = 1;
        } else if (strcmp(argv[i], "--resume") == 0 && i + 1 < argc) {
            o->resume = argv[++i];
        } else {
            die("fill: unknown argument %s", argv[i]);
        }
    }

    if (o->plen < 1 || o->plen > 4000) {
        die("fill: --prompt must be 1..4000");
    }
}


/* the prompt, the ids file, the resumed session's start run, the epoll
   set and room for the connections */

static void
fill_setup(fill_t *f)
{
    int     i;
    char    body[FILL_BODY_SIZE];
    resp_t  r;

    f->prompt = xrealloc(NULL, (size_t) f->o.plen + 1);
    for (i = 0; i < f->o.plen; i++) {
        f->prompt[i] = prompt100[i % 100];
    }
    f->prompt[f->o.plen] = '\0';

    f->ids = NULL;
    if (f->o.idsfile) {
        f->ids = fopen(f->o.idsfile, "w");
        if (f->ids == NULL) {
            die("%s: %s", f->o.idsfile, strerror(errno));
        }
    }

    if (f->o.resume) {
        conn_t  c1;

        /* the session the runs resume, its start run counted */
        conn_open(&c1);
        create_body(body, sizeof(body), f->o.resume, f->prompt);
        conn_roundtrip(&c1, "POST", "/runs", body, &r, 201);
        conn_close(&c1);
    }

    raise_nofile();

    f->ep = epoll_create1(0);
    f->conns = calloc((size_t) f->o.nconns, sizeof(aconn_t));
    if (f->ep == -1 || f->conns == NULL) {
        die("epoll_create1 or calloc failed");
    }

    f->sent = f->created = f->full = f->other = 0;
    f->stop = 0;
}


static void
fill_connect(fill_t *f)
{
    int                 i;
    aconn_t            *a;
    struct epoll_event  ev;

    for (i = 0; i < f->o.nconns; i++) {
        a = &f->conns[i];
        a->fd = tcp_connect(1);
        a->wcap = (size_t) f->o.depth * FILL_REQ_SIZE;
        a->wbuf = xrealloc(NULL, a->wcap);
        a->rcap = 1 << 20;
        a->rbuf = xrealloc(NULL, a->rcap);
        ev.events = EPOLLIN;
        ev.data.ptr = a;
        if (epoll_ctl(f->ep, EPOLL_CTL_ADD, a->fd, &ev) == -1) {
            die("epoll_ctl: %s", strerror(errno));
        }
    }
}


/* the connection topped up to "depth" requests in flight */

static void
fill_top_up(fill_t *f, aconn_t *a)
{
    char    name[64], body[FILL_BODY_SIZE], req[FILL_REQ_SIZE];
    size_t  rl;

    while (!f->stop && a->inflight < f->o.depth
           && (f->o.until_full || f->sent < f->o.total))
    {
        if (f->o.resume) {
            snprintf(body, sizeof(body), "{\"type\":\"resume_session\","
                     "\"session_name\":\"%s\",\"prompt\":\"%s\"}",
                     f->o.resume, f->prompt);
        } else {
            snprintf(name, sizeof(name), "%s%ld", f->o.prefix, f->sent);
            create_body(body, sizeof(body), name, f->prompt);
        }
        rl = fmt_request(req, sizeof(req), "POST", "/runs", body);
        if (a->wlen + rl > a->wcap) {
            break;
        }
        memcpy(a->wbuf + a->wlen, req, rl);
        a->wlen += rl;
        a->inflight++;
        f->sent++;
    }
    aconn_flush(a, f->ep);
}


static void
fill_count(fill_t *f, resp_t *r)
{
    const char  *s;

    if (r->status == 201) {
        f->created++;
        if (f->ids) {
            s = strrchr(r->location, '/');
            fprintf(f->ids, "%s\n", s ? s + 1 : r->location);
        }
    } else if (r->status == 503) {
        f->full++;
        if (f->o.until_full) {
            f->stop = 1;
        }
    } else {
        f->other++;
        if (f->other < 5) {
            fprintf(stderr, "runs-bench fill: status %d: %.*s\n",
                    r->status, (int) r->body_len, r->body);
        }
    }
}


/* what the connection has: every whole answer counted */

static void
fill_read(fill_t *f, aconn_t *a)
{
    int      rc;
    size_t   off, used;
    resp_t   r;
    ssize_t  k;

    k = read(a->fd, a->rbuf + a->rlen, a->rcap - a->rlen);
    if (k == 0) {
        die("fill: connection closed by the server");
    }
    if (k == -1) {
        if (errno == EAGAIN || errno == EINTR) {
            return;
        }
        die("read: %s", strerror(errno));
    }
    a->rlen += (size_t) k;

    off = 0;
    for ( ;; ) {
        rc = parse_response(a->rbuf + off, a->rlen - off, &r, &used);
        if (rc == 0) {
            break;
        }
        if (rc == -1) {
            die("fill: malformed response");
        }
        off += used;
        a->inflight--;
        fill_count(f, &r);
    }
    memmove(a->rbuf, a->rbuf + off, a->rlen - off);
    a->rlen -= off;
}


/* until no request is in flight and none is to be sent */

static void
fill_loop(fill_t *f)
{
    int                 i, n;
    aconn_t            *a;
    struct epoll_event  evs[256];

    for ( ;; ) {
        for (i = 0; i < f->o.nconns; i++) {
            fill_top_up(f, &f->conns[i]);
        }

        for (n = 0, i = 0; i < f->o.nconns; i++) {
            n += f->conns[i].inflight;
        }
        if (n == 0) {
            break;
        }

        n = epoll_wait(f->ep, evs, 256, RESP_TIMEOUT_MS);
        if (n == 0) {
            die("fill: no answer in %d ms", RESP_TIMEOUT_MS);
        }
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait: %s", strerror(errno));
        }

        for (i = 0; i < n; i++) {
            a = evs[i].data.ptr;

            if (evs[i].events & EPOLLOUT) {
                aconn_flush(a, f->ep);
            }

            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                fill_read(f, a);
            }
        }
    }
}


static void
fill_close(fill_t *f)
{
    int  i;

    for (i = 0; i < f->o.nconns; i++) {
        close(f->conns[i].fd);
        free(f->conns[i].rbuf);
        free(f->conns[i].wbuf);
    }
    free(f->conns);
    free(f->prompt);
    close(f->ep);

    if (f->ids && fclose(f->ids) != 0) {
        die("%s: %s", f->o.idsfile, strerror(errno));
    }
}


static int
cmd_fill(int argc, char **argv)
{
    char      name[64];
    fill_t    f;
    uint64_t  t0, t1;

    fill_options(argc, argv, &f.o);
    fill_setup(&f);

    t0 = now_ns();

    fill_connect(&f);
    fill_loop(&f);

    t1 = now_ns();

    fill_close(&f);

    printf("{\"created\":%ld,\"full_503\":%ld,\"other\":%ld,"
           "\"resume\":%s,\"prompt_bytes\":%d,\"name_bytes_max\":%zu,"
           "\"seconds\":%.3f,\"per_s\":%.0f,\"conns\":%d,\"depth\":%d}\n",
           f.created + (f.o.resume != NULL), f.full, f.other,
           f.o.resume ? "true" : "false", f.o.plen,
           strlen(f.o.prefix) + (size_t) snprintf(name, sizeof(name), "%ld",
                                                  f.sent ? f.sent - 1 : 0),
           (double) (t1 - t0) / 1e9,
           (double) f.created / ((double) (t1 - t0) / 1e9), f.o.nconns,
           f.o.depth);

    return f.other ? 1 : 0;
}


/* ------------------------------------------------------------- latency */

/* open connections until one lands in each of the two workers */

void
conns_per_worker(conn_t pc[2], conn_t cc[2])
{
    int     tries, k;
    long    pids[2] = { 0, 0 };
    conn_t  c;
    resp_t  r;
    int     have_p[2] = { 0, 0 }, have_c[2] = { 0, 0 };

    for (tries = 0; tries < 2000; tries++) {
        conn_open(&c);
        conn_roundtrip(&c, "GET", "/runs/run_000000000000", NULL, &r, 404);

        if (r.worker == 0) {
            die("no X-Worker header: the bench configuration adds it");
        }

        for (k = 0; k < 2; k++) {
            if (pids[k] == 0) {
                pids[k] = r.worker;
            }
            if (pids[k] == r.worker) {
                break;
            }
        }

        if (k < 2 && !have_p[k]) {
            pc[k] = c;
            have_p[k] = 1;
        } else if (k < 2 && !have_c[k]) {
            cc[k] = c;
            have_c[k] = 1;
        } else {
            conn_close(&c);
        }

        if (have_p[0] && have_p[1] && have_c[0] && have_c[1]) {
            return;
        }

        if (tries % 16 == 15) {
            sleep_us(2000);
        }
    }

    die("could not get a connection into each of two workers "
        "(seen pids %ld %ld)", pids[0], pids[1]);
}


typedef struct {
    int        stopmode;        /* the trigger: a stop, else a create */
    int        samples;
    long       gap;
    char       lid[2][32];      /* launcher d polls in worker d */
    conn_t     pc[2];
    conn_t     cc[2];
    uint64_t  *lat;
    uint64_t  *own;
    size_t     nlat;
    size_t     nown;
    int        same;
} latency_t;


static void
latency_options(int argc, char **argv, latency_t *l)
{
    int  i;

    if (argc < 4) {
        die("usage: latency PORT create|stop [--samples N] [--gap-us U]");
    }

    l->stopmode = strcmp(argv[3], "stop") == 0;
    if (!l->stopmode && strcmp(argv[3], "create") != 0) {
        die("latency: create or stop");
    }

    l->samples = 1000;
    l->gap = 2000;

    for (i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            l->samples = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--gap-us") == 0 && i + 1 < argc) {
            l->gap = atol(argv[++i]);
        } else {
            die("latency: unknown argument %s", argv[i]);
        }
    }
}


/* a run created on the trigger's connection and claimed by launcher d:
   its id in rid */

static void
latency_claimed_run(latency_t *l, int d, const char *poll, const char *body,
    char rid[32])
{
    int     k = 1 - d;
    resp_t  r;

    conn_roundtrip(&l->cc[k], "POST", "/runs", body, &r, 201);
    snprintf(rid, 32, "%s", strrchr(r.location, '/') + 1);
    conn_roundtrip(&l->pc[d], "GET", poll, NULL, &r, 200);
    if (memmem(r.body, r.body_len, rid, strlen(rid)) == NULL) {
        die("latency stop: poll claimed another run than %s: %.*s",
            rid, (int) r.body_len, r.body);
    }
}


/* sample i: a poll held in one worker, answered by a trigger posted in
   the other */

static void
latency_sample(latency_t *l, int i)
{
    int       d, k;
    char      path[256], body[512], name[64], rid[32];
    resp_t    r;
    uint64_t  t0, t1;

    d = i & 1;                  /* the poll's worker; the trigger: 1 - d */
    k = 1 - d;

    snprintf(path, sizeof(path), "/launcher/runs?launcher_id=%s", l->lid[d]);
    snprintf(name, sizeof(name), "lat%s%d_%d", l->stopmode ? "s" : "c",
             (int) getpid(), i);
    create_body(body, sizeof(body), name, prompt100);

    if (l->stopmode) {
        latency_claimed_run(l, d, path, body, rid);
    }

    /* the poll, held: nothing is claimable and nothing queued */
    conn_request(&l->pc[d], "GET", path, NULL);
    sleep_us(l->gap);

    if (conn_recv(&l->pc[d], &r, 0)) {
        die("latency: the poll was answered before the trigger "
            "(status %d): is something else claimable?", r.status);
    }

    t0 = now_ns();

    if (l->stopmode) {
        snprintf(path, sizeof(path), "/runs/%s/stop", rid);
        conn_request(&l->cc[k], "POST", path, NULL);
    } else {
        conn_request(&l->cc[k], "POST", "/runs", body);
    }

    conn_must_recv(&l->pc[d], &r, "the held poll");
    t1 = now_ns();

    if (r.status != 200
        || memmem(r.body, r.body_len,
                  l->stopmode ? "\"stop_runs\"" : "\"run\"",
                  l->stopmode ? 11 : 5) == NULL)
    {
        die("latency: held poll answered %d: %.*s", r.status,
            (int) r.body_len, r.body);
    }

    if (l->pc[d].worker != l->cc[k].worker) {
        l->lat[l->nlat++] = t1 - t0;
    } else {
        l->same++;
    }

    conn_must_recv(&l->cc[k], &r, "the trigger");
    l->own[l->nown++] = now_ns() - t0;

    if (r.status != (l->stopmode ? 200 : 201)) {
        die("latency: trigger answered %d: %.*s", r.status,
            (int) r.body_len, r.body);
    }

    if (l->stopmode) {
        /* the runner reports it stopped: the run ends */
        snprintf(path, sizeof(path), "/launcher/runs/%s/stopped", rid);
        snprintf(body, sizeof(body), "{\"launcher_id\":\"%s\"}", l->lid[d]);
        conn_roundtrip(&l->cc[k], "POST", path, body, &r, 200);
    }
}


static int
cmd_latency(int argc, char **argv)
{
    int        i;
    latency_t  l;

    latency_options(argc, argv, &l);

    conns_per_worker(l.pc, l.cc);

    /* one launcher per worker, polling only through its worker's conn */
    register_launcher(&l.cc[0], l.lid[0], sizeof(l.lid[0]));
    register_launcher(&l.cc[0], l.lid[1], sizeof(l.lid[1]));

    l.lat = calloc((size_t) l.samples, sizeof(uint64_t));
    l.own = calloc((size_t) l.samples, sizeof(uint64_t));
    if (l.lat == NULL || l.own == NULL) {
        die("out of memory");
    }

    l.nlat = l.nown = 0;
    l.same = 0;

    for (i = 0; i < l.samples; i++) {
        latency_sample(&l, i);
    }

    printf("{\"mode\":\"%s\",\"workers\":[%ld,%ld],\"same_worker_skipped\":%d,",
           l.stopmode ? "stop" : "create", l.pc[0].worker, l.pc[1].worker,
           l.same);
    print_dist("poll_wake", l.lat, l.nlat);
    printf(",");
    print_dist("trigger_response", l.own, l.nown);
    printf("}\n");

    for (i = 0; i < 2; i++) {
        conn_close(&l.pc[i]);
        conn_close(&l.cc[i]);
    }
    free(l.lat);
    free(l.own);

    return 0;
}


/* --------------------------------------------------------------- claim */

static char  (*load_ids(const char *file, size_t *n))[17]
{
    FILE    *f;
    char     line[64];
    size_t   cap;
    char   (*ids)[17];

    f = fopen(file, "r");
    if (f == NULL) {
        die("%s: %s", file, strerror(errno));
    }

    ids = NULL;
    cap = 0;
    *n = 0;

    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "run_", 4) != 0 || strlen(line) < 16) {
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 4096;
            ids = xrealloc(ids, cap * sizeof(*ids));
        }
        memcpy(ids[*n], line, 16);
        ids[*n][16] = '\0';
        (*n)++;
    }

    fclose(f);

    if (*n == 0) {
        die("%s: no run ids", file);
    }

    return ids;
}


static uint64_t  rng_state = 88172645463325252ull;

static uint64_t
rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}


static int
cmd_claim(int argc, char **argv)
{
    int        i, samples, csamples;
    char       path[128], body[512], name[64], lid[32], (*ids)[17];
    size_t     nids;
    conn_t     c;
    resp_t     r;
    uint64_t   t0, *get, *cl;
    const char *idsfile = NULL;

    samples = 2000;
    csamples = 500;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--ids") == 0 && i + 1 < argc) {
            idsfile = argv[++i];
        } else if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            samples = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc) {
            csamples = atoi(argv[++i]);
        } else {
            die("claim: unknown argument %s", argv[i]);
        }
    }

    if (idsfile == NULL) {
        die("usage: claim PORT --ids FILE [--samples N] [--claims N]");
    }

    ids = load_ids(idsfile, &nids);
    get = calloc((size_t) samples, sizeof(uint64_t));
    cl = calloc((size_t) csamples, sizeof(uint64_t));
    if (get == NULL || cl == NULL) {
        die("out of memory");
    }

    conn_open(&c);

    /* a little warm-up of the connection and the code paths */
    for (i = 0; i < 200; i++) {
        snprintf(path, sizeof(path), "/runs/%s", ids[rng() % nids]);
        conn_roundtrip(&c, "GET", path, NULL, &r, 200);
    }

    for (i = 0; i < samples; i++) {
        snprintf(path, sizeof(path), "/runs/%s", ids[rng() % nids]);
        t0 = now_ns();
        conn_roundtrip(&c, "GET", path, NULL, &r, 200);
        get[i] = now_ns() - t0;
    }

    register_launcher(&c, lid, sizeof(lid));
    snprintf(path, sizeof(path), "/launcher/runs?launcher_id=%s", lid);

    for (i = 0; i < csamples; i++) {
        snprintf(name, sizeof(name), "cl%d_%d_%d", (int) getpid(),
                 (int) (nids & 0xffffff), i);
        create_body(body, sizeof(body), name, prompt100);

        t0 = now_ns();
        conn_roundtrip(&c, "POST", "/runs", body, &r, 201);
        conn_roundtrip(&c, "GET", path, NULL, &r, 200);
        cl[i] = now_ns() - t0;

        if (memmem(r.body, r.body_len, "\"claimed\"", 9) == NULL) {
            die("claim: the poll did not claim: %.*s", (int) r.body_len,
                r.body);
        }
    }

    printf("{\"ids\":%zu,\"created\":%d,", nids, csamples);
    print_dist("get_run", get, (size_t) samples);
    printf(",");
    print_dist("create_claim", cl, (size_t) csamples);
    printf("}\n");

    conn_close(&c);
    free(ids);
    free(get);
    free(cl);

    return 0;
}


/* ----------------------------------------------------------------- CPU */

typedef struct {
    long  pid;
    long  ticks;            /* utime + stime */
    long  child_ticks;      /* cutime + cstime: waited-for children */
} cpu_t;


static int
read_cpu(long pid, cpu_t *c)
{
    char    path[64], buf[1024], *p;
    long    ut, st, cut, cst;
    FILE   *f;
    size_t  n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';

    p = strrchr(buf, ')');
    if (p == NULL) {
        return -1;
    }

    /* fields 3.. after ") ": state ppid pgrp session tty tpgid flags
       minflt cminflt majflt cmajflt utime stime cutime cstime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
               "%ld %ld %ld %ld", &ut, &st, &cut, &cst) != 4)
    {
        return -1;
    }

    c->pid = pid;
    c->ticks = ut + st;
    c->child_ticks = cut + cst;

    return 0;
}


/* the master and its children */

size_t
nginx_pids(long master, long *pids, size_t max)
{
    DIR            *d;
    char            path[300], buf[512], *p;
    long            ppid;
    size_t          n;
    FILE           *f;
    struct dirent  *de;

    n = 0;
    pids[n++] = master;

    d = opendir("/proc");
    if (d == NULL) {
        die("/proc: %s", strerror(errno));
    }

    while ((de = readdir(d)) != NULL && n < max) {
        if (!isdigit((unsigned char) de->d_name[0])) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        size_t k = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[k] = '\0';
        p = strrchr(buf, ')');
        if (p && sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == master) {
            pids[n++] = atol(de->d_name);
        }
    }

    closedir(d);

    return n;
}


long
sum_ticks(long *pids, size_t n, int children)
{
    size_t  i;
    long    s = 0;
    cpu_t   c;

    for (i = 0; i < n; i++) {
        if (read_cpu(pids[i], &c) == 0) {
            s += children ? c.child_ticks : c.ticks;
        }
    }

    return s;
}


/* ---------------------------------------------------------------- idle */

static int
cmd_idle(int argc, char **argv)
{
    int             i, npolls, answered, before_window;
    long            master, seconds, t_before, t_after, hz, pids[MAX_WORKERS];
    char            path[128], (*lids)[32];
    size_t          npids;
    conn_t          reg, *cs;
    resp_t          r;
    uint64_t        w0, w1;
    struct pollfd  *pfds;

    npolls = 1000;
    seconds = 10;
    master = 0;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--polls") == 0 && i + 1 < argc) {
            npolls = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atol(argv[++i]);
        } else if (strcmp(argv[i], "--master") == 0 && i + 1 < argc) {
            master = atol(argv[++i]);
        } else {
            die("idle: unknown argument %s", argv[i]);
        }
    }

    if (master == 0) {
        die("usage: idle PORT --polls N --seconds S --master PID");
    }

    raise_nofile();
    hz = sysconf(_SC_CLK_TCK);
    npids = nginx_pids(master, pids, MAX_WORKERS);

    lids = calloc((size_t) npolls, sizeof(*lids));
    cs = calloc((size_t) npolls, sizeof(conn_t));
    pfds = calloc((size_t) npolls, sizeof(struct pollfd));
    if (lids == NULL || cs == NULL || pfds == NULL) {
        die("out of memory");
    }

    conn_open(&reg);
    for (i = 0; i < npolls; i++) {
        register_launcher(&reg, lids[i], sizeof(lids[i]));
    }
    conn_close(&reg);

    for (i = 0; i < npolls; i++) {
        conn_open(&cs[i]);
        snprintf(path, sizeof(path), "/launcher/runs?launcher_id=%s", lids[i]);
        conn_request(&cs[i], "GET", path, NULL);
        pfds[i].fd = cs[i].fd;
        pfds[i].events = POLLIN;
    }

    sleep_us(1000000);      /* every poll held, the registrations done */

    before_window = poll(pfds, (nfds_t) npolls, 0);

    t_before = sum_ticks(pids, npids, 0);
    w0 = now_ns();
    sleep_us(seconds * 1000000);
    t_after = sum_ticks(pids, npids, 0);
    w1 = now_ns();

    answered = poll(pfds, (nfds_t) npolls, 0);

    /* the polls still held prove they were held through the window */
    for (i = 0; i < npolls; i++) {
        if (pfds[i].revents && conn_recv(&cs[i], &r, 0)) {
            fprintf(stderr, "runs-bench idle: poll answered %d\n", r.status);
        }
        conn_close(&cs[i]);
    }

    printf("{\"polls\":%d,\"answered_before\":%d,\"answered_during\":%d,"
           "\"processes\":%zu,\"seconds\":%.3f,\"cpu_ticks\":%ld,\"hz\":%ld,"
           "\"cpu_percent\":%.3f}\n",
           npolls, before_window, answered - before_window, npids,
           (double) (w1 - w0) / 1e9, t_after - t_before, hz,
           100.0 * (double) (t_after - t_before) / (double) hz
           / ((double) (w1 - w0) / 1e9));

    free(lids);
    free(cs);
    free(pfds);

    return 0;
}


/* ----------------------------------------------------------------- e2e */

static int64_t
parse_ms(const char *s)
{
    int        ms;
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    {
        return -1;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (int64_t) timegm(&tm) * 1000 + ms;
}


/* a finished run's timestamps: created, claimed, started, completed */

static int
run_times(resp_t *r, int64_t t[4], char *st, size_t stsize)
{
    int          i;
    char         ts[64];
    const char  *keys[4] = { "created_at", "claimed_at", "started_at",
                             "completed_at" };

    if (!json_str(r->body, r->body_len, "status", st, stsize)) {
        die("e2e: no status in %.*s", (int) r->body_len, r->body);
    }

    if (strcmp(st, "completed") != 0) {
        return 0;
    }

    for (i = 0; i < 4; i++) {
        if (!json_str(r->body, r->body_len, keys[i], ts, sizeof(ts))
            || (t[i] = parse_ms(ts)) < 0)
        {
            die("e2e: %s missing: %.*s", keys[i], (int) r->body_len, r->body);
        }
    }

    return 1;
}


typedef struct {
    uint64_t  *v[5];            /* queue, dispatch, exec, total, client */
    size_t     n;
} phases_t;


static void
phases_alloc(phases_t *p, size_t n)
{
    int  i;

    for (i = 0; i < 5; i++) {
        p->v[i] = calloc(n ? n : 1, sizeof(uint64_t));
        if (p->v[i] == NULL) {
            die("out of memory");
        }
    }
    p->n = 0;
}


static void
phases_add(phases_t *p, int64_t t[4], uint64_t client_ns)
{
    p->v[0][p->n] = (uint64_t) (t[1] - t[0]) * 1000000;
    p->v[1][p->n] = (uint64_t) (t[2] - t[1]) * 1000000;
    p->v[2][p->n] = (uint64_t) (t[3] - t[2]) * 1000000;
    p->v[3][p->n] = (uint64_t) (t[3] - t[0]) * 1000000;
    p->v[4][p->n] = client_ns;
    p->n++;
}


static void
phases_print(phases_t *p, int client)
{
    int  i;

    print_dist("created_to_claimed", p->v[0], p->n);
    printf(",");
    print_dist("claimed_to_started", p->v[1], p->n);
    printf(",");
    print_dist("started_to_completed", p->v[2], p->n);
    printf(",");
    print_dist("created_to_completed", p->v[3], p->n);
    if (client) {
        printf(",");
        print_dist("client_create_to_completed", p->v[4], p->n);
    }

    for (i = 0; i < 5; i++) {
        free(p->v[i]);
    }
}


static void
e2e_create(conn_t *c, const char *tag, int i, char id[17])
{
    char    name[64], body[512];
    resp_t  r;

    snprintf(name, sizeof(name), "e2e%s%d_%d", tag, (int) getpid(), i);
    snprintf(body, sizeof(body), "{\"type\":\"start_session\","
             "\"session_name\":\"%s\",\"prompt\":\"%s\","
             "\"project_dir\":\"/tmp\"}", name, prompt100);
    conn_roundtrip(c, "POST", "/runs", body, &r, 201);
    snprintf(id, 17, "%s", strrchr(r.location, '/') + 1);
}


static void
e2e_options(int argc, char **argv, int *nruns, int *nseq, long *master,
    long *runner)
{
    int  i;

    *nruns = 200;
    *nseq = 20;
    *master = *runner = 0;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            *nruns = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--sequential") == 0 && i + 1 < argc) {
            *nseq = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--master") == 0 && i + 1 < argc) {
            *master = atol(argv[++i]);
        } else if (strcmp(argv[i], "--runner") == 0 && i + 1 < argc) {
            *runner = atol(argv[++i]);
        } else {
            die("e2e: unknown argument %s", argv[i]);
        }
    }

    if (*master == 0 || *runner == 0 || *nruns < 1 || *nseq < 0) {
        die("usage: e2e PORT --runs N [--sequential K] --master PID "
            "--runner PID");
    }
}


/* one run at a time: the latency of the path, nothing queued */

static void
e2e_sequential(conn_t *c, int nseq, char id[17], phases_t *seq)
{
    int       i;
    char      path[128], st[32];
    resp_t    r;
    int64_t   t[4];
    uint64_t  s0;

    phases_alloc(seq, (size_t) nseq);

    for (i = 0; i < nseq; i++) {
        s0 = now_ns();
        e2e_create(c, "s", i, id);
        snprintf(path, sizeof(path), "/runs/%s?wait=60", id);
        conn_roundtrip(c, "GET", path, NULL, &r, 200);
        if (!run_times(&r, t, st, sizeof(st))) {
            die("e2e: a run ended %s: %.*s", st, (int) r.body_len, r.body);
        }
        phases_add(seq, t, now_ns() - s0);
    }
}


/* the burst's runs waited for: the completed ones' phases in burst, and
   span[0] the first one created, span[1] the last one completed; the
   number that did not complete */

static int
e2e_wait_burst(conn_t *c, int nruns, char (*ids)[17], phases_t *burst,
    int64_t span[2])
{
    int      i, failed;
    char     path[128], st[32];
    resp_t   r;
    int64_t  t[4];

    failed = 0;
    span[0] = INT64_MAX;
    span[1] = 0;

    for (i = 0; i < nruns; i++) {
        snprintf(path, sizeof(path), "/runs/%s?wait=120", ids[i]);
        conn_roundtrip(c, "GET", path, NULL, &r, 200);

        if (!run_times(&r, t, st, sizeof(st))) {
            failed++;
            if (failed < 4) {
                fprintf(stderr, "runs-bench e2e: run ended %s: %.*s\n", st,
                        (int) r.body_len, r.body);
            }
            continue;
        }

        phases_add(burst, t, 0);

        if (t[0] < span[0]) {
            span[0] = t[0];
        }
        if (t[3] > span[1]) {
            span[1] = t[3];
        }
    }

    return failed;
}


static int
cmd_e2e(int argc, char **argv)
{
    int       i, nruns, nseq, completed, failed;
    long      master, runner, hz, pids[MAX_WORKERS];
    long      ng0, ng1, rn0, rn1, ex0, ex1;
    char      (*ids)[17];
    size_t    npids;
    conn_t    c;
    int64_t   span[2];
    uint64_t  t0, t1;
    phases_t  seq, burst;

    e2e_options(argc, argv, &nruns, &nseq, &master, &runner);

    hz = sysconf(_SC_CLK_TCK);
    npids = nginx_pids(master, pids, MAX_WORKERS);

    ids = calloc((size_t) nruns + 1, sizeof(*ids));
    if (ids == NULL) {
        die("out of memory");
    }

    conn_open(&c);

    e2e_sequential(&c, nseq, ids[0], &seq);

    /* N runs at once: the throughput */

    phases_alloc(&burst, (size_t) nruns);

    ng0 = sum_ticks(pids, npids, 0);
    rn0 = sum_ticks(&runner, 1, 0);
    ex0 = sum_ticks(&runner, 1, 1);

    t0 = now_ns();

    for (i = 0; i < nruns; i++) {
        e2e_create(&c, "b", i, ids[i]);
    }

    failed = e2e_wait_burst(&c, nruns, ids, &burst, span);
    completed = nruns - failed;

    t1 = now_ns();

    ng1 = sum_ticks(pids, npids, 0);
    rn1 = sum_ticks(&runner, 1, 0);
    ex1 = sum_ticks(&runner, 1, 1);

    printf("{\"sequential\":{\"runs\":%d,", nseq);
    phases_print(&seq, 1);
    printf("},\"burst\":{\"runs\":%d,\"completed\":%d,\"failed\":%d,"
           "\"seconds\":%.3f,\"runs_per_s\":%.1f,"
           "\"server_span_ms\":%" PRId64 ",\"cpu_s\":{\"nginx\":%.2f,"
           "\"runner\":%.2f,\"executors\":%.2f},",
           nruns, completed, failed, (double) (t1 - t0) / 1e9,
           (double) completed / ((double) (t1 - t0) / 1e9),
           completed ? span[1] - span[0] : 0,
           (double) (ng1 - ng0) / (double) hz,
           (double) (rn1 - rn0) / (double) hz,
           (double) (ex1 - ex0) / (double) hz);
    phases_print(&burst, 0);
    printf("}}\n");

    conn_close(&c);
    free(ids);

    return failed ? 1 : 0;
}


int
main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (argc < 3) {
        fprintf(stderr, "usage: runs-bench "
                "fill|latency|claim|idle|events|mcp|mcpidle|e2e|loglat|logtput|done|stall PORT "
                "...\n(see the comment at the top of src/bench/runs-bench.c)\n");
        return 2;
    }

    port = atoi(argv[2]);
    if (port <= 0 || port > 65535) {
        die("bad port %s", argv[2]);
    }

    if (strcmp(argv[1], "fill") == 0) {
        return cmd_fill(argc, argv);
    }
    if (strcmp(argv[1], "latency") == 0) {
        return cmd_latency(argc, argv);
    }
    if (strcmp(argv[1], "claim") == 0) {
        return cmd_claim(argc, argv);
    }
    if (strcmp(argv[1], "mcp") == 0) {
        return cmd_mcp(argc, argv);
    }

    if (strcmp(argv[1], "mcpidle") == 0) {
        return cmd_mcp_idle(argc, argv);
    }

    if (strcmp(argv[1], "events") == 0) {
        return cmd_events(argc, argv);
    }

    if (strcmp(argv[1], "idle") == 0) {
        return cmd_idle(argc, argv);
    }
    if (strcmp(argv[1], "e2e") == 0) {
        return cmd_e2e(argc, argv);
    }
    if (strcmp(argv[1], "loglat") == 0) {
        return cmd_loglat(argc, argv);
    }
    if (strcmp(argv[1], "logtput") == 0) {
        return cmd_logtput(argc, argv);
    }
    if (strcmp(argv[1], "done") == 0) {
        return cmd_done(argc, argv);
    }
    if (strcmp(argv[1], "stall") == 0) {
        return cmd_stall(argc, argv);
    }
    if (strcmp(argv[1], "route") == 0) {
        return cmd_route(argc, argv);
    }

    die("unknown command %s", argv[1]);
    return 2;
}
