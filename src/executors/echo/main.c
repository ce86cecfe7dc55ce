/*
 * agent-executor-echo: the test executor shipped with agent-runner.
 *
 * Reads the run's payload from stdin (docs/EXECUTORS.md, schema 1.0 or
 * 1.1), checks it and prints the prompt to stdout: the run's result.
 * Words of the prompt (words.c) drive it, so every path of the runner can
 * be tested without any AI software; they act in this order, whatever
 * their order in the prompt:
 *
 *   out=PATH        append one JSON line to PATH: what it received
 *                   (payload, the AGENT_* variables, cwd, pid, process group)
 *   bytes=N         the result is N bytes of filler lines instead of the prompt
 *   ignore-term     ignore SIGTERM (only SIGKILL ends it)
 *   term-exit=CODE  on SIGTERM, exit with CODE (0: "completed")
 *   env             write the AGENT_* variables to stderr, NAME=value lines
 *   spew=N          write N bytes of filler lines to stderr
 *   stderr=TEXT     write TEXT and a newline to stderr
 *   bad-utf8        write invalid UTF-8 and characters split between
 *                   writes to stderr
 *   lines=N         write N numbered lines to stderr ...
 *   over=T          ... spread over T seconds
 *   sh: CMD         (a line) run CMD with /bin/sh -c, its output to stderr,
 *                   this program's directory first in its PATH (so
 *                   "runsctl" is the one built beside it)
 *   sleep=N         sleep N seconds (fractions allowed, below 1e8)
 *   crash           die of SIGABRT
 *   fail, fail=CODE write a line to stderr and exit CODE (default 1)
 *
 * The signal words take effect before anything is written to stderr.  A
 * payload that is not what the contract says: a message on stderr and
 * exit status 2.
 */

#include "words.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_BAD_PAYLOAD 2
#define PAYLOAD_MAX      (256u * 1024 * 1024)

/* the filler of bytes=N: this line over and over, cut after N bytes */
#define RESULT_LINE "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+\n"

static const char *const contract_env[] = {
    "AGENT_SESSION_NAME", "AGENT_SESSION_ID", "AGENT_RUN_ID",
    "AGENT_ORCHESTRATOR_API_URL"
};

/* out= records these too */
static const char *const out_env[] = {
    "AGENT_SESSION_NAME", "AGENT_SESSION_ID", "AGENT_RUN_ID",
    "AGENT_ORCHESTRATOR_API_URL", "AGENT_ORCHESTRATOR_MCP_URL"
};

/* term-exit's status for the handler: set once before the handler is installed */
static volatile sig_atomic_t term_exit_code;

static void
on_term(int sig)
{
    (void) sig;
    _exit((int) term_exit_code);
}

static int
bad(const char *what)
{
    fprintf(stderr, "agent-executor-echo: bad payload: %s\n", what);
    return EXIT_BAD_PAYLOAD;
}

