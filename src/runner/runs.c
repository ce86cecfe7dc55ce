/*
 * runs.c: the table of runs held (see runs.h); a list, as the table is
 * never larger than --max-concurrent.
 */

#include "runner/runs.h"

#include <stdlib.h>
#include <string.h>

struct run *
run_new(const char *run_id, const char *session_name, const char *launcher_id)
{
    struct run *run = calloc(1, sizeof(*run));

    if (run == NULL) {
        return NULL;
    }
    run->run_id = strdup(run_id);
    run->session_name = strdup(session_name);
    run->launcher_id = strdup(launcher_id);
    run->child.in_fd = -1;
    run->child.err_fd = -1;
    run->child.out_fd = -1;
    if (run->run_id == NULL || run->session_name == NULL || run->launcher_id == NULL) {
        run_free(run);
        return NULL;
    }
    return run;
}

void
run_free(struct run *run)
{
    if (run == NULL) {
        return;
    }
    free(run->run_id);
    free(run->session_name);
    free(run->launcher_id);
    free(run->session_id);
    free(run->payload);
    free(run->cwd);
    child_free_out(&run->child);
    free(run);
}

void
runs_add(struct runs *rs, struct run *run)
{
    run->next = rs->head;
    rs->head = run;
    rs->count++;
}

void
runs_remove(struct runs *rs, struct run *run)
{
    struct run **pp;

    for (pp = &rs->head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == run) {
            *pp = run->next;
            run->next = NULL;
            rs->count--;
            return;
        }
    }
}

struct run *
runs_find(const struct runs *rs, const char *run_id)
{
    struct run *run;

    for (run = rs->head; run != NULL; run = run->next) {
        if (strcmp(run->run_id, run_id) == 0) {
            return run;
        }
    }
    return NULL;
}

struct run *
runs_find_pid(const struct runs *rs, pid_t pid)
{
    struct run *run;

    for (run = rs->head; run != NULL; run = run->next) {
        if (run->child.pid == pid) {
            return run;
        }
    }
    return NULL;
}

unsigned
runs_executing(const struct runs *rs)
{
    const struct run *run;
    unsigned          n = 0;

    for (run = rs->head; run != NULL; run = run->next) {
        n += !run->confirming;
    }
    return n;
}
