
/*
 * The zone's records: what lives in the runs_zone and points only into
 * it, and the functions the store's rooms share under the lock.  Only the
 * store's own files (ngx_http_runs_store_*.c) include this header; every
 * other file reaches the zone through ngx_http_runs_store.h.
 */


#ifndef _NGX_HTTP_RUNS_ZONE_H_INCLUDED_
#define _NGX_HTTP_RUNS_ZONE_H_INCLUDED_


#include "ngx_http_runs_store.h"


typedef struct ngx_http_runs_run_s       ngx_http_runs_run_t;
typedef struct ngx_http_runs_session_s   ngx_http_runs_session_t;
typedef struct ngx_http_runs_launcher_s  ngx_http_runs_launcher_t;
typedef struct ngx_http_runs_rclass_s    ngx_http_runs_rclass_t;
typedef struct ngx_http_runs_rgroup_s    ngx_http_runs_rgroup_t;
typedef struct ngx_http_runs_log_s       ngx_http_runs_log_t;
typedef struct ngx_http_runs_blueprint_s ngx_http_runs_blueprint_t;


typedef enum {
    NGX_HTTP_RUNS_W_IDLE = 1,         /* poll waiter in sh->idle */
    NGX_HTTP_RUNS_W_WATCH,            /* run waiter on run->waiters only */
    NGX_HTTP_RUNS_W_NOTIFIED,         /* in its doorbell's notified queue */
    NGX_HTTP_RUNS_W_DETACHED          /* taken by its owner, being answered */
} ngx_http_runs_wstate_e;


/*
 * A count that any worker adds to and that is logged at most once per
 * 10 s, by whichever worker comes first, with what was added since the
 * last line: lock-free.
 */

typedef struct {
    ngx_atomic_t                total;
    ngx_atomic_t                logged;     /* the total when last logged */
    ngx_atomic_t                at;         /* when last logged */
} ngx_http_runs_throttle_t;


/*
 * Everything below down to ngx_http_runs_shctx_t lives in the zone and
 * points only into the zone.
 */

struct ngx_http_runs_run_s {
    ngx_http_runs_run_t        *next;       /* in its sh->runs bucket */
    uint64_t                    id;         /* numeric id */
    ngx_rbtree_node_t           ready;      /* its class's ready tree
                                               while claimable, key: seq */
    ngx_http_runs_rclass_t     *rclass;     /* that class */
    uint64_t                    seq;        /* creation sequence */
    ngx_queue_t                 all;        /* sh->all, creation order */
    ngx_queue_t                 in_session; /* session->runs */
    ngx_queue_t                 state;      /* session->active while live,
                                               sh->finished when terminal */
    ngx_queue_t                 owned;      /* launcher->runs while held */
    ngx_queue_t                 stop;       /* launcher->stops */
    ngx_queue_t                 waiters;    /* ?wait= waiters, log
                                               followers */

    ngx_http_runs_session_t    *session;
    ngx_http_runs_launcher_t   *launcher;   /* the holder, while held */

    int64_t                     created_at;     /* ms since the epoch, */
    int64_t                     claimed_at;     /* 0: not reached */
    int64_t                     started_at;
    int64_t                     completed_at;

    /*
     * prompt, agent_name, project_dir, parent_session_name, demands (see
     * ngx_http_runs_demands_t), error and result, one after the other in
     * one allocation of their own; a length of 0 is null (none of them
     * can be empty)
     */
    u_char                     *strings;
    uint64_t                    launcher_key;   /* numeric launcher id */
    uint32_t                    prompt_len;
    uint32_t                    error_len;
    uint32_t                    result_len;     /* after the error */
    uint16_t                    project_dir_len;
    uint16_t                    demand_len;
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
    unsigned                    result_cut:1;   /* result_len is a prefix,
                                                   or the result dropped */
    unsigned                    has_result:1;   /* reported, maybe empty */
    unsigned                    log_evicted:1;  /* its log given up */
    unsigned                    callback:1;     /* made by a child's end */
    unsigned                    noaffinity:1;   /* "affinity": false */
    unsigned                    registry:1;     /* its agent is a registry
                                                   blueprint's: any runner
                                                   takes it */

