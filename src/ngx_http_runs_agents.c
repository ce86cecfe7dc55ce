
/*
 * runs_agents_api: the blueprint registry, as the system this product
 * replaces serves it: GET /agents[?tags=a,b] (every tag), GET, POST,
 * PATCH, DELETE /agents/{name}, PATCH /agents/{name}/status.  A blueprint
 * is its name, a description, and optionally a system prompt, MCP servers
 * ({"name": {"type": "http", "url", "headers"} or {"command", "args",
 * "env"}}), skills, tags, and this product's own settings (model,
 * permission_mode, allowed_tools, disallowed_tools, max_turns).  Bodies
 * are checked whole, unknown members refused naming them; the store keeps
 * the checked members as one JSON object (ngx_http_runs_store_
 * blueprints.c).
 */


#include "ngx_http_runs.h"


#define NGX_HTTP_RUNS_BP_FIELDS       11
#define NGX_HTTP_RUNS_BP_TEXT_MAX     16384
#define NGX_HTTP_RUNS_BP_TOOLS_MAX    256


/* a blueprint's members, as a body gives them or the store keeps them */
typedef struct {
    ngx_http_runs_field_t       f[NGX_HTTP_RUNS_BP_FIELDS];
    ngx_str_t                   tags;       /* sorted, comma-separated */
    ngx_str_t                   skills;     /* comma-separated */
} ngx_http_runs_bp_t;

enum {
    BP_NAME = 0, BP_DESCRIPTION, BP_SYSTEM_PROMPT, BP_MCP_SERVERS, BP_SKILLS,
    BP_TAGS, BP_MODEL, BP_PERMISSION_MODE, BP_ALLOWED_TOOLS,
    BP_DISALLOWED_TOOLS, BP_MAX_TURNS
};

static const char  *ngx_http_runs_bp_keys[NGX_HTTP_RUNS_BP_FIELDS] = {
    "name", "description", "system_prompt", "mcp_servers", "skills", "tags",
    "model", "permission_mode", "allowed_tools", "disallowed_tools",
    "max_turns"
};


