/*
 * bpfolder.h: an agent blueprint folder, as agent-executor-claude runs it
 * and "runsctl agents import" sends it to the coordinator's registry.
 * Two formats, read alike (docs/EXECUTORS.md, "Agent blueprints"):
 *
 *   the reference's             this product's own
 *   NAME/agent.json             NAME/agent.json      (optional)
 *   NAME/agent.system-prompt.md NAME/system-prompt.md
 *   NAME/agent.mcp.json         NAME/mcp.json
 *   NAME/.disabled              (the reference's: the agent is inactive)
 *
 * agent.json's keys: name (the folder's), description, tags, skills (the
 * reference's), model, permission_mode, allowed_tools, disallowed_tools,
 * max_turns (this product's); any other key is an error naming the file
 * and the key.  A folder holding a file of both names (agent.mcp.json and
 * mcp.json) is an error too.
 */
#ifndef COMMON_BPFOLDER_H
#define COMMON_BPFOLDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BPFOLDER_PROMPT_MAX  (1024 * 1024)      /* a system prompt file */
#define BPFOLDER_TURNS_MAX   1000000

struct bpfolder {
    /* the blueprint in the registry's shape (GET /agents/{name} without
       status and times): "name", then what the folder has of
       "description", "system_prompt" (the file's text as it is),
       "mcp_servers", "skills", "tags" (sorted), "model",
       "permission_mode", "allowed_tools", "disallowed_tools",
       "max_turns" */
    json_t *bp;
    json_t *mcp;            /* the MCP file whole, NULL: none */
    char   *mcp_path;       /* its path, NULL: none */
    char   *prompt_path;    /* the system prompt file's, NULL: none */
    char   *json_path;      /* agent.json's, NULL: none */
    bool    disabled;       /* NAME/.disabled is there */
};

/*
 * the folder dir (a directory), for the agent name (the folder's own
 * name: agent.json's "name" must be it).  0, or -1 with the message in
 * err ("PATH: what is wrong"; "out of memory").
 */
int bpfolder_load(const char *dir, const char *name, struct bpfolder *f,
                  char *err, size_t errsize);
void bpfolder_free(struct bpfolder *f);

/* is dir/.disabled there? */
bool bpfolder_disabled(const char *dir);

#endif
