
/*
 * libFuzzer target for the journal's reader, ngx_http_runs_store_replay()
 * (src/ngx_http_runs_store_replay.c).  Built and run by "./build.sh fuzz"
 * beside the JSON reader's target; docs/FUZZING.md tells how.
 *
 * Each input is a journal's keys and records, put in a valid header (so
 * that it is read as records, not refused as another format).  Its first
 * byte says how the records are read; the 48 bytes after it are the
 * header's keys (the zone's keys for ids and names: run, session and
 * launcher ids must match them); then come the records:
 *
 *   even   as the records' bytes, as they are (CRCs that random bytes
 *          rarely match: damage, torn tails, resyncs)
 *   odd    as chunks "type (1 byte), change (1), body length (2, little
 *          endian), body", each made a record with its size and CRC
 *          right, so that the bodies (what a record says of a run, a
 *          session, a launcher) are what is fuzzed
 *
 * The records are read into a new zone, made as nginx makes one (a slab
 * pool in a memory region of its own, the store's root), by the module's
 * own store files; nothing of them is stood in for.  ASan and UBSan
 * watch.  The seeds (src/fuzz/corpus/journal) are chunks of journals the
 * suites wrote.
 *
 * What must hold:
 *
 *   any input          the reader answers NGX_OK, NGX_DECLINED or
 *                      NGX_ERROR, never crashes or leaks; on NGX_OK what
 *                      it keeps (valid) is at most the image's length
 *   NGX_OK             the zone it built is written out as a compaction
 *                      writes it (a snapshot, slice by slice); that
 *                      snapshot read into a second new zone answers
 *                      NGX_OK with nothing dropped, and written out again
 *                      gives the same records (their change numbers and
 *                      CRCs aside, which follow the zone's counter): the
 *                      reader keeps everything a snapshot says, and a
 *                      snapshot says everything the reader built
 *
 * Any other outcome calls abort(), which libFuzzer reports with the input
 * saved.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "../ngx_http_runs_zone.h"
#include "../ngx_http_runs_store_jformat.h"


#define FUZZ_ZONE_SIZE  (8 * 1024 * 1024)
#define FUZZ_SNAP_MAX   (16 * 1024 * 1024)
#define FUZZ_KEYS       48      /* the header's keys, bytes 16 to 63 */


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/*
 * nginx.c, which defines the core module, is not linked: the doorbells'
 * setup (ngx_http_runs_store_bells()) and ngx_debug_point() name it, and
 * the coverage tables keep them though nothing here calls them
 */
ngx_module_t  ngx_core_module;


static ngx_open_file_t  fuzz_log_file;
static ngx_log_t        fuzz_log;
static ngx_cycle_t      fuzz_cycle;
static u_char          *fuzz_mem[2];
static u_char          *fuzz_snap[2];


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ngx_uint_t  n;

    /* what ngx_os_init() and ngx_time_init() set */
    ngx_pagesize = getpagesize();
    for (n = ngx_pagesize; n >>= 1; ngx_pagesize_shift++) { /* void */ }
    ngx_cacheline_size = NGX_CPU_CACHE_LINE;
    ngx_time_init();
    ngx_slab_sizes_init();
    ngx_pid = getpid();

    /* errors the reader logs (damage, a format it does not know): off */
    fuzz_log_file.fd = ngx_stderr;
    fuzz_log.file = &fuzz_log_file;
    fuzz_log.log_level = 0;
    fuzz_cycle.log = &fuzz_log;
    ngx_cycle = &fuzz_cycle;

    /* the zones' memory, as ngx_shm_alloc() gives it: page-aligned */
    for (n = 0; n < 2; n++) {
        fuzz_snap[n] = malloc(FUZZ_SNAP_MAX);
        if (fuzz_snap[n] == NULL) {
            abort();
        }

        fuzz_mem[n] = mmap(NULL, FUZZ_ZONE_SIZE, PROT_READ|PROT_WRITE,
                           MAP_ANON|MAP_SHARED, -1, 0);
        if (fuzz_mem[n] == MAP_FAILED) {
            abort();
        }
    }

    return 0;
}


