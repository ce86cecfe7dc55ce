/*
 * agent-executor-echo: the test executor shipped with agent-runner.
 *
 * Reads the run's payload from stdin (docs/EXECUTORS.md), checks it and
 * prints the prompt to stdout.  Words of the prompt drive it, so every
 * path of the runner can be tested without any AI software:
 *
 *   out=PATH        append one JSON line to PATH: what it received
 *                   (payload, AGENT_SESSION_NAME, cwd, pid, process group)
 *   spew=N          write N bytes of filler lines to stderr
 *   stderr=TEXT     write TEXT and a newline to stderr
 *   ignore-term     ignore SIGTERM (only SIGKILL ends it)
 *   term-exit=CODE  on SIGTERM, exit with CODE (0: "completed")
 *   sleep=N         sleep N seconds (fractions allowed, below 1e8)
 *   crash           die of SIGABRT
 *   fail, fail=CODE write a line to stderr and exit CODE (default 1)
 *
 * in that order, whatever their order in the prompt.  A payload that is
 * not what the contract says: a message on stderr and exit status 2.
 */

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_BAD_PAYLOAD 2
#define PAYLOAD_MAX      (256u * 1024 * 1024)

struct words {
    const char *out;
    size_t      out_len;
    long        spew;
    const char *err_text;
    size_t      err_len;
    bool        ignore_term;
    int         term_exit;          /* -1: none */
    double      sleep_s;
    bool        crash;
    int         fail;               /* -1: none */
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

/* "key=" at the start of the word w of length n: the value, else NULL */
static const char *
word_value(const char *w, size_t n, const char *key, size_t *vlen)
{
    size_t k = strlen(key);

    if (n > k && strncmp(w, key, k) == 0 && w[k] == '=') {
        *vlen = n - k - 1;
        return w + k + 1;
    }
    return NULL;
}

static int
to_int(const char *v, size_t n, int dflt)
{
    char buf[32];
    char *end;
    long  x;

    if (n == 0 || n >= sizeof(buf)) {
        return dflt;
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    x = strtol(buf, &end, 10);
    return *end == '\0' && x >= 0 && x <= 255 ? (int) x : dflt;
}

static double
to_double(const char *v, size_t n)
{
    char   buf[32];
    char  *end;
    double x;

    if (n == 0 || n >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    x = strtod(buf, &end);
    return *end == '\0' && x > 0 && x < 1e8 ? x : 0;
}

static void
parse_words(const char *p, size_t len, struct words *w)
{
    size_t      i = 0, s, n, vl;
    const char *v, *word;

    memset(w, 0, sizeof(*w));
    w->term_exit = -1;
    w->fail = -1;
    while (i < len) {
        while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
            i++;
        }
        s = i;
        while (i < len && !(p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
            i++;
        }
        word = p + s;
        n = i - s;
        if (n == 0) {
            continue;
        }
        if ((v = word_value(word, n, "out", &vl)) != NULL) {
            w->out = v;
            w->out_len = vl;
        } else if ((v = word_value(word, n, "spew", &vl)) != NULL) {
            w->spew = (long) to_double(v, vl);
        } else if ((v = word_value(word, n, "stderr", &vl)) != NULL) {
            w->err_text = v;
            w->err_len = vl;
        } else if (n == 11 && strncmp(word, "ignore-term", n) == 0) {
            w->ignore_term = true;
        } else if ((v = word_value(word, n, "term-exit", &vl)) != NULL) {
            w->term_exit = to_int(v, vl, 0);
        } else if ((v = word_value(word, n, "sleep", &vl)) != NULL) {
            w->sleep_s = to_double(v, vl);
        } else if (n == 5 && strncmp(word, "crash", n) == 0) {
            w->crash = true;
        } else if (n == 4 && strncmp(word, "fail", n) == 0) {
            w->fail = 1;
        } else if ((v = word_value(word, n, "fail", &vl)) != NULL) {
            w->fail = to_int(v, vl, 1);
        }
    }
}

/* out=PATH: one JSON line appended */
static int
write_out(const struct words *w, json_t *payload)
{
    char        path[PATH_MAX], cwd[PATH_MAX];
    const char *sess = getenv("AGENT_SESSION_NAME");
    json_t     *o;
    char       *text;
    FILE       *f;
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
    o = json_pack("{s:O, s:s?, s:s, s:i, s:i, s:i}",
                  "payload", payload, "AGENT_SESSION_NAME", sess, "cwd", cwd,
                  "pid", (int) getpid(), "pgid", (int) getpgrp(), "ppid", (int) getppid());
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

int
main(void)
{
    char          *in;
    size_t         len, i, plen;
    json_t        *p, *v;
    json_error_t   e;
    const char    *mode, *prompt, *sess_env;
    struct words   w;
    struct sigaction sa;
    static const char *const optional[] = { "agent_name", "project_dir",
                                            "parent_session_name" };
    char           fill[81];

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
    if (!json_is_object(p)) {
        json_decref(p);
        return bad("not a JSON object");
    }
    v = json_object_get(p, "schema_version");
    if (!json_is_string(v) || strcmp(json_string_value(v), "1.0") != 0) {
        json_decref(p);
        return bad("schema_version is not \"1.0\"");
    }
    mode = json_string_value(json_object_get(p, "mode"));
    if (mode == NULL || (strcmp(mode, "start") != 0 && strcmp(mode, "resume") != 0)) {
        json_decref(p);
        return bad("mode is not \"start\" or \"resume\"");
    }
    v = json_object_get(p, "session_name");
    if (!json_is_string(v) || json_string_length(v) == 0) {
        json_decref(p);
        return bad("no session_name");
    }
    sess_env = getenv("AGENT_SESSION_NAME");
    if (sess_env == NULL || strcmp(sess_env, json_string_value(v)) != 0) {
        json_decref(p);
        return bad("AGENT_SESSION_NAME is not the payload's session_name");
    }
    v = json_object_get(p, "prompt");
    if (!json_is_string(v)) {
        json_decref(p);
        return bad("no prompt");
    }
    prompt = json_string_value(v);
    plen = json_string_length(v);
    for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        v = json_object_get(p, optional[i]);
        if (v != NULL && !json_is_string(v) && !json_is_null(v)) {
            json_decref(p);
            return bad("an optional field is not a string");
        }
    }

    parse_words(prompt, plen, &w);

    if (w.out != NULL && write_out(&w, p) != 0) {
        json_decref(p);
        return 1;
    }
    if (fwrite(prompt, 1, plen, stdout) != plen || putchar('\n') == EOF
        || fflush(stdout) != 0)
    {
        fprintf(stderr, "agent-executor-echo: writing stdout: %s\n", strerror(errno));
        json_decref(p);
        return 1;
    }
    json_decref(p);

    if (w.spew > 0) {
        memset(fill, 'x', sizeof(fill) - 1);
        fill[sizeof(fill) - 1] = '\0';
        for (long left = w.spew; left > 0; left -= 80) {
            fprintf(stderr, "%.*s\n", (int) (left < 80 ? left - 1 : 79), fill);
        }
    }
    if (w.err_text != NULL) {
        fprintf(stderr, "%.*s\n", (int) w.err_len, w.err_text);
    }
    fflush(stderr);

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    if (w.ignore_term) {
        sa.sa_handler = SIG_IGN;
        if (sigaction(SIGTERM, &sa, NULL) != 0) {
            perror("agent-executor-echo: sigaction");
            return 1;
        }
    } else if (w.term_exit >= 0) {
        term_exit_code = w.term_exit;
        sa.sa_handler = on_term;
        if (sigaction(SIGTERM, &sa, NULL) != 0) {
            perror("agent-executor-echo: sigaction");
            return 1;
        }
    }
    if (w.sleep_s > 0) {
        nap(w.sleep_s);
    }
    if (w.crash) {
        fprintf(stderr, "agent-executor-echo: crashing (SIGABRT) as asked\n");
        fflush(stderr);
        signal(SIGABRT, SIG_DFL);
        raise(SIGABRT);
    }
    if (w.fail >= 0) {
        fprintf(stderr, "agent-executor-echo: failing with exit status %d as asked\n", w.fail);
        return w.fail;
    }
    return 0;
}
