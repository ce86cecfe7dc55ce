/*
 * cmd_start.c: start and resume: a run from the command line, the prompt
 * maybe from stdin, then maybe waiting for it.
 */

#include "runsctl/api.h"
#include "runsctl/cmd.h"
#include "runsctl/jsonx.h"

#include "common/jsonobj.h"
#include "common/tags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { O_AGENT, O_PROJECT_DIR, O_PARENT, O_CALLBACK, O_WAIT, O_TIMEOUT,
       O_TAG, O_HOST, O_DEMAND_DIR, O_EXECUTOR_TYPE, O_NO_AFFINITY,
       O_CREATE_N };

/* the variable every executor has: the session of the run it executes */
#define SESSION_NAME_ENV "AGENT_SESSION_NAME"

static const struct opt_spec create_opts[O_CREATE_N] = {
    [O_AGENT] = { "agent", 1 },
    [O_PROJECT_DIR] = { "project-dir", 1 },
    [O_PARENT] = { "parent", 1 },
    [O_CALLBACK] = { "callback", 0 },
    [O_WAIT] = { "wait", 0 },
    [O_TIMEOUT] = { "timeout", 1 },
    [O_TAG] = { "tag", 1 },
    [O_HOST] = { "host", 1 },
    [O_DEMAND_DIR] = { "demand-project-dir", 1 },
    [O_EXECUTOR_TYPE] = { "executor-type", 1 },
    [O_NO_AFFINITY] = { "no-affinity", 0 },
};

/* all of stdin, in *buf (to free()) and *len */
static int
read_stdin(char **buf, size_t *len)
{
    size_t  cap = 0, n = 0, got;
    char   *b = NULL, *p;

    for ( ;; ) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            p = realloc(b, cap);
            if (p == NULL) {
                free(b);
                ctl_error("out of memory reading the prompt from stdin");
                return RC_FAIL;
            }
            b = p;
        }
        got = fread(b + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(stdin)) {
        ctl_error("cannot read the prompt from stdin: %s", strerror(errno));
        free(b);
        return RC_FAIL;
    }
    *buf = b;
    *len = n;
    return RC_OK;
}

/* dir made absolute: realpath() when it exists, else joined to the
   current directory */
