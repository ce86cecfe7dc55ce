/*
 * bench_logs.c: the run-log and finished-run measurements of runs-bench
 * (usage at the top of runs-bench.c).
 *
 *   loglat  a follower (GET /runs/{id}/log?follow=1) held on a connection
 *           of one worker, a piece posted on a connection of the other:
 *           time from the post's write to the piece's last byte at the
 *           follower, the two directions alternated
 *   logtput R runs, each with one connection posting pieces back to back
 *           (each waits for its 200 and takes the returned offset) and one
 *           follower held in the other worker; MB/s posted and delivered,
 *           and the nginx CPU per MB.  With --ceiling, the same posts
 *           against "return 200" (no runs, no followers)
 *   done    N finished runs: create, claim, started, a log, completed
 *           with a result; with --until-evicted, one at a time until the
 *           zone gives up its first finished log or run, or refuses
 */

#include <errno.h>
#include <inttypes.h>
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
#include <unistd.h>

#include "bench.h"


/* ------------------------------------------------------------- strings */

typedef struct {
    char    *p;
    size_t   len;
    size_t   cap;
} sbuf_t;


static void
sb_reserve(sbuf_t *b, size_t n)
{
    if (b->cap - b->len < n + 1) {
        while (b->cap - b->len < n + 1) {
            b->cap = b->cap ? b->cap * 2 : 4096;
        }
        b->p = xrealloc(b->p, b->cap);
    }
}


static void
sb_add(sbuf_t *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


static void __attribute__((format(printf, 2, 3)))
sb_printf(sbuf_t *b, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n < 0) {
        die("vsnprintf failed");
    }

    sb_reserve(b, (size_t) n);

    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);

    b->len += (size_t) n;
}


/*
 * n bytes of log-like text (lines of up to 100 bytes, each ending in a
 * newline), as the inside of a JSON string: the newlines escaped
 */

static char *
log_text_json(size_t n, const char *tag)
{
    size_t   i, col;
    sbuf_t   b = { NULL, 0, 0 };
    char     line[128];
    int      k;

    col = 0;
    k = snprintf(line, sizeof(line), "%s building target all: cc -O2 -c "
                 "src/module.c -o build/module.o; 0 warnings, 0 errors. ",
                 tag);
    if (k < 1 || (size_t) k >= sizeof(line)) {
        die("log text: tag %s too long", tag);
    }

    for (i = 0; i < n; i++) {
        if (col == 99 || i == n - 1) {
            sb_add(&b, "\\n", 2);
            col = 0;
        } else {
            sb_add(&b, &line[col % (size_t) k], 1);
            col++;
        }
    }

    return b.p;
}


/* n bytes of a result: printable ASCII, nothing to escape */

static char *
result_text(size_t n)
{
    size_t  i;
    char   *s;

    s = xrealloc(NULL, n + 1);
    for (i = 0; i < n; i++) {
        s[i] = prompt100[i % 100];
    }
    s[n] = '\0';

    return s;
}


/* an integer member of a JSON text: 1 found */

static int
json_u64(const char *body, size_t len, const char *key, uint64_t *out)
{
    char         pat[64], *e;
    const char  *p, *end;

    snprintf(pat, sizeof(pat), "\"%s\"", key);
    end = body + len;
    p = memmem(body, len, pat, strlen(pat));
    if (p == NULL) {
        return 0;
    }

    for (p += strlen(pat); p < end && (*p == ' ' || *p == ':'); p++) {
        /* void */
    }

    if (p >= end || *p < '0' || *p > '9') {
        return 0;
    }

    *out = strtoull(p, &e, 10);

    return 1;
}


static void
fmt_big_request(sbuf_t *b, const char *method, const char *path,
    const char *body, size_t body_len)
{
    b->len = 0;
    sb_printf(b, "%s %s HTTP/1.1\r\nHost: bench\r\n"
              "Content-Type: application/json\r\n"
              "Content-Length: %zu\r\n\r\n", method, path, body_len);
    sb_add(b, body, body_len);
}


/* a run created, claimed by launcher lid and started: its id in rid */

static void
live_run(conn_t *c, const char *lid, const char *name, char *rid,
    size_t size)
{
    char    path[160], body[512];
    resp_t  r;

    create_body(body, sizeof(body), name, prompt100);
    conn_roundtrip(c, "POST", "/runs", body, &r, 201);

    snprintf(path, sizeof(path), "/launcher/runs?launcher_id=%s", lid);
    conn_roundtrip(c, "GET", path, NULL, &r, 200);
    if (!json_str(r.body, r.body_len, "run_id", rid, size)) {
        die("the poll claimed no run: %.*s", (int) r.body_len, r.body);
    }

    snprintf(path, sizeof(path), "/launcher/runs/%s/started", rid);
    snprintf(body, sizeof(body), "{\"launcher_id\":\"%s\"}", lid);
    conn_roundtrip(c, "POST", path, body, &r, 200);
}


static void
end_run(conn_t *c, const char *lid, const char *rid)
{
    char    path[160], body[256];
    resp_t  r;

    snprintf(path, sizeof(path), "/launcher/runs/%s/completed", rid);
    snprintf(body, sizeof(body), "{\"launcher_id\":\"%s\",\"result\":\"ok\"}",
             lid);
    conn_roundtrip(c, "POST", path, body, &r, 200);
}


/* a connection whose X-Worker is (or is not) the given pid */

static void
conn_in_worker(conn_t *c, long pid, int same)
{
    int     tries;
    resp_t  r;

    for (tries = 0; tries < 2000; tries++) {
        conn_open(c);
        conn_roundtrip(c, "GET", "/runs/run_000000000000", NULL, &r, 0);

        if (r.worker == 0) {
            die("no X-Worker header: the bench configuration adds it");
        }

        if (pid == 0 || (r.worker == pid) == same) {
            return;
        }

        conn_close(c);

        if (tries % 16 == 15) {
            sleep_us(2000);
        }
    }

    die("no connection %s worker %ld in 2000 tries", same ? "in" : "outside",
        pid);
}


/* ------------------------------------------------------------ follower */

