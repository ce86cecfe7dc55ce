/*
 * http.c: HTTP requests to the coordinator through libcurl's easy
 * interface.  curl_global_init()/curl_global_cleanup() are main()'s.
 */

#include "runsctl/http.h"
#include "runsctl/runsctl.h"

#include "common/buf.h"
#include "common/token.h"

#include <curl/curl.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_CONNECT_TIMEOUT 10000L   /* ms */

struct http_client {
    CURL              *curl;
    struct curl_slist *headers;
    char              *base;          /* base URL without trailing '/' */
    char               errbuf[CURL_ERROR_SIZE];
};

int
http_client_new(const char *base_url, struct http_client **out)
{
    struct http_client *c;
    size_t              len;
    struct curl_slist  *h;
    static const char  *const hdrs[] = {
        "Content-Type: application/json",
        "Accept: application/json",
        "Expect:",                      /* no 100-continue for big prompts */
    };

    *out = NULL;
    if (strncasecmp(base_url, "http://", 7) != 0
        && strncasecmp(base_url, "https://", 8) != 0)
    {
        ctl_error("bad server URL '%s': it must start with http:// or https://",
                  base_url);
        return RC_USAGE;
    }
    if (strpbrk(base_url, "?# \t\r\n") != NULL) {
        ctl_error("bad server URL '%s': no query, fragment or spaces allowed",
                  base_url);
        return RC_USAGE;
    }

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    len = strlen(base_url);
    while (len > 0 && base_url[len - 1] == '/') {
        len--;
    }
    c->base = strndup(base_url, len);
    if (c->base == NULL) {
        ctl_error("out of memory");
        http_client_free(c);
        return RC_FAIL;
    }
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        h = curl_slist_append(c->headers, hdrs[i]);
        if (h == NULL) {
            ctl_error("out of memory");
            http_client_free(c);
            return RC_FAIL;
        }
        c->headers = h;
    }
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        ctl_error("curl_easy_init() failed");
        http_client_free(c);
        return RC_FAIL;
    }
    *out = c;
    return RC_OK;
}

/* one of the headers may hold a token: wiped, then freed */
static void
headers_free(struct curl_slist *headers)
{
    for (struct curl_slist *l = headers; l != NULL; l = l->next) {
        explicit_bzero(l->data, strlen(l->data));
    }
    curl_slist_free_all(headers);
}

void
http_client_free(struct http_client *c)
{
    if (c == NULL) {
        return;
    }
    if (c->curl != NULL) {
        curl_easy_cleanup(c->curl);
    }
    headers_free(c->headers);
    free(c->base);
    free(c);
}

int
http_client_accept(struct http_client *c, const char *accept)
{
    struct curl_slist *list = NULL, *l;
    char              *line;

    if (asprintf(&line, "Accept: %s", accept) < 0) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    l = curl_slist_append(NULL, line);
    free(line);
    for (struct curl_slist *h = c->headers; l != NULL && h != NULL;
         h = h->next)
    {
        list = l;
        if (strncasecmp(h->data, "Accept:", 7) != 0) {
            l = curl_slist_append(list, h->data);
        }
    }
    if (l == NULL) {
        headers_free(list);
        ctl_error("out of memory");
        return RC_FAIL;
    }
    headers_free(c->headers);
    c->headers = l;
    return RC_OK;
}