    ngx_http_runs_log_t        *log;        /* NULL: nothing posted yet, or
                                               given up for room */
};


/*
 * A run's log: the newest bytes of it in a ring of "size" bytes; the byte
 * at log offset o is at data[o % size].  It grows by doubling up to
 * runs_log_size while the zone has room; once its run has ended it is
 * queued in sh->logs, the first thing given up when the zone is full.
 */

struct ngx_http_runs_log_s {
    ngx_queue_t                 queue;      /* sh->logs once run ended */
    ngx_http_runs_run_t        *run;
    uint64_t                    end;        /* bytes ever appended */
    uint32_t                    size;       /* of data */
    uint32_t                    kept;       /* bytes before end kept */
    u_char                      data[1];
};


/* a session's size: offsetof(ngx_http_runs_session_t, name) + name_len */

struct ngx_http_runs_session_s {
    ngx_http_runs_session_t    *next;       /* in its sh->sessions bucket */
    ngx_http_runs_session_t    *next_by_id; /* in its sh->session_ids
                                               bucket */
    uint64_t                    seq;        /* creation sequence: the
                                               UUID's first half is made
                                               from it */
    uint64_t                    sid1;       /* the UUID's second half */
    ngx_queue_t                 all;        /* sh->session_list */
    ngx_queue_t                 runs;       /* every stored run */
    ngx_queue_t                 active;     /* non-terminal runs, in order */
    u_char                     *inherit;    /* agent_name, project_dir,
                                               parent_session_name, then
                                               the host of its first run:
                                               own allocation or NULL */
    uint64_t                    scope[2];   /* its runs_scope's keyed
                                               hash; 0, 0: none */
    uint32_t                    hash;       /* keyed hash of the name */
    uint32_t                    nruns;
    uint32_t                    nblocking;  /* runs not failed/stopped */
    uint16_t                    project_dir_len;
    u_char                      agent_name_len;
    u_char                      parent_len;
    u_char                      host_len;   /* 0: no affinity */
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
    uint64_t                    seq;        /* registration number */
    ngx_uint_t                  nwaiters;
    ngx_str_t                   hostname;
    ngx_str_t                   project_dir;
    ngx_str_t                   executor_type;
    ngx_str_t                   agents;     /* names, comma-separated */
    ngx_str_t                   tags;       /* sorted, comma-separated */
    uint64_t                    token[2];   /* its token's keyed hash */
    uint64_t                    scope[2];   /* registered in a location
                                               with runs_scope: it takes
                                               only that scope's runs;
                                               0, 0: every scope */
    u_char                      id[NGX_HTTP_RUNS_LAUNCHER_ID_LEN];
    unsigned                    deregister:1;
    unsigned                    stale:1;        /* told to event streams */
    unsigned                    has_token:1;    /* none: restored from a
                                                   journal of before */
    /* strings follow */
};


/* a registry blueprint (ngx_http_runs_store_blueprints.c) */
struct ngx_http_runs_blueprint_s {
    ngx_str_node_t              sn;         /* sh->blueprints: its name */
    ngx_queue_t                 list;       /* sh->blueprint_list */
    uint64_t                    seq;        /* its number: the journal's
                                               key */
    uint64_t                    version;    /* changes since it was made */
    int64_t                     created_at;
    int64_t                     modified_at;
    uint32_t                    text_len;
    uint16_t                    tags_len;
    u_char                      name_len;
    u_char                      inactive;
    u_char                      data[1];    /* name, tags, text */
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
    unsigned                    kind:3;
    unsigned                    state:3;
    unsigned                    superseded:1;   /* its launcher polled anew */
};


