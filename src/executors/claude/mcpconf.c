/*
 * mcpconf.c: claude's MCP configuration (see mcpconf.h).
 */

#include "mcpconf.h"

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

/* the blueprint's mcp.json (an empty one when path is NULL), checked */
static json_t *
mcpconf_load(const char *agent, const char *path, char *err, size_t errsize)
{
    json_error_t je;
    json_t      *doc, *servers;

    doc = path != NULL ? json_load_file(path, JSON_REJECT_DUPLICATES, &je) : json_object();
    if (doc == NULL) {
        if (path == NULL) {
            snprintf(err, errsize, "out of memory");
        } else {
            snprintf(err, errsize, "agent \"%s\": %s: %s (line %d)", agent, path,
                     je.text, je.line);
        }
        return NULL;
    }
    servers = json_object_get(doc, "mcpServers");
    if (!json_is_object(doc) || (servers != NULL && !json_is_object(servers))) {
        snprintf(err, errsize, "agent \"%s\": %s is not an MCP configuration: "
                 "{\"mcpServers\": {NAME: {...}, ...}}", agent, path);
        json_decref(doc);
        return NULL;
    }
    if (servers == NULL && json_object_set_new(doc, "mcpServers", json_object()) != 0) {
        snprintf(err, errsize, "out of memory");
        json_decref(doc);
        return NULL;
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
mcpconf_make(struct mcpconf *m, const char *agent, const char *blueprint_mcp,
             const char *url, const char *session, char *err, size_t errsize)
{
    json_t     *doc, *servers, *srv;
    const char *own;
    int         rc;

    memset(m, 0, sizeof(*m));
    m->path = blueprint_mcp;
    if (url == NULL || url[0] == '\0') {
        return 0;
    }
    doc = mcpconf_load(agent ? agent : "", blueprint_mcp, err, errsize);
    if (doc == NULL) {
        return -1;
    }
    servers = json_object_get(doc, "mcpServers");
    own = mcpconf_own(servers, url);
    if (own != NULL) {
        /* the blueprint's, as it is */
        m->own = strdup(own);
        json_decref(doc);
        if (m->own == NULL) {
            snprintf(err, errsize, "out of memory");
            return -1;
        }
        return 0;
    }
    srv = json_pack("{s:s, s:s, s:{s:s}}", "type", "http", "url", url,
                    "headers", MCPCONF_HEADER, session);
    if (srv == NULL || json_object_set_new(servers, MCPCONF_SERVER, srv) != 0) {
        snprintf(err, errsize, "out of memory");
        json_decref(doc);
        return -1;
    }
    rc = mcpconf_write(m, doc, err, errsize);
    json_decref(doc);
    m->added = rc == 0;
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
