/*
 * mcpconf.h: the MCP configuration claude gets (--mcp-config): the
 * blueprint's MCP servers (its folder's MCP file, or the registry
 * blueprint's "mcp_servers"), their placeholders replaced, plus the
 * coordinator's MCP server, so that the agent can start and resume
 * sub-agents as tool calls:
 *
 *   "agent-orchestrator": {"type": "http", "url": AGENT_ORCHESTRATOR_MCP_URL,
 *                          "headers": {"X-Agent-Session-Name": the session}}
 *
 * Placeholders, in every string of a server (url, headers, command,
 * args, env; not in names): ${AGENT_SESSION_NAME}, ${AGENT_SESSION_ID},
 * ${AGENT_ORCHESTRATOR_API_URL} (the run's), ${NAME} (the executor's
 * environment), and ${NAME:-default} (the default when NAME is unset or
 * empty).  A ${NAME} that is not set fails the run, naming it.
 *
 * Everything goes into one file of this run's own (mode 0600, in $TMPDIR
 * or /tmp), removed by mcpconf_free.  The coordinator's server is not
 * added when AGENT_ORCHESTRATOR_MCP_URL is not set or when the blueprint
 * already has a server with that url or one whose name begins with
 * "agent-orchestrator".  No blueprint servers and no url: no file.
 */
#ifndef CLAUDE_MCPCONF_H
#define CLAUDE_MCPCONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MCPCONF_SERVER  "agent-orchestrator"
#define MCPCONF_HEADER  "X-Agent-Session-Name"

/* what the run's own placeholders stand for (NULL: not set) */
struct mcpvars {
    const char *session_name;
    const char *session_id;
    const char *api_url;
};

struct mcpconf {
    const char *path;               /* for --mcp-config; NULL: none */
    char       *temp;               /* the file written, removed at the end */
    bool        added;              /* the coordinator's server was added */
    char       *own;                /* else the blueprint's server that
                                       reaches it, NULL: none */
    unsigned    replaced;           /* placeholders replaced */
};

/*
 * the configuration for a run of session in agent (NULL: no agent),
 * whose blueprint's MCP configuration is mcp ({"mcpServers": ...}; NULL:
 * none; from: where it came from, for messages), for the coordinator's
 * MCP endpoint url (NULL or empty: none).  0, or -1 with the reason in
 * err (a placeholder whose variable is not set, a file that cannot be
 * written).
 */
int mcpconf_make(struct mcpconf *m, const char *agent, const json_t *mcp,
                 const char *from, const char *url, const char *session,
                 const struct mcpvars *vars, char *err, size_t errsize);

/* the file removed, everything freed */
void mcpconf_free(struct mcpconf *m);

#endif