/*
 * A routing class (ngx_http_runs_store_route.c): the claimable runs that
 * demand the same (agent, host, tags, project_dir, executor_type; each
 * may be empty: anything), oldest first.  Its key is the demands record
 * with the agent and the host in front: six u16 lengths, then the parts.
 * The classes of one agent and one host make a group, found by the first
 * two parts: a poll looks only at the groups its runner can take.  A
 * class lives while it has claimable runs, but for the one of the runs
 * that demand nothing.
 */

#define NGX_HTTP_RUNS_KEY_HEAD  12
#define NGX_HTTP_RUNS_KEY_MAX                                                \
    (NGX_HTTP_RUNS_KEY_HEAD + NGX_HTTP_RUNS_NAME_MAX + 4 * 4096              \
     + NGX_HTTP_RUNS_TAGS_MAX * (NGX_HTTP_RUNS_NAME_MAX + 1)                 \
     + 2 * sizeof(uint64_t))

typedef struct {
    ngx_str_t                   agent;
    ngx_str_t                   host;
    ngx_str_t                   tags;
    ngx_str_t                   project_dir;
    ngx_str_t                   executor_type;
    ngx_str_t                   scope;      /* its session's scope key
                                               (16 bytes), or empty */
} ngx_http_runs_kparts_t;

struct ngx_http_runs_rgroup_s {
    ngx_str_node_t              sn;         /* sh->groups: agent, host */
    ngx_queue_t                 classes;
    u_char                      key[1];
};

struct ngx_http_runs_rclass_s {
    ngx_str_node_t              sn;         /* sh->classes: its key */
    ngx_rbtree_t                ready;      /* by creation number */
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 link;       /* sh->class_list */
    ngx_queue_t                 in_group;
    ngx_http_runs_rgroup_t     *group;
    ngx_http_runs_kparts_t      parts;      /* into key */
    ngx_uint_t                  nready;
    ngx_uint_t                  noffer;     /* launchers that take it */
    int64_t                     unoffered;  /* since when none does */
    u_char                      key[1];
};


/*
 * A change in the ring event streams read (ngx_http_runs_store_ering.c):
 * ids, not copies, of what changed (a blueprint's name: it has no other);
 * its scope for the streams that are confined to one.
 */

typedef struct {
    uint64_t                    id;
    int64_t                     at;
    uint64_t                    run;
    uint64_t                    sid[2];
    uint64_t                    launcher;
    uint64_t                    scope[2];
    u_char                      type;
    u_char                      status;
    u_char                      has;        /* NGX_HTTP_RUNS_EH_* */
    u_char                      name_len;
    u_char                      name[NGX_HTTP_RUNS_NAME_MAX];
} ngx_http_runs_zevent_t;


/*
 * A process that writes the journal (a worker, an old one exiting after a
 * reload among them), found by its pid: what it staged and has not
 * written yet, and the file its write in flight goes to.  A worker that
 * finds the slot of a dead process with changes not written knows they
 * are missing from the file (ngx_http_runs_store_jclaim()).
 */

#define NGX_HTTP_RUNS_JWRITERS  128

typedef struct {
    ngx_atomic_t                pid;
    ngx_atomic_t                pending;    /* changes staged, not written */
    ngx_atomic_t                flight;     /* 1 + the generation of the
                                               file of its write in
                                               flight, 0: none */
} ngx_http_runs_jwriter_t;


typedef struct {
    ngx_fd_t                    rfd;        /* -1: not created */
    ngx_fd_t                    wfd;        /* == rfd for an eventfd */
    ngx_queue_t                 notified;
} ngx_http_runs_bell_t;


