
/*
 * The store's API: what the rest of the module may ask of the runs_zone.
 * Every ngx_http_runs_store_*() function takes the zone's lock itself,
 * once (a listing once per slice), takes ids, never record pointers,
 * copies what an answer needs into the caller's pool and says what it
 * found (ngx_http_runs_found_e).  The records themselves are in
 * ngx_http_runs_zone.h, which only the store's own files include.  This
 * header knows nothing of HTTP.
 */


#ifndef _NGX_HTTP_RUNS_STORE_H_INCLUDED_
#define _NGX_HTTP_RUNS_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_RUNS_RUN_ID_LEN       16     /* "run_" + 12 hex digits */
#define NGX_HTTP_RUNS_LAUNCHER_ID_LEN  17     /* "lnch_" + 12 hex digits */
#define NGX_HTTP_RUNS_SESSION_ID_LEN   36     /* a UUID's text form */
#define NGX_HTTP_RUNS_ID_MASK          0xffffffffffffULL
#define NGX_HTTP_RUNS_NAME_MAX         60
#define NGX_HTTP_RUNS_FIELD_MAX        4096   /* hostname, executor_type */
#define NGX_HTTP_RUNS_AGENTS_MAX       256    /* agent names a runner has */
#define NGX_HTTP_RUNS_TAGS_MAX         64     /* tags a runner or run has */
#define NGX_HTTP_RUNS_TOKEN_RAW        16     /* a runner token's bytes */
#define NGX_HTTP_RUNS_SCOPE_MAX        1024   /* a runs_scope value */
#define NGX_HTTP_RUNS_TOKEN_LEN        36     /* ... as text: rtk_ + hex */
#define NGX_HTTP_RUNS_LAUNCHER_SEQ     (1ULL << 47)    /* launcher ids are
                                                 permuted from here, run ids
                                                 below it */
#define NGX_HTTP_RUNS_HOST_MAX         255    /* a session's host kept for
                                                 affinity */
#define NGX_HTTP_RUNS_DOORBELLS        64
#define NGX_HTTP_RUNS_LIST_MAX         10000
#define NGX_HTTP_RUNS_LIST_DEFAULT     100
#define NGX_HTTP_RUNS_LIST_SLICE       1024   /* runs visited per lock */
#define NGX_HTTP_RUNS_CLOCK_STEP       1000   /* ms: a clock set back by
                                                 more is taken as it is */
#define NGX_HTTP_RUNS_WAIT_MAX         3600
#define NGX_HTTP_RUNS_MAINT_INTERVAL   1000   /* ms */
#define NGX_HTTP_RUNS_MAINT_BATCH      1000


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

/* the kinds of waiter a held request leaves in the zone */
typedef enum {
    NGX_HTTP_RUNS_WAIT_POLL = 1,      /* GET /launcher/runs */
    NGX_HTTP_RUNS_WAIT_RUN,           /* GET /runs/{id}?wait= */
    NGX_HTTP_RUNS_WAIT_LOG,           /* GET /runs/{id}/log?follow=1 */
    NGX_HTTP_RUNS_WAIT_EVENTS,        /* GET /events */
    NGX_HTTP_RUNS_WAIT_KINDS
} ngx_http_runs_wait_e;

