/*
 * journal-designs: the commit protocols of the journal's candidate designs
 * (docs/adr/0011-journal.md), measured on this machine under one load.
 *
 *   journal-designs DIR [--rounds R] [--seconds S] [--warmup S]
 *                   [--writers W] [--conns C] [--record BYTES]
 *                   [--designs LIST] [--sqlite-busy-us U]
 *
 * The load, the same for every design: W writer processes (default 2,
 * like 2 nginx workers), each with C requests in flight (default 25: the
 * bench's 50 connections over 2 workers).  A request makes one record
 * (BYTES, default 300: a run's create; header, CRC-32, the change's
 * number, made under a lock shared by the writers, as the zone's) and is
 * acknowledged once its record is durable; it then makes the next one at
 * once (no think time).  Each writer stages records in one buffer while a
 * helper thread commits the other one (group commit): what is staged
 * during a commit goes with the next.  The designs (LIST, comma-separated,
 * default all of them in this order):
 *
 *   shared          one file opened O_APPEND by every writer; the helper
 *                   does write() + fdatasync() of its batch (the product)
 *   shared-nosync   the same without fdatasync(), acknowledged after
 *                   write() (for reference: the relaxed mode's cost)
 *   per-writer      a file per writer (O_APPEND), write() + fdatasync()
 *   writer-process  the helper sends its batch over a unix socket to one
 *                   writer process, which appends every batch it has
 *                   received to one file, calls fdatasync() once for them
 *                   and answers each writer with the durable position
 *   sqlite          SQLite in WAL mode, synchronous=FULL: a batch is one
 *                   transaction of INSERT OR REPLACE (keyed by the
 *                   object's id) from each writer; SQLite's own locking
 *                   between the processes (sqlite3_busy_timeout(), whose
 *                   handler sleeps 1 ms, then longer; with U > 0, a busy
 *                   handler that retries every U µs instead, which was
 *                   slower here: more syncs per commit)
 *   lmdb            LMDB with its default durable commits: a batch is one
 *                   write transaction (LMDB serializes the processes)
 *
 * The designs run in R rounds (default 3), each round every design once,
 * so that a change of the machine's load (other processes, other I/O on
 * the disk) hits them alike; each run of a design is a warm-up (default
 * 0.5 s, not counted) and then S seconds (default 1) in DIR/<design>/,
 * whose files are removed after it.  Each figure is given for each round
 * and as its median over the rounds.  Measured: records acknowledged per second, acknowledgement latency,
 * sync operations per second (fdatasync() and fsync() calls, counted by
 * wrappers around them that SQLite and LMDB call too, and LMDB's O_DSYNC
 * writes of its meta page), the files' size per record when every writer
 * has exited, the bytes the processes made the kernel write to storage
 * per record (/proc/PID/io write_bytes: whole pages), and their CPU time
 * per record.
 *
 * One JSON object per design on stdout (the medians, and the records/s
 * and other load of each round), a table on stderr (its last
 * column: the share of the machine's CPU that other processes used
 * meanwhile, kernel threads included, whose jbd2 commits and writeback
 * work for the designs here too).  "./build.sh designs [ARGS]" builds it
 * and runs it in build/designs; "./build.sh bench" runs it too.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sqlite3.h>


#define MAX_WRITERS     16
#define MAX_CONNS       256
#define MAX_BATCH       (160 * 1024)    /* one message to the writer
                                           process: under the socket's
                                           default send buffer */
#define MAX_ROUNDS      20
#define SAMPLES_MAX     (1u << 22)      /* per writer */
#define REC_HEADER      24              /* size, CRC-32, change, type, 0 */
#define REC_MIN         (REC_HEADER + 8)
#define REC_MAX         4096
#define LMDB_MAP        ((size_t) 4 << 30)


enum {
    D_SHARED,
    D_SHARED_NOSYNC,
    D_PER_WRITER,
    D_WPROC,
    D_SQLITE,
    D_LMDB,
    D_N
};

static const struct {
    const char  *name;
    const char  *label;
} designs[D_N] = {
    { "shared",         "(1) one file, O_APPEND, every writer" },
    { "shared-nosync",  "(1) the same, no fdatasync (relaxed)" },
    { "per-writer",     "(2) a file per writer" },
    { "writer-process", "(3) a writer process" },
    { "sqlite",         "(4a) SQLite WAL, synchronous=FULL" },
    { "lmdb",           "(4b) LMDB, durable commits" },
};


/* what each process reports, in memory shared with the parent */
typedef struct {
    uint64_t    acked;          /* acknowledged in the window */
    uint64_t    written;        /* records committed, whole run */
    uint64_t    commits;        /* batches committed, whole run */
    uint64_t    commits_win;    /* batches committed in the window */
    uint64_t    syncs_win;      /* sync operations in the window */
    uint64_t    syncs_all;
    uint64_t    kind_win[3];    /* fdatasync, fsync, O_DSYNC pwrite */
    uint64_t    io_write_bytes; /* /proc/self/io over the window */
    uint64_t    io_wchar;
    uint64_t    nsamples;
    uint64_t    dropped;        /* latencies beyond SAMPLES_MAX */
    int         io_ok;
} wstat_t;


typedef struct {
    pthread_mutex_t  lock;          /* the zone's lock */
    uint64_t         change;        /* the zone's change number */
    uint64_t         win_start;     /* CLOCK_MONOTONIC ns */
    uint64_t         win_end;
    wstat_t          w[MAX_WRITERS + 1];   /* writers, writer process */
} shared_t;


typedef struct {
    int            design;
    int            fd;              /* shared, per-writer */
    int            sock;            /* writer-process */
    sqlite3       *db;
    sqlite3_stmt  *begin;
    sqlite3_stmt  *insert;
    sqlite3_stmt  *commit;
    MDB_env       *env;
    MDB_dbi        dbi;
} store_t;


/* the writer's event loop and its helper thread */
typedef struct {
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    int              ready;
    int              posted;
    int              done;
    int              quit;
    const uint8_t   *buf;
    size_t           n;             /* records in buf */
    store_t          st;
} hand_t;


static struct {
    const char  *dir;
    int          rounds;
    double       seconds;
    double       warmup;
    int          writers;
    int          conns;
    size_t       rec;
    long         busy_us;
    int          run[D_N];
} cfg;


static shared_t    *sh;
static uint32_t    *samples;        /* MAX samples per writer, ns */
static char         who[64] = "journal-designs";
static char         ddir[4096];     /* the design's directory */
static int          me;             /* the writer's number */
static int          design;

static hand_t       hand;
static uint8_t     *bufs[2];
static uint16_t    *slots[2];
static size_t       nrec[2];
static int          active;
static uint64_t    *created;
static uint64_t     next_id;
static uint8_t     *templ;

