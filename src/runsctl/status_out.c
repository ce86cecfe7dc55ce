/*
 * status_out.c: a zone's figures (status.c) for people, as a table, and
 * for programs, as a JSON object; one list of rows makes both.
 */

#include "runsctl/status.h"
#include "runsctl/runsctl.h"
#include "runsctl/table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
    K_COUNT,                    /* a whole number */
    K_SECONDS,
    K_BYTES,
    K_YESNO                     /* 0 or 1 */
};

/* rows that are not one series' figure */
enum {
    ROW_FILL = FIG_COUNT,       /* the zone's used share, from two */
    ROW_REFUSED                 /* one row per reason */
};

static const struct {
    const char *label;          /* in the table */
    const char *group;          /* in the JSON: its object, NULL: the top */
    const char *key;
    int         fig;
    enum kind   kind;
} rows[] = {
    { "queue depth", "queue", "depth", FIG_QUEUE_DEPTH, K_COUNT },
    { "queue oldest age", "queue", "oldest_age_seconds", FIG_QUEUE_AGE,
      K_SECONDS },
    { "runs pending", "runs", "pending", FIG_RUNS_PENDING, K_COUNT },
    { "runs claimed", "runs", "claimed", FIG_RUNS_CLAIMED, K_COUNT },
    { "runs running", "runs", "running", FIG_RUNS_RUNNING, K_COUNT },
    { "runs stopping", "runs", "stopping", FIG_RUNS_STOPPING, K_COUNT },
    { "runs completed", "runs", "completed", FIG_RUNS_COMPLETED, K_COUNT },
    { "runs failed", "runs", "failed", FIG_RUNS_FAILED, K_COUNT },
    { "runs stopped", "runs", "stopped", FIG_RUNS_STOPPED, K_COUNT },
    { "sessions", NULL, "sessions", FIG_SESSIONS, K_COUNT },
    { "runners online", "runners", "online", FIG_RUNNERS_ONLINE, K_COUNT },
    { "runners stale", "runners", "stale", FIG_RUNNERS_STALE, K_COUNT },
    { "held poll", "held_requests", "poll", FIG_HELD_POLL, K_COUNT },
    { "held wait", "held_requests", "wait", FIG_HELD_WAIT, K_COUNT },
    { "held follow", "held_requests", "follow", FIG_HELD_FOLLOW, K_COUNT },
    { "held events", "held_requests", "events", FIG_HELD_EVENTS, K_COUNT },
    { "zone size", "memory", "size_bytes", FIG_ZONE_SIZE, K_BYTES },
    { "zone free", "memory", "free_bytes", FIG_ZONE_FREE, K_BYTES },
    { "zone fill", "memory", "fill_percent", ROW_FILL, K_COUNT },
    { "zone full", "memory", "full", FIG_ZONE_FULL, K_YESNO },
    { "refused", NULL, "refused", ROW_REFUSED, K_COUNT },
    { "journal failing", "journal", "failing", FIG_JOURNAL_FAILING,
      K_YESNO },
    { "journal pending changes", "journal", "pending_changes",
      FIG_JOURNAL_PENDING, K_COUNT },
    { "total created", "totals", "created", FIG_CREATED, K_COUNT },
    { "total claimed", "totals", "claimed", FIG_CLAIMED, K_COUNT },
    { "total completed", "totals", "completed", FIG_COMPLETED, K_COUNT },
    { "total failed", "totals", "failed", FIG_FAILED, K_COUNT },
    { "total stopped", "totals", "stopped", FIG_STOPPED, K_COUNT },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static int
whole(double v)
{
    return v > -1e15 && v < 1e15 && v == (double) (long long) v;
}

/* the share of the zone in use, in percent; -1 when not known */
static double
fill_of(const struct status_zone *z)
{
    double size = z->fig[FIG_ZONE_SIZE], free_ = z->fig[FIG_ZONE_FREE];

    if (!z->has[FIG_ZONE_SIZE] || !z->has[FIG_ZONE_FREE] || !(size > 0)
        || !isfinite(free_))
    {
        return -1;
    }
    return (size - free_) * 100 / size;
}

static int
has_journal(const struct status_zone *z)
{
    return z->has[FIG_JOURNAL_FAILING] || z->has[FIG_JOURNAL_PENDING];
}

/* ---------------------------------------------------------------- */
/* the table */

/* "2.5 MiB" */
static void
human_bytes(char *out, size_t size, double v)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
    size_t                   u = 0;

    v /= 1024;
    while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
        v /= 1024;
        u++;
    }
    snprintf(out, size, "%.1f %s", v, unit[u]);
}

/* "1h02m05s" */
static void
human_seconds(char *out, size_t size, double v)
{
    long long s = (long long) v;

    if (s >= 3600) {
        snprintf(out, size, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60,
                 s % 60);
    } else {
        snprintf(out, size, "%lldm%02llds", s / 60, s % 60);
    }
}

/* the text of value v of that kind */
static void
value_text(char *out, size_t size, enum kind kind, double v)
{
    char h[48];

    if (kind == K_YESNO) {
        snprintf(out, size, "%s", v != 0 ? "yes" : "no");
    } else if (kind == K_SECONDS && isfinite(v) && v >= 60 && v < 1e15) {
        human_seconds(h, sizeof(h), v);
        snprintf(out, size, "%.3fs (%s)", v, h);
    } else if (kind == K_SECONDS) {
        snprintf(out, size, "%.3fs", v);
    } else if (!whole(v)) {
        snprintf(out, size, "%g", v);
    } else if (kind == K_BYTES && v >= 1024) {
        human_bytes(h, sizeof(h), v);
        snprintf(out, size, "%.0f (%s)", v, h);
    } else {
        snprintf(out, size, "%.0f", v);
    }
}

