
/*
 * ngx_http_runs_module: agent-run queue and launcher registry kept in one
 * shared-memory zone.  See docs/ARCHITECTURE.md for what lives where and
 * what the zone's lock covers.
 */


#ifndef _NGX_HTTP_RUNS_H_INCLUDED_
#define _NGX_HTTP_RUNS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include "ngx_http_runs_store.h"

#if (NGX_THREADS)
#include <ngx_thread_pool.h>
#else
typedef void  ngx_thread_pool_t;
#endif


#ifndef NGX_HTTP_UNPROCESSABLE_ENTITY
#define NGX_HTTP_UNPROCESSABLE_ENTITY  422
#endif


typedef struct ngx_http_runs_ctx_s        ngx_http_runs_ctx_t;
typedef struct ngx_http_runs_held_kind_s  ngx_http_runs_held_kind_t;
typedef struct ngx_http_runs_route_s      ngx_http_runs_route_t;


/* per-process objects */

/*
 * One write of a journal's buffer (append, then fdatasync in the strict
 * mode) by a thread of nginx's pool.  A worker may have up to
 * NGX_HTTP_RUNS_JWRITES in flight, ended in the order they began.  One:
 * with two or four, a write started while another is in its fdatasync
 * was measured no faster here (POST /runs, strict, 2 workers: within the
 * noise of one), each fdatasync flushing the disk's cache on its own.
 */

#define NGX_HTTP_RUNS_JWRITES  1

typedef struct {
    void                       *journal;
    ngx_thread_task_t          *task;
    ngx_fd_t                    fd;         /* the file it goes to */
    u_char                     *buf;        /* its buffer (it owns one) */
    size_t                      len;        /* the bytes it carries, */
    uint64_t                    target;     /* the changes it ends with, */
    uint64_t                    bells;      /* the doorbells it holds */
    ngx_err_t                   err;
    unsigned                    busy:1;     /* handed to a thread */
    unsigned                    done:1;     /* back from it */
} ngx_http_runs_jwrite_t;


/* a zone's journal (ngx_http_runs_journal.c), in each process */
typedef struct {
    ngx_http_runs_jstage_t      stage;      /* first: the store's view */
    ngx_http_runs_zone_t       *zone;
    ngx_str_t                   path;
    ngx_msec_t                  interval;   /* relaxed: between writes */
    size_t                      size;       /* of each buffer */
    ngx_thread_pool_t          *pool;
    ngx_fd_t                    fd;
    u_char                     *buf;        /* the buffer being filled */
    ngx_http_runs_jwrite_t      w[NGX_HTTP_RUNS_JWRITES];
    ngx_uint_t                  whead;      /* the oldest write not ended */
    ngx_uint_t                  wcount;     /* writes not ended */
    uint64_t                    synced;     /* changes on disk */
    ngx_event_t                 flush;      /* posted: start a write */
    ngx_event_t                 tick;       /* relaxed: every interval */
    ngx_queue_t                 waiting;    /* answers held for a write */
    ngx_log_t                  *log;
    time_t                      err_logged;
    uint64_t                    gen;        /* of the file fd is open on */
    off_t                       compact;    /* compact=: the least size */
    /* a compaction this worker runs */
    ngx_http_runs_jcursor_t     cur;
    u_char                     *snap;       /* the snapshot, */
    u_char                     *snap_pos;
    size_t                      snap_size;
    off_t                       ostart;     /* the old file's size then */
    off_t                       csize;      /* the new file's size */
    ngx_err_t                   cerr;
    ngx_msec_t                  cstart;     /* when it began */
    time_t                      cretry;     /* no compaction before */
    ngx_event_t                 cev;        /* its next step */
    ngx_thread_task_t          *ctask;
    ngx_uint_t                  cstep;
    ngx_str_t                   tmp;        /* PATH.new */
    ngx_str_t                   old;        /* PATH.old */
    ngx_event_t                 again;      /* a failed write, again */
    unsigned                    failed:1;   /* the oldest write failed:
                                               it is written again */
    unsigned                    compacting:2;
    unsigned                    cforce:1;   /* a rewrite is due now */
} ngx_http_runs_journal_t;

typedef struct {
    ngx_array_t                 zones;      /* ngx_http_runs_zone_t * */
    ngx_array_t                 uses;       /* ngx_http_runs_use_t */
    ngx_http_runs_limits_t      limits;     /* what the store is told */
    size_t                      result_max;
    size_t                      log_size;   /* runs_log_size */
    ngx_msec_t                  events_heartbeat;   /* an event stream's
                                                       comment when idle */
    size_t                      blueprint_max;      /* runs_blueprint_max */
    ngx_event_t                 timer;      /* maintenance + safety */
} ngx_http_runs_main_conf_t;


