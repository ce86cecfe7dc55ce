
/*
 * ngx_http_runs_module: queues and dispatches agent runs from one
 * shared-memory zone.  This file holds the directives and the
 * configuration; each API directive carries its group's route table.
 * The zone's and the workers' life is src/ngx_http_runs_worker.c; the
 * store, the API groups and the held requests live in src/.
 */


#include "ngx_http_runs.h"


static void *ngx_http_runs_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_runs_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_runs_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_runs_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_runs_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_runs_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_runs_journal(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_runs_journal_args(ngx_conf_t *cf,
    ngx_http_runs_journal_t *j);
static ngx_http_runs_zone_t *ngx_http_runs_zone_named(ngx_conf_t *cf,
    ngx_str_t *name);
static ngx_int_t ngx_http_runs_use(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_runs_zone_t *zone, ngx_str_t *name);
static ngx_int_t ngx_http_runs_postconfiguration(ngx_conf_t *cf);


/* a handler directive naming a zone, checked once every zone is known */
typedef struct {
    ngx_http_runs_zone_t      *zone;
    ngx_str_t                  directive;
    ngx_str_t                  zone_name;
    u_char                    *file;
    ngx_uint_t                 line;
} ngx_http_runs_use_t;


static char *ngx_http_runs_check_max_waiters(ngx_conf_t *cf, void *post,
    void *data);

static ngx_conf_post_t  ngx_http_runs_max_waiters_post = {
    ngx_http_runs_check_max_waiters
};

static char *ngx_http_runs_check_result_max(ngx_conf_t *cf, void *post,
    void *data);

static ngx_conf_post_t  ngx_http_runs_result_max_post = {
    ngx_http_runs_check_result_max
};


static char *ngx_http_runs_check_mcp_timeout(ngx_conf_t *cf, void *post,
    void *data);

static ngx_conf_post_t  ngx_http_runs_mcp_timeout_post = {
    ngx_http_runs_check_mcp_timeout
};


static ngx_command_t  ngx_http_runs_commands[] = {

    { ngx_string("runs_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE23,
      ngx_http_runs_zone,
      0,
      0,
      NULL },

    { ngx_string("runs_journal"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_runs_journal,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("runs_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_client_routes },

    { ngx_string("runs_launcher_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_runner_routes },

    { ngx_string("runs_launchers_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_launchers_routes },

    { ngx_string("runs_sessions_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_sessions_routes },

    { ngx_string("runs_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_metrics_routes },

    { ngx_string("runs_events_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_events_routes },

    { ngx_string("runs_agents_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_agents_routes },

    { ngx_string("runs_blueprint_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, blueprint_max),
      &ngx_http_runs_result_max_post },

    { ngx_string("runs_mcp"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_mcp_routes },

    { ngx_string("runs_mcp_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_runs_loc_conf_t, mcp_timeout),
      &ngx_http_runs_mcp_timeout_post },

    { ngx_string("runs_dashboard"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_runs_dashboard,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("runs_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_http_runs_health_routes },

    { ngx_string("runs_poll_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_runs_loc_conf_t, poll_timeout),
      NULL },

    { ngx_string("runs_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_runs_loc_conf_t, scope),
      NULL },

    { ngx_string("runs_name_pattern"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_runs_name_pattern,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("runs_launcher_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_runs_loc_conf_t, launcher_auth),
      NULL },

    { ngx_string("runs_heartbeat_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_runs_loc_conf_t, heartbeat_interval),
      NULL },

    { ngx_string("runs_heartbeat_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.heartbeat_timeout),
      NULL },

    { ngx_string("runs_launcher_expiry"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.launcher_expiry),
      NULL },

    { ngx_string("runs_retention"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.retention),
      NULL },

    { ngx_string("runs_max_waiters"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.max_waiters),
      &ngx_http_runs_max_waiters_post },

    { ngx_string("runs_max_polls"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.max_held)
          + NGX_HTTP_RUNS_WAIT_POLL * sizeof(ngx_uint_t),
      &ngx_http_runs_max_waiters_post },

    { ngx_string("runs_max_waits"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.max_held)
          + NGX_HTTP_RUNS_WAIT_RUN * sizeof(ngx_uint_t),
      &ngx_http_runs_max_waiters_post },

    { ngx_string("runs_max_polls_per_launcher"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.max_polls_per_launcher),
      &ngx_http_runs_max_waiters_post },

    { ngx_string("runs_result_max"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, result_max),
      &ngx_http_runs_result_max_post },

    { ngx_string("runs_max_follows"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.max_held)
          + NGX_HTTP_RUNS_WAIT_LOG * sizeof(ngx_uint_t),
      &ngx_http_runs_max_waiters_post },

    { ngx_string("runs_max_streams"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.max_held)
          + NGX_HTTP_RUNS_WAIT_EVENTS * sizeof(ngx_uint_t),
      &ngx_http_runs_max_waiters_post },

    { ngx_string("runs_events_heartbeat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, events_heartbeat),
      NULL },

    { ngx_string("runs_log_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, log_size),
      &ngx_http_runs_result_max_post },

    { ngx_string("runs_claim_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.claim_timeout),
      NULL },

    { ngx_string("runs_demand_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_runs_main_conf_t, limits.demand_timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_runs_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_runs_postconfiguration,       /* postconfiguration */

    ngx_http_runs_create_main_conf,        /* create main configuration */
    ngx_http_runs_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_runs_create_loc_conf,         /* create location configuration */
    ngx_http_runs_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_runs_module = {
    NGX_MODULE_V1,
    &ngx_http_runs_module_ctx,             /* module context */
    ngx_http_runs_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_runs_init_module,             /* init module */
    ngx_http_runs_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_runs_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* a string returned here is logged after the directive's name */

static char *
ngx_http_runs_check_max_waiters(ngx_conf_t *cf, void *post, void *data)
{
    ngx_int_t  *np = data;

    if (*np < 1 || *np > 1000000) {
        return "must be between 1 and 1000000";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_runs_check_mcp_timeout(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *mp = data;

    if (*mp < 1000 || *mp > 86400000) {
        return "must be between 1s and 24h";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_runs_check_result_max(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp < 1024 || *sp > 64 * 1024 * 1024) {
        return "must be between 1k and 64m";
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_runs_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_runs_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&rmcf->zones, cf->pool, 2,
                       sizeof(ngx_http_runs_zone_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&rmcf->uses, cf->pool, 4,
                       sizeof(ngx_http_runs_use_t))
        != NGX_OK)
    {
        return NULL;
    }

    rmcf->limits.heartbeat_timeout = NGX_CONF_UNSET_MSEC;
    rmcf->limits.launcher_expiry = NGX_CONF_UNSET_MSEC;
    rmcf->limits.retention = NGX_CONF_UNSET_MSEC;
    rmcf->limits.claim_timeout = NGX_CONF_UNSET_MSEC;
    rmcf->limits.demand_timeout = NGX_CONF_UNSET_MSEC;
    rmcf->result_max = NGX_CONF_UNSET_SIZE;
    rmcf->limits.max_waiters = NGX_CONF_UNSET_UINT;
    rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_POLL] = NGX_CONF_UNSET_UINT;
    rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_RUN] = NGX_CONF_UNSET_UINT;
    rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_LOG] = NGX_CONF_UNSET_UINT;
    rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_EVENTS] = NGX_CONF_UNSET_UINT;
    rmcf->events_heartbeat = NGX_CONF_UNSET_MSEC;
    rmcf->blueprint_max = NGX_CONF_UNSET_SIZE;
    rmcf->log_size = NGX_CONF_UNSET_SIZE;
    rmcf->limits.max_polls_per_launcher = NGX_CONF_UNSET_UINT;

    return rmcf;
}


static char *
ngx_http_runs_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_runs_main_conf_t *rmcf = conf;

    ngx_conf_init_msec_value(rmcf->limits.heartbeat_timeout, 120000);
    ngx_conf_init_msec_value(rmcf->limits.launcher_expiry, 300000);
    ngx_conf_init_msec_value(rmcf->limits.retention, 86400000);
    ngx_conf_init_msec_value(rmcf->limits.claim_timeout, 10000);
    ngx_conf_init_msec_value(rmcf->limits.demand_timeout, 300000);
    ngx_conf_init_size_value(rmcf->result_max, 65536);
    ngx_conf_init_uint_value(rmcf->limits.max_waiters, 10000);
    ngx_conf_init_uint_value(rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_POLL], 1000);
    ngx_conf_init_uint_value(rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_RUN], 5000);
    ngx_conf_init_uint_value(rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_LOG], 1000);
    ngx_conf_init_uint_value(rmcf->limits.max_held[NGX_HTTP_RUNS_WAIT_EVENTS], 1000);
    ngx_conf_init_msec_value(rmcf->events_heartbeat, 15000);
    ngx_conf_init_size_value(rmcf->blueprint_max, 262144);
    ngx_conf_init_size_value(rmcf->log_size, 65536);
    ngx_conf_init_uint_value(rmcf->limits.max_polls_per_launcher, 4);

    if (rmcf->limits.launcher_expiry < rmcf->limits.heartbeat_timeout) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"runs_launcher_expiry\" (%M ms) must not be "
                           "shorter than \"runs_heartbeat_timeout\" (%M ms)",
                           rmcf->limits.launcher_expiry, rmcf->limits.heartbeat_timeout);
        return NGX_CONF_ERROR;
    }

    if (rmcf->limits.heartbeat_timeout == 0 || rmcf->limits.retention == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"runs_heartbeat_timeout\" and "
                           "\"runs_retention\" must be positive");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_runs_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_runs_loc_conf_t  *rlcf;

    rlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_runs_loc_conf_t));
    if (rlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     rlcf->zone = NULL;
     *     rlcf->routes = NULL;
     *     rlcf->prefix = { 0, NULL };
     */

    rlcf->poll_timeout = NGX_CONF_UNSET_MSEC;
    rlcf->heartbeat_interval = NGX_CONF_UNSET_MSEC;
    rlcf->launcher_auth = NGX_CONF_UNSET;
    rlcf->name_pattern = NGX_CONF_UNSET_PTR;
    rlcf->scope = NGX_CONF_UNSET_PTR;
    rlcf->mcp_timeout = NGX_CONF_UNSET_MSEC;

    return rlcf;
}


static char *
ngx_http_runs_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_runs_loc_conf_t *prev = parent;
    ngx_http_runs_loc_conf_t *conf = child;

    ngx_conf_merge_msec_value(conf->poll_timeout, prev->poll_timeout, 30000);
    ngx_conf_merge_msec_value(conf->heartbeat_interval,
                              prev->heartbeat_interval, 60000);
    ngx_conf_merge_value(conf->launcher_auth, prev->launcher_auth, 1);
    ngx_conf_merge_ptr_value(conf->name_pattern, prev->name_pattern, NULL);
    ngx_conf_merge_ptr_value(conf->scope, prev->scope, NULL);
    ngx_conf_merge_msec_value(conf->mcp_timeout, prev->mcp_timeout, 600000);

    if (conf->poll_timeout < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"runs_poll_timeout\" must be at least 1s");
        return NGX_CONF_ERROR;
    }

    if (conf->heartbeat_interval < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"runs_heartbeat_interval\" must be at least 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_runs_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_runs_main_conf_t *rmcf = conf;

    ssize_t                 size;
    ngx_int_t               events;
    ngx_str_t              *value;
    ngx_uint_t              i;
    ngx_shm_zone_t         *shm_zone;
    ngx_http_runs_zone_t   *zone, **zp;

    value = cf->args->elts;
    events = NGX_CONF_UNSET;

    if (value[1].len == 0) {
        return "has an empty zone name";
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid size \"%V\" in \"runs_zone\"", &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "runs_zone \"%V\" is too small: %V, "
                           "at least %uzk is needed",
                           &value[1], &value[2], 8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 4) {
        if (ngx_strncmp(value[3].data, "events=", 7) != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[3]);
            return NGX_CONF_ERROR;
        }

        events = ngx_atoi(value[3].data + 7, value[3].len - 7);

        /* a ring of at most half the zone */
        if (events < 16
            || (size_t) events > (size_t) size / 2 / NGX_HTTP_RUNS_EVENT_SIZE)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%V\" in runs_zone \"%V\": from "
                               "16 to %uz events fit in %V",
                               &value[3], &value[1],
                               (size_t) size / 2 / NGX_HTTP_RUNS_EVENT_SIZE,
                               &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    if (events == NGX_CONF_UNSET) {
        /* 1024, or what an eighth of a small zone holds */
        events = ngx_min(1024, size / 8 / NGX_HTTP_RUNS_EVENT_SIZE);
        events = ngx_max(events, 16);
    }

    zp = rmcf->zones.elts;
    for (i = 0; i < rmcf->zones.nelts; i++) {
        if (zp[i]->name.len == value[1].len
            && ngx_strncmp(zp[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "duplicate runs_zone \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                     &ngx_http_runs_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        /* a handler named it first */
        zone = shm_zone->data;

    } else {
        zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_runs_zone_t));
        if (zone == NULL) {
            return NGX_CONF_ERROR;
        }

        shm_zone->data = zone;
    }

    zone->name = value[1];
    zone->size = size;
    zone->events = events;
    zone->shm_zone = shm_zone;
    ngx_queue_init(&zone->held);

    shm_zone->init = ngx_http_runs_init_zone;
    shm_zone->noreuse = 0;

    zp = ngx_array_push(&rmcf->zones);
    if (zp == NULL) {
        return NGX_CONF_ERROR;
    }

    *zp = zone;

    return NGX_CONF_OK;
}


static char *
ngx_http_runs_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_runs_loc_conf_t *rlcf = conf;

    ngx_str_t                 *value;
    ngx_http_runs_zone_t      *zone;
    ngx_http_core_loc_conf_t  *clcf;

    if (rlcf->routes || rlcf->dashboard.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" conflicts with another runs handler "
                           "in this location", &cmd->name);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

#if (NGX_PCRE)
    if (clcf->regex) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" cannot be used in the regex location "
                           "\"%V\": use a prefix or exact location",
                           &cmd->name, &clcf->name);
        return NGX_CONF_ERROR;
    }
#endif

    if (clcf->named) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" cannot be used in the named location "
                           "\"%V\"", &cmd->name, &clcf->name);
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    zone = ngx_http_runs_zone_named(cf, &value[1]);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    rlcf->zone = zone;
    rlcf->routes = cmd->post;

    /* the API answers below the location's own prefix */
    rlcf->prefix = clcf->name;
    while (rlcf->prefix.len && rlcf->prefix.data[rlcf->prefix.len - 1] == '/')
    {
        rlcf->prefix.len--;
    }

    clcf->handler = ngx_http_runs_handler;

    return ngx_http_runs_use(cf, cmd, zone, &value[1]) == NGX_OK
           ? NGX_CONF_OK : NGX_CONF_ERROR;
}


/* the zone a handler or the journal names, made here if runs_zone is
   further down the file */

static ngx_http_runs_zone_t *
ngx_http_runs_zone_named(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_shm_zone_t        *shm_zone;
    ngx_http_runs_zone_t  *zone;

    shm_zone = ngx_shared_memory_add(cf, name, 0, &ngx_http_runs_module);
    if (shm_zone == NULL) {
        return NULL;
    }

    if (shm_zone->data == NULL) {
        /* runs_zone may come later in the file: checked in postconfig */
        zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_runs_zone_t));
        if (zone == NULL) {
            return NULL;
        }

        ngx_queue_init(&zone->held);
        shm_zone->data = zone;
    }

    return shm_zone->data;
}


/* a directive naming a zone, checked once every zone is known */

static ngx_int_t
ngx_http_runs_use(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_runs_zone_t *zone, ngx_str_t *name)
{
    ngx_http_runs_use_t        *use;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_runs_module);

    use = ngx_array_push(&rmcf->uses);
    if (use == NULL) {
        return NGX_ERROR;
    }

    use->zone = zone;
    use->directive = cmd->name;
    use->zone_name = *name;
    use->file = cf->conf_file->file.name.data;
    use->line = cf->conf_file->line;

    return NGX_OK;
}


/*
 * runs_journal ZONE PATH [sync=strict|relaxed] [interval=TIME]
 *     [buffer=SIZE] [compact=SIZE];
 */

static char *
ngx_http_runs_journal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                *value;
    ngx_http_runs_zone_t     *zone;
    ngx_http_runs_journal_t  *j;

    value = cf->args->elts;

    zone = ngx_http_runs_zone_named(cf, &value[1]);
    if (zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (zone->jconf) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "runs_zone \"%V\" has a runs_journal already",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    j = ngx_pcalloc(cf->pool, sizeof(ngx_http_runs_journal_t));
    if (j == NULL) {
        return NGX_CONF_ERROR;
    }

    j->zone = zone;
    j->path = value[2];
    j->stage.strict = 1;
    j->interval = 1000;
    j->size = 16 * 1024 * 1024;
    j->compact = 64 * 1024 * 1024;
    j->fd = NGX_INVALID_FILE;

    if (ngx_conf_full_name(cf->cycle, &j->path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* PATH.new while a compaction writes it, PATH.old until it is done */
    j->tmp.len = j->path.len + 4;
    j->tmp.data = ngx_pnalloc(cf->pool, j->tmp.len + 1);
    j->old.len = j->path.len + 4;
    j->old.data = ngx_pnalloc(cf->pool, j->old.len + 1);

    if (j->tmp.data == NULL || j->old.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(j->tmp.data, "%V.new%Z", &j->path);
    ngx_sprintf(j->old.data, "%V.old%Z", &j->path);

    if (ngx_http_runs_journal_args(cf, j) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_runs_journal_check(cf, j) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

#if (NGX_THREADS)

    j->pool = ngx_thread_pool_add(cf, NULL);
    if (j->pool == NULL) {
        return NGX_CONF_ERROR;
    }

#endif

    zone->jconf = j;

    return ngx_http_runs_use(cf, cmd, zone, &value[1]) == NGX_OK
           ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static char *
ngx_http_runs_journal_args(ngx_conf_t *cf, ngx_http_runs_journal_t *j)
{
    ssize_t     size;
    ngx_str_t  *value, v;
    ngx_int_t   ms;
    ngx_uint_t  i;

    value = cf->args->elts;

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "sync=strict") == 0) {
            j->stage.strict = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "sync=relaxed") == 0) {
            j->stage.strict = 0;
            continue;
        }

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            v.data = value[i].data + 9;
            v.len = value[i].len - 9;

            ms = ngx_parse_time(&v, 0);

            if (ms == NGX_ERROR || ms < 10 || ms > 60000) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"runs_journal\": "
                                   "from 10ms to 60s", &value[i]);
                return NGX_CONF_ERROR;
            }

            j->interval = (ngx_msec_t) ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "compact=", 8) == 0) {
            v.data = value[i].data + 8;
            v.len = value[i].len - 8;

            j->compact = ngx_parse_offset(&v);

            if (j->compact == NGX_ERROR || j->compact < 64 * 1024) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"runs_journal\": "
                                   "at least 64k", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "buffer=", 7) == 0) {
            v.data = value[i].data + 7;
            v.len = value[i].len - 7;

            size = ngx_parse_size(&v);

            if (size == NGX_ERROR || size < 1024 * 1024
                || size > 1024 * 1024 * 1024)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid \"%V\" in \"runs_journal\": "
                                   "from 1m to 1g", &value[i]);
                return NGX_CONF_ERROR;
            }

            j->size = size;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"runs_journal\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_runs_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_runs_use_t        *use;
    ngx_http_runs_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_runs_module);

    if (rmcf->uses.nelts == 0) {
        return NGX_OK;
    }

    if (ngx_http_runs_errors_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    use = rmcf->uses.elts;

    for (i = 0; i < rmcf->uses.nelts; i++) {
        if (use[i].zone->shm_zone == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"%V\" refers to unknown runs_zone \"%V\" "
                          "in %s:%ui", &use[i].directive, &use[i].zone_name,
                          use[i].file, use[i].line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
