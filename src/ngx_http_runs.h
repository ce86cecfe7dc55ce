
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


#define NGX_HTTP_RUNS_RUN_ID_LEN       16     /* "run_" + 12 hex digits */
#define NGX_HTTP_RUNS_LAUNCHER_ID_LEN  17     /* "lnch_" + 12 hex digits */
#define NGX_HTTP_RUNS_ID_MASK          0xffffffffffffULL
#define NGX_HTTP_RUNS_NAME_MAX         60
#define NGX_HTTP_RUNS_FIELD_MAX        4096   /* hostname, executor_type */
#define NGX_HTTP_RUNS_DOORBELLS        64
#define NGX_HTTP_RUNS_LIST_MAX         10000
#define NGX_HTTP_RUNS_LIST_DEFAULT     100
#define NGX_HTTP_RUNS_LIST_SLICE       1024   /* runs visited per lock */
#define NGX_HTTP_RUNS_WAIT_MAX         3600
#define NGX_HTTP_RUNS_MAINT_INTERVAL   1000   /* ms */
#define NGX_HTTP_RUNS_MAINT_BATCH      1000

#ifndef NGX_HTTP_UNPROCESSABLE_ENTITY
#define NGX_HTTP_UNPROCESSABLE_ENTITY  422
#endif


/* run status: terminal statuses sort last */
typedef enum {
    NGX_HTTP_RUNS_PENDING = 0,
    NGX_HTTP_RUNS_CLAIMED,
    NGX_HTTP_RUNS_RUNNING,
    NGX_HTTP_RUNS_STOPPING,
    NGX_HTTP_RUNS_COMPLETED,
    NGX_HTTP_RUNS_FAILED,
    NGX_HTTP_RUNS_STOPPED,
    NGX_HTTP_RUNS_NSTATUS
} ngx_http_runs_status_e;

#define ngx_http_runs_is_terminal(s)  ((s) >= NGX_HTTP_RUNS_COMPLETED)

typedef enum {
    NGX_HTTP_RUNS_START = 0,
    NGX_HTTP_RUNS_RESUME
} ngx_http_runs_type_e;

/* events a launcher reports on a run it holds */
typedef enum {
    NGX_HTTP_RUNS_EV_STARTED = 0,
    NGX_HTTP_RUNS_EV_COMPLETED,
    NGX_HTTP_RUNS_EV_FAILED,
    NGX_HTTP_RUNS_EV_STOPPED
} ngx_http_runs_event_e;

typedef enum {
    NGX_HTTP_RUNS_API_RUNS = 1,
    NGX_HTTP_RUNS_API_LAUNCHER,
    NGX_HTTP_RUNS_API_LAUNCHERS
} ngx_http_runs_api_e;

typedef enum {
    NGX_HTTP_RUNS_WAIT_POLL = 1,      /* GET /launcher/runs */
    NGX_HTTP_RUNS_WAIT_RUN,           /* GET /runs/{id}?wait= */
    NGX_HTTP_RUNS_WAIT_KINDS
} ngx_http_runs_wait_e;

/* why a request was refused with 503; logged once per 10 s per reason */
typedef enum {
    NGX_HTTP_RUNS_REFUSED_FULL = 0,   /* the zone holds only live runs */
    NGX_HTTP_RUNS_REFUSED_WAITERS,    /* runs_max_waiters */
    NGX_HTTP_RUNS_REFUSED_POLLS,      /* runs_max_polls */
    NGX_HTTP_RUNS_REFUSED_WAITS,      /* runs_max_waits */
    NGX_HTTP_RUNS_REFUSED_N
} ngx_http_runs_refused_e;

/* an error text the store keeps without allocating (run->error_note) */
typedef enum {
    NGX_HTTP_RUNS_NOTE_NONE = 0,
    NGX_HTTP_RUNS_NOTE_LOST,          /* "launcher lost" */
    NGX_HTTP_RUNS_NOTE_DEREGISTERED,  /* "launcher deregistered" */
    NGX_HTTP_RUNS_NOTE_DROPPED,       /* the text did not fit in the zone */
    NGX_HTTP_RUNS_NOTE_N
} ngx_http_runs_note_e;