/* runs_name_pattern */
typedef struct {
#if (NGX_PCRE)
    ngx_regex_t                *regex;
#endif
    ngx_str_t                   text;
} ngx_http_runs_pattern_t;


typedef struct {
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_route_t      *routes;     /* the API group's table */
    ngx_str_t                   prefix;
    ngx_msec_t                  poll_timeout;
    ngx_msec_t                  heartbeat_interval;
    ngx_flag_t                  launcher_auth;  /* runs_launcher_auth */
    ngx_http_runs_pattern_t    *name_pattern;   /* NULL: none */
    ngx_http_complex_value_t   *scope;          /* runs_scope; NULL */
    ngx_str_t                   dashboard;      /* runs_dashboard: its
                                                   config.json */
    ngx_msec_t                  mcp_timeout;    /* runs_mcp_timeout */
} ngx_http_runs_loc_conf_t;


/* a member of a request body, see ngx_http_runs_json_read() */
typedef enum {
    NGX_HTTP_RUNS_JSON_ABSENT = 0,
    NGX_HTTP_RUNS_JSON_NULL,
    NGX_HTTP_RUNS_JSON_STRING,
    NGX_HTTP_RUNS_JSON_INTEGER,
    NGX_HTTP_RUNS_JSON_OTHER          /* true, false, real, object, array */
} ngx_http_runs_json_e;

typedef struct {
    const char                 *key;
    ngx_http_runs_json_e        type;
    ngx_str_t                   value;      /* decoded, for a string */
} ngx_http_runs_field_t;


/* a response being written: a chain of the request's buffers */
typedef struct {
    ngx_pool_t                 *pool;
    ngx_chain_t                *first;
    ngx_chain_t               **last;
    ngx_buf_t                  *buf;
    size_t                      len;
    size_t                      hint;       /* size of the next buffer */
    ngx_uint_t                  failed;     /* out of memory */
} ngx_http_runs_out_t;

#define ngx_http_runs_out_literal(o, s)                                      \
    ngx_http_runs_out_raw(o, (u_char *) s, sizeof(s) - 1)

/* p: where writing stopped in what ngx_http_runs_out_reserve() gave */
static ngx_inline void
ngx_http_runs_out_commit(ngx_http_runs_out_t *o, u_char *p)
{
    o->len += p - o->buf->last;
    o->buf->last = p;
}


/* an endpoint: the body is NULL unless its route reads one */
typedef ngx_int_t (*ngx_http_runs_endpoint_pt)(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);

/* a route of an API group's table, which ends with a NULL handler */
struct ngx_http_runs_route_s {
    ngx_uint_t                  nseg;       /* path segments below the
                                               location's prefix */
    ngx_str_t                   seg[3];     /* literals; empty: an id */
    ngx_uint_t                  method;     /* NGX_HTTP_GET: HEAD too */
    ngx_uint_t                  body;       /* read a body for it */
    ngx_http_runs_endpoint_pt   handler;
    ngx_uint_t                  event;      /* the runner's reports */
};


/*
 * A kind of held request: a request that waits in the zone for something
 * to happen (ngx_http_runs_held.c holds it, its doorbell wakes it, the
 * store computes what it was woken for, its kind answers).  A new kind is
 * one entry like these and the file that defines it.
 */

struct ngx_http_runs_held_kind_s {
    ngx_uint_t                  waiter;     /* the store's kind of waiter
                                               (ngx_http_runs_wait_e) */
    void                      (*answer)(ngx_http_runs_ctx_t *ctx);
                                            /* woken: the store has taken
                                               its answer; or final */
    void                      (*cleanup)(ngx_http_runs_ctx_t *ctx);
                                            /* the request ends while held
                                               (NULL: nothing of its own) */
    unsigned                    probe:1;    /* its client is looked at
                                               before the store takes a
                                               wake-up for it (a claim must
                                               not go to one that left) */
    unsigned                    stream:1;   /* answered many times, held
                                               between answers */
    unsigned                    patient:1;  /* never answered early, not
                                               even when the worker shuts
                                               down */
};


