/*
 * agent-executor-claude: an agent-runner executor (docs/EXECUTORS.md,
 * contract 1.1) that runs Claude Code's CLI in print mode:
 *
 *   claude -p --output-format stream-json --verbose
 *          --session-id ID (a start) | --resume ID (a resume)
 *          [the flags of the run's agent blueprint]
 *
 * with the prompt on claude's stdin, in the run's project dir.  Claude's
 * progress (its text, each tool call, tool errors, the final stats) goes
 * to stderr as readable lines: the run's log.  The text of its final
 * "result" event goes to stdout: the run's result.  The run fails (exit
 * status 1, the reason in the last line of stderr) when that result is
 * an error, when claude exits non-zero or is killed, or when it ends
 * without a result.  SIGTERM, SIGINT and SIGHUP are passed on to claude;
 * the executor then ends by the same signal.
 *
 * Options and environment: --agents-dir DIR [AGENT_AGENTS_DIR] (default
 * /etc/agent-runner/agents), --claude PATH [CLAUDE_BIN] (default: claude
 * in PATH).  The run's blueprint: its folder there, else the payload's
 * registry "blueprint" (blueprint.h).  AGENT_ORCHESTRATOR_MCP_URL, which agent-runner sets, is
 * given to claude as the MCP server "agent-orchestrator" (mcpconf.h).
 */

#include "blueprint.h"
#include "common/names.h"
#include "command.h"
#include "mcpconf.h"
#include "payload.h"
#include "proc.h"
#include "stream.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_FAILED       1
#define EXIT_BAD_PAYLOAD  2
#define PROGRAM           "agent-executor-claude"

static const char usage_text[] =
"Usage: " PROGRAM " [--agents-dir DIR] [--claude PATH]\n"
"\n"
"An agent-runner executor for Claude Code: reads the run's payload (JSON,\n"
"contract 1.1) on stdin and runs\n"
"  claude -p --output-format stream-json --verbose\n"
"         --session-id SESSION_ID (mode start) | --resume SESSION_ID (mode resume)\n"
"with the prompt on claude's stdin.  Progress lines go to stderr (the run's\n"
"log), the final result to stdout (the run's result).\n"
"\n"
"  --agents-dir DIR   agent blueprints, one folder per agent_name: agent.json,\n"
"                     agent.system-prompt.md, agent.mcp.json, .disabled (the\n"
"                     reference's format) or system-prompt.md, mcp.json;\n"
"                     a folder wins over the payload's registry \"blueprint\"\n"
"                     [AGENT_AGENTS_DIR] (default " AGENTS_DIR_DEFAULT ")\n"
"  --claude PATH      Claude Code's CLI [CLAUDE_BIN] (default: claude in PATH)\n"
"  -h, --help         this text\n"
"\n"
"AGENT_ORCHESTRATOR_MCP_URL (set by agent-runner): the coordinator's MCP\n"
"endpoint, given to claude with --mcp-config as the MCP server\n"
"\"" MCPCONF_SERVER "\" (with the blueprint's MCP servers, in a\n"
"temporary file), unless the blueprint has a server with that URL or a\n"
"name beginning with \"" MCPCONF_SERVER "\".  In the blueprint's servers\n"
"${AGENT_SESSION_NAME}, ${AGENT_SESSION_ID}, ${AGENT_ORCHESTRATOR_API_URL},\n"
"${NAME} (the environment) and ${NAME:-default} are replaced; an unset\n"
"${NAME} fails the run.\n"
"\n"
"Exit status: 0 the run completed; 1 it failed (the reason on stderr);\n"
"2 a bad payload or usage; killed by SIGTERM/SIGINT/SIGHUP when stopped.\n";

struct run {
    struct payload   p;
    struct blueprint bp;
    bool             has_bp;
    struct command   cmd;
    struct stream    st;
    struct mcpconf   mcp;
    char            *agents_dir;
};

static void
run_free(struct run *r)
{
    payload_free(&r->p);
    if (r->has_bp) {
        blueprint_free(&r->bp);
    }
    command_free(&r->cmd);
    stream_free(&r->st);
    mcpconf_free(&r->mcp);
    free(r->agents_dir);
}

static int
fail(struct run *r, int code, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, PROGRAM ": ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    run_free(r);
    return code;
}

