/*
 * bench_route.c: a claim when most waiting runs are for other runners
 * (usage at the top of runs-bench.c).
 *
 *   route   a runner that lists one agent ("x"), on host "bench", with
 *           tag "linux" and executor_type "echo"; N runs created first,
 *           one in a hundred (--match) for "x", the others demanding what
 *           it does not offer, in turn: seven other agents, "x" with tag
 *           "gpu", "x" on another host, executor_type "cuda"; then, one
 *           request at a time, a run for "x" created and the runner's
 *           poll: the time of the pair, as the claim-cost figure measures
 *           it without routing
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"


/* what the i-th waiting run demands that the runner does not offer */
static const char  *route_other[] = {
    "\"agent_name\":\"other%d\"",
    "\"agent_name\":\"x\",\"demands\":{\"tags\":[\"gpu\"]}",
    "\"agent_name\":\"x\",\"demands\":{\"hostname\":\"elsewhere\"}",
    "\"demands\":{\"executor_type\":\"cuda\"}"
};


static void
route_body(char *buf, size_t size, const char *name, const char *demand)
{
    snprintf(buf, size, "{\"type\":\"start_session\",\"session_name\":\"%s\","
             "%s,\"prompt\":\"%s\"}", name, demand, prompt100);
}


int
cmd_route(int argc, char **argv)
{
    int        i, runs, match, samples;
    char       path[128], body[512], name[64], demand[96], lid[32];
    conn_t     c;
    resp_t     r;
    uint64_t   t0, *cl;

    runs = 10000;
    match = 100;
    samples = 500;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--match") == 0 && i + 1 < argc) {
            match = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--claims") == 0 && i + 1 < argc) {
            samples = atoi(argv[++i]);
        } else {
            die("route: unknown argument %s", argv[i]);
        }
    }

    if (runs < 1 || match < 1 || samples < 1) {
        die("usage: route PORT [--runs N] [--match ONE_IN] [--claims N]");
    }

    cl = calloc((size_t) samples, sizeof(uint64_t));
    if (cl == NULL) {
        die("out of memory");
    }

    conn_open(&c);

    for (i = 0; i < runs; i++) {
        snprintf(name, sizeof(name), "rt%d_%d", (int) getpid(), i);
        if (i % match == 0) {
            snprintf(demand, sizeof(demand), "\"agent_name\":\"x\"");
        } else {
            snprintf(demand, sizeof(demand), route_other[i % 4], i % 7);
        }
        route_body(body, sizeof(body), name, demand);
        conn_roundtrip(&c, "POST", "/runs", body, &r, 201);
    }

    conn_roundtrip(&c, "POST", "/launcher/register",
                   "{\"hostname\":\"bench\",\"agents\":[\"x\"],"
                   "\"tags\":[\"linux\"],\"executor_type\":\"echo\"}", &r, 200);

    if (!json_str(r.body, r.body_len, "launcher_id", lid, sizeof(lid))) {
        die("no launcher_id in %.*s", (int) r.body_len, r.body);
    }

    snprintf(path, sizeof(path), "/launcher/runs?launcher_id=%s", lid);

    for (i = 0; i < samples; i++) {
        snprintf(name, sizeof(name), "rc%d_%d", (int) getpid(), i);
        route_body(body, sizeof(body), name, "\"agent_name\":\"x\"");

        t0 = now_ns();
        conn_roundtrip(&c, "POST", "/runs", body, &r, 201);
        conn_roundtrip(&c, "GET", path, NULL, &r, 200);
        cl[i] = now_ns() - t0;

        if (memmem(r.body, r.body_len, "\"agent_name\": \"x\"", 17) == NULL
            && memmem(r.body, r.body_len, "\"agent_name\":\"x\"", 16) == NULL)
        {
            die("route: the poll did not claim a run for x: %.*s",
                (int) r.body_len, r.body);
        }
    }

    printf("{\"runs\":%d,\"one_in\":%d,\"created\":%d,", runs, match, samples);
    print_dist("create_claim", cl, (size_t) samples);
    printf("}\n");

    conn_close(&c);
    free(cl);

    return 0;
}
