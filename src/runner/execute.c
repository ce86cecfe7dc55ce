/*
 * execute.c: a claimed run's life on this machine: "started" reported and
 * answered (the claim confirmed), its executor spawned with its log
 * streamed (logs.c), stopped on request (SIGTERM to its process group,
 * SIGKILL after the grace), reaped, and its end reported as completed,
 * failed or stopped once the last of its log is posted.
 */

#include "runner/runner.h"
#include "common/names.h"
#include "common/utf8.h"

#include "common/jsonobj.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define ID_MAX 63
#define EXEC_SCHEMA "1.1"           /* the payload's schema_version */

static bool
exec_valid_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= ID_MAX
           && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
              == n;
}

/* {"launcher_id": id} plus one more string field when key is not NULL */
static json_t *
exec_body(const char *launcher_id, const char *key, const char *value)
{
    json_t *b = json_object();

    if (b == NULL || json_object_set_new(b, "launcher_id", json_string(launcher_id)) != 0
        || (key != NULL && json_object_set_new(b, key, json_string(value)) != 0))
    {
        json_decref(b);
        return NULL;
    }
    return b;
}

static void
exec_report_failed(struct runner *r, const char *run_id, const char *launcher_id,
                   const char *error)
{
    reports_push(&r->reports, run_id, "failed", exec_body(launcher_id, "error", error));
}

/* optional string field: its value, NULL when absent or null */
static json_t *
exec_opt(json_t *run, const char *key)
{
    json_t *v = json_object_get(run, key);

    return json_is_string(v) ? v : NULL;
}

/*
 * the executor's stdin (contract 1.1, docs/EXECUTORS.md): one JSON object
 * and a newline; NULL on failure.  session_id is null when the
 * coordinator sent none; "blueprint" is the coordinator's registry
 * blueprint of the run's agent, when the claim carried one.
 */
static char *
exec_payload(json_t *run, const char *mode, size_t *len)
{
    static const char *const optional[] = { "agent_name", "project_dir",
                                            "parent_session_name" };
    json_t *p = json_object();
    json_t *sid = exec_opt(run, "session_id");
    json_t *bp = json_object_get(run, "blueprint");
    char   *text = NULL, *out = NULL;
    size_t  i, n;
    json_t *v;

    if (p == NULL
        || json_object_set_new(p, "schema_version", json_string(EXEC_SCHEMA)) != 0
        || json_object_set_new(p, "mode", json_string(mode)) != 0
        || json_object_set(p, "run_id", json_object_get(run, "run_id")) != 0
        || json_object_set(p, "session_name", json_object_get(run, "session_name")) != 0
        || json_object_set_new(p, "session_id",
                               sid != NULL ? json_incref(sid) : json_null()) != 0
        || json_object_set(p, "prompt", json_object_get(run, "prompt")) != 0)
    {
        goto done;
    }
    for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
        if ((v = exec_opt(run, optional[i])) != NULL
            && json_object_set(p, optional[i], v) != 0)
        {
            goto done;
        }
    }
    if (json_is_object(bp) && json_object_set(p, "blueprint", bp) != 0) {
        goto done;
    }
    text = json_dumps(p, JSON_COMPACT);
    if (text == NULL) {
        goto done;
    }
    n = strlen(text);
    out = realloc(text, n + 2);
    if (out == NULL) {
        goto done;
    }
    text = NULL;
    out[n] = '\n';
    out[n + 1] = '\0';
    *len = n + 1;
done:
    free(text);
    json_decref(p);
    return out;
}

static void
exec_grace_expired(void *arg)
{
    struct run    *run = arg;
    struct runner *r = run->runner;

    if (child_signal(&run->child, SIGKILL) != 0) {
        log_msg(&r->log, LOG_ERROR, run->run_id, "kill(SIGKILL) failed pgid=%d error=\"%s\"",
                (int) run->child.pid, strerror(errno));
        return;
    }
    run->stop_signal = SIGKILL;
    log_msg(&r->log, LOG_INFO, run->run_id,
            "still running after the grace: signal=SIGKILL pgid=%d", (int) run->child.pid);
}

static void
exec_on_stderr(void *arg, const char *data, size_t n)
{
    logs_feed(arg, data, n);
}

/* the run's end, reported once the last of its log is posted */
static void
exec_report_end(struct runner *r, struct run *run, const char *event, json_t *body)
{
    if (run->log != NULL) {
        logs_finish(run->log, event, body);
        run->log = NULL;
    } else {
        reports_push(&r->reports, run->run_id, event, body);
    }
}