static _Atomic uint64_t  syncs_win, syncs_all, kind_win[3];
static _Atomic uint64_t  g_win_start = UINT64_MAX, g_win_end;

static uint32_t     crc_table[256];


static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
                                                     noreturn));


static void
die(const char *fmt, ...)
{
    va_list  ap;

    fprintf(stderr, "%s: ", who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}


static uint64_t
now_ns(void)
{
    struct timespec  ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        die("clock_gettime: %s", strerror(errno));
    }
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}


static void
sleep_us(long us)
{
    struct timespec  ts;

    ts.tv_sec = us / 1000000;
    ts.tv_nsec = (us % 1000000) * 1000;
    while (nanosleep(&ts, &ts) != 0) {
        if (errno != EINTR) {
            die("nanosleep: %s", strerror(errno));
        }
    }
}


static void
path_join(char *out, size_t size, const char *dir, const char *name)
{
    int  n;

    n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t) n >= size) {
        die("path too long: %s/%s", dir, name);
    }
}


static void
xclose(int fd)
{
    if (close(fd) != 0) {
        die("close: %s", strerror(errno));
    }
}


static void *
xmalloc(size_t n)
{
    void  *p;

    p = malloc(n);
    if (p == NULL) {
        die("out of memory (%zu bytes)", n);
    }
    return p;
}


/* ------------------------------------------------------ sync operations */

/*
 * fdatasync() and fsync() of this program, SQLite and LMDB come here (the
 * executable's definitions come before libc's), and so do LMDB's pwrite()
 * calls: its meta page is written through a descriptor opened O_DSYNC,
 * a sync of its own.  Counted when they return.
 */

static void
sync_counted(int kind)
{
    uint64_t  t;

    t = now_ns();
    atomic_fetch_add(&syncs_all, 1);
    if (t >= atomic_load(&g_win_start) && t < atomic_load(&g_win_end)) {
        atomic_fetch_add(&syncs_win, 1);
        atomic_fetch_add(&kind_win[kind], 1);
    }
}


int
fdatasync(int fd)
{
    long  rc;

    rc = syscall(SYS_fdatasync, fd);
    sync_counted(0);
    return (int) rc;
}


int
fsync(int fd)
{
    long  rc;

    rc = syscall(SYS_fsync, fd);
    sync_counted(1);
    return (int) rc;
}


ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
    int   fl, saved;
    long  rc;

    rc = syscall(SYS_pwrite64, fd, buf, n, off);
    saved = errno;
    fl = fcntl(fd, F_GETFL);
    if (fl != -1 && (fl & O_DSYNC)) {
        sync_counted(2);
    }
    errno = saved;
    return (ssize_t) rc;
}


/* --------------------------------------------------------------- records */

static void
crc_init(void)
{
    uint32_t  c, i, k;

    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++) {
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[i] = c;
    }
}


static uint32_t
crc32(const uint8_t *p, size_t len)
{
    uint32_t  crc;

    crc = 0xffffffffu;
    while (len--) {
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return crc ^ 0xffffffffu;
}


static void
put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}


static void
put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}


static uint64_t
get64(const uint8_t *p)
{
    uint64_t  v;

    memcpy(&v, p, 8);
    return v;
}


/* the id big-endian, so that LMDB's byte order is the numbers' */
static void
put_id(uint8_t *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        p[i] = (uint8_t) v;
        v >>= 8;
    }
}


static uint64_t
get_id(const uint8_t *p)
{
    int       i;
    uint64_t  v;

    v = 0;
    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}


static void
lock_zone(void)
{
    int  rc;

    rc = pthread_mutex_lock(&sh->lock);
    if (rc != 0) {
        die("pthread_mutex_lock: %s", strerror(rc));
    }
}


static void
unlock_zone(void)
{
    int  rc;

    rc = pthread_mutex_unlock(&sh->lock);
    if (rc != 0) {
        die("pthread_mutex_unlock: %s", strerror(rc));
    }
}


/*
 * A request's record, made as the product makes one: under the zone's
 * lock, with the change's number, the whole object's state, its CRC-32;
 * staged in the active buffer.
 */

static void
make_record(int slot)
{
    uint8_t   *r;
    uint64_t   change, id;

    created[slot] = now_ns();
    r = bufs[active] + nrec[active] * cfg.rec;
    id = ((uint64_t) (me + 1) << 48) | next_id++;

    lock_zone();
    change = ++sh->change;
    memcpy(r + REC_HEADER + 8, templ, cfg.rec - REC_HEADER - 8);
    put32(r, (uint32_t) cfg.rec);
    put64(r + 8, change);
    put32(r + 16, 1);                       /* a run */
    put32(r + 20, 0);
    put_id(r + REC_HEADER, id);
    put32(r + 4, crc32(r + 8, cfg.rec - 8));
    unlock_zone();

    slots[active][nrec[active]++] = (uint16_t) slot;
}


/* ------------------------------------------------------------- the stores */

static void
write_all(int fd, const uint8_t *p, size_t len)
{
    ssize_t  n;

    while (len) {
        n = write(fd, p, len);
        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("write: %s", strerror(errno));
        }
        p += n;
        len -= (size_t) n;
    }
}


static int
open_append(const char *name)
{
    int   fd;
    char  path[4200];

    path_join(path, sizeof(path), ddir, name);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
        die("open %s: %s", path, strerror(errno));
    }
    return fd;
}


static void
sqlite_check(sqlite3 *db, int rc, int want, const char *what)
{
    if (rc != want) {
        die("SQLite: %s: %s", what, db ? sqlite3_errmsg(db)
                                       : sqlite3_errstr(rc));
    }
}


static int
sqlite_busy(void *data, int count)
{
    (void) data;

    /* another writer holds the write lock: retry for up to 10 s */
    if ((double) count * (double) cfg.busy_us > 10e6) {
        return 0;
    }
    sleep_us(cfg.busy_us);
    return 1;
}


static void
sqlite_exec(sqlite3 *db, const char *sql)
{
    char  *err;

    err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        die("SQLite: %s: %s", sql, err ? err : sqlite3_errmsg(db));
    }
}


static void
lmdb_check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS) {
        die("LMDB: %s: %s%s", what, mdb_strerror(rc),
            rc == MDB_MAP_FULL ? " (raise LMDB_MAP)" : "");
    }
}


static void
lmdb_env(MDB_env **env)
{
    lmdb_check(mdb_env_create(env), "mdb_env_create");
    lmdb_check(mdb_env_set_mapsize(*env, LMDB_MAP), "mdb_env_set_mapsize");
    lmdb_check(mdb_env_open(*env, ddir, 0, 0644), "mdb_env_open");
}


