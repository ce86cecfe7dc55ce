/*
 * view.c: one-line views for the run's log (see view.h).
 */

#include "view.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
view_line(char *buf, size_t size, const char *text, size_t len)
{
    size_t i, o = 0;
    bool   cut = false;

    if (size == 0) {
        return buf;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];

        if (c == '\n' || c == '\r' || c == '\t') {
            if (o > 0 && buf[o - 1] == ' ') {
                continue;
            }
            c = ' ';
        } else if (c < 0x20 || c == 0x7f) {
            continue;
        }
        if (o + 1 >= size) {
            cut = true;
            break;
        }
        buf[o++] = (char) c;
    }
    if (cut) {
        o = size >= 4 ? size - 4 : 0;
        /* buf[o] is the first byte dropped: not inside a character */
        while (o > 0 && ((unsigned char) buf[o] & 0xc0) == 0x80) {
            o--;
        }
        if (o + 4 <= size) {
            memcpy(buf + o, "...", 3);
            o += 3;
        }
    }
    buf[o] = '\0';
    return buf;
}

/* the members that say best what a call does, in order of preference */
static const char *const view_keys[] = {
    "command", "file_path", "notebook_path", "path", "pattern", "url", "query",
    "description", "prompt", "skill", "subject"
};

const char *
view_tool_input(char *buf, size_t size, json_t *input)
{
    size_t      i;
    const char *s;
    char       *dump;
    json_t     *v;

    if (json_is_object(input)) {
        for (i = 0; i < sizeof(view_keys) / sizeof(view_keys[0]); i++) {
            v = json_object_get(input, view_keys[i]);
            s = json_string_value(v);
            if (s != NULL && s[0] != '\0') {
                return view_line(buf, size, s, json_string_length(v));
            }
        }
        if (json_object_size(input) == 0) {
            return view_line(buf, size, "", 0);
        }
    }
    dump = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
    if (dump == NULL) {
        return view_line(buf, size, "", 0);
    }
    view_line(buf, size, dump, strlen(dump));
    free(dump);
    return buf;
}
