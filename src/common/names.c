/*
 * names.c: agent and signal names (see names.h).
 */

#include "names.h"

#include <stdio.h>
#include <string.h>

bool
agent_name_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9');

        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) {
            return false;
        }
    }
    return i >= 1 && i <= AGENT_NAME_MAX;
}

const char *
signal_name(int sig, char *buf, size_t size)
{
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev != NULL) {
        snprintf(buf, size, "SIG%s", abbrev);
    } else {
        snprintf(buf, size, "signal %d", sig);
    }
    return buf;
}
