/*
 * view.h: short one-line views of what claude reports, for the run's log.
 */
#ifndef CLAUDE_VIEW_H
#define CLAUDE_VIEW_H

#include <jansson.h>
#include <stddef.h>

/*
 * text on one line in buf: newlines and tabs become spaces, control
 * characters are dropped, and it is cut (on a UTF-8 character boundary,
 * ending "...") to fit size.  Returns buf.
 */
const char *view_line(char *buf, size_t size, const char *text, size_t len);

/*
 * a tool call's input in buf: the member that says what it does
 * (command, file_path, pattern, url, ...) or else the input as compact
 * JSON, on one line.  Returns buf.
 */
const char *view_tool_input(char *buf, size_t size, json_t *input);

#endif