struct ngx_http_runs_shctx_s {
    ngx_http_runs_run_t       **runs;       /* hash table by id */
    ngx_http_runs_session_t   **sessions;   /* hash table by name */
    ngx_http_runs_session_t   **session_ids;    /* ... by session_id */
    ngx_uint_t                  mask;       /* buckets - 1, both tables */
    ngx_rbtree_t                classes;    /* ngx_http_runs_rclass_t by
                                               their key */
    ngx_rbtree_node_t           classes_sentinel;
    ngx_rbtree_t                groups;     /* ngx_http_runs_rgroup_t */
    ngx_rbtree_node_t           groups_sentinel;
    ngx_queue_t                 class_list;
    ngx_http_runs_rclass_t     *any;        /* runs demanding nothing */
    ngx_uint_t                  nready;     /* claimable runs, all classes */
    ngx_rbtree_t                launchers;
    ngx_rbtree_node_t           launchers_sentinel;

    ngx_queue_t                 all;
    ngx_queue_t                 finished;
    ngx_queue_t                 logs;       /* of finished runs, oldest
                                               first */
    ngx_queue_t                 session_list;   /* by creation */
    ngx_queue_t                 launcher_list;
    ngx_queue_t                 idle;
    ngx_queue_t                 waiters;

    ngx_http_runs_bell_t        bells[NGX_HTTP_RUNS_DOORBELLS];

    uint64_t                    seq;
    int64_t                     stamped;    /* the latest time a run was
                                               given: run times follow the
                                               lock's order */
    uint64_t                    launcher_seq;
    uint64_t                    jchange;    /* the journal's last change */
    uint64_t                    jgen;       /* the journal file's
                                               generation: a compaction
                                               makes a new file */
    ngx_pid_t                   jcompactor; /* the worker compacting */
    off_t                       jbase;      /* the file's size after the
                                               last compaction */
    ngx_atomic_t                jpending;   /* changes staged in workers'
                                               buffers, not yet written */
    ngx_atomic_t                retired;    /* a resized zone replaces
                                               this one: no more changes */
    ngx_atomic_t                jfailing;   /* the journal's last write
                                               failed: changes refused */
    ngx_http_runs_jwriter_t     jw[NGX_HTTP_RUNS_JWRITERS];
                                            /* the processes writing the
                                               journal */
    uint64_t                    session_seq;
    uint64_t                    id_key[4];  /* ids: a keyed permutation */
    uint64_t                    name_key[2];    /* session names: SipHash */
    ngx_uint_t                  nruns;
    ngx_uint_t                  nstatus[NGX_HTTP_RUNS_NSTATUS];
    ngx_uint_t                  nsessions;
    ngx_uint_t                  nlaunchers;
    ngx_uint_t                  nwaiters;
    ngx_uint_t                  nheld[NGX_HTTP_RUNS_WAIT_KINDS];
    ngx_uint_t                  evicted;
    ngx_uint_t                  logs_evicted;
    ngx_uint_t                  claims_expired;
    ngx_uint_t                  created_total;  /* runs_metrics */
    ngx_uint_t                  claims_total;
    ngx_uint_t                  ended_total[NGX_HTTP_RUNS_NSTATUS];
    ngx_uint_t                  overdue_total;
    ngx_uint_t                  full;       /* a run refused for room,
                                               and none freed or made
                                               since */
    ngx_http_runs_hist_t        hist_claim;
    ngx_http_runs_hist_t        hist_done;
    int64_t                     next_maintenance;
    ngx_uint_t                  callbacks;      /* made */
    ngx_uint_t                  callbacks_merged;
    ngx_http_runs_throttle_t    callbacks_refused;
    ngx_uint_t                  no_callbacks;   /* while a session is
                                                   deleted */

    ngx_http_runs_throttle_t    refused[NGX_HTTP_RUNS_REFUSED_N];

    /* the changes event streams read: a ring of nevents */
    ngx_http_runs_zevent_t     *events;     /* NULL: none kept yet */
    ngx_uint_t                  nevents;
    uint64_t                    event_first;    /* this zone's first id */
    uint64_t                    event_next;     /* the next id given */
    ngx_queue_t                 event_waiters;  /* streams that read every
                                                   change: woken by the
                                                   next, and off this
                                                   queue until they read */
    ngx_uint_t                  events_total;