/* the executor of a confirmed run; false when it could not be spawned */
static bool
exec_spawn(struct runner *r, struct run *run)
{
    struct child_spec spec;
    struct child_env  env[7];
    char              err[1024], q[600];

    env[0].name = "AGENT_SESSION_NAME";
    env[0].value = run->session_name;
    env[1].name = "AGENT_SESSION_ID";
    env[1].value = run->session_id;     /* unset when the coordinator sent none */
    env[2].name = "AGENT_RUN_ID";
    env[2].value = run->run_id;
    env[3].name = "AGENT_ORCHESTRATOR_API_URL";
    env[3].value = r->cfg.url;
    env[4].name = "AGENT_AGENTS_DIR";
    env[4].value = r->cfg.agents_dir;
    /* runsctl's runner credentials, should the runner's own environment
       hold some: not the agent's to act as a runner with */
    env[5].name = "RUNS_LAUNCHER_TOKEN";
    env[5].value = NULL;
    env[6].name = "AGENT_ORCHESTRATOR_MCP_URL";
    env[6].value = r->cfg.mcp_url;
    run->log = logs_open(&r->logs, run->run_id, run->launcher_id);
    memset(&spec, 0, sizeof(spec));
    spec.path = r->cfg.executor;
    spec.env = env;
    spec.nenv = sizeof(env) / sizeof(env[0]);
    spec.err_sink = run->log != NULL ? exec_on_stderr : NULL;
    spec.err_arg = run->log;
    spec.cwd = run->cwd;
    spec.payload = run->payload;
    spec.payload_len = run->payload_len;
    spec.out_max = r->coord_result_max ? r->coord_result_max : 65536;
    run->payload = NULL;                /* the child takes it */
    if (child_spawn(&run->child, &r->loop, &r->log, run->run_id, &spec,
                    err, sizeof(err)) == 0)
    {
        run->started_ms = loop_now_ms();
        log_msg(&r->log, LOG_INFO, run->run_id, "started pid=%d session=%s mode=%s cwd=%s",
                (int) run->child.pid, run->session_name, run->mode,
                log_quote(q, sizeof(q), run->cwd ? run->cwd : "."));
        return true;
    }
    log_msg(&r->log, LOG_WARN, run->run_id, "failed error=%s", log_quote(q, sizeof(q), err));
    exec_report_end(r, run, "failed", exec_body(run->launcher_id, "error", err));
    return false;
}

/*
 * The coordinator answered the run's "started": only a confirmed claim is
 * executed, so a claim the coordinator took back (its answer lost on the
 * way here, then requeued after runs_claim_timeout) never runs twice.
 */
static void
exec_confirmed(void *arg, const char *run_id, enum report_outcome outcome,
               const struct http_response *res)
{
    struct runner *r = arg;
    struct run    *run = runs_find(&r->runs, run_id);
    char           why[512];
    bool           keep = false;

    if (run == NULL || !run->confirming) {
        return;
    }
    run->confirming = false;

    switch (outcome) {
    case REPORT_DELIVERED:
        if (run->stop_requested) {
            /* stopped before it began: nothing to run, nothing to signal */
            log_msg(&r->log, LOG_INFO, run_id, "stopped before its executor began");
            reports_push(&r->reports, run_id, "stopped",
                         exec_body(run->launcher_id, NULL, NULL));
        } else {
            keep = exec_spawn(r, run);
        }
        break;
    case REPORT_REFUSED:
        if (run->reoffered && !run->stop_requested) {
            /* the refusal was of the first claim; confirm the second */
            log_msg(&r->log, LOG_INFO, run_id, "claimed again: confirming the new claim");
            run->reoffered = false;
            run->confirming = true;
            keep = reports_push_then(&r->reports, run_id, "started",
                                     exec_body(run->launcher_id, NULL, NULL),
                                     exec_confirmed, r) == 0;
            if (!keep) {
                run->confirming = false;
            }
            break;
        }
        log_msg(&r->log, LOG_WARN, run_id, "not executed: the coordinator refused the "
                "claim %s", api_why(res, why, sizeof(why)));
        break;
    case REPORT_DROPPED:
        log_msg(&r->log, LOG_WARN, run_id, "not executed: its claim could not be "
                "confirmed with the coordinator");
        break;
    }
    if (!keep) {
        runs_remove(&r->runs, run);
        run_free(run);
        runner_slot_freed(r);
    }
}