static char *
read_all(FILE *in, size_t *len)
{
    size_t cap = 65536, n = 0, r;
    char  *buf = malloc(cap), *p;

    if (buf == NULL) {
        return NULL;
    }
    for ( ;; ) {
        if (n == cap) {
            if (cap >= PAYLOAD_MAX) {
                free(buf);
                errno = EFBIG;
                return NULL;
            }
            p = realloc(buf, cap * 2);
            if (p == NULL) {
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
        r = fread(buf + n, 1, cap - n, in);
        n += r;
        if (r == 0) {
            if (ferror(in)) {
                free(buf);
                return NULL;
            }
            break;
        }
    }
    *len = n;
    return buf;
}

/* is the string member key of p what the variable name says? (absent or
   null: the variable must be unset) */
static bool
env_matches(json_t *p, const char *key, const char *name)
{
    json_t     *v = json_object_get(p, key);
    const char *e = getenv(name);

    if (v == NULL || json_is_null(v)) {
        return e == NULL;
    }
    return json_is_string(v) && e != NULL && strcmp(e, json_string_value(v)) == 0;
}

/* the payload as the contract says, else the reason why not */
static const char *
check_payload(json_t *p)
{
    static const char *const optional[] = { "agent_name", "project_dir",
                                            "parent_session_name", "session_id" };
    const char *version, *mode;
    json_t     *v;
    size_t      i;

    if (!json_is_object(p)) {
        return "not a JSON object";
    }
    version = json_string_value(json_object_get(p, "schema_version"));
    if (version == NULL || (strcmp(version, "1.0") != 0 && strcmp(version, "1.1") != 0)) {
        return "schema_version is not \"1.0\" or \"1.1\"";
    }
    mode = json_string_value(json_object_get(p, "mode"));
    if (mode == NULL || (strcmp(mode, "start") != 0 && strcmp(mode, "resume") != 0)) {
        return "mode is not \"start\" or \"resume\"";
    }
    v = json_object_get(p, "session_name");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        return "no session_name";
    }
    if (!env_matches(p, "session_name", "AGENT_SESSION_NAME")) {
        return "AGENT_SESSION_NAME is not the payload's session_name";
    }
    if (!json_is_string(json_object_get(p, "prompt"))) {
        return "no prompt";
    }
    for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        v = json_object_get(p, optional[i]);
        if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
            return "an optional field is not a string";
        }
    }
    if (strcmp(version, "1.1") == 0) {
        v = json_object_get(p, "run_id");
        if (!json_is_string(v) || json_string_length(v) == 0) {
            return "no run_id";
        }
        if (!env_matches(p, "run_id", "AGENT_RUN_ID")) {
            return "AGENT_RUN_ID is not the payload's run_id";
        }
        if (json_object_get(p, "session_id") == NULL) {
            return "no session_id (1.1 sends it, null when unknown)";
        }
        if (!env_matches(p, "session_id", "AGENT_SESSION_ID")) {
            return "AGENT_SESSION_ID is not the payload's session_id";
        }
    }
    return NULL;
}

/* out=PATH: one JSON line appended */
static int
write_out(const struct words *w, json_t *payload)
{
    char        path[PATH_MAX], cwd[PATH_MAX];
    json_t     *o;
    char       *text;
    FILE       *f;
    size_t      i;
    int         rc = 0;

    if (w->out_len == 0 || w->out_len >= sizeof(path)) {
        fprintf(stderr, "agent-executor-echo: out=: bad path\n");
        return -1;
    }
    memcpy(path, w->out, w->out_len);
    path[w->out_len] = '\0';
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        snprintf(cwd, sizeof(cwd), "?");
    }
    o = json_pack("{s:O, s:s, s:i, s:i, s:i}", "payload", payload, "cwd", cwd,
                  "pid", (int) getpid(), "pgid", (int) getpgrp(), "ppid", (int) getppid());
    for (i = 0; o != NULL && i < sizeof(out_env) / sizeof(out_env[0]); i++) {
        const char *e = getenv(out_env[i]);

        if (e != NULL && json_object_set_new(o, out_env[i], json_string(e)) != 0) {
            json_decref(o);
            o = NULL;
        }
    }
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL) {
        fprintf(stderr, "agent-executor-echo: out=: encoding failed\n");
        return -1;
    }
    f = fopen(path, "a");
    if (f == NULL) {
        fprintf(stderr, "agent-executor-echo: out=%s: %s\n", path, strerror(errno));
        rc = -1;
    } else {
        bool ok = fprintf(f, "%s\n", text) >= 0;

        if (fclose(f) != 0 || !ok) {
            fprintf(stderr, "agent-executor-echo: out=%s: %s\n", path, strerror(errno));
            rc = -1;
        }
    }
    free(text);
    return rc;
}

