/*
 * runner.c: the runner's conversation with the coordinator: registration,
 * the long poll, heartbeats, and the way out (SIGINT/SIGTERM or being
 * deregistered).
 *
 * Everything happens in one loop (loop.c): curl's sockets and timeouts,
 * the executors' pipes, SIGCHLD/SIGINT/SIGTERM through a signalfd, and
 * the timers below.  At most one poll is in flight.  While all
 * --max-concurrent slots are busy the poll carries claim=0: the
 * coordinator holds it for stops and deregistration only and hands it no
 * run; when a slot frees, that poll is dropped for one that may claim.
 */

#include "runner/runner.h"
#include "common/names.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#define RETRY_MIN_MS      500
#define RETRY_MAX_MS      30000
#define FLUSH_TIMEOUT_MS  10000     /* reports and deregistration on the way out */

static void runner_register(struct runner *r);
static void runner_poll(struct runner *r);
static void runner_check_done(struct runner *r);

static uint64_t
secs_ms(double s)
{
    return (uint64_t) (s * 1000 + 0.5);
}

static double
runner_hb_interval(const struct runner *r)
{
    return r->cfg.heartbeat_interval > 0 ? r->cfg.heartbeat_interval : r->coord_heartbeat;
}

/* retry_timer: whatever was waiting for the coordinator */
static void
runner_retry(void *arg)
{
    struct runner *r = arg;

    if (r->phase != PHASE_ACTIVE) {
        runner_check_done(r);
    } else if (!r->registered) {
        runner_register(r);
    } else {
        runner_poll(r);
    }
}

static void
runner_retry_later(struct runner *r, const char *what, const struct http_response *res)
{
    uint64_t delay = backoff_next(&r->backoff);
    char     why[512];

    log_msg(&r->log, LOG_WARN, NULL, "%s failed %s retry_in=%.1fs", what,
            res ? api_why(res, why, sizeof(why)) : "error=\"request not started\"",
            (double) delay / 1000);
    loop_timer_arm(&r->loop, &r->retry_timer, delay);
}

static void
runner_cancel(struct runner *r, struct http_req **req)
{
    if (*req != NULL) {
        http_cancel(&r->http, *req);
        *req = NULL;
    }
}

/* ---------------------------------------------------------------- */
/* registration */

static void
runner_on_registered(void *arg, const struct http_response *res)
{
    struct runner      *r = arg;
    struct registration reg;
    char                why[512], q[512];

    r->reg_req = NULL;
    if (api_parse_registration(&r->api, res, &reg) == 0) {
        snprintf(r->launcher_id, sizeof(r->launcher_id), "%s", reg.launcher_id);
        r->registered = true;
        r->ever_registered = true;
        r->polled_since_register = false;
        r->generation++;
        r->coord_poll_timeout = reg.poll_timeout;
        r->coord_heartbeat = reg.heartbeat_interval;
        r->coord_result_max = reg.result_max;
        /* auth: whether the coordinator gave a token, never the token */
        log_msg(&r->log, LOG_INFO, NULL,
                "registered launcher_id=%s url=%s executor=%s poll_limit=%gs "
                "heartbeat_interval=%gs max_concurrent=%u auth=%s",
                r->launcher_id, r->cfg.url, log_quote(q, sizeof(q), r->cfg.executor),
                r->cfg.poll_timeout > 0 ? r->cfg.poll_timeout : reg.poll_timeout + 10,
                runner_hb_interval(r), r->cfg.max_concurrent,
                reg.has_token ? "bearer" : "none");
        loop_timer_arm(&r->loop, &r->hb_timer, secs_ms(runner_hb_interval(r)));
        runner_poll(r);
        return;
    }
    if (!r->ever_registered && res->status >= 400 && res->status < 500
        && res->status != 408 && res->status != 429)
    {
        log_msg(&r->log, LOG_ERROR, NULL, "registration refused url=%s %s", r->cfg.url,
                api_why(res, why, sizeof(why)));
        r->exit_code = RUNNER_EXIT_FATAL;
        loop_stop(&r->loop);
        return;
    }
    runner_retry_later(r, "registration", res);
}