/* why a request was refused with 503; logged once per 10 s per reason */
typedef enum {
    NGX_HTTP_RUNS_REFUSED_FULL = 0,   /* the zone holds only live runs */
    NGX_HTTP_RUNS_REFUSED_WAITERS,    /* runs_max_waiters */
    NGX_HTTP_RUNS_REFUSED_POLLS,      /* runs_max_polls */
    NGX_HTTP_RUNS_REFUSED_WAITS,      /* runs_max_waits */
    NGX_HTTP_RUNS_REFUSED_FOLLOWS,    /* runs_max_follows */
    NGX_HTTP_RUNS_REFUSED_STREAMS,    /* runs_max_streams */
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


/*
 * The changes the event stream tells (ngx_http_runs_store_ering.c); a
 * run's status change is NGX_HTTP_RUNS_E_RUN_REQUEUED + its new status.
 */
typedef enum {
    NGX_HTTP_RUNS_E_RUN_CREATED = 0,
    NGX_HTTP_RUNS_E_RUN_REQUEUED,     /* pending again: a claim taken back */
    NGX_HTTP_RUNS_E_RUN_CLAIMED,
    NGX_HTTP_RUNS_E_RUN_STARTED,
    NGX_HTTP_RUNS_E_RUN_STOPPING,
    NGX_HTTP_RUNS_E_RUN_COMPLETED,
    NGX_HTTP_RUNS_E_RUN_FAILED,
    NGX_HTTP_RUNS_E_RUN_STOPPED,
    NGX_HTTP_RUNS_E_RUN_RESULT,       /* a result arrived */
    NGX_HTTP_RUNS_E_SESSION_CREATED,
    NGX_HTTP_RUNS_E_SESSION_DELETED,
    NGX_HTTP_RUNS_E_LAUNCHER_REGISTERED,
    NGX_HTTP_RUNS_E_LAUNCHER_STALE,   /* silent for runs_heartbeat_timeout */
    NGX_HTTP_RUNS_E_LAUNCHER_ONLINE,  /* heard from again */
    NGX_HTTP_RUNS_E_LAUNCHER_REMOVED,
    NGX_HTTP_RUNS_E_AGENT_CREATED,    /* the blueprint registry's */
    NGX_HTTP_RUNS_E_AGENT_UPDATED,    /* its members or its status */
    NGX_HTTP_RUNS_E_AGENT_DELETED,
    NGX_HTTP_RUNS_E_TYPES
} ngx_http_runs_etype_e;

#define NGX_HTTP_RUNS_EH_RUN       0x01
#define NGX_HTTP_RUNS_EH_SESSION   0x02
#define NGX_HTTP_RUNS_EH_LAUNCHER  0x04
#define NGX_HTTP_RUNS_EH_SCOPED    0x08
#define NGX_HTTP_RUNS_EH_AGENT     0x10     /* a blueprint: name, status */
#define NGX_HTTP_RUNS_EH_INACTIVE  0x20     /* the blueprint's, after */

/* the bytes a change takes in the ring (ngx_http_runs_zevent_t) */
#define NGX_HTTP_RUNS_EVENT_SIZE   128

/* a stream's first position when it names none: from the newest on */
#define NGX_HTTP_RUNS_EV_NOW       ((uint64_t) -1)


typedef struct ngx_http_runs_waiter_s    ngx_http_runs_waiter_t;
typedef struct ngx_http_runs_shctx_s     ngx_http_runs_shctx_t;
typedef struct ngx_http_runs_jstage_s    ngx_http_runs_jstage_t;


/* the kinds of journal record */
typedef enum {
    NGX_HTTP_RUNS_J_RUN = 1,          /* a run's whole state */
    NGX_HTTP_RUNS_J_SESSION,          /* a session's own state */
    NGX_HTTP_RUNS_J_LAUNCHER,         /* a launcher's registration */
    NGX_HTTP_RUNS_J_RUN_GONE,         /* a run deleted */
    NGX_HTTP_RUNS_J_SESSION_GONE,     /* a session deleted */
    NGX_HTTP_RUNS_J_LAUNCHER_GONE,    /* a launcher removed */
    NGX_HTTP_RUNS_J_BLUEPRINT,        /* format 3: a blueprint's state */
    NGX_HTTP_RUNS_J_BLUEPRINT_GONE,   /* format 3: a blueprint deleted */
    NGX_HTTP_RUNS_J_TYPES
} ngx_http_runs_jtype_e;

#define NGX_HTTP_RUNS_J_MAGIC     "NGXRUNSJ"
#define NGX_HTTP_RUNS_J_VERSION   3
#define NGX_HTTP_RUNS_J_HEADER    64        /* the file's header */
#define NGX_HTTP_RUNS_J_RECORD    24        /* a record's header */


/*
 * This worker's journal buffer, as the store sees it: a change's records
 * are written at "pos" under the lock; "kick" tells the journal's writer
 * (ngx_http_runs_journal.c) that there is something to write.
 */

/* an object a change touched: its record is its state when written */
typedef struct {
    ngx_uint_t                  type;       /* NGX_HTTP_RUNS_J_* */
    uint64_t                    key;        /* run or launcher id,
                                               session number */
} ngx_http_runs_jobj_t;

struct ngx_http_runs_jstage_s {
    u_char                     *pos;
    u_char                     *end;
    uint64_t                    staged;     /* changes written here, ever */
    uint64_t                    bells;      /* strict: doorbells held until
                                               the changes are on disk */
    ngx_http_runs_jobj_t       *spill;      /* objects whose records did
                                               not fit: written from the
                                               zone before the next write */
    ngx_uint_t                  nspill;
    ngx_uint_t                  spill_max;
    uint64_t                    spill_first; /* the first change of them */
    ngx_uint_t                  lost;       /* objects not even noted
                                               (no memory): logged */
    ngx_int_t                   slot;       /* this process's in the
                                               zone's writers, -1: none */
    unsigned                    strict:1;
    void                      (*kick)(ngx_http_runs_jstage_t *js);
};


/* a runs_zone as one process sees it */
typedef struct {
    ngx_str_t                   name;
    size_t                      size;
    ngx_shm_zone_t             *shm_zone;
    ngx_slab_pool_t            *shpool;
    ngx_http_runs_shctx_t      *sh;
    ngx_queue_t                 held;       /* this worker's held requests
                                               (ngx_http_runs_hold_t) */
    ngx_connection_t           *bell;       /* this worker's doorbell */
    ngx_http_runs_jstage_t     *journal;    /* this worker's journal
                                               buffer, NULL: none */
    void                       *jconf;      /* the journal's configuration
                                               (ngx_http_runs_journal_t) */
    ngx_uint_t                  events;     /* runs_zone events=: the
                                               ring's size in changes */
    void                       *after;      /* while this process holds
                                               the lock through
                                               ngx_http_runs_lock(): its
                                               ngx_http_runs_after_t */
} ngx_http_runs_zone_t;


/* what the store is told by the configuration (http{} level) */
typedef struct {
    ngx_msec_t                  heartbeat_timeout;
    ngx_msec_t                  launcher_expiry;
    ngx_msec_t                  retention;
    ngx_msec_t                  claim_timeout;  /* 0: claims never expire */
    ngx_msec_t                  demand_timeout; /* 0: runs wait for a
                                                   runner for ever */
    ngx_uint_t                  max_waiters;
    ngx_uint_t                  max_held[NGX_HTTP_RUNS_WAIT_KINDS];
    ngx_uint_t                  max_polls_per_launcher;
} ngx_http_runs_limits_t;


/* a registry blueprint copied out of the zone, or to put in it */
typedef struct {
    ngx_str_t                   name;
    ngx_str_t                   tags;       /* sorted, comma-separated */
    ngx_str_t                   text;       /* the JSON object of the rest */
    ngx_uint_t                  inactive;
    int64_t                     created_at;
    int64_t                     modified_at;
    uint64_t                    version;    /* changes since made */
} ngx_http_runs_bsnap_t;

typedef enum {
    NGX_HTTP_RUNS_B_CREATE = 0,
    NGX_HTTP_RUNS_B_UPDATE,
    NGX_HTTP_RUNS_B_STATUS
} ngx_http_runs_bput_e;


/* an event copied out of the zone's ring */
typedef struct {
    uint64_t                    id;
    int64_t                     at;         /* ms since the epoch */
    uint64_t                    run;        /* numeric ids, by "has" */
    uint64_t                    sid[2];
    uint64_t                    launcher;
    ngx_uint_t                  type;       /* ngx_http_runs_etype_e */
    ngx_uint_t                  status;     /* a run's, after the change */
    ngx_uint_t                  has;        /* NGX_HTTP_RUNS_EH_* */
    size_t                      name_len;   /* a blueprint's, by "has" */
    u_char                      name[NGX_HTTP_RUNS_NAME_MAX];
} ngx_http_runs_event_t;


/* what an event stream looks at */
typedef struct {
    uint64_t                    run;
    uint64_t                    sid[2];
    uint64_t                   *scope;      /* NULL: every scope */
    unsigned                    by_run:1;
    unsigned                    by_session:1;
} ngx_http_runs_efilter_t;


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
    u_char                      session_id[NGX_HTTP_RUNS_SESSION_ID_LEN];
    ngx_str_t                   prompt;
    ngx_str_t                   agent_name;
    ngx_str_t                   project_dir;
    ngx_str_t                   parent;
    ngx_str_t                   error;
    ngx_str_t                   result;     /* data NULL: not reported */
    ngx_uint_t                  result_truncated;
    ngx_str_t                   demands;    /* the record, len 0: none */
    ngx_uint_t                  affinity;
    ngx_uint_t                  callback;   /* made by a child's end */
    ngx_str_t                   waiting_for;    /* what a claimable run no
                                                   runner takes waits for;
                                                   len 0: nothing */
    ngx_str_t                   blueprint;  /* a claimed run's registry
                                               blueprint (a poll's answer
                                               only), len 0: none */
} ngx_http_runs_snap_t;


