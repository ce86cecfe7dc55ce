/*
 * cmd_status.c: status: the coordinator's figures, read from its
 * runs_metrics location (the Prometheus text format: promtext.c), zone
 * by zone (status.c), as tables or JSON (status_out.c).
 */

#include "runsctl/api.h"
#include "runsctl/jsonx.h"
#include "runsctl/promtext.h"
#include "runsctl/status.h"
#include "runsctl/table.h"

#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* where the metrics are when --metrics-url is not given */
#define METRICS_ENV   "RUNS_METRICS_URL"
/* the largest answer taken: runs_metrics answers a few kilobytes */
#define METRICS_MAX   (16u * 1024 * 1024)
#define METRICS_HOWTO "location = /metrics { runs_metrics ZONE; }"

enum { O_METRICS_URL, O_ZONE, O_STATUS_N };

static const struct opt_spec status_opts[O_STATUS_N] = {
    [O_METRICS_URL] = { "metrics-url", 1 },
    [O_ZONE] = { "zone", 1 },
};

/* --metrics-url, else $RUNS_METRICS_URL, else <--url>/metrics, in a
   string to free(); NULL (reported) when out of memory */
static char *
metrics_url(const struct ctl *ctl, const struct args *a)
{
    const char *env = getenv(METRICS_ENV);
    size_t      len = strlen(ctl->url);
    char       *url;

    if (a->given[O_METRICS_URL]) {
        url = strdup(a->value[O_METRICS_URL]);
    } else if (env != NULL && env[0] != '\0') {
        url = strdup(env);
    } else {
        while (len > 0 && ctl->url[len - 1] == '/') {
            len--;
        }
        if (asprintf(&url, "%.*s/metrics", (int) len, ctl->url) < 0) {
            url = NULL;
        }
    }
    if (url == NULL) {
        ctl_error("out of memory");
    }
    return url;
}

/* http_stream's on_body: the answer gathered in a struct buf */
static int
gather(void *arg, const char *data, size_t len)
{
    return buf_append(arg, data, len);
}

/* what went wrong when the answer at url could not be read whole;
   returns the exit status */
static int
fetch_error(const char *url, int rc, const struct http_stream *s,
            const struct buf *body)
{
    if (rc == RC_USAGE) {
        ctl_error("bad metrics URL '%s': %s", url, s->why);
        return RC_USAGE;
    }
    if (body->too_large) {
        ctl_error("the answer of %s is larger than %u bytes: it is not "
                  "runs_metrics'", url, METRICS_MAX);
    } else if (rc == RC_UNREACHABLE) {
        ctl_error("cannot read the metrics at %s: %s: is the coordinator "
                  "running there, with runs_metrics configured (%s)?", url,
                  s->why[0] ? s->why : "no answer", METRICS_HOWTO);
        return RC_UNREACHABLE;      /* as every command says it */
    } else {
        ctl_error("cannot read the metrics at %s: %s", url,
                  body->no_memory || s->why[0] == '\0' ? "out of memory"
                                                        : s->why);
    }
    return RC_FAIL;
}

/* GET url into body (buf_free() it): RC_OK for a 2xx answer; anything
   else reported and returned (RC_FAIL, RC_USAGE for a bad URL) */
static int
fetch(const char *url, struct buf *body)
{
    struct http_client *c;
    struct http_stream  s = { .names = { NULL }, .on_body = gather };
    int                 rc;

    buf_init(body, METRICS_MAX);
    s.arg = body;
    rc = http_client_new(url, &c);
    if (rc == RC_OK) {
        rc = http_client_accept(c, "text/plain; version=0.0.4");
    }
    if (rc == RC_OK) {
        rc = http_stream(c, "", 0, API_TIMEOUT_MS, &s);
        if (rc != RC_OK) {
            rc = fetch_error(url, rc, &s, body);
        } else if (s.status == 404) {
            ctl_error("%s answered HTTP 404: runs_metrics is not configured "
                      "there: add \"%s\" to the coordinator's nginx.conf, "
                      "or give the metrics' URL with --metrics-url or $%s",
                      url, METRICS_HOWTO, METRICS_ENV);
            rc = RC_FAIL;
        } else if (s.status < 200 || s.status > 299) {
            ctl_error("%s answered HTTP %ld, not the metrics: runs_metrics "
                      "must be configured there (%s), and allow this host",
                      url, s.status, METRICS_HOWTO);
            rc = RC_FAIL;
        }
        http_stream_free(&s);
    }
    http_client_free(c);
    return rc;
}

/* the zones' names for a message, cleaned, to free(); NULL on failure */
static char *
zone_names(const struct status *st)
{
    struct buf b;
    char      *s;

    buf_init(&b, 0);
    for (size_t i = 0; i < st->nzones; i++) {
        buf_append(&b, ", ", i ? 2 : 0);
        buf_append(&b, st->zones[i].name, strlen(st->zones[i].name));
    }
    s = b.no_memory ? NULL : text_clean(b.data ? b.data : "", b.len, 1);
    buf_free(&b);
    return s;
}

/* --zone NAME: the zones kept are that one; RC_OK or RC_FAIL (reported:
   there is no such zone) */