typedef enum {
    NGX_HTTP_RUNS_W_IDLE = 1,         /* poll waiter in sh->idle */
    NGX_HTTP_RUNS_W_WATCH,            /* run waiter on run->waiters only */
    NGX_HTTP_RUNS_W_NOTIFIED,         /* in its doorbell's notified queue */
    NGX_HTTP_RUNS_W_DETACHED          /* taken by its owner, being answered */
} ngx_http_runs_wstate_e;


typedef struct ngx_http_runs_run_s       ngx_http_runs_run_t;
typedef struct ngx_http_runs_session_s   ngx_http_runs_session_t;
typedef struct ngx_http_runs_launcher_s  ngx_http_runs_launcher_t;
typedef struct ngx_http_runs_waiter_s    ngx_http_runs_waiter_t;
typedef struct ngx_http_runs_ctx_s       ngx_http_runs_ctx_t;


/*
 * Everything below down to ngx_http_runs_shctx_t lives in the zone and
 * points only into the zone.
 */

struct ngx_http_runs_run_s {
    ngx_http_runs_run_t        *next;       /* in its sh->runs bucket */
    uint64_t                    id;         /* numeric id */
    ngx_rbtree_node_t           ready;      /* sh->ready while claimable,
                                               key: seq */
    uint64_t                    seq;        /* creation sequence */
    ngx_queue_t                 all;        /* sh->all, creation order */
    ngx_queue_t                 in_session; /* session->runs */
    ngx_queue_t                 state;      /* session->active while live,
                                               sh->finished when terminal */
    ngx_queue_t                 owned;      /* launcher->runs while held */
    ngx_queue_t                 stop;       /* launcher->stops */
    ngx_queue_t                 waiters;    /* ?wait= waiters */

    ngx_http_runs_session_t    *session;
    ngx_http_runs_launcher_t   *launcher;   /* the holder, while held */

    int64_t                     created_at;     /* ms since the epoch, */
    int64_t                     claimed_at;     /* 0: not reached */
    int64_t                     started_at;
    int64_t                     completed_at;

    /*
     * prompt, agent_name, project_dir, parent_session_name and error, one
     * after the other in one allocation of their own; a length of 0 is
     * null (none of them can be empty)
     */
    u_char                     *strings;
    uint64_t                    launcher_key;   /* numeric launcher id */
    uint32_t                    prompt_len;
    uint32_t                    error_len;
    uint16_t                    project_dir_len;
    u_char                      agent_name_len;
    u_char                      parent_len;

    unsigned                    status:4;
    unsigned                    type:1;
    unsigned                    in_ready:1;
    unsigned                    stop_queued:1;
    unsigned                    has_launcher_id:1;
    unsigned                    requeued:1;     /* taken back from the
                                                   launcher launcher_key */
    unsigned                    error_note:2;   /* ngx_http_runs_note_e */
    unsigned                    error_cut:1;    /* error_len is a prefix */
};


/* a session's size: offsetof(ngx_http_runs_session_t, name) + name_len */

struct ngx_http_runs_session_s {
    ngx_http_runs_session_t    *next;       /* in its sh->sessions bucket */
    ngx_queue_t                 runs;       /* every stored run */
    ngx_queue_t                 active;     /* non-terminal runs, in order */
    u_char                     *inherit;    /* agent_name then project_dir,
                                               own allocation or NULL */
    uint32_t                    hash;       /* keyed hash of the name */
    uint32_t                    nruns;
    uint32_t                    nblocking;  /* runs not failed/stopped */
    uint16_t                    project_dir_len;
    u_char                      agent_name_len;
    u_char                      name_len;
    u_char                      has_start;
    u_char                      pinned;
    u_char                      name[1];
};


