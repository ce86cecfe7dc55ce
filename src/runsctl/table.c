/*
 * table.c: output for people.  Everything the server sends is shown
 * through text_clean(), so a prompt cannot move the cursor, change colours
 * or break the columns of a table.
 */

#include "runsctl/table.h"
#include "runsctl/runsctl.h"

#include "common/utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_GAP 2          /* spaces between columns */

struct table {
    size_t              ncols;
    const char *const  *headers;
    size_t             *maxw;
    char              **cells;      /* nrows * ncols, row-major */
    size_t              nrows;
    size_t              cap;        /* rows */
};

struct range {
    uint32_t lo, hi;
};

static int
in_ranges(uint32_t cp, const struct range *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (cp >= r[i].lo && cp <= r[i].hi) {
            return 1;
        }
    }
    return 0;
}

/* terminal columns of one code point: an approximation of wcwidth() that
   does not depend on the locale */
static size_t
cp_width(uint32_t cp)
{
    static const struct range zero[] = {
        { 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd },
        { 0x0610, 0x061a }, { 0x064b, 0x065f }, { 0x1ab0, 0x1aff },
        { 0x1dc0, 0x1dff }, { 0x200b, 0x200f }, { 0x20d0, 0x20ff },
        { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xe0100, 0xe01ef },
    };
    static const struct range wide[] = {
        { 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff },
        { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff }, { 0xa000, 0xa4cf },
        { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff }, { 0xfe30, 0xfe4f },
        { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
        { 0x1f680, 0x1f6ff }, { 0x1f900, 0x1f9ff }, { 0x20000, 0x2fffd },
        { 0x30000, 0x3fffd },
    };

    if (cp < 0x300) {
        return 1;
    }
    if (in_ranges(cp, zero, sizeof(zero) / sizeof(zero[0]))) {
        return 0;
    }
    if (in_ranges(cp, wide, sizeof(wide) / sizeof(wide[0]))) {
        return 2;
    }
    return 1;
}

size_t
text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               len = strlen(s), w = 0, n;
    uint32_t             cp;

    while (len > 0) {
        n = utf8_next(p, len, &cp);
        w += cp_width(cp);
        p += n;
        len -= n;
    }
    return w;
}

char *
text_clean(const char *s, size_t len, int oneline)
{
    const unsigned char *p = (const unsigned char *) s;
    char                *out, *o;
    size_t               i = 0, n;
    uint32_t             cp;

    /* at most 4 output bytes ("\xNN", or U+FFFD) per input byte */
    out = malloc(len * 4 + 1);
    if (out == NULL) {
        ctl_error("out of memory");
        return NULL;
    }
    o = out;
    while (i < len) {
        unsigned c = p[i];

        if (oneline && (c == '\n' || c == '\t' || c == '\r' || c == ' ')) {
            /* one space for a run of white space, none at either end */
            while (i < len && (p[i] == '\n' || p[i] == '\t' || p[i] == '\r'
                               || p[i] == ' '))
            {
                i++;
            }
            if (o != out && i < len) {
                *o++ = ' ';
            }
        } else if (c == '\n') {
            *o++ = '\n';
            i++;
        } else if (c == '\t' || c == '\r') {
            *o++ = ' ';
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            o += sprintf(o, "\\x%02x", c);
            i++;
        } else if (c < 0x80) {
            *o++ = (char) c;
            i++;
        } else if ((n = utf8_decode(p + i, len - i, &cp)) == 0) {
            /* not UTF-8 (an overlong form, a surrogate...): U+FFFD, as
               the runner shows an executor's bytes */
            memcpy(o, UTF8_REPLACEMENT, UTF8_REPLACEMENT_LEN);
            o += UTF8_REPLACEMENT_LEN;
            i++;
        } else if (cp <= 0x9f) {
            /* C1 controls, U+0080..U+009F (CSI among them) */
            o += sprintf(o, "\\x%02x", (unsigned) cp);
            i += n;
        } else {
            memcpy(o, p + i, n);
            o += n;
            i += n;
        }
    }
    *o = '\0';
    return out;
}

char *
text_of_json(const json_t *v)
{
    char *s = NULL;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return text_clean(json_string_value(v), json_string_length(v), 0);
    case JSON_NULL:
        s = strdup("-");
        break;
    case JSON_TRUE:
        s = strdup("true");
        break;
    case JSON_FALSE:
        s = strdup("false");
        break;
    case JSON_INTEGER:
        if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0) {
            s = NULL;
        }
        break;
    case JSON_REAL:
        if (asprintf(&s, "%g", json_real_value(v)) < 0) {
            s = NULL;
        }
        break;
    default:
        s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (s != NULL) {
            char *c = text_clean(s, strlen(s), 1);

            free(s);
            return c;
        }
        break;
    }
    if (s == NULL) {
        ctl_error("out of memory");
    }
    return s;
}