struct ngx_http_runs_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_route_t      *route;
    ngx_http_runs_held_kind_t  *held;       /* while held, its kind */
    ngx_http_runs_hold_t        hold;       /* the store's side of it */
    ngx_event_t                 timer;
    ngx_event_handler_pt        saved_read;
    ngx_uint_t                  event;
    ngx_str_t                   path_id;    /* run or launcher id in the URI */
    uint64_t                   *scope;      /* runs_scope's key, NULL:
                                               every scope */
    uint64_t                    scope_key[2];
    uint64_t                    run_id;     /* a followed log's run */
    uint64_t                    offset;     /* ... its next byte */
    ngx_buf_t                  *chunk;      /* ... what is being sent */
    ngx_buf_t                  *error_page; /* nginx's error, as JSON */
    void                       *state;      /* a held kind's own: an event
                                               stream's, an MCP call's */
    uint64_t                    jmark;      /* changes staged in this
                                               worker when it began */
    uint64_t                    jtarget;    /* its answer waits for these */
    ngx_uint_t                  jstatus;    /* the answer held for them */
    ngx_chain_t                *jout;
    size_t                      jlen;
    unsigned                    error_sent:1;
    unsigned                    holding:1;
    unsigned                    jsending:1;
    unsigned                    jfailed:1;  /* its changes were not
                                               written */
};

#define ngx_http_runs_hold_ctx(h)                                            \
    ((ngx_http_runs_ctx_t *) ((u_char *) (h)                                 \
                              - offsetof(ngx_http_runs_ctx_t, hold)))


extern ngx_module_t  ngx_http_runs_module;

/* ngx_http_runs_worker.c: the zone's and the workers' life */
ngx_int_t ngx_http_runs_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_http_runs_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_http_runs_init_process(ngx_cycle_t *cycle);
void ngx_http_runs_exit_process(ngx_cycle_t *cycle);

/* ngx_http_runs_journal.c */
char *ngx_http_runs_journal_check(ngx_conf_t *cf, ngx_http_runs_journal_t *j);
ngx_int_t ngx_http_runs_journal_open(ngx_http_runs_zone_t *zone,
    ngx_log_t *log);
ngx_int_t ngx_http_runs_journal_own(ngx_http_runs_zone_t *zone,
    ngx_cycle_t *cycle);
ngx_int_t ngx_http_runs_journal_init_worker(ngx_http_runs_zone_t *zone,
    ngx_cycle_t *cycle);
void ngx_http_runs_journal_exit_worker(ngx_http_runs_zone_t *zone);
char *ngx_http_runs_journal_refusal(ngx_http_runs_zone_t *zone);
ngx_int_t ngx_http_runs_journal_defer(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx);

/* ngx_http_runs_held.c: the machine every kind of held request goes
   through */
ngx_int_t ngx_http_runs_hold(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_held_kind_t *kind, ngx_pool_cleanup_t *cln,
    ngx_msec_t timeout);
void ngx_http_runs_held_wake(ngx_http_runs_zone_t *zone);
void ngx_http_runs_held_finish(ngx_http_runs_ctx_t *ctx);
void ngx_http_runs_held_finish_all(ngx_http_runs_zone_t *zone);
void ngx_http_runs_release(ngx_http_runs_ctx_t *ctx);
void ngx_http_runs_unwait(ngx_http_runs_ctx_t *ctx);
ngx_int_t ngx_http_runs_held_wait_write(ngx_http_runs_ctx_t *ctx);
void ngx_http_runs_held_end(ngx_http_runs_ctx_t *ctx, ngx_int_t rc);

/* ngx_http_runs_request.c */
ngx_int_t ngx_http_runs_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_get_arg(ngx_http_request_t *r, char *name,
    size_t len, ngx_str_t *value);
ngx_int_t ngx_http_runs_get_limit(ngx_http_request_t *r, ngx_int_t *limit);
void ngx_http_runs_refused(ngx_http_runs_zone_t *zone, ngx_uint_t reason,
    ngx_log_t *log);