void
exec_start(struct runner *r, json_t *rj)
{
    const char       *run_id = jsonobj_string(rj, "run_id");
    const char       *type = jsonobj_string(rj, "type");
    json_t           *session = json_object_get(rj, "session_name");
    json_t           *prompt = json_object_get(rj, "prompt");
    json_t           *pdir = exec_opt(rj, "project_dir");
    json_t           *sid = exec_opt(rj, "session_id");
    const char       *mode, *cwd;
    struct run       *run;

    if (!exec_valid_id(run_id)) {
        log_msg(&r->log, LOG_ERROR, NULL, "the coordinator handed out a run without a valid run_id");
        return;
    }
    if ((run = runs_find(&r->runs, run_id)) != NULL) {
        if (run->confirming) {
            /* taken back and claimed for us again before the refusal of
               the first claim came: that refusal must not drop it */
            run->reoffered = true;
            log_msg(&r->log, LOG_INFO, run_id, "handed out again while its claim is confirmed");
            return;
        }
        log_msg(&r->log, LOG_WARN, run_id, "handed out again while it runs here: ignored");
        return;
    }
    if (type != NULL && strcmp(type, "start_session") == 0) {
        mode = "start";
    } else if (type != NULL && strcmp(type, "resume_session") == 0) {
        mode = "resume";
    } else {
        log_msg(&r->log, LOG_WARN, run_id, "failed error=\"unknown run type\"");
        exec_report_failed(r, run_id, r->launcher_id, "agent-runner: unknown run type");
        return;
    }
    if (!json_is_string(session) || !json_is_string(prompt)) {
        log_msg(&r->log, LOG_WARN, run_id, "failed error=\"no session_name or prompt\"");
        exec_report_failed(r, run_id, r->launcher_id,
                           "agent-runner: the run has no session_name or prompt");
        return;
    }

    run = run_new(run_id, json_string_value(session), r->launcher_id);
    cwd = pdir != NULL ? json_string_value(pdir) : r->cfg.project_dir;
    if (run != NULL) {
        run->runner = r;
        run->mode = mode;
        timer_init(&run->grace, exec_grace_expired, run);
        run->payload = exec_payload(rj, mode, &run->payload_len);
        run->cwd = cwd != NULL ? strdup(cwd) : NULL;
        run->session_id = sid != NULL ? strdup(json_string_value(sid)) : NULL;
    }
    if (run == NULL || run->payload == NULL || (cwd != NULL && run->cwd == NULL)
        || (sid != NULL && run->session_id == NULL))
    {
        log_msg(&r->log, LOG_ERROR, run_id, "out of memory");
        exec_report_failed(r, run_id, r->launcher_id, "agent-runner: out of memory");
        run_free(run);
        return;
    }

    /* the slot is taken now; the executor starts once the claim is confirmed */
    run->confirming = true;
    runs_add(&r->runs, run);
    if (reports_push_then(&r->reports, run_id, "started",
                          exec_body(run->launcher_id, NULL, NULL), exec_confirmed, r) != 0)
    {
        runs_remove(&r->runs, run);
        run_free(run);
    }
}

void
exec_stop(struct runner *r, const char *run_id, const char *why)
{
    struct run *run = runs_find(&r->runs, run_id);
    char        q[128];

    if (run == NULL) {
        log_msg(&r->log, LOG_INFO, exec_valid_id(run_id) ? run_id : NULL,
                "stop ignored: not a run this runner holds reason=%s", why);
        return;
    }
    if (run->stop_requested) {
        log_msg(&r->log, LOG_DEBUG, run_id, "stop again: already stopping");
        return;
    }
    run->stop_requested = true;
    if (run->confirming) {
        log_msg(&r->log, LOG_INFO, run_id, "stop before the executor began reason=%s", why);
        return;
    }
    if (child_signal(&run->child, SIGTERM) != 0) {
        log_msg(&r->log, LOG_ERROR, run_id, "kill(SIGTERM) failed pgid=%d error=%s",
                (int) run->child.pid, log_quote(q, sizeof(q), strerror(errno)));
    } else {
        run->stop_signal = SIGTERM;
    }
    log_msg(&r->log, LOG_INFO, run_id, "stopping signal=SIGTERM pgid=%d grace=%gs reason=%s",
            (int) run->child.pid, r->cfg.stop_grace, why);
    loop_timer_arm(&r->loop, &run->grace, (uint64_t) (r->cfg.stop_grace * 1000 + 0.5));
}

void
exec_stop_all(struct runner *r)
{
    struct run *run;

    for (run = r->runs.head; run != NULL; run = run->next) {
        exec_stop(r, run->run_id, "shutdown");
    }
}

