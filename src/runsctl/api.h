/*
 * api.c: requests to the coordinator's API and the reporting of their
 * errors, the same for every subcommand.
 */

#ifndef RUNSCTL_API_H
#define RUNSCTL_API_H

#include "runsctl/http.h"
#include "runsctl/runsctl.h"

#include <jansson.h>

/* the ordinary bound on one request (a ?wait= request adds its wait) */
#define API_TIMEOUT_MS 60000L

/* id (a run or launcher id, named what) is one path segment of letters,
   digits, '_' and '-': RC_OK, else RC_USAGE (reported, naming command);
   anything else could not name a run and would change the path */
int api_check_id(const char *command, const char *what, const char *id);

/* name (a session name, named what) is what the API calls a name:
   1 to 60 characters of ^[A-Za-z0-9][A-Za-z0-9_.-]*$: RC_OK, else
   RC_USAGE (reported, naming command) */
int api_check_name(const char *command, const char *what, const char *name);

/* a --limit value: digits, at most 9 (the server checks the range):
   RC_OK, else RC_USAGE (reported, naming command) */
int api_check_limit(const char *command, const char *value);

/* "&name=value" (value percent-encoded; '?' first when *query is "")
   added to the string *query (to free()); RC_OK or RC_FAIL (reported) */
int api_query_add(struct ctl *ctl, char **query, const char *name,
                  const char *value);

/* the query of the options given: "?param[o]=value&..." (values
   percent-encoded) for each option o < n given, in that order, in *query
   (to free(); NULL when none was made); the value of a parameter named
   "limit" is checked first (api_check_limit(), naming command).  RC_OK,
   RC_USAGE or RC_FAIL (reported) */
int api_query_of(struct ctl *ctl, const char *command, const struct args *a,
                 const char *const *param, size_t n, char **query);

/* prefix + segment percent-encoded + suffix ("/runs/" "run_x" "/stop"), in
   a string to free(); NULL (reported) when out of memory */
char *api_path(struct ctl *ctl, const char *prefix, const char *segment,
               const char *suffix);

/* one request; body may be NULL.  A 2xx answer holding a JSON object:
   RC_OK, *res the answer as received (http_response_free) and *obj the
   parsed object (json_decref).  Anything else is reported on stderr
   ("runsctl: <detail> (HTTP 409)") and returned: RC_FAIL for an HTTP
   error, RC_UNREACHABLE when the server cannot be reached or its answer is
   not JSON, RC_USAGE for a bad URL; *res and *obj are then empty. */
int api_call(struct ctl *ctl, const char *method, const char *path,
             const json_t *body, long timeout_ms, struct http_response *res,
             json_t **obj);

/* api_call() of METHOD api_path(prefix, segment, suffix), without a body
   and in the ordinary bound; RC_FAIL (reported) when the path cannot be
   made */
int api_call_at(struct ctl *ctl, const char *method, const char *prefix,
                const char *segment, const char *suffix,
                struct http_response *res, json_t **obj);

/* api_call() for a caller that handles the server's refusals itself: an
   HTTP error answer is not reported but returned as RC_OK with *res as
   received (res->status >= 300) and *obj its JSON object or NULL; the
   rest as api_call() */
int api_call_any(struct ctl *ctl, const char *method, const char *path,
                 const json_t *body, long timeout_ms,
                 struct http_response *res, json_t **obj);

/* "runsctl: <detail> (HTTP nnn)" on stderr for an HTTP error answer */
void api_report(const char *method, const char *path,
                const struct http_response *res);

/* the answer as received, on stdout (--json) */
int api_print_json(const struct http_response *res);

/* the answer obj (as received: res) to an action on id: as received with
   --json, else "ID WHAT" on stdout, the answer's "message" after it in
   brackets when it has one; RC_OK or RC_FAIL (reported) */
int api_print_action(const struct ctl *ctl, const struct http_response *res,
                     const json_t *obj, const char *id, const char *what);

/* GET path, whose answer holds the array named key: printed as received
   with --json, else handed to print; RC_UNREACHABLE when there is no such
   array (the server is not the coordinator) */
int api_get_list(struct ctl *ctl, const char *path, const char *key,
                 int (*print)(const json_t *list));

/* api_get_list() of base + query (built with api_query_add(), freed
   here), unless rc, how building the query went, is not RC_OK */
int api_get_listing(struct ctl *ctl, const char *base, char *query, int rc,
                    const char *key, int (*print)(const json_t *list));

#endif
