/*
 * child.h: an executor process: spawned in its own process group with the
 * payload written to its stdin, the tail of its stderr kept (and every
 * byte of it handed to a sink: the run's log), its stdout kept up to a
 * cap (the result), the pipes non-blocking in the loop.
 */
#ifndef RUNNER_CHILD_H
#define RUNNER_CHILD_H

#include "runner/log.h"
#include "runner/loop.h"
#include "runner/tail.h"
#include "common/buf.h"

#include <stdbool.h>

#include <stddef.h>
#include <sys/types.h>

/* a variable of the executor's environment: set to value, or removed
   from what it inherits when value is NULL */
struct child_env {
    const char *name;
    const char *value;
};

/* what the executor wrote to stderr, as it comes */
typedef void child_sink_fn(void *arg, const char *data, size_t n);

struct child_spec {
    const char             *path;       /* absolute path of the executor */
    const char             *cwd;        /* NULL: the runner's own */
    const struct child_env *env;        /* over the runner's environment */
    size_t                  nenv;
    char                   *payload;    /* malloc'd; the child takes it */
    size_t                  payload_len;
    size_t                  out_max;    /* stdout kept (the result), bytes */
    child_sink_fn          *err_sink;   /* NULL: none */
    void                   *err_arg;
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
    int               out_fd;   /* our end of its stdout, -1 once closed */
    struct watch     *out_w;
    struct buf        out;      /* its stdout: the result, capped */
    bool              out_cut;  /* it wrote more than the cap */
    struct tail       tail;
    child_sink_fn    *err_sink;
    void             *err_arg;
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
/* after it was reaped: takes what is left on stderr and stdout, closes
   the pipes (c->out stays until child_free_out) */
void child_finish(struct child *c);
/* frees what was kept of its stdout */
void child_free_out(struct child *c);
/* sig to its process group; -1 with errno on failure */
int child_signal(struct child *c, int sig);

#endif
