/*
 * mcpconf.c: claude's MCP configuration (see mcpconf.h).
 */

#include "mcpconf.h"
#include "common/buf.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MCPCONF_SUFFIX  ".json"

/* a and b the same URL but for trailing slashes */
static bool
mcpconf_same_url(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);

    while (na > 0 && a[na - 1] == '/') {
        na--;
    }
    while (nb > 0 && b[nb - 1] == '/') {
        nb--;
    }
    return na == nb && strncmp(a, b, na) == 0;
}

/* the blueprint's name of a server that reaches the coordinator, or NULL */
static const char *
mcpconf_own(json_t *servers, const char *url)
{
    const char *name;
    json_t     *srv;

    json_object_foreach(servers, name, srv) {
        const char *u = json_string_value(json_object_get(srv, "url"));

        if (strncmp(name, MCPCONF_SERVER, sizeof(MCPCONF_SERVER) - 1) == 0
            || (u != NULL && mcpconf_same_url(u, url)))
        {
            return name;
        }
    }
    return NULL;
}

/* the variable a placeholder names: the run's own, else the environment */
static const char *
mcpconf_var(const char *name, size_t n, const struct mcpvars *v)
{
    char buf[256];

    if (n >= sizeof(buf)) {
        return NULL;
    }
    memcpy(buf, name, n);
    buf[n] = '\0';
    if (strcmp(buf, "AGENT_SESSION_NAME") == 0) {
        return v->session_name;
    }
    if (strcmp(buf, "AGENT_SESSION_ID") == 0) {
        return v->session_id;
    }
    if (strcmp(buf, "AGENT_ORCHESTRATOR_API_URL") == 0) {
        return v->api_url;
    }
    return getenv(buf);
}

/*
 * the len bytes at s with ${NAME} and ${NAME:-default} replaced, into
 * out; 0, 1 when nothing was there to replace, -1 with the name of an
 * unset variable in missing ("" when out of memory)
 */
static int
mcpconf_subst(const char *s, size_t len, const struct mcpvars *v, struct buf *out,
              unsigned *count, char *missing, size_t msize)
{
    size_t      i = 0, n, end, dflt;
    const char *val;
    unsigned    before = *count;

    missing[0] = '\0';
    while (i < len) {
        const char *p = memmem(s + i, len - i, "${", 2);

        if (p == NULL) {
            buf_append(out, s + i, len - i);
            break;
        }
        buf_append(out, s + i, (size_t) (p - s) - i);
        i = (size_t) (p - s);
        /* NAME: [A-Za-z_][A-Za-z0-9_]* */
        for (n = 0; i + 2 + n < len; n++) {
            char c = s[i + 2 + n];

            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'
                  || (n > 0 && c >= '0' && c <= '9')))
            {
                break;
            }
        }
        end = i + 2 + n;
        dflt = 0;
        if (n > 0 && end + 1 < len && s[end] == ':' && s[end + 1] == '-') {
            dflt = end + 2;
            p = memchr(s + dflt, '}', len - dflt);
            end = p != NULL ? (size_t) (p - s) : len;
        }
        if (n == 0 || end >= len || s[end] != '}') {
            buf_append(out, "${", 2);           /* not a placeholder */
            i += 2;
            continue;
        }
        val = mcpconf_var(s + i + 2, n, v);
        if (dflt != 0 && (val == NULL || val[0] == '\0')) {
            buf_append(out, s + dflt, end - dflt);
        } else if (val != NULL) {
            buf_append(out, val, strlen(val));
        } else {
            snprintf(missing, msize, "%.*s", (int) n, s + i + 2);
            return -1;
        }
        (*count)++;
        i = end + 1;
    }
    if (out->no_memory) {
        return -1;
    }
    return *count == before;
}

/* every string in v (not the names of members) with its placeholders
   replaced; 0, or -1 (missing as mcpconf_subst has it) */
