/*
 * http.c: libcurl multi interface on the runner's epoll loop.
 *
 * curl tells which sockets to watch for what (http_on_socket) and when it
 * wants a timeout (http_on_timer); the loop calls back on readiness or at
 * the deadline, we hand that to curl_multi_socket_action() and collect
 * the transfers that ended with curl_multi_info_read().
 */

#include "runner/http.h"

#include "common/buf.h"
#include "common/token.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define HTTP_CONNECT_TIMEOUT 5000L          /* ms */

struct http_req {
    CURL            *easy;
    char            *body_out;          /* what is sent */
    struct curl_slist *headers;         /* its own, with credentials: NULL */
    struct buf       body_in;           /* what is received */
    http_done_fn    *cb;
    void            *arg;
    struct http_req *next;
    char             errbuf[CURL_ERROR_SIZE];
};

static void
http_unlink(struct http *h, struct http_req *r)
{
    struct http_req **pp;

    for (pp = &h->reqs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            return;
        }
    }
}

static void
http_req_free(struct http_req *r)
{
    struct curl_slist *l;

    if (r->easy != NULL) {
        curl_easy_cleanup(r->easy);
    }
    /* one of them holds a token: wiped, not just freed */
    for (l = r->headers; l != NULL; l = l->next) {
        explicit_bzero(l->data, strlen(l->data));
    }
    curl_slist_free_all(r->headers);
    free(r->body_out);
    if (r->body_in.data != NULL) {
        /* a registration's answer holds a token */
        explicit_bzero(r->body_in.data, r->body_in.len);
    }
    buf_free(&r->body_in);
    free(r);
}

/* hands the ended transfers to their owners */
static void
http_collect(struct http *h)
{
    CURLMsg              *msg;
    int                   left;
    struct http_req      *r;
    struct http_response  res;
    char                 *priv;
    long                  code;
    char                  why[CURL_ERROR_SIZE + 64];

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        priv = NULL;
        (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        r = (struct http_req *) priv;
        memset(&res, 0, sizeof(res));
        if (msg->data.result == CURLE_OK) {
            code = 0;
            (void) curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
            res.status = code;
        } else {
            res.status = 0;
            if (r->body_in.too_large) {
                snprintf(why, sizeof(why), "answer larger than %u bytes",
                         BUF_ANSWER_MAX);
            } else {
                snprintf(why, sizeof(why), "%s",
                         r->errbuf[0] ? r->errbuf
                                      : curl_easy_strerror(msg->data.result));
            }
            res.error = why;
        }
        res.body = r->body_in.data ? r->body_in.data : "";
        res.len = r->body_in.len;
        curl_multi_remove_handle(h->multi, r->easy);
        http_unlink(h, r);
        r->cb(r->arg, &res);
        http_req_free(r);
    }
}

/* a socket curl asked us to watch (its curl_multi_assign() pointer) */
struct http_sock {
    struct http      *h;
    struct watch     *w;
    curl_socket_t     fd;
    struct http_sock *next;
};

static void
http_sock_drop(struct http *h, struct http_sock *s)
{
    struct http_sock **pp;

    for (pp = &h->socks; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    loop_unwatch(h->loop, s->w);
    free(s);
}

static void
http_sock_ready(void *arg, uint32_t events)
{
    struct http_sock *s = arg;
    struct http      *h = s->h;
    int               flags = 0, running;
    CURLMcode         rc;

    if (events & (EPOLLIN | EPOLLHUP)) {
        flags |= CURL_CSELECT_IN;
    }
    if (events & EPOLLOUT) {
        flags |= CURL_CSELECT_OUT;
    }
    if (events & EPOLLERR) {
        flags |= CURL_CSELECT_ERR;
    }
    rc = curl_multi_socket_action(h->multi, s->fd, flags, &running);
    if (rc != CURLM_OK) {
        log_msg(h->log, LOG_ERROR, NULL, "curl_multi_socket_action failed error=%s",
                curl_multi_strerror(rc));
    }
    http_collect(h);
}

static int
http_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct http      *h = userp;
    struct http_sock *s = socketp;
    uint32_t          ev = 0;

    (void) easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            (void) curl_multi_assign(h->multi, fd, NULL);
            http_sock_drop(h, s);
        }
        return 0;
    }
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) {
        ev |= EPOLLIN;
    }
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) {
        ev |= EPOLLOUT;
    }
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL) {
            log_msg(h->log, LOG_ERROR, NULL, "out of memory watching a socket");
            return -1;
        }
        s->h = h;
        s->fd = fd;
        s->w = loop_watch(h->loop, fd, ev, http_sock_ready, s);
        if (s->w == NULL) {
            log_msg(h->log, LOG_ERROR, NULL, "epoll_ctl(ADD) failed fd=%d error=%s",
                    fd, strerror(errno));
            free(s);
            return -1;
        }
        s->next = h->socks;
        h->socks = s;
        (void) curl_multi_assign(h->multi, fd, s);
        return 0;
    }
    if (loop_modify(h->loop, s->w, ev) != 0) {
        log_msg(h->log, LOG_ERROR, NULL, "epoll_ctl(MOD) failed fd=%d error=%s",
                fd, strerror(errno));
        return -1;
    }
    return 0;
}

static void
http_timeout(void *arg)
{
    struct http *h = arg;
    int          running;
    CURLMcode    rc;

    rc = curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    if (rc != CURLM_OK) {
        log_msg(h->log, LOG_ERROR, NULL, "curl_multi_socket_action failed error=%s",
                curl_multi_strerror(rc));
    }
    http_collect(h);
}

