/*
 * log.h: one event per line on stderr,
 *   2026-11-24T10:00:01.250Z INFO run_0123456789ab started pid=4242
 * (UTC time with milliseconds, level, the run id when there is one, then
 * the message, whose details are key=value pairs).
 */
#ifndef RUNNER_LOG_H
#define RUNNER_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR
};

struct log {
    bool debug;                 /* -v: DEBUG lines are written too */
};

/* writes one line; run_id may be NULL; newlines in the text are escaped */
void log_msg(const struct log *lg, enum log_level level, const char *run_id,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * s as a log value: as it is when it has no space, quote, '=' or control
 * character, else in double quotes with C-style escapes; cut to fit buf
 * (ending "...").  Returns buf.
 */
const char *log_quote(char *buf, size_t size, const char *s);

#endif
