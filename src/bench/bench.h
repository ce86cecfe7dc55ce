/*
 * bench.h: what runs-bench.c and bench_logs.c share: the HTTP client,
 * the numbers, the nginx processes' CPU.
 */

#ifndef RUNS_BENCH_H
#define RUNS_BENCH_H

#include <stddef.h>
#include <stdint.h>


#define RESP_TIMEOUT_MS  30000
#define MAX_WORKERS      16


typedef struct {
    int         status;
    long        worker;         /* X-Worker, 0: absent */
    char        location[80];
    const char *body;           /* into the connection's buffer */
    size_t      body_len;
} resp_t;


typedef struct {
    int     fd;
    char   *buf;
    size_t  len;
    size_t  cap;
    size_t  consumed;           /* bytes of the last response, dropped on
                                   the next receive */
    long    worker;
} conn_t;


extern int          port;           /* the server: 127.0.0.1:port */
extern const char  *prompt100;      /* a prompt of 100 bytes */


void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                              noreturn));
uint64_t now_ns(void);
void sleep_us(long us);
void *xrealloc(void *p, size_t n);
void raise_nofile(void);

int parse_response(const char *buf, size_t len, resp_t *r, size_t *used);
int tcp_connect(int nonblock);
void conn_open(conn_t *c);
void conn_close(conn_t *c);
void send_all(int fd, const char *data, size_t len);
int conn_recv(conn_t *c, resp_t *r, int timeout_ms);
void conn_must_recv(conn_t *c, resp_t *r, const char *what);
size_t fmt_request(char *buf, size_t size, const char *method,
    const char *path, const char *body);
void conn_request(conn_t *c, const char *method, const char *path,
    const char *body);
void conn_roundtrip(conn_t *c, const char *method, const char *path,
    const char *body, resp_t *r, int expect);
int json_str(const char *body, size_t len, const char *key, char *out,
    size_t size);
void create_body(char *buf, size_t size, const char *name,
    const char *prompt);
void register_launcher(conn_t *c, char *id, size_t size);

void print_dist(const char *name, uint64_t *v, size_t n);

void conns_per_worker(conn_t pc[2], conn_t cc[2]);

size_t nginx_pids(long master, long *pids, size_t max);
long sum_ticks(long *pids, size_t n, int children);

/* bench_logs.c */
int cmd_loglat(int argc, char **argv);
int cmd_logtput(int argc, char **argv);
int cmd_done(int argc, char **argv);
int cmd_stall(int argc, char **argv);

/* bench_mcp.c */
int cmd_mcp(int argc, char **argv);
int cmd_mcp_idle(int argc, char **argv);

/* bench_events.c */
int cmd_events(int argc, char **argv);

/* bench_route.c */
int cmd_route(int argc, char **argv);

#endif /* RUNS_BENCH_H */
