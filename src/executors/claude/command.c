/*
 * command.c: claude's command line (see command.h).
 */

#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
command_push(struct command *c, const char *arg)
{
    char **grown;

    if (c->argc + 2 > c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        grown = realloc(c->argv, c->cap * sizeof(*grown));
        if (grown == NULL) {
            return -1;
        }
        c->argv = grown;
    }
    c->argv[c->argc] = strdup(arg);
    if (c->argv[c->argc] == NULL) {
        return -1;
    }
    c->argv[++c->argc] = NULL;
    return 0;
}

static int
command_pair(struct command *c, const char *flag, const char *value)
{
    return value == NULL ? 0 : command_push(c, flag) || command_push(c, value);
}

/* flag tool... : claude reads the names up to its next flag */
static int
command_list(struct command *c, const char *flag, char *const *v, size_t n)
{
    size_t i;

    if (n == 0) {
        return 0;
    }
    if (command_push(c, flag) != 0) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (command_push(c, v[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

int
command_build(struct command *c, const char *program, const struct payload *p,
              const struct blueprint *bp, const char *mcp_config, char *err,
              size_t errsize)
{
    char turns[32];

    memset(c, 0, sizeof(*c));
    if (p->resume && p->session_id == NULL) {
        snprintf(err, errsize, "cannot resume session \"%.80s\": the coordinator sent "
                 "no session_id", p->session_name);
        return -1;
    }
    if (command_push(c, program) != 0
        || command_push(c, "-p") != 0
        || command_pair(c, "--output-format", "stream-json") != 0
        || command_push(c, "--verbose") != 0
        || command_pair(c, p->resume ? "--resume" : "--session-id", p->session_id) != 0)
    {
        goto nomem;
    }
    if (bp != NULL
        && command_pair(c, "--append-system-prompt", bp->system_prompt) != 0)
    {
        goto nomem;
    }
    if (command_pair(c, "--mcp-config", mcp_config) != 0) {
        goto nomem;
    }
    if (bp != NULL) {
        snprintf(turns, sizeof(turns), "%ld", bp->max_turns);
        if (command_pair(c, "--model", bp->model) != 0
            || command_pair(c, "--permission-mode", bp->permission_mode) != 0
            || command_pair(c, "--max-turns", bp->max_turns ? turns : NULL) != 0
            || command_list(c, "--allowedTools", bp->allowed_tools, bp->n_allowed) != 0
            || command_list(c, "--disallowedTools", bp->disallowed_tools,
                            bp->n_disallowed) != 0)
        {
            goto nomem;
        }
    }
    return 0;

nomem:
    snprintf(err, errsize, "out of memory");
    return -1;
}

void
command_free(struct command *c)
{
    size_t i;

    for (i = 0; i < c->argc; i++) {
        free(c->argv[i]);
    }
    free(c->argv);
    memset(c, 0, sizeof(*c));
}