/* in the helper thread, before the first commit */
static void
store_open(store_t *st)
{
    int       rc;
    char      path[4200];
    MDB_txn  *txn;

    st->design = design;

    switch (design) {

    case D_SHARED:
    case D_SHARED_NOSYNC:
        st->fd = open_append("runs.journal");
        break;

    case D_PER_WRITER:
        snprintf(path, sizeof(path), "w%d.journal", me);
        st->fd = open_append(path);
        break;

    case D_WPROC:
        break;

    case D_SQLITE:
        path_join(path, sizeof(path), ddir, "runs.db");
        rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE, NULL);
        sqlite_check(st->db, rc, SQLITE_OK, "open");
        if (cfg.busy_us > 0) {
            rc = sqlite3_busy_handler(st->db, sqlite_busy, NULL);
        } else {
            rc = sqlite3_busy_timeout(st->db, 10000);
        }
        sqlite_check(st->db, rc, SQLITE_OK, "busy handler");
        sqlite_exec(st->db, "PRAGMA synchronous=FULL");
        rc = sqlite3_prepare_v2(st->db, "BEGIN IMMEDIATE", -1, &st->begin,
                                NULL);
        sqlite_check(st->db, rc, SQLITE_OK, "prepare BEGIN");
        rc = sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO runs "
                                "(id, change, rec) VALUES (?1, ?2, ?3)", -1,
                                &st->insert, NULL);
        sqlite_check(st->db, rc, SQLITE_OK, "prepare INSERT");
        rc = sqlite3_prepare_v2(st->db, "COMMIT", -1, &st->commit, NULL);
        sqlite_check(st->db, rc, SQLITE_OK, "prepare COMMIT");
        break;

    case D_LMDB:
        lmdb_env(&st->env);
        lmdb_check(mdb_txn_begin(st->env, NULL, 0, &txn), "mdb_txn_begin");
        lmdb_check(mdb_dbi_open(txn, NULL, 0, &st->dbi), "mdb_dbi_open");
        lmdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
        break;
    }
}


/* one batch made durable (shared-nosync: written) */
static void
store_commit(store_t *st, const uint8_t *buf, size_t n)
{
    int       rc;
    size_t    i, len;
    ssize_t   k;
    uint64_t  pos;
    MDB_val   key, val;
    MDB_txn  *txn;
    const uint8_t  *r;

    len = n * cfg.rec;

    switch (st->design) {

    case D_SHARED:
    case D_PER_WRITER:
        write_all(st->fd, buf, len);
        if (fdatasync(st->fd) != 0) {
            die("fdatasync: %s", strerror(errno));
        }
        break;

    case D_SHARED_NOSYNC:
        write_all(st->fd, buf, len);
        break;

    case D_WPROC:
        k = send(st->sock, buf, len, MSG_NOSIGNAL);
        if (k == -1) {
            die("send to the writer process: %s", strerror(errno));
        }
        if ((size_t) k != len) {
            die("send to the writer process: %zd of %zu bytes", k, len);
        }
        do {
            k = recv(st->sock, &pos, sizeof(pos), 0);
        } while (k == -1 && errno == EINTR);
        if (k == -1) {
            die("recv from the writer process: %s", strerror(errno));
        }
        if (k != sizeof(pos)) {
            die("the writer process answered %zd bytes (exited?)", k);
        }
        break;

    case D_SQLITE:
        rc = sqlite3_step(st->begin);
        sqlite_check(st->db, rc, SQLITE_DONE, "BEGIN IMMEDIATE");
        sqlite_check(st->db, sqlite3_reset(st->begin), SQLITE_OK, "reset");
        for (i = 0; i < n; i++) {
            r = buf + i * cfg.rec;
            rc = sqlite3_bind_int64(st->insert, 1,
                                    (sqlite3_int64) get_id(r + REC_HEADER));
            sqlite_check(st->db, rc, SQLITE_OK, "bind id");
            rc = sqlite3_bind_int64(st->insert, 2,
                                    (sqlite3_int64) get64(r + 8));
            sqlite_check(st->db, rc, SQLITE_OK, "bind change");
            rc = sqlite3_bind_blob(st->insert, 3, r, (int) cfg.rec,
                                   SQLITE_STATIC);
            sqlite_check(st->db, rc, SQLITE_OK, "bind record");
            rc = sqlite3_step(st->insert);
            sqlite_check(st->db, rc, SQLITE_DONE, "INSERT");
            rc = sqlite3_reset(st->insert);
            sqlite_check(st->db, rc, SQLITE_OK, "reset INSERT");
        }
        rc = sqlite3_step(st->commit);
        sqlite_check(st->db, rc, SQLITE_DONE, "COMMIT");
        sqlite_check(st->db, sqlite3_reset(st->commit), SQLITE_OK, "reset");
        break;

    case D_LMDB:
        lmdb_check(mdb_txn_begin(st->env, NULL, 0, &txn), "mdb_txn_begin");
        for (i = 0; i < n; i++) {
            r = buf + i * cfg.rec;
            key.mv_size = 8;
            key.mv_data = (void *) (r + REC_HEADER);
            val.mv_size = cfg.rec;
            val.mv_data = (void *) r;
            lmdb_check(mdb_put(txn, st->dbi, &key, &val, 0), "mdb_put");
        }
        lmdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
        break;
    }
}


static void
store_close(store_t *st)
{
    switch (st->design) {

    case D_SHARED:
    case D_SHARED_NOSYNC:
    case D_PER_WRITER:
        xclose(st->fd);
        break;

    case D_WPROC:
        break;

    case D_SQLITE:
        sqlite3_finalize(st->begin);
        sqlite3_finalize(st->insert);
        sqlite3_finalize(st->commit);
        /* the last connection checkpoints the WAL into the database */
        sqlite_check(st->db, sqlite3_close(st->db), SQLITE_OK, "close");
        break;

    case D_LMDB:
        mdb_env_close(st->env);
        break;
    }
}


/* ----------------------------------------------------------- the writers */

static void
hand_lock(void)
{
    int  rc;

    rc = pthread_mutex_lock(&hand.mu);
    if (rc != 0) {
        die("pthread_mutex_lock: %s", strerror(rc));
    }
}


static void
hand_unlock(void)
{
    int  rc;

    rc = pthread_mutex_unlock(&hand.mu);
    if (rc != 0) {
        die("pthread_mutex_unlock: %s", strerror(rc));
    }
}


static void
hand_wait(void)
{
    int  rc;

    rc = pthread_cond_wait(&hand.cv, &hand.mu);
    if (rc != 0) {
        die("pthread_cond_wait: %s", strerror(rc));
    }
}


static void
hand_signal(void)
{
    int  rc;

    rc = pthread_cond_broadcast(&hand.cv);
    if (rc != 0) {
        die("pthread_cond_broadcast: %s", strerror(rc));
    }
}


