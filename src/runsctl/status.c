/*
 * status.c: the figures of "runsctl status" taken from the samples of
 * runs_metrics, zone by zone (every series has the label "zone").
 */

#include "runsctl/status.h"
#include "runsctl/runsctl.h"

#include <stdlib.h>
#include <string.h>

/* the series (and value of its label) each figure is read from */
static const struct {
    const char      *series;
    const char      *label;         /* NULL: the series has no other */
    const char      *value;
    enum status_fig  fig;
} series_map[] = {
    { "runs_queue_depth", NULL, NULL, FIG_QUEUE_DEPTH },
    { "runs_queue_oldest_age_seconds", NULL, NULL, FIG_QUEUE_AGE },
    { "runs_runs", "status", "pending", FIG_RUNS_PENDING },
    { "runs_runs", "status", "claimed", FIG_RUNS_CLAIMED },
    { "runs_runs", "status", "running", FIG_RUNS_RUNNING },
    { "runs_runs", "status", "stopping", FIG_RUNS_STOPPING },
    { "runs_runs", "status", "completed", FIG_RUNS_COMPLETED },
    { "runs_runs", "status", "failed", FIG_RUNS_FAILED },
    { "runs_runs", "status", "stopped", FIG_RUNS_STOPPED },
    { "runs_sessions", NULL, NULL, FIG_SESSIONS },
    { "runs_runners", "state", "online", FIG_RUNNERS_ONLINE },
    { "runs_runners", "state", "stale", FIG_RUNNERS_STALE },
    { "runs_held_requests", "kind", "poll", FIG_HELD_POLL },
    { "runs_held_requests", "kind", "wait", FIG_HELD_WAIT },
    { "runs_held_requests", "kind", "follow", FIG_HELD_FOLLOW },
    { "runs_held_requests", "kind", "events", FIG_HELD_EVENTS },
    { "runs_zone_size_bytes", NULL, NULL, FIG_ZONE_SIZE },
    { "runs_zone_free_bytes", NULL, NULL, FIG_ZONE_FREE },
    { "runs_zone_full", NULL, NULL, FIG_ZONE_FULL },
    { "runs_journal_failing", NULL, NULL, FIG_JOURNAL_FAILING },
    { "runs_journal_pending_changes", NULL, NULL, FIG_JOURNAL_PENDING },
    { "runs_created_total", NULL, NULL, FIG_CREATED },
    { "runs_claimed_total", NULL, NULL, FIG_CLAIMED },
    { "runs_completed_total", NULL, NULL, FIG_COMPLETED },
    { "runs_failed_total", NULL, NULL, FIG_FAILED },
    { "runs_stopped_total", NULL, NULL, FIG_STOPPED },
};

#define NSERIES (sizeof(series_map) / sizeof(series_map[0]))

/* the zone called name, added when it is new; NULL when out of memory */
static struct status_zone *
zone_of(struct status *st, const char *name)
{
    struct status_zone *z;

    for (size_t i = 0; i < st->nzones; i++) {
        if (strcmp(st->zones[i].name, name) == 0) {
            return &st->zones[i];
        }
    }
    z = realloc(st->zones, (st->nzones + 1) * sizeof(*z));
    if (z == NULL) {
        return NULL;
    }
    st->zones = z;
    z += st->nzones++;
    memset(z, 0, sizeof(*z));
    z->name = name;
    return z;
}

/* runs_refused_total{reason}: RC_OK or RC_FAIL (out of memory) */
static int
refusal(struct status_zone *z, const char *reason, double count)
{
    struct status_refusal *r;

    for (size_t i = 0; i < z->nrefused; i++) {
        if (strcmp(z->refused[i].reason, reason) == 0) {
            z->refused[i].count = count;
            return RC_OK;
        }
    }
    r = realloc(z->refused, (z->nrefused + 1) * sizeof(*r));
    if (r == NULL) {
        return RC_FAIL;
    }
    z->refused = r;
    r[z->nrefused].reason = reason;
    r[z->nrefused++].count = count;
    return RC_OK;
}

/* the figure a sample of zone z gives, if it gives one */
static int
one_sample(struct status_zone *z, const struct prom_sample *s)
{
    const char *v;

    if (strcmp(s->name, "runs_refused_total") == 0) {
        v = prom_label(s, "reason");
        return v != NULL ? refusal(z, v, s->value) : RC_OK;
    }
    for (size_t i = 0; i < NSERIES; i++) {
        if (strcmp(series_map[i].series, s->name) != 0) {
            continue;
        }
        if (series_map[i].label != NULL
            && ((v = prom_label(s, series_map[i].label)) == NULL
                || strcmp(v, series_map[i].value) != 0))
        {
            continue;
        }
        z->fig[series_map[i].fig] = s->value;
        z->has[series_map[i].fig] = 1;
        break;
    }
    return RC_OK;
}

int
status_collect(const struct prom_text *t, struct status *st)
{
    struct status_zone *z;
    const char         *zone;

    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i < t->nsamples; i++) {
        const struct prom_sample *s = &t->samples[i];

        if (strncmp(s->name, "runs_", 5) != 0) {
            continue;
        }
        zone = prom_label(s, "zone");
        z = zone_of(st, zone != NULL ? zone : "");
        if (z == NULL || one_sample(z, s) != RC_OK) {
            ctl_error("out of memory");
            return RC_FAIL;
        }
    }
    return RC_OK;
}

void
status_free(struct status *st)
{
    for (size_t i = 0; i < st->nzones; i++) {
        free(st->zones[i].refused);
    }
    free(st->zones);
    memset(st, 0, sizeof(*st));
}
