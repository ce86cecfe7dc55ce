/*
 * blueprint.h: the blueprint a run's agent_name names, from one of two
 * places (docs/EXECUTORS.md, "Agent blueprints"):
 *
 *   1. the folder <agents dir>/<agent_name> on this host, in the
 *      reference's format (agent.json, agent.system-prompt.md,
 *      agent.mcp.json, .disabled) or this product's (system-prompt.md,
 *      mcp.json, agent.json): common/bpfolder.h.  A folder wins; a folder
 *      with .disabled refuses the run.
 *   2. else the payload's "blueprint": the coordinator's registry
 *      (runs_agents_api), {"name", "description", "system_prompt",
 *      "mcp_servers", "model", "permission_mode", "allowed_tools",
 *      "disallowed_tools", "max_turns", ...}.
 *
 * Either gives claude the same flags: --append-system-prompt, the MCP
 * servers (mcpconf.h), --model, --permission-mode, --allowedTools,
 * --disallowedTools, --max-turns.
 */
#ifndef CLAUDE_BLUEPRINT_H
#define CLAUDE_BLUEPRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AGENTS_DIR_DEFAULT "/etc/agent-runner/agents"

struct blueprint {
    char   *dir;                    /* the agent's folder; NULL: the registry's */
    char   *system_prompt;          /* NULL: none (or only white space) */
    json_t *mcp;                    /* {"mcpServers": {...}, ...}; NULL: none */
    char   *mcp_from;               /* the MCP file's path, or "the coordinator's
                                       blueprint"; NULL: none */
    char   *model;                  /* NULL: Claude's default */
    char   *permission_mode;
    char  **allowed_tools;
    size_t  n_allowed;
    char  **disallowed_tools;
    size_t  n_disallowed;
    long    max_turns;              /* 0: no limit given */
};

/*
 * the blueprint of agent name: its folder in agents_dir, else registry
 * (the payload's "blueprint", NULL: none).  0, or -1 with the message in
 * err ('unknown agent "x" (looked in DIR)', 'agent "x" is disabled on
 * this host: ...', 'agent "x": PATH: ...').
 */
int blueprint_load(const char *agents_dir, const char *name, json_t *registry,
                   struct blueprint *b, char *err, size_t errsize);
void blueprint_free(struct blueprint *b);

#endif