typedef struct {
    u_char                      id[NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
    int64_t                     registered_at;
    int64_t                     last_heartbeat;
    ngx_str_t                   hostname;
    ngx_str_t                   project_dir;
    ngx_str_t                   executor_type;
    ngx_str_t                   agents;     /* comma-separated names */
    ngx_str_t                   tags;       /* sorted, comma-separated */
    ngx_uint_t                  deregister;
} ngx_http_runs_lsnap_t;


/* a session copied out of the zone */
typedef struct {
    u_char                      id[NGX_HTTP_RUNS_SESSION_ID_LEN];
    u_char                      last_run_id[NGX_HTTP_RUNS_RUN_ID_LEN];
    ngx_str_t                   name;
    ngx_str_t                   agent_name; /* of its latest run */
    ngx_str_t                   project_dir;
    ngx_str_t                   parent;
    ngx_str_t                   host;       /* of its first run's runner */
    ngx_uint_t                  status;     /* of its latest run */
    ngx_uint_t                  run_count;
    int64_t                     created_at;
    int64_t                     updated_at;
} ngx_http_runs_ssnap_t;


/* what a read of a run's log found */
typedef struct {
    u_char                     *data;       /* the caller's buffer */
    size_t                      n;          /* bytes copied to it */
    uint64_t                    start;      /* log offset of data[0] */
    uint64_t                    end;        /* the log's end */
    ngx_uint_t                  status;     /* the run's */
    ngx_uint_t                  evicted;    /* its log was given up */
} ngx_http_runs_logread_t;


/* a validated POST /runs body */
typedef struct {
    ngx_uint_t                  type;
    ngx_str_t                   session_name;
    ngx_str_t                   prompt;
    ngx_str_t                   agent_name;
    ngx_str_t                   project_dir;
    ngx_str_t                   parent;
    ngx_str_t                   demands;    /* the record, len 0: none */
    ngx_uint_t                  affinity;
    uint64_t                   *scope;      /* runs_scope's key; NULL */
} ngx_http_runs_create_t;


/*
 * A run's demands as kept (ngx_http_runs_demands.c makes the record):
 * four u16 lengths, then tags (sorted, comma-separated), hostname,
 * project_dir, executor_type; a length of 0 is a field not demanded.
 * A routing class's key (ngx_http_runs_store_route.c) is the same record
 * with the agent's name and the host in front (HEAD + 4 bytes of lengths).
 */

#define NGX_HTTP_RUNS_DEMANDS_HEAD  8

typedef struct {
    ngx_str_t                   tags;
    ngx_str_t                   hostname;
    ngx_str_t                   project_dir;
    ngx_str_t                   executor_type;
} ngx_http_runs_demands_t;


static ngx_inline void
ngx_http_runs_demands_read(u_char *p, size_t len, ngx_http_runs_demands_t *d)
{
    uint16_t    n[4];
    ngx_str_t  *v;
    ngx_uint_t  i;

    ngx_memzero(d, sizeof(ngx_http_runs_demands_t));

    if (len < NGX_HTTP_RUNS_DEMANDS_HEAD) {
        return;
    }

    ngx_memcpy(n, p, sizeof(n));
    p += sizeof(n);
    v = &d->tags;

    for (i = 0; i < 4; i++) {
        v[i].len = n[i];
        v[i].data = n[i] ? p : NULL;
        p += n[i];
    }
}


/*
 * A histogram of times, in the zone (ngx_http_runs_store_metrics.c):
 * bucket[i] counts the times at most ngx_http_runs_hist_bounds[i] ms and
 * above the bound before; bucket[NGX_HTTP_RUNS_HIST_N] those above all.
 */

#define NGX_HTTP_RUNS_HIST_N  14

typedef struct {
    ngx_uint_t                  bucket[NGX_HTTP_RUNS_HIST_N + 1];
    uint64_t                    sum_ms;
    ngx_uint_t                  count;
} ngx_http_runs_hist_t;

extern const ngx_msec_t  ngx_http_runs_hist_bounds[NGX_HTTP_RUNS_HIST_N];


/* the zone's figures, copied out for runs_metrics and runs_health */
typedef struct {
    ngx_uint_t                  nstatus[NGX_HTTP_RUNS_NSTATUS];
    ngx_uint_t                  nsessions;
    ngx_uint_t                  created;    /* totals since the zone was
                                               made (a restart from a
                                               journal begins again) */
    ngx_uint_t                  claims;
    ngx_uint_t                  ended[NGX_HTTP_RUNS_NSTATUS];
    ngx_uint_t                  overdue;    /* failed: runs_demand_timeout */
    ngx_uint_t                  evicted;
    ngx_uint_t                  logs_evicted;
    ngx_uint_t                  claims_expired;
    ngx_uint_t                  callbacks;
    ngx_uint_t                  callbacks_refused;
    ngx_uint_t                  refused[NGX_HTTP_RUNS_REFUSED_N];
    ngx_uint_t                  held[NGX_HTTP_RUNS_WAIT_KINDS];
    ngx_uint_t                  queued;     /* claimable runs */
    int64_t                     oldest_ms;  /* age of the oldest; -1 */
    ngx_uint_t                  runners_online;
    ngx_uint_t                  runners_stale;
    size_t                      zone_size;
    size_t                      zone_free;  /* bytes in free pages */
    ngx_uint_t                  evictable;  /* finished runs to give up */
    ngx_uint_t                  full;       /* a run was refused for room,
                                               none freed or made since */
    ngx_uint_t                  journal;    /* 0: none, 1: writing,
                                               2: failing */
    ngx_uint_t                  journal_pending;
    ngx_uint_t                  retired;
    ngx_http_runs_hist_t        claim;      /* created -> claimed */
    ngx_http_runs_hist_t        done;       /* created -> completed */
} ngx_http_runs_metrics_t;


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
    ngx_array_t                *stops;      /* of ngx_str_t, the pool's */
} ngx_http_runs_poll_t;


