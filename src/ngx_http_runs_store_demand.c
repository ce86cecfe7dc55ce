
/*
 * What a run demands and what a runner offers (SPEC §13,
 * docs/adr/0012-routing.md): a run's routing key, whether a runner takes
 * a class of runs, and the words that say what a waiting run waits for.
 * The classes themselves, and the poll's walk over them, are in
 * ngx_http_runs_store_route.c.  This file calls no other.
 *
 * A run demands its agent (agent_name, inherited by its session's
 * resumes), its "demands" (tags, hostname, project_dir, executor_type)
 * and, for a resume_session run that did not say "affinity": false, the
 * host that ran its session's first run (unless it demands a hostname
 * itself).  A runner takes a run when it listed the agent or listed no
 * agent at all, has every tag demanded, and equals every field demanded.
 */


#include "ngx_http_runs_zone.h"


static ngx_uint_t ngx_http_runs_tags_cover(ngx_str_t *have, ngx_str_t *want);
static ngx_uint_t ngx_http_runs_next_name(ngx_str_t *list, u_char **p,
    ngx_str_t *name);
static ngx_inline u_char *ngx_http_runs_key_put(u_char *p, ngx_str_t *s);


/* the host a resume of "sess" is pinned to; len 0: none */

void
ngx_http_runs_session_host(ngx_http_runs_session_t *sess, ngx_str_t *host)
{
    host->len = sess->host_len;
    host->data = sess->host_len ? sess->inherit + sess->agent_name_len
                                  + sess->project_dir_len + sess->parent_len
                                : NULL;
}


/* the length of the hostname a run demands itself; 0: none */

size_t
ngx_http_runs_demanded_host(ngx_http_runs_run_t *run)
{
    ngx_http_runs_demands_t  d;

    ngx_http_runs_demands_read(ngx_http_runs_demands_of(run),
                               run->demand_len, &d);

    return d.hostname.len;
}


/*
 * A run's routing key into buf (NGX_HTTP_RUNS_KEY_MAX bytes): its length;
 * *affine: the host in it is its session's, not one it demanded.
 */

size_t
ngx_http_runs_run_key(ngx_http_runs_run_t *run, u_char *buf,
    ngx_uint_t *affine)
{
    u_char                   *p;
    uint16_t                  len[6];
    ngx_str_t                 agent, host;
    ngx_http_runs_demands_t   d;

    ngx_http_runs_demands_read(ngx_http_runs_demands_of(run),
                               run->demand_len, &d);

    /* a registry blueprint's run demands no agent (store_route.c) */
    agent.len = run->registry ? 0 : run->agent_name_len;
    agent.data = run->strings + run->prompt_len;

    host = d.hostname;
    *affine = 0;

    if (host.len == 0 && run->type == NGX_HTTP_RUNS_RESUME
        && !run->noaffinity && run->session->host_len)
    {
        ngx_http_runs_session_host(run->session, &host);
        *affine = 1;
    }

    len[0] = (uint16_t) agent.len;
    len[1] = (uint16_t) host.len;
    len[2] = (uint16_t) d.tags.len;
    len[3] = (uint16_t) d.project_dir.len;
    len[4] = (uint16_t) d.executor_type.len;
    len[5] = run->session->scope[0] ? sizeof(run->session->scope) : 0;

    p = ngx_cpymem(buf, len, NGX_HTTP_RUNS_KEY_HEAD);
    p = ngx_http_runs_key_put(p, &agent);
    p = ngx_http_runs_key_put(p, &host);
    p = ngx_http_runs_key_put(p, &d.tags);
    p = ngx_http_runs_key_put(p, &d.project_dir);
    p = ngx_http_runs_key_put(p, &d.executor_type);

    if (len[5]) {
        /* a runner confined to a scope takes only its runs */
        p = ngx_cpymem(p, run->session->scope, len[5]);
    }

    return p - buf;
}


/*
 * A group's key into buf: the agent and the host parts of a class key
 * (the first two lengths, then those parts); its length
 */

size_t
ngx_http_runs_group_key(u_char *buf, ngx_str_t *agent, ngx_str_t *host)
{
    u_char    *p;
    uint16_t   len[2];

    len[0] = (uint16_t) agent->len;
    len[1] = (uint16_t) host->len;

    p = ngx_cpymem(buf, len, sizeof(len));
    p = ngx_http_runs_key_put(p, agent);

    return ngx_http_runs_key_put(p, host) - buf;
}


static ngx_inline u_char *
ngx_http_runs_key_put(u_char *p, ngx_str_t *s)
{
    return s->len ? ngx_cpymem(p, s->data, s->len) : p;
}


/* a class key's parts, pointing into it */

