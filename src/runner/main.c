/*
 * main.c: agent-runner's command line and environment, then the loop.
 */

#include "runner/runner.h"

#include "common/names.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_URL            "http://localhost:8765"
#define DEFAULT_EXECUTOR_NAME  "agent-executor-echo"
#define DEFAULT_MAX_CONCURRENT 4
#define DEFAULT_STOP_GRACE     10.0
#define MAX_CONCURRENT_LIMIT   4096
#define LOG_BUFFER_LIMIT       (1024UL * 1024 * 1024)

static const char usage_text[] =
"Usage: agent-runner [OPTION]...\n"
"\n"
"Registers with an agent-runs coordinator, long-polls it for runs and\n"
"executes each run's executor as a child process, reporting started,\n"
"completed, failed or stopped.  An executor's stdout is its run's result,\n"
"its stderr the run's log, streamed to the coordinator as it comes.  The\n"
"runner's own log lines go to its stderr.\n"
"\n"
"Options (a flag wins over its environment variable):\n"
"  --url URL                  the coordinator [AGENT_ORCHESTRATOR_API_URL]\n"
"                             (default " DEFAULT_URL ")\n"
"  --mcp-url URL              the coordinator's MCP endpoint (runs_mcp), given\n"
"                             to executors as AGENT_ORCHESTRATOR_MCP_URL\n"
"                             [AGENT_MCP_URL] (default: the coordinator's URL\n"
"                             and /mcp)\n"
"  --executor PATH            the program that executes a run [AGENT_EXECUTOR_PATH]\n"
"                             (default: " DEFAULT_EXECUTOR_NAME " next to this program)\n"
"  --executor-type NAME       reported at registration (default: the\n"
"                             executor's file name)\n"
"  --project-dir DIR          reported at registration, and the working\n"
"                             directory of runs without a project_dir\n"
"                             [PROJECT_DIR] (default: the current directory)\n"
"  --hostname NAME            reported at registration (default: this host's\n"
"                             name): runs that demand a host, and the resumes\n"
"                             of sessions whose first run ran here, go by it\n"
"  --tag NAME                 a tag offered at registration (\"tags\"): a run\n"
"                             that demands tags goes only to a runner with\n"
"                             all of them; repeatable, or NAME,NAME...\n"
"                             [AGENT_TAGS, comma-separated, used when no --tag\n"
"                             is given] (names: 1-60 characters matching\n"
"                             ^[A-Za-z0-9][A-Za-z0-9_.-]*$; at most 64)\n"
"  --agents-dir DIR           the agent blueprints, one folder per agent_name:\n"
"                             their names are listed at registration (\"agents\")\n"
"                             and the directory is given to each executor as\n"
"                             AGENT_AGENTS_DIR [AGENT_AGENTS_DIR]\n"
"                             (default " AGENTS_DIR_DEFAULT ")\n"
"  --poll-timeout SECONDS     client-side limit of one long poll [POLL_TIMEOUT]\n"
"                             (default: the coordinator's poll_timeout_seconds + 10)\n"
"  --heartbeat-interval SECONDS\n"
"                             [HEARTBEAT_INTERVAL] (default: the coordinator's\n"
"                             heartbeat_interval_seconds)\n"
"  --max-concurrent N         executors running at once; no run is claimed\n"
"                             beyond it (default 4)\n"
"  --stop-grace SECONDS       SIGTERM to SIGKILL when stopping a run (default 10)\n"
"  --log-interval SECONDS     the least time between two posts of a run's log\n"
"                             while less than 16 KB of it waits (default 0.05)\n"
"  --log-buffer BYTES         the most of a run's log kept while the\n"
"                             coordinator does not take it: beyond, its oldest\n"
"                             bytes are dropped and a line says so (default 1m;\n"
"                             k and m suffixes; at least 32k)\n"
"  -v, --verbose              debug log lines too\n"
"  -h, --help                 this text\n"
"\n"
"SECONDS may have a fraction (0.5).  See docs/EXECUTORS.md for what an\n"
"executor gets: the JSON payload on stdin (schema 1.1), AGENT_SESSION_NAME,\n"
"AGENT_SESSION_ID, AGENT_RUN_ID, AGENT_ORCHESTRATOR_API_URL,\n"
"AGENT_ORCHESTRATOR_MCP_URL (agent-executor-claude gives it to claude as the\n"
"MCP server \"agent-orchestrator\") and AGENT_AGENTS_DIR (agent-executor-claude\n"
"reads its blueprints there), its own process group, the run's project dir as\n"
"working directory.\n"
"\n"
"Credentials: the token the coordinator answers a registration with is sent\n"
"as \"Authorization: Bearer\" with every call made as that runner, and kept in\n"
"memory only: never logged, written or given to an executor (nor is\n"
"RUNS_LAUNCHER_TOKEN).  A 401 to any call makes the runner register again.\n"
"\n"
"Signals: SIGINT or SIGTERM stops taking runs, stops the running executors\n"
"(SIGTERM, SIGKILL after the grace), reports them stopped, deregisters and\n"
"exits 0.  A second SIGINT/SIGTERM kills the executors' process groups with\n"
"SIGKILL and exits at once with 128 + the signal's number (130, 143).\n"
"\n"
"Exit status:\n"
"  0    stopped by SIGINT/SIGTERM, or deregistered by the coordinator\n"
"  1    fatal error (the coordinator refused the registration, a system call)\n"
"  2    usage error\n"
"  130, 143  forced exit on a second SIGINT / SIGTERM\n";

