
/*
 * Ids, keys and times of the store: run and launcher ids (a keyed
 * permutation of a counter), session ids (UUIDs made of keyed hashes of
 * a counter), the keyed hash of names, and the clock records are stamped
 * with.  Functions of the zone's keys and of their arguments only: they
 * find nothing in the zone and change nothing but the stamp.
 */


#include "ngx_http_runs_zone.h"


static uint64_t ngx_http_runs_mix(uint64_t x);


/* SipHash-2-4 of a session name, keyed per zone */

#define ngx_http_runs_rotl(x, b)  (((x) << (b)) | ((x) >> (64 - (b))))

#define ngx_http_runs_sipround                                               \
    v0 += v1; v1 = ngx_http_runs_rotl(v1, 13); v1 ^= v0;                     \
    v0 = ngx_http_runs_rotl(v0, 32);                                         \
    v2 += v3; v3 = ngx_http_runs_rotl(v3, 16); v3 ^= v2;                     \
    v0 += v3; v3 = ngx_http_runs_rotl(v3, 21); v3 ^= v0;                     \
    v2 += v1; v1 = ngx_http_runs_rotl(v1, 17); v1 ^= v2;                     \
    v2 = ngx_http_runs_rotl(v2, 32)


int64_t
ngx_http_runs_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


/*
 * A time for a run's record (created, claimed, started, ended): each
 * worker's clock is its own cached time, a few ms behind another's at
 * times; a time given under the lock is not earlier than one given before
 * it, so the times agree with the order things happened in (the listings,
 * in creation order, are in time order; a session's latest change is
 * found without reading all its runs).  A clock set back by more than
 * NGX_HTTP_RUNS_CLOCK_STEP is taken as it is: holding the times up until
 * the clock caught up would hold up claim expiry and retention as long.
 */

int64_t
ngx_http_runs_stamp_locked(ngx_http_runs_shctx_t *sh, int64_t t)
{
    if (t < sh->stamped && sh->stamped - t <= NGX_HTTP_RUNS_CLOCK_STEP) {
        t = sh->stamped;
    }

    sh->stamped = t;

    return t;
}


ngx_int_t
ngx_http_runs_parse_id(ngx_str_t *s, const char *prefix, uint64_t *id)
{
    size_t      plen;
    u_char      c;
    uint64_t    v;
    ngx_uint_t  i;

    plen = ngx_strlen(prefix);

    if (s->len != plen + 12 || ngx_strncmp(s->data, prefix, plen) != 0) {
        return NGX_ERROR;
    }

    v = 0;

    for (i = plen; i < s->len; i++) {
        c = s->data[i];

        if (c >= '0' && c <= '9') {
            v = (v << 4) | (c - '0');

        } else if (c >= 'a' && c <= 'f') {
            v = (v << 4) | (c - 'a' + 10);

        } else {
            return NGX_ERROR;
        }
    }

    *id = v;

    return NGX_OK;
}


void
ngx_http_runs_make_id(u_char *dst, const char *prefix, size_t plen,
    uint64_t id)
{
    static u_char  hex[] = "0123456789abcdef";

    ngx_uint_t  i;

    ngx_memcpy(dst, prefix, plen);

    for (i = 0; i < 12; i++) {
        dst[plen + 11 - i] = hex[id & 0xf];
        id >>= 4;
    }
}


/*
 * Ids are a keyed permutation (a 4-round Feistel network on 48 bits) of a
 * counter: unique by construction, so no lookup is needed, and as hard to
 * guess as the key, which is random per zone.
 */

static uint64_t
ngx_http_runs_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;

    return x;
}


uint64_t
ngx_http_runs_permute_id(ngx_http_runs_shctx_t *sh, uint64_t n)
{
    uint64_t    l, r, f;
    ngx_uint_t  i;

    l = (n >> 24) & 0xffffff;
    r = n & 0xffffff;

    for (i = 0; i < 4; i++) {
        f = ngx_http_runs_mix(r ^ sh->id_key[i]) & 0xffffff;
        n = l ^ f;
        l = r;
        r = n;
    }

    return (l << 24) | r;
}