static ngx_int_t ngx_http_runs_agents_list(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_agents_get(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_agents_create(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_agents_update(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_agents_delete(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_agents_status(ngx_http_request_t *r,
    ngx_http_runs_ctx_t *ctx, ngx_str_t *body);
static ngx_int_t ngx_http_runs_bp_read(ngx_pool_t *pool, ngx_str_t *text,
    ngx_uint_t body, ngx_http_runs_bp_t *bp, ngx_str_t *err);
static ngx_int_t ngx_http_runs_bp_check(ngx_pool_t *pool,
    ngx_http_runs_bp_t *bp, ngx_str_t *err);
static ngx_int_t ngx_http_runs_bp_servers(ngx_pool_t *pool, ngx_str_t *text,
    ngx_str_t *err);
static ngx_int_t ngx_http_runs_bp_server(ngx_pool_t *pool, ngx_str_t *name,
    ngx_str_t *text, ngx_str_t *err);
static ngx_int_t ngx_http_runs_bp_strings(ngx_pool_t *pool, const char *key,
    ngx_str_t *text, ngx_uint_t object, ngx_uint_t max, ngx_str_t *err);
static ngx_int_t ngx_http_runs_bp_text(ngx_http_request_t *r,
    ngx_http_runs_bp_t *bp, ngx_str_t *text);
static ngx_int_t ngx_http_runs_bp_send(ngx_http_request_t *r,
    ngx_uint_t status, ngx_http_runs_bsnap_t *bs);
static void ngx_http_runs_bp_out(ngx_http_runs_out_t *o,
    ngx_http_runs_bsnap_t *bs);
static ngx_int_t ngx_http_runs_bp_fail(ngx_http_request_t *r,
    ngx_http_runs_zone_t *zone, ngx_uint_t found, ngx_str_t *name);
static ngx_int_t ngx_http_runs_bp_error(ngx_pool_t *pool, ngx_str_t *err,
    const char *key, const char *what);


ngx_http_runs_route_t  ngx_http_runs_agents_routes[] = {
    { 0, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_agents_list, 0 },
    { 0, { ngx_null_string }, NGX_HTTP_POST, 1, ngx_http_runs_agents_create,
      0 },
    { 1, { ngx_null_string }, NGX_HTTP_GET, 0, ngx_http_runs_agents_get, 0 },
    { 1, { ngx_null_string }, NGX_HTTP_PATCH, 1, ngx_http_runs_agents_update,
      0 },
    { 1, { ngx_null_string }, NGX_HTTP_DELETE, 0, ngx_http_runs_agents_delete,
      0 },
    { 2, { ngx_null_string, ngx_string("status") }, NGX_HTTP_PATCH, 1,
      ngx_http_runs_agents_status, 0 },
    { 0, { ngx_null_string }, 0, 0, NULL, 0 }
};


/* GET /agents[?tags=a,b]: a JSON array, by name */

static ngx_int_t
ngx_http_runs_agents_list(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_str_t               v, tags, err;
    ngx_uint_t              i, j, n;
    ngx_http_runs_out_t     o;
    ngx_http_runs_field_t   f;
    ngx_http_runs_bsnap_t  *bs, t;

    ngx_str_null(&tags);

    if (ngx_http_runs_get_arg(r, "tags", 4, &v) == NGX_OK && v.len) {
        /* the names as a JSON array, read as the registry's own are */
        f.key = "tags";
        f.type = NGX_HTTP_RUNS_JSON_OTHER;
        f.value.data = ngx_pnalloc(r->pool, 2 * v.len + 3);
        if (f.value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        f.value.len = 0;
        f.value.data[f.value.len++] = '[';
        f.value.data[f.value.len++] = '"';

        for (i = 0; i < v.len; i++) {
            if (v.data[i] == ',') {
                f.value.len = ngx_cpymem(f.value.data + f.value.len, "\",\"",
                                         3) - f.value.data;
            } else if (v.data[i] == '"' || v.data[i] == '\\'
                       || v.data[i] < 0x20)
            {
                return ngx_http_runs_send_detail(r,
                           NGX_HTTP_UNPROCESSABLE_ENTITY,
                           "Query parameter 'tags' must be names separated "
                           "by commas");
            } else {
                f.value.data[f.value.len++] = v.data[i];
            }
        }

        f.value.data[f.value.len++] = '"';
        f.value.data[f.value.len++] = ']';

        if (ngx_http_runs_field_names(r->pool, &f, 64, 1, &tags, &err)
            != NGX_OK)
        {
            return ngx_http_runs_send_detail(r, NGX_HTTP_UNPROCESSABLE_ENTITY,
                       "Query parameter 'tags' must be names separated by "
                       "commas");
        }
    }

    if (ngx_http_runs_store_blueprints(ctx->zone, &tags, r->pool, &bs, &n)
        != NGX_HTTP_RUNS_R_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* by name (the registry keeps them by hash) */
    for (i = 1; i < n; i++) {
        t = bs[i];

        for (j = i; j > 0 && ngx_memn2cmp(bs[j - 1].name.data, t.name.data,
                                          bs[j - 1].name.len, t.name.len) > 0;
             j--)
        {
            bs[j] = bs[j - 1];
        }

        bs[j] = t;
    }

    ngx_http_runs_out_init(&o, r->pool, 1024);
    ngx_http_runs_out_literal(&o, "[");

    for (i = 0; i < n; i++) {
        if (i) {
            ngx_http_runs_out_literal(&o, ",");
        }

        ngx_http_runs_bp_out(&o, &bs[i]);
    }

    ngx_http_runs_out_literal(&o, "]");

    return ngx_http_runs_send_out(r, NGX_HTTP_OK, &o);
}


static ngx_int_t
ngx_http_runs_agents_get(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_uint_t             found;
    ngx_http_runs_bsnap_t  bs;

    found = ngx_http_runs_store_blueprint(ctx->zone, &ctx->path_id, r->pool,
                                          &bs);
    if (found != NGX_HTTP_RUNS_R_DONE) {
        return ngx_http_runs_bp_fail(r, ctx->zone, found, &ctx->path_id);
    }

    return ngx_http_runs_bp_send(r, NGX_HTTP_OK, &bs);
}


static ngx_int_t
ngx_http_runs_agents_create(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_int_t                   rc;
    ngx_str_t                   err;
    ngx_uint_t                  found;
    ngx_http_runs_bp_t          bp;
    ngx_http_runs_bsnap_t       bs, out;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    rc = ngx_http_runs_bp_read(r->pool, body, 1, &bp, &err);

    if (rc == NGX_OK && bp.f[BP_NAME].type != NGX_HTTP_RUNS_JSON_STRING) {
        rc = ngx_http_runs_bp_error(r->pool, &err, "name",
                                    "is required: a string");
    }

    if (rc == NGX_OK
        && (bp.f[BP_DESCRIPTION].type != NGX_HTTP_RUNS_JSON_STRING
            || bp.f[BP_DESCRIPTION].value.len == 0))
    {
        rc = ngx_http_runs_bp_error(r->pool, &err, "description",
                                    "is required: a non-empty string");
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_check_name(r->pool, "name", &bp.f[BP_NAME].value,
                                      &err);
    }

    if (rc == NGX_OK) {
        rc = ngx_http_runs_check_policy(r, "name", &bp.f[BP_NAME].value,
                                        &err);
    }

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    ngx_memzero(&bs, sizeof(ngx_http_runs_bsnap_t));
    bs.name = bp.f[BP_NAME].value;
    bs.tags = bp.tags;

    if (ngx_http_runs_bp_text(r, &bp, &bs.text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (bs.text.len > rmcf->blueprint_max) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "The blueprint is %uz bytes: more than runs_blueprint_max "
                   "(%uz)", bs.text.len, rmcf->blueprint_max);
    }

    found = ngx_http_runs_store_blueprint_put(ctx->zone, &bs,
                                              NGX_HTTP_RUNS_B_CREATE, r->pool,
                                              &out);
    if (found != NGX_HTTP_RUNS_R_DONE) {
        return ngx_http_runs_bp_fail(r, ctx->zone, found, &bs.name);
    }

    return ngx_http_runs_bp_send(r, NGX_HTTP_CREATED, &out);
}


/*
 * PATCH /agents/{name}: what the body names changes; null or absent keeps
 * a member, an empty string, array or object clears it (but the
 * description, which is required)
 */

static ngx_int_t
ngx_http_runs_agents_update(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_int_t                   rc;
    ngx_str_t                   err;
    ngx_uint_t                  i, found;
    ngx_http_runs_bp_t          now, patch;
    ngx_http_runs_bsnap_t       bs, out;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_runs_module);

    rc = ngx_http_runs_bp_read(r->pool, body, 1, &patch, &err);

    if (rc == NGX_OK && patch.f[BP_NAME].type != NGX_HTTP_RUNS_JSON_ABSENT
        && !(patch.f[BP_NAME].type == NGX_HTTP_RUNS_JSON_STRING
             && patch.f[BP_NAME].value.len == ctx->path_id.len
             && ngx_strncmp(patch.f[BP_NAME].value.data, ctx->path_id.data,
                            ctx->path_id.len) == 0))
    {
        rc = ngx_http_runs_bp_error(r->pool, &err, "name",
                                    "cannot be changed: it is the URL's");
    }

    if (rc == NGX_OK && patch.f[BP_DESCRIPTION].type
                        == NGX_HTTP_RUNS_JSON_STRING
        && patch.f[BP_DESCRIPTION].value.len == 0)
    {
        rc = ngx_http_runs_bp_error(r->pool, &err, "description",
                                    "must not be empty");
    }

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    found = ngx_http_runs_store_blueprint(ctx->zone, &ctx->path_id, r->pool,
                                          &bs);
    if (found != NGX_HTTP_RUNS_R_DONE) {
        return ngx_http_runs_bp_fail(r, ctx->zone, found, &ctx->path_id);
    }

    if (ngx_http_runs_bp_read(r->pool, &bs.text, 0, &now, &err) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = BP_DESCRIPTION; i < NGX_HTTP_RUNS_BP_FIELDS; i++) {
        if (patch.f[i].type != NGX_HTTP_RUNS_JSON_ABSENT
            && patch.f[i].type != NGX_HTTP_RUNS_JSON_NULL)
        {
            now.f[i] = patch.f[i];
        }
    }

    if (patch.f[BP_TAGS].type == NGX_HTTP_RUNS_JSON_OTHER) {
        now.tags = patch.tags;
    }

    bs.tags = now.tags;

    if (ngx_http_runs_bp_text(r, &now, &bs.text) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (bs.text.len > rmcf->blueprint_max) {
        return ngx_http_runs_send_detail(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                   "The blueprint is %uz bytes: more than runs_blueprint_max "
                   "(%uz)", bs.text.len, rmcf->blueprint_max);
    }

    found = ngx_http_runs_store_blueprint_put(ctx->zone, &bs,
                                              NGX_HTTP_RUNS_B_UPDATE, r->pool,
                                              &out);
    if (found != NGX_HTTP_RUNS_R_DONE) {
        return ngx_http_runs_bp_fail(r, ctx->zone, found, &ctx->path_id);
    }

    return ngx_http_runs_bp_send(r, NGX_HTTP_OK, &out);
}


static ngx_int_t
ngx_http_runs_agents_delete(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_uint_t  found;

    found = ngx_http_runs_store_blueprint_delete(ctx->zone, &ctx->path_id);
    if (found != NGX_HTTP_RUNS_R_DONE) {
        return ngx_http_runs_bp_fail(r, ctx->zone, found, &ctx->path_id);
    }

    return ngx_http_runs_send_empty(r, NGX_HTTP_NO_CONTENT);
}


/* PATCH /agents/{name}/status: {"status": "active" | "inactive"} */

static ngx_int_t
ngx_http_runs_agents_status(ngx_http_request_t *r, ngx_http_runs_ctx_t *ctx,
    ngx_str_t *body)
{
    ngx_int_t               rc;
    ngx_str_t               err, st;
    ngx_uint_t              found;
    ngx_http_runs_field_t   f[1];
    ngx_http_runs_bsnap_t   bs, out;

    f[0].key = "status";

    rc = ngx_http_runs_json_read_known(r->pool, body, "body", f, 1, &err);

    if (rc == NGX_OK) {
        rc = ngx_http_runs_field_str(r->pool, &f[0], 1, &st, &err);
    }

    if (rc == NGX_OK
        && !(st.len == 6 && ngx_strncmp(st.data, "active", 6) == 0)
        && !(st.len == 8 && ngx_strncmp(st.data, "inactive", 8) == 0))
    {
        rc = ngx_http_runs_bp_error(r->pool, &err, "status",
                                    "must be 'active' or 'inactive'");
    }

    if (rc != NGX_OK) {
        return ngx_http_runs_send_detail(r, rc, "%V", &err);
    }

    ngx_memzero(&bs, sizeof(ngx_http_runs_bsnap_t));
    bs.name = ctx->path_id;
    bs.inactive = (st.len == 8);

    found = ngx_http_runs_store_blueprint_put(ctx->zone, &bs,
                                              NGX_HTTP_RUNS_B_STATUS, r->pool,
                                              &out);
    if (found != NGX_HTTP_RUNS_R_DONE) {
        return ngx_http_runs_bp_fail(r, ctx->zone, found, &ctx->path_id);
    }

    return ngx_http_runs_bp_send(r, NGX_HTTP_OK, &out);
}


/*
 * A blueprint's members from a body (body: with its name, every member
 * checked, unknown ones refused) or from the store's text (checked when
 * it was put).  NGX_OK, or a status with *err.
 */

static ngx_int_t
ngx_http_runs_bp_read(ngx_pool_t *pool, ngx_str_t *text, ngx_uint_t body,
    ngx_http_runs_bp_t *bp, ngx_str_t *err)
{
    ngx_int_t   rc;
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_RUNS_BP_FIELDS; i++) {
        bp->f[i].key = ngx_http_runs_bp_keys[i];
    }

    ngx_str_null(&bp->tags);
    ngx_str_null(&bp->skills);

    rc = ngx_http_runs_json_read_known(pool, text, "body", bp->f,
                                       NGX_HTTP_RUNS_BP_FIELDS, err);
    if (rc != NGX_OK) {
        return rc;
    }

    if (bp->f[BP_TAGS].type == NGX_HTTP_RUNS_JSON_OTHER
        && (rc = ngx_http_runs_field_names(pool, &bp->f[BP_TAGS], 64, 1,
                                           &bp->tags, err))
           != NGX_OK)
    {
        return rc;
    }

    if (bp->f[BP_SKILLS].type == NGX_HTTP_RUNS_JSON_OTHER
        && (rc = ngx_http_runs_field_names(pool, &bp->f[BP_SKILLS], 64, 0,
                                           &bp->skills, err))
           != NGX_OK)
    {
        return rc;
    }

    return body ? ngx_http_runs_bp_check(pool, bp, err) : NGX_OK;
}


static ngx_int_t
ngx_http_runs_bp_check(ngx_pool_t *pool, ngx_http_runs_bp_t *bp,
    ngx_str_t *err)
{
    ngx_int_t               rc, turns;
    ngx_uint_t              i;
    ngx_http_runs_field_t  *f;

    static const ngx_uint_t  strings[] = {
        BP_NAME, BP_DESCRIPTION, BP_SYSTEM_PROMPT, BP_MODEL,
        BP_PERMISSION_MODE
    };

    for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        f = &bp->f[strings[i]];

        if (f->type != NGX_HTTP_RUNS_JSON_ABSENT
            && f->type != NGX_HTTP_RUNS_JSON_NULL
            && f->type != NGX_HTTP_RUNS_JSON_STRING)
        {
            return ngx_http_runs_bp_error(pool, err, f->key,
                                          "must be a string");
        }

        if (strings[i] != BP_SYSTEM_PROMPT
            && f->value.len > NGX_HTTP_RUNS_BP_TEXT_MAX)
        {
            return ngx_http_runs_bp_error(pool, err, f->key,
                                          "must be at most 16384 bytes");
        }
    }

    f = &bp->f[BP_MCP_SERVERS];

    if (f->type == NGX_HTTP_RUNS_JSON_OTHER
        && (rc = ngx_http_runs_bp_servers(pool, &f->value, err)) != NGX_OK)
    {
        return rc;
    }

    if (f->type != NGX_HTTP_RUNS_JSON_ABSENT
        && f->type != NGX_HTTP_RUNS_JSON_NULL
        && (f->type != NGX_HTTP_RUNS_JSON_OTHER || f->value.data[0] != '{'))
    {
        return ngx_http_runs_bp_error(pool, err, f->key,
                                      "must be an object of MCP servers");
    }

    for (i = BP_ALLOWED_TOOLS; i <= BP_DISALLOWED_TOOLS; i++) {
        f = &bp->f[i];

        if (f->type == NGX_HTTP_RUNS_JSON_ABSENT
            || f->type == NGX_HTTP_RUNS_JSON_NULL)
        {
            continue;
        }

        if (f->type != NGX_HTTP_RUNS_JSON_OTHER || f->value.data[0] != '['
            || (rc = ngx_http_runs_bp_strings(pool, f->key, &f->value, 0,
                                              NGX_HTTP_RUNS_BP_TOOLS_MAX,
                                              err))
               != NGX_OK)
        {
            return ngx_http_runs_bp_error(pool, err, f->key,
                                          "must be an array of at most 256 "
                                          "non-empty strings");
        }
    }

    f = &bp->f[BP_MAX_TURNS];

    /* "" clears it, as for the strings */
    if (f->type != NGX_HTTP_RUNS_JSON_ABSENT
        && f->type != NGX_HTTP_RUNS_JSON_NULL
        && !(f->type == NGX_HTTP_RUNS_JSON_STRING && f->value.len == 0))
    {
        turns = (f->type == NGX_HTTP_RUNS_JSON_INTEGER)
                ? ngx_atoi(f->value.data, f->value.len) : NGX_ERROR;

        if (turns < 1 || turns > 10000) {
            return ngx_http_runs_bp_error(pool, err, f->key,
                                          "must be an integer from 1 to "
                                          "10000");
        }
    }

    for (i = BP_SKILLS; i <= BP_TAGS; i++) {
        f = &bp->f[i];

        if (f->type == NGX_HTTP_RUNS_JSON_STRING
            || f->type == NGX_HTTP_RUNS_JSON_INTEGER)
        {
            return ngx_http_runs_bp_error(pool, err, f->key,
                                          "must be an array of names");
        }
    }

    return NGX_OK;
}


/* "mcp_servers": {"NAME": {...}, ...}, each server http or stdio */

static ngx_int_t
ngx_http_runs_bp_servers(ngx_pool_t *pool, ngx_str_t *text, ngx_str_t *err)
{
    ngx_int_t     rc;
    ngx_str_t    *k, *v;
    ngx_uint_t    i;
    ngx_array_t   keys, values;

    if (text->data[0] != '{') {
        return ngx_http_runs_bp_error(pool, err, "mcp_servers",
                                      "must be an object of MCP servers");
    }

    if (ngx_array_init(&keys, pool, 4, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&values, pool, 4, sizeof(ngx_str_t)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_runs_json_members_of(pool, text, &keys, &values, err);
    if (rc != NGX_OK) {
        return rc;
    }

    k = keys.elts;
    v = values.elts;

    if (keys.nelts > 64) {
        return ngx_http_runs_bp_error(pool, err, "mcp_servers",
                                      "must hold at most 64 servers");
    }

    for (i = 0; i < keys.nelts; i++) {
        if (!ngx_http_runs_name_valid(&k[i])) {
            return ngx_http_runs_bp_error(pool, err, "mcp_servers",
                       "must name each server with 1-60 characters "
                       "matching ^[A-Za-z0-9][A-Za-z0-9_.-]*$");
        }

        rc = ngx_http_runs_bp_server(pool, &k[i], &v[i], err);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_runs_bp_server(ngx_pool_t *pool, ngx_str_t *name, ngx_str_t *text,
    ngx_str_t *err)
{
    u_char                 *p;
    ngx_int_t               rc;
    ngx_str_t               type, key;
    ngx_http_runs_field_t   f[6];

    f[0].key = "type";
    f[1].key = "url";
    f[2].key = "headers";
    f[3].key = "command";
    f[4].key = "args";
    f[5].key = "env";

    p = ngx_pnalloc(pool, name->len + sizeof("mcp_servers.") - 1 + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    key.data = p;
    key.len = ngx_sprintf(p, "mcp_servers.%V%Z", name) - p - 1;

    if (text->data[0] != '{') {
        return ngx_http_runs_bp_error(pool, err, (char *) key.data,
                                      "must be an object");
    }

    rc = ngx_http_runs_json_read_known(pool, text, (char *) key.data, f, 6,
                                       err);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_str_set(&type, "stdio");

    if (f[0].type != NGX_HTTP_RUNS_JSON_ABSENT
        && ngx_http_runs_field_str(pool, &f[0], 1, &type, err) != NGX_OK)
    {
        return NGX_HTTP_UNPROCESSABLE_ENTITY;
    }

    if (type.len == 4 && ngx_strncmp(type.data, "http", 4) == 0) {
        /* an http(s) URL, or one a placeholder makes (the executor's) */
        if (f[1].type != NGX_HTTP_RUNS_JSON_STRING
            || !((f[1].value.len > 7
                  && ngx_strncmp(f[1].value.data, "http://", 7) == 0)
                 || (f[1].value.len > 8
                     && ngx_strncmp(f[1].value.data, "https://", 8) == 0)
                 || (f[1].value.len > 3
                     && ngx_strncmp(f[1].value.data, "${", 2) == 0))
            || f[3].type != NGX_HTTP_RUNS_JSON_ABSENT
            || f[4].type != NGX_HTTP_RUNS_JSON_ABSENT
            || f[5].type != NGX_HTTP_RUNS_JSON_ABSENT)
        {
            return ngx_http_runs_bp_error(pool, err, (char *) key.data,
                       "of type http needs \"url\" (http://, https:// or "
                       "a ${PLACEHOLDER}) and takes \"headers\", nothing "
                       "else");
        }

        return (f[2].type == NGX_HTTP_RUNS_JSON_ABSENT)
               ? NGX_OK
               : ngx_http_runs_bp_strings(pool, (char *) key.data,
                                          &f[2].value, 1, 64, err);
    }

    if (!(type.len == 5 && ngx_strncmp(type.data, "stdio", 5) == 0)) {
        return ngx_http_runs_bp_error(pool, err, (char *) key.data,
                                      "has a \"type\" that is not http or "
                                      "stdio");
    }

    if (f[3].type != NGX_HTTP_RUNS_JSON_STRING || f[3].value.len == 0
        || f[1].type != NGX_HTTP_RUNS_JSON_ABSENT
        || f[2].type != NGX_HTTP_RUNS_JSON_ABSENT)
    {
        return ngx_http_runs_bp_error(pool, err, (char *) key.data,
                   "of type stdio needs \"command\" and takes \"args\" and "
                   "\"env\", nothing else");
    }

    if (f[4].type != NGX_HTTP_RUNS_JSON_ABSENT
        && ngx_http_runs_bp_strings(pool, (char *) key.data, &f[4].value, 0,
                                    256, err)
           != NGX_OK)
    {
        return NGX_HTTP_UNPROCESSABLE_ENTITY;
    }

    return (f[5].type == NGX_HTTP_RUNS_JSON_ABSENT)
           ? NGX_OK
           : ngx_http_runs_bp_strings(pool, (char *) key.data, &f[5].value, 1,
                                      256, err);
}


/* an array (or an object: its values) of at most max non-empty strings */

static ngx_int_t
ngx_http_runs_bp_strings(ngx_pool_t *pool, const char *key, ngx_str_t *text,
    ngx_uint_t object, ngx_uint_t max, ngx_str_t *err)
{
    ngx_int_t     rc;
    ngx_str_t    *v;
    ngx_uint_t    i;
    ngx_array_t   keys, values;

    if (text->len == 0 || text->data[0] != (object ? '{' : '[')) {
        return ngx_http_runs_bp_error(pool, err, key, object
                                      ? "has a member that must be an "
                                        "object of strings"
                                      : "has a member that must be an "
                                        "array of strings");
    }

    if (ngx_array_init(&keys, pool, 4, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&values, pool, 4, sizeof(ngx_str_t)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = object ? ngx_http_runs_json_members_of(pool, text, &keys, &values,
                                                err)
                : ngx_http_runs_json_elements(pool, text, &values, err);
    if (rc != NGX_OK) {
        return rc;
    }

    v = values.elts;

    for (i = 0; i < values.nelts; i++) {
        /* a string's text: its quotes and at least one character */
        if (v[i].len < 3 || v[i].data[0] != '"') {
            return ngx_http_runs_bp_error(pool, err, key, object
                                          ? "must hold non-empty strings"
                                          : "must hold non-empty strings");
        }
    }

    if (values.nelts > max) {
        return ngx_http_runs_bp_error(pool, err, key,
                                      "holds too many members");
    }

    return NGX_OK;
}


/*
 * The JSON object the store keeps: every member but the name, those that
 * are absent, null or empty left out
 */

static ngx_int_t
ngx_http_runs_bp_text(ngx_http_request_t *r, ngx_http_runs_bp_t *bp,
    ngx_str_t *text)
{
    u_char                 *p;
    ngx_uint_t              i, first;
    ngx_chain_t            *cl;
    ngx_http_runs_out_t     o;
    ngx_http_runs_field_t  *f;

    ngx_http_runs_out_init(&o, r->pool, 1024);
    ngx_http_runs_out_literal(&o, "{");
    first = 1;

    for (i = BP_DESCRIPTION; i < NGX_HTTP_RUNS_BP_FIELDS; i++) {
        f = &bp->f[i];

        if (f->type == NGX_HTTP_RUNS_JSON_ABSENT
            || f->type == NGX_HTTP_RUNS_JSON_NULL
            || (f->type == NGX_HTTP_RUNS_JSON_STRING && f->value.len == 0)
            || (f->type == NGX_HTTP_RUNS_JSON_OTHER && f->value.len == 2))
        {
            continue;
        }

        if (!first) {
            ngx_http_runs_out_literal(&o, ",");
        }

        first = 0;

        ngx_http_runs_out_literal(&o, "\"");
        ngx_http_runs_out_raw(&o, f->key, ngx_strlen(f->key));
        ngx_http_runs_out_literal(&o, "\":");

        if (i == BP_TAGS || i == BP_SKILLS) {
            ngx_http_runs_out_literal(&o, "[");
            ngx_http_runs_out_names(&o, i == BP_TAGS ? &bp->tags
                                                     : &bp->skills);
            ngx_http_runs_out_literal(&o, "]");

        } else if (f->type == NGX_HTTP_RUNS_JSON_STRING) {
            ngx_http_runs_out_str(&o, &f->value);

        } else {
            /* an object, an array or an integer: its text, checked */
            ngx_http_runs_out_raw(&o, f->value.data, f->value.len);
        }
    }

    ngx_http_runs_out_literal(&o, "}");

    if (o.failed) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, o.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;

    for (cl = o.first; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    text->len = p - text->data;

    return NGX_OK;
}


/* a blueprint as the API shows it */

static void
ngx_http_runs_bp_out(ngx_http_runs_out_t *o, ngx_http_runs_bsnap_t *bs)
{
    ngx_http_runs_out_literal(o, "{\"name\":");
    ngx_http_runs_out_str(o, &bs->name);

    if (bs->text.len > 2) {
        ngx_http_runs_out_literal(o, ",");
        ngx_http_runs_out_raw(o, bs->text.data + 1, bs->text.len - 2);
    }

    if (bs->inactive) {
        ngx_http_runs_out_literal(o, ",\"status\":\"inactive\"");

    } else {
        ngx_http_runs_out_literal(o, ",\"status\":\"active\"");
    }

    ngx_http_runs_out_literal(o, ",\"created_at\":");
    ngx_http_runs_out_time(o, bs->created_at);
    ngx_http_runs_out_literal(o, ",\"modified_at\":");
    ngx_http_runs_out_time(o, bs->modified_at);
    ngx_http_runs_out_literal(o, "}");
}


static ngx_int_t
ngx_http_runs_bp_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_runs_bsnap_t *bs)
{
    ngx_http_runs_out_t  o;

    ngx_http_runs_out_init(&o, r->pool, 256 + bs->text.len);
    ngx_http_runs_bp_out(&o, bs);

    return ngx_http_runs_send_out(r, status, &o);
}


static ngx_int_t
ngx_http_runs_bp_fail(ngx_http_request_t *r, ngx_http_runs_zone_t *zone,
    ngx_uint_t found, ngx_str_t *name)
{
    switch (found) {

    case NGX_HTTP_RUNS_R_NO_AGENT:
        return ngx_http_runs_send_detail(r, NGX_HTTP_NOT_FOUND,
                                         "Agent not found: %V", name);

    case NGX_HTTP_RUNS_R_EXISTS:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                                         "Agent already exists: %V", name);

    case NGX_HTTP_RUNS_R_CONFLICT:
        return ngx_http_runs_send_detail(r, NGX_HTTP_CONFLICT,
                                         "Agent %V was changed meanwhile: "
                                         "try again", name);

    case NGX_HTTP_RUNS_R_NO_MEMORY:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    default:
        return ngx_http_runs_send_refused(r, zone,
                                          NGX_HTTP_RUNS_REFUSED_FULL);
    }
}


static ngx_int_t
ngx_http_runs_bp_error(ngx_pool_t *pool, ngx_str_t *err, const char *key,
    const char *what)
{
    err->data = ngx_pnalloc(pool, NGX_MAX_ERROR_STR);
    if (err->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    err->len = ngx_snprintf(err->data, NGX_MAX_ERROR_STR, "Field '%s' %s",
                            key, what)
               - err->data;

    return NGX_HTTP_UNPROCESSABLE_ENTITY;
}