static void
nap(double secs)
{
    struct timespec ts, rem;

    ts.tv_sec = (time_t) secs;
    ts.tv_nsec = (long) ((secs - (double) ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR) {
        ts = rem;
    }
}

/* the result on stdout: the prompt and a newline, or bytes=N of filler */
static int
write_result(const struct words *w, const char *prompt, size_t plen)
{
    static const char line[] = RESULT_LINE;
    size_t            k = sizeof(line) - 1, left, n;
    bool              ok = true;

    if (w->bytes < 0) {
        ok = fwrite(prompt, 1, plen, stdout) == plen && putchar('\n') != EOF;
    } else {
        for (left = (size_t) w->bytes; ok && left > 0; left -= n) {
            n = left < k ? left : k;
            ok = fwrite(line, 1, n, stdout) == n;
        }
    }
    if (!ok || fflush(stdout) != 0) {
        fprintf(stderr, "agent-executor-echo: writing stdout: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static int
set_signals(const struct words *w)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    if (w->ignore_term) {
        sa.sa_handler = SIG_IGN;
    } else if (w->term_exit >= 0) {
        term_exit_code = w->term_exit;
        sa.sa_handler = on_term;
    } else {
        return 0;
    }
    if (sigaction(SIGTERM, &sa, NULL) != 0) {
        perror("agent-executor-echo: sigaction");
        return -1;
    }
    return 0;
}

/* n bytes with one write(2): what the runner reads comes in these pieces */
static void
put(const char *s, size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = write(STDERR_FILENO, s, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t) w;
    }
}

/* bad-utf8: characters split between writes, then invalid bytes */
static void
write_bad_utf8(void)
{
    static const char *const pieces[] = {
        "utf8: caf\xc3", "\xa9 \xe2\x82", "\xac \xf0\x9f\x98", "\x80 ok\n",
        "bad: \xff \xc0\xaf \xed\xa0\x80 \xe2\x82 end\n"
    };
    size_t i;

    for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        put(pieces[i], strlen(pieces[i]));
        nap(0.05);
    }
}

/* what goes to stderr, the run's log */
static void
write_log(const struct words *w)
{
    char   fill[81], line[64];
    size_t i;
    long   k;
    int    n;

    if (w->env) {
        for (i = 0; i < sizeof(contract_env) / sizeof(contract_env[0]); i++) {
            const char *e = getenv(contract_env[i]);

            fprintf(stderr, "%s%s%s\n", contract_env[i], e ? "=" : " is not set",
                    e ? e : "");
        }
    }
    if (w->spew > 0) {
        memset(fill, 'x', sizeof(fill) - 1);
        fill[sizeof(fill) - 1] = '\0';
        for (long left = w->spew; left > 0; left -= 80) {
            fprintf(stderr, "%.*s\n", (int) (left < 80 ? left - 1 : 79), fill);
        }
    }
    if (w->err_text != NULL) {
        fprintf(stderr, "%.*s\n", (int) w->err_len, w->err_text);
    }
    fflush(stderr);
    if (w->bad_utf8) {
        write_bad_utf8();
    }
    for (k = 1; k <= w->lines; k++) {
        n = snprintf(line, sizeof(line), "log line %ld of %ld\n", k, w->lines);
        put(line, (size_t) n);
        if (w->over_s > 0 && k < w->lines) {
            nap(w->over_s / (double) w->lines);
        }
    }
}

/* PATH with this program's directory first, in buf; NULL when unknown */
static const char *
path_with_self(char *buf, size_t size)
{
    char        self[PATH_MAX], *slash;
    const char *path = getenv("PATH");
    ssize_t     n;
    int         k;

    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        return NULL;
    }
    self[n] = '\0';
    slash = strrchr(self, '/');
    if (slash == NULL) {
        return NULL;
    }
    *slash = '\0';
    k = snprintf(buf, size, "%s%s%s", self[0] ? self : "/",
                 path && path[0] ? ":" : "", path ? path : "");
    return k > 0 && (size_t) k < size ? buf : NULL;
}

/* sh: CMD, each in turn: its stdout and stderr to our stderr (the log),
   its end said there too; it does not change our exit status */
