/*
 * words.c: reading the words of a prompt (see words.h).
 */

#include "words.h"

#include <stdlib.h>
#include <string.h>

#define COUNT_MAX 1e8               /* spew, bytes, lines */

/* "key=" at the start of the word w of length n: the value, else NULL */
static const char *
word_value(const char *w, size_t n, const char *key, size_t *vlen)
{
    size_t k = strlen(key);

    if (n > k && strncmp(w, key, k) == 0 && w[k] == '=') {
        *vlen = n - k - 1;
        return w + k + 1;
    }
    return NULL;
}

static bool
word_is(const char *w, size_t n, const char *name)
{
    return n == strlen(name) && strncmp(w, name, n) == 0;
}

static int
to_int(const char *v, size_t n, int dflt)
{
    char  buf[32];
    char *end;
    long  x;

    if (n == 0 || n >= sizeof(buf)) {
        return dflt;
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    x = strtol(buf, &end, 10);
    return *end == '\0' && x >= 0 && x <= 255 ? (int) x : dflt;
}

/* a number above 0 and below max, else 0 */
static double
to_double(const char *v, size_t n, double max)
{
    char   buf[32];
    char  *end;
    double x;

    if (n == 0 || n >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, v, n);
    buf[n] = '\0';
    x = strtod(buf, &end);
    return *end == '\0' && x > 0 && x < max ? x : 0;
}

/* one word; false when it is none of the flags (it may have a value) */
static bool
word_flag(const char *word, size_t n, struct words *w)
{
    if (word_is(word, n, "ignore-term")) {
        w->ignore_term = true;
    } else if (word_is(word, n, "crash")) {
        w->crash = true;
    } else if (word_is(word, n, "fail")) {
        w->fail = 1;
    } else if (word_is(word, n, "env")) {
        w->env = true;
    } else if (word_is(word, n, "bad-utf8")) {
        w->bad_utf8 = true;
    } else {
        return false;
    }
    return true;
}

static void
word_keyed(const char *word, size_t n, struct words *w)
{
    const char *v;
    size_t      vl;

    if ((v = word_value(word, n, "out", &vl)) != NULL) {
        w->out = v;
        w->out_len = vl;
    } else if ((v = word_value(word, n, "spew", &vl)) != NULL) {
        w->spew = (long) to_double(v, vl, COUNT_MAX);
    } else if ((v = word_value(word, n, "stderr", &vl)) != NULL) {
        w->err_text = v;
        w->err_len = vl;
    } else if ((v = word_value(word, n, "term-exit", &vl)) != NULL) {
        w->term_exit = to_int(v, vl, 0);
    } else if ((v = word_value(word, n, "sleep", &vl)) != NULL) {
        w->sleep_s = to_double(v, vl, 1e8);
    } else if ((v = word_value(word, n, "fail", &vl)) != NULL) {
        w->fail = to_int(v, vl, 1);
    } else if ((v = word_value(word, n, "lines", &vl)) != NULL) {
        w->lines = (long) to_double(v, vl, COUNT_MAX);
    } else if ((v = word_value(word, n, "over", &vl)) != NULL) {
        w->over_s = to_double(v, vl, 1e6);
    } else if ((v = word_value(word, n, "bytes", &vl)) != NULL) {
        if (vl == 1 && v[0] == '0') {
            w->bytes = 0;               /* an empty result */
        } else if (to_double(v, vl, COUNT_MAX) > 0) {
            w->bytes = (long) to_double(v, vl, COUNT_MAX);
        }
    }
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* the words of one line */
static void
line_words(const char *p, size_t len, struct words *w)
{
    size_t i = 0, s;

    while (i < len) {
        while (i < len && is_space(p[i])) {
            i++;
        }
        s = i;
        while (i < len && !is_space(p[i])) {
            i++;
        }
        if (i > s && !word_flag(p + s, i - s, w)) {
            word_keyed(p + s, i - s, w);
        }
    }
}

/* "sh: CMD": CMD (blanks around it and a final \r dropped) kept */
static bool
line_sh(const char *p, size_t len, struct words *w)
{
    size_t i = 0;

    while (i < len && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    if (len - i < 3 || memcmp(p + i, "sh:", 3) != 0) {
        return false;
    }
    i += 3;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    while (len > i && is_space(p[len - 1])) {
        len--;
    }
    if (len > i && w->nsh < WORDS_SH_MAX) {
        w->sh[w->nsh] = p + i;
        w->sh_len[w->nsh] = len - i;
        w->nsh++;
    }
    return true;
}

void
words_parse(const char *p, size_t len, struct words *w)
{
    const char *nl;
    size_t      n;

    memset(w, 0, sizeof(*w));
    w->term_exit = -1;
    w->fail = -1;
    w->bytes = -1;
    while (len > 0) {
        nl = memchr(p, '\n', len);
        n = nl ? (size_t) (nl - p) : len;
        if (!line_sh(p, n, w)) {
            line_words(p, n, w);
        }
        n += nl ? 1 : 0;
        p += n;
        len -= n;
    }
}
