/*
 * runsctl: the command-line client of the agent-runs coordinator.
 *
 * main.c: the global options, the subcommand table and dispatch, help,
 * and the process-wide set-up (curl_global_init/cleanup, exactly once).
 */

#include "runsctl/args.h"
#include "runsctl/http.h"
#include "runsctl/runsctl.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct command *const commands[] = {
    &cmd_start, &cmd_resume, &cmd_get, &cmd_list, &cmd_stop, &cmd_wait,
    &cmd_result, &cmd_logs, &cmd_sessions, &cmd_session,
    &cmd_delete_session, &cmd_launchers, &cmd_deregister, &cmd_status,
    &cmd_agents,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
    "Global options (before or after the command):\n"
    "  --url URL    the coordinator; default $" RUNSCTL_URL_ENV ",\n"
    "               else " RUNSCTL_DEFAULT_URL "\n"
    "  --json       print the server's JSON document, unmodified, instead\n"
    "               of a table\n"
    "  -h, --help   show help\n"
    "  --version    show runsctl's version\n"
    "\n"
    "Exit status:\n"
    "  0  success (wait, start --wait, logs -f: the run completed)\n"
    "  1  the server refused the request (its detail is on stderr), or the\n"
    "     run ended failed or stopped, or a local I/O error; status: the\n"
    "     metrics cannot be read\n"
    "  2  usage error: bad command line or input\n"
    "  3  the server cannot be reached, or its answer is not JSON\n"
    "  4  wait --timeout expired before the run ended\n"
    "  5  result: no result yet (the run has none; no run of the session\n"
    "     completed)\n";

/* "runsctl: <message>" and a newline on stderr */
static void __attribute__((format(printf, 1, 0)))
say(const char *fmt, va_list ap)
{
    fputs("runsctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void
ctl_error(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
}

int
ctl_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    say(fmt, ap);
    va_end(ap);
    if (command != NULL) {
        fprintf(stderr, "Try 'runsctl help %s'.\n", command);
    } else {
        fputs("Try 'runsctl help'.\n", stderr);
    }
    return RC_USAGE;
}

static void
usage(FILE *out)
{
    fputs("Usage: runsctl [--url URL] [--json] COMMAND [ARGUMENTS]\n"
          "\n"
          "The command-line client of the agent-runs coordinator.\n"
          "\n"
          "Commands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        fprintf(out, "  %s\n      %s\n", commands[i]->synopsis,
                commands[i]->summary);
    }
    fputs("  help [COMMAND]\n"
          "      this text, or a command's options and examples\n"
          "\n", out);
    fputs(global_help, out);
}

static void
command_help(const struct command *cmd)
{
    fputs(cmd->help, stdout);
    fputs("\n", stdout);
    fputs(global_help, stdout);
}

static const struct command *
find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(commands[i]->name, name) == 0) {
            return commands[i];
        }
    }
    return NULL;
}

/* "runsctl help [COMMAND]" */
static int
help(int argc, char **argv)
{
    const struct command *cmd;

    if (argc <= 0) {
        usage(stdout);
        return RC_OK;
    }
    if (argc > 1) {
        return ctl_usage_error(NULL, "help takes one command name");
    }
    if (strcmp(argv[0], "help") == 0) {
        usage(stdout);
        return RC_OK;
    }
    cmd = find_command(argv[0]);
    if (cmd == NULL) {
        return ctl_usage_error(NULL, "no command '%s'", argv[0]);
    }
    command_help(cmd);
    return RC_OK;
}

/* the subcommand with its parsed arguments, against the server */
static int
run_command(const struct command *cmd, const struct global_opts *g,
            const struct args *a)
{
    struct ctl  ctl = { 0 };
    const char *url;
    CURLcode    crc;
    int         rc;

    url = g->url;
    if (url == NULL) {
        url = getenv(RUNSCTL_URL_ENV);
        if (url == NULL || url[0] == '\0') {
            url = RUNSCTL_DEFAULT_URL;
        }
    }
    ctl.json = g->json;

    crc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (crc != CURLE_OK) {
        ctl_error("curl_global_init: %s", curl_easy_strerror(crc));
        return RC_FAIL;
    }
    rc = http_client_new(url, &ctl.http);
    if (rc == RC_OK) {
        ctl.url = url;
        rc = cmd->run(&ctl, a);
    }
    http_client_free(ctl.http);
    curl_global_cleanup();
    return rc;
}

static int
dispatch(int argc, char **argv)
{
    struct global_opts    g = { 0 };
    struct args           a;
    const struct command *cmd;
    int                   first, rc;

    first = args_leading(argc, argv, &g);
    if (first < 0) {
        return RC_USAGE;
    }
    if (g.version) {
        printf("runsctl %s\n", RUNSCTL_VERSION);
        return RC_OK;
    }
    if (first >= argc) {
        if (g.help) {
            usage(stdout);
            return RC_OK;
        }
        usage(stderr);
        return RC_USAGE;
    }
    if (strcmp(argv[first], "help") == 0) {
        return help(argc - first - 1, argv + first + 1);
    }
    cmd = find_command(argv[first]);
    if (cmd == NULL) {
        return ctl_usage_error(NULL, "no command '%s'", argv[first]);
    }
    if (g.help) {
        command_help(cmd);
        return RC_OK;
    }

    rc = args_parse(cmd, argc - first - 1, argv + first + 1, &a, &g);
    if (rc != RC_OK) {
        return rc;
    }
    if (g.help) {
        command_help(cmd);
        rc = RC_OK;
    } else if (g.version) {
        printf("runsctl %s\n", RUNSCTL_VERSION);
        rc = RC_OK;
    } else if (a.npos < cmd->min_pos) {
        rc = ctl_usage_error(cmd->name, "missing arguments; usage: runsctl %s",
                             cmd->synopsis);
    } else if (a.npos > cmd->max_pos) {
        rc = ctl_usage_error(cmd->name, "%s: unexpected argument '%s'",
                             cmd->name, a.pos[cmd->max_pos]);
    } else {
        rc = run_command(cmd, &g, &a);
    }
    args_free(&a);
    return rc;
}

int
main(int argc, char **argv)
{
    int rc = dispatch(argc, argv);

    /* what was printed must have reached stdout */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        ctl_error("cannot write to stdout: %s", strerror(errno));
        if (rc == RC_OK) {
            rc = RC_FAIL;
        }
    }
    return rc;
}