enum {
    OPT_URL = 256,
    OPT_MCP_URL,
    OPT_EXECUTOR,
    OPT_EXECUTOR_TYPE,
    OPT_PROJECT_DIR,
    OPT_HOSTNAME,
    OPT_POLL_TIMEOUT,
    OPT_HEARTBEAT,
    OPT_MAX_CONCURRENT,
    OPT_STOP_GRACE,
    OPT_LOG_INTERVAL,
    OPT_LOG_BUFFER,
    OPT_AGENTS_DIR,
    OPT_TAG
};

static const struct option long_options[] = {
    { "url",                required_argument, NULL, OPT_URL },
    { "mcp-url",            required_argument, NULL, OPT_MCP_URL },
    { "executor",           required_argument, NULL, OPT_EXECUTOR },
    { "executor-type",      required_argument, NULL, OPT_EXECUTOR_TYPE },
    { "project-dir",        required_argument, NULL, OPT_PROJECT_DIR },
    { "hostname",           required_argument, NULL, OPT_HOSTNAME },
    { "poll-timeout",       required_argument, NULL, OPT_POLL_TIMEOUT },
    { "heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT },
    { "max-concurrent",     required_argument, NULL, OPT_MAX_CONCURRENT },
    { "stop-grace",         required_argument, NULL, OPT_STOP_GRACE },
    { "log-interval",       required_argument, NULL, OPT_LOG_INTERVAL },
    { "log-buffer",         required_argument, NULL, OPT_LOG_BUFFER },
    { "agents-dir",         required_argument, NULL, OPT_AGENTS_DIR },
    { "tag",                required_argument, NULL, OPT_TAG },
    { "verbose",            no_argument,       NULL, 'v' },
    { "help",               no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 }
};

/* the raw settings, flags over environment */
struct settings {
    const char *url, *mcp_url, *executor, *executor_type, *project_dir, *hostname;
    const char *poll_timeout, *heartbeat, *max_concurrent, *stop_grace;
    const char *log_interval, *log_buffer, *agents_dir;
    const char *poll_timeout_from, *heartbeat_from;     /* for messages */
    bool        verbose;
    struct tags tags;               /* --tag, else AGENT_TAGS: owned */
};

static int
usage_error(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "agent-runner: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nTry 'agent-runner --help'.\n");
    return -1;
}

/* seconds: a finite number >= min (and > 0 when positive) */
static int
parse_seconds(const char *text, const char *from, bool positive, double *out)
{
    char  *end;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v < 0
        || (positive && v <= 0) || v > 86400 * 365)
    {
        return usage_error("%s: '%s' is not a number of seconds", from, text);
    }
    *out = v;
    return 0;
}

/* a size in bytes, with an optional k or m (KiB, MiB), from min to max */
static int
parse_size(const char *text, const char *from, unsigned long min, unsigned long max,
           size_t *out)
{
    char          *end;
    unsigned long  v, mul = 1;

    errno = 0;
    v = strtoul(text, &end, 10);
    if (end != text && (*end == 'k' || *end == 'K')) {
        mul = 1024;
        end++;
    } else if (end != text && (*end == 'm' || *end == 'M')) {
        mul = 1024 * 1024;
        end++;
    }
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max / mul
        || v * mul < min)
    {
        return usage_error("%s: '%s' is not a size from 32k to 1024m", from, text);
    }
    *out = v * mul;
    return 0;
}

