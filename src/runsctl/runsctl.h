/*
 * runsctl: the command-line client of the agent-runs coordinator.
 *
 * Shared declarations: exit codes, the per-invocation context, the
 * parsed command line and the subcommand table entries.
 */

#ifndef RUNSCTL_H
#define RUNSCTL_H

#include <stddef.h>

#define RUNSCTL_VERSION      "0.1.0"
#define RUNSCTL_DEFAULT_URL  "http://localhost:8765"
#define RUNSCTL_URL_ENV      "AGENT_ORCHESTRATOR_API_URL"

/* exit codes, the same for every subcommand (docs/RUNSCTL.md) */
enum {
    RC_OK = 0,            /* success; wait: the run completed */
    RC_FAIL = 1,          /* the server refused the request, the run ended
                             failed or stopped, or a local I/O error */
    RC_USAGE = 2,         /* bad command line or bad input */
    RC_UNREACHABLE = 3,   /* no answer from the server, or not its JSON */
    RC_TIMEOUT = 4,       /* wait --timeout expired before the run ended */
    RC_NO_RESULT = 5      /* result: the run (or session) has no result yet */
};

struct http_client;

/* everything one invocation knows; created in main(), passed down */
struct ctl {
    const char         *url;      /* base URL, no trailing '/' */
    int                 json;     /* --json: print the server's JSON */
    struct http_client *http;
};

/* an option a subcommand accepts (the global ones are implicit) */
struct opt_spec {
    const char *name;             /* long name, without "--" */
    int         has_arg;
    char        short_name;       /* '-x' too, or 0 */
};

#define ARGS_MAX_OPTS 12

/* one option as it was given */
struct opt_given {
    size_t       opt;                     /* its index in the command's opts */
    const char  *value;
};

/* a parsed subcommand line */
struct args {
    const char  *value[ARGS_MAX_OPTS];   /* argument (the last one given),
                                            or "" for flags */
    int          given[ARGS_MAX_OPTS];
    char       **pos;                     /* positional arguments */
    size_t       npos;
    struct opt_given *all;               /* every option given, in order: a
                                            repeated one each time */
    size_t       nall;
};

struct command {
    const char            *name;
    const char            *synopsis;     /* "start SESSION PROMPT [...]" */
    const char            *summary;      /* what it does, one line */
    const char            *help;         /* full help text */
    const struct opt_spec *opts;
    size_t                 nopts;
    size_t                 min_pos;
    size_t                 max_pos;
    int                  (*run)(struct ctl *ctl, const struct args *a);
};

/* cmd_start.c */
extern const struct command cmd_start;
extern const struct command cmd_resume;

/* cmd_runs.c */
extern const struct command cmd_get;
extern const struct command cmd_list;
extern const struct command cmd_stop;

/* cmd_wait.c */
extern const struct command cmd_wait;

/* cmd_result.c */
extern const struct command cmd_result;

/* cmd_logs.c */
extern const struct command cmd_logs;

/* cmd_sessions.c */
extern const struct command cmd_sessions;
extern const struct command cmd_session;
extern const struct command cmd_delete_session;

/* cmd_launchers.c */
extern const struct command cmd_launchers;
extern const struct command cmd_deregister;

/* cmd_agents.c */
extern const struct command cmd_agents;

/* cmd_status.c */
extern const struct command cmd_status;

/* main.c: "runsctl: <message>" on stderr */
void ctl_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* main.c: a usage error: the message and a hint to the command's help */
int ctl_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
