/*
 * child.h: an executor process: spawned in its own process group with the
 * payload written to its stdin and the tail of its stderr kept, both
 * pipes non-blocking in the loop.
 */
#ifndef RUNNER_CHILD_H
#define RUNNER_CHILD_H

#include "runner/log.h"
#include "runner/loop.h"
#include "runner/tail.h"

#include <stddef.h>
#include <sys/types.h>

struct child_spec {
    const char *path;           /* absolute path of the executor */
    const char *cwd;            /* NULL: the runner's own */
    const char *session_name;   /* AGENT_SESSION_NAME */
    char       *payload;        /* malloc'd; the child takes it */
    size_t      payload_len;
};

struct child {
    pid_t             pid;      /* also its process group id */
    int               in_fd;    /* our end of its stdin, -1 once closed */
    struct watch     *in_w;
    char             *payload;
    size_t            payload_len;
    size_t            payload_off;
    int               err_fd;   /* our end of its stderr, -1 once closed */
    struct watch     *err_w;
    struct tail       tail;
    struct loop      *loop;
    const struct log *log;
    const char       *run_id;   /* for log lines; the run's */
};

/*
 * starts the executor; on failure returns -1 with a message for the run's
 * error in err (the payload is freed either way).
 */
int child_spawn(struct child *c, struct loop *lp, const struct log *lg,
                const char *run_id, struct child_spec *spec,
                char *err, size_t errlen);
/* after it was reaped: takes what is left on stderr, closes the pipes */
void child_finish(struct child *c);
/* sig to its process group; -1 with errno on failure */
int child_signal(struct child *c, int sig);

#endif