/* path made absolute against the current directory; NULL on failure */
static char *
absolute(const char *path)
{
    char  cwd[PATH_MAX];
    char *out;

    if (path[0] == '/') {
        return strdup(path);
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        return NULL;
    }
    if (asprintf(&out, "%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path) < 0) {
        return NULL;
    }
    return out;
}

/*
 * the executor as an absolute path: a name without '/' is looked up in
 * PATH like execvp() does; NULL on failure
 */
static char *
find_executor(const char *name)
{
    const char *path, *p, *colon;
    char       *cand;
    size_t      n;

    if (strchr(name, '/') != NULL) {
        return absolute(name);
    }
    path = getenv("PATH");
    for (p = path; p != NULL && *p != '\0'; p = *colon ? colon + 1 : colon) {
        colon = strchrnul(p, ':');
        n = (size_t) (colon - p);
        if (asprintf(&cand, "%.*s/%s", (int) n, n ? p : ".", name) < 0) {
            return NULL;
        }
        if (access(cand, X_OK) == 0) {
            char *abs = absolute(cand);

            free(cand);
            return abs;
        }
        free(cand);
    }
    /* not in PATH: a file in the current directory, or its runs will fail
     * with "could not be executed" (never relative to a run's project dir) */
    return absolute(name);
}

/* <directory of /proc/self/exe>/agent-executor-echo */
static char *
default_executor(void)
{
    char    self[PATH_MAX];
    ssize_t n;
    char   *slash, *out;

    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        fprintf(stderr, "agent-runner: readlink(/proc/self/exe): %s; use --executor\n",
                strerror(errno));
        return NULL;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash == NULL) {
        return strdup(DEFAULT_EXECUTOR_NAME);
    }
    *slash = '\0';
    if (asprintf(&out, "%s/%s", self, DEFAULT_EXECUTOR_NAME) < 0) {
        return NULL;
    }
    return out;
}

static void
config_free(struct config *c)
{
    free(c->url);
    free(c->mcp_url);
    free(c->executor);
    free(c->executor_type);
    free(c->project_dir);
    free(c->hostname);
    free(c->agents_dir);
    tags_free(&c->tags);
    memset(c, 0, sizeof(*c));
}

static const char *
env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : dflt;
}

/* 0: run; 1: --help was printed; -1: usage error (printed) */
static int
parse_args(int argc, char **argv, struct settings *s)
{
    int         c;
    bool        tag_flag = false;
    const char *tags_env;
    char        why[200];

    memset(s, 0, sizeof(*s));
    s->url = env_or("AGENT_ORCHESTRATOR_API_URL", NULL);
    s->mcp_url = env_or("AGENT_MCP_URL", NULL);
    s->executor = env_or("AGENT_EXECUTOR_PATH", NULL);
    s->project_dir = env_or("PROJECT_DIR", NULL);
    s->agents_dir = env_or("AGENT_AGENTS_DIR", NULL);
    s->poll_timeout = env_or("POLL_TIMEOUT", NULL);
    s->poll_timeout_from = "POLL_TIMEOUT";
    s->heartbeat = env_or("HEARTBEAT_INTERVAL", NULL);
    s->heartbeat_from = "HEARTBEAT_INTERVAL";

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":vh", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_URL:            s->url = optarg; break;
        case OPT_MCP_URL:        s->mcp_url = optarg; break;
        case OPT_EXECUTOR:       s->executor = optarg; break;
        case OPT_EXECUTOR_TYPE:  s->executor_type = optarg; break;
        case OPT_PROJECT_DIR:    s->project_dir = optarg; break;
        case OPT_HOSTNAME:       s->hostname = optarg; break;
        case OPT_POLL_TIMEOUT:
            s->poll_timeout = optarg;
            s->poll_timeout_from = "--poll-timeout";
            break;
        case OPT_HEARTBEAT:
            s->heartbeat = optarg;
            s->heartbeat_from = "--heartbeat-interval";
            break;
        case OPT_MAX_CONCURRENT: s->max_concurrent = optarg; break;
        case OPT_STOP_GRACE:     s->stop_grace = optarg; break;
        case OPT_LOG_INTERVAL:   s->log_interval = optarg; break;
        case OPT_LOG_BUFFER:     s->log_buffer = optarg; break;
        case OPT_AGENTS_DIR:     s->agents_dir = optarg; break;
        case OPT_TAG:
            tag_flag = true;
            if (tags_add(&s->tags, optarg, why, sizeof(why)) != 0) {
                return usage_error("--tag: %s%s", why, "");
            }
            break;
        case 'v':                s->verbose = true; break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        case ':':
            return usage_error("option '%s' needs a value%s", argv[optind - 1], "");
        default:
            return usage_error("unknown option '%s'%s", argv[optind - 1], "");
        }
    }
    if (optind < argc) {
        return usage_error("unexpected argument '%s'%s", argv[optind], "");
    }
    tags_env = env_or("AGENT_TAGS", NULL);
    if (!tag_flag && tags_env != NULL
        && tags_add(&s->tags, tags_env, why, sizeof(why)) != 0)
    {
        return usage_error("AGENT_TAGS: %s%s", why, "");
    }
    return 0;
}