static void
runner_register(struct runner *r)
{
    if (r->phase != PHASE_ACTIVE || r->reg_req != NULL) {
        return;
    }
    r->registered = false;
    /* read again at each registration: folders added since are listed */
    r->reg_req = api_register(&r->api, r->cfg.hostname, r->cfg.project_dir,
                              r->cfg.executor_type,
                              agents_list(r->cfg.agents_dir, &r->log),
                              &r->cfg.tags, runner_on_registered, r);
    if (r->reg_req == NULL) {
        runner_retry_later(r, "registration", NULL);
    }
}

/*
 * the coordinator does not know us (any more), or does not take our token:
 * 401 to a call made as the launcher of registration gen
 */
static void
runner_forgotten(struct runner *r, unsigned gen, const char *how,
                 const struct http_response *res)
{
    char why[512];

    if (gen != r->generation || !r->registered) {
        return;                         /* about an earlier registration */
    }
    log_msg(&r->log, LOG_WARN, NULL, "the coordinator does not know this launcher "
            "launcher_id=%s seen_in=%s %s%s", r->launcher_id, how,
            api_why(res, why, sizeof(why)),
            r->phase == PHASE_ACTIVE ? " action=register_again" : "");
    r->registered = false;
    runner_cancel(r, &r->poll_req);
    runner_cancel(r, &r->hb_req);
    loop_timer_cancel(&r->loop, &r->hb_timer);
    if (r->phase != PHASE_ACTIVE) {
        runner_check_done(r);
        return;
    }
    if (r->polled_since_register) {
        loop_timer_cancel(&r->loop, &r->retry_timer);
        runner_register(r);
    } else {
        /* forgotten again before any poll went through: do not spin */
        loop_timer_arm(&r->loop, &r->retry_timer, backoff_next(&r->backoff));
    }
}

/*
 * 401 to a report or a log post made as launcher_id: when that is this
 * registration, the coordinator has forgotten it too (a run claimed under
 * an earlier one is left as it is: its report is dropped)
 */
static void
runner_on_refused(void *arg, const char *launcher_id, const char *how,
                  const struct http_response *res)
{
    struct runner *r = arg;

    if (launcher_id != NULL && strcmp(launcher_id, r->launcher_id) == 0) {
        runner_forgotten(r, r->generation, how, res);
    }
}

/* ---------------------------------------------------------------- */
/* heartbeats */

static void
runner_on_heartbeat(void *arg, const struct http_response *res)
{
    struct runner *r = arg;
    char           why[512];

    r->hb_req = NULL;
    if (res->status == 200) {
        log_msg(&r->log, LOG_DEBUG, NULL, "heartbeat launcher_id=%s", r->launcher_id);
    } else if (res->status == 401) {
        runner_forgotten(r, r->hb_gen, "heartbeat", res);
    } else {
        log_msg(&r->log, LOG_WARN, NULL, "heartbeat failed %s", api_why(res, why, sizeof(why)));
    }
}

static void
runner_heartbeat(void *arg)
{
    struct runner *r = arg;

    if (!r->registered) {
        return;
    }
    loop_timer_arm(&r->loop, &r->hb_timer, secs_ms(runner_hb_interval(r)));
    if (r->hb_req != NULL) {
        return;                         /* the last one has not come back */
    }
    r->hb_gen = r->generation;
    r->hb_req = api_heartbeat(&r->api, r->launcher_id, runner_on_heartbeat, r);
}

/* ---------------------------------------------------------------- */
/* the poll */

static void
runner_on_poll(void *arg, const struct http_response *res)
{
    struct runner     *r = arg;
    struct poll_answer pa;
    size_t             i;
    json_t            *v;

    r->poll_req = NULL;
    api_parse_poll(res, &pa);
    switch (pa.kind) {
    case POLL_NOTHING:
    case POLL_RUN:
    case POLL_STOPS:
        backoff_reset(&r->backoff);
        r->polled_since_register = true;
        if (pa.kind == POLL_RUN) {
            exec_start(r, pa.run);
        } else if (pa.kind == POLL_STOPS) {
            json_array_foreach(pa.stops, i, v) {
                if (json_is_string(v)) {
                    exec_stop(r, json_string_value(v), "stop_runs");
                }
            }
        }
        api_poll_done(&pa);
        runner_poll(r);
        return;
    case POLL_DEREGISTERED:
        api_poll_done(&pa);
        log_msg(&r->log, LOG_INFO, NULL, "deregistered by the coordinator launcher_id=%s "
                "running=%u", r->launcher_id, r->runs.count);
        r->registered = false;
        runner_cancel(r, &r->hb_req);
        loop_timer_cancel(&r->loop, &r->hb_timer);
        r->phase = PHASE_LEAVING;
        loop_timer_cancel(&r->loop, &r->retry_timer);
        exec_stop_all(r);
        runner_check_done(r);
        return;
    case POLL_FORGOTTEN:
        api_poll_done(&pa);
        runner_forgotten(r, r->poll_gen, "poll", res);
        return;
    case POLL_RETRY:
        api_poll_done(&pa);
        runner_retry_later(r, "poll", res);
        return;
    }
}

