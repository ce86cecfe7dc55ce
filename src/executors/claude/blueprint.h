/*
 * blueprint.h: an agent's blueprint, the folder <agents dir>/<agent_name>:
 *
 *   system-prompt.md   appended to Claude's system prompt
 *                      (--append-system-prompt)
 *   mcp.json           its MCP servers (--mcp-config)
 *   agent.json         settings: {"model", "permission_mode",
 *                      "allowed_tools": [...], "disallowed_tools": [...],
 *                      "max_turns"}
 *
 * Every file is optional; the folder is not.
 */
#ifndef CLAUDE_BLUEPRINT_H
#define CLAUDE_BLUEPRINT_H

#include <stddef.h>

#define AGENTS_DIR_DEFAULT "/etc/agent-runner/agents"

struct blueprint {
    char   *dir;                    /* the agent's folder */
    char   *system_prompt;          /* NULL: none (or an empty file) */
    char   *mcp_config;             /* path; NULL: none */
    char   *model;                  /* NULL: Claude's default */
    char   *permission_mode;
    char  **allowed_tools;
    size_t  n_allowed;
    char  **disallowed_tools;
    size_t  n_disallowed;
    long    max_turns;              /* 0: no limit given */
};

/*
 * the blueprint of agent name in agents_dir; 0, or -1 with the message in
 * err (an unknown agent: 'unknown agent "x" (looked in DIR)')
 */
int blueprint_load(const char *agents_dir, const char *name, struct blueprint *b,
                   char *err, size_t errsize);
void blueprint_free(struct blueprint *b);

#endif