static int
absolute_dir(const char *command, const char *dir, char **out)
{
    char *cwd, *joined;

    *out = NULL;
    if (dir[0] == '\0') {
        return ctl_usage_error(command, "--project-dir is empty");
    }
    if (dir[0] == '/') {
        *out = strdup(dir);
    } else {
        *out = realpath(dir, NULL);
        if (*out != NULL) {
            return RC_OK;
        }
        cwd = getcwd(NULL, 0);
        if (cwd == NULL) {
            ctl_error("--project-dir %s: cannot get the current directory: %s",
                      dir, strerror(errno));
            return RC_FAIL;
        }
        while (dir[0] == '.' && dir[1] == '/') {
            dir += 2;
        }
        if (asprintf(&joined, "%s%s%s", cwd,
                     strcmp(cwd, "/") == 0 ? "" : "/", dir) < 0)
        {
            joined = NULL;
        }
        free(cwd);
        *out = joined;
    }
    if (*out == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    return RC_OK;
}

/* the parent session: --parent, or with --callback the session whose
   executor runs us ($AGENT_SESSION_NAME); NULL for none */
static int
parent_session(const struct command *cmd, const struct args *a,
               const char **parent)
{
    const char *env;

    *parent = a->given[O_PARENT] ? a->value[O_PARENT] : NULL;
    if (*parent != NULL && (*parent)[0] == '\0') {
        return ctl_usage_error(cmd->name, "--parent is empty");
    }
    if (!a->given[O_CALLBACK]) {
        return RC_OK;
    }
    env = getenv(SESSION_NAME_ENV);
    if (env == NULL || env[0] == '\0') {
        return ctl_usage_error(cmd->name, "--callback: %s is not set (it is "
                               "set for an agent's executor); name the "
                               "parent with --parent SESSION", SESSION_NAME_ENV);
    }
    if (*parent != NULL && strcmp(*parent, env) != 0) {
        return ctl_usage_error(cmd->name, "--parent %s and --callback (%s=%s) "
                               "name different parents", *parent,
                               SESSION_NAME_ENV, env);
    }
    *parent = env;
    return RC_OK;
}

/* demands[key] from option k when given: a non-empty string; RC_OK,
   RC_USAGE or RC_FAIL (reported) */
static int
demand_string(const struct command *cmd, const struct args *a, size_t k,
              json_t *demands, const char *key)
{
    const char *v = a->value[k];
    char        what[40];

    if (!a->given[k]) {
        return RC_OK;
    }
    snprintf(what, sizeof(what), "--%s", create_opts[k].name);
    if (v[0] == '\0') {
        return ctl_usage_error(cmd->name, "%s is empty", what);
    }
    if (k == O_DEMAND_DIR && v[0] != '/') {
        return ctl_usage_error(cmd->name, "%s %s: not an absolute path (the "
                               "--project-dir a runner registered with)",
                               what, v);
    }
    return jsonx_set_string(demands, key, v, strlen(v), what);
}

/*
 * body["demands"] from --tag, --host, --demand-project-dir and
 * --executor-type, when any is given, and "affinity": false for
 * --no-affinity; RC_OK, RC_USAGE or RC_FAIL (reported)
 */
static int
add_demands(const struct command *cmd, const struct args *a, json_t *body)
{
    struct tags  tags = { .n = 0 };
    json_t      *d;
    char         why[200];
    int          rc = RC_OK;

    if (a->given[O_NO_AFFINITY]
        && json_object_set_new(body, "affinity", json_false()) != 0)
    {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    if (!a->given[O_TAG] && !a->given[O_HOST] && !a->given[O_DEMAND_DIR]
        && !a->given[O_EXECUTOR_TYPE])
    {
        return RC_OK;
    }
    for (size_t i = 0; i < a->nall; i++) {
        if (a->all[i].opt == O_TAG
            && tags_add(&tags, a->all[i].value, why, sizeof(why)) != 0)
        {
            tags_free(&tags);
            return ctl_usage_error(cmd->name, "--tag: %s", why);
        }
    }
    d = json_object();
    if (d == NULL || json_object_set_new(body, "demands", d) != 0
        || (tags.n > 0 && json_object_set_new(d, "tags", tags_json(&tags)) != 0))
    {
        ctl_error("out of memory");
        rc = RC_FAIL;
    }
    tags_free(&tags);
    if (rc == RC_OK) {
        rc = demand_string(cmd, a, O_HOST, d, "hostname");
    }
    if (rc == RC_OK) {
        rc = demand_string(cmd, a, O_DEMAND_DIR, d, "project_dir");
    }
    if (rc == RC_OK) {
        rc = demand_string(cmd, a, O_EXECUTOR_TYPE, d, "executor_type");
    }
    return rc;
}

/* the POST /runs body from the command line */
static int
create_body(const struct command *cmd, const struct args *a,
            const char *type, const char *parent, json_t **out)
{
    json_t     *body;
    char       *prompt_buf = NULL, *dir = NULL;
    const char *prompt = a->pos[1];
    size_t      prompt_len = strlen(prompt);
    int         rc;

    *out = NULL;
    body = json_object();
    if (body == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    rc = jsonx_set_string(body, "type", type, strlen(type), "type");
    if (rc == RC_OK) {
        rc = jsonx_set_string(body, "session_name", a->pos[0],
                              strlen(a->pos[0]), "SESSION");
    }
    if (rc == RC_OK && strcmp(prompt, "-") == 0) {
        rc = read_stdin(&prompt_buf, &prompt_len);
        prompt = prompt_buf;
    }
    if (rc == RC_OK) {
        rc = jsonx_set_string(body, "prompt", prompt, prompt_len, "PROMPT");
    }
    if (rc == RC_OK && a->given[O_AGENT]) {
        rc = jsonx_set_string(body, "agent_name", a->value[O_AGENT],
                              strlen(a->value[O_AGENT]), "--agent");
    }
    if (rc == RC_OK && parent != NULL) {
        rc = jsonx_set_string(body, "parent_session_name", parent,
                              strlen(parent),
                              a->given[O_PARENT] ? "--parent" : SESSION_NAME_ENV);
    }
    if (rc == RC_OK && a->given[O_PROJECT_DIR]) {
        rc = absolute_dir(cmd->name, a->value[O_PROJECT_DIR], &dir);
        if (rc == RC_OK) {
            rc = jsonx_set_string(body, "project_dir", dir, strlen(dir),
                                  "--project-dir");
        }
    }
    if (rc == RC_OK) {
        rc = add_demands(cmd, a, body);
    }
    free(prompt_buf);
    free(dir);
    if (rc != RC_OK) {
        json_decref(body);
        return rc;
    }
    *out = body;
    return RC_OK;
}

static int
create_run(const struct command *cmd, struct ctl *ctl, const struct args *a,
           const char *type)
{
    struct http_response  res;
    json_t               *body, *obj;
    const char           *run_id, *status;
    double                timeout = -1;
    const char           *parent;
    char                 *id = NULL;
    int                   rc;

    if (a->given[O_TIMEOUT]) {
        if (!a->given[O_WAIT]) {
            return ctl_usage_error(cmd->name, "--timeout needs --wait");
        }
        rc = parse_seconds(cmd->name, a->value[O_TIMEOUT], &timeout);
        if (rc != RC_OK) {
            return rc;
        }
    }
    rc = parent_session(cmd, a, &parent);
    if (rc != RC_OK) {
        return rc;
    }
    rc = create_body(cmd, a, type, parent, &body);
    if (rc != RC_OK) {
        return rc;
    }
    rc = api_call(ctl, "POST", "/runs", body, API_TIMEOUT_MS, &res, &obj);
    json_decref(body);
    if (rc != RC_OK) {
        return rc;
    }

    run_id = jsonobj_string(obj, "run_id");
    status = jsonobj_string(obj, "status");
    if (run_id == NULL) {
        ctl_error("POST /runs: the answer has no run_id: is %s the "
                  "coordinator?", ctl->url);
        rc = RC_UNREACHABLE;
    } else if (!a->given[O_WAIT] && ctl->json) {
        rc = api_print_json(&res);
    } else if (!ctl->json) {
        /* with --wait too: the id at once, for a stop from elsewhere, on
           stderr then, since stdout gets the answer */
        FILE *fp = a->given[O_WAIT] ? stderr : stdout;

        if (fprintf(fp, "%s %s\n", run_id, status ? status : "-") < 0
            || fflush(fp) != 0)
        {
            ctl_error("cannot write the run's id");
            rc = RC_FAIL;
        }
    }
    if (rc == RC_OK && a->given[O_WAIT]) {
        id = strdup(run_id);
        if (id == NULL) {
            ctl_error("out of memory");
            rc = RC_FAIL;
        }
    }
    json_decref(obj);
    http_response_free(&res);

    if (id != NULL) {
        rc = wait_run(ctl, id, timeout);
        free(id);
    }
    return rc;
}

static int
run_start(struct ctl *ctl, const struct args *a)
{
    return create_run(&cmd_start, ctl, a, "start_session");
}

static int
run_resume(struct ctl *ctl, const struct args *a)
{
    return create_run(&cmd_resume, ctl, a, "resume_session");
}

#define CREATE_OPTIONS_HELP                                                  \
    "  --agent NAME        the agent to run (agent_name)\n"                  \
    "  --project-dir DIR   the directory the agent works in; a relative\n"   \
    "                      DIR is made absolute here before it is sent\n"    \
    "  --parent SESSION    the parent: when a run of this session ends, the\n" \
    "                      coordinator resumes SESSION with its result\n"  \
    "                      (docs/CALLBACKS.md)\n"                          \
    "  --callback          the parent is $AGENT_SESSION_NAME: the session\n" \
    "                      whose agent runs this command (set for every\n"  \
    "                      executor), so its agent hears back\n"           \
    "  --wait              wait until the run ends, print its result (the\n" \
    "                      agent's answer) on stdout and the run on\n"      \
    "                      stderr, and exit 0 if it completed, 1 if it\n"   \
    "                      failed or was stopped\n"                          \
    "  --timeout S         with --wait: give up after S seconds (exit 4)\n"  \
    "\n"                                                                   \
    "Where it runs (\"demands\"; a run goes only to a runner that offers\n" \
    "every one it demands):\n"                                            \
    "  --tag NAME          a runner with this tag (agent-runner --tag);\n"  \
    "                      repeatable, or NAME,NAME...\n"                  \
    "  --host NAME         the runner registered with this hostname\n"    \
    "  --demand-project-dir DIR\n"                                         \
    "                      a runner registered with --project-dir DIR\n"  \
    "                      (absolute, sent as it is)\n"                    \
    "  --executor-type NAME\n"                                             \
    "                      a runner with this executor type\n"           \
    "  --no-affinity       a resume may run on any host (by default it goes\n" \
    "                      to the host that ran its session's first run)\n" \
    "\n"                                                                   \
    "A run that no registered runner can take stays pending: 'runsctl list'\n" \
    "and 'runsctl get' say what it waits for; after the coordinator's\n"   \
    "runs_demand_timeout it fails, its error naming what was missing.\n"

const struct command cmd_start = {
    .name = "start",
    .synopsis = "start SESSION PROMPT [--agent NAME] [--project-dir DIR] [--callback] [--tag T] [...]",
    .summary = "start a session: create its first run",
    .help =
        "Usage: runsctl start SESSION PROMPT [options]\n"
        "\n"
        "Start the session SESSION with a run of type start_session.\n"
        "PROMPT '-' reads the prompt from stdin, byte for byte (UTF-8, any\n"
        "number of lines).  A PROMPT that starts with '-' goes after '--'.\n"
        "Prints the new run's id and status (\"run_3f9a0c1b2d4e pending\"),\n"
        "or with --json the server's answer.  With --wait, the id and status\n"
        "go to stderr at once, then the run as it ended to stderr and its\n"
        "result to stdout, so that answer=$(runsctl start s 'q' --wait) is\n"
        "the agent's answer (with --json: only the final run, on stdout).\n"
        "\n"
        "Options:\n"
        CREATE_OPTIONS_HELP
        "\n"
        "Examples:\n"
        "  runsctl start fix-login 'Fix the login bug' --agent coder \\\n"
        "      --project-dir ./app\n"
        "  git diff | runsctl start review - --wait --timeout 600\n"
        "  # in an agent's shell: a sub-agent that reports back\n"
        "  runsctl start review-pr-42 'Review the diff' --callback\n"
        "  # from anywhere: the same, the parent named\n"
        "  runsctl start review-pr-42 'Review the diff' --parent fix-login\n"
        "  # on a runner started with --tag gpu, on host gpu-box-1\n"
        "  runsctl start train 'Train the model' --tag gpu --host gpu-box-1\n",
    .opts = create_opts,
    .nopts = O_CREATE_N,
    .min_pos = 2,
    .max_pos = 2,
    .run = run_start,
};

const struct command cmd_resume = {
    .name = "resume",
    .synopsis = "resume SESSION PROMPT [--agent NAME] [--project-dir DIR] [--no-affinity] [...]",
    .summary = "continue a session with a new prompt",
    .help =
        "Usage: runsctl resume SESSION PROMPT [options]\n"
        "\n"
        "Create a run of type resume_session for an existing SESSION.  The\n"
        "run inherits the agent and project directory of the session's\n"
        "start run unless given here.  It runs on the host that ran the\n"
        "session's first run, unless --host or --no-affinity says otherwise.\n"
        "PROMPT '-' reads stdin.  Output and --wait as for 'runsctl start'.\n"
        "\n"
        "Options:\n"
        CREATE_OPTIONS_HELP
        "\n"
        "Examples:\n"
        "  runsctl resume fix-login 'Now add a test'\n"
        "  runsctl resume fix-login - --wait < next-step.txt\n"
        "  # the host of the session's first run is gone: anywhere else\n"
        "  runsctl resume fix-login 'Go on' --no-affinity\n",
    .opts = create_opts,
    .nopts = O_CREATE_N,
    .min_pos = 2,
    .max_pos = 2,
    .run = run_resume,
};