static void
runner_poll(struct runner *r)
{
    double timeout;
    bool   full;

    full = r->runs.count >= r->cfg.max_concurrent;
    if (r->poll_req != NULL) {
        if (!r->poll_noclaim || full) {
            return;
        }
        /* a slot is free: this poll could not claim, ask again */
        runner_cancel(r, &r->poll_req);
    }
    if (r->phase != PHASE_ACTIVE || !r->registered || r->retry_timer.armed) {
        return;
    }
    timeout = r->cfg.poll_timeout > 0 ? r->cfg.poll_timeout : r->coord_poll_timeout + 10;
    r->poll_gen = r->generation;
    r->poll_noclaim = full;
    r->poll_req = api_poll(&r->api, r->launcher_id, !full, (long) secs_ms(timeout),
                           runner_on_poll, r);
    if (r->poll_req == NULL) {
        runner_retry_later(r, "poll", NULL);
    }
}

/* ---------------------------------------------------------------- */
/* the way out */

static void
runner_finish(struct runner *r)
{
    runner_cancel(r, &r->hb_req);
    runner_cancel(r, &r->dereg_req);
    loop_timer_cancel(&r->loop, &r->hb_timer);
    loop_timer_cancel(&r->loop, &r->retry_timer);
    loop_timer_cancel(&r->loop, &r->deadline);
    log_msg(&r->log, LOG_INFO, NULL, "exiting status=%d", r->exit_code);
    loop_stop(&r->loop);
}

static void
runner_on_deregistered(void *arg, const struct http_response *res)
{
    struct runner *r = arg;
    char           why[512];

    r->dereg_req = NULL;
    if (res->status == 200 || res->status == 404) {
        log_msg(&r->log, LOG_INFO, NULL, "deregistered launcher_id=%s%s", r->launcher_id,
                res->status == 404 ? " note=\"the coordinator had already forgotten it\"" : "");
    } else if (res->status == 0 || res->status >= 500) {
        runner_retry_later(r, "deregistration", res);
        return;
    } else {
        log_msg(&r->log, LOG_WARN, NULL, "deregistration refused %s",
                api_why(res, why, sizeof(why)));
    }
    r->registered = false;
    runner_finish(r);
}

static void
runner_deadline(void *arg)
{
    struct runner *r = arg;

    log_msg(&r->log, LOG_WARN, NULL, "giving up on the coordinator after %ds reports=%u "
            "logs=%u%s", FLUSH_TIMEOUT_MS / 1000, r->reports.count, r->logs.count,
            r->registered && r->phase == PHASE_DRAINING ? " deregistered=no" : "");
    /* the logs' end reports join the queue first, to be dropped with it */
    logs_drop_all(&r->logs, "coordinator unreachable");
    reports_drop_all(&r->reports, "coordinator unreachable");
    if (!r->loop.stop) {
        runner_finish(r);       /* unless dropping them finished already */
    }
}

/* on the way out: once the runs have ended and their reports are sent */
static void
runner_check_done(struct runner *r)
{
    /* runs whose claim is being confirmed have no executor to wait for:
       the flush deadline covers their reports too */
    if (r->phase == PHASE_ACTIVE || runs_executing(&r->runs) > 0 || r->loop.stop) {
        return;
    }
    if (!r->flushing) {
        r->flushing = true;
        loop_timer_arm(&r->loop, &r->deadline, FLUSH_TIMEOUT_MS);
    }
    if (!reports_idle(&r->reports) || !logs_idle(&r->logs) || r->runs.count > 0) {
        return;
    }
    if (r->phase == PHASE_DRAINING && r->registered) {
        if (r->dereg_req == NULL && !r->retry_timer.armed) {
            r->dereg_req = api_deregister_self(&r->api, r->launcher_id,
                                               runner_on_deregistered, r);
            if (r->dereg_req == NULL) {
                runner_finish(r);
            }
        }
        return;
    }
    runner_finish(r);
}