static bool
http_url(const char *url)
{
    return strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0;
}

/*
 * the MCP endpoint given to executors: --mcp-url, else the coordinator's
 * URL (without its trailing slashes) and /mcp; -1 on a usage error or
 * failure (printed)
 */
static int
mcp_url_of(const struct settings *s, struct config *cfg)
{
    size_t n = strlen(cfg->url);

    if (s->mcp_url != NULL) {
        if (!http_url(s->mcp_url)) {
            return usage_error("--mcp-url: '%s' is not an http:// or https:// URL%s",
                               s->mcp_url, "");
        }
        cfg->mcp_url = strdup(s->mcp_url);
    } else {
        while (n > 0 && cfg->url[n - 1] == '/') {
            n--;
        }
        if (asprintf(&cfg->mcp_url, "%.*s/mcp", (int) n, cfg->url) < 0) {
            cfg->mcp_url = NULL;
        }
    }
    if (cfg->mcp_url == NULL) {
        fprintf(stderr, "agent-runner: out of memory\n");
        return -1;
    }
    return 0;
}

/* cfg from s; -1 on a usage error or failure (printed) */
static int
build_config(const struct settings *s, struct config *cfg)
{
    char          host[256];
    char         *end;
    unsigned long n;
    const char   *base;

    memset(cfg, 0, sizeof(*cfg));
    cfg->max_concurrent = DEFAULT_MAX_CONCURRENT;
    cfg->stop_grace = DEFAULT_STOP_GRACE;
    cfg->log_keep = LOGS_KEEP_DEFAULT;
    cfg->log_interval = LOGS_INTERVAL_DEFAULT / 1000.0;

    if (s->poll_timeout != NULL
        && parse_seconds(s->poll_timeout, s->poll_timeout_from, true, &cfg->poll_timeout) != 0)
    {
        return -1;
    }
    if (s->heartbeat != NULL
        && parse_seconds(s->heartbeat, s->heartbeat_from, true, &cfg->heartbeat_interval) != 0)
    {
        return -1;
    }
    if (s->stop_grace != NULL
        && parse_seconds(s->stop_grace, "--stop-grace", false, &cfg->stop_grace) != 0)
    {
        return -1;
    }
    if (s->log_interval != NULL
        && parse_seconds(s->log_interval, "--log-interval", false, &cfg->log_interval) != 0)
    {
        return -1;
    }
    if (s->log_buffer != NULL
        && parse_size(s->log_buffer, "--log-buffer", LOGS_KEEP_MIN, LOG_BUFFER_LIMIT,
                      &cfg->log_keep) != 0)
    {
        return -1;
    }
    if (s->max_concurrent != NULL) {
        errno = 0;
        n = strtoul(s->max_concurrent, &end, 10);
        if (errno != 0 || end == s->max_concurrent || *end != '\0' || n < 1
            || n > MAX_CONCURRENT_LIMIT || s->max_concurrent[0] == '-')
        {
            return usage_error("--max-concurrent: '%s' is not a number from 1 to %s",
                               s->max_concurrent, "4096");
        }
        cfg->max_concurrent = (unsigned) n;
    }

    cfg->url = strdup(s->url != NULL ? s->url : DEFAULT_URL);
    if (!http_url(cfg->url ? cfg->url : "")) {
        return usage_error("--url: '%s' is not an http:// or https:// URL%s",
                           cfg->url ? cfg->url : "", "");
    }
    if (mcp_url_of(s, cfg) != 0) {
        return -1;
    }
    cfg->executor = s->executor != NULL ? find_executor(s->executor) : default_executor();
    if (cfg->executor == NULL) {
        return -1;
    }
    if (s->executor_type != NULL) {
        cfg->executor_type = strdup(s->executor_type);
    } else {
        base = strrchr(cfg->executor, '/');
        cfg->executor_type = strdup(base ? base + 1 : cfg->executor);
    }
    if (s->project_dir != NULL) {
        cfg->project_dir = absolute(s->project_dir);
        if (cfg->project_dir == NULL) {
            fprintf(stderr, "agent-runner: --project-dir %s: %s\n", s->project_dir,
                    strerror(errno));
            return -1;
        }
    }
    cfg->agents_dir = absolute(s->agents_dir != NULL && s->agents_dir[0] != '\0'
                               ? s->agents_dir : AGENTS_DIR_DEFAULT);
    if (cfg->agents_dir == NULL) {
        fprintf(stderr, "agent-runner: --agents-dir %s: %s\n",
                s->agents_dir ? s->agents_dir : AGENTS_DIR_DEFAULT, strerror(errno));
        return -1;
    }
    if (s->hostname != NULL) {
        cfg->hostname = strdup(s->hostname);
    } else {
        if (gethostname(host, sizeof(host)) != 0) {
            fprintf(stderr, "agent-runner: gethostname: %s; use --hostname\n",
                    strerror(errno));
            return -1;
        }
        host[sizeof(host) - 1] = '\0';
        cfg->hostname = strdup(host);
    }
    if (cfg->url == NULL || cfg->executor_type == NULL || cfg->hostname == NULL) {
        fprintf(stderr, "agent-runner: out of memory\n");
        return -1;
    }
    return 0;
}