struct ngx_http_runs_launcher_s {
    ngx_rbtree_node_t           node;       /* sh->launchers, key: id */
    ngx_queue_t                 list;       /* sh->launcher_list */
    ngx_queue_t                 runs;       /* claimed/running/stopping */
    ngx_queue_t                 stops;      /* runs with a stop queued */
    ngx_queue_t                 waiters;    /* held polls */
    int64_t                     registered_at;
    int64_t                     last_heartbeat;
    ngx_uint_t                  nwaiters;
    ngx_str_t                   hostname;
    ngx_str_t                   project_dir;
    ngx_str_t                   executor_type;
    u_char                      id[NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
    unsigned                    deregister:1;
    /* strings follow */
};


struct ngx_http_runs_waiter_s {
    ngx_queue_t                 every;      /* sh->waiters */
    ngx_queue_t                 queue;      /* sh->idle or bell->notified */
    ngx_queue_t                 link;       /* launcher->waiters or
                                               run->waiters */
    void                       *target;     /* launcher or run; NULL: gone */
    void                       *owner;      /* ctx, valid only in pid */
    ngx_pid_t                   pid;
    ngx_uint_t                  slot;
    unsigned                    kind:2;
    unsigned                    state:3;
    unsigned                    superseded:1;   /* its launcher polled anew */
};


typedef struct {
    ngx_fd_t                    rfd;        /* -1: not created */
    ngx_fd_t                    wfd;        /* == rfd for an eventfd */
    ngx_queue_t                 notified;
} ngx_http_runs_bell_t;


typedef struct {
    ngx_http_runs_run_t       **runs;       /* hash table by id */
    ngx_http_runs_session_t   **sessions;   /* hash table by name */
    ngx_uint_t                  mask;       /* buckets - 1, both tables */
    ngx_rbtree_t                ready;
    ngx_rbtree_node_t           ready_sentinel;
    ngx_rbtree_t                launchers;
    ngx_rbtree_node_t           launchers_sentinel;

    ngx_queue_t                 all;
    ngx_queue_t                 finished;
    ngx_queue_t                 launcher_list;
    ngx_queue_t                 idle;
    ngx_queue_t                 waiters;

    ngx_http_runs_bell_t        bells[NGX_HTTP_RUNS_DOORBELLS];

    uint64_t                    seq;
    uint64_t                    launcher_seq;
    uint64_t                    id_key[4];  /* ids: a keyed permutation */
    uint64_t                    name_key[2];    /* session names: SipHash */
    ngx_uint_t                  nruns;
    ngx_uint_t                  nstatus[NGX_HTTP_RUNS_NSTATUS];
    ngx_uint_t                  nsessions;
    ngx_uint_t                  nlaunchers;
    ngx_uint_t                  nwaiters;
    ngx_uint_t                  nheld[NGX_HTTP_RUNS_WAIT_KINDS];
    ngx_uint_t                  evicted;
    ngx_uint_t                  claims_expired;
    int64_t                     next_maintenance;

    /* refusals by reason: total, total when last logged, when logged */
    ngx_atomic_t                refused[NGX_HTTP_RUNS_REFUSED_N];
    ngx_atomic_t                refused_logged[NGX_HTTP_RUNS_REFUSED_N];
    ngx_atomic_t                refused_at[NGX_HTTP_RUNS_REFUSED_N];
} ngx_http_runs_shctx_t;


/* per-process objects */

typedef struct {
    ngx_str_t                   name;
    size_t                      size;
    ngx_shm_zone_t             *shm_zone;
    ngx_slab_pool_t            *shpool;
    ngx_http_runs_shctx_t      *sh;
    ngx_queue_t                 held;       /* this worker's held requests */
    ngx_connection_t           *bell;       /* this worker's doorbell */
} ngx_http_runs_zone_t;


typedef struct {
    ngx_array_t                 zones;      /* ngx_http_runs_zone_t * */
    ngx_array_t                 uses;       /* ngx_http_runs_use_t */
    ngx_msec_t                  heartbeat_timeout;
    ngx_msec_t                  launcher_expiry;
    ngx_msec_t                  retention;
    ngx_msec_t                  claim_timeout;  /* 0: claims never expire */
    ngx_uint_t                  max_waiters;
    ngx_uint_t                  max_held[NGX_HTTP_RUNS_WAIT_KINDS];
    ngx_uint_t                  max_polls_per_launcher;
    ngx_event_t                 timer;      /* maintenance + safety */
} ngx_http_runs_main_conf_t;


typedef struct {
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_api_e         api;
    ngx_str_t                   prefix;
    ngx_msec_t                  poll_timeout;
    ngx_msec_t                  heartbeat_interval;
} ngx_http_runs_loc_conf_t;


/* a run copied out of the zone for encoding outside the lock */
typedef struct {
    u_char                      id[NGX_HTTP_RUNS_RUN_ID_LEN];
    u_char                      launcher_id[NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
    ngx_uint_t                  status;
    ngx_uint_t                  type;
    ngx_uint_t                  has_launcher_id;
    int64_t                     created_at;
    int64_t                     claimed_at;
    int64_t                     started_at;
    int64_t                     completed_at;
    ngx_str_t                   session_name;
    ngx_str_t                   prompt;
    ngx_str_t                   agent_name;
    ngx_str_t                   project_dir;
    ngx_str_t                   parent;
    ngx_str_t                   error;
} ngx_http_runs_snap_t;


typedef struct {
    u_char                      id[NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
    int64_t                     registered_at;
    int64_t                     last_heartbeat;
    ngx_str_t                   hostname;
    ngx_str_t                   project_dir;
    ngx_str_t                   executor_type;
    ngx_uint_t                  deregister;
} ngx_http_runs_lsnap_t;


/* a validated POST /runs body */
typedef struct {
    ngx_uint_t                  type;
    ngx_str_t                   session_name;
    ngx_str_t                   prompt;
    ngx_str_t                   agent_name;
    ngx_str_t                   project_dir;
    ngx_str_t                   parent;
} ngx_http_runs_create_t;


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


/* what a held or immediate poll answers */
typedef enum {
    NGX_HTTP_RUNS_POLL_NOTHING = 0,
    NGX_HTTP_RUNS_POLL_RUN,
    NGX_HTTP_RUNS_POLL_STOPS,
    NGX_HTTP_RUNS_POLL_DEREGISTERED,
    NGX_HTTP_RUNS_POLL_UNKNOWN
} ngx_http_runs_poll_e;

typedef struct {
    ngx_http_runs_poll_e        what;
    ngx_http_runs_snap_t        run;
    ngx_array_t                *stops;      /* of ngx_str_t, request pool */
} ngx_http_runs_poll_t;


/*
 * launchers the maintenance sweep removed and claims it took back,
 * logged after the lock
 */
#define NGX_HTTP_RUNS_LOST_LOGGED  8

typedef struct {
    ngx_uint_t                  n;          /* removed, may exceed the ids */
    int64_t                     silent[NGX_HTTP_RUNS_LOST_LOGGED];
    u_char                      id[NGX_HTTP_RUNS_LOST_LOGGED]
                                  [NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
    ngx_uint_t                  nexpired;   /* claims requeued */
    u_char                      run[NGX_HTTP_RUNS_LOST_LOGGED]
                                   [NGX_HTTP_RUNS_RUN_ID_LEN];
    u_char                      holder[NGX_HTTP_RUNS_LOST_LOGGED]
                                      [NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
} ngx_http_runs_lost_t;


/* bit i set: ring doorbell i once the lock is released */
typedef uint64_t  ngx_http_runs_bells_t;


/* an endpoint: the body is NULL unless its route reads one */
typedef ngx_int_t (*ngx_http_runs_endpoint_pt)(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);

/* a route of an API group's table, which ends with a NULL handler */
typedef struct {
    ngx_uint_t                  nseg;       /* path segments below the
                                               location's prefix */
    ngx_str_t                   seg[3];     /* literals; empty: an id */
    ngx_uint_t                  method;     /* NGX_HTTP_GET: HEAD too */
    ngx_uint_t                  body;       /* read a body for it */
    ngx_http_runs_endpoint_pt   handler;
    ngx_uint_t                  event;      /* the runner's reports */
} ngx_http_runs_route_t;


struct ngx_http_runs_ctx_s {
    ngx_http_request_t         *request;
    ngx_http_runs_zone_t       *zone;
    ngx_http_runs_route_t      *route;
    void                      (*answer)(ngx_http_runs_ctx_t *ctx);
                                            /* a held request, once woken */
    ngx_http_runs_waiter_t     *waiter;     /* in the zone, while held */
    ngx_queue_t                 held;       /* zone->held */
    ngx_event_t                 timer;
    ngx_event_handler_pt        saved_read;
    ngx_uint_t                  kind;
    ngx_uint_t                  event;
    ngx_str_t                   path_id;    /* run or launcher id in the URI */
    ngx_http_runs_poll_t        poll;       /* set by notified processing */
    ngx_buf_t                  *error_page; /* nginx's error, as JSON */
    unsigned                    error_sent:1;
    unsigned                    ready:1;    /* poll holds an answer */
    unsigned                    final:1;    /* answer even with nothing */
    unsigned                    noclaim:1;  /* a poll for stops only */
    unsigned                    holding:1;
};


extern ngx_module_t  ngx_http_runs_module;

extern const ngx_str_t  ngx_http_runs_status_names[];


/* ngx_http_runs_store.c: all *_locked functions need the zone's mutex */
ngx_int_t ngx_http_runs_init_sh(ngx_slab_pool_t *shpool,
    ngx_http_runs_shctx_t *sh, size_t size);
int64_t ngx_http_runs_now(void);
void ngx_http_runs_init_keys(ngx_http_runs_shctx_t *sh, ngx_log_t *log);
ngx_int_t ngx_http_runs_parse_id(ngx_str_t *s, const char *prefix,
    uint64_t *id);
void ngx_http_runs_make_id(u_char *dst, const char *prefix, size_t plen,
    uint64_t id);
#define ngx_http_runs_run_id(dst, run)                                       \
    ngx_http_runs_make_id(dst, "run_", 4, (run)->id)
ngx_http_runs_run_t *ngx_http_runs_lookup_run_locked(
    ngx_http_runs_shctx_t *sh, uint64_t id);
ngx_http_runs_launcher_t *ngx_http_runs_lookup_launcher_locked(
    ngx_http_runs_shctx_t *sh, uint64_t id);
ngx_http_runs_session_t *ngx_http_runs_lookup_session_locked(
    ngx_http_runs_shctx_t *sh, ngx_str_t *name);
ngx_int_t ngx_http_runs_create_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_create_t *cr, ngx_str_t *detail, u_char *id,
    ngx_http_runs_bells_t *bells);
ngx_int_t ngx_http_runs_stop_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_bells_t *bells);
ngx_int_t ngx_http_runs_event_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_launcher_t *lr,
    ngx_http_runs_event_e ev, ngx_str_t *text, ngx_str_t *detail,
    ngx_http_runs_bells_t *bells);
ngx_http_runs_launcher_t *ngx_http_runs_register_locked(
    ngx_http_runs_zone_t *zone, ngx_str_t *hostname, ngx_str_t *project_dir,
    ngx_str_t *executor_type);
void ngx_http_runs_remove_launcher_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t note,
    ngx_http_runs_bells_t *bells);
ngx_int_t ngx_http_runs_poll_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t claim, ngx_pool_t *pool,
    ngx_http_runs_poll_t *p, ngx_http_runs_bells_t *bells);
