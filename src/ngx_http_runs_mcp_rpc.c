
/*
 * The MCP server's JSON-RPC writing, shared by the transport
 * (ngx_http_runs_mcp.c) and the tools (ngx_http_runs_mcp_tools.c): a
 * response's head with its id, a whole error response, and the request
 * headers both read.
 */


#include "ngx_http_runs.h"


static void ngx_http_runs_mcp_id(ngx_http_runs_mcp_t *m,
    ngx_http_runs_mcp_id_t *id);


/* the start of a response: {"jsonrpc":"2.0","id":ID,"result": */

void
ngx_http_runs_mcp_result(ngx_http_runs_mcp_t *m, ngx_http_runs_mcp_id_t *id)
{
    if (m->nanswers++) {
        ngx_http_runs_out_literal(&m->out, ",");
    }

    ngx_http_runs_out_literal(&m->out, "{\"jsonrpc\":\"2.0\",\"id\":");
    ngx_http_runs_mcp_id(m, id);
    ngx_http_runs_out_literal(&m->out, ",\"result\":");
}


static void
ngx_http_runs_mcp_id(ngx_http_runs_mcp_t *m, ngx_http_runs_mcp_id_t *id)
{
    if (id == NULL) {
        ngx_http_runs_out_literal(&m->out, "null");

    } else if (id->string) {
        ngx_http_runs_out_str(&m->out, &id->text);

    } else {
        ngx_http_runs_out_raw(&m->out, id->text.data, id->text.len);
    }
}


/* a whole error response; idm NULL: no id (null) */

void
ngx_http_runs_mcp_error(ngx_http_runs_mcp_t *m, ngx_http_runs_mcp_id_t *id,
    ngx_int_t code, const char *message)
{
    u_char     *p;
    ngx_str_t   s;

    if (m->nanswers++) {
        ngx_http_runs_out_literal(&m->out, ",");
    }

    ngx_http_runs_out_literal(&m->out, "{\"jsonrpc\":\"2.0\",\"id\":");
    ngx_http_runs_mcp_id(m, id);

    p = ngx_http_runs_out_reserve(&m->out, 32);
    if (p == NULL) {
        return;
    }

    ngx_http_runs_out_commit(&m->out, ngx_sprintf(p, ",\"error\":{\"code\":%i,"
                                                     "\"message\":", code));

    s.data = (u_char *) message;
    s.len = ngx_strlen(message);
    ngx_http_runs_out_str(&m->out, &s);
    ngx_http_runs_out_literal(&m->out, "}}");
}


ngx_table_elt_t *
ngx_http_runs_mcp_header(ngx_http_request_t *r, const char *name, size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/* X-Agent-Session-Name: the session of the agent calling, for callbacks */

ngx_table_elt_t *
ngx_http_runs_mcp_caller(ngx_http_request_t *r)
{
    return ngx_http_runs_mcp_header(r, "X-Agent-Session-Name",
                                    sizeof("X-Agent-Session-Name") - 1);
}
