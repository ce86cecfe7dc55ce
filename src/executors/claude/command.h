/*
 * command.h: claude's command line for a run.
 */
#ifndef CLAUDE_COMMAND_H
#define CLAUDE_COMMAND_H

#include "blueprint.h"
#include "payload.h"

#include <stddef.h>

struct command {
    char   **argv;                  /* NULL-terminated, argv[0] the program */
    size_t   argc, cap;
};

/*
 * claude -p --output-format stream-json --verbose, the session
 * (--session-id on a start, --resume on a resume), then the blueprint's
 * flags (bp may be NULL) with --mcp-config mcp_config (NULL: none) after
 * its system prompt; the prompt goes on stdin.  0, or -1 with err.
 */
int command_build(struct command *c, const char *program, const struct payload *p,
                  const struct blueprint *bp, const char *mcp_config, char *err,
                  size_t errsize);
void command_free(struct command *c);

#endif
