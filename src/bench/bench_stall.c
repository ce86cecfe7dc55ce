/*
 * bench_stall.c: what a listing does to the other worker (usage at the
 * top of runs-bench.c).
 *
 *   stall   GET /runs/{id} (a stored run, found with GET /runs?limit=1)
 *           one at a time on a connection of one worker for S seconds,
 *           alone or while a child process asks for LOAD without pause
 *           on a connection of the other worker: the time of each GET,
 *           and how many LOAD answers came meanwhile
 */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"


int
cmd_stall(int argc, char **argv)
{
    int        i, fds[2];
    long       loads;
    char       id[32], path[128];
    const char *load;
    double     seconds;
    size_t     n, cap;
    uint64_t  *lat, t0, end;
    pid_t      pid;
    conn_t     pc[2], cc[2];
    resp_t     r;

    load = NULL;
    seconds = 5;

    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--load") == 0 && i + 1 < argc) {
            load = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            die("usage: stall PORT [--load PATH] [--seconds S]");
        }
    }

    if (seconds <= 0) {
        die("stall: --seconds must be above 0");
    }

    conns_per_worker(pc, cc);

    conn_roundtrip(&cc[1], "GET", "/runs?limit=1", NULL, &r, 200);
    if (!json_str(r.body, r.body_len, "run_id", id, sizeof(id))) {
        die("stall: no stored run to ask for");
    }
    snprintf(path, sizeof(path), "/runs/%s", id);

    pid = 0;
    loads = 0;

    if (load != NULL) {
        if (pipe(fds) != 0) {
            die("pipe: %s", strerror(errno));
        }

        pid = fork();
        if (pid < 0) {
            die("fork: %s", strerror(errno));
        }

        if (pid == 0) {
            /* the load: until the parent is done, and a little longer */
            end = now_ns() + (uint64_t) ((seconds + 0.5) * 1e9);
            close(fds[0]);
            while (now_ns() < end) {
                conn_roundtrip(&pc[0], "GET", load, NULL, &r, 200);
                loads++;
            }
            if (write(fds[1], &loads, sizeof(loads)) != sizeof(loads)) {
                _exit(1);
            }
            _exit(0);
        }

        close(fds[1]);
        sleep_us(200000);       /* the load under way */
    }

    cap = 1 << 16;
    lat = xrealloc(NULL, cap * sizeof(uint64_t));
    n = 0;
    end = now_ns() + (uint64_t) (seconds * 1e9);

    while (now_ns() < end) {
        t0 = now_ns();
        conn_roundtrip(&cc[1], "GET", path, NULL, &r, 200);
        if (n == cap) {
            cap *= 2;
            lat = xrealloc(lat, cap * sizeof(uint64_t));
        }
        lat[n++] = now_ns() - t0;
    }

    if (pid > 0) {
        if (read(fds[0], &loads, sizeof(loads)) != sizeof(loads)) {
            die("stall: the load process failed");
        }
        (void) waitpid(pid, NULL, 0);
    }

    printf("{\"load\":");
    if (load) {
        printf("\"%s\",\"load_answers\":%ld,", load, loads);
    } else {
        printf("null,");
    }
    printf("\"workers\":[%ld,%ld],\"seconds\":%.1f,", cc[1].worker,
           pc[0].worker, seconds);
    print_dist("get", lat, n);
    printf("}\n");

    free(lat);
    return 0;
}