/*
 * A held request as the store sees it: its waiter in the zone and where a
 * wake-up's answer goes.  The HTTP side embeds it in its request context;
 * the store fills it, under the lock, when it takes a woken waiter.
 */

typedef struct {
    ngx_http_runs_waiter_t     *waiter;     /* in the zone, while held */
    ngx_uint_t                  kind;       /* ngx_http_runs_wait_e */
    ngx_pool_t                 *pool;       /* the answer's copies */
    ngx_queue_t                 queue;      /* zone->held, or a list of
                                               those woken */
    ngx_http_runs_poll_t        poll;       /* the answer */
    unsigned                    ready:1;    /* poll holds an answer */
    unsigned                    final:1;    /* answer even with nothing */
    unsigned                    noclaim:1;  /* a poll for stops only */
} ngx_http_runs_hold_t;


/* what a store call found; the endpoint turns it into an answer */
typedef enum {
    NGX_HTTP_RUNS_R_DONE = 0,
    NGX_HTTP_RUNS_R_HOLD,             /* nothing yet: the request is held */
    NGX_HTTP_RUNS_R_REPEATED,         /* a report already recorded */
    NGX_HTTP_RUNS_R_NO_RUN,
    NGX_HTTP_RUNS_R_NO_LAUNCHER,
    NGX_HTTP_RUNS_R_NO_SESSION,       /* a resume of an unknown session */
    NGX_HTTP_RUNS_R_SESSION_EXISTS,   /* a start of a session that is */
    NGX_HTTP_RUNS_R_FINISHED,         /* a stop of a terminal run */
    NGX_HTTP_RUNS_R_NOT_HELD,         /* a report on a run no one holds */
    NGX_HTTP_RUNS_R_OTHER_HOLDER,     /* ... another launcher holds */
    NGX_HTTP_RUNS_R_TAKEN_BACK,       /* ... taken back from this one */
    NGX_HTTP_RUNS_R_WRONG_STATE,      /* ... in a state it cannot leave so */
    NGX_HTTP_RUNS_R_GAP,              /* a log chunk beyond the end */
    NGX_HTTP_RUNS_R_ACTIVE,           /* a session with a run held */
    NGX_HTTP_RUNS_R_LOOP,             /* a parent chain back to itself */
    NGX_HTTP_RUNS_R_OTHER_PARENT,     /* a resume naming another parent */
    NGX_HTTP_RUNS_R_REFUSED,          /* no room: a full zone, a cap */
    NGX_HTTP_RUNS_R_BAD_TOKEN,        /* a runner call without its token */
    NGX_HTTP_RUNS_R_NO_MEMORY,        /* the caller's pool */
    NGX_HTTP_RUNS_R_RESET,            /* an event stream's position is not
                                         in the ring any more */
    NGX_HTTP_RUNS_R_EXISTS,           /* a blueprint of that name is */
    NGX_HTTP_RUNS_R_NO_AGENT,         /* no blueprint of that name */
    NGX_HTTP_RUNS_R_CONFLICT,         /* changed since it was read */
    NGX_HTTP_RUNS_R_INACTIVE          /* a run of an inactive blueprint */
} ngx_http_runs_found_e;