    /* the blueprint registry */
    ngx_rbtree_t                blueprints;
    ngx_rbtree_node_t           blueprints_sentinel;
    ngx_queue_t                 blueprint_list;
    ngx_uint_t                  nblueprints;
    uint64_t                    blueprint_seq;
};


/* what a run listing looks for (ngx_http_runs_store_list.c) */
typedef struct {
    ngx_str_t                   name;       /* a session's; data NULL */
    uint64_t                   *sid;        /* ... or its id; NULL */
    ngx_int_t                   status;     /* -1: any */
    uint64_t                   *scope;      /* NULL: every scope */
} ngx_http_runs_query_t;


/*
 * What a critical section leaves for after the lock: the doorbells to
 * ring and the log lines to write.  Every change fills one; the one
 * unlock function, ngx_http_runs_unlock(), releases the lock and drains
 * it.  Lines are formatted under the lock (a few, on rare events: a
 * launcher lost, a claim taken back, a callback not made) and written
 * after it.
 */

#define NGX_HTTP_RUNS_AFTER_LINES    20
#define NGX_HTTP_RUNS_AFTER_LINE     256
#define NGX_HTTP_RUNS_AFTER_OBJECTS  32

typedef struct {
    ngx_http_runs_zone_t       *zone;
    uint64_t                    bells;      /* bit i: ring doorbell i */
    ngx_uint_t                  nlines;     /* noted, may exceed those
                                               kept */
    struct {
        ngx_uint_t              level;
        size_t                  len;
        u_char                  text[NGX_HTTP_RUNS_AFTER_LINE];
    }                           line[NGX_HTTP_RUNS_AFTER_LINES];
    ngx_uint_t                  nobj;       /* records touched, for the
                                               journal */
    ngx_http_runs_jobj_t        obj[NGX_HTTP_RUNS_AFTER_OBJECTS];
} ngx_http_runs_after_t;


/* the length of a run's strings before its error text */
#define ngx_http_runs_names_len(run)                                         \
    ((size_t) (run)->prompt_len + (run)->agent_name_len                      \
     + (run)->project_dir_len + (run)->parent_len + (run)->demand_len)

/* where a run's demands record is, among its strings */
#define ngx_http_runs_demands_of(run)                                        \
    ((run)->strings + (run)->prompt_len + (run)->agent_name_len              \
     + (run)->project_dir_len + (run)->parent_len)

#define ngx_http_runs_run_id(dst, run)                                       \
    ngx_http_runs_make_id(dst, "run_", 4, (run)->id)


/* ngx_http_runs_store_after.c: the way in and out of the lock */
void ngx_http_runs_lock(ngx_http_runs_zone_t *zone,
    ngx_http_runs_after_t *af);
void ngx_http_runs_unlock(ngx_http_runs_after_t *af);
void ngx_http_runs_after_log(ngx_http_runs_after_t *af, ngx_uint_t level,
    const char *fmt, ...);
void ngx_http_runs_after_mark(ngx_http_runs_after_t *af, ngx_uint_t type,
    uint64_t key);

#define ngx_http_runs_mark_run(af, run)                                      \
    ngx_http_runs_after_mark(af, NGX_HTTP_RUNS_J_RUN, (run)->id)
#define ngx_http_runs_mark_session(af, sess)                                 \
    ngx_http_runs_after_mark(af, NGX_HTTP_RUNS_J_SESSION, (sess)->seq)
#define ngx_http_runs_mark_launcher(af, lr)                                  \
    ngx_http_runs_after_mark(af, NGX_HTTP_RUNS_J_LAUNCHER, (lr)->node.key)

/* ngx_http_runs_store_journal.c: records written, a zone rebuilt */
ngx_uint_t ngx_http_runs_journal_write_locked(ngx_http_runs_after_t *af);

/* ngx_http_runs_store_wait.c: doorbells, waiter queues */
void ngx_http_runs_notify_all_locked(ngx_http_runs_shctx_t *sh,
    ngx_queue_t *waiters, ngx_uint_t detach, ngx_http_runs_after_t *af);