void
ngx_http_runs_key_parts(u_char *key, ngx_http_runs_kparts_t *kp)
{
    u_char      *p;
    uint16_t     len[6];
    ngx_str_t   *v;
    ngx_uint_t   i;

    ngx_memcpy(len, key, NGX_HTTP_RUNS_KEY_HEAD);
    p = key + NGX_HTTP_RUNS_KEY_HEAD;
    v = &kp->agent;

    for (i = 0; i < 6; i++) {
        v[i].len = len[i];
        v[i].data = p;
        p += len[i];
    }
}


/* whether launcher "lr" takes the runs of a class with these parts */

ngx_uint_t
ngx_http_runs_offers(ngx_http_runs_launcher_t *lr, ngx_http_runs_kparts_t *kp)
{
    u_char     *p;
    ngx_str_t   name;

    /* a runner of a scope takes the runs of that scope only */
    if (lr->scope[0]
        && (kp->scope.len != sizeof(lr->scope)
            || ngx_memcmp(kp->scope.data, lr->scope, sizeof(lr->scope)) != 0))
    {
        return 0;
    }

    if (kp->host.len
        && (kp->host.len != lr->hostname.len
            || ngx_memcmp(kp->host.data, lr->hostname.data, kp->host.len)))
    {
        return 0;
    }

    if (kp->project_dir.len
        && (kp->project_dir.len != lr->project_dir.len
            || ngx_memcmp(kp->project_dir.data, lr->project_dir.data,
                          kp->project_dir.len)))
    {
        return 0;
    }

    if (kp->executor_type.len
        && (kp->executor_type.len != lr->executor_type.len
            || ngx_memcmp(kp->executor_type.data, lr->executor_type.data,
                          kp->executor_type.len)))
    {
        return 0;
    }

    if (kp->tags.len && !ngx_http_runs_tags_cover(&lr->tags, &kp->tags)) {
        return 0;
    }

    if (kp->agent.len == 0 || lr->agents.len == 0) {
        return 1;
    }

    p = lr->agents.data;

    while (ngx_http_runs_next_name(&lr->agents, &p, &name)) {
        if (name.len == kp->agent.len
            && ngx_memcmp(name.data, kp->agent.data, name.len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* whether the sorted list "have" has every name of the sorted "want" */

static ngx_uint_t
ngx_http_runs_tags_cover(ngx_str_t *have, ngx_str_t *want)
{
    int         rc;
    u_char     *hp, *wp;
    ngx_str_t   h, w;

    hp = have->data;
    wp = want->data;

    if (!ngx_http_runs_next_name(have, &hp, &h)) {
        return 0;
    }

    while (ngx_http_runs_next_name(want, &wp, &w)) {

        for ( ;; ) {
            /* the order of ngx_http_runs_field_names(): bytes, then length */
            rc = ngx_memcmp(h.data, w.data, ngx_min(h.len, w.len));
            if (rc == 0) {
                rc = (h.len > w.len) - (h.len < w.len);
            }

            if (rc == 0) {
                break;
            }

            if (rc > 0 || !ngx_http_runs_next_name(have, &hp, &h)) {
                return 0;
            }
        }
    }

    return 1;
}


/* the next name of a comma-separated list from *p; 0: none */

static ngx_uint_t
ngx_http_runs_next_name(ngx_str_t *list, u_char **p, ngx_str_t *name)
{
    u_char  *last, *comma;

    last = list->data + list->len;

    if (list->len == 0 || *p >= last) {
        return 0;
    }

    comma = ngx_strlchr(*p, last, ',');
    if (comma == NULL) {
        comma = last;
    }

    name->data = *p;
    name->len = comma - *p;
    *p = comma + 1;

    return 1;
}


/*
 * What a class's runs wait for, in words, into [p, last): "a runner with
 * agent reviewer, tags gpu,linux, on host h1"; "affine": the host is the
 * session's.  Returns the end.
 */

u_char *
ngx_http_runs_demand_text(u_char *p, u_char *last, ngx_http_runs_kparts_t *kp,
    ngx_uint_t affine)
{
    u_char  *start;

    start = p;
    p = ngx_slprintf(p, last, "a runner");

    if (kp->agent.len) {
        p = ngx_slprintf(p, last, " with agent %V", &kp->agent);
    }

    if (kp->tags.len) {
        p = ngx_slprintf(p, last, "%s tags %V",
                         p - start > 8 ? "," : " with", &kp->tags);
    }

    if (kp->project_dir.len) {
        p = ngx_slprintf(p, last, "%s project_dir %V",
                         p - start > 8 ? "," : " with", &kp->project_dir);
    }

    if (kp->executor_type.len) {
        p = ngx_slprintf(p, last, "%s executor_type %V",
                         p - start > 8 ? "," : " with", &kp->executor_type);
    }

    if (kp->host.len) {
        p = ngx_slprintf(p, last, "%s on host %V%s",
                         p - start > 8 ? "," : "", &kp->host,
                         affine ? " (where its session ran first)" : "");
    }

    return p;
}