/*
 * A follow's answers: the headers, then HTTP/1.1 chunks.  An answer that
 * ends while the run is live (its follower fell more than runs_log_size
 * behind) is asked again from the offset reached, on the same connection;
 * the new answer's X-Log-Offset tells the bytes skipped.
 */

typedef struct {
    int       fd;
    char     *buf;
    size_t    len;
    size_t    cap;
    int       state;            /* FOL_* */
    size_t    chunk_left;
    char      rid[32];
    uint64_t  asked;            /* the offset of the last request */
    uint64_t  pos;              /* the log offset reached */
    uint64_t  data;             /* bytes of the log received */
    uint64_t  skipped;          /* bytes between an offset asked and the
                                   answer's X-Log-Offset */
    int       answers;          /* follow requests answered */
    long      worker;
    void     *owner;
} follow_t;

enum { FOL_HEADERS, FOL_SIZE, FOL_DATA, FOL_CRLF, FOL_TRAILER, FOL_END };


static void
follow_request(follow_t *f)
{
    char  req[256];
    int   n;

    n = snprintf(req, sizeof(req), "GET /runs/%s/log?follow=1&offset=%"
                 PRIu64 " HTTP/1.1\r\nHost: bench\r\n\r\n", f->rid, f->pos);
    f->asked = f->pos;
    f->state = FOL_HEADERS;
    send_all(f->fd, req, (size_t) n);
}


static void
follow_start(follow_t *f, int fd, const char *rid)
{
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->cap = 65536;
    f->buf = xrealloc(NULL, f->cap);
    snprintf(f->rid, sizeof(f->rid), "%s", rid);
    follow_request(f);
}


/* parses what buf holds; -1 malformed */

static int
follow_parse(follow_t *f)
{
    char    *p, *end, *eol, *h;
    size_t   n, off;

    off = 0;

    while (f->state != FOL_END) {
        p = f->buf + off;
        n = f->len - off;

        if (f->state == FOL_HEADERS) {
            end = memmem(p, n, "\r\n\r\n", 4);
            if (end == NULL) {
                break;
            }
            *end = '\0';
            if (strncmp(p, "HTTP/1.1 200", 12) != 0) {
                fprintf(stderr, "runs-bench: follow answered: %.200s\n", p);
                return -1;
            }
            if (strcasestr(p, "\r\ntransfer-encoding: chunked") == NULL) {
                fprintf(stderr, "runs-bench: follow not chunked: %.400s\n",
                        p);
                return -1;
            }
            h = strcasestr(p, "\r\nx-log-offset:");
            if (h == NULL) {
                fprintf(stderr, "runs-bench: no X-Log-Offset: %.400s\n", p);
                return -1;
            }
            f->pos = strtoull(h + 15, NULL, 10);
            if (f->pos < f->asked) {
                fprintf(stderr, "runs-bench: asked from %" PRIu64 ", "
                        "answered from %" PRIu64 "\n", f->asked, f->pos);
                return -1;
            }
            f->skipped += f->pos - f->asked;
            f->answers++;
            h = strcasestr(p, "\r\nx-worker:");
            f->worker = h ? strtol(h + 11, NULL, 10) : 0;
            off += (size_t) (end - p) + 4;
            f->state = FOL_SIZE;

        } else if (f->state == FOL_SIZE || f->state == FOL_TRAILER) {
            eol = memmem(p, n, "\r\n", 2);
            if (eol == NULL) {
                break;
            }
            off += (size_t) (eol - p) + 2;
            if (f->state == FOL_TRAILER) {
                if (eol == p) {
                    f->state = FOL_END;
                }
                continue;
            }
            f->chunk_left = strtoul(p, NULL, 16);
            f->state = f->chunk_left ? FOL_DATA : FOL_TRAILER;

        } else if (f->state == FOL_DATA) {
            if (n == 0) {
                break;
            }
            if (n > f->chunk_left) {
                n = f->chunk_left;
            }
            f->chunk_left -= n;
            f->data += n;
            f->pos += n;
            off += n;
            if (f->chunk_left == 0) {
                f->state = FOL_CRLF;
            }

        } else {                /* FOL_CRLF */
            if (n < 2) {
                break;
            }
            if (p[0] != '\r' || p[1] != '\n') {
                return -1;
            }
            off += 2;
            f->state = FOL_SIZE;
        }
    }

    memmove(f->buf, f->buf + off, f->len - off);
    f->len -= off;

    return 0;
}


/* reads what the socket has: 1 read, 0 nothing (EAGAIN), -1 closed */

static int
follow_read(follow_t *f)
{
    ssize_t  n;

    if (f->cap - f->len < 4096) {
        f->cap *= 2;
        f->buf = xrealloc(f->buf, f->cap);
    }

    n = recv(f->fd, f->buf + f->len, f->cap - f->len, MSG_DONTWAIT);
    if (n == 0) {
        return -1;
    }
    if (n == -1) {
        if (errno == EAGAIN || errno == EINTR) {
            return 0;
        }
        die("follower read: %s", strerror(errno));
    }

    f->len += (size_t) n;

    if (follow_parse(f) != 0) {
        die("a malformed follow answer");
    }

    return 1;
}


/* waits until the follower has its headers and the log up to "pos", or
   its answer has ended */

static void
follow_wait(follow_t *f, uint64_t pos, int timeout_ms)
{
    int            rc;
    uint64_t       until;
    struct pollfd  pfd;

    until = now_ns() + (uint64_t) timeout_ms * 1000000;

    while (f->state == FOL_HEADERS
           || (f->state != FOL_END && f->pos < pos))
    {
        pfd.fd = f->fd;
        pfd.events = POLLIN;
        rc = poll(&pfd, 1, 100);
        if (rc == 1 && follow_read(f) < 0) {
            die("the follow's connection closed");
        }
        if (now_ns() > until) {
            die("the follower of %s is at %" PRIu64 ", not %" PRIu64
                " after %d ms", f->rid, f->pos, pos, timeout_ms);
        }
    }
}


/* the run has ended at "end": the follower reads to the end of its log */

