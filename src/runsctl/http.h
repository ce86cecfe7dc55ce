/*
 * http.c: the only file that talks to libcurl.  One easy handle per
 * invocation, reused across requests (a wait loop keeps its connection).
 */

#ifndef RUNSCTL_HTTP_H
#define RUNSCTL_HTTP_H

#include <stddef.h>

struct http_client;

struct http_response {
    long    status;     /* HTTP status code */
    char   *body;       /* the body, NUL-terminated (len bytes before it) */
    size_t  len;
};

/* a client for the coordinator at base_url ("http://host:port[/prefix]");
   returns RC_OK, or RC_USAGE / RC_FAIL with the reason on stderr */
int http_client_new(const char *base_url, struct http_client **out);

/* wipes the credentials it was given, then frees c */
void http_client_free(struct http_client *c);

/* every later request of c carries "Authorization: Bearer TOKEN" (a
   runner's, see common/token.h; checked by the caller); RC_OK, or RC_FAIL
   (reported) when out of memory */
int http_client_bearer(struct http_client *c, const char *token);

/* every later request of c carries "Accept: accept" instead of
   "Accept: application/json"; RC_OK, or RC_FAIL (reported) when out of
   memory */
int http_client_accept(struct http_client *c, const char *accept);

/* "METHOD base_url+path"; path must already be escaped (http_escape).
   body: NULL for none, else body_len bytes of JSON.  timeout_ms bounds the
   whole exchange.  Returns RC_OK when a response arrived, whatever its
   status (*res then owns a body: http_response_free), else RC_UNREACHABLE,
   RC_USAGE or RC_FAIL with the reason on stderr. */
int http_request(struct http_client *c, const char *method, const char *path,
                 const char *body, size_t body_len, long timeout_ms,
                 struct http_response *res);

void http_response_free(struct http_response *res);

#define HTTP_STREAM_HEADERS 6         /* headers an http_stream captures */
#define HTTP_STREAM_WHY     256

/*
 * An answer taken as it arrives (http_stream): a 2xx body is handed to
 * on_body chunk by chunk as curl receives it; any other body is kept
 * (error, for its "detail").
 */
struct http_stream {
    /* in */
    const char  *names[HTTP_STREAM_HEADERS];  /* headers to capture (any
                                                 case); NULL after the last */
    int        (*on_body)(void *arg, const char *data, size_t len);
                                              /* 0: go on; else the
                                                 transfer ends (aborted) */
    void        *arg;
    /* out */
    long         status;        /* 0: no answer began */
    char        *values[HTTP_STREAM_HEADERS]; /* names[i]'s value or NULL */
    char        *error;         /* the body of a non-2xx answer, NUL-ended */
    size_t       error_len;
    size_t       received;      /* 2xx body bytes handed to on_body */
    int          aborted;       /* on_body ended the transfer */
    char         why[HTTP_STREAM_WHY];        /* why it did not complete */
};

/*
 * GET base_url+path (path escaped), the answer streamed into s (its in
 * fields set, the out fields are reset here).  follow: no time limit on
 * the whole exchange (TCP keep-alive notices a dead peer), else
 * timeout_ms.  Returns RC_OK when the answer arrived whole (whatever its
 * status), RC_UNREACHABLE when the exchange broke (s->status says whether
 * an answer had begun), RC_FAIL on_body ended it or out of memory,
 * RC_USAGE for a bad URL: s->why then says why.  Nothing is reported.
 * http_stream_free() afterwards, whatever it returned.
 */
int http_stream(struct http_client *c, const char *path, int follow,
                long timeout_ms, struct http_stream *s);

void http_stream_free(struct http_stream *s);

/* s percent-encoded for one URL path segment or query value, in a string
   to free(); NULL (reported on stderr) on failure */
char *http_escape(struct http_client *c, const char *s);

#endif
