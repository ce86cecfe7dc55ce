/*
 * runs-bench mcp PORT --samples N
 *     with a runner and the echo executor serving the coordinator: N
 *     sync start_agent_session calls over MCP (create, claim, run,
 *     result, answer: one request), one after another; then N times what
 *     "runsctl start --wait" does (POST /runs, GET /runs/{id}?wait=60).
 *
 * runs-bench mcpidle PORT --held N --idle S --master PID
 *     with no runner: N sync calls held at once, then S idle seconds (the
 *     nginx processes' CPU over them); none may be answered meanwhile.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"


/* an MCP session: its id, from initialize's Mcp-Session-Id */

static void
mcp_session(conn_t *c, char *sid, size_t size)
{
    char        req[512];
    const char *body, *h, *e;
    int         n;
    resp_t      r;

    body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
           "\"params\":{\"protocolVersion\":\"2025-06-18\"}}";

    n = snprintf(req, sizeof(req), "POST /mcp HTTP/1.1\r\nHost: bench\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                 "\r\n%s", strlen(body), body);
    send_all(c->fd, req, (size_t) n);

    /* the header is read from the raw answer, before the parser's turn */
    conn_must_recv(c, &r, "initialize");

    h = memmem(c->buf, c->len, "Mcp-Session-Id: ", 16);
    if (r.status != 200 || h == NULL) {
        die("mcp: initialize answered %d", r.status);
    }

    h += 16;
    e = memchr(h, '\r', (size_t) (c->buf + c->len - h));
    if (e == NULL || (size_t) (e - h) >= size) {
        die("mcp: a malformed Mcp-Session-Id");
    }

    memcpy(sid, h, (size_t) (e - h));
    sid[e - h] = '\0';
}


static size_t
mcp_call(char *buf, size_t size, const char *sid, const char *name, long k)
{
    char  body[512];
    int   n;

    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%ld,"
             "\"method\":\"tools/call\",\"params\":{\"name\":"
             "\"start_agent_session\",\"arguments\":{\"session_name\":"
             "\"%s\",\"prompt\":\"%s\"}}}", k, name, prompt100);

    n = snprintf(buf, size, "POST /mcp HTTP/1.1\r\nHost: bench\r\n"
                 "Content-Type: application/json\r\nMcp-Session-Id: %s\r\n"
                 "Content-Length: %zu\r\n\r\n%s", sid, strlen(body), body);

    if (n < 0 || (size_t) n >= size) {
        die("mcp: request too large");
    }

    return (size_t) n;
}


int
cmd_mcp(int argc, char **argv)
{
    int        i, samples;
    char       sid[80], req[1024], name[64], path[128], body[512], id[32];
    conn_t     c;
    resp_t     r;
    uint64_t   t0, *sync, *rest;

    samples = 200;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc) {
            samples = atoi(argv[++i]);
        } else {
            die("mcp: unknown argument %s", argv[i]);
        }
    }

    sync = calloc((size_t) samples, sizeof(uint64_t));
    rest = calloc((size_t) samples, sizeof(uint64_t));
    if (sync == NULL || rest == NULL) {
        die("out of memory");
    }

    conn_open(&c);
    mcp_session(&c, sid, sizeof(sid));

    for (i = 0; i < samples; i++) {
        snprintf(name, sizeof(name), "mcp-%ld-%d", (long) getpid(), i);
        t0 = now_ns();
        send_all(c.fd, req, mcp_call(req, sizeof(req), sid, name, i + 2));
        conn_must_recv(&c, &r, "tools/call");
        sync[i] = now_ns() - t0;

        if (r.status != 200 || memmem(r.body, r.body_len,
                                      "\"isError\":false", 15) == NULL)
        {
            die("mcp: a sync start answered %d: %.*s", r.status,
                (int) r.body_len, r.body);
        }
    }

    for (i = 0; i < samples; i++) {
        snprintf(name, sizeof(name), "rest-%ld-%d", (long) getpid(), i);
        create_body(body, sizeof(body), name, prompt100);
        t0 = now_ns();
        conn_roundtrip(&c, "POST", "/runs", body, &r, 201);

        if (!json_str(r.body, r.body_len, "run_id", id, sizeof(id))) {
            die("mcp: no run_id");
        }

        snprintf(path, sizeof(path), "/runs/%s?wait=60", id);
        conn_roundtrip(&c, "GET", path, NULL, &r, 200);
        rest[i] = now_ns() - t0;

        if (memmem(r.body, r.body_len, "\"completed\"", 11) == NULL) {
            die("mcp: a waited run did not complete: %.*s",
                (int) r.body_len, r.body);
        }
    }

    conn_close(&c);

    printf("{\"samples\":%d,", samples);
    print_dist("mcp_sync", sync, (size_t) samples);
    printf(",");
    print_dist("post_wait", rest, (size_t) samples);
    printf("}\n");

    free(sync);
    free(rest);

    return 0;
}


int
cmd_mcp_idle(int argc, char **argv)
{
    int             i, held, before, during;
    long            master, idle, t0, t1, hz, pids[MAX_WORKERS];
    char            sid[80], req[1024], name[64];
    size_t          npids;
    conn_t          ctl, *cs;
    uint64_t        w0, w1;
    struct pollfd  *pfds;

    held = 1000;
    idle = 10;
    master = 0;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--held") == 0 && i + 1 < argc) {
            held = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--idle") == 0 && i + 1 < argc) {
            idle = atol(argv[++i]);
        } else if (strcmp(argv[i], "--master") == 0 && i + 1 < argc) {
            master = atol(argv[++i]);
        } else {
            die("mcpidle: unknown argument %s", argv[i]);
        }
    }

    if (master == 0 || held < 1) {
        die("usage: mcpidle PORT --held N --idle S --master PID");
    }

    raise_nofile();
    hz = sysconf(_SC_CLK_TCK);
    npids = nginx_pids(master, pids, MAX_WORKERS);

    cs = calloc((size_t) held, sizeof(conn_t));
    pfds = calloc((size_t) held, sizeof(struct pollfd));
    if (cs == NULL || pfds == NULL) {
        die("out of memory");
    }

    conn_open(&ctl);
    mcp_session(&ctl, sid, sizeof(sid));
    conn_close(&ctl);

    for (i = 0; i < held; i++) {
        conn_open(&cs[i]);
        snprintf(name, sizeof(name), "idle-%ld-%d", (long) getpid(), i);
        send_all(cs[i].fd, req, mcp_call(req, sizeof(req), sid, name, i));
        pfds[i].fd = cs[i].fd;
        pfds[i].events = POLLIN;
    }

    sleep_us(1000000);      /* every call made and held */

    before = poll(pfds, (nfds_t) held, 0);

    t0 = sum_ticks(pids, npids, 0);
    w0 = now_ns();
    sleep_us(idle * 1000000);
    t1 = sum_ticks(pids, npids, 0);
    w1 = now_ns();

    during = poll(pfds, (nfds_t) held, 0) - before;

    for (i = 0; i < held; i++) {
        conn_close(&cs[i]);
    }

    printf("{\"held\":%d,\"answered_before\":%d,\"answered_during\":%d,"
           "\"processes\":%zu,\"seconds\":%.3f,\"cpu_ticks\":%ld,\"hz\":%ld,"
           "\"cpu_percent\":%.3f}\n",
           held, before, during, npids, (double) (w1 - w0) / 1e9, t1 - t0,
           hz, 100.0 * (double) (t1 - t0) / (double) hz
           / ((double) (w1 - w0) / 1e9));

    free(cs);
    free(pfds);

    return 0;
}