/* dir made absolute against the current directory (before any chdir) */
static char *
absolute_dir(const char *dir)
{
    char  cwd[PATH_MAX];
    char *out;

    if (dir[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL) {
        return strdup(dir);
    }
    if (asprintf(&out, "%s/%s", cwd, dir) < 0) {
        return NULL;
    }
    return out;
}

/*
 * claude's MCP configuration: the blueprint's and the coordinator's
 * server (AGENT_ORCHESTRATOR_MCP_URL), for this session; said in the log
 */
static int
mcp_setup(struct run *r, char *err, size_t errsize)
{
    const char *url = getenv("AGENT_ORCHESTRATOR_MCP_URL");
    const char *session = getenv("AGENT_SESSION_NAME");

    if (session == NULL || session[0] == '\0') {
        session = r->p.session_name;        /* run by hand */
    }
    const struct mcpvars vars = {
        .session_name = r->p.session_name,
        .session_id = r->p.session_id,
        .api_url = getenv("AGENT_ORCHESTRATOR_API_URL"),
    };

    if (mcpconf_make(&r->mcp, r->p.agent_name, r->has_bp ? r->bp.mcp : NULL,
                     r->has_bp ? r->bp.mcp_from : NULL, url, session, &vars,
                     err, errsize) != 0)
    {
        return -1;
    }
    if (r->mcp.replaced > 0) {
        fprintf(stderr, PROGRAM ": %u placeholder%s replaced in the MCP servers of %s\n",
                r->mcp.replaced, r->mcp.replaced == 1 ? "" : "s", r->bp.mcp_from);
    }
    if (r->mcp.added) {
        fprintf(stderr, PROGRAM ": MCP server \"" MCPCONF_SERVER "\" for claude: %s "
                "(as session %s)\n", url, session);
    } else if (r->mcp.own != NULL) {
        fprintf(stderr, PROGRAM ": MCP server \"%s\" of the blueprint reaches the "
                "coordinator: \"" MCPCONF_SERVER "\" not added\n", r->mcp.own);
    }
    return 0;
}

static void
on_line(void *arg, const char *line, size_t len)
{
    stream_line(arg, line, len);
}

/*
 * Claude Code keeps its sessions per directory on its host, under the
 * coordinator's session_id.  A session whose runs all failed may be
 * started again with the same id: when an earlier start got as far as
 * making the Claude session, claude refuses the id ("Session ID ... is
 * already in use.", nothing else done), and the start is run again as a
 * resume of it.  True when that happened.
 */
static bool
start_taken(struct run *r, int status, const char *head)
{
    return !r->p.resume && r->p.session_id != NULL && r->st.session_id == NULL
           && WIFEXITED(status) && WEXITSTATUS(status) != 0
           && strstr(head, "is already in use") != NULL;
}

/* a resume of a session claude does not have here */
static bool
resume_unknown(struct run *r, const char *head)
{
    return r->p.resume && r->st.session_id == NULL
           && strstr(head, "No conversation found") != NULL;
}

/* stopped: end by the signal that stopped us, as an unhandled one would */
static int
stopped(struct run *r, int sig, int status)
{
    char name[32], how[64];

    if (WIFSIGNALED(status)) {
        signal_name(WTERMSIG(status), how, sizeof(how));
    } else {
        snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(status));
    }
    fprintf(stderr, PROGRAM ": stopped by %s (claude ended: %s)\n",
            signal_name(sig, name, sizeof(name)), how);
    run_free(r);
    fflush(NULL);
    signal(sig, SIG_DFL);
    raise(sig);
    return 128 + sig;
}