/* a launcher's report on a run */
typedef struct {
    ngx_uint_t                  event;      /* ngx_http_runs_event_e */
    ngx_str_t                   error;      /* failed: the error text */
    ngx_str_t                   result;     /* data NULL: none sent */
    size_t                      result_max; /* runs_result_max */
} ngx_http_runs_report_t;

/* a stop's outcome */
typedef struct {
    ngx_uint_t                  before;
    ngx_uint_t                  after;
    ngx_str_t                   session;
} ngx_http_runs_stop_t;


extern const ngx_str_t  ngx_http_runs_status_names[];


/* ngx_http_runs_store_records.c: the zone's root, ids, times */
ngx_http_runs_shctx_t *ngx_http_runs_store_init(ngx_slab_pool_t *shpool,
    size_t size, ngx_log_t *log);
int64_t ngx_http_runs_now(void);
ngx_int_t ngx_http_runs_parse_id(ngx_str_t *s, const char *prefix,
    uint64_t *id);
void ngx_http_runs_make_id(u_char *dst, const char *prefix, size_t plen,
    uint64_t id);
void ngx_http_runs_format_sid(u_char *dst, uint64_t *sid);
ngx_int_t ngx_http_runs_parse_sid(ngx_str_t *s, uint64_t *sid);
ngx_atomic_uint_t ngx_http_runs_store_refusal(ngx_http_runs_zone_t *zone,
    ngx_uint_t reason);