static void
run_sh(const struct words *w)
{
    char   *cmd, pathbuf[PATH_MAX + 8192];
    const char *path = path_with_self(pathbuf, sizeof(pathbuf));
    size_t  i;
    pid_t   pid;
    int     status, fd;

    for (i = 0; i < w->nsh; i++) {
        if (memchr(w->sh[i], '\0', w->sh_len[i]) != NULL) {
            fprintf(stderr, "agent-executor-echo: sh: the command has a NUL byte: not run\n");
            continue;
        }
        cmd = strndup(w->sh[i], w->sh_len[i]);
        if (cmd == NULL) {
            fprintf(stderr, "agent-executor-echo: sh: out of memory\n");
            return;
        }
        fprintf(stderr, "agent-executor-echo: sh: %s\n", cmd);
        fflush(stderr);
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            fd = open("/dev/null", O_RDONLY);
            if (fd >= 0) {
                dup2(fd, STDIN_FILENO);
                if (fd != STDIN_FILENO) {
                    close(fd);
                }
            }
            if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0
                || (path != NULL && setenv("PATH", path, 1) != 0))
            {
                _exit(127);
            }
            execl("/bin/sh", "sh", "-c", cmd, (char *) NULL);
            fprintf(stderr, "agent-executor-echo: sh: /bin/sh: %s\n", strerror(errno));
            _exit(127);
        }
        if (pid < 0) {
            fprintf(stderr, "agent-executor-echo: sh: fork: %s\n", strerror(errno));
        } else {
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                /* again */
            }
            if (WIFEXITED(status)) {
                fprintf(stderr, "agent-executor-echo: sh: exit status %d\n",
                        WEXITSTATUS(status));
            } else if (WIFSIGNALED(status)) {
                fprintf(stderr, "agent-executor-echo: sh: killed by signal %d\n",
                        WTERMSIG(status));
            }
        }
        fflush(stderr);
        free(cmd);
    }
}

/* what the words ask for; the exit status */
static int
act(const struct words *w, json_t *p, const char *prompt, size_t plen)
{
    if ((w->out != NULL && write_out(w, p) != 0) || write_result(w, prompt, plen) != 0
        || set_signals(w) != 0)
    {
        return 1;
    }
    write_log(w);
    run_sh(w);
    if (w->sleep_s > 0) {
        nap(w->sleep_s);
    }
    if (w->crash) {
        fprintf(stderr, "agent-executor-echo: crashing (SIGABRT) as asked\n");
        fflush(stderr);
        signal(SIGABRT, SIG_DFL);
        raise(SIGABRT);
    }
    if (w->fail >= 0) {
        fprintf(stderr, "agent-executor-echo: failing with exit status %d as asked\n", w->fail);
        return w->fail;
    }
    return 0;
}

int
main(void)
{
    char         *in;
    size_t        len, plen;
    json_t       *p;
    json_error_t  e;
    const char   *prompt, *why;
    struct words  w;
    int           rc;

    in = read_all(stdin, &len);
    if (in == NULL) {
        fprintf(stderr, "agent-executor-echo: reading stdin: %s\n", strerror(errno));
        return EXIT_BAD_PAYLOAD;
    }
    p = json_loadb(in, len, JSON_ALLOW_NUL, &e);
    free(in);
    if (p == NULL) {
        fprintf(stderr, "agent-executor-echo: bad payload: not JSON: %s\n", e.text);
        return EXIT_BAD_PAYLOAD;
    }
    if ((why = check_payload(p)) != NULL) {
        json_decref(p);
        return bad(why);
    }
    /* the words point into the prompt: p lives until the end */
    prompt = json_string_value(json_object_get(p, "prompt"));
    plen = json_string_length(json_object_get(p, "prompt"));
    words_parse(prompt, plen, &w);
    rc = act(&w, p, prompt, plen);
    json_decref(p);
    return rc;
}