static void *
helper_main(void *arg)
{
    size_t          n;
    uint64_t        t;
    const uint8_t  *buf;
    wstat_t        *w = arg;

    store_open(&hand.st);

    hand_lock();
    hand.ready = 1;
    hand_signal();
    hand_unlock();

    for ( ;; ) {
        hand_lock();
        while (!hand.posted && !hand.quit) {
            hand_wait();
        }
        if (!hand.posted) {
            hand_unlock();
            break;
        }
        buf = hand.buf;
        n = hand.n;
        hand_unlock();

        store_commit(&hand.st, buf, n);

        t = now_ns();
        w->written += n;
        w->commits++;
        if (t >= atomic_load(&g_win_start) && t < atomic_load(&g_win_end)) {
            w->commits_win++;
        }

        hand_lock();
        hand.posted = 0;
        hand.done = 1;
        hand_signal();
        hand_unlock();
    }

    store_close(&hand.st);
    return NULL;
}


static int
read_io(uint64_t *write_bytes, uint64_t *wchar)
{
    int     got;
    char    line[128];
    FILE   *f;
    unsigned long long  v;

    f = fopen("/proc/self/io", "r");
    if (f == NULL) {
        return 0;               /* no I/O accounting in this kernel */
    }
    got = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "write_bytes: %llu", &v) == 1) {
            *write_bytes = v;
            got |= 1;
        } else if (sscanf(line, "wchar: %llu", &v) == 1) {
            *wchar = v;
            got |= 2;
        }
    }
    if (fclose(f) != 0) {
        die("/proc/self/io: %s", strerror(errno));
    }
    return got == 3;
}


/* the window's start and end, seen by a process's loop */
typedef struct {
    int       started, ended, ok;
    uint64_t  wb0, wc0;
} iowin_t;


static void
iowin_check(iowin_t *iw, wstat_t *w, uint64_t t)
{
    uint64_t  wb, wc;

    if (!iw->started && t >= sh->win_start) {
        iw->started = 1;
        iw->ok = read_io(&iw->wb0, &iw->wc0);
    }
    if (iw->started && !iw->ended && t >= sh->win_end) {
        iw->ended = 1;
        if (iw->ok && read_io(&wb, &wc)) {
            w->io_ok = 1;
            w->io_write_bytes = wb - iw->wb0;
            w->io_wchar = wc - iw->wc0;
        }
    }
}


static void
wait_go(int ready_fd, int go_fd)
{
    char     c;
    ssize_t  n;

    c = 'r';
    if (write(ready_fd, &c, 1) != 1) {
        die("write to the parent: %s", strerror(errno));
    }
    xclose(ready_fd);
    do {
        n = read(go_fd, &c, 1);
    } while (n == -1 && errno == EINTR);
    if (n != 1) {
        die("read from the parent: %s", n == 0 ? "end of file"
                                                : strerror(errno));
    }
    atomic_store(&g_win_end, sh->win_end);
    atomic_store(&g_win_start, sh->win_start);
}


static void
report_syncs(wstat_t *w)
{
    int  i;

    w->syncs_win = atomic_load(&syncs_win);
    w->syncs_all = atomic_load(&syncs_all);
    for (i = 0; i < 3; i++) {
        w->kind_win[i] = atomic_load(&kind_win[i]);
    }
}


static void
writer_main(int sock, int ready_fd, int go_fd)
{
    int        rc, s, inflight, done;
    size_t     i, nb;
    uint64_t   t, lat;
    iowin_t    iw;
    wstat_t   *w;
    uint32_t  *smp;
    pthread_t  th;

    w = &sh->w[me];
    smp = samples + (size_t) me * SAMPLES_MAX;

    for (i = 0; i < 2; i++) {
        bufs[i] = xmalloc((size_t) cfg.conns * cfg.rec);
        slots[i] = xmalloc((size_t) cfg.conns * sizeof(uint16_t));
    }
    created = xmalloc((size_t) cfg.conns * sizeof(uint64_t));

    if ((rc = pthread_mutex_init(&hand.mu, NULL)) != 0
        || (rc = pthread_cond_init(&hand.cv, NULL)) != 0)
    {
        die("pthread init: %s", strerror(rc));
    }
    hand.st.sock = sock;

    rc = pthread_create(&th, NULL, helper_main, w);
    if (rc != 0) {
        die("pthread_create: %s", strerror(rc));
    }

    hand_lock();
    while (!hand.ready) {
        hand_wait();
    }
    hand_unlock();

    wait_go(ready_fd, go_fd);

    memset(&iw, 0, sizeof(iw));
    for (s = 0; s < cfg.conns; s++) {
        make_record(s);
    }

    inflight = 0;

    for ( ;; ) {
        if (!inflight && nrec[active] > 0) {
            /* the staged buffer to the helper; the other one fills */
            hand_lock();
            hand.buf = bufs[active];
            hand.n = nrec[active];
            hand.posted = 1;
            hand_signal();
            hand_unlock();
            active ^= 1;
            inflight = 1;
        }

        if (!inflight) {
            break;
        }

        hand_lock();
        while (!hand.done) {
            hand_wait();
        }
        hand.done = 0;
        hand_unlock();
        inflight = 0;

        t = now_ns();
        iowin_check(&iw, w, t);

        /* the batch's requests acknowledged; each makes its next record */
        done = active ^ 1;
        nb = nrec[done];
        for (i = 0; i < nb; i++) {
            s = slots[done][i];
            if (t >= sh->win_start && t < sh->win_end) {
                w->acked++;
                lat = t - created[s];
                if (w->nsamples < SAMPLES_MAX) {
                    smp[w->nsamples++] = lat > UINT32_MAX ? UINT32_MAX
                                                          : (uint32_t) lat;
                } else {
                    w->dropped++;
                }
            }
            if (t < sh->win_end) {
                make_record(s);
            }
        }
        nrec[done] = 0;
    }

    iowin_check(&iw, w, UINT64_MAX);

    hand_lock();
    hand.quit = 1;
    hand_signal();
    hand_unlock();
    rc = pthread_join(th, NULL);
    if (rc != 0) {
        die("pthread_join: %s", strerror(rc));
    }

    report_syncs(w);
}


/* ---------------------------------------------------- the writer process */

