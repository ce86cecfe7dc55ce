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

/* cmd_wait.c: wait for run_id to end (timeout < 0: no limit) through
   GET /runs/{id}?wait=N, print the run as it is then, and return RC_OK
   (completed), RC_FAIL (failed or stopped, the reason on stderr),
   RC_TIMEOUT (still going after timeout seconds), or the error of a
   request that failed */
int wait_run(struct ctl *ctl, const char *run_id, double timeout);

/* cmd_wait.c: a --timeout value: seconds, a number >= 0 (fractions
   allowed); RC_OK or RC_USAGE (reported, naming the command) */
int parse_seconds(const char *command, const char *text, double *out);

#endif