static int
mcpconf_expand(json_t *v, const struct mcpvars *vars, unsigned *count, char *missing,
               size_t msize)
{
    const char *key;
    json_t     *item;
    size_t      i;
    struct buf  b;
    int         rc;

    if (json_is_string(v)) {
        buf_init(&b, 0);
        rc = mcpconf_subst(json_string_value(v), json_string_length(v), vars, &b, count,
                           missing, msize);
        if (rc == 0 && json_string_setn(v, b.data ? b.data : "", b.len) != 0) {
            missing[0] = '\0';
            rc = -1;
        }
        buf_free(&b);
        return rc < 0 ? -1 : 0;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (mcpconf_expand(item, vars, count, missing, msize) != 0) {
                return -1;
            }
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (mcpconf_expand(item, vars, count, missing, msize) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* the blueprint's configuration (an empty one when NULL), a copy whose
   servers have their placeholders replaced */
static json_t *
mcpconf_load(struct mcpconf *m, const char *agent, const json_t *mcp, const char *from,
             const struct mcpvars *vars, char *err, size_t errsize)
{
    json_t     *doc, *servers, *srv;
    const char *name;
    char        missing[128];

    doc = mcp != NULL ? json_deep_copy(mcp) : json_object();
    servers = json_object_get(doc, "mcpServers");
    if (doc == NULL || (servers == NULL
                        && json_object_set_new(doc, "mcpServers", json_object()) != 0))
    {
        snprintf(err, errsize, "out of memory");
        json_decref(doc);
        return NULL;
    }
    servers = json_object_get(doc, "mcpServers");
    json_object_foreach(servers, name, srv) {
        if (mcpconf_expand(srv, vars, &m->replaced, missing, sizeof(missing)) != 0) {
            if (missing[0] == '\0') {
                snprintf(err, errsize, "out of memory");
            } else {
                snprintf(err, errsize, "agent \"%s\": %s: the MCP server \"%.60s\" "
                         "names ${%s}, which is not set in the executor's environment "
                         "(${%s:-} stands for an empty value)", agent, from, name,
                         missing, missing);
            }
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

/* doc into a new file of ours: 0, or -1 with err */
static int
mcpconf_write(struct mcpconf *m, json_t *doc, char *err, size_t errsize)
{
    const char *dir = getenv("TMPDIR");
    int         fd;

    if (dir == NULL || dir[0] == '\0') {
        dir = "/tmp";
    }
    if (asprintf(&m->temp, "%s/agent-executor-claude-mcp-XXXXXX" MCPCONF_SUFFIX, dir) < 0) {
        m->temp = NULL;
        snprintf(err, errsize, "out of memory");
        return -1;
    }
    fd = mkstemps(m->temp, sizeof(MCPCONF_SUFFIX) - 1);      /* mode 0600 */
    if (fd < 0) {
        snprintf(err, errsize, "could not make claude's MCP configuration in %s: %s",
                 dir, strerror(errno));
        free(m->temp);
        m->temp = NULL;
        return -1;
    }
    if (json_dumpfd(doc, fd, JSON_INDENT(2)) != 0 || write(fd, "\n", 1) != 1
        || close(fd) != 0)
    {
        snprintf(err, errsize, "could not write claude's MCP configuration %s: %s",
                 m->temp, strerror(errno));
        close(fd);
        return -1;
    }
    m->path = m->temp;
    return 0;
}

int
mcpconf_make(struct mcpconf *m, const char *agent, const json_t *mcp,
             const char *from, const char *url, const char *session,
             const struct mcpvars *vars, char *err, size_t errsize)
{
    json_t     *doc, *servers, *srv;
    const char *own = NULL;
    int         rc;

    memset(m, 0, sizeof(*m));
    if (url != NULL && url[0] == '\0') {
        url = NULL;
    }
    if (mcp == NULL && url == NULL) {
        return 0;
    }
    doc = mcpconf_load(m, agent ? agent : "", mcp, from ? from : "", vars, err, errsize);
    if (doc == NULL) {
        return -1;
    }
    servers = json_object_get(doc, "mcpServers");
    if (url != NULL) {
        own = mcpconf_own(servers, url);
    }
    if (own != NULL) {
        /* the blueprint's own server for the coordinator */
        m->own = strdup(own);
        if (m->own == NULL) {
            snprintf(err, errsize, "out of memory");
            json_decref(doc);
            return -1;
        }
    } else if (url != NULL) {
        srv = json_pack("{s:s, s:s, s:{s:s}}", "type", "http", "url", url,
                        "headers", MCPCONF_HEADER, session);
        if (srv == NULL || json_object_set_new(servers, MCPCONF_SERVER, srv) != 0) {
            snprintf(err, errsize, "out of memory");
            json_decref(doc);
            return -1;
        }
        m->added = true;
    }
    rc = mcpconf_write(m, doc, err, errsize);
    json_decref(doc);
    if (rc != 0) {
        m->added = false;
    }
    return rc;
}

void
mcpconf_free(struct mcpconf *m)
{
    if (m->temp != NULL) {
        unlink(m->temp);
        free(m->temp);
    }
    free(m->own);
    memset(m, 0, sizeof(*m));
}
