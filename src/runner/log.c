/*
 * log.c: the runner's log lines (see log.h).
 */

#include "runner/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

static size_t
log_time(char *buf, size_t size)
{
    struct timespec ts;
    struct tm       tm;
    size_t          n;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL) {
        return (size_t) snprintf(buf, size, "0000-00-00T00:00:00.000Z");
    }
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t) snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
    return n;
}

void
log_msg(const struct log *lg, enum log_level level, const char *run_id,
        const char *fmt, ...)
{
    char        line[LOG_LINE_MAX];
    char        out[LOG_LINE_MAX + 8];
    size_t      n, i, o;
    va_list     ap;
    int         k;
    const char *p;
    ssize_t     w;

    if (level == LOG_DEBUG && !lg->debug) {
        return;
    }
    n = log_time(line, sizeof(line));
    k = snprintf(line + n, sizeof(line) - n, " %s ", level_names[level]);
    n += k > 0 ? (size_t) k : 0;
    if (run_id != NULL && run_id[0] != '\0') {
        k = snprintf(line + n, sizeof(line) - n, "%s ", run_id);
        n += k > 0 ? (size_t) k : 0;
    }
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
    }
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (k > 0) {
        n += (size_t) k;
    }
    if (n >= sizeof(line)) {
        n = sizeof(line) - 1;
    }

    /* one line, whatever the message holds */
    for (i = 0, o = 0; i < n && o + 3 < sizeof(out); i++) {
        if (line[i] == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (line[i] == '\r') {
            out[o++] = '\\';
            out[o++] = 'r';
        } else {
            out[o++] = line[i];
        }
    }
    out[o++] = '\n';

    /* one write(2): lines of concurrent writers do not interleave */
    p = out;
    while (o > 0) {
        w = write(STDERR_FILENO, p, o);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;                     /* nowhere left to report it */
        }
        p += w;
        o -= (size_t) w;
    }
}

const char *
log_quote(char *buf, size_t size, const char *s)
{
    size_t               o = 0, need;
    const unsigned char *p;
    bool                 plain = s[0] != '\0';
    char                 esc[8];

    if (size < 8) {
        if (size > 0) {
            buf[0] = '\0';
        }
        return buf;
    }
    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f) {
            plain = false;
            break;
        }
    }
    if (plain && strlen(s) < size) {
        memcpy(buf, s, strlen(s) + 1);
        return buf;
    }

    buf[o++] = '"';
    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        switch (*p) {
        case '"':  snprintf(esc, sizeof(esc), "\\\""); break;
        case '\\': snprintf(esc, sizeof(esc), "\\\\"); break;
        case '\n': snprintf(esc, sizeof(esc), "\\n"); break;
        case '\r': snprintf(esc, sizeof(esc), "\\r"); break;
        case '\t': snprintf(esc, sizeof(esc), "\\t"); break;
        default:
            if (*p < ' ' || *p == 0x7f) {
                snprintf(esc, sizeof(esc), "\\x%02x", *p);
            } else {
                esc[0] = (char) *p;
                esc[1] = '\0';
            }
        }
        need = strlen(esc);
        if (o + need + 5 > size) {      /* room for ...", NUL */
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        memcpy(buf + o, esc, need);
        o += need;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
