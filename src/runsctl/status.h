/*
 * The figures "runsctl status" shows, zone by zone: status.c takes them
 * from the samples of runs_metrics (docs/METRICS.md), status_out.c shows
 * them as a table or as JSON.
 */

#ifndef RUNSCTL_STATUS_H
#define RUNSCTL_STATUS_H

#include "runsctl/promtext.h"

#include <jansson.h>
#include <stddef.h>

/* one figure each, from one series (and one value of its label) */
enum status_fig {
    FIG_QUEUE_DEPTH,            /* runs_queue_depth */
    FIG_QUEUE_AGE,              /* runs_queue_oldest_age_seconds */
    FIG_RUNS_PENDING,           /* runs_runs{status} */
    FIG_RUNS_CLAIMED,
    FIG_RUNS_RUNNING,
    FIG_RUNS_STOPPING,
    FIG_RUNS_COMPLETED,
    FIG_RUNS_FAILED,
    FIG_RUNS_STOPPED,
    FIG_SESSIONS,               /* runs_sessions */
    FIG_RUNNERS_ONLINE,         /* runs_runners{state} */
    FIG_RUNNERS_STALE,
    FIG_HELD_POLL,              /* runs_held_requests{kind} */
    FIG_HELD_WAIT,
    FIG_HELD_FOLLOW,
    FIG_HELD_EVENTS,
    FIG_ZONE_SIZE,              /* runs_zone_size_bytes */
    FIG_ZONE_FREE,              /* runs_zone_free_bytes */
    FIG_ZONE_FULL,              /* runs_zone_full */
    FIG_JOURNAL_FAILING,        /* runs_journal_failing */
    FIG_JOURNAL_PENDING,        /* runs_journal_pending_changes */
    FIG_CREATED,                /* runs_created_total */
    FIG_CLAIMED,                /* runs_claimed_total */
    FIG_COMPLETED,              /* runs_completed_total */
    FIG_FAILED,                 /* runs_failed_total */
    FIG_STOPPED,                /* runs_stopped_total */
    FIG_COUNT
};

/* runs_refused_total{reason} */
struct status_refusal {
    const char *reason;
    double      count;
};

struct status_zone {
    const char            *name;          /* its zone label ("" for none) */
    double                 fig[FIG_COUNT];
    unsigned char          has[FIG_COUNT]; /* its series was there */
    struct status_refusal *refused;       /* in the text's order */
    size_t                 nrefused;
};

/* the zones of one answer, in the order they first appear in it */
struct status {
    struct status_zone *zones;
    size_t              nzones;
};

/* the figures of every zone with a runs_ sample in t (whose strings they
   point into: t must outlive st); RC_OK, or RC_FAIL (reported) when out
   of memory; status_free() in both cases */
int status_collect(const struct prom_text *t, struct status *st);

void status_free(struct status *st);

/* status_out.c: the zone's figures as a table on stdout, its name above
   it; RC_OK or RC_FAIL (reported) */
int status_print_table(const struct status_zone *z);

/* status_out.c: the zone's figures as a JSON object (missing series:
   null); NULL (reported) when out of memory */
json_t *status_json(const struct status_zone *z);

#endif