/* descriptors 0-2 open, so no pipe or socket ever takes their place */
static int
std_fds(void)
{
    int fd;

    for (fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", O_RDWR);

            if (n < 0) {
                return -1;
            }
            if (n != fd) {
                close(n);
                return -1;
            }
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct settings  s;
    struct runner    r;
    struct sigaction sa;
    char             q[600];
    int              rc;

    if (std_fds() != 0) {
        return RUNNER_EXIT_FATAL;
    }
    rc = parse_args(argc, argv, &s);
    if (rc != 0) {
        tags_free(&s.tags);
        return rc > 0 ? RUNNER_EXIT_OK : RUNNER_EXIT_USAGE;
    }
    memset(&r, 0, sizeof(r));
    r.log.debug = s.verbose;
    if (build_config(&s, &r.cfg) != 0) {
        tags_free(&s.tags);
        config_free(&r.cfg);
        return RUNNER_EXIT_USAGE;
    }
    r.cfg.tags = s.tags;            /* the config owns them from here */

    /* a closed connection or executor stdin is an error return, not a death */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) != 0) {
        log_msg(&r.log, LOG_ERROR, NULL, "sigaction(SIGPIPE) failed error=\"%s\"",
                strerror(errno));
        config_free(&r.cfg);
        return RUNNER_EXIT_FATAL;
    }
    if (access(r.cfg.executor, X_OK) != 0) {
        log_msg(&r.log, LOG_WARN, NULL, "executor is not executable: its runs will fail "
                "executor=%s error=\"%s\"", log_quote(q, sizeof(q), r.cfg.executor),
                strerror(errno));
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_msg(&r.log, LOG_ERROR, NULL, "curl_global_init failed");
        config_free(&r.cfg);
        return RUNNER_EXIT_FATAL;
    }
    if (runner_init(&r) != 0) {
        curl_global_cleanup();
        config_free(&r.cfg);
        return RUNNER_EXIT_FATAL;
    }
    {
        char qh[300], qt[300], qa[600], tags[TAGS_MAX * (AGENT_NAME_MAX + 1) + 1];

        log_msg(&r.log, LOG_INFO, NULL, "agent-runner starting url=%s mcp_url=%s hostname=%s "
                "executor_type=%s max_concurrent=%u agents_dir=%s tags=%s pid=%d",
                r.cfg.url, r.cfg.mcp_url, log_quote(qh, sizeof(qh), r.cfg.hostname),
                log_quote(qt, sizeof(qt), r.cfg.executor_type), r.cfg.max_concurrent,
                log_quote(qa, sizeof(qa), r.cfg.agents_dir),
                r.cfg.tags.n ? tags_text(&r.cfg.tags, tags, sizeof(tags)) : "-",
                (int) getpid());
    }
    rc = runner_run(&r);
    runner_free(&r);
    curl_global_cleanup();
    config_free(&r.cfg);
    return rc;
}
