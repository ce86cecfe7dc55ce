/*
 * api.h: the coordinator's runner API (docs/API.md): requests and the
 * reading of their answers.
 */
#ifndef RUNNER_API_H
#define RUNNER_API_H

#include "runner/http.h"
#include "runner/log.h"

#include "common/tags.h"
#include "common/token.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define API_TIMEOUT_MS 15000L           /* every request but the poll */
#define API_CREDS      8                /* the registrations whose tokens are kept */

/*
 * The credentials of one registration: its launcher id and the token the
 * coordinator answered with it (none from a coordinator without
 * runs_launcher_auth, or an older one).  Each call as a launcher carries
 * the token of the launcher id it names, so that a run claimed under an
 * earlier registration still reports as that one, as its body says.
 */
struct api_cred {
    char launcher_id[64];               /* "": an empty slot */
    char token[TOKEN_MAX + 1];          /* "": none */
};

/* told of a 401 to a call made as launcher_id (how: "report", "log") */
typedef void api_refused_fn(void *arg, const char *launcher_id, const char *how,
                            const struct http_response *res);

struct api {
    struct http      *http;
    const struct log *log;
    char             *base;             /* the URL without a trailing '/' */
    struct api_cred   creds[API_CREDS]; /* the newest registrations */
    unsigned          next_cred;        /* the slot the next one takes */
    api_refused_fn   *on_refused;       /* NULL: nobody is told */
    void             *refused_arg;
};

struct registration {
    char   launcher_id[64];
    bool   has_token;                   /* kept by the api, not here */
    double poll_timeout;                /* seconds */
    double heartbeat_interval;          /* seconds */
    size_t result_max;          /* result_max_bytes */
};

enum poll_kind {
    POLL_NOTHING,                       /* 204: the poll timeout passed */
    POLL_RUN,                           /* {"run": {...}} */
    POLL_STOPS,                         /* {"stop_runs": [...]} */
    POLL_DEREGISTERED,                  /* {"deregistered": true} */
    POLL_FORGOTTEN,                     /* 401: not registered (any more) */
    POLL_RETRY                          /* no answer, 5xx, or one not understood */
};

struct poll_answer {
    enum poll_kind kind;
    json_t        *doc;                 /* the decoded body; api_poll_done() frees it */
    json_t        *run;                 /* in doc */
    json_t        *stops;               /* in doc: an array of strings */
};

int api_init(struct api *a, struct http *h, const struct log *lg, const char *base_url);
void api_free(struct api *a);

/* agents: the agent names this runner can run, a JSON array (stolen);
   tags: the tags it offers */
struct http_req *api_register(struct api *a, const char *hostname,
                              const char *project_dir, const char *executor_type,
                              json_t *agents, const struct tags *tags,
                              http_done_fn *cb, void *arg);
struct http_req *api_poll(struct api *a, const char *launcher_id, int claim,
                          long timeout_ms, http_done_fn *cb, void *arg);
struct http_req *api_heartbeat(struct api *a, const char *launcher_id,
                               http_done_fn *cb, void *arg);
/* event: started, completed, failed, stopped; body is stolen */
struct http_req *api_report(struct api *a, const char *run_id, const char *event,
                            json_t *body, http_done_fn *cb, void *arg);
/* POST /launcher/runs/{run_id}/log: data (len bytes of valid UTF-8) at
   offset of the run's log */
struct http_req *api_log(struct api *a, const char *run_id, const char *launcher_id,
                         unsigned long long offset, const char *data, size_t len,
                         http_done_fn *cb, void *arg);
struct http_req *api_deregister_self(struct api *a, const char *launcher_id,
                                     http_done_fn *cb, void *arg);

/* a 401 to a report or log post made as launcher_id: a->on_refused told */
void api_refused(struct api *a, const char *launcher_id, const char *how,
                 const struct http_response *res);

/*
 * 0 and *out filled from a 200 answer, its token (if any) kept in a for
 * the calls naming its launcher id; else -1: no answer understood, or a
 * token that cannot go in a header
 */
int api_parse_registration(struct api *a, const struct http_response *res,
                           struct registration *out);
void api_parse_poll(const struct http_response *res, struct poll_answer *out);
void api_poll_done(struct poll_answer *pa);

/* the body decoded as a JSON object (JSON_ALLOW_NUL), or NULL */
json_t *api_decode(const struct http_response *res);

/*
 * what went wrong, for a log line: the transport error, or the status and
 * the answer's "detail" (or the start of its body, never a 2xx body's:
 * a registration's holds the token)
 */
const char *api_why(const struct http_response *res, char *buf, size_t size);

#endif