static void
follow_finish(follow_t *f, uint64_t end)
{
    int  i;

    for (i = 0; i < 100; i++) {
        follow_wait(f, UINT64_MAX, RESP_TIMEOUT_MS);
        if (f->pos >= end) {
            return;
        }
        follow_request(f);
    }

    die("the follower of %s stops at %" PRIu64 " of %" PRIu64, f->rid,
        f->pos, end);
}


/* ------------------------------------------------------------- loglat */

typedef struct {
    int        samples;
    int        piece;
    long       gap;
    char       lid[32];
    char       rid[2][32];      /* run d: followed in worker d, posted to
                                   in the other one */
    conn_t     pc[2];
    conn_t     cc[2];
    follow_t   fol[2];
    uint64_t   off[2];          /* the bytes posted to run d */
    uint64_t  *lat;
    uint64_t  *own;
    size_t     nlat;
    size_t     nown;
    int        same;
    sbuf_t     body;
    sbuf_t     req;
} loglat_t;


static void
loglat_options(int argc, char **argv, loglat_t *l)
{
    int  i;

    l->samples = 1000;
    l->piece = 64;
    l->gap = 1000;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            l->samples = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--piece") == 0 && i + 1 < argc) {
            l->piece = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--gap-us") == 0 && i + 1 < argc) {
            l->gap = atol(argv[++i]);
        } else {
            die("loglat: unknown argument %s", argv[i]);
        }
    }

    if (l->samples < 1 || l->piece < 8 || l->piece > 16384) {
        die("usage: loglat PORT [--samples N] [--piece 8..16384] "
            "[--gap-us U]");
    }
}


/* the two runs, each with its follow held, and room for the samples */

static void
loglat_start(loglat_t *l)
{
    int   d;
    char  name[64];

    conns_per_worker(l->pc, l->cc);
    register_launcher(&l->cc[0], l->lid, sizeof(l->lid));

    /* run d is followed in worker d and posted to in the other one */
    for (d = 0; d < 2; d++) {
        snprintf(name, sizeof(name), "loglat%d_%d", (int) getpid(), d);
        live_run(&l->cc[0], l->lid, name, l->rid[d], sizeof(l->rid[d]));
        follow_start(&l->fol[d], l->pc[d].fd, l->rid[d]);
        follow_wait(&l->fol[d], 0, RESP_TIMEOUT_MS);
        if (l->fol[d].worker != l->pc[d].worker) {
            die("loglat: the follow came from worker %ld, not %ld",
                l->fol[d].worker, l->pc[d].worker);
        }
        l->off[d] = 0;
    }

    l->lat = calloc((size_t) l->samples, sizeof(uint64_t));
    l->own = calloc((size_t) l->samples, sizeof(uint64_t));
    if (l->lat == NULL || l->own == NULL) {
        die("out of memory");
    }

    l->nlat = l->nown = 0;
    l->same = 0;
}


/* sample i's post to run d, in l->req */

static void
loglat_post(loglat_t *l, int i, int d)
{
    char  path[160], name[64], *data;

    snprintf(name, sizeof(name), "s%06d", i);
    data = log_text_json((size_t) l->piece, name);
    l->body.len = 0;
    sb_printf(&l->body, "{\"launcher_id\":\"%s\",\"offset\":%" PRIu64
              ",\"data\":\"%s\"}", l->lid, l->off[d], data);
    free(data);
    snprintf(path, sizeof(path), "/launcher/runs/%s/log", l->rid[d]);
    fmt_big_request(&l->req, "POST", path, l->body.p, l->body.len);
}


/* the piece posted at t0 on cc[k]: until the follower of run d has it
   and the post has its answer, each timed */

static void
loglat_await(loglat_t *l, int i, int d, int k, uint64_t t0)
{
    int            got_f, got_p, rc;
    resp_t         r;
    uint64_t       end, want;
    follow_t      *f = &l->fol[d];
    struct pollfd  pfd[2];

    want = l->off[d] + (uint64_t) l->piece;
    got_f = got_p = 0;

    while (!got_f || !got_p) {
        pfd[0].fd = f->fd;
        pfd[0].events = got_f ? 0 : POLLIN;
        pfd[1].fd = l->cc[k].fd;
        pfd[1].events = got_p ? 0 : POLLIN;

        rc = poll(pfd, 2, RESP_TIMEOUT_MS);
        if (rc == 0) {
            die("loglat: sample %d: no piece and no answer in %d ms", i,
                RESP_TIMEOUT_MS);
        }
        if (rc == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("poll: %s", strerror(errno));
        }

        if (!got_f && pfd[0].revents) {
            if (follow_read(f) < 0 || f->state == FOL_END) {
                die("loglat: the follow ended");
            }
            if (f->pos >= want) {
                l->lat[l->nlat++] = now_ns() - t0;
                got_f = 1;
            }
        }

        if (!got_p && pfd[1].revents && conn_recv(&l->cc[k], &r, 0)) {
            l->own[l->nown++] = now_ns() - t0;
            got_p = 1;
            if (r.status != 200
                || !json_u64(r.body, r.body_len, "offset", &end)
                || end != want)
            {
                die("loglat: the post answered %d: %.*s", r.status,
                    (int) r.body_len, r.body);
            }
        }
    }
}


static void
loglat_sample(loglat_t *l, int i)
{
    int            d, k;
    uint64_t       t0;
    struct pollfd  pfd;

    d = i & 1;                  /* the follower's worker; the post: 1 - d */
    k = 1 - d;

    sleep_us(l->gap);

    /* the follower is held with nothing to send */
    pfd.fd = l->fol[d].fd;
    pfd.events = POLLIN;
    if (poll(&pfd, 1, 0) != 0) {
        die("loglat: the follower had something before the post");
    }

    loglat_post(l, i, d);

    t0 = now_ns();
    send_all(l->cc[k].fd, l->req.p, l->req.len);

    loglat_await(l, i, d, k, t0);

    if (l->fol[d].pos != l->off[d] + (uint64_t) l->piece
        || l->fol[d].skipped)
    {
        die("loglat: the follower is at %" PRIu64 ", %" PRIu64
            " posted", l->fol[d].pos, l->off[d] + (uint64_t) l->piece);
    }

    if (l->fol[d].worker == l->cc[k].worker) {
        l->same++;              /* never, by construction */
    }

    l->off[d] += (uint64_t) l->piece;
}