int
http_client_bearer(struct http_client *c, const char *token)
{
    struct curl_slist *l;
    char              *h = token_header(token);

    l = h != NULL ? curl_slist_append(c->headers, h) : NULL;
    token_free(h);                      /* curl keeps its own copy */
    if (l == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    c->headers = l;
    return RC_OK;
}

void
http_response_free(struct http_response *res)
{
    free(res->body);
    res->body = NULL;
    res->len = 0;
    res->status = 0;
}

char *
http_escape(struct http_client *c, const char *s)
{
    char *e, *copy;

    e = curl_easy_escape(c->curl, s, (int) strlen(s));
    if (e == NULL) {
        ctl_error("out of memory (escaping '%s')", s);
        return NULL;
    }
    copy = strdup(e);
    curl_free(e);
    if (copy == NULL) {
        ctl_error("out of memory");
    }
    return copy;
}

/* curl_easy_setopt() that reports and returns on failure */
#define HTTP_SETOPT(curl, opt, val)                                          \
    do {                                                                     \
        CURLcode rc_ = curl_easy_setopt(curl, opt, val);                     \
        if (rc_ != CURLE_OK) {                                               \
            ctl_error("libcurl refused option %s: %s", #opt,                 \
                      curl_easy_strerror(rc_));                              \
            return RC_FAIL;                                                  \
        }                                                                    \
    } while (0)

static int
http_setup(struct http_client *c, const char *method, const char *url,
           const char *body, size_t body_len, long timeout_ms,
           curl_write_callback write_fn, void *sink)
{
    CURL *h = c->curl;

    curl_easy_reset(h);                 /* keeps the connection cache */
    c->errbuf[0] = '\0';

    HTTP_SETOPT(h, CURLOPT_ERRORBUFFER, c->errbuf);
    HTTP_SETOPT(h, CURLOPT_URL, url);
    HTTP_SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
    HTTP_SETOPT(h, CURLOPT_PATH_AS_IS, 1L);
    HTTP_SETOPT(h, CURLOPT_NOSIGNAL, 1L);
    HTTP_SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT);
    HTTP_SETOPT(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    HTTP_SETOPT(h, CURLOPT_USERAGENT, "runsctl/" RUNSCTL_VERSION);
    HTTP_SETOPT(h, CURLOPT_HTTPHEADER, c->headers);
    HTTP_SETOPT(h, CURLOPT_WRITEFUNCTION, write_fn);
    HTTP_SETOPT(h, CURLOPT_WRITEDATA, sink);

    if (strcmp(method, "GET") == 0) {
        HTTP_SETOPT(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        HTTP_SETOPT(h, CURLOPT_POST, 1L);
        HTTP_SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE,
                    (curl_off_t) (body ? body_len : 0));
        HTTP_SETOPT(h, CURLOPT_POSTFIELDS, body ? body : "");
    } else {
        HTTP_SETOPT(h, CURLOPT_CUSTOMREQUEST, method);
        if (body != NULL) {
            HTTP_SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
            HTTP_SETOPT(h, CURLOPT_POSTFIELDS, body);
        }
    }
    return RC_OK;
}

int
http_request(struct http_client *c, const char *method, const char *path,
             const char *body, size_t body_len, long timeout_ms,
             struct http_response *res)
{
    struct buf  sink;
    char       *url;
    CURLcode    rc;
    long        status = 0;
    int         ret;

    res->status = 0;
    res->body = NULL;
    res->len = 0;
    buf_init(&sink, BUF_ANSWER_MAX);

    if (asprintf(&url, "%s%s", c->base, path) < 0) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    ret = http_setup(c, method, url, body, body_len, timeout_ms,
                     buf_curl_write, &sink);
    if (ret != RC_OK) {
        free(url);
        return ret;
    }

    rc = curl_easy_perform(c->curl);
    if (rc != CURLE_OK) {
        const char *why = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

        if (sink.too_large) {
            ctl_error("%s %s: the answer is larger than %u bytes: "
                      "is this the coordinator?", method, url,
                      BUF_ANSWER_MAX);
            ret = RC_UNREACHABLE;
        } else if (sink.no_memory || rc == CURLE_OUT_OF_MEMORY) {
            ctl_error("out of memory reading the answer to %s %s",
                      method, url);
            ret = RC_FAIL;
        } else if (rc == CURLE_URL_MALFORMAT
                   || rc == CURLE_UNSUPPORTED_PROTOCOL)
        {
            ctl_error("bad server URL '%s': %s", c->base, why);
            ret = RC_USAGE;
        } else {
            ctl_error("cannot reach the server at %s: %s", c->base, why);
            ret = RC_UNREACHABLE;
        }
        buf_free(&sink);
        free(url);
        return ret;
    }
    free(url);

    rc = curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        ctl_error("libcurl: no response code: %s", curl_easy_strerror(rc));
        buf_free(&sink);
        return RC_FAIL;
    }
    if (sink.data == NULL) {
        sink.data = strdup("");
        if (sink.data == NULL) {
            ctl_error("out of memory");
            return RC_FAIL;
        }
    }
    res->status = status;
    res->body = sink.data;
    res->len = sink.len;
    return RC_OK;
}

/* ---------------------------------------------------------------- */
/* streamed answers */

#define HTTP_KEEPIDLE   30L       /* s: TCP keep-alive of a followed answer */
#define HTTP_KEEPINTVL  10L
#define HTTP_ERROR_MAX  (64u * 1024)    /* an error answer's body kept */

struct stream_sink {
    struct http_stream *s;
    struct buf          error;
};

