/*
 * runner.h: the runner daemon's state, one struct passed around.
 */
#ifndef RUNNER_RUNNER_H
#define RUNNER_RUNNER_H

#include "runner/agents.h"
#include "runner/api.h"
#include "runner/backoff.h"
#include "runner/http.h"
#include "runner/log.h"
#include "runner/logs.h"
#include "runner/loop.h"
#include "runner/reports.h"
#include "runner/runs.h"

#include "common/tags.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>

#define RUNNER_EXIT_OK     0
#define RUNNER_EXIT_FATAL  1
#define RUNNER_EXIT_USAGE  2
/* a second SIGINT/SIGTERM: 128 + the signal's number */

struct config {
    char     *url;                  /* coordinator base URL */
    char     *mcp_url;              /* its MCP endpoint, for executors */
    char     *executor;             /* absolute path */
    char     *executor_type;
    char     *project_dir;          /* NULL: none */
    char     *hostname;
    char     *agents_dir;           /* absolute: the agent blueprints */
    struct tags tags;               /* offered at registration */
    double    poll_timeout;         /* s; 0: the coordinator's + 10 */
    double    heartbeat_interval;   /* s; 0: the coordinator's */
    unsigned  max_concurrent;
    double    stop_grace;           /* s */
    size_t    log_keep;             /* bytes of a run's log kept unposted */
    double    log_interval;         /* s between two log posts of a run */
};

enum runner_phase {
    PHASE_ACTIVE,                   /* taking runs */
    PHASE_DRAINING,                 /* SIGINT/SIGTERM: stop runs, report, deregister */
    PHASE_LEAVING                   /* deregistered: stop runs, exit */
};

struct runner {
    struct config      cfg;
    struct log         log;
    struct loop        loop;
    struct http        http;
    struct api         api;
    struct reports     reports;
    struct logs        logs;
    struct runs        runs;

    enum runner_phase  phase;
    bool               registered;
    bool               ever_registered;
    bool               polled_since_register;   /* a 200/204 poll since */
    char               launcher_id[64];
    unsigned           generation;  /* bumped by each registration */
    double             coord_poll_timeout;
    double             coord_heartbeat;
    size_t             coord_result_max;   /* result_max_bytes */

    struct http_req   *reg_req;
    struct http_req   *poll_req;
    unsigned           poll_gen;
    bool               poll_noclaim; /* the poll in flight carries claim=0 */
    struct http_req   *hb_req;
    unsigned           hb_gen;
    struct http_req   *dereg_req;

    struct timer       retry_timer; /* registration / poll / deregistration retry */
    struct timer       hb_timer;
    struct timer       deadline;    /* end of the flush after the runs ended */
    bool               flushing;
    struct backoff     backoff;

    unsigned           term_signals;
    int                exit_code;
};

/* runner.c */
int runner_init(struct runner *r);
/* a run left without ever running: poll for another, or finish leaving */
void runner_slot_freed(struct runner *r);
int runner_run(struct runner *r);
void runner_free(struct runner *r);

/* execute.c: the runs' executors */
void exec_start(struct runner *r, json_t *run);
void exec_stop(struct runner *r, const char *run_id, const char *why);
void exec_stop_all(struct runner *r);
void exec_kill_all(struct runner *r);
void exec_reap(struct runner *r);

#endif