uint64_t
ngx_http_runs_siphash(ngx_http_runs_shctx_t *sh, u_char *name, size_t len)
{
    u_char      *p, *last;
    uint64_t     v0, v1, v2, v3, m, b;
    ngx_uint_t   i;

    v0 = 0x736f6d6570736575ULL ^ sh->name_key[0];
    v1 = 0x646f72616e646f6dULL ^ sh->name_key[1];
    v2 = 0x6c7967656e657261ULL ^ sh->name_key[0];
    v3 = 0x7465646279746573ULL ^ sh->name_key[1];

    last = name + (len & ~(size_t) 7);

    for (p = name; p < last; p += 8) {
        m = 0;

        for (i = 0; i < 8; i++) {
            m |= (uint64_t) p[i] << (8 * i);
        }

        v3 ^= m;
        ngx_http_runs_sipround;
        ngx_http_runs_sipround;
        v0 ^= m;
    }

    b = (uint64_t) len << 56;

    for (i = 0; i < (len & 7); i++) {
        b |= (uint64_t) p[i] << (8 * i);
    }

    v3 ^= b;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;
    v0 ^= b;

    v2 ^= 0xff;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;
    ngx_http_runs_sipround;

    return v0 ^ v1 ^ v2 ^ v3;
}


/*
 * A session's id is a UUID of version 4 whose 122 free bits are two
 * SipHashes, keyed per zone, of a session counter (prefixed with a 0 or a
 * 1 byte, which no session name starts with): as hard to guess as the key,
 * and checked unique in the zone.
 */

uint64_t
ngx_http_runs_sid_half(ngx_http_runs_shctx_t *sh, uint64_t seq,
    ngx_uint_t half)
{
    u_char      m[9];
    uint64_t    v;
    ngx_uint_t  i;

    m[0] = (u_char) half;

    for (i = 0; i < 8; i++) {
        m[i + 1] = (u_char) (seq >> (8 * i));
    }

    v = ngx_http_runs_siphash(sh, m, 9);

    /* version 4, variant 10 */

    return half ? (v & 0x3fffffffffffffffULL) | 0x8000000000000000ULL
                : (v & ~0xf000ULL) | 0x4000ULL;
}


/*
 * The record keeps the session's creation sequence number and the
 * second half of its id: the first half is made again from the first
 * when it is needed, so a listing can find its place again by number.
 */

void
ngx_http_runs_session_sid(ngx_http_runs_shctx_t *sh,
    ngx_http_runs_session_t *sess, uint64_t *sid)
{
    sid[0] = ngx_http_runs_sid_half(sh, sess->seq, 0);
    sid[1] = sess->sid1;
}


/* the second half of session "seq"'s id, as this zone's key makes it */

uint64_t
ngx_http_runs_session_sid1(ngx_http_runs_shctx_t *sh, uint64_t seq)
{
    return ngx_http_runs_sid_half(sh, seq, 1);
}


void
ngx_http_runs_format_sid(u_char *dst, uint64_t *sid)
{
    static u_char  hex[] = "0123456789abcdef";

    ngx_uint_t  i, k;
    uint64_t    v;

    k = 0;

    for (i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            dst[k++] = '-';
        }

        v = sid[i / 16];
        dst[k++] = hex[(v >> (60 - 4 * (i % 16))) & 0xf];
    }
}


ngx_int_t
ngx_http_runs_parse_sid(ngx_str_t *s, uint64_t *sid)
{
    u_char      c;
    ngx_uint_t  i, n;

    if (s->len != NGX_HTTP_RUNS_SESSION_ID_LEN) {
        return NGX_ERROR;
    }

    sid[0] = 0;
    sid[1] = 0;
    n = 0;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return NGX_ERROR;
            }

            continue;
        }

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else {
            c |= 0x20;

            if (c < 'a' || c > 'f') {
                return NGX_ERROR;
            }

            c = c - 'a' + 10;
        }

        sid[n / 16] = (sid[n / 16] << 4) | c;
        n++;
    }

    return NGX_OK;
}


/* the zone's keys, random, in a new zone */

void
ngx_http_runs_init_keys(ngx_http_runs_shctx_t *sh, ngx_log_t *log)
{
    ssize_t     n;

    uint64_t    key[6];
    ngx_fd_t    fd;
    ngx_uint_t  i;

    n = 0;

    fd = ngx_open_file("/dev/urandom", NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd != NGX_INVALID_FILE) {
        n = read(fd, key, sizeof(key));

        if (ngx_close_file(fd) == NGX_FILE_ERROR) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          ngx_close_file_n " \"/dev/urandom\" failed");
        }
    }

    if (n != (ssize_t) sizeof(key)) {
        ngx_log_error(NGX_LOG_WARN, log, ngx_errno,
                      "reading /dev/urandom failed: run ids and the session "
                      "table are keyed from the time and pid");

        for (i = 0; i < 6; i++) {
            key[i] = ngx_http_runs_mix((uint64_t) ngx_time() * 8 + i
                                       + ((uint64_t) ngx_pid << 32));
        }
    }

    ngx_memcpy(sh->id_key, key, sizeof(sh->id_key));
    ngx_memcpy(sh->name_key, key + 4, sizeof(sh->name_key));
}
