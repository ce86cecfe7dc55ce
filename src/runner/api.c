/*
 * api.c: requests to the coordinator (see api.h).
 */

#include "runner/api.h"

#include "common/jsonobj.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
api_init(struct api *a, struct http *h, const struct log *lg, const char *base_url)
{
    size_t len = strlen(base_url);

    while (len > 0 && base_url[len - 1] == '/') {
        len--;
    }
    memset(a, 0, sizeof(*a));
    a->http = h;
    a->log = lg;
    a->base = strndup(base_url, len);
    if (a->base == NULL) {
        log_msg(lg, LOG_ERROR, NULL, "out of memory");
        return -1;
    }
    return 0;
}

void
api_free(struct api *a)
{
    free(a->base);
    a->base = NULL;
    explicit_bzero(a->creds, sizeof(a->creds));
}

/* the credentials of a registration, over the oldest kept */
static void
api_keep_cred(struct api *a, const char *launcher_id, const char *token)
{
    struct api_cred *c = &a->creds[a->next_cred];

    explicit_bzero(c, sizeof(*c));
    snprintf(c->launcher_id, sizeof(c->launcher_id), "%s", launcher_id);
    snprintf(c->token, sizeof(c->token), "%s", token ? token : "");
    a->next_cred = (a->next_cred + 1) % API_CREDS;
}

/*
 * the Authorization header of a call as launcher_id, to token_free();
 * NULL when it has no token (none given, or the registration is too old
 * to be kept: the coordinator then answers 401 as to a launcher it does
 * not know).  *failed: out of memory.
 */
static char *
api_auth(struct api *a, const char *launcher_id, bool *failed)
{
    unsigned i, k;
    char    *h;

    *failed = false;
    if (launcher_id == NULL) {
        return NULL;
    }
    for (i = 1; i <= API_CREDS; i++) {
        /* the newest first: an id the coordinator handed out again is
           its latest registration's */
        k = (a->next_cred + API_CREDS - i) % API_CREDS;
        if (strcmp(a->creds[k].launcher_id, launcher_id) != 0) {
            continue;
        }
        if (a->creds[k].token[0] == '\0') {
            return NULL;
        }
        h = token_header(a->creds[k].token);
        *failed = h == NULL;
        return h;
    }
    return NULL;
}

static struct http_req *
api_call(struct api *a, const char *method, const char *launcher_id, json_t *body,
         long timeout_ms, http_done_fn *cb, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* method base+path with body (stolen; NULL: none), as launcher_id (with
   its token; NULL: as no launcher) */
static struct http_req *
api_call(struct api *a, const char *method, const char *launcher_id, json_t *body,
         long timeout_ms, http_done_fn *cb, void *arg, const char *fmt, ...)
{
    char             path[512];
    char            *url = NULL, *text = NULL, *auth = NULL;
    struct http_req *req = NULL;
    va_list          ap;
    bool             failed;
    int              n;

    va_start(ap, fmt);
    n = vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= sizeof(path)) {
        log_msg(a->log, LOG_ERROR, NULL, "request path too long");
        goto done;
    }
    if (asprintf(&url, "%s%s", a->base, path) < 0) {
        url = NULL;
        log_msg(a->log, LOG_ERROR, NULL, "out of memory");
        goto done;
    }
    if (body != NULL) {
        text = json_dumps(body, JSON_COMPACT);
        if (text == NULL) {
            log_msg(a->log, LOG_ERROR, NULL, "encoding a request body failed");
            goto done;
        }
    }
    auth = api_auth(a, launcher_id, &failed);
    if (failed) {
        log_msg(a->log, LOG_ERROR, NULL, "out of memory");
        goto done;
    }
    /* the token is never logged: only whether one goes */
    log_msg(a->log, LOG_DEBUG, NULL, "request method=%s url=%s%s", method, url,
            auth != NULL ? " auth=bearer" : "");
    req = http_start(a->http, method, url, text, auth, timeout_ms, cb, arg);
done:
    token_free(auth);
    free(url);
    free(text);
    json_decref(body);
    return req;
}

