/*
 * runs.h: the table of runs this runner holds, one per live executor.
 */
#ifndef RUNNER_RUNS_H
#define RUNNER_RUNS_H

#include "runner/child.h"
#include "runner/logs.h"
#include "runner/loop.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct runner;

struct run {
    char          *run_id;
    char          *session_name;
    char          *launcher_id;     /* the registration that claimed it */
    char          *session_id;      /* NULL: the coordinator sent none */
    struct runlog *log;             /* its executor's stderr; NULL: none */
    struct child   child;           /* pid 0: not spawned yet */
    bool           confirming;      /* "started" sent, not yet answered */
    bool           reoffered;       /* handed out again meanwhile */
    char          *payload;         /* kept for the spawn once confirmed */
    size_t         payload_len;
    char          *cwd;             /* NULL: the runner's own */
    const char    *mode;            /* "start" or "resume" */
    bool           stop_requested;
    int            stop_signal;     /* the last signal sent to stop it, 0 none */
    struct timer   grace;           /* SIGKILL when it expires */
    uint64_t       started_ms;
    struct runner *runner;
    struct run    *next;
};

struct runs {
    struct run *head;
    unsigned    count;
};

/* NULL when out of memory */
struct run *run_new(const char *run_id, const char *session_name,
                    const char *launcher_id);
void run_free(struct run *run);

void runs_add(struct runs *rs, struct run *run);
void runs_remove(struct runs *rs, struct run *run);
struct run *runs_find(const struct runs *rs, const char *run_id);
struct run *runs_find_pid(const struct runs *rs, pid_t pid);
/* runs with an executor (not those whose claim is being confirmed) */
unsigned runs_executing(const struct runs *rs);

#endif