static void
wproc_main(int *socks, int ready_fd, int go_fd)
{
    int            i, fd, open_n, k, incl[MAX_WRITERS];
    size_t         len, cap;
    ssize_t        n;
    uint64_t       pos, t;
    uint8_t       *buf;
    iowin_t        iw;
    wstat_t       *w;
    struct iovec   iov;
    struct msghdr  msg;
    struct pollfd  pfd[MAX_WRITERS];

    w = &sh->w[cfg.writers];
    fd = open_append("runs.journal");
    cap = (size_t) cfg.writers * cfg.conns * cfg.rec;
    buf = xmalloc(cap);

    for (i = 0; i < cfg.writers; i++) {
        pfd[i].fd = socks[i];
        pfd[i].events = POLLIN;
    }
    open_n = cfg.writers;
    pos = 0;

    wait_go(ready_fd, go_fd);
    memset(&iw, 0, sizeof(iw));

    while (open_n > 0) {
        if (poll(pfd, (nfds_t) cfg.writers, -1) == -1) {
            if (errno == EINTR) {
                continue;
            }
            die("poll: %s", strerror(errno));
        }

        /* every batch that came meanwhile: one write, one fdatasync */
        len = 0;
        k = 0;
        for (i = 0; i < cfg.writers; i++) {
            if (pfd[i].fd == -1 || pfd[i].revents == 0) {
                continue;
            }
            iov.iov_base = buf + len;
            iov.iov_len = cap - len;
            memset(&msg, 0, sizeof(msg));
            msg.msg_iov = &iov;
            msg.msg_iovlen = 1;
            n = recvmsg(pfd[i].fd, &msg, MSG_DONTWAIT);
            if (n == -1) {
                if (errno == EAGAIN || errno == EINTR) {
                    continue;
                }
                die("recvmsg from writer %d: %s", i, strerror(errno));
            }
            if (n == 0) {
                xclose(pfd[i].fd);
                pfd[i].fd = -1;
                open_n--;
                continue;
            }
            if ((msg.msg_flags & MSG_TRUNC) || (size_t) n % cfg.rec) {
                die("a batch of writer %d cut short (%zd bytes)", i, n);
            }
            len += (size_t) n;
            incl[k++] = i;
        }

        if (len == 0) {
            continue;
        }

        write_all(fd, buf, len);
        if (fdatasync(fd) != 0) {
            die("fdatasync: %s", strerror(errno));
        }
        pos += len;

        t = now_ns();
        w->written += len / cfg.rec;
        w->commits++;
        if (t >= sh->win_start && t < sh->win_end) {
            w->commits_win++;
        }
        iowin_check(&iw, w, t);

        for (i = 0; i < k; i++) {
            n = send(pfd[incl[i]].fd, &pos, sizeof(pos), MSG_NOSIGNAL);
            if (n != sizeof(pos)) {
                die("answering writer %d: %s", incl[i],
                    n == -1 ? strerror(errno) : "short send");
            }
        }
    }

    iowin_check(&iw, w, UINT64_MAX);

    xclose(fd);
    report_syncs(w);
}


/* ------------------------------------------------------------ the parent */

static void
remove_files(const char *dir)
{
    DIR            *d;
    char            path[4200];
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT) {
            return;
        }
        die("opendir %s: %s", dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        path_join(path, sizeof(path), dir, e->d_name);
        if (unlink(path) != 0) {
            die("unlink %s: %s", path, strerror(errno));
        }
    }
    if (closedir(d) != 0) {
        die("closedir %s: %s", dir, strerror(errno));
    }
    if (rmdir(dir) != 0) {
        die("rmdir %s: %s", dir, strerror(errno));
    }
}


static uint64_t
dir_bytes(const char *dir, int *files)
{
    DIR            *d;
    char            path[4200];
    uint64_t        sum;
    struct stat     st;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        die("opendir %s: %s", dir, strerror(errno));
    }
    sum = 0;
    *files = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        path_join(path, sizeof(path), dir, e->d_name);
        if (lstat(path, &st) != 0) {
            die("stat %s: %s", path, strerror(errno));
        }
        if (S_ISREG(st.st_mode)) {
            sum += (uint64_t) st.st_size;
            (*files)++;
        }
    }
    if (closedir(d) != 0) {
        die("closedir %s: %s", dir, strerror(errno));
    }
    return sum;
}


/* what the design's processes find when they start */
static void
prepare(int d)
{
    int       fd, rc;
    char      path[4200];
    sqlite3  *db;
    MDB_env  *env;

    switch (d) {

    case D_SHARED:
    case D_SHARED_NOSYNC:
    case D_WPROC:
        fd = open_append("runs.journal");
        xclose(fd);
        break;

    case D_SQLITE:
        path_join(path, sizeof(path), ddir, "runs.db");
        db = NULL;
        rc = sqlite3_open_v2(path, &db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
        sqlite_check(db, rc, SQLITE_OK, "open");
        sqlite_exec(db, "PRAGMA journal_mode=WAL");
        sqlite_exec(db, "CREATE TABLE runs (id INTEGER PRIMARY KEY, "
                        "change INTEGER NOT NULL, rec BLOB NOT NULL)");
        sqlite_check(db, sqlite3_close(db), SQLITE_OK, "close");
        break;

    case D_LMDB:
        lmdb_env(&env);
        mdb_env_close(env);
        break;
    }
}


static uint64_t
machine_busy_ticks(void)
{
    FILE  *f;
    unsigned long long  u, n, s, idle, io, irq, sirq, steal;

    f = fopen("/proc/stat", "r");
    if (f == NULL) {
        die("/proc/stat: %s", strerror(errno));
    }
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n, &s,
               &idle, &io, &irq, &sirq, &steal) != 8)
    {
        die("/proc/stat: unexpected first line");
    }
    if (fclose(f) != 0) {
        die("/proc/stat: %s", strerror(errno));
    }
    return u + n + s + irq + sirq + steal;
}


static double
children_cpu_s(void)
{
    struct rusage  ru;

    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) {
        die("getrusage: %s", strerror(errno));
    }
    return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
           + (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}


static int
cmp_u32(const void *a, const void *b)
{
    uint32_t  x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return x < y ? -1 : x > y;
}


static double
pct_us(const uint32_t *v, size_t n, double pct)
{
    size_t  i;

    if (n == 0) {
        return -1;
    }
    i = (size_t) (pct / 100.0 * (double) n + 0.999999);
    if (i < 1) {
        i = 1;
    }
    if (i > n) {
        i = n;
    }
    return (double) v[i - 1] / 1000.0;
}


static void
kill_all(pid_t *pids, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (pids[i] > 0) {
            (void) kill(pids[i], SIGTERM);
        }
    }
}


/* the figures of one design in one round */
typedef struct {
    double    acked_per_s;
    double    p50_us, p90_us, p99_us, max_us;
    double    syncs_per_s;
    double    records_per_sync;
    double    commits_per_s;
    double    disk_per_rec;
    double    written_per_rec;      /* -1: no I/O accounting */
    double    wchar_per_rec;
    double    cpu_per_rec;
    double    other_pct;
    double    wall_s;
    uint64_t  acked, nlat, dropped, syncs, kind[3], written, disk;
    int       files;
} fig_t;

static fig_t  figs[D_N][MAX_ROUNDS];


