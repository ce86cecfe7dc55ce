
/*
 * runs_events_api: the zone's changes as Server-Sent Events (GET /events),
 * a stream kind of held request.  Each change to a run, a session or a
 * runner made in any worker is sent as an event named for its kind, with
 * the change's zone-wide number as its id and the ids of what changed as
 * its JSON data.  A client that reconnects with Last-Event-ID is sent
 * what it missed from the zone's ring, or a "reset" event when that is no
 * longer there.  A stream reads at most one buffer of events per turn
 * under the zone's lock, and reads again only once the client has taken
 * what was sent; an idle stream is sent a comment every
 * runs_events_heartbeat.
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_EVENTS_BATCH  64
#define NGX_HTTP_RUNS_EVENT_LEN     384     /* one event, written */


typedef struct {
    ngx_http_runs_efilter_t     filter;
    uint64_t                    pos;        /* the last change looked at */
    ngx_http_runs_event_t      *evs;        /* a read's events */
    ngx_buf_t                  *out;
    ngx_event_t                 beat;       /* the idle comment's timer */
    ngx_msec_t                  heartbeat;
    unsigned                    reset:1;    /* a reset is to be sent */
} ngx_http_runs_estream_t;


static ngx_int_t ngx_http_runs_events_open(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_events_args(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_http_runs_estream_t *es);
static ngx_int_t ngx_http_runs_events_headers(ngx_http_request_t *r);
static void ngx_http_runs_events_pump(ngx_http_runs_ctx_t *ctx);
static ngx_int_t ngx_http_runs_events_send(ngx_http_runs_ctx_t *ctx,
    ngx_uint_t n);
static u_char *ngx_http_runs_event_write(u_char *p,
    ngx_http_runs_event_t *ev);
static void ngx_http_runs_events_beat(ngx_event_t *ev);
static void ngx_http_runs_events_cleanup(ngx_http_runs_ctx_t *ctx);


ngx_http_runs_route_t  ngx_http_runs_events_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_events_open,
      0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


/* answered many times: each wake-up, each time the client took a piece */
ngx_http_runs_held_kind_t  ngx_http_runs_held_events = {
    NGX_HTTP_RUNS_WAIT_EVENTS,
    ngx_http_runs_events_pump,
    ngx_http_runs_events_cleanup,
    0,
    1,
    0
};


/* by ngx_http_runs_etype_e */
static ngx_str_t  ngx_http_runs_event_names[] = {
    ngx_string("run.created"),
    ngx_string("run.requeued"),
    ngx_string("run.claimed"),
    ngx_string("run.started"),
    ngx_string("run.stopping"),
    ngx_string("run.completed"),
    ngx_string("run.failed"),
    ngx_string("run.stopped"),
    ngx_string("run.result"),
    ngx_string("session.created"),
    ngx_string("session.deleted"),
    ngx_string("launcher.registered"),
    ngx_string("launcher.stale"),
    ngx_string("launcher.online"),
    ngx_string("launcher.removed"),
    ngx_string("agent.created"),
    ngx_string("agent.updated"),
    ngx_string("agent.deleted")
};


static ngx_int_t
ngx_http_runs_events_open(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_int_t                   rc;
    ngx_uint_t                  found, refused, n;
    ngx_pool_cleanup_t         *cln;
    ngx_http_runs_estream_t    *es;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    es = ngx_pcalloc(r->pool, sizeof(ngx_http_runs_estream_t));
    if (es == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_runs_events_args(r, ctx, es);
    if (rc != NGX_DECLINED) {
        /* answered */
        return rc;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    es->evs = ngx_palloc(r->pool, NGX_HTTP_RUNS_EVENTS_BATCH
                                  * sizeof(ngx_http_runs_event_t));
    es->out = ngx_create_temp_buf(r->pool, NGX_HTTP_RUNS_EVENTS_BATCH
                                           * NGX_HTTP_RUNS_EVENT_LEN);
    if (es->evs == NULL || es->out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    es->heartbeat = rmcf->events_heartbeat;
    ctx->state = es;
    ctx->hold.kind = NGX_HTTP_RUNS_WAIT_EVENTS;

    /* the first read makes the stream's waiter: a cap may refuse it */

    refused = NGX_HTTP_RUNS_REFUSED_N;

    found = ngx_http_runs_store_events_read(ctx->zone, &rmcf->limits,
                                            &ctx->hold, &es->filter,
                                            &es->pos, es->evs, 0, &n,
                                            &refused);

    if (found == NGX_HTTP_RUNS_R_REFUSED) {
        return ngx_http_runs_send_refused(r, ctx->zone, refused);
    }

    es->reset = (found == NGX_HTTP_RUNS_R_RESET);

    rc = ngx_http_runs_events_headers(r);

    if (rc != NGX_ERROR && rc <= NGX_OK && !r->header_only) {
        /* the headers go now, not with the first event */
        rc = ngx_http_send_special(r, NGX_HTTP_FLUSH);
    }

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        /* not held: its waiter goes here (a HEAD ends with the headers) */
        ngx_http_runs_unwait(ctx);
        return rc;
    }

    es->beat.handler = ngx_http_runs_events_beat;
    es->beat.data = ctx;
    es->beat.log = r->connection->log;
    es->beat.cancelable = 1;

    if (es->heartbeat) {
        ngx_add_timer(&es->beat, es->heartbeat);
    }

    rc = ngx_http_runs_hold(r, ctx, &ngx_http_runs_held_events, cln, 0);

    /* what there is to send (a replay, a reset) goes once this turn ends */
    ngx_post_event(r->connection->write, &ngx_posted_events);

    return rc;
}


/*
 * The filters (?session_id=, ?run_id=, both or none) and where the
 * stream begins: after Last-Event-ID (or ?last_event_id=, for clients
 * that cannot send the header), else with the next change.  NGX_DECLINED:
 * the stream goes on; else the request was answered.
 */

static ngx_int_t
ngx_http_runs_events_args(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_http_runs_estream_t *es)
{
    ngx_str_t                v, *last;
    ngx_uint_t               i, found;
    ngx_list_part_t         *part;
    ngx_table_elt_t         *h;
    ngx_http_runs_ssnap_t    ss;

    if (ngx_http_runs_get_arg(r, "run_id", 6, &v) == NGX_OK) {
        if (ngx_http_runs_parse_id(&v, "run_", &es->filter.run) != NGX_OK
            || ngx_http_runs_store_run_seen(ctx->zone, es->filter.run,
                                            ctx->scope)
               != NGX_HTTP_RUNS_R_DONE)
        {
            return ngx_http_runs_send_no_run(r);
        }

        es->filter.by_run = 1;
    }

    if (ngx_http_runs_get_arg(r, "session_id", 10, &v) == NGX_OK) {
        found = NGX_HTTP_RUNS_R_NO_SESSION;

        if (ngx_http_runs_parse_sid(&v, es->filter.sid) == NGX_OK) {
            found = ngx_http_runs_store_session(ctx->zone, es->filter.sid,
                                                NULL, ctx->scope, r->pool,
                                                &ss);
        }

        if (found == NGX_HTTP_RUNS_R_NO_MEMORY) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (found != NGX_HTTP_RUNS_R_DONE) {
            return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                             "Session not found");
        }

        es->filter.by_session = 1;
    }

    es->filter.scope = ctx->scope;
    es->pos = NGX_HTTP_RUNS_EV_NOW;

    last = NULL;

    if (ngx_http_runs_get_arg(r, "last_event_id", 13, &v) == NGX_OK) {
        last = &v;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Last-Event-ID") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Last-Event-ID",
                               sizeof("Last-Event-ID") - 1)
               == 0)
        {
            last = &h[i].value;
        }
    }

    if (last == NULL || last->len == 0) {
        return NGX_DECLINED;
    }

    /* an id this zone cannot have given is told to start again */
    if (last->len > NGX_INT64_LEN
        || ngx_atoof(last->data, last->len) == NGX_ERROR)
    {
        es->pos = 0;
        return NGX_DECLINED;
    }

    es->pos = (uint64_t) ngx_atoof(last->data, last->len);

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_runs_events_headers(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "text/event-stream");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-cache");

    /* a proxy in front passes the events on as they come */
    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Accel-Buffering");
    ngx_str_set(&h->value, "no");

    return ngx_http_send_header(r);
}


