/*
 * promtext.c: a reader of the Prometheus text exposition format,
 * version 0.0.4 (what runs_metrics answers).  Each line is empty, a
 * comment ("# HELP", "# TYPE" or any other "#" line: skipped) or a sample:
 *
 *   name [ "{" label="value" { "," label="value" } [ "," ] "}" ] value [ timestamp ]
 *
 * with blanks (spaces, tabs) between the parts, the escapes \\ \" and \n
 * in label values, a float value (NaN, +Inf and -Inf too) and a timestamp
 * in milliseconds.  Nothing is reported here: a line that is none of
 * these is an error naming its number.
 */

#ifndef RUNSCTL_PROMTEXT_H
#define RUNSCTL_PROMTEXT_H

#include <stddef.h>

struct prom_label {
    const char *name;
    const char *value;          /* unescaped: UTF-8, no NUL */
};

struct prom_sample {
    const char              *name;
    const struct prom_label *labels;      /* nlabels of them, as given */
    size_t                   nlabels;
    double                   value;
    int                      has_timestamp;
    long long                timestamp;   /* ms since the epoch */
    size_t                   line;        /* its line, the first is 1 */
};

/* the samples of one text, in its order */
struct prom_text {
    struct prom_sample *samples;
    size_t              nsamples;
    /* what the samples point into */
    char               *text;
    struct prom_label  *labels;
    size_t              nlabels;
};

#define PROM_ERROR_MAX 320      /* the size of prom_parse()'s err */

enum {
    PROM_OK = 0,
    PROM_SYNTAX,                /* err: "line N: what is wrong" */
    PROM_NO_MEMORY
};

/* the len bytes at data read into *out (prom_free() it after PROM_OK;
   nothing to free otherwise); err (PROM_ERROR_MAX bytes) says what is
   wrong after PROM_SYNTAX, quoting the text with anything but printable
   ASCII shown as \xNN */
int prom_parse(const char *data, size_t len, struct prom_text *out,
               char *err);

void prom_free(struct prom_text *t);

/* the value of s's label called name, or NULL */
const char *prom_label(const struct prom_sample *s, const char *name);

#endif