void ngx_http_runs_store_scope_key(ngx_http_runs_zone_t *zone,
    ngx_str_t *value, uint64_t *key);
ngx_uint_t ngx_http_runs_store_run_scope(ngx_http_runs_zone_t *zone,
    uint64_t id, uint64_t *scope);
ngx_uint_t ngx_http_runs_store_run_seen(ngx_http_runs_zone_t *zone,
    uint64_t id, uint64_t *scope);

/* ngx_http_runs_store_runs.c: runs and their transitions */
ngx_uint_t ngx_http_runs_store_create(ngx_http_runs_zone_t *zone,
    ngx_http_runs_create_t *cr, u_char *id);
ngx_uint_t ngx_http_runs_store_get(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h, uint64_t id,
    ngx_uint_t wait, ngx_http_runs_snap_t *snap, ngx_uint_t *refused);
ngx_uint_t ngx_http_runs_store_stop(ngx_http_runs_zone_t *zone, uint64_t id,
    ngx_pool_t *pool, ngx_http_runs_stop_t *st);
ngx_uint_t ngx_http_runs_store_report(ngx_http_runs_zone_t *zone,
    uint64_t lid, uint64_t rid, ngx_http_runs_report_t *rp,
    ngx_uint_t *status);

/* ngx_http_runs_store_list.c */
ngx_uint_t ngx_http_runs_store_list(ngx_http_runs_zone_t *zone,
    ngx_str_t *name, ngx_int_t status, ngx_uint_t limit, uint64_t *scope,
    ngx_pool_t *pool, ngx_http_runs_snap_t **snaps, ngx_uint_t *n);

/* ngx_http_runs_store_launchers.c: launchers, claims, the sweep */
ngx_uint_t ngx_http_runs_store_register(ngx_http_runs_zone_t *zone,
    ngx_str_t *hostname, ngx_str_t *project_dir, ngx_str_t *executor_type,
    ngx_str_t *agents, ngx_str_t *tags, u_char *token, uint64_t *scope,
    u_char *id);