static void
table_head(const char *title)
{
    fprintf(stderr, "%s\n%-5s %-38s %9s %7s %7s %8s %8s %8s %8s %8s %6s\n",
            title, "round", "design", "acked/s", "p50 ms", "p99 ms",
            "syncs/s", "rec/sync", "disk B/r", "wrtn B/r", "CPU us/r",
            "other%");
}


/* round 0: the medians */
static void
table_row(int d, int round, const fig_t *f)
{
    char  r[16], col[32];

    if (round) {
        snprintf(r, sizeof(r), "%d", round);
    } else {
        snprintf(r, sizeof(r), "med");
    }
    if (f->written_per_rec >= 0) {
        snprintf(col, sizeof(col), "%.1f", f->written_per_rec);
    } else {
        snprintf(col, sizeof(col), "n/a");
    }
    fprintf(stderr, "%-5s %-38s %9.0f %7.2f %7.2f %8.0f %8.1f %8.1f %8s "
            "%8.1f %6.1f\n",
            r, designs[d].label, f->acked_per_s, f->p50_us / 1000,
            f->p99_us / 1000, f->syncs_per_s, f->records_per_sync,
            f->disk_per_rec, col, f->cpu_per_rec, f->other_pct);
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/* the median over the rounds of the figure at "off" in fig_t */
static double
median_of(int d, size_t off)
{
    int     r;
    double  v[MAX_ROUNDS];

    for (r = 0; r < cfg.rounds; r++) {
        memcpy(&v[r], (const char *) &figs[d][r] + off, sizeof(double));
    }
    qsort(v, (size_t) cfg.rounds, sizeof(double), cmp_double);
    return cfg.rounds % 2 ? v[cfg.rounds / 2]
                          : (v[cfg.rounds / 2 - 1] + v[cfg.rounds / 2]) / 2;
}


static void
print_rounds(int d, size_t off, const char *fmt)
{
    int     r;
    double  v;

    putchar('[');
    for (r = 0; r < cfg.rounds; r++) {
        memcpy(&v, (const char *) &figs[d][r] + off, sizeof(double));
        printf(r ? "," : "");
        printf(fmt, v);
    }
    putchar(']');
}


#define MED(field)  median_of(d, offsetof(fig_t, field))


/* one JSON object per design: each figure's median over the rounds */
static void
summary(int d)
{
    int       r, j, io;
    fig_t     m, t;

    memset(&t, 0, sizeof(t));
    io = 1;
    for (r = 0; r < cfg.rounds; r++) {
        const fig_t  *f = &figs[d][r];

        t.acked += f->acked;
        t.nlat += f->nlat;
        t.dropped += f->dropped;
        t.syncs += f->syncs;
        for (j = 0; j < 3; j++) {
            t.kind[j] += f->kind[j];
        }
        t.written += f->written;
        if (f->max_us > t.max_us) {
            t.max_us = f->max_us;
        }
        if (f->written_per_rec < 0) {
            io = 0;
        }
    }

    m.acked_per_s = MED(acked_per_s);
    m.p50_us = MED(p50_us);
    m.p90_us = MED(p90_us);
    m.p99_us = MED(p99_us);
    m.syncs_per_s = MED(syncs_per_s);
    m.records_per_sync = MED(records_per_sync);
    m.commits_per_s = MED(commits_per_s);
    m.disk_per_rec = MED(disk_per_rec);
    m.written_per_rec = io ? MED(written_per_rec) : -1;
    m.wchar_per_rec = io ? MED(wchar_per_rec) : -1;
    m.cpu_per_rec = MED(cpu_per_rec);
    m.other_pct = MED(other_pct);

    printf("{\"design\":\"%s\",\"label\":\"%s\",\"writers\":%d,"
           "\"conns\":%d,\"record_bytes\":%zu,\"rounds\":%d,"
           "\"seconds\":%.1f,\"warmup_s\":%.1f,"
           "\"median\":\"each figure's median over the rounds\","
           "\"acked\":%" PRIu64 ",\"acked_per_s\":%.0f,"
           "\"acked_per_s_rounds\":",
           designs[d].name, designs[d].label, cfg.writers, cfg.conns,
           cfg.rec, cfg.rounds, cfg.seconds, cfg.warmup, t.acked,
           m.acked_per_s);
    print_rounds(d, offsetof(fig_t, acked_per_s), "%.0f");
    printf(",\"latency\":{\"n\":%" PRIu64 ",\"p50_us\":%.1f,"
           "\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,"
           "\"dropped\":%" PRIu64 "},"
           "\"syncs\":%" PRIu64 ",\"syncs_per_s\":%.0f,"
           "\"sync_calls\":{\"fdatasync\":%" PRIu64 ",\"fsync\":%" PRIu64
           ",\"dsync_writes\":%" PRIu64 "},"
           "\"records_per_sync\":%.1f,\"commits_per_s\":%.0f,"
           "\"records_written\":%" PRIu64 ",\"files\":%d,"
           "\"disk_bytes_per_record\":%.1f,",
           t.nlat, m.p50_us, m.p90_us, m.p99_us, t.max_us, t.dropped,
           t.syncs, m.syncs_per_s, t.kind[0], t.kind[1], t.kind[2],
           m.records_per_sync, m.commits_per_s, t.written,
           figs[d][0].files, m.disk_per_rec);
    if (io) {
        printf("\"written_bytes_per_record\":%.1f,"
               "\"wchar_bytes_per_record\":%.1f,",
               m.written_per_rec, m.wchar_per_rec);
    } else {
        printf("\"written_bytes_per_record\":null,"
               "\"wchar_bytes_per_record\":null,");
    }
    printf("\"cpu_us_per_record\":%.1f,\"other_cpu_pct\":%.1f,"
           "\"other_cpu_pct_rounds\":", m.cpu_per_rec, m.other_pct);
    print_rounds(d, offsetof(fig_t, other_pct), "%.1f");
    printf("}\n");
    if (fflush(stdout) != 0) {
        die("stdout: %s", strerror(errno));
    }

    table_row(d, 0, &m);
}


/* in a child: it ends with the parent, keeps only its own pipe ends */
static void
child_init(int ready_rd, int go_wr)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
        die("prctl: %s", strerror(errno));
    }
    if (getppid() == 1) {
        die("the parent exited");
    }
    xclose(ready_rd);
    xclose(go_wr);
}


static pid_t
spawn(pid_t *pids, int n)
{
    pid_t  pid;

    pid = fork();
    if (pid == -1) {
        kill_all(pids, n);
        die("fork: %s", strerror(errno));
    }
    return pid;
}


/* what the parent measured around one run of a design */
typedef struct {
    double    cpu0, cpu1;       /* the children's CPU, seconds */
    uint64_t  t0, t1;           /* from "go" to the last exit, ns */
    uint64_t  b0, b1;           /* the machine's busy ticks */
    uint64_t  disk;             /* the files' bytes at the end */
    int       files;
} around_t;


