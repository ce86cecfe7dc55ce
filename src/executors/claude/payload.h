/*
 * payload.h: the run's payload, read from stdin (docs/EXECUTORS.md,
 * contract 1.x).
 */
#ifndef CLAUDE_PAYLOAD_H
#define CLAUDE_PAYLOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct payload {
    json_t     *doc;
    bool        resume;             /* mode "resume" (else "start") */
    const char *run_id;             /* NULL for a 1.0 payload */
    const char *session_name;
    const char *session_id;         /* NULL: the coordinator sent none */
    const char *prompt;             /* may hold NUL bytes: prompt_len */
    size_t      prompt_len;
    const char *agent_name;         /* NULL: none */
    const char *project_dir;        /* NULL: none */
    json_t     *blueprint;          /* the registry's blueprint of the
                                       agent (an object in doc); NULL: none */
};

/* reads stdin to its end; 0, or -1 with the reason in err */
int payload_read(struct payload *p, char *err, size_t errsize);
void payload_free(struct payload *p);

#endif
