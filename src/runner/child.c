/*
 * child.c: spawning an executor and feeding its pipes (see child.h).
 *
 * posix_spawn() (glibc's clone(CLONE_VFORK)) reports a failed chdir or
 * execve as its return value, so "could not be executed" is known before
 * "started" is reported.  The child gets: its own process group, an empty
 * signal mask and default dispositions (the runner blocks SIGCHLD, SIGINT
 * and SIGTERM for its signalfd and ignores SIGPIPE), stdin, stdout and
 * stderr pipes, no other descriptor.
 */

#include "runner/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void
child_close_in(struct child *c)
{
    if (c->in_w != NULL) {
        loop_unwatch(c->loop, c->in_w);
        c->in_w = NULL;
    }
    if (c->in_fd >= 0) {
        if (close(c->in_fd) != 0) {
            log_msg(c->log, LOG_WARN, c->run_id, "close(stdin pipe) failed error=\"%s\"",
                    strerror(errno));
        }
        c->in_fd = -1;
    }
    free(c->payload);
    c->payload = NULL;
}

static void
child_on_stdin(void *arg, uint32_t events)
{
    struct child *c = arg;
    ssize_t       n;

    (void) events;
    while (c->payload_off < c->payload_len) {
        n = write(c->in_fd, c->payload + c->payload_off, c->payload_len - c->payload_off);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return;                 /* the loop says when there is room */
            }
            if (errno == EPIPE) {
                log_msg(c->log, LOG_DEBUG, c->run_id,
                        "executor closed its stdin written=%zu of=%zu",
                        c->payload_off, c->payload_len);
            } else {
                log_msg(c->log, LOG_WARN, c->run_id,
                        "writing the payload failed error=\"%s\"", strerror(errno));
            }
            child_close_in(c);
            return;
        }
        c->payload_off += (size_t) n;
    }
    log_msg(c->log, LOG_DEBUG, c->run_id, "payload written bytes=%zu", c->payload_len);
    child_close_in(c);
}

/* one of the executor's output pipes: stderr (its tail kept) or stdout
   (the result, kept up to out.max) */
struct child_pipe {
    const char  *name;
    size_t       fd_off;        /* offsetof(struct child, err_fd / out_fd) */
    size_t       w_off;
    void       (*take)(struct child *c, const char *data, size_t n);
};

static void
child_take_err(struct child *c, const char *data, size_t n)
{
    tail_append(&c->tail, data, n);
    if (c->err_sink != NULL) {
        c->err_sink(c->err_arg, data, n);
    }
}

/* keeps at most out.max bytes and drops the rest, so the executor never
   blocks on a full pipe */
static void
child_take_out(struct child *c, const char *data, size_t n)
{
    size_t room = c->out.max - c->out.len;

    if (n > room) {
        c->out_cut = true;
    }
    if (room > 0 && buf_append(&c->out, data, n < room ? n : room) != 0) {
        c->out_cut = true;
    }
}

static const struct child_pipe child_stderr = {
    "stderr", offsetof(struct child, err_fd), offsetof(struct child, err_w),
    child_take_err
};

static const struct child_pipe child_stdout = {
    "stdout", offsetof(struct child, out_fd), offsetof(struct child, out_w),
    child_take_out
};

static int *
child_pipe_fd(struct child *c, const struct child_pipe *p)
{
    return (int *) ((char *) c + p->fd_off);
}

static void
child_close_pipe(struct child *c, const struct child_pipe *p)
{
    int           *fd = child_pipe_fd(c, p);
    struct watch **w = (struct watch **) ((char *) c + p->w_off);

    if (*w != NULL) {
        loop_unwatch(c->loop, *w);
        *w = NULL;
    }
    if (*fd >= 0) {
        if (close(*fd) != 0) {
            log_msg(c->log, LOG_WARN, c->run_id, "close(%s pipe) failed error=\"%s\"",
                    p->name, strerror(errno));
        }
        *fd = -1;
    }
}