/* how claude's run ended: the result on stdout, or the reason it failed */
static int
finish(struct run *r, int status, const char *head)
{
    char sig[32];

    if (proc_stop_signal() != 0) {
        return stopped(r, proc_stop_signal(), status);
    }
    if (resume_unknown(r, head)) {
        return fail(r, EXIT_FAILED, "Claude Code has no session %s in this directory on "
                    "this host: no earlier run of it got that far here. Start the session "
                    "again, or run its resumes where it was started%s", r->p.session_id, "");
    }
    if (WIFSIGNALED(status)) {
        return fail(r, EXIT_FAILED, "claude was killed by %s%s",
                    signal_name(WTERMSIG(status), sig, sizeof(sig)),
                    r->st.got_result ? "" : " before its result");
    }
    /* an error result says more than claude's exit status */
    if (r->st.got_result && !r->st.result_ok) {
        char turns[64], kind[80] = "";

        snprintf(turns, sizeof(turns), " after %ld turn%s", r->st.num_turns,
                 r->st.num_turns == 1 ? "" : "s");
        /* the subtype when it says more than is_error does */
        if (r->st.subtype != NULL && strcmp(r->st.subtype, "success") != 0) {
            snprintf(kind, sizeof(kind), " (%.64s)", r->st.subtype);
        }
        fprintf(stderr, PROGRAM ": claude's result is an error%s%s%s%.1500s\n", kind,
                turns, r->st.result ? ": " : "", r->st.result ? r->st.result : "");
        run_free(r);
        return EXIT_FAILED;
    }
    if (WEXITSTATUS(status) != 0) {
        snprintf(sig, sizeof(sig), "%d", WEXITSTATUS(status));
        return fail(r, EXIT_FAILED, "claude exited with status %s%s", sig,
                    r->st.got_result ? "" : " without a result");
    }
    if (!r->st.got_result) {
        return fail(r, EXIT_FAILED, "claude ended without a result%s%s",
                    r->st.skipped ? " (it wrote lines that were not JSON: is it "
                    "Claude Code's CLI?)" : "", "");
    }
    if (r->st.result != NULL) {
        fwrite(r->st.result, 1, r->st.result_len, stdout);
        if (r->st.result_len == 0 || r->st.result[r->st.result_len - 1] != '\n') {
            fputc('\n', stdout);
        }
    }
    if (fflush(stdout) != 0) {
        return fail(r, EXIT_FAILED, "writing the result: %s%s", strerror(errno), "");
    }
    run_free(r);
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "agents-dir", required_argument, NULL, 'a' },
        { "claude",     required_argument, NULL, 'c' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    struct run  r;
    const char *agents_dir = getenv("AGENT_AGENTS_DIR");
    const char *claude = getenv("CLAUDE_BIN");
    char        err[2048], head[4096];
    int         c, status = 0, attempt;

    memset(&r, 0, sizeof(r));
    setvbuf(stderr, NULL, _IOLBF, 0);   /* whole lines: claude writes there too */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': agents_dir = optarg; break;
        case 'c': claude = optarg; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default:
            fprintf(stderr, "Try '" PROGRAM " --help'.\n");
            return EXIT_BAD_PAYLOAD;
        }
    }
    if (optind < argc) {
        return fail(&r, EXIT_BAD_PAYLOAD, "unexpected argument '%s'%s", argv[optind], "");
    }
    if (agents_dir == NULL || agents_dir[0] == '\0') {
        agents_dir = AGENTS_DIR_DEFAULT;
    }
    if (claude == NULL || claude[0] == '\0') {
        claude = "claude";
    }
    r.agents_dir = absolute_dir(agents_dir);
    if (r.agents_dir == NULL) {
        return fail(&r, EXIT_FAILED, "out of memory%s%s", "", "");
    }
    if (proc_signals() != 0) {
        return fail(&r, EXIT_FAILED, "sigaction: %s%s", strerror(errno), "");
    }

    if (payload_read(&r.p, err, sizeof(err)) != 0) {
        return fail(&r, EXIT_BAD_PAYLOAD, "%s%s", err, "");
    }
    /* agent-runner starts us there already; by hand, this does it */
    if (r.p.project_dir != NULL && chdir(r.p.project_dir) != 0) {
        return fail(&r, EXIT_FAILED, "project dir %s is not usable: %s", r.p.project_dir,
                    strerror(errno));
    }
    if (r.p.agent_name != NULL) {
        if (blueprint_load(r.agents_dir, r.p.agent_name, r.p.blueprint, &r.bp, err,
                           sizeof(err)) != 0)
        {
            r.has_bp = true;
            return fail(&r, EXIT_FAILED, "%s%s", err, "");
        }
        r.has_bp = true;
        if (r.bp.dir != NULL) {
            fprintf(stderr, PROGRAM ": agent \"%s\": the blueprint of its folder %s%s\n",
                    r.p.agent_name, r.bp.dir, r.p.blueprint != NULL
                    ? " (on this host, it wins over the coordinator's)" : "");
        } else {
            fprintf(stderr, PROGRAM ": agent \"%s\": the coordinator's blueprint (no "
                    "folder in %s)\n", r.p.agent_name, r.agents_dir);
        }
    }
    if (mcp_setup(&r, err, sizeof(err)) != 0) {
        return fail(&r, EXIT_FAILED, "%s%s", err, "");
    }
    for (attempt = 0; /* void */; attempt++) {
        if (command_build(&r.cmd, claude, &r.p, r.has_bp ? &r.bp : NULL, r.mcp.path,
                          err, sizeof(err)) != 0)
        {
            return fail(&r, EXIT_FAILED, "%s%s", err, "");
        }
        fprintf(stderr, PROGRAM ": %s session %s%s%s%s with %s\n",
                r.p.resume ? "resuming" : "starting",
                r.p.session_id ? r.p.session_id : "(new)",
                r.p.agent_name ? " as agent \"" : "", r.p.agent_name ? r.p.agent_name : "",
                r.p.agent_name ? "\"" : "", claude);
        if (proc_stop_signal() != 0) {
            return stopped(&r, proc_stop_signal(), 0);
        }

        stream_init(&r.st, stderr);
        if (proc_run(r.cmd.argv, r.p.prompt, r.p.prompt_len, on_line, &r.st, &status,
                     head, sizeof(head), err, sizeof(err)) != 0)
        {
            if (proc_stop_signal() != 0) {
                return stopped(&r, proc_stop_signal(), 0);
            }
            return fail(&r, EXIT_FAILED, "%s%s", err,
                        strchr(claude, '/') ? " (check CLAUDE_BIN or --claude)"
                        : " (install Claude Code: npm install -g @anthropic-ai/claude-code, "
                          "or set CLAUDE_BIN)");
        }
        if (attempt > 0 || proc_stop_signal() != 0 || !start_taken(&r, status, head)) {
            break;
        }
        fprintf(stderr, PROGRAM ": Claude Code already has session %s (an earlier "
                "start of it got that far): resuming it\n", r.p.session_id);
        command_free(&r.cmd);
        stream_free(&r.st);
        r.p.resume = true;
    }
    fflush(stderr);
    return finish(&r, status, head);
}