/* the refusals' rows: the reasons that counted some, else one "0" */
static int
refused_rows(struct table *t, const struct status_zone *z)
{
    char        label[96], value[64];
    const char *cells[2] = { label, value };
    int         rows_added = 0, rc;

    for (size_t i = 0; i < z->nrefused; i++) {
        if (z->refused[i].count == 0) {
            continue;
        }
        snprintf(label, sizeof(label), "refused %s", z->refused[i].reason);
        value_text(value, sizeof(value), K_COUNT, z->refused[i].count);
        rc = table_add(t, cells);
        if (rc != RC_OK) {
            return rc;
        }
        rows_added++;
    }
    if (rows_added > 0) {
        return RC_OK;
    }
    snprintf(label, sizeof(label), "refused");
    snprintf(value, sizeof(value), "%s", z->nrefused > 0 ? "0" : "-");
    return table_add(t, cells);
}

/* one row of the table (none for a journal the zone does not have) */
static int
table_row(struct table *t, const struct status_zone *z, size_t r)
{
    char        value[96];
    const char *cells[2] = { rows[r].label, value };
    double      fill;

    if (rows[r].fig == ROW_REFUSED) {
        return refused_rows(t, z);
    }
    if ((rows[r].fig == FIG_JOURNAL_FAILING
         || rows[r].fig == FIG_JOURNAL_PENDING) && !has_journal(z))
    {
        return RC_OK;
    }
    if (rows[r].fig == ROW_FILL) {
        fill = fill_of(z);
        if (fill < 0) {
            snprintf(value, sizeof(value), "-");
        } else {
            snprintf(value, sizeof(value), "%.1f%%", fill);
        }
    } else if (!z->has[rows[r].fig]) {
        snprintf(value, sizeof(value), "-");
    } else {
        value_text(value, sizeof(value), rows[r].kind, z->fig[rows[r].fig]);
    }
    return table_add(t, cells);
}

int
status_print_table(const struct status_zone *z)
{
    static const char *const headers[] = { "FIGURE", "VALUE" };
    struct table            *t;
    char                    *name;
    int                      rc = RC_OK;

    name = text_clean(z->name, strlen(z->name), 1);
    if (name == NULL) {
        return RC_FAIL;
    }
    if (printf("zone: %s\n", name[0] != '\0' ? name : "-") < 0) {
        ctl_error("cannot write to stdout");
        rc = RC_FAIL;
    }
    free(name);
    t = rc == RC_OK ? table_new(2, headers, NULL) : NULL;
    if (t == NULL) {
        return RC_FAIL;
    }
    for (size_t r = 0; rc == RC_OK && r < NROWS; r++) {
        rc = table_row(t, z, r);
    }
    if (rc == RC_OK) {
        rc = table_print(t);
    }
    table_free(t);
    return rc;
}

/* ---------------------------------------------------------------- */
/* JSON */

/* value v of that kind; null when not a finite number */
static json_t *
json_value(enum kind kind, double v)
{
    if (!isfinite(v)) {
        return json_null();
    }
    if (kind == K_YESNO) {
        return json_boolean(v != 0);
    }
    if (kind != K_SECONDS && whole(v)) {
        return json_integer((json_int_t) v);
    }
    return json_real(v);
}

/* the zone's used share, to 0.01 %, or null */
static json_t *
json_fill(const struct status_zone *z)
{
    double fill = fill_of(z);
    char   text[64];

    if (fill < 0) {
        return json_null();
    }
    snprintf(text, sizeof(text), "%.2f", fill);
    return json_real(strtod(text, NULL));
}

/* {"reason": count, ...}, or null when the series is not there */
static json_t *
json_refused(const struct status_zone *z)
{
    json_t *o;

    if (z->nrefused == 0) {
        return json_null();
    }
    o = json_object();
    for (size_t i = 0; o != NULL && i < z->nrefused; i++) {
        if (json_object_set_new(o, z->refused[i].reason,
                                json_value(K_COUNT, z->refused[i].count))
            != 0)
        {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

/* the object row r goes in (made when new; the journal's: null when the
   zone has none), or NULL for none */
static json_t *
json_group(json_t *obj, const struct status_zone *z, size_t r, int *fail)
{
    json_t *g;

    if (rows[r].group == NULL) {
        return obj;
    }
    g = json_object_get(obj, rows[r].group);
    if (g != NULL) {
        return json_is_object(g) ? g : NULL;
    }
    if (strcmp(rows[r].group, "journal") == 0 && !has_journal(z)) {
        *fail |= json_object_set_new(obj, "journal", json_null());
        return NULL;
    }
    g = json_object();
    *fail |= json_object_set_new(obj, rows[r].group, g);
    return g;
}

json_t *
status_json(const struct status_zone *z)
{
    json_t *obj = json_object(), *g, *v;
    int     fail = obj == NULL;

    for (size_t r = 0; !fail && r < NROWS; r++) {
        g = json_group(obj, z, r, &fail);
        if (g == NULL) {
            continue;
        }
        if (rows[r].fig == ROW_FILL) {
            v = json_fill(z);
        } else if (rows[r].fig == ROW_REFUSED) {
            v = json_refused(z);
        } else if (!z->has[rows[r].fig]) {
            v = json_null();
        } else {
            v = json_value(rows[r].kind, z->fig[rows[r].fig]);
        }
        fail |= json_object_set_new(g, rows[r].key, v);
    }
    if (fail) {
        ctl_error("out of memory");
        json_decref(obj);
        return NULL;
    }
    return obj;
}