/* the design's processes, each in its own branch; their number */
static int
spawn_all(int d, pid_t *pids, int ready[2], int go[2])
{
    int    i, k, socks[MAX_WRITERS][2], ends[MAX_WRITERS];
    pid_t  pid;

    for (i = 0; i < cfg.writers && d == D_WPROC; i++) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks[i])
            != 0)
        {
            die("socketpair: %s", strerror(errno));
        }
    }

    k = 0;

    if (d == D_WPROC) {
        pid = spawn(pids, k);
        if (pid == 0) {
            snprintf(who, sizeof(who), "journal-designs: %s, writer process",
                     designs[d].name);
            child_init(ready[0], go[1]);
            for (i = 0; i < cfg.writers; i++) {
                xclose(socks[i][1]);
                ends[i] = socks[i][0];
            }
            wproc_main(ends, ready[1], go[0]);
            _exit(0);
        }
        pids[k++] = pid;
    }

    for (me = 0; me < cfg.writers; me++) {
        pid = spawn(pids, k);
        if (pid == 0) {
            snprintf(who, sizeof(who), "journal-designs: %s, writer %d",
                     designs[d].name, me);
            child_init(ready[0], go[1]);
            for (i = 0; i < cfg.writers && d == D_WPROC; i++) {
                xclose(socks[i][0]);
                if (i != me) {
                    xclose(socks[i][1]);
                }
            }
            writer_main(d == D_WPROC ? socks[me][1] : -1, ready[1], go[0]);
            _exit(0);
        }
        pids[k++] = pid;
    }

    for (i = 0; i < cfg.writers && d == D_WPROC; i++) {
        xclose(socks[i][0]);
        xclose(socks[i][1]);
    }

    return k;
}


/*
 * Every process ready (its store open): the window is set, they go; then
 * each one's exit.
 */

static void
go_and_wait(int d, pid_t *pids, int k, int ready_rd, int go_wr,
    around_t *a)
{
    int      i, rc;
    char     buf[MAX_WRITERS + 1];
    pid_t    pid;
    ssize_t  got;

    for (i = 0; i < k; i += (int) got) {
        got = read(ready_rd, buf, (size_t) (k - i));
        if (got <= 0) {
            if (got == -1 && errno == EINTR) {
                got = 0;
                continue;
            }
            kill_all(pids, k);
            die("%s: a process exited before it was ready",
                designs[d].name);
        }
    }
    xclose(ready_rd);

    a->b0 = machine_busy_ticks();
    a->t0 = now_ns();
    sh->win_start = a->t0 + (uint64_t) (cfg.warmup * 1e9);
    sh->win_end = sh->win_start + (uint64_t) (cfg.seconds * 1e9);
    memset(buf, 'g', sizeof(buf));
    if (write(go_wr, buf, (size_t) k) != k) {
        kill_all(pids, k);
        die("write to the processes: %s", strerror(errno));
    }
    xclose(go_wr);

    for (i = 0; i < k; i++) {
        do {
            pid = waitpid(pids[i], &rc, 0);
        } while (pid == -1 && errno == EINTR);
        if (pid == -1) {
            die("waitpid: %s", strerror(errno));
        }
        pids[i] = 0;
        if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
            kill_all(pids, k);
            die("%s: a process failed (%s %d)", designs[d].name,
                WIFEXITED(rc) ? "exit" : "signal",
                WIFEXITED(rc) ? WEXITSTATUS(rc) : WTERMSIG(rc));
        }
    }

    a->t1 = now_ns();
    a->b1 = machine_busy_ticks();
}


/* the processes' reports added up into the round's figures */
static void
figures(int d, int round, const around_t *a)
{
    int        i, j, io_ok;
    double     secs, wall, other;
    size_t     n, total;
    uint32_t  *all;
    fig_t     *f;
    wstat_t   *w;
    uint64_t   commits, io_wb, io_wc;

    f = &figs[d][round];
    memset(f, 0, sizeof(*f));
    commits = 0;
    io_wb = 0;
    io_wc = 0;
    io_ok = 1;
    total = 0;

    /* the writers, and the writer process (which writes, for them) */
    for (i = 0; i <= cfg.writers; i++) {
        w = &sh->w[i];
        if (i == cfg.writers && d != D_WPROC) {
            break;
        }
        f->acked += w->acked;
        f->syncs += w->syncs_win;
        for (j = 0; j < 3; j++) {
            f->kind[j] += w->kind_win[j];
        }
        io_wb += w->io_write_bytes;
        io_wc += w->io_wchar;
        io_ok &= w->io_ok;
        f->dropped += w->dropped;
        if (i < cfg.writers) {
            total += w->nsamples;
        }
        /* records and commits: the writers' own, or the writer process's */
        if ((i < cfg.writers) == (d != D_WPROC)) {
            f->written += w->written;
            commits += w->commits_win;
        }
    }

    all = xmalloc((total ? total : 1) * sizeof(uint32_t));
    n = 0;
    for (i = 0; i < cfg.writers; i++) {
        memcpy(all + n, samples + (size_t) i * SAMPLES_MAX,
               sh->w[i].nsamples * sizeof(uint32_t));
        n += sh->w[i].nsamples;
    }
    qsort(all, n, sizeof(uint32_t), cmp_u32);

    secs = cfg.seconds;
    wall = (double) (a->t1 - a->t0) / 1e9;
    other = (double) (a->b1 - a->b0) / (double) sysconf(_SC_CLK_TCK)
            - (a->cpu1 - a->cpu0);

    f->acked_per_s = (double) f->acked / secs;
    f->nlat = n;
    f->p50_us = pct_us(all, n, 50);
    f->p90_us = pct_us(all, n, 90);
    f->p99_us = pct_us(all, n, 99);
    f->max_us = pct_us(all, n, 100);
    f->syncs_per_s = (double) f->syncs / secs;
    f->records_per_sync = f->syncs ? (double) f->acked / (double) f->syncs
                                   : 0;
    f->commits_per_s = (double) commits / secs;
    f->disk = a->disk;
    f->files = a->files;
    f->disk_per_rec = f->written ? (double) a->disk / (double) f->written
                                 : 0;
    f->written_per_rec = -1;
    f->wchar_per_rec = -1;
    if (io_ok && f->acked) {
        f->written_per_rec = (double) io_wb / (double) f->acked;
        f->wchar_per_rec = (double) io_wc / (double) f->acked;
    }
    f->cpu_per_rec = f->written ? (a->cpu1 - a->cpu0) * 1e6
                                  / (double) f->written : 0;
    f->other_pct = other > 0 ? 100 * other
                   / (wall * (double) sysconf(_SC_NPROCESSORS_ONLN)) : 0;
    f->wall_s = wall;

    free(all);
}