ngx_uint_t ngx_http_runs_store_launcher_auth(ngx_http_runs_zone_t *zone,
    uint64_t id, u_char *token, ngx_uint_t given);
ngx_uint_t ngx_http_runs_store_launcher(ngx_http_runs_zone_t *zone,
    uint64_t id, ngx_uint_t beat);
ngx_uint_t ngx_http_runs_store_poll(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h, uint64_t id,
    ngx_uint_t *refused);
ngx_uint_t ngx_http_runs_store_launchers(ngx_http_runs_zone_t *zone,
    ngx_pool_t *pool, ngx_http_runs_lsnap_t **ls, ngx_uint_t *n);
ngx_uint_t ngx_http_runs_store_deregister(ngx_http_runs_zone_t *zone,
    uint64_t id, ngx_uint_t self);
void ngx_http_runs_store_maintain(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim);

/* ngx_http_runs_store_log.c */
ngx_uint_t ngx_http_runs_store_log_append(ngx_http_runs_zone_t *zone,
    uint64_t lid, uint64_t rid, uint64_t offset, ngx_str_t *data, size_t max,
    uint64_t *end);
ngx_uint_t ngx_http_runs_store_log_read(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h, uint64_t rid,
    uint64_t offset, size_t cap, ngx_uint_t follow, ngx_pool_t *pool,
    ngx_http_runs_logread_t *rd, ngx_uint_t *refused);

/* ngx_http_runs_store_sessions.c (scope: a runs_scope's key, NULL: any) */
ngx_uint_t ngx_http_runs_store_session(ngx_http_runs_zone_t *zone,
    uint64_t *sid, ngx_str_t *name, uint64_t *scope, ngx_pool_t *pool,
    ngx_http_runs_ssnap_t *ss);
ngx_uint_t ngx_http_runs_store_sessions(ngx_http_runs_zone_t *zone,
    ngx_int_t status, ngx_str_t *agent, uint64_t *scope, ngx_uint_t limit,
    ngx_pool_t *pool, ngx_http_runs_ssnap_t **ss, ngx_uint_t *n);
ngx_uint_t ngx_http_runs_store_session_runs(ngx_http_runs_zone_t *zone,
    uint64_t *sid, uint64_t *scope, ngx_pool_t *pool,
    ngx_http_runs_snap_t **snaps, ngx_uint_t *n);
ngx_uint_t ngx_http_runs_store_session_result(ngx_http_runs_zone_t *zone,
    uint64_t *sid, uint64_t *scope, ngx_pool_t *pool,
    ngx_http_runs_snap_t *snap);
ngx_uint_t ngx_http_runs_store_session_stop(ngx_http_runs_zone_t *zone,
    uint64_t *sid, uint64_t *scope, ngx_pool_t *pool, ngx_array_t *stopped,
    ngx_array_t *cancelled);
ngx_uint_t ngx_http_runs_store_session_delete(ngx_http_runs_zone_t *zone,
    uint64_t *sid, uint64_t *scope, ngx_uint_t *nruns);
ngx_uint_t ngx_http_runs_session_status(ngx_uint_t run_status);

/* where a compaction's snapshot of the zone has got to */
typedef struct {
    ngx_uint_t                  phase;      /* launchers, sessions, runs */
    uint64_t                    next;       /* the next number to look at */
    uint64_t                    last;
} ngx_http_runs_jcursor_t;

/* ngx_http_runs_store_journal.c: a journal's header, a zone rebuilt */
ngx_int_t ngx_http_runs_store_compact_begin(ngx_http_runs_zone_t *zone,
    ngx_http_runs_jcursor_t *cur);
ngx_int_t ngx_http_runs_store_compact_slice(ngx_http_runs_zone_t *zone,
    ngx_http_runs_jcursor_t *cur, u_char **pos, u_char *end);
void ngx_http_runs_store_compact_end(ngx_http_runs_zone_t *zone,
    off_t size);
void ngx_http_runs_store_jgen_next(ngx_http_runs_zone_t *zone);
uint64_t ngx_http_runs_store_jgen(ngx_http_runs_zone_t *zone);
void ngx_http_runs_store_jflight(ngx_http_runs_zone_t *zone, uint64_t gen);
ngx_uint_t ngx_http_runs_store_jclaim(ngx_http_runs_zone_t *zone,
    ngx_pid_t *dead);