void
exec_kill_all(struct runner *r)
{
    struct run *run;

    for (run = r->runs.head; run != NULL; run = run->next) {
        if (run->confirming) {
            continue;               /* no executor yet */
        }
        if (child_signal(&run->child, SIGKILL) != 0) {
            log_msg(&r->log, LOG_ERROR, run->run_id, "kill(SIGKILL) failed pgid=%d error=\"%s\"",
                    (int) run->child.pid, strerror(errno));
        } else {
            log_msg(&r->log, LOG_WARN, run->run_id, "killed signal=SIGKILL pgid=%d",
                    (int) run->child.pid);
        }
    }
}

/*
 * The executor's stdout is the run's result: sent with its end, whatever
 * the end, as valid UTF-8 (an invalid byte becomes U+FFFD; NUL bytes stay)
 */
static void
exec_add_result(struct runner *r, struct run *run, json_t *body)
{
    const struct buf *out = &run->child.out;
    char             *text;
    size_t            len;

    if (body == NULL) {
        return;
    }
    text = malloc(out->len * 3 + 1);
    if (text == NULL) {
        log_msg(&r->log, LOG_ERROR, run->run_id, "out of memory: result not sent");
        return;
    }
    len = out->len ? utf8_scrub(text, out->data, out->len) : 0;
    if (json_object_set_new(body, "result", json_stringn(text, len)) != 0) {
        log_msg(&r->log, LOG_ERROR, run->run_id, "result not sent: encoding failed");
    }
    if (run->child.out_cut) {
        log_msg(&r->log, LOG_INFO, run->run_id,
                "result cut: the executor wrote more than the coordinator keeps");
    }
    free(text);
}

/* the executor ended with wait status st: report what happened */
static void
exec_ended(struct runner *r, struct run *run, int st)
{
    char        sig[32], how[64], q[TAIL_MAX * 3 + 64];
    char       *tail;
    double      secs;
    json_t     *body;
    const char *event;

    loop_timer_cancel(&r->loop, &run->grace);
    child_finish(&run->child);
    secs = (double) (loop_now_ms() - run->started_ms) / 1000;
    if (WIFSIGNALED(st)) {
        signal_name(WTERMSIG(st), sig, sizeof(sig));
        snprintf(how, sizeof(how), "killed by %s", sig);
    } else {
        snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(st));
    }
    tail = tail_text(&run->child.tail);

    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        event = "completed";
        body = exec_body(run->launcher_id, NULL, NULL);
        log_msg(&r->log, LOG_INFO, run->run_id, "completed exit=0 duration=%.3fs%s", secs,
                run->stop_requested ? " note=\"ended before the stop took effect\"" : "");
    } else if (run->stop_requested && (WIFSIGNALED(st) || run->stop_signal != 0)) {
        event = "stopped";
        signal_name(WIFSIGNALED(st) ? WTERMSIG(st) : run->stop_signal, sig, sizeof(sig));
        body = exec_body(run->launcher_id, "signal", sig);
        log_msg(&r->log, LOG_INFO, run->run_id, "stopped signal=%s how=\"%s\" duration=%.3fs",
                sig, how, secs);
    } else {
        char error[TAIL_MAX * 3 + 128];

        event = "failed";
        if (tail != NULL && tail[0] != '\0') {
            snprintf(error, sizeof(error), "%s", tail);
        } else {
            snprintf(error, sizeof(error), "executor %s (no output on stderr)", how);
        }
        body = exec_body(run->launcher_id, "error", error);
        log_msg(&r->log, LOG_INFO, run->run_id, "failed how=\"%s\" duration=%.3fs error=%s",
                how, secs, log_quote(q, 512, error));
    }
    free(tail);
    exec_add_result(r, run, body);
    exec_report_end(r, run, event, body);
    runs_remove(&r->runs, run);
    run_free(run);
}

void
exec_reap(struct runner *r)
{
    struct run *run;
    pid_t       pid;
    int         st;

    for ( ;; ) {
        pid = waitpid(-1, &st, WNOHANG);
        if (pid == 0) {
            return;
        }
        if (pid < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != ECHILD) {
                log_msg(&r->log, LOG_ERROR, NULL, "waitpid failed error=\"%s\"",
                        strerror(errno));
            }
            return;
        }
        run = runs_find_pid(&r->runs, pid);
        if (run == NULL) {
            log_msg(&r->log, LOG_DEBUG, NULL, "reaped a process that is no run's pid=%d",
                    (int) pid);
            continue;
        }
        exec_ended(r, run, st);
    }
}