int
cmd_loglat(int argc, char **argv)
{
    int       i, d;
    loglat_t  l;

    loglat_options(argc, argv, &l);
    l.body = (sbuf_t) { NULL, 0, 0 };
    l.req = (sbuf_t) { NULL, 0, 0 };

    loglat_start(&l);

    for (i = 0; i < l.samples; i++) {
        loglat_sample(&l, i);
    }

    /* the runs end: so do their follows, with every byte */
    for (d = 0; d < 2; d++) {
        end_run(&l.cc[0], l.lid, l.rid[d]);
        follow_finish(&l.fol[d], l.off[d]);
        if (l.fol[d].data != l.off[d] || l.fol[d].answers != 1) {
            die("loglat: follower %d: %" PRIu64 " bytes in %d answers, %"
                PRIu64 " posted", d, l.fol[d].data, l.fol[d].answers,
                l.off[d]);
        }
    }

    printf("{\"workers\":[%ld,%ld],\"piece_bytes\":%d,\"gap_us\":%ld,"
           "\"same_worker\":%d,", l.pc[0].worker, l.pc[1].worker, l.piece,
           l.gap, l.same);
    print_dist("log_wake", l.lat, l.nlat);
    printf(",");
    print_dist("post_response", l.own, l.nown);
    printf("}\n");

    for (d = 0; d < 2; d++) {
        free(l.fol[d].buf);
        conn_close(&l.pc[d]);
        conn_close(&l.cc[d]);
    }
    free(l.lat);
    free(l.own);
    free(l.body.p);
    free(l.req.p);

    return 0;
}


/* ------------------------------------------------------------ logtput */

typedef struct {
    int       fd;
    int       want_out;
    int       busy;             /* a post in flight */
    char      rid[32];
    long      worker;
    uint64_t  offset;           /* the log's end, as last answered */
    uint64_t  sent_at;
    sbuf_t    w;                /* the request being written */
    size_t    woff;
    char     *rbuf;
    size_t    rlen;
    size_t    rcap;
} poster_t;


typedef struct {
    int        kind;            /* 0 poster, 1 follower */
    poster_t  *p;
    follow_t  *f;
} ev_t;


static void
ep_add(int ep, int fd, void *ptr)
{
    struct epoll_event  ev;

    ev.events = EPOLLIN;
    ev.data.ptr = ptr;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
        die("epoll_ctl: %s", strerror(errno));
    }
}


static void
ep_mod(int ep, int fd, void *ptr, int out)
{
    struct epoll_event  ev;

    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.ptr = ptr;
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == -1) {
        die("epoll_ctl: %s", strerror(errno));
    }
}


static void
poster_flush(poster_t *p, int ep, ev_t *e)
{
    ssize_t  n;

    while (p->woff < p->w.len) {
        n = send(p->fd, p->w.p + p->woff, p->w.len - p->woff, MSG_DONTWAIT);
        if (n == -1) {
            if (errno == EAGAIN || errno == EINTR) {
                break;
            }
            die("poster write: %s", strerror(errno));
        }
        p->woff += (size_t) n;
    }

    if ((p->woff < p->w.len) != p->want_out) {
        p->want_out = p->woff < p->w.len;
        ep_mod(ep, p->fd, e, p->want_out);
    }
}


static void
poster_post(poster_t *p, int ep, ev_t *e, const char *lid, const char *esc,
    size_t esc_len)
{
    size_t  body_len, head;
    char    pre[160];
    int     n;

    n = snprintf(pre, sizeof(pre), "{\"launcher_id\":\"%s\",\"offset\":%"
                 PRIu64 ",\"data\":\"", lid, p->offset);
    body_len = (size_t) n + esc_len + 2;

    p->w.len = 0;
    sb_printf(&p->w, "POST /launcher/runs/%s/log HTTP/1.1\r\nHost: bench\r\n"
              "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
              p->rid, body_len);
    head = p->w.len;
    sb_add(&p->w, pre, (size_t) n);
    sb_add(&p->w, esc, esc_len);
    sb_add(&p->w, "\"}", 2);

    if (p->w.len - head != body_len) {
        die("logtput: body length");
    }

    p->woff = 0;
    p->busy = 1;
    p->sent_at = now_ns();
    poster_flush(p, ep, e);
}


typedef struct {
    int        nruns;
    double     secs;
    int        piece;
    int        ceiling;         /* against "return 200": no runs */
    int        follow;          /* a follower per run */
    long       master;
    char       lid[32];
    char      *esc;             /* the piece, as the inside of a string */
    size_t     esc_len;
    int        ep;
    conn_t     setup;
    poster_t  *ps;
    follow_t  *fs;
    ev_t      *evs;             /* nruns posters, then nruns followers */
    int        cross;
    uint64_t  *lat;
    size_t     nlat;
    size_t     latcap;
    int        running;         /* posting, until stop_at */
    int        busy;            /* posters with a post in flight */
    uint64_t   stop_at;
    uint64_t   posted;
    uint64_t   posts;
    uint64_t   delivered_win;   /* to the followers while posting */
    uint64_t   delivered;       /* to the followers, in all */
    uint64_t   skipped;
    int        answers;
} logtput_t;


static void
logtput_options(int argc, char **argv, logtput_t *t)
{
    int  i, nofollow;

    t->nruns = 1;
    t->secs = 5;
    t->piece = 16384;
    t->ceiling = 0;
    nofollow = 0;
    t->master = 0;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            t->nruns = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            t->secs = atof(argv[++i]);
        } else if (strcmp(argv[i], "--piece") == 0 && i + 1 < argc) {
            t->piece = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--master") == 0 && i + 1 < argc) {
            t->master = atol(argv[++i]);
        } else if (strcmp(argv[i], "--ceiling") == 0) {
            t->ceiling = 1;
        } else if (strcmp(argv[i], "--no-follow") == 0) {
            nofollow = 1;
        } else {
            die("logtput: unknown argument %s", argv[i]);
        }
    }

    if (t->nruns < 1 || t->nruns > 1000 || t->secs <= 0 || t->piece < 1
        || t->piece > 1000000 || t->master == 0)
    {
        die("usage: logtput PORT --master PID [--runs R] [--seconds S] "
            "[--piece BYTES] [--ceiling | --no-follow]");
    }

    t->follow = !t->ceiling && !nofollow;
}


