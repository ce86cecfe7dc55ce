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

void http_client_free(struct http_client *c);

/* "METHOD base_url+path"; path must already be escaped (http_escape).
   body: NULL for none, else body_len bytes of JSON.  timeout_ms bounds the
   whole exchange.  Returns RC_OK when a response arrived, whatever its
   status (*res then owns a body: http_response_free), else RC_UNREACHABLE,
   RC_USAGE or RC_FAIL with the reason on stderr. */
int http_request(struct http_client *c, const char *method, const char *path,
                 const char *body, size_t body_len, long timeout_ms,
                 struct http_response *res);

void http_response_free(struct http_response *res);

/* s percent-encoded for one URL path segment or query value, in a string
   to free(); NULL (reported on stderr) on failure */
char *http_escape(struct http_client *c, const char *s);

#endif