struct http_req *
api_register(struct api *a, const char *hostname, const char *project_dir,
             const char *executor_type, json_t *agents, const struct tags *tags,
             http_done_fn *cb, void *arg)
{
    json_t *b = json_object();

    if (b == NULL || agents == NULL) {
        json_decref(agents);
    }
    /* the agents first: stolen whatever happens next */
    if (b == NULL || agents == NULL
        || json_object_set_new(b, "agents", agents) != 0
        || json_object_set_new(b, "tags", tags_json(tags)) != 0
        || json_object_set_new(b, "hostname", json_string(hostname)) != 0
        || (project_dir != NULL
            && json_object_set_new(b, "project_dir", json_string(project_dir)) != 0)
        || json_object_set_new(b, "executor_type", json_string(executor_type)) != 0)
    {
        log_msg(a->log, LOG_ERROR, NULL, "building the registration failed");
        json_decref(b);
        return NULL;
    }
    return api_call(a, "POST", NULL, b, API_TIMEOUT_MS, cb, arg, "/launcher/register");
}

struct http_req *
api_poll(struct api *a, const char *launcher_id, int claim, long timeout_ms,
         http_done_fn *cb, void *arg)
{
    /* claim=0: held for stops and deregistration only */
    return api_call(a, "GET", launcher_id, NULL, timeout_ms, cb, arg,
                    "/launcher/runs?launcher_id=%s%s", launcher_id,
                    claim ? "" : "&claim=0");
}

static json_t *
api_launcher_body(const char *launcher_id)
{
    return json_pack("{s:s}", "launcher_id", launcher_id);
}

struct http_req *
api_heartbeat(struct api *a, const char *launcher_id, http_done_fn *cb, void *arg)
{
    json_t *b = api_launcher_body(launcher_id);

    if (b == NULL) {
        log_msg(a->log, LOG_ERROR, NULL, "building a heartbeat failed");
        return NULL;
    }
    return api_call(a, "POST", launcher_id, b, API_TIMEOUT_MS, cb, arg,
                    "/launcher/heartbeat");
}

struct http_req *
api_report(struct api *a, const char *run_id, const char *event, json_t *body,
           http_done_fn *cb, void *arg)
{
    /* as the launcher the body names: the registration that claimed the run */
    const char *launcher_id = jsonobj_string(body, "launcher_id");

    return api_call(a, "POST", launcher_id, body, API_TIMEOUT_MS, cb, arg,
                    "/launcher/runs/%s/%s", run_id, event);
}

struct http_req *
api_log(struct api *a, const char *run_id, const char *launcher_id,
        unsigned long long offset, const char *data, size_t len,
        http_done_fn *cb, void *arg)
{
    json_t *b = json_object();

    if (b == NULL
        || json_object_set_new(b, "launcher_id", json_string(launcher_id)) != 0
        || json_object_set_new(b, "offset", json_integer((json_int_t) offset)) != 0
        || json_object_set_new(b, "data", json_stringn(data, len)) != 0)
    {
        log_msg(a->log, LOG_ERROR, run_id, "building a log post failed");
        json_decref(b);
        return NULL;
    }
    return api_call(a, "POST", launcher_id, b, API_TIMEOUT_MS, cb, arg,
                    "/launcher/runs/%s/log", run_id);
}

struct http_req *
api_deregister_self(struct api *a, const char *launcher_id, http_done_fn *cb, void *arg)
{
    return api_call(a, "DELETE", launcher_id, NULL, API_TIMEOUT_MS, cb, arg,
                    "/launchers/%s?self=true", launcher_id);
}

void
api_refused(struct api *a, const char *launcher_id, const char *how,
            const struct http_response *res)
{
    if (a->on_refused != NULL && res->status == 401) {
        a->on_refused(a->refused_arg, launcher_id, how, res);
    }
}

json_t *
api_decode(const struct http_response *res)
{
    return jsonobj_parse(res->body, res->len);
}

int
api_parse_registration(struct api *a, const struct http_response *res,
                       struct registration *out)
{
    json_t     *doc, *v;
    const char *id, *token;
    int         rc = -1;