ngx_int_t ngx_http_runs_list_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name, ngx_int_t status, ngx_pool_t *pool,
    ngx_http_runs_snap_t *snaps, ngx_uint_t cap, ngx_uint_t *n,
    uint64_t *cursor);
ngx_int_t ngx_http_runs_snap_locked(ngx_http_runs_run_t *run,
    ngx_pool_t *pool, ngx_http_runs_snap_t *snap);
void ngx_http_runs_lsnap_locked(ngx_http_runs_launcher_t *lr,
    ngx_pool_t *pool, ngx_http_runs_lsnap_t *ls);
void ngx_http_runs_maintain_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_main_conf_t *rmcf, int64_t now, ngx_http_runs_lost_t *lost,
    ngx_http_runs_bells_t *bells);
void *ngx_http_runs_alloc_locked(ngx_http_runs_zone_t *zone, size_t size,
    ngx_http_runs_session_t *keep);
void ngx_http_runs_maintain(ngx_http_runs_zone_t *zone,
    ngx_http_runs_main_conf_t *rmcf, ngx_log_t *log);

/* ngx_http_runs_wake.c */
ngx_int_t ngx_http_runs_init_bells(ngx_cycle_t *cycle,
    ngx_http_runs_zone_t *zone);
ngx_int_t ngx_http_runs_init_worker(ngx_cycle_t *cycle);
void ngx_http_runs_exit_worker(ngx_cycle_t *cycle);
void ngx_http_runs_ring(ngx_http_runs_zone_t *zone,
    ngx_http_runs_bells_t bells);