/* the piece, room for the runs and the latencies, the epoll set, the
   launcher */

static void
logtput_setup(logtput_t *t)
{
    t->esc = log_text_json((size_t) t->piece, "tput");
    t->esc_len = strlen(t->esc);

    t->ps = calloc((size_t) t->nruns, sizeof(poster_t));
    t->fs = calloc((size_t) t->nruns, sizeof(follow_t));
    t->evs = calloc((size_t) t->nruns * 2, sizeof(ev_t));
    t->latcap = 1 << 16;
    t->lat = calloc(t->latcap, sizeof(uint64_t));
    if (t->ps == NULL || t->fs == NULL || t->evs == NULL || t->lat == NULL) {
        die("out of memory");
    }

    t->ep = epoll_create1(0);
    if (t->ep == -1) {
        die("epoll_create1: %s", strerror(errno));
    }

    t->lid[0] = '\0';
    t->cross = 0;

    if (!t->ceiling) {
        conn_open(&t->setup);
        register_launcher(&t->setup, t->lid, sizeof(t->lid));
    }
}


/* run j: its poster's connection, the run, its follower in the other
   worker */

static void
logtput_add_run(logtput_t *t, int j)
{
    char       name[64];
    conn_t     c;
    poster_t  *p = &t->ps[j];

    /* the poster's connection, its worker known */
    conn_in_worker(&c, 0, 1);
    p->fd = c.fd;
    p->worker = c.worker;
    free(c.buf);

    if (t->ceiling) {
        snprintf(p->rid, sizeof(p->rid), "run_ceiling%04d", j);

    } else {
        snprintf(name, sizeof(name), "tput%d_%d", (int) getpid(), j);
        live_run(&t->setup, t->lid, name, p->rid, sizeof(p->rid));
    }

    if (t->follow) {
        /* its follower in the other worker */
        conn_in_worker(&c, p->worker, 0);
        free(c.buf);
        follow_start(&t->fs[j], c.fd, p->rid);
        t->fs[j].owner = p;
        t->cross++;

        t->evs[t->nruns + j].kind = 1;
        t->evs[t->nruns + j].f = &t->fs[j];
        ep_add(t->ep, t->fs[j].fd, &t->evs[t->nruns + j]);
    }

    t->evs[j].kind = 0;
    t->evs[j].p = p;
    ep_add(t->ep, p->fd, &t->evs[j]);
}


/* a follower has something: all it has is read */

static void
logtput_on_follow(logtput_t *t, follow_t *f)
{
    int       k;
    uint64_t  before = f->data;

    while ((k = follow_read(f)) > 0) {
        /* all it has */
    }
    if (k < 0) {
        die("logtput: a follow's connection closed");
    }
    t->delivered_win += f->data - before;
    if (f->state == FOL_END) {
        /* overtaken by the ring: asked again from where it is */
        follow_request(f);
    }
}


/* a poster's post answered: the next one sent while posting */

static void
logtput_answered(logtput_t *t, poster_t *p, ev_t *e, resp_t *r, size_t used)
{
    uint64_t  end;

    if (r->status != 200) {
        die("logtput: a post answered %d: %.*s", r->status,
            (int) r->body_len, r->body);
    }

    if (t->ceiling) {
        end = p->offset + (uint64_t) t->piece;
    } else if (!json_u64(r->body, r->body_len, "offset", &end)
               || end != p->offset + (uint64_t) t->piece)
    {
        die("logtput: a post answered %.*s at offset %" PRIu64,
            (int) r->body_len, r->body, p->offset);
    }

    if (t->nlat == t->latcap) {
        t->latcap *= 2;
        t->lat = xrealloc(t->lat, t->latcap * sizeof(uint64_t));
    }
    t->lat[t->nlat++] = now_ns() - p->sent_at;

    memmove(p->rbuf, p->rbuf + used, p->rlen - used);
    p->rlen -= used;
    p->offset = end;
    p->busy = 0;
    t->posted += (uint64_t) t->piece;
    t->posts++;

    if (t->running) {
        poster_post(p, t->ep, e, t->lid, t->esc, t->esc_len);
    } else {
        t->busy--;
    }
}


/* a poster's connection is ready for the given events */

static void
logtput_on_poster(logtput_t *t, ev_t *e, uint32_t events)
{
    size_t     used;
    resp_t     r;
    ssize_t    k;
    poster_t  *p = e->p;

    if (events & EPOLLOUT) {
        poster_flush(p, t->ep, e);
    }

    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        return;
    }

    if (p->rcap - p->rlen < 4096) {
        p->rcap = p->rcap ? p->rcap * 2 : 16384;
        p->rbuf = xrealloc(p->rbuf, p->rcap);
    }

    k = recv(p->fd, p->rbuf + p->rlen, p->rcap - p->rlen, MSG_DONTWAIT);
    if (k == 0) {
        die("logtput: the server closed a poster's connection");
    }
    if (k == -1) {
        if (errno == EAGAIN || errno == EINTR) {
            return;
        }
        die("poster read: %s", strerror(errno));
    }
    p->rlen += (size_t) k;

    if (parse_response(p->rbuf, p->rlen, &r, &used) != 1) {
        return;
    }

    logtput_answered(t, p, e, &r, used);
}


/* every poster posts back to back until stop_at, then until its last
   post is answered */