char *
text_of_member(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    char         *s;

    if (v != NULL) {
        return text_of_json(v);
    }
    s = strdup("-");
    if (s == NULL) {
        ctl_error("out of memory");
    }
    return s;
}

/* s cut to max columns, "..." marking the cut; a new string */
static char *
text_cut(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t               len = strlen(s), used = 0, w = 0, n, cw;
    uint32_t             cp;
    char                *out;

    if (max == 0 || text_width(s) <= max) {
        out = strdup(s);
    } else {
        size_t room = max > 3 ? max - 3 : 0;

        while (used < len) {
            n = utf8_next(p + used, len - used, &cp);
            cw = cp_width(cp);
            if (w + cw > room) {
                break;
            }
            w += cw;
            used += n;
        }
        out = malloc(used + 4);
        if (out != NULL) {
            memcpy(out, s, used);
            memcpy(out + used, "...", 4);
        }
    }
    if (out == NULL) {
        ctl_error("out of memory");
    }
    return out;
}

struct table *
table_new(size_t ncols, const char *const *headers, const size_t *maxw)
{
    struct table *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        ctl_error("out of memory");
        return NULL;
    }
    t->maxw = calloc(ncols, sizeof(size_t));
    if (t->maxw == NULL) {
        ctl_error("out of memory");
        free(t);
        return NULL;
    }
    if (maxw != NULL) {
        memcpy(t->maxw, maxw, ncols * sizeof(size_t));
    }
    t->ncols = ncols;
    t->headers = headers;
    return t;
}

void
table_free(struct table *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->nrows * t->ncols; i++) {
        free(t->cells[i]);
    }
    free(t->cells);
    free(t->maxw);
    free(t);
}

int
table_add_owned(struct table *t, char **cells)
{
    int  rc = RC_OK;

    for (size_t i = 0; i < t->ncols; i++) {
        if (cells[i] == NULL) {
            rc = RC_FAIL;
        }
    }
    if (rc == RC_OK) {
        rc = table_add(t, (const char *const *) cells);
    }
    for (size_t i = 0; i < t->ncols; i++) {
        free(cells[i]);
    }
    return rc;
}

int
table_add(struct table *t, const char *const *cells)
{
    char   **row;

    if (t->nrows == t->cap) {
        size_t   cap = t->cap ? t->cap * 2 : 16;
        char   **p = realloc(t->cells, cap * t->ncols * sizeof(char *));

        if (p == NULL) {
            ctl_error("out of memory");
            return RC_FAIL;
        }
        t->cells = p;
        t->cap = cap;
    }
    row = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        const char *raw = cells[i] ? cells[i] : "";
        char       *clean = text_clean(raw, strlen(raw), 1);

        row[i] = clean ? text_cut(clean, t->maxw[i]) : NULL;
        free(clean);
        if (row[i] == NULL) {
            for (size_t j = 0; j < i; j++) {
                free(row[j]);
            }
            return RC_FAIL;
        }
    }
    t->nrows++;
    return RC_OK;
}

int
table_print_list(const json_t *list, size_t ncols, const char *const *headers,
                 const size_t *maxw, table_row_fn *row, const void *arg)
{
    struct table  *t;
    char         **cells;
    size_t         i;
    json_t        *item;
    int            rc = RC_OK;

    t = table_new(ncols, headers, maxw);
    if (t == NULL) {
        return RC_FAIL;
    }
    cells = calloc(ncols, sizeof(char *));
    if (cells == NULL) {
        ctl_error("out of memory");
        table_free(t);
        return RC_FAIL;
    }
    json_array_foreach(list, i, item) {
        row(cells, ncols, item, arg);
        rc = table_add_owned(t, cells);
        if (rc != RC_OK) {
            break;
        }
    }
    if (rc == RC_OK) {
        rc = table_print(t);
    }
    free(cells);
    table_free(t);
    return rc;
}

void
table_row_keys(char **cells, size_t ncols, const json_t *item,
               const void *keys)
{
    const char *const *key = keys;

    for (size_t c = 0; c < ncols; c++) {
        cells[c] = text_of_member(item, key[c]);
    }
}

/* where kv_print_to() writes; NULL: stdout */
static FILE *out_fp;

static FILE *
out_file(void)
{
    return out_fp != NULL ? out_fp : stdout;
}

static int
out_str(const char *s)
{
    if (fputs(s, out_file()) == EOF) {
        ctl_error("cannot write the output");
        return RC_FAIL;
    }
    return RC_OK;
}

