/*
 * stream.c: claude's stream-json events (see stream.h).
 */

#include "stream.h"

#include "view.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_TEXT 160               /* bytes of a one-line view */
#define TEXT_MAX  8192              /* bytes of one text shown in the log */

void
stream_init(struct stream *s, FILE *log)
{
    memset(s, 0, sizeof(*s));
    s->log = log;
}

void
stream_free(struct stream *s)
{
    free(s->result);
    free(s->subtype);
    free(s->session_id);
    memset(s, 0, sizeof(*s));
}

static const char *
stream_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void
stream_init_event(struct stream *s, json_t *ev)
{
    const char *id = stream_str(ev, "session_id");
    const char *model = stream_str(ev, "model");
    json_t     *tools = json_object_get(ev, "tools");
    json_t     *mcp = json_object_get(ev, "mcp_servers");
    json_t     *srv;
    size_t      i;

    if (id != NULL && s->session_id == NULL) {
        s->session_id = strdup(id);
    }
    fprintf(s->log, "claude: session %s started (model %s, %zu tools",
            id ? id : "(no id)", model ? model : "(default)", json_array_size(tools));
    json_array_foreach(mcp, i, srv) {
        const char *name = stream_str(srv, "name");
        const char *status = stream_str(srv, "status");

        fprintf(s->log, "%s%s (%s)", i == 0 ? "; MCP servers: " : ", ",
                name ? name : "?", status ? status : "?");
    }
    fprintf(s->log, ")\n");
}

static void
stream_assistant(struct stream *s, json_t *ev)
{
    json_t     *content = json_object_get(json_object_get(ev, "message"), "content");
    json_t     *item;
    size_t      i, len;
    const char *type, *text;
    char        view[VIEW_TEXT];

    json_array_foreach(content, i, item) {
        type = stream_str(item, "type");
        if (type == NULL) {
            continue;
        }
        if (strcmp(type, "text") == 0) {
            text = stream_str(item, "text");
            if (text == NULL) {
                continue;
            }
            len = json_string_length(json_object_get(item, "text"));
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
                len--;
            }
            if (len > TEXT_MAX) {
                /* the log is for reading: the start of a long text */
                size_t cut = TEXT_MAX;

                while (cut > 0 && ((unsigned char) text[cut] & 0xc0) == 0x80) {
                    cut--;
                }
                fwrite(text, 1, cut, s->log);
                fprintf(s->log, "... (%zu more bytes)\n", len - cut);
            } else if (len > 0) {
                fwrite(text, 1, len, s->log);
                fputc('\n', s->log);
            }
        } else if (strcmp(type, "tool_use") == 0) {
            text = stream_str(item, "name");
            fprintf(s->log, "-> %s: %s\n", text ? text : "(tool)",
                    view_tool_input(view, sizeof(view), json_object_get(item, "input")));
        }
    }
}

/* the text of a tool_result's content: a string or [{"type":"text",...}] */
static const char *
stream_result_text(json_t *content, size_t *len)
{
    json_t *item;
    size_t  i;

    if (json_is_string(content)) {
        *len = json_string_length(content);
        return json_string_value(content);
    }
    json_array_foreach(content, i, item) {
        json_t *t = json_object_get(item, "text");

        if (json_is_string(t)) {
            *len = json_string_length(t);
            return json_string_value(t);
        }
    }
    *len = 0;
    return "";
}

static void
stream_user(struct stream *s, json_t *ev)
{
    json_t     *content = json_object_get(json_object_get(ev, "message"), "content");
    json_t     *item;
    size_t      i, len;
    const char *type, *text;
    char        view[VIEW_TEXT * 2];

    json_array_foreach(content, i, item) {
        type = stream_str(item, "type");
        if (type == NULL || strcmp(type, "tool_result") != 0
            || !json_is_true(json_object_get(item, "is_error")))
        {
            continue;
        }
        text = stream_result_text(json_object_get(item, "content"), &len);
        fprintf(s->log, "   tool error: %s\n", view_line(view, sizeof(view), text, len));
    }
}

static void
stream_result(struct stream *s, json_t *ev)
{
    json_t     *text = json_object_get(ev, "result");
    json_t     *cost = json_object_get(ev, "total_cost_usd");
    json_t     *ms = json_object_get(ev, "duration_ms");
    const char *subtype = stream_str(ev, "subtype");
    bool        is_error = json_is_true(json_object_get(ev, "is_error"));

    s->got_result = true;
    free(s->subtype);
    s->subtype = strdup(subtype ? subtype : "(none)");
    s->result_ok = subtype != NULL && strcmp(subtype, "success") == 0 && !is_error;
    s->num_turns = (long) json_integer_value(json_object_get(ev, "num_turns"));
    free(s->result);
    s->result = NULL;
    s->result_len = 0;
    if (json_is_string(text)) {
        s->result_len = json_string_length(text);
        s->result = malloc(s->result_len + 1);
        if (s->result != NULL) {
            memcpy(s->result, json_string_value(text), s->result_len + 1);
        } else {
            s->result_len = 0;
        }
    }
    fprintf(s->log, "claude: %s%s, %ld turn%s", s->subtype, is_error ? " (is_error)" : "",
            s->num_turns, s->num_turns == 1 ? "" : "s");
    if (json_is_number(ms)) {
        fprintf(s->log, ", %.1f s", json_number_value(ms) / 1000.0);
    }
    if (json_is_number(cost)) {
        fprintf(s->log, ", $%.4f", json_number_value(cost));
    }
    fprintf(s->log, "\n");
}

void
stream_line(struct stream *s, const char *line, size_t len)
{
    json_error_t  je;
    json_t       *ev;
    const char   *type;
    char          view[VIEW_TEXT];

    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ')) {
        len--;
    }
    if (len == 0) {
        return;
    }
    ev = json_loadb(line, len, JSON_ALLOW_NUL, &je);
    if (!json_is_object(ev)) {
        s->skipped++;
        fprintf(s->log, "agent-executor-claude: skipped a line of claude's output that "
                "is not a JSON object: %s\n", view_line(view, sizeof(view), line, len));
        json_decref(ev);
        return;
    }
    type = stream_str(ev, "type");
    if (type == NULL) {
        /* not an event of a kind we know: nothing to show */
    } else if (strcmp(type, "system") == 0) {
        const char *sub = stream_str(ev, "subtype");

        if (sub != NULL && strcmp(sub, "init") == 0) {
            stream_init_event(s, ev);
        }
    } else if (strcmp(type, "assistant") == 0) {
        stream_assistant(s, ev);
    } else if (strcmp(type, "user") == 0) {
        stream_user(s, ev);
    } else if (strcmp(type, "result") == 0) {
        stream_result(s, ev);
    }
    json_decref(ev);
}