/* a new zone in region n, made as ngx_init_zone_pool() and init_zone do */

static ngx_http_runs_zone_t *
fuzz_zone(ngx_http_runs_zone_t *zone, ngx_uint_t n)
{
    ngx_slab_pool_t  *sp;

    ngx_memzero(zone, sizeof(ngx_http_runs_zone_t));
    ngx_str_set(&zone->name, "fuzz");
    zone->size = FUZZ_ZONE_SIZE;

    sp = (ngx_slab_pool_t *) fuzz_mem[n];
    ngx_memzero(sp, sizeof(ngx_slab_pool_t));
    sp->end = fuzz_mem[n] + FUZZ_ZONE_SIZE;
    sp->min_shift = 3;
    sp->addr = fuzz_mem[n];

    if (ngx_shmtx_create(&sp->mutex, &sp->lock, NULL) != NGX_OK) {
        abort();
    }

    ngx_slab_init(sp);

    zone->shpool = sp;
    zone->sh = ngx_http_runs_store_init(sp, FUZZ_ZONE_SIZE, &fuzz_log);

    if (zone->sh == NULL) {
        abort();
    }

    return zone;
}


/* the zone written out as a compaction writes it; its length */

static size_t
fuzz_snapshot(ngx_http_runs_zone_t *zone, u_char *buf)
{
    u_char                   *pos;
    ngx_int_t                 rc;
    ngx_http_runs_jcursor_t   cur;

    if (ngx_http_runs_store_compact_begin(zone, &cur) != NGX_OK) {
        abort();
    }

    ngx_http_runs_store_journal_header(zone, buf);
    pos = buf + NGX_HTTP_RUNS_J_HEADER;

    do {
        rc = ngx_http_runs_store_compact_slice(zone, &cur, &pos,
                                               buf + FUZZ_SNAP_MAX);
    } while (rc == NGX_AGAIN);

    if (rc != NGX_OK) {
        /* a snapshot larger than FUZZ_SNAP_MAX cannot come of 8 MB */
        abort();
    }

    ngx_http_runs_store_compact_end(zone, pos - buf);

    return pos - buf;
}


/* a snapshot's records, for a disagreement's report */

static void
fuzz_dump(const char *name, u_char *p, size_t len)
{
    size_t    off, i;
    uint32_t  size, type;

    fprintf(stderr, "%s snapshot:\n", name);

    for (off = NGX_HTTP_RUNS_J_HEADER; off + NGX_HTTP_RUNS_J_RECORD <= len;
         off += size)
    {
        ngx_memcpy(&size, p + off, 4);
        ngx_memcpy(&type, p + off + 16, 4);

        if (size < NGX_HTTP_RUNS_J_RECORD || size > len - off) {
            break;
        }

        fprintf(stderr, "  type %u, %u bytes:", type, size);

        for (i = NGX_HTTP_RUNS_J_RECORD; i < size && i < 24 + 160; i++) {
            fprintf(stderr, " %02x", p[off + i]);
        }

        fprintf(stderr, "\n");
    }
}


/* records equal but for their CRC and change number (bytes 4 to 15) */

static void
fuzz_same(u_char *a, size_t alen, u_char *b, size_t blen)
{
    size_t    off;
    uint32_t  size;

    if (alen != blen || ngx_memcmp(a, b, NGX_HTTP_RUNS_J_HEADER) != 0) {
        fprintf(stderr, "journal_fuzz: DISAGREEMENT: snapshots of %zu and "
                "%zu bytes\n", alen, blen);
        fuzz_dump("first", a, alen);
        fuzz_dump("second", b, blen);
        abort();
    }

    for (off = NGX_HTTP_RUNS_J_HEADER; off < alen; off += size) {
        ngx_memcpy(&size, a + off, sizeof(uint32_t));

        if (size < NGX_HTTP_RUNS_J_RECORD || size > alen - off
            || ngx_memcmp(a + off, b + off, 4) != 0
            || ngx_memcmp(a + off + 16, b + off + 16, size - 16) != 0)
        {
            fprintf(stderr, "journal_fuzz: DISAGREEMENT: the snapshots "
                    "differ in the record at byte %zu\n", off);
            fuzz_dump("first", a, alen);
            fuzz_dump("second", b, blen);
            abort();
        }
    }
}