void ngx_http_runs_notify_kind_locked(ngx_http_runs_shctx_t *sh,
    ngx_queue_t *waiters, ngx_uint_t kind, ngx_http_runs_after_t *af);
ngx_int_t ngx_http_runs_waiter_admit_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_limits_t *lim, ngx_uint_t kind, ngx_uint_t *refused);
void ngx_http_runs_waiter_add_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_limits_t *lim, ngx_http_runs_waiter_t *w,
    ngx_http_runs_hold_t *h, void *target, ngx_http_runs_after_t *af);
void ngx_http_runs_waiter_park_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w, ngx_http_runs_launcher_t *lr,
    ngx_uint_t noclaim, ngx_uint_t head);
ngx_uint_t ngx_http_runs_waiter_remove_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w, ngx_http_runs_after_t *af);
void ngx_http_runs_notify_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w, ngx_http_runs_after_t *af);
void ngx_http_runs_waiter_free_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_waiter_t *w);
void ngx_http_runs_waiter_rearm_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_waiter_t *w);

/* ngx_http_runs_store_ering.c: the changes event streams are told */
void ngx_http_runs_event_run_locked(ngx_http_runs_shctx_t *sh,
    ngx_uint_t type, ngx_http_runs_run_t *run, ngx_http_runs_after_t *af);
void ngx_http_runs_event_session_locked(ngx_http_runs_shctx_t *sh,
    ngx_uint_t type, ngx_http_runs_session_t *sess,
    ngx_http_runs_after_t *af);
void ngx_http_runs_event_agent_locked(ngx_http_runs_shctx_t *sh,
    ngx_uint_t type, ngx_str_t *name, ngx_uint_t inactive,
    ngx_http_runs_after_t *af);
void ngx_http_runs_event_launcher_locked(ngx_http_runs_shctx_t *sh,
    ngx_uint_t type, ngx_http_runs_launcher_t *lr,
    ngx_http_runs_after_t *af);

/* ngx_http_runs_store_bprecord.c: the registry's records */
ngx_http_runs_blueprint_t *ngx_http_runs_blueprint_new_locked(
    ngx_http_runs_zone_t *zone, ngx_http_runs_bsnap_t *bs, uint64_t seq);
void ngx_http_runs_blueprint_unlink_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_blueprint_t *bp);
ngx_http_runs_blueprint_t *ngx_http_runs_lookup_blueprint_locked(
    ngx_http_runs_shctx_t *sh, ngx_str_t *name);
ngx_http_runs_blueprint_t *ngx_http_runs_lookup_blueprint_seq_locked(
    ngx_http_runs_shctx_t *sh, uint64_t seq);
ngx_uint_t ngx_http_runs_blueprint_check_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name);
ngx_uint_t ngx_http_runs_blueprint_active_locked(ngx_http_runs_shctx_t *sh,
    u_char *name, size_t len);
ngx_int_t ngx_http_runs_blueprint_text_locked(ngx_http_runs_shctx_t *sh,
    ngx_str_t *name, ngx_pool_t *pool, ngx_str_t *text);
size_t ngx_http_runs_j_blueprint_size(ngx_http_runs_blueprint_t *bp);
u_char *ngx_http_runs_j_blueprint(u_char *p, u_char *end,
    ngx_http_runs_blueprint_t *bp);
ngx_uint_t ngx_http_runs_j_blueprint_sane(u_char *b, size_t blen);
ngx_int_t ngx_http_runs_restore_blueprint_locked(ngx_http_runs_zone_t *zone,
    u_char *b);

/* ngx_http_runs_store_ids.c: ids, keys and times */
void ngx_http_runs_init_keys(ngx_http_runs_shctx_t *sh, ngx_log_t *log);
int64_t ngx_http_runs_stamp_locked(ngx_http_runs_shctx_t *sh, int64_t t);
uint64_t ngx_http_runs_permute_id(ngx_http_runs_shctx_t *sh, uint64_t n);
uint64_t ngx_http_runs_siphash(ngx_http_runs_shctx_t *sh, u_char *name,
    size_t len);