static int
pick_zone(struct status *st, const char *zone, const char *url)
{
    char *names, *clean;

    for (size_t i = 0; i < st->nzones; i++) {
        struct status_zone keep = st->zones[i];

        if (strcmp(keep.name, zone) != 0) {
            continue;
        }
        for (size_t j = 0; j < st->nzones; j++) {
            if (j != i) {
                free(st->zones[j].refused);
            }
        }
        st->zones[0] = keep;
        st->nzones = 1;
        return RC_OK;
    }
    names = zone_names(st);
    clean = text_clean(zone, strlen(zone), 1);
    if (names != NULL && clean != NULL) {
        ctl_error("no zone '%s' in the metrics at %s (zones: %s)", clean,
                  url, names);
    }
    free(names);
    free(clean);
    return RC_FAIL;
}

/* {"metrics_url": URL, "zones": {"NAME": {...}, ...}} on stdout */
static int
print_json(const struct status *st, const char *url)
{
    json_t *doc, *zones;
    char   *text = NULL;
    int     rc = RC_FAIL;

    zones = json_object();
    doc = json_pack("{s:s, s:o}", "metrics_url", url, "zones", zones);
    for (size_t i = 0; doc != NULL && i < st->nzones; i++) {
        if (json_object_set_new(zones, st->zones[i].name,
                                status_json(&st->zones[i])) != 0)
        {
            json_decref(doc);
            doc = NULL;
        }
    }
    if (doc != NULL) {
        text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    }
    if (text == NULL) {
        ctl_error("out of memory");
    } else {
        rc = jsonx_print_raw(text, strlen(text));
    }
    free(text);
    json_decref(doc);
    return rc;
}

/* one table per zone, a blank line between two */
static int
print_tables(const struct status *st)
{
    int rc = RC_OK;

    for (size_t i = 0; rc == RC_OK && i < st->nzones; i++) {
        if (i > 0 && putchar('\n') == EOF) {
            ctl_error("cannot write to stdout");
            return RC_FAIL;
        }
        rc = status_print_table(&st->zones[i]);
    }
    return rc;
}

/* the figures of the text at url, shown */
static int
show(const struct ctl *ctl, const struct args *a, const char *url,
     const struct buf *body)
{
    struct prom_text  t;
    struct status     st;
    char              err[PROM_ERROR_MAX];
    int               rc;

    rc = prom_parse(body->data ? body->data : "", body->len, &t, err);
    if (rc != PROM_OK) {
        if (rc == PROM_NO_MEMORY) {
            ctl_error("out of memory");
        } else {
            ctl_error("the metrics at %s are not the Prometheus text format: "
                      "%s", url, err);
        }
        return RC_FAIL;
    }
    rc = status_collect(&t, &st);
    if (rc == RC_OK && st.nzones == 0) {
        ctl_error("%s answered no runs_ series: is it the coordinator's "
                  "runs_metrics (%s)?", url, METRICS_HOWTO);
        rc = RC_FAIL;
    }
    if (rc == RC_OK && a->given[O_ZONE]) {
        rc = pick_zone(&st, a->value[O_ZONE], url);
    }
    if (rc == RC_OK) {
        rc = ctl->json ? print_json(&st, url) : print_tables(&st);
    }
    status_free(&st);
    prom_free(&t);
    return rc;
}

static int
run_status(struct ctl *ctl, const struct args *a)
{
    struct buf  body;
    char       *url;
    int         rc;

    url = metrics_url(ctl, a);
    if (url == NULL) {
        return RC_FAIL;
    }
    rc = fetch(url, &body);
    if (rc == RC_OK) {
        rc = show(ctl, a, url, &body);
    }
    buf_free(&body);
    free(url);
    return rc;
}

const struct command cmd_status = {
    .name = "status",
    .synopsis = "status [--metrics-url URL] [--zone NAME]",
    .summary = "the coordinator's figures (queue, runs, runners, zone), "
               "from its metrics",
    .help =
        "Usage: runsctl status [--metrics-url URL] [--zone NAME]\n"
        "\n"
        "The coordinator's main figures, read from its runs_metrics\n"
        "location (the Prometheus text format; docs/METRICS.md), one\n"
        "table per zone: the queue's depth and the age of the oldest run\n"
        "a runner could claim, runs by status, sessions, runners online\n"
        "and stale, held requests by kind, the zone's size, free bytes\n"
        "and fill, refusals by reason (those that counted some), the\n"
        "journal's state (with runs_journal) and the totals since the\n"
        "zone was made.  A figure whose series is missing shows as '-'.\n"
        "--json prints them as one JSON object, {\"metrics_url\": URL,\n"
        "\"zones\": {\"NAME\": {\"queue\": {...}, \"runs\": {...}, ...}}}\n"
        "(null for a missing figure), not the server's text.\n"
        "\n"
        "The metrics are at --metrics-url URL, else $" METRICS_ENV ",\n"
        "else the coordinator's URL (--url) followed by /metrics, which\n"
        "needs \"" METRICS_HOWTO "\"\n"
        "in its nginx.conf (./build.sh start has it).  When they cannot be\n"
        "read (no answer, HTTP 404 or another error, a line that is not\n"
        "the text format: its number is given), the exit status is 1.\n"
        "\n"
        "Options:\n"
        "  --metrics-url URL   where runs_metrics answers\n"
        "  --zone NAME         only the zone called NAME\n"
        "\n"
        "Examples:\n"
        "  runsctl status\n"
        "  runsctl status --metrics-url http://coordinator:9113/metrics "
        "--zone runs\n"
        "  runsctl status --json | jq .zones.runs.queue.depth\n",
    .opts = status_opts,
    .nopts = O_STATUS_N,
    .min_pos = 0,
    .max_pos = 0,
    .run = run_status,
};
