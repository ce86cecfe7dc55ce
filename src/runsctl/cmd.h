/*
 * Helpers the subcommand files share.
 */

#ifndef RUNSCTL_CMD_H
#define RUNSCTL_CMD_H

#include "runsctl/http.h"
#include "runsctl/runsctl.h"

#include <jansson.h>
#include <stdio.h>

/* cmd_runs.c: one run: the server's JSON (--json) or "key: value" lines */
int print_run(const struct ctl *ctl, const struct http_response *res,
              const json_t *run);
/* the same, "key: value" lines to fp (--json: the server's JSON to stdout) */
int print_run_to(const struct ctl *ctl, const struct http_response *res,
                 const json_t *run, FILE *fp);
/* the run's result, byte for byte, on stdout (nothing when null) */
int print_result(const json_t *run);
/* runs as the list's table on stdout; with_session 0: no SESSION column */
int print_runs_table(const json_t *runs, int with_session);
/* METHOD /runs/RUN_ID + suffix, without a body, the id checked first
   (naming command): api_call()'s outcome */
int run_call(struct ctl *ctl, const char *command, const char *method,
             const char *run_id, const char *suffix, struct http_response *res,
             json_t **obj);

/* cmd_sessions.c: the session_id of the session called name (GET
   /sessions/by-name/NAME), in a string to free(); RC_OK, or the failed
   request's code (reported; "Session not found" is an HTTP 404) or
   RC_USAGE for a name that is not one (reported, naming command) */
int session_id_of(struct ctl *ctl, const char *command, const char *name,
                  char **id);
/* cmd_sessions.c: stop --session NAME */
int stop_session(struct ctl *ctl, const char *name);

/* cmd_wait.c: wait for run_id to end (timeout < 0: no limit) through
   GET /runs/{id}?wait=N, print the run as it is then, and return RC_OK
   (completed), RC_FAIL (failed or stopped, the reason on stderr),
   RC_TIMEOUT (still going after timeout seconds), or the error of a
   request that failed */
int wait_run(struct ctl *ctl, const char *run_id, double timeout);

/* cmd_wait.c: is status one a run ends in (completed, failed, stopped)? */
int run_is_terminal(const char *status);

/* cmd_wait.c: the exit status of a run that ended as status, saying on
   stderr why it is not RC_OK ("runsctl: run ID failed: <its error>");
   run: the run object (for the error), or NULL */
int run_end_status(const char *run_id, const json_t *run, const char *status);

/* cmd_wait.c: seconds on the monotonic clock; sleeping (EINTR resumed) */
int clock_now(double *t);
int clock_nap(double seconds);

/* cmd_wait.c: a --timeout value: seconds, a number >= 0 (fractions
   allowed); RC_OK or RC_USAGE (reported, naming the command) */
int parse_seconds(const char *command, const char *text, double *out);

#endif
