/*
 * payload.c: the run's payload (see payload.h).
 */

#include "payload.h"

#include <stdio.h>
#include <string.h>

#define PAYLOAD_MAX (256u * 1024 * 1024)

/* member key of p->doc: a string, or NULL when absent (or null if nullable) */
static int
payload_str(json_t *doc, const char *key, bool required, bool nullable,
            const char **out, size_t *len, char *err, size_t errsize)
{
    json_t *v = json_object_get(doc, key);

    *out = NULL;
    if (v == NULL || (nullable && json_is_null(v))) {
        if (required) {
            snprintf(err, errsize, "the payload has no \"%s\"", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        snprintf(err, errsize, "the payload's \"%s\" is not a string", key);
        return -1;
    }
    *out = json_string_value(v);
    if (len != NULL) {
        *len = json_string_length(v);
    }
    return 0;
}

int
payload_read(struct payload *p, char *err, size_t errsize)
{
    json_error_t  je;
    const char   *version, *mode;

    memset(p, 0, sizeof(*p));
    p->doc = json_loadf(stdin, JSON_ALLOW_NUL | JSON_DISABLE_EOF_CHECK, &je);
    if (p->doc == NULL) {
        snprintf(err, errsize, "the payload on stdin is not JSON: %s (line %d)",
                 je.text, je.line);
        return -1;
    }
    if (!json_is_object(p->doc)) {
        snprintf(err, errsize, "the payload on stdin is not a JSON object");
        return -1;
    }
    if (payload_str(p->doc, "schema_version", true, false, &version, NULL, err, errsize)
        || payload_str(p->doc, "mode", true, false, &mode, NULL, err, errsize)
        || payload_str(p->doc, "session_name", true, false, &p->session_name, NULL,
                       err, errsize)
        || payload_str(p->doc, "prompt", true, false, &p->prompt, &p->prompt_len,
                       err, errsize)
        || payload_str(p->doc, "run_id", false, false, &p->run_id, NULL, err, errsize)
        || payload_str(p->doc, "session_id", false, true, &p->session_id, NULL,
                       err, errsize)
        || payload_str(p->doc, "agent_name", false, true, &p->agent_name, NULL,
                       err, errsize)
        || payload_str(p->doc, "project_dir", false, true, &p->project_dir, NULL,
                       err, errsize))
    {
        return -1;
    }
    p->blueprint = json_object_get(p->doc, "blueprint");
    if (json_is_null(p->blueprint)) {
        p->blueprint = NULL;
    }
    if (p->blueprint != NULL && !json_is_object(p->blueprint)) {
        snprintf(err, errsize, "the payload's \"blueprint\" is not an object");
        return -1;
    }
    if (strncmp(version, "1.", 2) != 0) {
        snprintf(err, errsize, "payload schema_version \"%.40s\" is not 1.x", version);
        return -1;
    }
    if (strcmp(mode, "start") == 0) {
        p->resume = false;
    } else if (strcmp(mode, "resume") == 0) {
        p->resume = true;
    } else {
        snprintf(err, errsize, "payload mode \"%.40s\" is neither start nor resume", mode);
        return -1;
    }
    if (p->prompt_len > PAYLOAD_MAX) {
        snprintf(err, errsize, "the prompt is over %u bytes", PAYLOAD_MAX);
        return -1;
    }
    return 0;
}

void
payload_free(struct payload *p)
{
    json_decref(p->doc);
    memset(p, 0, sizeof(*p));
}