static void
logtput_loop(logtput_t *t)
{
    int                 i, j, n;
    ev_t               *e;
    struct epoll_event  ready[256];

    for (j = 0; j < t->nruns; j++) {
        poster_post(&t->ps[j], t->ep, &t->evs[j], t->lid, t->esc,
                    t->esc_len);
    }

    t->running = 1;
    t->busy = t->nruns;

    while (t->busy > 0) {
        n = epoll_wait(t->ep, ready, 256, RESP_TIMEOUT_MS);
        if (n == 0) {
            die("logtput: nothing for %d ms", RESP_TIMEOUT_MS);
        }
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("epoll_wait: %s", strerror(errno));
        }

        if (t->running && now_ns() >= t->stop_at) {
            t->running = 0;
        }

        for (i = 0; i < n; i++) {
            e = ready[i].data.ptr;

            if (e->kind == 1) {
                logtput_on_follow(t, e->f);
            } else {
                logtput_on_poster(t, e, ready[i].events);
            }
        }
    }
}


/* the runs end: their follows get every byte kept, then end */

static void
logtput_drain(logtput_t *t)
{
    int  j;

    t->delivered = t->skipped = 0;
    t->answers = 0;
    for (j = 0; !t->ceiling && j < t->nruns; j++) {
        end_run(&t->setup, t->lid, t->ps[j].rid);
    }
    for (j = 0; t->follow && j < t->nruns; j++) {
        follow_finish(&t->fs[j], t->ps[j].offset);
        t->delivered += t->fs[j].data;
        t->skipped += t->fs[j].skipped;
        t->answers += t->fs[j].answers;
        if (t->fs[j].data + t->fs[j].skipped != t->ps[j].offset) {
            die("logtput: %s: %" PRIu64 " bytes received, %" PRIu64
                " skipped, %" PRIu64 " posted", t->ps[j].rid, t->fs[j].data,
                t->fs[j].skipped, t->ps[j].offset);
        }
    }
}


/* ticks: nginx's CPU over wall seconds; client_s: this process's */

static void
logtput_report(logtput_t *t, double wall, long ticks, long hz,
    double client_s)
{
#define MB(x)  ((double) (x) / 1e6)

    printf("{\"mode\":\"%s\",\"runs\":%d,\"piece_bytes\":%d,\"seconds\":%.3f,"
           "\"posts\":%" PRIu64 ",\"posted_bytes\":%" PRIu64 ","
           "\"posted_mb_s\":%.2f,\"delivered_bytes_window\":%" PRIu64 ","
           "\"delivered_mb_s\":%.2f,\"delivered_bytes_total\":%" PRIu64 ","
           "\"skipped_bytes\":%" PRIu64 ",\"follow_requests\":%d,"
           "\"cross_worker_followers\":%d,"
           "\"nginx_ticks\":%ld,\"hz\":%ld,\"nginx_cpu_pct\":%.1f,"
           "\"nginx_cpu_ms_per_mb\":%.3f,\"client_cpu_pct\":%.1f,",
           t->ceiling ? "ceiling" : t->follow ? "product" : "product_no_follow",
           t->nruns, t->piece, wall, t->posts, t->posted,
           MB(t->posted) / wall, t->delivered_win,
           MB(t->delivered_win) / wall, t->delivered,
           t->skipped, t->answers, t->cross, ticks, hz,
           100.0 * (double) ticks / (double) hz / wall,
           t->posted ? 1000.0 * (double) ticks / (double) hz
                       / MB(t->posted) : -1.0,
           100.0 * client_s / wall);
    print_dist("post_response", t->lat, t->nlat);
    printf("}\n");

#undef MB
}


static void
logtput_free(logtput_t *t)
{
    int  j;

    for (j = 0; j < t->nruns; j++) {
        close(t->ps[j].fd);
        free(t->ps[j].w.p);
        free(t->ps[j].rbuf);
        if (t->follow) {
            close(t->fs[j].fd);
            free(t->fs[j].buf);
        }
    }
    if (!t->ceiling) {
        conn_close(&t->setup);
    }
    close(t->ep);
    free(t->ps);
    free(t->fs);
    free(t->evs);
    free(t->lat);
    free(t->esc);
}