void ngx_http_runs_store_jleave(ngx_http_runs_zone_t *zone);
ngx_uint_t ngx_http_runs_store_jsettled(ngx_http_runs_zone_t *zone);
off_t ngx_http_runs_store_jbase(ngx_http_runs_zone_t *zone);
size_t ngx_http_runs_store_jboundary(u_char *data, size_t len);
void ngx_http_runs_store_jwritten(ngx_http_runs_zone_t *zone,
    uint64_t changes);
ngx_int_t ngx_http_runs_store_retire(ngx_http_runs_zone_t *zone,
    ngx_log_t *log);
ngx_uint_t ngx_http_runs_store_retired(ngx_http_runs_zone_t *zone);
ngx_uint_t ngx_http_runs_store_jfailing(ngx_http_runs_zone_t *zone);
void ngx_http_runs_store_jfail(ngx_http_runs_zone_t *zone,
    ngx_uint_t failing);
ngx_int_t ngx_http_runs_store_jspill(ngx_http_runs_zone_t *zone,
    size_t *need);
void ngx_http_runs_store_journal_header(ngx_http_runs_zone_t *zone,
    u_char *buf);
ngx_int_t ngx_http_runs_store_replay(ngx_http_runs_zone_t *zone,
    ngx_str_t *images, ngx_uint_t n, ngx_log_t *log, size_t *valid);

/* ngx_http_runs_store_ering.c: the ring of changes event streams read */
ngx_int_t ngx_http_runs_store_events_init(ngx_http_runs_zone_t *zone,
    ngx_uint_t n, ngx_log_t *log);

/* ngx_http_runs_store_events.c: a stream's reads */
ngx_uint_t ngx_http_runs_store_events_read(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_hold_t *h,
    ngx_http_runs_efilter_t *f, uint64_t *pos, ngx_http_runs_event_t *out,
    ngx_uint_t max, ngx_uint_t *n, ngx_uint_t *refused);

/* ngx_http_runs_store_blueprints.c: the blueprint registry */
ngx_uint_t ngx_http_runs_store_blueprint_put(ngx_http_runs_zone_t *zone,
    ngx_http_runs_bsnap_t *bs, ngx_uint_t how, ngx_pool_t *pool,
    ngx_http_runs_bsnap_t *out);
ngx_uint_t ngx_http_runs_store_blueprint_delete(ngx_http_runs_zone_t *zone,
    ngx_str_t *name);
ngx_uint_t ngx_http_runs_store_blueprint(ngx_http_runs_zone_t *zone,
    ngx_str_t *name, ngx_pool_t *pool, ngx_http_runs_bsnap_t *bs);
ngx_uint_t ngx_http_runs_store_blueprints(ngx_http_runs_zone_t *zone,
    ngx_str_t *tags, ngx_pool_t *pool, ngx_http_runs_bsnap_t **out,
    ngx_uint_t *n);

/* ngx_http_runs_store_metrics.c */
void ngx_http_runs_store_metrics(ngx_http_runs_zone_t *zone,
    ngx_http_runs_limits_t *lim, ngx_http_runs_metrics_t *m);

/* ngx_http_runs_store_wait.c: the doorbells */
ngx_int_t ngx_http_runs_store_bells(ngx_cycle_t *cycle,
    ngx_http_runs_zone_t *zone);
ngx_fd_t ngx_http_runs_store_bell_fd(ngx_http_runs_zone_t *zone);
void ngx_http_runs_store_ring(ngx_http_runs_zone_t *zone, uint64_t bells);

/* ngx_http_runs_store_held.c: held requests, the zone's side */
void ngx_http_runs_store_purge_waiters(ngx_http_runs_zone_t *zone,
    ngx_uint_t own);
void ngx_http_runs_store_take_woken(ngx_http_runs_zone_t *zone,
    ngx_queue_t *ready);
void ngx_http_runs_store_take(ngx_http_runs_zone_t *zone,
    ngx_http_runs_hold_t *h);
void ngx_http_runs_store_unwait(ngx_http_runs_zone_t *zone,
    ngx_http_runs_hold_t *h);
ngx_uint_t ngx_http_runs_store_woken(ngx_http_runs_hold_t *h);


#endif /* _NGX_HTTP_RUNS_STORE_H_INCLUDED_ */