static int
http_on_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct http *h = userp;

    (void) multi;
    if (timeout_ms < 0) {
        loop_timer_cancel(h->loop, &h->timer);
    } else {
        /* never call curl_multi_socket_action() from here: the loop will */
        loop_timer_arm(h->loop, &h->timer, (uint64_t) timeout_ms);
    }
    return 0;
}

int
http_init(struct http *h, struct loop *lp, const struct log *lg)
{
    static const char *const hdrs[] = {
        "Content-Type: application/json",
        "Accept: application/json",
        "Expect:",                      /* no 100-continue for big bodies */
    };
    struct curl_slist *l;
    size_t             i;

    memset(h, 0, sizeof(*h));
    h->loop = lp;
    h->log = lg;
    timer_init(&h->timer, http_timeout, h);
    for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        l = curl_slist_append(h->headers, hdrs[i]);
        if (l == NULL) {
            log_msg(lg, LOG_ERROR, NULL, "out of memory");
            http_free(h);
            return -1;
        }
        h->headers = l;
    }
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        log_msg(lg, LOG_ERROR, NULL, "curl_multi_init failed");
        http_free(h);
        return -1;
    }
    if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_on_socket) != CURLM_OK
        || curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK
        || curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_on_timer) != CURLM_OK
        || curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
    {
        log_msg(lg, LOG_ERROR, NULL, "curl_multi_setopt failed");
        http_free(h);
        return -1;
    }
    return 0;
}

void
http_cancel(struct http *h, struct http_req *r)
{
    if (r == NULL) {
        return;
    }
    curl_multi_remove_handle(h->multi, r->easy);
    http_unlink(h, r);
    http_req_free(r);
}

void
http_free(struct http *h)
{
    while (h->reqs != NULL) {
        http_cancel(h, h->reqs);
    }
    if (h->multi != NULL) {
        /* closes the pooled connections: their sockets leave the loop */
        curl_multi_cleanup(h->multi);
        h->multi = NULL;
    }
    while (h->socks != NULL) {          /* those curl did not remove */
        http_sock_drop(h, h->socks);
    }
    if (h->loop != NULL) {
        loop_timer_cancel(h->loop, &h->timer);
    }
    curl_slist_free_all(h->headers);
    h->headers = NULL;
}

/* the shared headers and auth, for one request; false when out of memory */
static bool
http_own_headers(struct http *h, struct http_req *r, const char *auth)
{
    struct curl_slist *l, *n;

    for (l = h->headers; l != NULL; l = l->next) {
        n = curl_slist_append(r->headers, l->data);
        if (n == NULL) {
            return false;
        }
        r->headers = n;
    }
    n = curl_slist_append(r->headers, auth);
    if (n == NULL) {
        return false;
    }
    r->headers = n;
    return true;
}

struct http_req *
http_start(struct http *h, const char *method, const char *url, const char *body,
           const char *auth, long timeout_ms, http_done_fn *cb, void *arg)
{
    struct http_req *r;
    CURLMcode        mrc;
    CURL            *e;
    bool             ok;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        log_msg(h->log, LOG_ERROR, NULL, "out of memory");
        return NULL;
    }
    r->cb = cb;
    r->arg = arg;
    buf_init(&r->body_in, BUF_ANSWER_MAX);
    if (body != NULL) {
        r->body_out = strdup(body);
        if (r->body_out == NULL) {
            log_msg(h->log, LOG_ERROR, NULL, "out of memory");
            free(r);
            return NULL;
        }
    }
    if (auth != NULL && !http_own_headers(h, r, auth)) {
        log_msg(h->log, LOG_ERROR, NULL, "out of memory");
        http_req_free(r);
        return NULL;
    }
    e = r->easy = curl_easy_init();
    if (e == NULL) {
        log_msg(h->log, LOG_ERROR, NULL, "curl_easy_init failed");
        http_req_free(r);
        return NULL;
    }
    ok = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_PRIVATE, (char *) r) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_HTTPHEADER,
                             r->headers ? r->headers : h->headers) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_USERAGENT, "agent-runner/1.0") == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_curl_write) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_WRITEDATA, &r->body_in) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK
         && curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                             timeout_ms < HTTP_CONNECT_TIMEOUT
                             ? timeout_ms : HTTP_CONNECT_TIMEOUT) == CURLE_OK;
    if (ok && strcmp(method, "POST") == 0) {
        ok = curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK
             && curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                                 r->body_out ? r->body_out : "") == CURLE_OK
             && curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
                                 (long) (r->body_out ? strlen(r->body_out) : 0))
                == CURLE_OK;
    } else if (ok && strcmp(method, "GET") != 0) {
        ok = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) == CURLE_OK;
    }
    if (!ok) {
        log_msg(h->log, LOG_ERROR, NULL, "curl_easy_setopt failed url=%s", url);
        http_req_free(r);
        return NULL;
    }
    mrc = curl_multi_add_handle(h->multi, e);
    if (mrc != CURLM_OK) {
        log_msg(h->log, LOG_ERROR, NULL, "curl_multi_add_handle failed error=%s",
                curl_multi_strerror(mrc));
        http_req_free(r);
        return NULL;
    }
    r->next = h->reqs;
    h->reqs = r;
    return r;
}