/* reads what there is; closes on end of file or error */
static void
child_read_pipe(struct child *c, const struct child_pipe *p)
{
    char    buf[4096];
    int    *fd = child_pipe_fd(c, p);
    ssize_t n;

    while (*fd >= 0) {
        n = read(*fd, buf, sizeof(buf));
        if (n > 0) {
            p->take(c, buf, (size_t) n);
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (n < 0) {
            log_msg(c->log, LOG_WARN, c->run_id, "reading %s failed error=\"%s\"",
                    p->name, strerror(errno));
        }
        child_close_pipe(c, p);
    }
}

static void
child_on_stderr(void *arg, uint32_t events)
{
    (void) events;
    child_read_pipe(arg, &child_stderr);
}

static void
child_on_stdout(void *arg, uint32_t events)
{
    (void) events;
    child_read_pipe(arg, &child_stdout);
}

void
child_free_out(struct child *c)
{
    buf_free(&c->out);
}

/* is the environ entry e one of the nenv names? */
static bool
child_env_named(const char *e, const struct child_env *env, size_t nenv)
{
    size_t i, k;

    for (i = 0; i < nenv; i++) {
        k = strlen(env[i].name);
        if (strncmp(e, env[i].name, k) == 0 && e[k] == '=') {
            return true;
        }
    }
    return false;
}

/*
 * environ with the nenv variables set or removed; *block holds the new
 * entries (free both); NULL when out of memory
 */
static char **
child_env(const struct child_env *env, size_t nenv, char **block)
{
    size_t  n = 0, i, o = 0, size = 0;
    char  **out, *p;

    while (environ != NULL && environ[n] != NULL) {
        n++;
    }
    for (i = 0; i < nenv; i++) {
        if (env[i].value != NULL) {
            size += strlen(env[i].name) + strlen(env[i].value) + 2;
        }
    }
    out = calloc(n + nenv + 1, sizeof(*out));
    *block = malloc(size + 1);
    if (out == NULL || *block == NULL) {
        free(out);
        free(*block);
        *block = NULL;
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (!child_env_named(environ[i], env, nenv)) {
            out[o++] = environ[i];
        }
    }
    p = *block;
    for (i = 0; i < nenv; i++) {
        if (env[i].value != NULL) {
            out[o++] = p;
            p += sprintf(p, "%s=%s", env[i].name, env[i].value) + 1;
        }
    }
    out[o] = NULL;
    return out;
}

static int
child_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0) {
        return -1;
    }
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* c set up for the spawn: no pipes yet, the payload taken from spec */
static void
child_init(struct child *c, struct loop *lp, const struct log *lg, const char *run_id,
           struct child_spec *spec)
{
    memset(c, 0, sizeof(*c));
    c->in_fd = -1;
    c->err_fd = -1;
    c->out_fd = -1;
    /* a few bytes over the coordinator's limit: it sees the result was cut */
    buf_init(&c->out, spec->out_max + 4);
    c->loop = lp;
    c->log = lg;
    c->run_id = run_id;
    c->err_sink = spec->err_sink;
    c->err_arg = spec->err_arg;
    c->payload = spec->payload;
    c->payload_len = spec->payload_len;
    spec->payload = NULL;
}

/* the project dir, when there is one, is a directory */
static int
child_check_cwd(const char *cwd, char *err, size_t errlen)
{
    struct stat st;

    if (cwd == NULL) {
        return 0;
    }
    if (stat(cwd, &st) != 0) {
        snprintf(err, errlen, "project dir %s is not usable: %s", cwd, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "project dir %s is not usable: %s", cwd, strerror(ENOTDIR));
        return -1;
    }
    return 0;
}

/* the child's stdin, stderr and stdout from the pipes' ends, nothing else
   open, the project dir as its cwd; 0 or an error number */
static int
child_file_actions(posix_spawn_file_actions_t *fa, const struct child_spec *spec,
                   int in_r, int err_w, int out_w)
{
    int rc;

    if ((rc = posix_spawn_file_actions_adddup2(fa, in_r, STDIN_FILENO)) != 0
        || (rc = posix_spawn_file_actions_adddup2(fa, err_w, STDERR_FILENO)) != 0
        || (rc = posix_spawn_file_actions_adddup2(fa, out_w, STDOUT_FILENO)) != 0
        || (rc = posix_spawn_file_actions_addclosefrom_np(fa, 3)) != 0
        || (spec->cwd != NULL
            && (rc = posix_spawn_file_actions_addchdir_np(fa, spec->cwd)) != 0))
    {
        return rc;
    }
    return 0;
}

/* its own process group, an empty signal mask, default dispositions;
   0 or an error number */
static int
child_attr(posix_spawnattr_t *at)
{
    int      rc;
    sigset_t none, all;

    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if ((rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK
                                            | POSIX_SPAWN_SETSIGDEF)) != 0
        || (rc = posix_spawnattr_setpgroup(at, 0)) != 0
        || (rc = posix_spawnattr_setsigmask(at, &none)) != 0
        || (rc = posix_spawnattr_setsigdefault(at, &all)) != 0)
    {
        return rc;
    }
    return 0;
}

/* posix_spawn() of the executor on the pipes' child ends with env; on
   failure -1 with the message in err */