static void
run_design(int d, int round)
{
    int       k, ready[2], go[2];
    pid_t     pids[MAX_WRITERS + 1];
    around_t  a;

    design = d;
    path_join(ddir, sizeof(ddir), cfg.dir, designs[d].name);
    remove_files(ddir);
    if (mkdir(ddir, 0755) != 0) {
        die("mkdir %s: %s", ddir, strerror(errno));
    }
    prepare(d);

    memset(sh->w, 0, sizeof(sh->w));
    sh->change = 0;
    sh->win_start = UINT64_MAX;
    sh->win_end = UINT64_MAX;

    if (pipe(ready) != 0 || pipe(go) != 0) {
        die("pipe: %s", strerror(errno));
    }

    memset(&a, 0, sizeof(a));
    memset(pids, 0, sizeof(pids));
    a.cpu0 = children_cpu_s();

    k = spawn_all(d, pids, ready, go);
    xclose(ready[1]);
    xclose(go[0]);
    go_and_wait(d, pids, k, ready[0], go[1], &a);

    a.cpu1 = children_cpu_s();
    a.disk = dir_bytes(ddir, &a.files);
    remove_files(ddir);

    figures(d, round, &a);
    table_row(d, round + 1, &figs[d][round]);
}


static void
usage(void)
{
    fprintf(stderr,
        "usage: journal-designs DIR [--rounds R] [--seconds S] [--warmup S]\n"
        "                       [--writers W] [--conns C] [--record BYTES]\n"
        "                       [--designs LIST] [--sqlite-busy-us U]\n"
        "designs: shared,shared-nosync,per-writer,writer-process,sqlite,lmdb\n");
    exit(2);
}


static void
parse_designs(char *list)
{
    int    d, found;
    char  *p, *save;

    memset(cfg.run, 0, sizeof(cfg.run));
    for (p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        found = 0;
        for (d = 0; d < D_N; d++) {
            if (strcmp(p, designs[d].name) == 0) {
                cfg.run[d] = 1;
                found = 1;
            }
        }
        if (!found) {
            die("no design \"%s\"", p);
        }
    }
}


static void
parse_args(int argc, char **argv)
{
    int  i, d;

    cfg.dir = argv[1];
    cfg.rounds = 3;
    cfg.seconds = 1;
    cfg.warmup = 0.5;
    cfg.writers = 2;
    cfg.conns = 25;
    cfg.rec = 300;
    cfg.busy_us = 0;
    for (d = 0; d < D_N; d++) {
        cfg.run[d] = 1;
    }

    for (i = 2; i < argc; i++) {
        if (i + 1 >= argc) {
            usage();
        }
        if (strcmp(argv[i], "--seconds") == 0) {
            cfg.seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0) {
            cfg.rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--warmup") == 0) {
            cfg.warmup = atof(argv[++i]);
        } else if (strcmp(argv[i], "--writers") == 0) {
            cfg.writers = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--conns") == 0) {
            cfg.conns = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--record") == 0) {
            cfg.rec = (size_t) atol(argv[++i]);
        } else if (strcmp(argv[i], "--designs") == 0) {
            parse_designs(argv[++i]);
        } else if (strcmp(argv[i], "--sqlite-busy-us") == 0) {
            cfg.busy_us = atol(argv[++i]);
        } else {
            usage();
        }
    }

    if (cfg.seconds <= 0 || cfg.seconds > 600 || cfg.warmup < 0
        || cfg.warmup > 60)
    {
        die("--seconds must be in (0, 600], --warmup in [0, 60]");
    }
    if (cfg.rounds < 1 || cfg.rounds > MAX_ROUNDS) {
        die("--rounds must be 1 to %d", MAX_ROUNDS);
    }
    if (cfg.writers < 1 || cfg.writers > MAX_WRITERS) {
        die("--writers must be 1 to %d", MAX_WRITERS);
    }
    if (cfg.conns < 1 || cfg.conns > MAX_CONNS) {
        die("--conns must be 1 to %d", MAX_CONNS);
    }
    if (cfg.rec < REC_MIN || cfg.rec > REC_MAX) {
        die("--record must be %d to %d bytes", REC_MIN, REC_MAX);
    }
    if ((size_t) cfg.conns * cfg.rec > MAX_BATCH) {
        die("--conns x --record must be at most %d bytes (a batch is one "
            "message to the writer process)", MAX_BATCH);
    }
    if (cfg.busy_us < 0) {
        die("--sqlite-busy-us must be 0 or more");
    }
}


int
main(int argc, char **argv)
{
    int                  i, d, r, rc;
    size_t               slen;
    struct statfs        fs;
    pthread_mutexattr_t  ma;

    if (argc < 2 || argv[1][0] == '-') {
        usage();
    }

    parse_args(argc, argv);

    if (mkdir(cfg.dir, 0755) != 0 && errno != EEXIST) {
        die("mkdir %s: %s", cfg.dir, strerror(errno));
    }
    if (statfs(cfg.dir, &fs) != 0) {
        die("statfs %s: %s", cfg.dir, strerror(errno));
    }

    crc_init();
    templ = xmalloc(cfg.rec);
    for (i = 0; i < (int) cfg.rec; i++) {
        /* a run's strings: a prompt, names, times */
        templ[i] = (uint8_t) ("{\"prompt\":\"Summarise the failing "
                              "tests and propose a fix.\",\"agent\":"
                              "\"claude\",\"status\":\"pending\"}"[i % 96]);
    }

    sh = mmap(NULL, sizeof(shared_t), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        die("mmap: %s", strerror(errno));
    }
    slen = (size_t) cfg.writers * SAMPLES_MAX * sizeof(uint32_t);
    samples = mmap(NULL, slen, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (samples == MAP_FAILED) {
        die("mmap: %s", strerror(errno));
    }

    if ((rc = pthread_mutexattr_init(&ma)) != 0
        || (rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED))
           != 0
        || (rc = pthread_mutex_init(&sh->lock, &ma)) != 0)
    {
        die("process-shared mutex: %s", strerror(rc));
    }

    fprintf(stderr, "journal designs: %d writers x %d requests in flight, "
            "%zu-byte records; %d rounds, each design %.1f s in each after "
            "%.1f s of warm-up; in %s (filesystem 0x%lx)\n",
            cfg.writers, cfg.conns, cfg.rec, cfg.rounds, cfg.seconds,
            cfg.warmup, cfg.dir, (unsigned long) fs.f_type);
    table_head("");

    for (r = 0; r < cfg.rounds; r++) {
        for (d = 0; d < D_N; d++) {
            if (cfg.run[d]) {
                run_design(d, r);
            }
        }
    }

    table_head("\nthe median of each figure over the rounds:");
    for (d = 0; d < D_N; d++) {
        if (cfg.run[d]) {
            summary(d);
        }
    }

    return 0;
}