uint64_t ngx_http_runs_sid_half(ngx_http_runs_shctx_t *sh, uint64_t seq,
    ngx_uint_t half);
uint64_t ngx_http_runs_session_sid1(ngx_http_runs_shctx_t *sh, uint64_t seq);
void ngx_http_runs_session_sid(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, uint64_t *sid);

/* ngx_http_runs_store_records.c: lookups, allocation, links */
void ngx_http_runs_token_hash(ngx_http_runs_shctx_t *sh, u_char *token,
    uint64_t *hash);
ngx_uint_t ngx_http_runs_in_scope(ngx_http_runs_session_t *sess,
    uint64_t *scope);
ngx_http_runs_run_t *ngx_http_runs_lookup_run_locked(
    ngx_http_runs_shctx_t *sh, uint64_t id);
ngx_http_runs_launcher_t *ngx_http_runs_lookup_launcher_locked(
    ngx_http_runs_shctx_t *sh, uint64_t id);
ngx_uint_t ngx_http_runs_runner_call_locked(ngx_http_runs_shctx_t *sh,
    uint64_t lid, uint64_t rid, ngx_http_runs_launcher_t **lr,
    ngx_http_runs_run_t **run);
ngx_http_runs_session_t *ngx_http_runs_lookup_session_locked(
    ngx_http_runs_shctx_t *sh, ngx_str_t *name, uint64_t *scope);
ngx_http_runs_session_t *ngx_http_runs_lookup_sid_locked(
    ngx_http_runs_shctx_t *sh, uint64_t *sid);
ngx_http_runs_session_t *ngx_http_runs_lookup_session_seq_locked(
    ngx_http_runs_shctx_t *sh, uint64_t seq);
void ngx_http_runs_new_sid_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess);
void ngx_http_runs_link_session_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess);
ngx_http_runs_session_t *ngx_http_runs_new_session_locked(
    ngx_http_runs_zone_t *zone, ngx_str_t *name);
void ngx_http_runs_free_session_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess);
void *ngx_http_runs_alloc_locked(ngx_http_runs_zone_t *zone, size_t size,
    ngx_http_runs_session_t *keep);
void ngx_http_runs_free_locked(ngx_http_runs_zone_t *zone, void *p);
ngx_http_runs_waiter_t *ngx_http_runs_waiter_new_locked(
    ngx_http_runs_zone_t *zone, ngx_http_runs_limits_t *lim,
    ngx_http_runs_hold_t *h, void *target, ngx_uint_t *refused,
    ngx_http_runs_after_t *af);
u_char *ngx_http_runs_put(u_char *p, ngx_str_t *s);
u_char *ngx_http_runs_copy_str(u_char *p, ngx_str_t *dst, ngx_str_t *src);
size_t ngx_http_runs_strings_len(ngx_http_runs_run_t *run);
void ngx_http_runs_insert_run_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *sess);
void ngx_http_runs_rbtree_insert_value(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);

/* ngx_http_runs_store_launchers.c */
void ngx_http_runs_link_launcher_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr);

/* ngx_http_runs_store_route.c: which runner a claimable run may go to */
void ngx_http_runs_link_run_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *sess,
    ngx_http_runs_after_t *af);
void ngx_http_runs_make_ready_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_session_t *sess, ngx_http_runs_after_t *af);
void ngx_http_runs_unready_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run);
ngx_http_runs_run_t *ngx_http_runs_ready_for_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr);
void ngx_http_runs_notify_ready_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_rclass_t *c, ngx_http_runs_after_t *af);
ngx_uint_t ngx_http_runs_overdue_locked(ngx_http_runs_shctx_t *sh,
    int64_t now, ngx_msec_t timeout, ngx_http_runs_run_t **runs,
    ngx_uint_t max);