void
runner_slot_freed(struct runner *r)
{
    runner_poll(r);
    runner_check_done(r);
}

static void
runner_on_reports_idle(void *arg)
{
    runner_check_done(arg);
}

static void
runner_on_logs_idle(void *arg)
{
    runner_check_done(arg);
}

static void
runner_on_signal(void *arg, const struct signalfd_siginfo *si)
{
    struct runner *r = arg;
    char           sig[32];
    int            signo = (int) si->ssi_signo;

    if (signo == SIGCHLD) {
        exec_reap(r);
        runner_poll(r);                 /* a slot may be free */
        runner_check_done(r);
        return;
    }
    signal_name(signo, sig, sizeof(sig));
    if (++r->term_signals > 1) {
        log_msg(&r->log, LOG_WARN, NULL, "signal=%s again: killing the executors, "
                "exiting now running=%u", sig, r->runs.count);
        exec_kill_all(r);
        r->exit_code = 128 + signo;
        loop_stop(&r->loop);
        return;
    }
    if (r->phase != PHASE_ACTIVE) {
        log_msg(&r->log, LOG_INFO, NULL, "signal=%s: already on the way out", sig);
        return;
    }
    log_msg(&r->log, LOG_INFO, NULL, "signal=%s: stopping running=%u, then deregistering",
            sig, r->runs.count);
    r->phase = PHASE_DRAINING;
    runner_cancel(r, &r->poll_req);
    runner_cancel(r, &r->reg_req);
    loop_timer_cancel(&r->loop, &r->retry_timer);
    exec_stop_all(r);
    runner_check_done(r);
}

/* ---------------------------------------------------------------- */

int
runner_init(struct runner *r)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (loop_init(&r->loop, &set, runner_on_signal, r) != 0) {
        log_msg(&r->log, LOG_ERROR, NULL, "setting up epoll/signalfd failed error=\"%s\"",
                strerror(errno));
        return -1;
    }
    if (http_init(&r->http, &r->loop, &r->log) != 0) {
        loop_free(&r->loop);
        return -1;
    }
    if (api_init(&r->api, &r->http, &r->log, r->cfg.url) != 0) {
        http_free(&r->http);
        loop_free(&r->loop);
        return -1;
    }
    r->api.on_refused = runner_on_refused;
    r->api.refused_arg = r;
    reports_init(&r->reports, &r->api, &r->loop, &r->log, r->cfg.max_concurrent,
                 runner_on_reports_idle, r);
    logs_init(&r->logs, &r->api, &r->loop, &r->log, &r->reports, r->cfg.max_concurrent,
              r->cfg.log_keep, secs_ms(r->cfg.log_interval), runner_on_logs_idle, r);
    timer_init(&r->retry_timer, runner_retry, r);
    timer_init(&r->hb_timer, runner_heartbeat, r);
    timer_init(&r->deadline, runner_deadline, r);
    backoff_init(&r->backoff, RETRY_MIN_MS, RETRY_MAX_MS);
    r->phase = PHASE_ACTIVE;
    return 0;
}

int
runner_run(struct runner *r)
{
    runner_register(r);
    if (loop_run(&r->loop) != 0) {
        log_msg(&r->log, LOG_ERROR, NULL, "epoll_wait failed error=\"%s\"", strerror(errno));
        exec_kill_all(r);
        return RUNNER_EXIT_FATAL;
    }
    return r->exit_code;
}

void
runner_free(struct runner *r)
{
    struct run *run;

    /* executors still here only after a second signal or a fatal error */
    while ((run = r->runs.head) != NULL) {
        loop_timer_cancel(&r->loop, &run->grace);
        child_finish(&run->child);
        runs_remove(&r->runs, run);
        run_free(run);
    }
    logs_free(&r->logs);
    reports_free(&r->reports);
    runner_cancel(r, &r->reg_req);
    runner_cancel(r, &r->poll_req);
    runner_cancel(r, &r->hb_req);
    runner_cancel(r, &r->dereg_req);
    http_free(&r->http);
    api_free(&r->api);
    loop_free(&r->loop);
}
