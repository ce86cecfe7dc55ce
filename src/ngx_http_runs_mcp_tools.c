
/*
 * The MCP server's tools (runs_mcp), named and shaped as those of the
 * system this product replaces, so that blueprints and prompts written
 * for it work unchanged: list_agent_blueprints, list_agent_sessions,
 * start_agent_session, resume_agent_session, get_agent_session_status,
 * get_agent_session_result, delete_all_agent_sessions, and
 * stop_agent_session.  Results are text content; what goes wrong is a
 * result with isError and the API's words.  A sync start or resume, and
 * a status with wait_seconds, hold the request on the session's run
 * (ngx_http_runs_mcp.c answers it once the run ends, here).
 */


#include "ngx_http_runs.h"


typedef ngx_int_t (*ngx_http_runs_tool_pt)(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);

typedef struct {
    ngx_str_t                   name;
    ngx_http_runs_tool_pt       handler;
    const char                 *spec;       /* title, description and
                                               input schema, as JSON */
} ngx_http_runs_tool_t;


static ngx_int_t ngx_http_runs_tool_blueprints(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_offered(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_array_t *agents, ngx_uint_t **count_out,
    ngx_str_t **tags_out, ngx_uint_t *online_out);
static ngx_int_t ngx_http_runs_tool_sessions(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_start(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_resume(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_status(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_result(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_delete_all(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_stop(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args);
static ngx_int_t ngx_http_runs_tool_run(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *args,
    ngx_uint_t type);
static ngx_int_t ngx_http_runs_tool_run_args(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_http_runs_field_t *f, ngx_uint_t n,
    ngx_http_runs_create_t *cr, ngx_uint_t *async_out,
    ngx_uint_t *callback_out);
static ngx_int_t ngx_http_runs_tool_wait(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, u_char *run_id,
    ngx_uint_t what, ngx_str_t *session, ngx_msec_t ms);
static ngx_int_t ngx_http_runs_tool_args(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_str_t *args, ngx_http_runs_field_t *f,
    ngx_uint_t n);
static ngx_int_t ngx_http_runs_tool_session_name(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_http_runs_field_t *f, ngx_str_t *name);
static ngx_int_t ngx_http_runs_tool_find(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_mcp_t *m, ngx_str_t *name,
    ngx_http_runs_ssnap_t *ss, uint64_t *sid);
static void ngx_http_runs_tool_text(ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id, ngx_str_t *text, ngx_uint_t error);
static ngx_int_t ngx_http_runs_tool_say(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_uint_t error, const char *fmt, ...);
static ngx_int_t ngx_http_runs_tool_said(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_uint_t error, const char *fmt, ...);
static ngx_int_t ngx_http_runs_tool_vsay(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_http_runs_mcp_id_t *id, ngx_uint_t error,
    const char *fmt, va_list args);
static ngx_int_t ngx_http_runs_tool_sayid(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_http_runs_mcp_id_t *id, ngx_uint_t error,
    const char *fmt, ...);
static ngx_int_t ngx_http_runs_tool_json(ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id, ngx_http_runs_out_t *o);
static void ngx_http_runs_tool_status_text(ngx_http_runs_out_t *o,
    ngx_uint_t status);


#define ngx_http_runs_session_name_rule                                      \
    "1-60 characters matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$"


static ngx_http_runs_tool_t  ngx_http_runs_tools[] = {

    { ngx_string("list_agent_blueprints"), ngx_http_runs_tool_blueprints,
      "\"title\":\"List agent blueprints\","
      "\"description\":\"The agent blueprints there are: the registry's, "
      "with what each is for, its tags and whether it is active, and those "
      "the runners online offer of their own: the names "
      "start_agent_session takes as agent_blueprint_name.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}" },

    { ngx_string("list_agent_sessions"), ngx_http_runs_tool_sessions,
      "\"title\":\"List agent sessions\","
      "\"description\":\"The agent sessions there are (newest first), with "
      "their ids, project directories, agents, parents and status.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}" },

    { ngx_string("start_agent_session"), ngx_http_runs_tool_start,
      "\"title\":\"Start an agent session\","
      "\"description\":\"Starts a new agent session with a prompt. By "
      "default waits for the agent's answer and returns it; with "
      "async_mode returns at once (read the answer later with "
      "get_agent_session_result); with async_mode and callback, your own "
      "session is resumed with the answer when the agent ends.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
      "\"session_name\":{\"type\":\"string\",\"description\":\"a new "
      "session's name: " ngx_http_runs_session_name_rule "\","
      "\"minLength\":1,\"maxLength\":60},"
      "\"prompt\":{\"type\":\"string\",\"description\":\"what the agent is "
      "asked\",\"minLength\":1},"
      "\"agent_blueprint_name\":{\"type\":\"string\",\"description\":\"the "
      "agent to run (see list_agent_blueprints); none: any runner's "
      "default\"},"
      "\"project_dir\":{\"type\":\"string\",\"description\":\"the absolute "
      "directory the agent works in\"},"
      "\"async_mode\":{\"type\":\"boolean\",\"default\":false},"
      "\"callback\":{\"type\":\"boolean\",\"default\":false,"
      "\"description\":\"with async_mode: resume the calling session "
      "(X-Agent-Session-Name) with the answer\"}},"
      "\"required\":[\"session_name\",\"prompt\"]}" },

    { ngx_string("resume_agent_session"), ngx_http_runs_tool_resume,
      "\"title\":\"Resume an agent session\","
      "\"description\":\"Sends a new prompt to an existing agent session. "
      "Waits for the answer unless async_mode is set, as "
      "start_agent_session.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
      "\"session_name\":{\"type\":\"string\",\"minLength\":1,"
      "\"maxLength\":60},"
      "\"prompt\":{\"type\":\"string\",\"minLength\":1},"
      "\"async_mode\":{\"type\":\"boolean\",\"default\":false},"
      "\"callback\":{\"type\":\"boolean\",\"default\":false}},"
      "\"required\":[\"session_name\",\"prompt\"]}" },

    { ngx_string("get_agent_session_status"), ngx_http_runs_tool_status,
      "\"title\":\"Get an agent session's status\","
      "\"description\":\"running, finished or not_existent; with "
      "wait_seconds, waits up to that long for a running session to "
      "finish first.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
      "\"session_name\":{\"type\":\"string\",\"minLength\":1,"
      "\"maxLength\":60},"
      "\"wait_seconds\":{\"type\":\"integer\",\"minimum\":0,"
      "\"maximum\":300,\"default\":0}},"
      "\"required\":[\"session_name\"]}" },

    { ngx_string("get_agent_session_result"), ngx_http_runs_tool_result,
      "\"title\":\"Get an agent session's result\","
      "\"description\":\"The answer of the session's latest run, once it "
      "has finished.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
      "\"session_name\":{\"type\":\"string\",\"minLength\":1,"
      "\"maxLength\":60}},"
      "\"required\":[\"session_name\"]}" },

    { ngx_string("delete_all_agent_sessions"), ngx_http_runs_tool_delete_all,
      "\"title\":\"Delete all agent sessions\","
      "\"description\":\"Stops and deletes every agent session (those this "
      "client may see).\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{}}" },

    { ngx_string("stop_agent_session"), ngx_http_runs_tool_stop,
      "\"title\":\"Stop an agent session\","
      "\"description\":\"Stops the session's running run and cancels the "
      "runs waiting after it.\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
      "\"session_name\":{\"type\":\"string\",\"minLength\":1,"
      "\"maxLength\":60}},"
      "\"required\":[\"session_name\"]}" },

    { ngx_null_string, NULL, NULL }
};


void
ngx_http_runs_mcp_tools_list(ngx_http_runs_out_t *o)
{
    ngx_http_runs_tool_t  *t;

    ngx_http_runs_out_literal(o, "{\"tools\":[");

    for (t = ngx_http_runs_tools; t->name.len; t++) {
        if (t != ngx_http_runs_tools) {
            ngx_http_runs_out_literal(o, ",");
        }

        ngx_http_runs_out_literal(o, "{\"name\":\"");
        ngx_http_runs_out_raw(o, t->name.data, t->name.len);
        ngx_http_runs_out_literal(o, "\",");
        ngx_http_runs_out_raw(o, t->spec, ngx_strlen(t->spec));
        ngx_http_runs_out_literal(o, "}");
    }

    ngx_http_runs_out_literal(o, "]}");
}


/* NGX_OK: answered; NGX_AGAIN: held; NGX_DECLINED: no such tool */

ngx_int_t
ngx_http_runs_mcp_tool(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *name, ngx_str_t *args)
{
    ngx_http_runs_tool_t  *t;

    for (t = ngx_http_runs_tools; t->name.len; t++) {
        if (t->name.len == name->len
            && ngx_strncmp(t->name.data, name->data, name->len) == 0)
        {
            return t->handler(r, ctx, m, args);
        }
    }

    return NGX_DECLINED;
}


/*
 * The agents there are: the registry's blueprints (with what they say
 * they are for) and the names runners online offer that the registry
 * does not hold
 */

static ngx_int_t
ngx_http_runs_tool_blueprints(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    ngx_str_t               err, none, *names, *tags;
    ngx_uint_t              i, k, n, nb, total, online, *count;
    ngx_array_t             agents;
    ngx_http_runs_out_t     o;
    ngx_http_runs_field_t   f[1];
    ngx_http_runs_bsnap_t  *bs;

    if (ngx_http_runs_tool_args(r, m, args, NULL, 0) != NGX_OK) {
        return NGX_OK;
    }

    ngx_str_null(&none);

    if (ngx_http_runs_store_blueprints(ctx->zone, &none, r->pool, &bs, &nb)
        != NGX_HTTP_RUNS_R_DONE
        || ngx_http_runs_tool_offered(r, ctx, &agents, &count, &tags,
                                      &online)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    names = agents.elts;
    n = agents.nelts;
    total = nb;

    for (k = 0; k < n; k++) {
        for (i = 0; i < nb; i++) {
            if (ngx_memn2cmp(bs[i].name.data, names[k].data, bs[i].name.len,
                             names[k].len) == 0)
            {
                break;
            }
        }

        /* offered by runners and in the registry: the registry's entry */
        if (i < nb) {
            count[k] = 0;

        } else {
            total++;
        }
    }

    ngx_http_runs_out_init(&o, r->pool, 512);
    ngx_http_runs_out_literal(&o, "{\"total\":");
    ngx_http_runs_out_number(&o, total);
    ngx_http_runs_out_literal(&o, ",\"agents\":[");

    for (i = 0; i < nb; i++) {
        f[0].key = "description";

        if (ngx_http_runs_json_read(r->pool, &bs[i].text, 0, f, 1, &err)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (i) {
            ngx_http_runs_out_literal(&o, ",");
        }

        ngx_http_runs_out_literal(&o, "{\"name\":");
        ngx_http_runs_out_str(&o, &bs[i].name);
        ngx_http_runs_out_literal(&o, ",\"description\":");
        ngx_http_runs_out_str(&o, &f[0].value);
        ngx_http_runs_out_literal(&o, ",\"tags\":[");
        ngx_http_runs_out_names(&o, &bs[i].tags);
        if (bs[i].inactive) {
            ngx_http_runs_out_literal(&o, "],\"active\":false");

        } else {
            ngx_http_runs_out_literal(&o, "],\"active\":true");
        }

        /*
         * the runners online that take its runs: all of them while it is
         * active (its run demands no agent of its runner), none while not
         */
        ngx_http_runs_out_literal(&o, ",\"source\":\"registry\",\"runners\":");
        ngx_http_runs_out_number(&o, bs[i].inactive ? 0 : online);
        ngx_http_runs_out_literal(&o, "}");
    }

    for (k = 0; k < n; k++) {
        if (count[k] == 0) {
            continue;
        }

        if (nb || k) {
            ngx_http_runs_out_literal(&o, ",");
        }

        ngx_http_runs_out_literal(&o, "{\"name\":");
        ngx_http_runs_out_str(&o, &names[k]);
        ngx_http_runs_out_literal(&o, ",\"description\":\"Offered by "
                                      "runners online (a blueprint of their "
                                      "own hosts)\",\"tags\":[");
        ngx_http_runs_out_names(&o, &tags[k]);
        ngx_http_runs_out_literal(&o, "],\"active\":true,"
                                      "\"source\":\"runner\",\"runners\":");
        ngx_http_runs_out_number(&o, count[k]);
        ngx_http_runs_out_literal(&o, "}");
    }

    ngx_http_runs_out_literal(&o, "]}");

    return ngx_http_runs_tool_json(m, &m->cur, &o);
}


/* an agent name a runner online lists */
typedef struct {
    ngx_str_t                   name;
    ngx_uint_t                  runner;     /* its index in the snapshot */
} ngx_http_runs_offer_t;


static int ngx_libc_cdecl
ngx_http_runs_offer_cmp(const void *one, const void *two)
{
    const ngx_http_runs_offer_t  *a = one, *b = two;

    ngx_int_t  rc;

    rc = ngx_memn2cmp(a->name.data, b->name.data, a->name.len, b->name.len);

    return rc ? (int) rc : (a->runner < b->runner ? -1 : 1);
}


/*
 * The agent names the runners online list, each once (sorted), with how
 * many runners list it and the tags of the first that does; and how many
 * runners are online
 */

static ngx_int_t
ngx_http_runs_tool_offered(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_array_t *agents, ngx_uint_t **count_out, ngx_str_t **tags_out,
    ngx_uint_t *online_out)
{
    u_char                     *p, *last, *comma;
    int64_t                     now;
    ngx_str_t                  *names, *tags;
    ngx_uint_t                  i, k, n, *count;
    ngx_array_t                 offers;
    ngx_http_runs_lsnap_t      *ls;
    ngx_http_runs_offer_t      *o;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    if (ngx_http_runs_store_launchers(ctx->zone, r->pool, &ls, &n)
        != NGX_HTTP_RUNS_R_DONE
        || ngx_array_init(&offers, r->pool, 16, sizeof(ngx_http_runs_offer_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    now = ngx_http_runs_now();
    *online_out = 0;

    for (i = 0; i < n; i++) {
        if (ls[i].deregister
            || now - ls[i].last_heartbeat
               > (int64_t) rmcf->limits.heartbeat_timeout)
        {
            continue;
        }

        (*online_out)++;

        p = ls[i].agents.data;
        last = p + ls[i].agents.len;

        while (p < last) {
            comma = ngx_strlchr(p, last, ',');

            o = ngx_array_push(&offers);
            if (o == NULL) {
                return NGX_ERROR;
            }

            o->name.data = p;
            o->name.len = (comma ? comma : last) - p;
            o->runner = i;

            p = comma ? comma + 1 : last;
        }
    }

    ngx_qsort(offers.elts, offers.nelts, sizeof(ngx_http_runs_offer_t),
              ngx_http_runs_offer_cmp);

    count = ngx_pcalloc(r->pool, (offers.nelts + 1) * sizeof(ngx_uint_t));
    tags = ngx_pcalloc(r->pool, (offers.nelts + 1) * sizeof(ngx_str_t));

    if (count == NULL || tags == NULL
        || ngx_array_init(agents, r->pool, offers.nelts + 1,
                          sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    o = offers.elts;

    for (i = 0; i < offers.nelts; i++) {
        names = agents->elts;
        k = agents->nelts;

        if (k == 0 || ngx_memn2cmp(names[k - 1].data, o[i].name.data,
                                   names[k - 1].len, o[i].name.len) != 0)
        {
            names = ngx_array_push(agents);
            *names = o[i].name;
            tags[k] = ls[o[i].runner].tags;
            k++;
        }

        count[k - 1]++;
    }

    *count_out = count;
    *tags_out = tags;

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_tool_sessions(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    u_char                 *p;
    ngx_str_t               id, any;
    ngx_uint_t              i, n;
    ngx_http_runs_out_t     o;
    ngx_http_runs_ssnap_t  *ss;

    if (ngx_http_runs_tool_args(r, m, args, NULL, 0) != NGX_OK) {
        return NGX_OK;
    }

    ngx_str_null(&any);

    if (ngx_http_runs_store_sessions(ctx->zone, -1, &any, ctx->scope,
                                     NGX_HTTP_RUNS_LIST_MAX, r->pool, &ss,
                                     &n)
        != NGX_HTTP_RUNS_R_DONE)
    {
        return NGX_ERROR;
    }

    ngx_http_runs_out_init(&o, r->pool, 256 * (n + 1));

    p = ngx_http_runs_out_reserve(&o, 64);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_runs_out_commit(&o, ngx_sprintf(p, "{\"total\":%ui,"
                                                "\"sessions\":[", n));

    for (i = 0; i < n; i++) {
        if (i) {
            ngx_http_runs_out_literal(&o, ",");
        }

        ngx_http_runs_out_literal(&o, "{\"name\":");
        ngx_http_runs_out_str(&o, &ss[i].name);
        ngx_http_runs_out_literal(&o, ",\"session_id\":");
        id.data = ss[i].id;
        id.len = NGX_HTTP_RUNS_SESSION_ID_LEN;
        ngx_http_runs_out_str(&o, &id);
        ngx_http_runs_out_literal(&o, ",\"project_dir\":");
        ngx_http_runs_out_str(&o, &ss[i].project_dir);
        ngx_http_runs_out_literal(&o, ",\"agent_blueprint_name\":");
        ngx_http_runs_out_str(&o, &ss[i].agent_name);
        ngx_http_runs_out_literal(&o, ",\"parent_session_name\":");
        ngx_http_runs_out_str(&o, &ss[i].parent);
        ngx_http_runs_out_literal(&o, ",");
        ngx_http_runs_tool_status_text(&o, ss[i].status);
        ngx_http_runs_out_literal(&o, "}");
    }

    ngx_http_runs_out_literal(&o, "]}");

    return ngx_http_runs_tool_json(m, &m->cur, &o);
}


static ngx_int_t
ngx_http_runs_tool_start(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    return ngx_http_runs_tool_run(r, ctx, m, args, NGX_HTTP_RUNS_START);
}


static ngx_int_t
ngx_http_runs_tool_resume(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    return ngx_http_runs_tool_run(r, ctx, m, args, NGX_HTTP_RUNS_RESUME);
}


/* a start or a resume: the run made, then held for, or told of */

static ngx_int_t
ngx_http_runs_tool_run(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args, ngx_uint_t type)
{
    ngx_int_t                  rc;
    ngx_uint_t                 async, callback, n;
    ngx_http_runs_ssnap_t      ss;
    ngx_http_runs_field_t      f[6];
    ngx_http_runs_create_t     cr;
    ngx_http_runs_loc_conf_t  *rlcf;
    u_char                     id[NGX_HTTP_RUNS_RUN_ID_LEN];

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_runs_module);

    f[0].key = "session_name";
    f[1].key = "prompt";
    f[2].key = "async_mode";
    f[3].key = "callback";
    f[4].key = "agent_blueprint_name";
    f[5].key = "project_dir";

    n = (type == NGX_HTTP_RUNS_START) ? 6 : 4;

    if (ngx_http_runs_tool_args(r, m, args, f, n) != NGX_OK) {
        return NGX_OK;
    }

    ngx_memzero(&cr, sizeof(ngx_http_runs_create_t));
    cr.type = type;
    cr.affinity = 1;
    cr.scope = ctx->scope;
    async = 0;
    callback = 0;

    rc = ngx_http_runs_tool_run_args(r, m, f, n, &cr, &async, &callback);
    if (rc != NGX_OK) {
        /* the call's error result is written */
        return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
    }

    if (!async && m->held) {
        return ngx_http_runs_tool_say(r, m, 1, "One call of a batch may wait "
                   "for its run: use async_mode for the others");
    }

    if (callback) {
        /* the caller's session must be there to be resumed */
        switch (ngx_http_runs_store_session(ctx->zone, NULL, &cr.parent,
                                            ctx->scope, r->pool, &ss))
        {
        case NGX_HTTP_RUNS_R_DONE:
            break;

        case NGX_HTTP_RUNS_R_NO_MEMORY:
            return NGX_ERROR;

        default:
            return ngx_http_runs_tool_say(r, m, 1, "Session '%V' (the "
                       "X-Agent-Session-Name header) does not exist: a "
                       "callback would have no session to resume",
                       &cr.parent);
        }
    }

    switch (ngx_http_runs_store_create(ctx->zone, &cr, id)) {

    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_SESSION_EXISTS:
        return ngx_http_runs_tool_say(r, m, 1, "Session '%V' already exists: "
                   "resume it with resume_agent_session, or choose another "
                   "name", &cr.session_name);

    case NGX_HTTP_RUNS_R_NO_SESSION:
        return ngx_http_runs_tool_say(r, m, 1, "Session '%V' does not exist: "
                   "start it with start_agent_session first",
                   &cr.session_name);

    case NGX_HTTP_RUNS_R_LOOP:
        return ngx_http_runs_tool_say(r, m, 1, "Session '%V' would be its own "
                   "ancestor through '%V': callbacks would loop",
                   &cr.session_name, &cr.parent);

    case NGX_HTTP_RUNS_R_INACTIVE:
        return ngx_http_runs_tool_say(r, m, 1, "The agent blueprint of "
                   "session '%V' is inactive: see list_agent_blueprints",
                   &cr.session_name);

    case NGX_HTTP_RUNS_R_OTHER_PARENT:
        return ngx_http_runs_tool_say(r, m, 1, "Session '%V' has another "
                   "parent: its callbacks go there, not to '%V'",
                   &cr.session_name, &cr.parent);

    default:
        return ngx_http_runs_tool_say(r, m, 1, "The coordinator is full: "
                   "no run can be made now; try again later");
    }

    if (!async) {
        return ngx_http_runs_tool_wait(r, ctx, m, id,
                                       NGX_HTTP_RUNS_MCP_WAIT_RESULT,
                                       &cr.session_name, rlcf->mcp_timeout);
    }

    return ngx_http_runs_tool_say(r, m, 0, "Session '%V' %s in the "
               "background (run %*s). %s", &cr.session_name,
               type == NGX_HTTP_RUNS_START ? "started" : "resumed",
               (size_t) NGX_HTTP_RUNS_RUN_ID_LEN, id,
               callback ? "When it ends, your session is resumed with its "
                          "answer."
                        : "Read its answer with get_agent_session_result "
                          "once get_agent_session_status says finished.");
}


/* a start's or resume's arguments into cr; NGX_DECLINED: told why not */

static ngx_int_t
ngx_http_runs_tool_run_args(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_http_runs_field_t *f, ngx_uint_t n, ngx_http_runs_create_t *cr,
    ngx_uint_t *async_out, ngx_uint_t *callback_out)
{
    ngx_str_t         err;
    ngx_uint_t        async, callback;
    ngx_table_elt_t  *caller;

    async = 0;
    callback = 0;

    if (ngx_http_runs_tool_session_name(r, m, &f[0], &cr->session_name)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (ngx_http_runs_field_str(r->pool, &f[1], 1, &cr->prompt, &err)
        != NGX_OK
        || cr->prompt.len == 0)
    {
        return ngx_http_runs_tool_said(r, m, 1, "Argument 'prompt' is "
                                      "required: a non-empty string");
    }

    if (ngx_http_runs_field_bool(r->pool, &f[2], &async, &err) != NGX_OK
        || ngx_http_runs_field_bool(r->pool, &f[3], &callback, &err)
           != NGX_OK)
    {
        return ngx_http_runs_tool_said(r, m, 1, "%V", &err);
    }

    if (n == 6
        && ((ngx_http_runs_field_str(r->pool, &f[4], 0, &cr->agent_name, &err)
             != NGX_OK
             || (cr->agent_name.data
                 && ngx_http_runs_check_name(r->pool, "agent_blueprint_name",
                                             &cr->agent_name, &err) != NGX_OK)
             || ngx_http_runs_check_policy(r, "agent_blueprint_name",
                                           &cr->agent_name, &err) != NGX_OK)
            || ngx_http_runs_field_str(r->pool, &f[5], 0, &cr->project_dir,
                                       &err) != NGX_OK
            || ngx_http_runs_check_path(r->pool, "project_dir",
                                        &cr->project_dir, &err) != NGX_OK))
    {
        return ngx_http_runs_tool_said(r, m, 1, "%V", &err);
    }

    if (callback) {
        if (!async) {
            return ngx_http_runs_tool_said(r, m, 1, "Argument 'callback' "
                       "needs 'async_mode': true (a sync call gets the "
                       "answer itself)");
        }

        caller = ngx_http_runs_mcp_caller(r);

        if (caller == NULL || caller->value.len == 0) {
            return ngx_http_runs_tool_said(r, m, 1, "A callback goes to the "
                       "session of the agent calling: this request has no "
                       "X-Agent-Session-Name header");
        }

        cr->parent = caller->value;

        if (ngx_http_runs_check_name(r->pool, "X-Agent-Session-Name",
                                     &cr->parent, &err) != NGX_OK)
        {
            return ngx_http_runs_tool_said(r, m, 1, "%V", &err);
        }
    }

    *async_out = async;
    *callback_out = callback;

    return NGX_OK;
}


/*
 * Holds the call on run "run_id" for up to ms: answered by
 * ngx_http_runs_mcp_ended() when the run ends or the time is up (at once
 * when it has ended already, or no more may be held).
 */

static ngx_int_t
ngx_http_runs_tool_wait(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, u_char *run_id, ngx_uint_t what,
    ngx_str_t *session, ngx_msec_t ms)
{
    uint64_t                    id;
    ngx_str_t                   v;
    ngx_uint_t                  refused;
    ngx_pool_cleanup_t         *cln;
    ngx_http_runs_snap_t        snap;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    v.data = run_id;
    v.len = NGX_HTTP_RUNS_RUN_ID_LEN;

    if (ngx_http_runs_parse_id(&v, "run_", &id) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the hold's cleanup (ngx_http_runs_hold()), made before the waiter */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    ctx->hold.kind = NGX_HTTP_RUNS_WAIT_RUN;
    refused = NGX_HTTP_RUNS_REFUSED_N;

    switch (ngx_http_runs_store_get(ctx->zone, &rmcf->limits, &ctx->hold, id,
                                    ms != 0, &snap, &refused))
    {
    case NGX_HTTP_RUNS_R_HOLD:
        /* what the answer needs once the run ends */
        m->held = what;
        m->held_id = m->cur;
        m->held_session = *session;
        m->wait_ms = ms;
        m->cln = cln;
        return NGX_AGAIN;

    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_RUN:
        ngx_http_runs_mcp_ended(r, m, &m->cur, what, session, 0, NULL);
        return NGX_OK;

    default:
        return NGX_ERROR;
    }

    /* ended already, or no room to wait (counted, not answered 503) */
    if (refused != NGX_HTTP_RUNS_REFUSED_N) {
        ngx_http_runs_refused(ctx->zone, refused, r->connection->log);
    }

    ngx_http_runs_mcp_ended(r, m, &m->cur, what, session, 0, &snap);

    return NGX_OK;
}


/*
 * The answer of call "id" that waited (waited ms; 0: it could not, or
 * did not need to) for session's run: the run as it is now (NULL: gone)
 */

void
ngx_http_runs_mcp_ended(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id, ngx_uint_t what, ngx_str_t *name,
    ngx_msec_t waited, ngx_http_runs_snap_t *snap)
{
    u_char               *p;
    ngx_str_t             text;
    ngx_http_runs_out_t   o;

    if (what == NGX_HTTP_RUNS_MCP_WAIT_STATUS) {
        ngx_http_runs_out_init(&o, r->pool, 128);
        ngx_http_runs_out_literal(&o, "{");
        ngx_http_runs_tool_status_text(&o, snap
                                           ? ngx_http_runs_session_status(
                                                 snap->status)
                                           : NGX_HTTP_RUNS_NSTATUS);
        ngx_http_runs_out_literal(&o, "}");
        (void) ngx_http_runs_tool_json(m, id, &o);
        return;
    }

    if (snap == NULL) {
        (void) ngx_http_runs_tool_sayid(r, m, id, 1, "Session '%V': its run "
                   "was removed before it ended", name);
        return;
    }

    switch (snap->status) {

    case NGX_HTTP_RUNS_COMPLETED:
        text = snap->result;
        if (text.data == NULL) {
            ngx_str_set(&text, "");
        }

        ngx_http_runs_tool_text(m, id, &text, 0);
        return;

    case NGX_HTTP_RUNS_FAILED:
        /* the runner's error whole, after the words */
        text.len = sizeof("Session '' failed: ") - 1 + name->len
                   + snap->error.len;
        text.data = ngx_pnalloc(r->pool, text.len);
        if (text.data == NULL) {
            m->out.failed = 1;
            return;
        }

        p = ngx_sprintf(text.data, "Session '%V' failed: ", name);

        if (snap->error.len) {
            ngx_memcpy(p, snap->error.data, snap->error.len);
        }

        ngx_http_runs_tool_text(m, id, &text, 1);
        return;

    case NGX_HTTP_RUNS_STOPPED:
        (void) ngx_http_runs_tool_sayid(r, m, id, 1, "Session '%V' was "
                                        "stopped", name);
        return;

    default:
        if (waited == 0) {
            (void) ngx_http_runs_tool_sayid(r, m, id, 0, "Session '%V' is "
                       "running; no more calls can wait for their runs "
                       "now (runs_max_waits): its answer will be kept. "
                       "Wait with get_agent_session_status "
                       "(wait_seconds), then read it with "
                       "get_agent_session_result.", name);
            return;
        }

        (void) ngx_http_runs_tool_sayid(r, m, id, 0, "Session '%V' is still "
                   "running after %M s (runs_mcp_timeout): its answer will "
                   "be kept. Wait with get_agent_session_status "
                   "(wait_seconds), then read it with "
                   "get_agent_session_result.", name, waited / 1000);
    }
}


static ngx_int_t
ngx_http_runs_tool_status(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    ngx_int_t               wait;
    ngx_str_t               name;
    ngx_http_runs_out_t     o;
    ngx_http_runs_field_t   f[2];
    ngx_http_runs_ssnap_t   ss;

    f[0].key = "session_name";
    f[1].key = "wait_seconds";

    if (ngx_http_runs_tool_args(r, m, args, f, 2) != NGX_OK
        || ngx_http_runs_tool_session_name(r, m, &f[0], &name) != NGX_OK)
    {
        return NGX_OK;
    }

    wait = 0;

    if (f[1].type == NGX_HTTP_RUNS_JSON_INTEGER) {
        wait = ngx_atoi(f[1].value.data, f[1].value.len);
    }

    if ((f[1].type != NGX_HTTP_RUNS_JSON_ABSENT
         && f[1].type != NGX_HTTP_RUNS_JSON_INTEGER)
        || wait == NGX_ERROR || wait > 300)
    {
        return ngx_http_runs_tool_say(r, m, 1, "Argument 'wait_seconds' "
                                      "must be an integer from 0 to 300");
    }

    switch (ngx_http_runs_store_session(ctx->zone, NULL, &name, ctx->scope,
                                        r->pool, &ss))
    {
    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_MEMORY:
        return NGX_ERROR;

    default:
        ngx_http_runs_out_init(&o, r->pool, 64);
        ngx_http_runs_out_literal(&o, "{");
        ngx_http_runs_tool_status_text(&o, NGX_HTTP_RUNS_NSTATUS);
        ngx_http_runs_out_literal(&o, "}");
        return ngx_http_runs_tool_json(m, &m->cur, &o);
    }

    if (wait && !ngx_http_runs_is_terminal(ss.status) && !m->held) {
        return ngx_http_runs_tool_wait(r, ctx, m, ss.last_run_id,
                                       NGX_HTTP_RUNS_MCP_WAIT_STATUS, &name,
                                       (ngx_msec_t) wait * 1000);
    }

    ngx_http_runs_out_init(&o, r->pool, 64);
    ngx_http_runs_out_literal(&o, "{");
    ngx_http_runs_tool_status_text(&o, ss.status);
    ngx_http_runs_out_literal(&o, "}");

    return ngx_http_runs_tool_json(m, &m->cur, &o);
}


/* "status" (running, finished, not_existent) and the run's; NSTATUS: none */

static void
ngx_http_runs_tool_status_text(ngx_http_runs_out_t *o, ngx_uint_t status)
{
    if (status == NGX_HTTP_RUNS_NSTATUS) {
        ngx_http_runs_out_literal(o, "\"status\":\"not_existent\"");
        return;
    }

    if (ngx_http_runs_is_terminal(status)) {
        ngx_http_runs_out_literal(o, "\"status\":\"finished\"");

    } else {
        ngx_http_runs_out_literal(o, "\"status\":\"running\"");
    }

    ngx_http_runs_out_literal(o, ",\"run_status\":\"");
    ngx_http_runs_out_raw(o, ngx_http_runs_status_names[status].data,
                          ngx_http_runs_status_names[status].len);
    ngx_http_runs_out_literal(o, "\"");
}


static ngx_int_t
ngx_http_runs_tool_result(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    uint64_t                    sid[2], id;
    ngx_str_t                   name, v;
    ngx_uint_t                  refused;
    ngx_http_runs_snap_t        snap;
    ngx_http_runs_field_t       f[1];
    ngx_http_runs_ssnap_t       ss;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    f[0].key = "session_name";

    if (ngx_http_runs_tool_args(r, m, args, f, 1) != NGX_OK
        || ngx_http_runs_tool_session_name(r, m, &f[0], &name) != NGX_OK)
    {
        return NGX_OK;
    }

    switch (ngx_http_runs_tool_find(r, ctx, m, &name, &ss, sid)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return NGX_OK;
    default:
        return NGX_ERROR;
    }

    /* the session's latest run: its answer once it has ended */

    v.data = ss.last_run_id;
    v.len = NGX_HTTP_RUNS_RUN_ID_LEN;

    if (ngx_http_runs_parse_id(&v, "run_", &id) != NGX_OK
        || ngx_http_runs_store_get(ctx->zone, &rmcf->limits, &ctx->hold, id, 0,
                                   &snap, &refused)
           != NGX_HTTP_RUNS_R_DONE)
    {
        return ngx_http_runs_tool_say(r, m, 1, "Session '%V' has no run "
                                      "left to answer", &name);
    }

    if (!ngx_http_runs_is_terminal(snap.status)) {
        return ngx_http_runs_tool_say(r, m, 1, "Session '%V' is still "
                   "running: wait with get_agent_session_status "
                   "(wait_seconds), then ask again", &name);
    }

    ngx_http_runs_mcp_ended(r, m, &m->cur, NGX_HTTP_RUNS_MCP_WAIT_RESULT,
                            &name, 0, &snap);

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_tool_delete_all(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    uint64_t                sid[2];
    ngx_str_t               id, any;
    ngx_uint_t              i, n, deleted, kept, nruns, found;
    ngx_array_t             stopped, cancelled;
    ngx_http_runs_ssnap_t  *ss;

    if (ngx_http_runs_tool_args(r, m, args, NULL, 0) != NGX_OK) {
        return NGX_OK;
    }

    ngx_str_null(&any);

    if (ngx_http_runs_store_sessions(ctx->zone, -1, &any, ctx->scope,
                                     NGX_HTTP_RUNS_LIST_MAX, r->pool, &ss,
                                     &n)
        != NGX_HTTP_RUNS_R_DONE)
    {
        return NGX_ERROR;
    }

    deleted = 0;
    kept = 0;

    for (i = 0; i < n; i++) {
        id.data = ss[i].id;
        id.len = NGX_HTTP_RUNS_SESSION_ID_LEN;

        if (ngx_http_runs_parse_sid(&id, sid) != NGX_OK) {
            continue;
        }

        found = ngx_http_runs_store_session_delete(ctx->zone, sid, ctx->scope,
                                                   &nruns);

        if (found == NGX_HTTP_RUNS_R_ACTIVE) {
            /* a run held by a runner: told to stop, then tried again */
            if (ngx_array_init(&stopped, r->pool, 2, sizeof(ngx_str_t))
                != NGX_OK
                || ngx_array_init(&cancelled, r->pool, 2, sizeof(ngx_str_t))
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            (void) ngx_http_runs_store_session_stop(ctx->zone, sid,
                                                    ctx->scope, r->pool,
                                                    &stopped, &cancelled);

            found = ngx_http_runs_store_session_delete(ctx->zone, sid,
                                                       ctx->scope, &nruns);
            kept += (found == NGX_HTTP_RUNS_R_ACTIVE);
        }

        deleted += (found == NGX_HTTP_RUNS_R_DONE);
    }

    if (kept) {
        return ngx_http_runs_tool_say(r, m, 0, "Deleted %ui session%s; %ui "
                   "with runs their runners are stopping %s kept until "
                   "they end (delete again then)", deleted,
                   deleted == 1 ? "" : "s", kept, kept == 1 ? "is" : "are");
    }

    return ngx_http_runs_tool_say(r, m, 0, "Deleted %ui session%s",
                                  deleted, deleted == 1 ? "" : "s");
}


static ngx_int_t
ngx_http_runs_tool_stop(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *args)
{
    uint64_t                sid[2];
    ngx_str_t               name;
    ngx_array_t             stopped, cancelled;
    ngx_http_runs_field_t   f[1];
    ngx_http_runs_ssnap_t   ss;

    f[0].key = "session_name";

    if (ngx_http_runs_tool_args(r, m, args, f, 1) != NGX_OK
        || ngx_http_runs_tool_session_name(r, m, &f[0], &name) != NGX_OK)
    {
        return NGX_OK;
    }

    switch (ngx_http_runs_tool_find(r, ctx, m, &name, &ss, sid)) {
    case NGX_OK:
        break;
    case NGX_DECLINED:
        return NGX_OK;
    default:
        return NGX_ERROR;
    }

    if (ngx_array_init(&stopped, r->pool, 2, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&cancelled, r->pool, 2, sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    switch (ngx_http_runs_store_session_stop(ctx->zone, sid, ctx->scope,
                                             r->pool, &stopped, &cancelled))
    {
    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_MEMORY:
        return NGX_ERROR;

    default:
        return ngx_http_runs_tool_say(r, m, 1, "Session '%V' does not exist",
                                      &name);
    }

    return ngx_http_runs_tool_say(r, m, 0, "Session '%V': %ui run%s told to "
               "stop, %ui waiting run%s cancelled", &name, stopped.nelts,
               stopped.nelts == 1 ? "" : "s", cancelled.nelts,
               cancelled.nelts == 1 ? "" : "s");
}


/*
 * A call's arguments: an object of the members asked for and no other;
 * else the call's error result is written and NGX_DECLINED returned.
 */

static ngx_int_t
ngx_http_runs_tool_args(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_str_t *args, ngx_http_runs_field_t *f, ngx_uint_t n)
{
    ngx_int_t              rc;
    ngx_str_t              err;
    ngx_http_runs_field_t  none;

    rc = ngx_http_runs_json_read_known(r->pool, args, "arguments",
                                       n ? f : &none, n, &err);

    if (rc == NGX_OK) {
        return NGX_OK;
    }

    (void) ngx_http_runs_tool_say(r, m, 1, "%V", &err);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_runs_tool_session_name(ngx_http_request_t *r,
    ngx_http_runs_mcp_t *m, ngx_http_runs_field_t *f, ngx_str_t *name)
{
    ngx_str_t  err;

    if (ngx_http_runs_field_str(r->pool, f, 1, name, &err) != NGX_OK
        || ngx_http_runs_check_name(r->pool, "session_name", name, &err)
           != NGX_OK
        || ngx_http_runs_check_policy(r, "session_name", name, &err)
           != NGX_OK)
    {
        (void) ngx_http_runs_tool_say(r, m, 1, "%V", &err);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* a session by name, in the client's scope: NGX_DECLINED, told it is not */

static ngx_int_t
ngx_http_runs_tool_find(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_mcp_t *m, ngx_str_t *name, ngx_http_runs_ssnap_t *ss,
    uint64_t *sid)
{
    ngx_str_t  id;

    switch (ngx_http_runs_store_session(ctx->zone, NULL, name, ctx->scope,
                                        r->pool, ss))
    {
    case NGX_HTTP_RUNS_R_DONE:
        break;

    case NGX_HTTP_RUNS_R_NO_MEMORY:
        return NGX_ERROR;

    default:
        (void) ngx_http_runs_tool_say(r, m, 1, "Session '%V' does not exist",
                                      name);
        return NGX_DECLINED;
    }

    id.data = ss->id;
    id.len = NGX_HTTP_RUNS_SESSION_ID_LEN;

    return ngx_http_runs_parse_sid(&id, sid) == NGX_OK ? NGX_OK : NGX_ERROR;
}


/* a result of one text content */

static void
ngx_http_runs_tool_text(ngx_http_runs_mcp_t *m, ngx_http_runs_mcp_id_t *id,
    ngx_str_t *text, ngx_uint_t error)
{
    ngx_http_runs_mcp_result(m, id);
    ngx_http_runs_out_literal(&m->out, "{\"content\":[{\"type\":\"text\","
                                       "\"text\":");
    ngx_http_runs_out_str(&m->out, text);

    if (error) {
        ngx_http_runs_out_literal(&m->out, "}],\"isError\":true}}");

    } else {
        ngx_http_runs_out_literal(&m->out, "}],\"isError\":false}}");
    }
}


/*
 * A result of words (names and numbers in them: short, whole characters;
 * a text of unbounded length goes through ngx_http_runs_tool_text())
 */

static ngx_int_t
ngx_http_runs_tool_say(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_uint_t error, const char *fmt, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, fmt);
    rc = ngx_http_runs_tool_vsay(r, m, &m->cur, error, fmt, args);
    va_end(args);

    return rc;
}


static ngx_int_t
ngx_http_runs_tool_sayid(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id, ngx_uint_t error, const char *fmt, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, fmt);
    rc = ngx_http_runs_tool_vsay(r, m, id, error, fmt, args);
    va_end(args);

    return rc;
}


/* an error result written; NGX_DECLINED (NGX_ERROR: no memory) */

static ngx_int_t
ngx_http_runs_tool_said(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_uint_t error, const char *fmt, ...)
{
    va_list    args;
    ngx_int_t  rc;

    va_start(args, fmt);
    rc = ngx_http_runs_tool_vsay(r, m, &m->cur, error, fmt, args);
    va_end(args);

    return rc == NGX_OK ? NGX_DECLINED : rc;
}


static ngx_int_t
ngx_http_runs_tool_vsay(ngx_http_request_t *r, ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id, ngx_uint_t error, const char *fmt,
    va_list args)
{
    u_char     *p;
    ngx_str_t   text;

    p = ngx_pnalloc(r->pool, NGX_MAX_ERROR_STR);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text.len = ngx_vslprintf(p, p + NGX_MAX_ERROR_STR, fmt, args) - p;
    text.data = p;

    ngx_http_runs_tool_text(m, id, &text, error);

    return NGX_OK;
}


/* a JSON document as a result's text */

static ngx_int_t
ngx_http_runs_tool_json(ngx_http_runs_mcp_t *m, ngx_http_runs_mcp_id_t *id,
    ngx_http_runs_out_t *o)
{
    u_char       *p;
    ngx_str_t     text;
    ngx_chain_t  *cl;

    if (o->failed) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(o->pool, o->len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text.data = p;

    for (cl = o->first; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    text.len = p - text.data;

    ngx_http_runs_tool_text(m, id, &text, 0);

    return NGX_OK;
}