ngx_int_t ngx_http_runs_add_retry_after(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_send_refused(ngx_http_request_t *r,
    ngx_http_runs_zone_t *zone, ngx_uint_t reason);
ngx_int_t ngx_http_runs_send_run(ngx_http_request_t *r,
    ngx_http_runs_snap_t *snap);
ngx_int_t ngx_http_runs_send_ok(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_send_no_run(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_send_no_launcher(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_send_not_allowed(ngx_http_request_t *r,
    ngx_uint_t allowed);

/* ngx_http_runs_mcp.c, _mcp_tools.c, _mcp_rpc.c */
#define NGX_HTTP_RUNS_VERSION        "1.0"
#define NGX_HTTP_RUNS_MCP_VERSIONS   4

typedef struct {
    ngx_str_t                   text;       /* a string's value, an
                                               integer's digits */
    unsigned                    string:1;
} ngx_http_runs_mcp_id_t;

typedef enum {
    NGX_HTTP_RUNS_MCP_WAIT_RESULT = 1,      /* a sync start or resume */
    NGX_HTTP_RUNS_MCP_WAIT_STATUS           /* a status's wait_seconds */
} ngx_http_runs_mcp_wait_e;

typedef struct {
    ngx_http_runs_out_t         out;        /* the answer, being written */
    ngx_uint_t                  nanswers;
    ngx_uint_t                  version;    /* the session's; VERSIONS:
                                               no session */
    ngx_str_t                   session;
    ngx_http_runs_mcp_id_t      cur;        /* the request's id */
    const char                 *invalid;    /* why a message is not one */
    ngx_uint_t                  status;     /* the HTTP status, 0: 200 */
    /* a call held until its run ends */
    ngx_http_runs_mcp_id_t      held_id;
    ngx_uint_t                  held;       /* ngx_http_runs_mcp_wait_e */
    ngx_str_t                   held_session;
    ngx_msec_t                  wait_ms;
    ngx_pool_cleanup_t         *cln;
    unsigned                    batch:1;
    unsigned                    parse_error:1;
    unsigned                    accepted:1;
} ngx_http_runs_mcp_t;

void ngx_http_runs_mcp_result(ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id);
void ngx_http_runs_mcp_error(ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id, ngx_int_t code, const char *message);
ngx_table_elt_t *ngx_http_runs_mcp_caller(ngx_http_request_t *r);
ngx_table_elt_t *ngx_http_runs_mcp_header(ngx_http_request_t *r,
    const char *name, size_t len);
void ngx_http_runs_mcp_tools_list(ngx_http_runs_out_t *o);
ngx_int_t ngx_http_runs_mcp_tool(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *name,
    ngx_str_t *args);
void ngx_http_runs_mcp_ended(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id, ngx_uint_t what, ngx_str_t *name,
    ngx_msec_t waited, ngx_http_runs_snap_t *snap);

/* ngx_http_runs_dashboard.c */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   etag;
    const u_char               *data;
    size_t                      len;
} ngx_http_runs_dashboard_file_t;

char *ngx_http_runs_dashboard(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* ngx_http_runs_runner.c */
ngx_int_t ngx_http_runs_register(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
ngx_int_t ngx_http_runs_heartbeat(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
ngx_int_t ngx_http_runs_launcher_body(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_runs_field_t *f, ngx_uint_t n, uint64_t *id, ngx_int_t *rc);

/* ngx_http_runs_log.c */
ngx_int_t ngx_http_runs_log_read(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
ngx_int_t ngx_http_runs_log_append(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);

/* ngx_http_runs_follow.c */
ngx_int_t ngx_http_runs_log_follow(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, uint64_t id, uint64_t offset);
ngx_int_t ngx_http_runs_log_headers(ngx_http_request_t *r,
    ngx_http_runs_logread_t *rd, ngx_uint_t follow);

/* the kinds of held request */
extern ngx_http_runs_held_kind_t  ngx_http_runs_held_poll;
extern ngx_http_runs_held_kind_t  ngx_http_runs_held_wait;
extern ngx_http_runs_held_kind_t  ngx_http_runs_held_follow;
extern ngx_http_runs_held_kind_t  ngx_http_runs_held_journal;
extern ngx_http_runs_held_kind_t  ngx_http_runs_held_events;
extern ngx_http_runs_held_kind_t  ngx_http_runs_held_mcp;

/* the API groups' route tables */
extern ngx_http_runs_route_t  ngx_http_runs_client_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_runner_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_launchers_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_sessions_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_metrics_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_health_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_events_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_mcp_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_agents_routes[];

/* ngx_http_runs_errors.c */
ngx_int_t ngx_http_runs_errors_init(ngx_conf_t *cf);

/* ngx_http_runs_json_in.c */
ngx_int_t ngx_http_runs_json_read(ngx_pool_t *pool, ngx_str_t *body,
    ngx_uint_t empty_ok, ngx_http_runs_field_t *fields, ngx_uint_t nfields,
    ngx_str_t *err);
ngx_int_t ngx_http_runs_field_str(ngx_pool_t *pool, ngx_http_runs_field_t *f,
    ngx_uint_t required, ngx_str_t *out, ngx_str_t *err);
u_char *ngx_http_runs_utf8_check(u_char *p, size_t len);
ngx_int_t ngx_http_runs_name_valid(ngx_str_t *name);
ngx_int_t ngx_http_runs_check_name(ngx_pool_t *pool, const char *key,
    ngx_str_t *name, ngx_str_t *err);
ngx_int_t ngx_http_runs_check_path(ngx_pool_t *pool, const char *key,
    ngx_str_t *path, ngx_str_t *err);
ngx_int_t ngx_http_runs_json_elements(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t *elems, ngx_str_t *err);
ngx_int_t ngx_http_runs_json_members_of(ngx_pool_t *pool, ngx_str_t *text,
    ngx_array_t *keys, ngx_array_t *values, ngx_str_t *err);
ngx_int_t ngx_http_runs_json_read_known(ngx_pool_t *pool, ngx_str_t *text,
    const char *key, ngx_http_runs_field_t *fields, ngx_uint_t nfields,
    ngx_str_t *err);

/* ngx_http_runs_policy.c */
char *ngx_http_runs_name_pattern(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_runs_check_policy(ngx_http_request_t *r, const char *key,
    ngx_str_t *name, ngx_str_t *err);
ngx_int_t ngx_http_runs_check_policy_list(ngx_http_request_t *r,
    const char *key, ngx_str_t *list, ngx_str_t *err);

/* ngx_http_runs_token.c */
ngx_int_t ngx_http_runs_token_new(ngx_log_t *log, u_char *raw, u_char *text);
ngx_int_t ngx_http_runs_random(ngx_log_t *log, u_char *buf, size_t n);
ngx_int_t ngx_http_runs_launcher_auth(ngx_http_request_t *r,
    ngx_http_runs_zone_t *zone, uint64_t id, ngx_int_t *rc);

/* ngx_http_runs_demands.c */
ngx_int_t ngx_http_runs_field_text(ngx_pool_t *pool,
    ngx_http_runs_field_t *f, ngx_str_t *out, ngx_str_t *err);
ngx_int_t ngx_http_runs_field_names(ngx_pool_t *pool,
    ngx_http_runs_field_t *f, ngx_uint_t max, ngx_uint_t sort,
    ngx_str_t *out, ngx_str_t *err);
ngx_int_t ngx_http_runs_field_bool(ngx_pool_t *pool,
    ngx_http_runs_field_t *f, ngx_uint_t *out, ngx_str_t *err);
ngx_int_t ngx_http_runs_field_demands(ngx_pool_t *pool,
    ngx_http_runs_field_t *f, ngx_str_t *out, ngx_str_t *err);

/* ngx_http_runs_json_out.c */
void ngx_http_runs_out_init(ngx_http_runs_out_t *o, ngx_pool_t *pool,
    size_t hint);
u_char *ngx_http_runs_out_reserve(ngx_http_runs_out_t *o, size_t n);
void ngx_http_runs_out_raw(ngx_http_runs_out_t *o, const void *data,
    size_t len);
void ngx_http_runs_out_str(ngx_http_runs_out_t *o, ngx_str_t *s);
void ngx_http_runs_out_time(ngx_http_runs_out_t *o, int64_t ms);
void ngx_http_runs_out_number(ngx_http_runs_out_t *o, ngx_uint_t n);
void ngx_http_runs_out_names(ngx_http_runs_out_t *o, ngx_str_t *names);
size_t ngx_http_runs_snap_size(ngx_http_runs_snap_t *s);
void ngx_http_runs_out_run(ngx_http_runs_out_t *o, ngx_http_runs_snap_t *s);
void ngx_http_runs_out_launcher(ngx_http_runs_out_t *o,
    ngx_http_runs_lsnap_t *ls, int64_t now, ngx_msec_t heartbeat_timeout);
ngx_int_t ngx_http_runs_send_out(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_runs_out_t *o);
ngx_int_t ngx_http_runs_send_runs(ngx_http_request_t *r,
    ngx_http_runs_snap_t *snaps, ngx_uint_t n);
ngx_int_t ngx_http_runs_send_empty(ngx_http_request_t *r, ngx_uint_t status);
ngx_int_t ngx_http_runs_send_detail(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
ngx_int_t ngx_http_runs_send_body(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len);
u_char *ngx_http_runs_format_time(u_char *p, int64_t ms);


#endif /* _NGX_HTTP_RUNS_H_INCLUDED_ */