static int
out_pad(size_t n)
{
    while (n-- > 0) {
        if (fputc(' ', out_file()) == EOF) {
            ctl_error("cannot write the output");
            return RC_FAIL;
        }
    }
    return RC_OK;
}

static int
table_line(const struct table *t, const char *const *cells,
           const size_t *width)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (out_str(cells[i]) != RC_OK) {
            return RC_FAIL;
        }
        if (i + 1 < t->ncols
            && out_pad(width[i] - text_width(cells[i]) + TABLE_GAP) != RC_OK)
        {
            return RC_FAIL;
        }
    }
    return out_str("\n");
}

int
table_print(const struct table *t)
{
    size_t *width;
    int     rc = RC_OK;

    width = calloc(t->ncols, sizeof(size_t));
    if (width == NULL) {
        ctl_error("out of memory");
        return RC_FAIL;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        width[i] = text_width(t->headers[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t w = text_width(t->cells[r * t->ncols + i]);

            if (w > width[i]) {
                width[i] = w;
            }
        }
    }
    rc = table_line(t, t->headers, width);
    for (size_t r = 0; rc == RC_OK && r < t->nrows; r++) {
        rc = table_line(t, (const char *const *) t->cells + r * t->ncols,
                        width);
    }
    free(width);
    return rc;
}

int
kv_print_to(FILE *fp, const char *const *keys, const char *const *vals,
            size_t n)
{
    int rc;

    out_fp = fp;
    rc = kv_print(keys, vals, n);
    out_fp = NULL;
    return rc;
}

int
kv_print(const char *const *keys, const char *const *vals, size_t n)
{
    size_t keyw = 0;

    for (size_t i = 0; i < n; i++) {
        size_t w = strlen(keys[i]) + 1;

        if (w > keyw) {
            keyw = w;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = vals[i], *nl;

        if (out_str(keys[i]) != RC_OK || out_str(":") != RC_OK) {
            return RC_FAIL;
        }
        if (*v != '\0' && *v != '\n'
            && out_pad(keyw - strlen(keys[i])) != RC_OK)
        {
            return RC_FAIL;
        }
        /* continuation lines start under the first one */
        while ((nl = strchr(v, '\n')) != NULL) {
            size_t len = (size_t) (nl - v) + 1;

            if (fwrite(v, 1, len, out_file()) != len) {
                ctl_error("cannot write the output");
                return RC_FAIL;
            }
            v = nl + 1;
            if (*v != '\0' && *v != '\n' && out_pad(keyw + 1) != RC_OK) {
                return RC_FAIL;
            }
        }
        /* the last line, unless the value ended with its newline */
        if ((*v != '\0' || v == vals[i])
            && (out_str(v) != RC_OK || out_str("\n") != RC_OK))
        {
            return RC_FAIL;
        }
    }
    return RC_OK;
}

static int
in_list(const char *key, const char *const *list, size_t n, const char *last)
{
    if (last != NULL && strcmp(key, last) == 0) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], key) == 0) {
            return 1;
        }
    }
    return 0;
}

/* one member of obj into keys[*k], vals[*k]; RC_OK or RC_FAIL */
static int
kv_member(const json_t *obj, const char *key, const char **keys, char **vals,
          size_t *k)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL) {
        return RC_OK;
    }
    keys[*k] = key;
    vals[*k] = text_of_json(v);
    return vals[(*k)++] == NULL ? RC_FAIL : RC_OK;
}

int
kv_print_object(FILE *fp, const json_t *obj, const char *const *order,
                size_t norder, const char *last)
{
    size_t       n = json_object_size(obj) + 1, k = 0;
    const char **keys, *key;
    char       **vals;
    json_t      *v;
    int          rc = RC_FAIL;

    keys = calloc(n, sizeof(char *));
    vals = calloc(n, sizeof(char *));
    if (keys == NULL || vals == NULL) {
        ctl_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < norder; i++) {
        if (!in_list(order[i], order, i, last)
            && kv_member(obj, order[i], keys, vals, &k) != RC_OK)
        {
            goto done;
        }
    }
    json_object_foreach((json_t *) obj, key, v) {
        if (!in_list(key, order, norder, last)
            && kv_member(obj, key, keys, vals, &k) != RC_OK)
        {
            goto done;
        }
    }
    if (last != NULL && kv_member(obj, last, keys, vals, &k) != RC_OK) {
        goto done;
    }
    rc = kv_print_to(fp, keys, (const char *const *) vals, k);

done:
    if (vals != NULL) {
        for (size_t i = 0; i < k; i++) {
            free(vals[i]);
        }
    }
    free(vals);
    free(keys);
    return rc;
}
