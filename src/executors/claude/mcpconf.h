/*
 * mcpconf.h: the MCP configuration claude gets (--mcp-config): the
 * blueprint's mcp.json, plus the coordinator's MCP server, so that the
 * agent can start and resume sub-agents as tool calls:
 *
 *   "agent-orchestrator": {"type": "http", "url": AGENT_ORCHESTRATOR_MCP_URL,
 *                          "headers": {"X-Agent-Session-Name": the session}}
 *
 * The two go into one file of this run's own (mode 0600, in $TMPDIR or
 * /tmp), removed by mcpconf_free.  Nothing is added, and the blueprint's
 * mcp.json is given as it is, when AGENT_ORCHESTRATOR_MCP_URL is not set
 * or when the blueprint already has a server with that url or one whose
 * name begins with "agent-orchestrator".
 */
#ifndef CLAUDE_MCPCONF_H
#define CLAUDE_MCPCONF_H

#include <stdbool.h>
#include <stddef.h>

#define MCPCONF_SERVER  "agent-orchestrator"
#define MCPCONF_HEADER  "X-Agent-Session-Name"

struct mcpconf {
    const char *path;               /* for --mcp-config; NULL: none */
    char       *temp;               /* the file written, removed at the end */
    bool        added;              /* the coordinator's server was added */
    char       *own;                /* else the blueprint's server that
                                       reaches it, NULL: none */
};

/*
 * the configuration for a run of session in agent (NULL: no agent),
 * whose blueprint's mcp.json is blueprint_mcp (NULL: none), for the
 * coordinator's MCP endpoint url (NULL or empty: none).  0, or -1 with
 * the reason in err (a blueprint's mcp.json that is not a JSON object of
 * servers, a file that cannot be written).
 */
int mcpconf_make(struct mcpconf *m, const char *agent, const char *blueprint_mcp,
                 const char *url, const char *session, char *err, size_t errsize);

/* the file removed, everything freed */
void mcpconf_free(struct mcpconf *m);

#endif