void ngx_http_runs_notify_idle_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_bells_t *bells);
void ngx_http_runs_notify_all_locked(ngx_http_runs_shctx_t *sh,
    ngx_queue_t *waiters, ngx_uint_t detach, ngx_http_runs_bells_t *bells);
ngx_http_runs_waiter_t *ngx_http_runs_waiter_add_locked(
    ngx_http_runs_zone_t *zone, ngx_http_runs_main_conf_t *rmcf,
    ngx_http_runs_ctx_t *ctx, ngx_uint_t kind, void *target,
    ngx_uint_t *refused, ngx_http_runs_bells_t *bells);
void ngx_http_runs_waiter_remove_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells);
void ngx_http_runs_take_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_bells_t *bells);

/* ngx_http_runs_held.c */
void ngx_http_runs_process_notified(ngx_http_runs_zone_t *zone);
ngx_int_t ngx_http_runs_hold(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_pool_cleanup_t *cln, ngx_msec_t timeout);
void ngx_http_runs_finish_held(ngx_http_runs_ctx_t *ctx);
void ngx_http_runs_timer_handler(ngx_event_t *ev);

/* ngx_http_runs_request.c */
ngx_int_t ngx_http_runs_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_get_arg(ngx_http_request_t *r, char *name,
    size_t len, ngx_str_t *value);
