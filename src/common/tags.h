/*
 * tags.h: tags as agent-runner (what it offers) and runsctl (what a run
 * demands) read them from a command line or the environment: names as
 * the coordinator has them (an agent's rule, common/names.h), sorted,
 * each once, at most TAGS_MAX.
 */
#ifndef COMMON_TAGS_H
#define COMMON_TAGS_H

#include <jansson.h>
#include <stddef.h>

#define TAGS_MAX  64            /* the coordinator's limit */

struct tags {
    char   *name[TAGS_MAX];     /* sorted, each once */
    size_t  n;
};

/*
 * Adds the names of text, separated by commas (white space around a name
 * is dropped).  0, or -1 with the reason in err, nothing added: a name
 * that is not one (an empty one too), more than TAGS_MAX names in all,
 * out of memory.
 */
int tags_add(struct tags *t, const char *text, char *err, size_t size);

/* the names as a JSON array (a new reference), NULL when out of memory */
json_t *tags_json(const struct tags *t);

/* "gpu,linux" ("" for none) into buf, cut to its size; buf returned */
const char *tags_text(const struct tags *t, char *buf, size_t size);

void tags_free(struct tags *t);

#endif
