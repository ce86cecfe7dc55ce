/*
 * names.h: what agent-runner and the executors check and print alike: an
 * agent's name (a blueprint folder, never a path) and a signal's name.
 */
#ifndef COMMON_NAMES_H
#define COMMON_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define AGENT_NAME_MAX  60

/* ^[A-Za-z0-9][A-Za-z0-9_.-]*$, 1 to AGENT_NAME_MAX characters */
bool agent_name_ok(const char *s);

/* "SIGTERM", or "signal 77" for one without a name: into buf, returned */
const char *signal_name(int sig, char *buf, size_t size);

#endif