ngx_uint_t ngx_http_runs_refused(ngx_http_runs_zone_t *zone,
    ngx_uint_t reason, ngx_log_t *log);
ngx_int_t ngx_http_runs_send_refused(ngx_http_request_t *r,
    ngx_http_runs_zone_t *zone, ngx_uint_t reason);
ngx_int_t ngx_http_runs_send_run(ngx_http_request_t *r,
    ngx_http_runs_snap_t *snap);
ngx_int_t ngx_http_runs_send_ok(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_send_no_run(ngx_http_request_t *r);
ngx_int_t ngx_http_runs_send_no_launcher(ngx_http_request_t *r);

/* the API groups' route tables */
extern ngx_http_runs_route_t  ngx_http_runs_client_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_runner_routes[];
extern ngx_http_runs_route_t  ngx_http_runs_launchers_routes[];

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

/* ngx_http_runs_json_out.c */
void ngx_http_runs_out_init(ngx_http_runs_out_t *o, ngx_pool_t *pool,
    size_t hint);
u_char *ngx_http_runs_out_reserve(ngx_http_runs_out_t *o, size_t n);
void ngx_http_runs_out_raw(ngx_http_runs_out_t *o, const void *data,
    size_t len);
void ngx_http_runs_out_str(ngx_http_runs_out_t *o, ngx_str_t *s);
void ngx_http_runs_out_time(ngx_http_runs_out_t *o, int64_t ms);
size_t ngx_http_runs_snap_size(ngx_http_runs_snap_t *s);
void ngx_http_runs_out_run(ngx_http_runs_out_t *o, ngx_http_runs_snap_t *s);
void ngx_http_runs_out_launcher(ngx_http_runs_out_t *o,
    ngx_http_runs_lsnap_t *ls, int64_t now, ngx_msec_t heartbeat_timeout);
ngx_int_t ngx_http_runs_send_out(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_runs_out_t *o);
ngx_int_t ngx_http_runs_send_empty(ngx_http_request_t *r, ngx_uint_t status);
ngx_int_t ngx_http_runs_send_detail(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
ngx_int_t ngx_http_runs_send_body(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len);
u_char *ngx_http_runs_format_time(u_char *p, int64_t ms);


#endif /* _NGX_HTTP_RUNS_H_INCLUDED_ */