/*
 * Sends the changes after the stream's position, a buffer at a time
 * while the client takes them; then waits: for the client (a write
 * event), or for the next change (its waiter, woken by a doorbell).  Ends
 * the answer when the worker shuts down (the client reconnects with
 * Last-Event-ID, to another worker).
 */

static void
ngx_http_runs_events_pump(ngx_http_runs_ctx_t *ctx)
{
    ngx_uint_t                  found, refused, n;
    ngx_connection_t           *c;
    ngx_http_request_t         *r;
    ngx_http_runs_estream_t    *es;
    ngx_http_runs_main_conf_t  *rmcf;

    r = ctx->request;
    c = r->connection;
    es = ctx->state;

    if (ctx->hold.final || ngx_exiting) {
        ngx_http_runs_held_end(ctx, NGX_OK);
        return;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    for ( ;; ) {

        if (c->buffered || r->out) {
            /* the last buffer is still being sent */
            if (ngx_http_runs_held_wait_write(ctx) != NGX_OK) {
                ngx_http_runs_held_end(ctx, NGX_ERROR);
            }

            break;
        }

        if (es->reset) {
            n = 0;
            found = NGX_HTTP_RUNS_R_DONE;

        } else {
            found = ngx_http_runs_store_events_read(ctx->zone,
                                                    &rmcf->limits,
                                                    &ctx->hold, &es->filter,
                                                    &es->pos, es->evs,
                                                    NGX_HTTP_RUNS_EVENTS_BATCH,
                                                    &n, &refused);

            if (found == NGX_HTTP_RUNS_R_RESET) {
                /* the ring overtook this client */
                ngx_log_error(NGX_LOG_INFO, c->log, 0,
                              "runs: an event stream fell behind the ring: "
                              "it is told to start again");
                es->reset = 1;
                found = NGX_HTTP_RUNS_R_DONE;
            }

            if (found == NGX_HTTP_RUNS_R_REFUSED) {
                /* never: its waiter was made with the stream */
                ngx_http_runs_held_end(ctx, NGX_ERROR);
                break;
            }
        }

        if (ngx_http_runs_events_send(ctx, n) == NGX_ERROR) {
            ngx_http_runs_held_end(ctx, NGX_ERROR);
            break;
        }

        if (found == NGX_HTTP_RUNS_R_HOLD) {
            /* every change is out or on its way: wait for the next */
            if ((c->buffered || r->out)
                && ngx_http_runs_held_wait_write(ctx) != NGX_OK)
            {
                ngx_http_runs_held_end(ctx, NGX_ERROR);
            }

            break;
        }
    }

    ngx_http_run_posted_requests(c);
}


/* the n events read (and a reset to tell) written and sent, flushed */

static ngx_int_t
ngx_http_runs_events_send(ngx_http_runs_ctx_t *ctx, ngx_uint_t n)
{
    u_char                   *p;
    ngx_buf_t                *b;
    ngx_uint_t                i;
    ngx_chain_t               out;
    ngx_http_runs_estream_t  *es;

    es = ctx->state;
    b = es->out;
    p = b->start;

    if (es->reset) {
        es->reset = 0;
        p = ngx_sprintf(p, "id: %uL\nevent: reset\ndata: {\"type\":\"reset\","
                        "\"id\":%uL}\n\n", es->pos, es->pos);
    }

    for (i = 0; i < n; i++) {
        p = ngx_http_runs_event_write(p, &es->evs[i]);
    }

    if (p == b->start) {
        return NGX_OK;
    }

    b->pos = b->start;
    b->last = p;
    b->temporary = 1;
    b->flush = 1;
    b->last_buf = 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    /* the stream is not idle: its comment waits a whole interval again */
    if (es->heartbeat) {
        ngx_add_timer(&es->beat, es->heartbeat);
    }

    return ngx_http_output_filter(ctx->request, &out);
}


/* one event: at most NGX_HTTP_RUNS_EVENT_LEN bytes */

static u_char *
ngx_http_runs_event_write(u_char *p, ngx_http_runs_event_t *ev)
{
    ngx_str_t  *name;

    name = &ngx_http_runs_event_names[ev->type];

    p = ngx_sprintf(p, "id: %uL\nevent: %V\ndata: {\"type\":\"%V\","
                    "\"id\":%uL,\"at\":\"", ev->id, name, name, ev->id);
    p = ngx_http_runs_format_time(p, ev->at);
    *p++ = '"';

    if (ev->has & NGX_HTTP_RUNS_EH_RUN) {
        p = ngx_cpymem(p, ",\"run_id\":\"", sizeof(",\"run_id\":\"") - 1);
        ngx_http_runs_make_id(p, "run_", 4, ev->run);
        p += NGX_HTTP_RUNS_RUN_ID_LEN;
        p = ngx_sprintf(p, "\",\"status\":\"%V\"",
                        &ngx_http_runs_status_names[ev->status]);
    }

    if (ev->has & NGX_HTTP_RUNS_EH_SESSION) {
        p = ngx_cpymem(p, ",\"session_id\":\"",
                       sizeof(",\"session_id\":\"") - 1);
        ngx_http_runs_format_sid(p, ev->sid);
        p += NGX_HTTP_RUNS_SESSION_ID_LEN;
        *p++ = '"';
    }

    if (ev->has & NGX_HTTP_RUNS_EH_LAUNCHER) {
        p = ngx_cpymem(p, ",\"launcher_id\":\"",
                       sizeof(",\"launcher_id\":\"") - 1);
        ngx_http_runs_make_id(p, "lnch_", 5, ev->launcher);
        p += NGX_HTTP_RUNS_LAUNCHER_ID_LEN;
        *p++ = '"';
    }

    /* a blueprint's name is of [A-Za-z0-9_.-]: nothing to escape */
    if (ev->has & NGX_HTTP_RUNS_EH_AGENT) {
        p = ngx_cpymem(p, ",\"agent\":\"", sizeof(",\"agent\":\"") - 1);
        p = ngx_cpymem(p, ev->name, ev->name_len);

        if (ev->type != NGX_HTTP_RUNS_E_AGENT_DELETED) {
            p = ngx_sprintf(p, "\",\"status\":\"%s",
                            (ev->has & NGX_HTTP_RUNS_EH_INACTIVE)
                            ? "inactive" : "active");
        }

        *p++ = '"';
    }

    return ngx_cpymem(p, "}\n\n", 3);
}


/* an idle stream's comment keeps proxies from closing it */

static void
ngx_http_runs_events_beat(ngx_event_t *ev)
{
    ngx_buf_t                *b;
    ngx_chain_t               out;
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_runs_ctx_t      *ctx;
    ngx_http_runs_estream_t  *es;

    ctx = ev->data;
    es = ctx->state;
    r = ctx->request;
    c = r->connection;

    if (!ctx->holding) {
        return;
    }

    ngx_add_timer(&es->beat, es->heartbeat);

    if (c->buffered || r->out) {
        /* not idle: the client has not taken the last events yet */
        return;
    }

    b = es->out;
    b->pos = b->start;
    b->last = ngx_cpymem(b->start, ": ping\n\n", sizeof(": ping\n\n") - 1);
    b->temporary = 1;
    b->flush = 1;
    b->last_buf = 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    ngx_http_set_log_request(c->log, r);

    if (ngx_http_output_filter(r, &out) == NGX_ERROR
        || ((c->buffered || r->out)
            && ngx_http_runs_held_wait_write(ctx) != NGX_OK))
    {
        ngx_http_runs_held_end(ctx, NGX_ERROR);
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_runs_events_cleanup(ngx_http_runs_ctx_t *ctx)
{
    ngx_http_runs_estream_t  *es;

    es = ctx->state;

    if (es && es->beat.timer_set) {
        ngx_del_timer(&es->beat);
    }
}