int
cmd_logtput(int argc, char **argv)
{
    int            j;
    long           hz, pids[MAX_WORKERS], ticks0, ticks1;
    double         wall, client_s;
    size_t         npids;
    uint64_t       t0, t1;
    logtput_t      t;
    struct rusage  ru0, ru1;

    logtput_options(argc, argv, &t);

    raise_nofile();
    hz = sysconf(_SC_CLK_TCK);
    npids = nginx_pids(t.master, pids, MAX_WORKERS);

    logtput_setup(&t);

    for (j = 0; j < t.nruns; j++) {
        logtput_add_run(&t, j);
    }

    /* every follow held before the clock starts */
    for (j = 0; t.follow && j < t.nruns; j++) {
        follow_wait(&t.fs[j], 0, RESP_TIMEOUT_MS);
        if (t.fs[j].worker == t.ps[j].worker) {
            die("logtput: follower and poster in worker %ld", t.fs[j].worker);
        }
    }

    sleep_us(100000);

    t.posted = t.posts = t.delivered_win = 0;
    t.nlat = 0;

    getrusage(RUSAGE_SELF, &ru0);
    ticks0 = sum_ticks(pids, npids, 0);
    t0 = now_ns();
    t.stop_at = t0 + (uint64_t) (t.secs * 1e9);

    logtput_loop(&t);

    t1 = now_ns();
    ticks1 = sum_ticks(pids, npids, 0);
    getrusage(RUSAGE_SELF, &ru1);
    wall = (double) (t1 - t0) / 1e9;
    client_s = (double) (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec)
               + (double) (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec)
               + (double) (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6
               + (double) (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;

    logtput_drain(&t);
    logtput_report(&t, wall, ticks1 - ticks0, hz, client_s);
    logtput_free(&t);

    return 0;
}


/* --------------------------------------------------------------- done */

enum { D_CREATE, D_CLAIM, D_STARTED, D_LOG, D_COMPLETED, D_CHECK_RUN,
       D_CHECK_FIRST };


typedef struct {
    conn_t  c;
    int     state;
    char    lid[32];
    char    rid[32];
    sbuf_t  req;
} doer_t;


typedef struct {
    long            total;
    int             nconns;
    int             result_bytes;
    int             log_bytes;
    int             until_evicted;
    const char     *prefix;
    const char     *idsfile;
    char           *esc;        /* the log, as the inside of a string */
    char           *result;
    FILE           *ids;
    doer_t         *ds;
    struct pollfd  *pfds;
    int             active;     /* connections with a request out */
    long            started;
    long            completed;
    long            name_bytes;
    const char     *stopped_by;
    char            first[32];  /* the first run completed */
    sbuf_t          body;
} done_t;


/* what an answer leads to: the connection's next request sent, its run
   done, or the measurement over (stopped_by says why) */
enum { DONE_SENT, DONE_NEXT, DONE_STOPPED };


static void
done_options(int argc, char **argv, done_t *t)
{
    int  i;

    t->nconns = 16;
    t->result_bytes = 4096;
    t->log_bytes = 16384;
    t->prefix = "d";
    t->idsfile = NULL;
    t->until_evicted = 0;

    if (argc < 4) {
        die("usage: done PORT N [--conns C] [--result BYTES] [--log BYTES] "
            "[--prefix P] [--ids FILE] [--until-evicted]");
    }

    t->total = atol(argv[3]);

    for (i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--conns") == 0 && i + 1 < argc) {
            t->nconns = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--result") == 0 && i + 1 < argc) {
            t->result_bytes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
            t->log_bytes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            t->prefix = argv[++i];
        } else if (strcmp(argv[i], "--ids") == 0 && i + 1 < argc) {
            t->idsfile = argv[++i];
        } else if (strcmp(argv[i], "--until-evicted") == 0) {
            t->until_evicted = 1;
        } else {
            die("done: unknown argument %s", argv[i]);
        }
    }

    if (t->until_evicted) {
        t->nconns = 1;          /* the first eviction is then exact */
    }

    if (t->nconns < 1 || t->result_bytes < 0 || t->log_bytes < 1
        || (!t->until_evicted && t->total < 1))
    {
        die("done: bad arguments");
    }
}


/* the log and the result, the ids file, room for the connections */

static void
done_setup(done_t *t)
{
    raise_nofile();

    t->esc = log_text_json((size_t) t->log_bytes, "done");
    t->result = result_text((size_t) t->result_bytes);

    t->ids = NULL;
    if (t->idsfile) {
        t->ids = fopen(t->idsfile, "w");
        if (t->ids == NULL) {
            die("%s: %s", t->idsfile, strerror(errno));
        }
    }

    t->ds = calloc((size_t) t->nconns, sizeof(doer_t));
    t->pfds = calloc((size_t) t->nconns, sizeof(struct pollfd));
    if (t->ds == NULL || t->pfds == NULL) {
        die("out of memory");
    }

    t->started = t->completed = t->name_bytes = 0;
    t->stopped_by = "count";
    t->first[0] = '\0';
    t->active = 0;
    t->body = (sbuf_t) { NULL, 0, 0 };
}


/* the connection's next run: its create sent */

static void
done_create(done_t *t, doer_t *x)
{
    char  name[64], cbody[512];

    snprintf(name, sizeof(name), "%s%ld", t->prefix, t->started++);
    t->name_bytes += (long) strlen(name);
    create_body(cbody, sizeof(cbody), name, prompt100);
    conn_request(&x->c, "POST", "/runs", cbody);
    x->state = D_CREATE;
}


/* the run created: the poll that claims it */

static int
done_on_create(done_t *t, doer_t *x, resp_t *r)
{
    char  path[192];

    if (r->status == 503 && t->until_evicted) {
        t->stopped_by = "create refused (503)";
        return DONE_STOPPED;
    }
    if (r->status != 201) {
        die("done: POST /runs answered %d: %.*s", r->status,
            (int) r->body_len, r->body);
    }
    snprintf(path, sizeof(path), "/launcher/runs?launcher_id=%s", x->lid);
    conn_request(&x->c, "GET", path, NULL);
    x->state = D_CLAIM;

    return DONE_SENT;
}


/* the run claimed: its "started" */

static int
done_on_claim(done_t *t, doer_t *x, resp_t *r)
{
    char  path[192];

    if (r->status != 200
        || !json_str(r->body, r->body_len, "run_id", x->rid, sizeof(x->rid)))
    {
        die("done: the poll answered %d: %.*s", r->status,
            (int) r->body_len, r->body);
    }
    snprintf(path, sizeof(path), "/launcher/runs/%s/started", x->rid);
    t->body.len = 0;
    sb_printf(&t->body, "{\"launcher_id\":\"%s\"}", x->lid);
    conn_request(&x->c, "POST", path, t->body.p);
    x->state = D_STARTED;

    return DONE_SENT;
}


/* the run started: its log */

static int
done_on_started(done_t *t, doer_t *x, resp_t *r)
{
    char  path[192];

    if (r->status != 200) {
        die("done: started answered %d: %.*s", r->status,
            (int) r->body_len, r->body);
    }
    snprintf(path, sizeof(path), "/launcher/runs/%s/log", x->rid);
    t->body.len = 0;
    sb_printf(&t->body, "{\"launcher_id\":\"%s\",\"offset\":0,"
              "\"data\":\"%s\"}", x->lid, t->esc);
    fmt_big_request(&x->req, "POST", path, t->body.p, t->body.len);
    send_all(x->c.fd, x->req.p, x->req.len);
    x->state = D_LOG;

    return DONE_SENT;
}


/* the log posted: the run completed with its result */

static int
done_on_log(done_t *t, doer_t *x, resp_t *r)
{
    char      path[192];
    uint64_t  end;

    if (r->status == 503 && t->until_evicted) {
        t->stopped_by = "log refused (503)";
        return DONE_STOPPED;
    }
    if (r->status != 200
        || !json_u64(r->body, r->body_len, "offset", &end)
        || end != (uint64_t) t->log_bytes)
    {
        die("done: the log post answered %d: %.*s", r->status,
            (int) r->body_len, r->body);
    }
    snprintf(path, sizeof(path), "/launcher/runs/%s/completed", x->rid);
    t->body.len = 0;
    sb_printf(&t->body, "{\"launcher_id\":\"%s\",\"result\":\"%s\"}",
              x->lid, t->result);
    fmt_big_request(&x->req, "POST", path, t->body.p, t->body.len);
    send_all(x->c.fd, x->req.p, x->req.len);
    x->state = D_COMPLETED;

    return DONE_SENT;
}


/* the run completed: done, or with --until-evicted, the run asked for */

static int
done_on_completed(done_t *t, doer_t *x, resp_t *r)
{
    char  path[192];

    if (r->status != 200) {
        die("done: completed answered %d: %.*s", r->status,
            (int) r->body_len, r->body);
    }
    if (t->ids) {
        fprintf(t->ids, "%s\n", x->rid);
    }
    if (t->first[0] == '\0') {
        snprintf(t->first, sizeof(t->first), "%s", x->rid);
    }
    if (t->until_evicted) {
        /* this run whole: its result kept, not cut */
        snprintf(path, sizeof(path), "/runs/%s", x->rid);
        conn_request(&x->c, "GET", path, NULL);
        x->state = D_CHECK_RUN;
        return DONE_SENT;
    }
    t->completed++;

    return DONE_NEXT;
}


/* the run as stored: its result whole? then the first run's log asked
   for */

static int
done_on_check_run(done_t *t, doer_t *x, resp_t *r)
{
    char  path[192];

    if (r->status != 200) {
        die("done: GET /runs/%s answered %d", x->rid, r->status);
    }
    if (memmem(r->body, r->body_len, "\"result_truncated\":false", 24) == NULL
        && memmem(r->body, r->body_len, "\"result_truncated\": false",
                  25) == NULL)
    {
        t->stopped_by = "result cut";
        return DONE_STOPPED;
    }
    /* the first run's log: still there? */
    snprintf(path, sizeof(path), "/runs/%s/log?offset=%d", t->first,
             t->log_bytes);
    conn_request(&x->c, "GET", path, NULL);
    x->state = D_CHECK_FIRST;

    return DONE_SENT;
}


/* the first run's log: still there, or evicted */

static int
done_on_check_first(done_t *t, doer_t *x, resp_t *r)
{
    if (r->status == 404) {
        t->stopped_by = "first run evicted";
        return DONE_STOPPED;
    }
    if (r->status != 200) {
        die("done: GET the first log answered %d", r->status);
    }
    if (memmem(x->c.buf, (size_t) (r->body - x->c.buf),
               "X-Log-Evicted: true", 19) != NULL)
    {
        t->stopped_by = "first log evicted";
        return DONE_STOPPED;
    }
    t->completed++;

    return DONE_NEXT;
}


/* an answer on x's connection: the step it ends, then the next one */

static void
done_answer(done_t *t, doer_t *x, resp_t *r)
{
    int  rc;

    switch (x->state) {
    case D_CREATE:      rc = done_on_create(t, x, r); break;
    case D_CLAIM:       rc = done_on_claim(t, x, r); break;
    case D_STARTED:     rc = done_on_started(t, x, r); break;
    case D_LOG:         rc = done_on_log(t, x, r); break;
    case D_COMPLETED:   rc = done_on_completed(t, x, r); break;
    case D_CHECK_RUN:   rc = done_on_check_run(t, x, r); break;
    case D_CHECK_FIRST: rc = done_on_check_first(t, x, r); break;
    default:
        die("done: state %d", x->state);
    }

    if (rc == DONE_NEXT && (t->until_evicted || t->started < t->total)) {
        done_create(t, x);

    } else if (rc != DONE_SENT) {
        x->state = -1;
        t->active--;
    }
}


/* every connection round create .. completed until the count is reached
   (or the zone gives up) */

static void
done_loop(done_t *t)
{
    int             i, rc;
    doer_t         *x;
    resp_t          r;
    struct pollfd  *pfds = t->pfds;

    for (i = 0; i < t->nconns; i++) {
        conn_open(&t->ds[i].c);
        register_launcher(&t->ds[i].c, t->ds[i].lid, sizeof(t->ds[i].lid));
        t->ds[i].state = -1;
    }

    /* the first request of each */
    for (i = 0; i < t->nconns && (t->until_evicted || t->started < t->total);
         i++)
    {
        done_create(t, &t->ds[i]);
        t->active++;
    }

    while (t->active > 0) {
        for (i = 0; i < t->nconns; i++) {
            pfds[i].fd = t->ds[i].c.fd;
            pfds[i].events = t->ds[i].state >= 0 ? POLLIN : 0;
        }

        rc = poll(pfds, (nfds_t) t->nconns, RESP_TIMEOUT_MS);
        if (rc == 0) {
            die("done: no answer in %d ms", RESP_TIMEOUT_MS);
        }
        if (rc == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("poll: %s", strerror(errno));
        }

        for (i = 0; i < t->nconns; i++) {
            x = &t->ds[i];

            if (pfds[i].revents && x->state >= 0 && conn_recv(&x->c, &r, 0)) {
                done_answer(t, x, &r);
            }
        }
    }
}


int
cmd_done(int argc, char **argv)
{
    int       i;
    done_t    t;
    uint64_t  t0, t1;

    done_options(argc, argv, &t);
    done_setup(&t);

    t0 = now_ns();

    done_loop(&t);

    t1 = now_ns();

    if (t.ids && fclose(t.ids) != 0) {
        die("%s: %s", t.idsfile, strerror(errno));
    }

    printf("{\"completed\":%ld,\"attempted\":%ld,\"stopped_by\":\"%s\","
           "\"prompt_bytes\":100,\"name_bytes_mean\":%.2f,"
           "\"result_bytes\":%d,\"log_bytes\":%d,\"conns\":%d,"
           "\"seconds\":%.3f,\"per_s\":%.0f}\n",
           t.completed, t.started, t.stopped_by,
           t.started ? (double) t.name_bytes / (double) t.started : 0.0,
           t.result_bytes, t.log_bytes, t.nconns, (double) (t1 - t0) / 1e9,
           (double) t.completed / ((double) (t1 - t0) / 1e9));

    for (i = 0; i < t.nconns; i++) {
        conn_close(&t.ds[i].c);
        free(t.ds[i].req.p);
    }
    free(t.ds);
    free(t.pfds);
    free(t.esc);
    free(t.result);
    free(t.body.p);

    return 0;
}