void
http_stream_free(struct http_stream *s)
{
    for (size_t i = 0; i < HTTP_STREAM_HEADERS; i++) {
        free(s->values[i]);
        s->values[i] = NULL;
    }
    free(s->error);
    s->error = NULL;
    s->error_len = 0;
}

/* CURLOPT_HEADERFUNCTION: the status line and the headers asked for */
static size_t
stream_header(char *line, size_t size, size_t nitems, void *userdata)
{
    struct stream_sink *k = userdata;
    struct http_stream *s = k->s;
    size_t              n = size * nitems, nlen, vlen;
    const char         *colon, *v;

    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
        n--;
    }
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new answer (after a 1xx, or a redirect): forget the last */
        const char *sp = memchr(line, ' ', n);

        http_stream_free(s);
        s->status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
        return size * nitems;
    }
    colon = memchr(line, ':', n);
    if (colon == NULL) {
        return size * nitems;
    }
    nlen = (size_t) (colon - line);
    for (size_t i = 0; i < HTTP_STREAM_HEADERS && s->names[i] != NULL; i++) {
        if (strlen(s->names[i]) != nlen
            || strncasecmp(s->names[i], line, nlen) != 0)
        {
            continue;
        }
        v = colon + 1;
        vlen = n - nlen - 1;
        while (vlen > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        free(s->values[i]);
        s->values[i] = strndup(v, vlen);
        if (s->values[i] == NULL) {
            snprintf(s->why, sizeof(s->why), "out of memory");
            return 0;
        }
        break;
    }
    return size * nitems;
}

/* CURLOPT_WRITEFUNCTION: a 2xx body to on_body, any other kept */
static size_t
stream_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct stream_sink *k = userdata;
    struct http_stream *s = k->s;
    size_t              n = size * nmemb;

    if (s->status < 200 || s->status > 299) {
        /* an error's detail: more than enough is as good as all */
        if (buf_append(&k->error, data, n) != 0 && k->error.no_memory) {
            snprintf(s->why, sizeof(s->why), "out of memory");
            return 0;
        }
        return n;
    }
    if (s->on_body(s->arg, data, n) != 0) {
        s->aborted = 1;
        return 0;
    }
    s->received += n;
    return n;
}

static int
stream_options(struct http_client *c, int follow, struct stream_sink *k)
{
    CURL *h = c->curl;

    HTTP_SETOPT(h, CURLOPT_HEADERFUNCTION, stream_header);
    HTTP_SETOPT(h, CURLOPT_HEADERDATA, k);
    if (follow) {
        HTTP_SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
        HTTP_SETOPT(h, CURLOPT_TCP_KEEPIDLE, HTTP_KEEPIDLE);
        HTTP_SETOPT(h, CURLOPT_TCP_KEEPINTVL, HTTP_KEEPINTVL);
    }
    return RC_OK;
}

int
http_stream(struct http_client *c, const char *path, int follow,
            long timeout_ms, struct http_stream *s)
{
    struct stream_sink  k;
    char               *url;
    CURLcode            rc;
    int                 ret;

    memset(s->values, 0, sizeof(s->values));
    s->status = 0;
    s->error = NULL;
    s->error_len = 0;
    s->received = 0;
    s->aborted = 0;
    s->why[0] = '\0';
    k.s = s;
    buf_init(&k.error, HTTP_ERROR_MAX);

    if (asprintf(&url, "%s%s", c->base, path) < 0) {
        snprintf(s->why, sizeof(s->why), "out of memory");
        return RC_FAIL;
    }
    ret = http_setup(c, "GET", url, NULL, 0, follow ? 0L : timeout_ms,
                     stream_write, &k);
    if (ret == RC_OK) {
        ret = stream_options(c, follow, &k);
    }
    free(url);
    if (ret != RC_OK) {
        snprintf(s->why, sizeof(s->why), "libcurl refused an option");
        buf_free(&k.error);
        return ret;
    }

    rc = curl_easy_perform(c->curl);
    if (rc == CURLE_OK) {
        ret = RC_OK;
    } else if (s->aborted) {
        ret = RC_FAIL;
    } else if (s->why[0] != '\0' || rc == CURLE_OUT_OF_MEMORY) {
        if (s->why[0] == '\0') {
            snprintf(s->why, sizeof(s->why), "out of memory");
        }
        ret = RC_FAIL;
    } else {
        snprintf(s->why, sizeof(s->why), "%s",
                 c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
        ret = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL
              ? RC_USAGE : RC_UNREACHABLE;
    }
    s->error = k.error.data;
    s->error_len = k.error.len;
    return ret;
}
