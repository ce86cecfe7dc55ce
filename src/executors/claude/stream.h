/*
 * stream.h: claude's stream-json output (--output-format stream-json
 * --verbose), one JSON object per line, read as it comes: progress goes
 * to stderr as readable lines, the final "result" event is kept.
 *
 *   {"type":"system","subtype":"init","session_id","model","tools",...}
 *   {"type":"assistant","message":{"content":[{"type":"text","text"},
 *       {"type":"tool_use","id","name","input"}]}}
 *   {"type":"user","message":{"content":[{"type":"tool_result",
 *       "tool_use_id","content","is_error"}]}}
 *   {"type":"result","subtype":"success","is_error","result","num_turns",
 *       "total_cost_usd","duration_ms",...}
 */
#ifndef CLAUDE_STREAM_H
#define CLAUDE_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct stream {
    FILE    *log;                   /* progress lines: stderr */
    bool     got_result;
    bool     result_ok;             /* subtype success and not is_error */
    char    *result;                /* the result text; NULL: none */
    size_t   result_len;
    char    *subtype;               /* the result's subtype */
    long     num_turns;
    char    *session_id;            /* from the init event */
    unsigned skipped;               /* lines that were not JSON objects */
};

void stream_init(struct stream *s, FILE *log);
/* one line of claude's stdout (without its newline) */
void stream_line(struct stream *s, const char *line, size_t len);
void stream_free(struct stream *s);

#endif