    if (res->status != 200 || (doc = api_decode(res)) == NULL) {
        return -1;
    }
    id = jsonobj_string(doc, "launcher_id");
    if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof(out->launcher_id)
        || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
           != strlen(id))
    {
        goto done;
    }
    /* none (or null): a coordinator that takes a launcher id alone */
    v = json_object_get(doc, "token");
    token = json_is_string(v) ? json_string_value(v) : NULL;
    if ((v != NULL && !json_is_null(v) && !json_is_string(v))
        || (token != NULL && !token_ok(token)))
    {
        goto done;
    }
    api_keep_cred(a, id, token);
    out->has_token = token != NULL;
    if (token != NULL) {
        /* kept in a->creds only: this copy goes with the answer */
        explicit_bzero((char *) token, strlen(token));
    }
    snprintf(out->launcher_id, sizeof(out->launcher_id), "%s", id);
    v = json_object_get(doc, "poll_timeout_seconds");
    out->poll_timeout = json_is_number(v) ? json_number_value(v) : 30;
    v = json_object_get(doc, "heartbeat_interval_seconds");
    out->heartbeat_interval = json_is_number(v) ? json_number_value(v) : 60;
    if (out->poll_timeout < 0) {
        out->poll_timeout = 30;
    }
    if (out->heartbeat_interval <= 0) {
        out->heartbeat_interval = 60;
    }
    /* the most of a result the coordinator keeps; older ones: 64k */
    v = json_object_get(doc, "result_max_bytes");
    out->result_max = (json_is_integer(v) && json_integer_value(v) > 0
                       && json_integer_value(v) <= 64 * 1024 * 1024)
                      ? (size_t) json_integer_value(v) : 65536;
    rc = 0;
done:
    json_decref(doc);
    return rc;
}

void
api_parse_poll(const struct http_response *res, struct poll_answer *out)
{
    json_t *v;

    memset(out, 0, sizeof(*out));
    out->kind = POLL_RETRY;
    if (res->status == 204) {
        out->kind = POLL_NOTHING;
        return;
    }
    if (res->status == 401) {
        out->kind = POLL_FORGOTTEN;
        return;
    }
    if (res->status != 200 || (out->doc = api_decode(res)) == NULL) {
        return;
    }
    if (json_is_true(json_object_get(out->doc, "deregistered"))) {
        out->kind = POLL_DEREGISTERED;
    } else if (json_is_array(v = json_object_get(out->doc, "stop_runs"))) {
        out->kind = POLL_STOPS;
        out->stops = v;
    } else if (json_is_object(v = json_object_get(out->doc, "run"))) {
        out->kind = POLL_RUN;
        out->run = v;
    }
}

void
api_poll_done(struct poll_answer *pa)
{
    json_decref(pa->doc);
    pa->doc = NULL;
    pa->run = NULL;
    pa->stops = NULL;
}

const char *
api_why(const struct http_response *res, char *buf, size_t size)
{
    json_t     *doc;
    const char *detail;
    char        q[256];
    size_t      i;

    if (res->status == 0) {
        snprintf(buf, size, "error=%s",
                 log_quote(q, sizeof(q), res->error ? res->error : "no answer"));
        return buf;
    }
    if (res->status >= 200 && res->status < 300) {
        /* not what was expected; its body is not shown: a registration's
           holds the token */
        snprintf(buf, size, "status=%ld answer=\"not understood\"", res->status);
        return buf;
    }
    doc = api_decode(res);
    detail = jsonobj_string(doc, "detail");
    if (detail != NULL) {
        snprintf(buf, size, "status=%ld detail=%s", res->status,
                 log_quote(q, sizeof(q), detail));
    } else {
        char snippet[121];

        for (i = 0; i < sizeof(snippet) - 1 && i < res->len && res->body[i] != '\0'; i++) {
            snippet[i] = res->body[i];
        }
        snippet[i] = '\0';
        snprintf(buf, size, "status=%ld body=%s", res->status,
                 log_quote(q, sizeof(q), snippet));
    }
    json_decref(doc);
    return buf;
}
