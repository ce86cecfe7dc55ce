/*
 * proc.h: claude as a child process: started with the prompt on its
 * stdin, its stdout read line by line, its end waited for, and the stop
 * signals this executor gets passed on to it.
 *
 * claude stays in the executor's process group (the runner's stop
 * signals and its SIGKILL after the grace reach it and everything it
 * starts); what it writes to its stderr is passed on to the executor's
 * own (the run's log) as it comes.
 */
#ifndef CLAUDE_PROC_H
#define CLAUDE_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef void proc_line_fn(void *arg, const char *line, size_t len);

/*
 * SIGTERM, SIGINT and SIGHUP handled from now on: the first of each is
 * passed on (to the executor's process group when it leads one, as under
 * agent-runner, else to claude), and remembered (proc_stop_signal()).
 */
int proc_signals(void);

/* the first stop signal received, 0 when none */
int proc_stop_signal(void);

/*
 * runs argv (argv[0] looked up in PATH when it has no '/'), writes
 * prompt to its stdin, calls on_line for each line of its stdout, passes
 * its stderr on to ours keeping the first head_size - 1 bytes in head
 * (NUL-terminated), and waits for it: *status as waitpid() gives it.  0,
 * or -1 when it could not be started or waited for (err says why).
 */
int proc_run(char *const *argv, const char *prompt, size_t prompt_len,
             proc_line_fn *on_line, void *arg, int *status, char *head,
             size_t head_size, char *err, size_t errsize);

#endif