void ngx_http_runs_fail_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_str_t *error, int64_t now,
    ngx_http_runs_after_t *af);
void ngx_http_runs_offer_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_launcher_t *lr, ngx_int_t delta);
void ngx_http_runs_pin_host_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_launcher_t *lr,
    ngx_http_runs_after_t *af);

/* ngx_http_runs_store_metrics.c */
void ngx_http_runs_observe(ngx_http_runs_hist_t *h, int64_t ms);

/* ngx_http_runs_store_demand.c: what runs demand, what runners offer */
void ngx_http_runs_session_host(ngx_http_runs_session_t *sess,
    ngx_str_t *host);
size_t ngx_http_runs_demanded_host(ngx_http_runs_run_t *run);
size_t ngx_http_runs_run_key(ngx_http_runs_run_t *run, u_char *buf,
    ngx_uint_t *affine);
size_t ngx_http_runs_group_key(u_char *buf, ngx_str_t *agent,
    ngx_str_t *host);
void ngx_http_runs_key_parts(u_char *key, ngx_http_runs_kparts_t *kp);
ngx_uint_t ngx_http_runs_offers(ngx_http_runs_launcher_t *lr,
    ngx_http_runs_kparts_t *kp);
u_char *ngx_http_runs_demand_text(u_char *p, u_char *last,
    ngx_http_runs_kparts_t *kp, ngx_uint_t affine);
void ngx_http_runs_free_run_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_session_t *keep);
void ngx_http_runs_log_free_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_log_t *log);
ngx_uint_t ngx_http_runs_log_evict_locked(ngx_http_runs_zone_t *zone);
void ngx_http_runs_error_text_locked(ngx_http_runs_run_t *run,
    ngx_str_t *text, ngx_str_t *mark);
size_t ngx_http_runs_utf8_cut(ngx_str_t *s, size_t max);
ngx_int_t ngx_http_runs_snap_locked(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_run_t *run, ngx_pool_t *pool, ngx_http_runs_snap_t *snap);
void ngx_http_runs_lsnap_locked(ngx_http_runs_launcher_t *lr,
    ngx_pool_t *pool, ngx_http_runs_lsnap_t *ls);
ngx_atomic_uint_t ngx_http_runs_throttle(ngx_http_runs_throttle_t *t,
    ngx_uint_t add);

/* ngx_http_runs_store_runs.c: transitions */
void ngx_http_runs_set_status_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_uint_t status, int64_t now,
    ngx_http_runs_after_t *af);
ngx_int_t ngx_http_runs_stop_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af);
void ngx_http_runs_requeue_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af);
void ngx_http_runs_detach_locked(ngx_http_runs_run_t *run);
void ngx_http_runs_unqueue_stop_locked(ngx_http_runs_run_t *run);

/* ngx_http_runs_store_callbacks.c */
void ngx_http_runs_callback_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_run_t *run, ngx_http_runs_after_t *af);

/* ngx_http_runs_store_list.c */
void ngx_http_runs_slice_unlock(ngx_shmtx_t *mtx, ngx_int_t rc);
ngx_uint_t ngx_http_runs_list_slices(ngx_http_runs_zone_t *zone,
    ngx_http_runs_query_t *qy, ngx_pool_t *pool, ngx_http_runs_snap_t *snaps,
    ngx_uint_t cap, ngx_uint_t *n, uint64_t *cursor);

/* ngx_http_runs_store_launchers.c: the claim */
ngx_int_t ngx_http_runs_poll_locked(ngx_http_runs_zone_t *zone,
    ngx_http_runs_launcher_t *lr, ngx_uint_t claim, ngx_pool_t *pool,
    ngx_http_runs_poll_t *p, ngx_http_runs_after_t *af);

/* ngx_http_runs_store_log.c */
void ngx_http_runs_log_get(ngx_http_runs_log_t *log, uint64_t at,
    u_char *dst, size_t n);


#endif /* _NGX_HTTP_RUNS_ZONE_H_INCLUDED_ */