/* chunks made records (see above); the records' length */

static size_t
fuzz_records(const uint8_t *data, size_t size, u_char *out)
{
    u_char    *p;
    size_t     len;
    uint32_t   rsize, crc, type, zero;
    uint64_t   change;

    p = out;

    while (size >= 4) {
        type = data[0] % (NGX_HTTP_RUNS_J_TYPES + 1);
        change = data[1];
        len = data[2] | (data[3] << 8);
        data += 4;
        size -= 4;

        len = ngx_min(len, size);

        rsize = (uint32_t) (NGX_HTTP_RUNS_J_RECORD + len);
        zero = 0;

        ngx_memcpy(p, &rsize, 4);
        ngx_memcpy(p + 8, &change, 8);
        ngx_memcpy(p + 16, &type, 4);
        ngx_memcpy(p + 20, &zero, 4);
        ngx_memcpy(p + NGX_HTTP_RUNS_J_RECORD, data, len);

        crc = ngx_http_runs_crc32(p + 8, rsize - 8);
        ngx_memcpy(p + 4, &crc, 4);

        p += rsize;
        data += len;
        size -= len;
    }

    return p - out;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char                *image, *snap[2];
    size_t                 valid, len[2], keys;
    ngx_int_t              rc;
    ngx_str_t              im;
    ngx_http_runs_zone_t   zone[2];

    if (size == 0) {
        return 0;
    }

    fuzz_zone(&zone[0], 0);

    /* chunks grow by their record headers: 24 bytes for each 4 */
    image = malloc(NGX_HTTP_RUNS_J_HEADER + 6 * size);
    if (image == NULL) {
        abort();
    }

    ngx_http_runs_store_journal_header(&zone[0], image);

    /* the keys */
    keys = ngx_min(size - 1, FUZZ_KEYS);
    ngx_memcpy(image + 16, data + 1, keys);

    im.data = image;
    im.len = NGX_HTTP_RUNS_J_HEADER;

    if (data[0] & 1) {
        im.len += fuzz_records(data + 1 + keys, size - 1 - keys,
                               image + NGX_HTTP_RUNS_J_HEADER);

    } else {
        ngx_memcpy(image + NGX_HTTP_RUNS_J_HEADER, data + 1 + keys,
                   size - 1 - keys);
        im.len += size - 1 - keys;
    }

    valid = 0;

    rc = ngx_http_runs_store_replay(&zone[0], &im, 1, &fuzz_log, &valid);

    if (rc != NGX_OK) {
        if (rc != NGX_ERROR && rc != NGX_DECLINED) {
            abort();
        }

        free(image);
        return 0;
    }

    if (valid > im.len) {
        fprintf(stderr, "journal_fuzz: DISAGREEMENT: %zu bytes kept of "
                "%zu\n", valid, im.len);
        abort();
    }

    free(image);

    snap[0] = fuzz_snap[0];
    snap[1] = fuzz_snap[1];

    len[0] = fuzz_snapshot(&zone[0], snap[0]);

    fuzz_zone(&zone[1], 1);

    im.data = snap[0];
    im.len = len[0];
    valid = 0;

    rc = ngx_http_runs_store_replay(&zone[1], &im, 1, &fuzz_log, &valid);

    if (rc != NGX_OK || valid != len[0]) {
        fprintf(stderr, "journal_fuzz: DISAGREEMENT: a snapshot read back: "
                "%d, %zu bytes kept of %zu\n", (int) rc, valid, len[0]);
        abort();
    }

    len[1] = fuzz_snapshot(&zone[1], snap[1]);

    fuzz_same(snap[0], len[0], snap[1], len[1]);

    return 0;
}
