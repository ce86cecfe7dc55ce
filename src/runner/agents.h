/*
 * agents.h: the agent blueprints this runner's host holds, listed at
 * registration.  One folder per agent under the agents dir
 * (--agents-dir, AGENT_AGENTS_DIR); its name is the agent_name runs ask for.
 */
#ifndef RUNNER_AGENTS_H
#define RUNNER_AGENTS_H

#include "runner/log.h"

#include <jansson.h>
#include <stdbool.h>

#define AGENTS_DIR_DEFAULT  "/etc/agent-runner/agents"

/*
 * the sorted names of the folders of dir that are valid agent names and
 * hold no .disabled (either blueprint format, common/bpfolder.h), as a
 * new JSON array (empty when dir cannot be read: said in the log once per
 * change of what went wrong); NULL when out of memory
 */
json_t *agents_list(const char *dir, const struct log *lg);

#endif