static int
child_exec(const struct child_spec *spec, int in_r, int err_w, int out_w, char **env,
           pid_t *pid, char *err, size_t errlen)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t          at;
    bool                       fa_ok = false, at_ok = false;
    char                      *argv[2];
    int                        rc;
    const char                *step = NULL;

    /* posix_spawn*() return an error number, they do not set errno */
    if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
        step = "posix_spawn_file_actions_init";
        goto failed;
    }
    fa_ok = true;
    if ((rc = child_file_actions(&fa, spec, in_r, err_w, out_w)) != 0) {
        step = "posix_spawn_file_actions";
        goto failed;
    }
    if ((rc = posix_spawnattr_init(&at)) != 0) {
        step = "posix_spawnattr_init";
        goto failed;
    }
    at_ok = true;
    if ((rc = child_attr(&at)) != 0) {
        step = "posix_spawnattr";
        goto failed;
    }
    argv[0] = (char *) spec->path;
    argv[1] = NULL;
    rc = posix_spawn(pid, spec->path, &fa, &at, argv, env);
    if (rc != 0) {
        snprintf(err, errlen, "executor %s could not be executed: %s", spec->path,
                 strerror(rc));
    }
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc != 0 ? -1 : 0;

failed:
    snprintf(err, errlen, "executor %s could not be started: %s: %s", spec->path, step,
             strerror(rc));
    if (fa_ok) {
        posix_spawn_file_actions_destroy(&fa);
    }
    if (at_ok) {
        posix_spawnattr_destroy(&at);
    }
    return -1;
}

/* the running child's pipes into the loop: trouble with them is logged,
   not fatal */
static void
child_watch(struct child *c)
{
    struct loop      *lp = c->loop;
    const struct log *lg = c->log;
    const char       *run_id = c->run_id;

    if (child_nonblock(c->err_fd) != 0
        || (c->err_w = loop_watch(lp, c->err_fd, EPOLLIN, child_on_stderr, c)) == NULL)
    {
        log_msg(lg, LOG_ERROR, run_id, "watching stderr failed error=\"%s\"",
                strerror(errno));
        child_close_pipe(c, &child_stderr);
    }
    if (child_nonblock(c->out_fd) != 0
        || (c->out_w = loop_watch(lp, c->out_fd, EPOLLIN, child_on_stdout, c)) == NULL)
    {
        log_msg(lg, LOG_ERROR, run_id, "watching stdout failed error=\"%s\"",
                strerror(errno));
        child_close_pipe(c, &child_stdout);
    }
    if (c->payload_len == 0) {
        child_close_in(c);
    } else if (child_nonblock(c->in_fd) != 0
               || (c->in_w = loop_watch(lp, c->in_fd, EPOLLOUT, child_on_stdin, c)) == NULL)
    {
        log_msg(lg, LOG_ERROR, run_id, "watching stdin failed error=\"%s\"",
                strerror(errno));
        child_close_in(c);
    }
}

/* both ends of a pipe, if it was made */
static void
child_close_pair(int p[2])
{
    if (p[0] >= 0) {
        close(p[0]);
        close(p[1]);
    }
}

int
child_spawn(struct child *c, struct loop *lp, const struct log *lg, const char *run_id,
            struct child_spec *spec, char *err, size_t errlen)
{
    int    in[2] = { -1, -1 }, er[2] = { -1, -1 };
    int    out[2] = { -1, -1 };
    char **env = NULL;
    char  *entry = NULL;
    pid_t  pid;

    child_init(c, lp, lg, run_id, spec);

    if (child_check_cwd(spec->cwd, err, errlen) != 0) {
        goto failed;
    }
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(er, O_CLOEXEC) != 0
        || pipe2(out, O_CLOEXEC) != 0)
    {
        snprintf(err, errlen, "executor %s could not be started: pipe: %s",
                 spec->path, strerror(errno));
        goto failed;
    }
    env = child_env(spec->env, spec->nenv, &entry);
    if (env == NULL) {
        snprintf(err, errlen, "executor %s could not be started: out of memory",
                 spec->path);
        goto failed;
    }
    if (child_exec(spec, in[0], er[1], out[1], env, &pid, err, errlen) != 0) {
        goto failed;
    }
    free(env);
    free(entry);

    c->pid = pid;
    if (close(in[0]) != 0 || close(er[1]) != 0 || close(out[1]) != 0) {
        log_msg(lg, LOG_WARN, run_id, "close(pipe) failed error=\"%s\"", strerror(errno));
    }
    c->in_fd = in[1];
    c->err_fd = er[0];
    c->out_fd = out[0];

    /* from here the process runs */
    child_watch(c);
    return 0;

failed:
    free(env);
    free(entry);
    child_close_pair(in);
    child_close_pair(er);
    child_close_pair(out);
    buf_free(&c->out);
    free(c->payload);
    c->payload = NULL;
    return -1;
}

void
child_finish(struct child *c)
{
    child_read_pipe(c, &child_stderr);          /* what it wrote before it ended */
    child_close_pipe(c, &child_stderr);         /* a grandchild may still hold it open */
    child_read_pipe(c, &child_stdout);
    child_close_pipe(c, &child_stdout);
    child_close_in(c);
}

int
child_signal(struct child *c, int sig)
{
    return kill(-c->pid, sig);
}
