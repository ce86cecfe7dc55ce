/*
 * http.h: asynchronous HTTP requests through libcurl's multi interface,
 * driven by the loop (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION).
 */
#ifndef RUNNER_HTTP_H
#define RUNNER_HTTP_H

#include "runner/log.h"
#include "runner/loop.h"

#include <curl/curl.h>
#include <stddef.h>

struct http_response {
    long        status;         /* 0: no HTTP answer (see error) */
    const char *body;           /* NUL-terminated; "" when none */
    size_t      len;
    const char *error;          /* why there is no answer, when status is 0 */
};

/* called once when a request ends (never for a cancelled one) */
typedef void http_done_fn(void *arg, const struct http_response *res);

struct http_req;
struct http_sock;

struct http {
    CURLM             *multi;
    struct loop       *loop;
    const struct log  *log;
    struct timer       timer;       /* curl's timeout */
    struct curl_slist *headers;
    struct http_req   *reqs;        /* in flight */
    struct http_sock  *socks;       /* watched for curl */
};

/* curl_global_init() is main()'s; -1 on failure (logged) */
int http_init(struct http *h, struct loop *lp, const struct log *lg);
/* cancels what is in flight */
void http_free(struct http *h);

/*
 * starts method url with body (JSON text, or NULL for none) and one more
 * header, auth (a whole header line, or NULL for none: never logged, and
 * wiped once the request ends), limited to timeout_ms; NULL on failure
 * (logged).
 */
struct http_req *http_start(struct http *h, const char *method, const char *url,
                            const char *body, const char *auth, long timeout_ms,
                            http_done_fn *cb, void *arg);
/* ends a request without calling its callback */
void http_cancel(struct http *h, struct http_req *req);

#endif
