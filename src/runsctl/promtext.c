/*
 * promtext.c: the Prometheus text format (version 0.0.4) read line by
 * line.  The text is copied once; names and unescaped label values are
 * cut out of the copy in place (a value never grows when unescaped), so
 * a sample's strings point into it.
 */

#include "runsctl/promtext.h"

#include "common/utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUOTE_MAX 40            /* bytes of the text quoted in an error */

struct parser {
    struct prom_text *out;
    size_t            line;
    size_t            cap_samples;
    size_t            cap_labels;
    char             *err;
};

/* "line N: <fmt>" in the parser's err; PROM_SYNTAX */
static int
fail(struct parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct parser *ps, const char *fmt, ...)
{
    va_list ap;
    int     n;

    n = snprintf(ps->err, PROM_ERROR_MAX, "line %zu: ", ps->line);
    if (n < 0 || n >= PROM_ERROR_MAX) {
        return PROM_SYNTAX;
    }
    va_start(ap, fmt);
    vsnprintf(ps->err + n, PROM_ERROR_MAX - (size_t) n, fmt, ap);
    va_end(ap);
    return PROM_SYNTAX;
}

/* s (up to its NUL, at most QUOTE_MAX bytes) in q for a message:
   printable ASCII as it is, anything else as \xNN, "..." when cut */
static const char *
quote(char q[QUOTE_MAX * 4 + 4], const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    char                *o = q;
    size_t               i;

    for (i = 0; p[i] != '\0' && i < QUOTE_MAX; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f) {
            *o++ = (char) p[i];
        } else {
            o += sprintf(o, "\\x%02x", p[i]);
        }
    }
    strcpy(o, p[i] != '\0' ? "..." : "");
    return q;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char *
skip_blanks(char *s)
{
    while (is_blank(*s)) {
        s++;
    }
    return s;
}

static int
is_name_start(char c, int metric)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
           || (metric && c == ':');
}

static int
is_name_char(char c, int metric)
{
    return is_name_start(c, metric) || (c >= '0' && c <= '9');
}

static int
add_sample(struct parser *ps, const struct prom_sample *s)
{
    struct prom_text *t = ps->out;

    if (t->nsamples == ps->cap_samples) {
        size_t              cap = ps->cap_samples ? ps->cap_samples * 2 : 64;
        struct prom_sample *n = realloc(t->samples, cap * sizeof(*n));

        if (n == NULL) {
            return PROM_NO_MEMORY;
        }
        t->samples = n;
        ps->cap_samples = cap;
    }
    t->samples[t->nsamples++] = *s;
    return PROM_OK;
}

/* a label of the sample whose labels begin at index first */
static int
add_label(struct parser *ps, size_t first, const char *name,
          const char *value)
{
    struct prom_text *t = ps->out;

    for (size_t i = first; i < t->nlabels; i++) {
        if (strcmp(t->labels[i].name, name) == 0) {
            return fail(ps, "the label '%s' is given twice", name);
        }
    }
    if (t->nlabels == ps->cap_labels) {
        size_t             cap = ps->cap_labels ? ps->cap_labels * 2 : 128;
        struct prom_label *n = realloc(t->labels, cap * sizeof(*n));

        if (n == NULL) {
            return PROM_NO_MEMORY;
        }
        t->labels = n;
        ps->cap_labels = cap;
    }
    t->labels[t->nlabels].name = name;
    t->labels[t->nlabels++].value = value;
    return PROM_OK;
}

/* the quoted value at *sp (just after its opening '"'), unescaped in
   place and ended with a NUL; *sp is left after its closing '"' */
static int
label_value(struct parser *ps, char **sp, const char *label)
{
    char *s = *sp, *w = *sp;
    char  q[QUOTE_MAX * 4 + 4];

    for (;;) {
        if (*s == '\0') {
            return fail(ps, "the value of the label '%s' has no closing "
                        "'\"'", label);
        }
        if (*s == '"') {
            break;
        }
        if (*s != '\\') {
            *w++ = *s++;
            continue;
        }
        s++;
        if (*s == '\\' || *s == '"') {
            *w++ = *s++;
        } else if (*s == 'n') {
            *w++ = '\n';
            s++;
        } else {
            char c[2] = { *s, '\0' };

            return fail(ps, "'\\%s' in the value of the label '%s' is not "
                        "an escape (\\\\, \\\" or \\n)", quote(q, c), label);
        }
    }
    *w = '\0';
    if (utf8_valid_prefix(*sp, (size_t) (w - *sp)) != (size_t) (w - *sp)) {
        return fail(ps, "the value of the label '%s' is not UTF-8", label);
    }
    *sp = s + 1;
    return PROM_OK;
}

/* one label="value" at *sp (blanks skipped), added to the sample whose
   labels begin at first; *sp is left after the value's closing '"' */
static int
one_label(struct parser *ps, char **sp, size_t first)
{
    char *s = *sp, *name, *end, *value;
    char  q[QUOTE_MAX * 4 + 4];
    int   rc;

    name = s;
    while (is_name_char(*s, 0)) {
        s++;
    }
    end = s;
    s = skip_blanks(s);
    if (*s != '=') {
        return fail(ps, "'%s' where '=' was expected after the label name "
                    "'%.*s'", quote(q, s), (int) (end - name), name);
    }
    *end = '\0';                        /* may be the '=' itself */
    s = skip_blanks(s + 1);
    if (*s != '"') {
        return fail(ps, "'%s' where the '\"' opening the value of the "
                    "label '%s' was expected", quote(q, s), name);
    }
    value = ++s;
    rc = label_value(ps, &s, name);
    if (rc == PROM_OK) {
        rc = add_label(ps, first, name, value);
    }
    *sp = s;
    return rc;
}

/* the labels at *sp (just after the '{'), up to and past the '}' */
static int
labels(struct parser *ps, char **sp, struct prom_sample *smp)
{
    char   *s = *sp;
    char    q[QUOTE_MAX * 4 + 4];
    size_t  first = ps->out->nlabels;
    int     rc;

    for (;;) {
        s = skip_blanks(s);
        if (*s == '}') {
            break;
        }
        if (!is_name_start(*s, 0)) {
            return fail(ps, "'%s' where a label name or '}' was expected",
                        quote(q, s));
        }
        rc = one_label(ps, &s, first);
        if (rc != PROM_OK) {
            return rc;
        }
        s = skip_blanks(s);
        if (*s == '}') {
            break;
        }
        if (*s != ',') {
            return fail(ps, "'%s' after the value of the label '%s', where "
                        "',' or '}' was expected", quote(q, s),
                        ps->out->labels[ps->out->nlabels - 1].name);
        }
        s++;
    }
    smp->nlabels = ps->out->nlabels - first;
    *sp = s + 1;
    return PROM_OK;
}

/* the blank-ended token at *sp, NUL-ended in place; *sp after it */
static char *
token(char **sp)
{
    char *s = *sp, *tok = s;

    while (*s != '\0' && !is_blank(*s)) {
        s++;
    }
    if (*s != '\0') {
        *s++ = '\0';
    }
    *sp = s;
    return tok;
}

/* the value and the optional timestamp at s, after the name and labels */
static int
value_and_time(struct parser *ps, char *s, struct prom_sample *smp)
{
    char *tok, *end;
    char  q[QUOTE_MAX * 4 + 4];

    s = skip_blanks(s);
    if (*s == '\0') {
        return fail(ps, "no value after '%s'", smp->name);
    }
    tok = token(&s);
    errno = 0;
    smp->value = strtod(tok, &end);
    if (end == tok || *end != '\0'
        || (errno == ERANGE && (smp->value > 1 || smp->value < -1)))
    {
        return fail(ps, "the value '%s' of '%s' is not a number",
                    quote(q, tok), smp->name);
    }
    s = skip_blanks(s);
    if (*s == '\0') {
        return PROM_OK;
    }
    tok = token(&s);
    errno = 0;
    smp->timestamp = strtoll(tok, &end, 10);
    if (end == tok || *end != '\0' || errno == ERANGE) {
        return fail(ps, "the timestamp '%s' of '%s' is not a whole number "
                    "of milliseconds", quote(q, tok), smp->name);
    }
    smp->has_timestamp = 1;
    s = skip_blanks(s);
    if (*s != '\0') {
        return fail(ps, "'%s' after the timestamp of '%s'", quote(q, s),
                    smp->name);
    }
    return PROM_OK;
}

/* one line (NUL-ended, no newline) */
static int
one_line(struct parser *ps, char *s)
{
    struct prom_sample smp;
    char               q[QUOTE_MAX * 4 + 4];
    char              *name, *end, c;
    int                rc;

    s = skip_blanks(s);
    if (*s == '\0' || *s == '#') {
        return PROM_OK;
    }
    memset(&smp, 0, sizeof(smp));
    smp.line = ps->line;
    if (!is_name_start(*s, 1)) {
        return fail(ps, "'%s' where a metric name was expected",
                    quote(q, s));
    }
    name = s;
    while (is_name_char(*s, 1)) {
        s++;
    }
    end = s;
    if (*end != '\0' && *end != '{' && !is_blank(*end)) {
        return fail(ps, "'%s' after the metric name '%.*s', where '{', a "
                    "blank or the end of the line was expected", quote(q, s),
                    (int) (end - name), name);
    }
    s = skip_blanks(s);
    c = *s;
    *end = '\0';                        /* may be the '{' itself */
    smp.name = name;
    if (c == '\0') {
        return fail(ps, "no value after '%s'", name);
    }
    if (c == '{') {
        s++;
        rc = labels(ps, &s, &smp);
        if (rc != PROM_OK) {
            return rc;
        }
    }
    rc = value_and_time(ps, s, &smp);
    return rc != PROM_OK ? rc : add_sample(ps, &smp);
}

int
prom_parse(const char *data, size_t len, struct prom_text *out, char *err)
{
    struct parser  ps = { .out = out, .err = err };
    char          *line, *end, *nl;
    size_t         n, off = 0;
    int            rc = PROM_OK;

    memset(out, 0, sizeof(*out));
    err[0] = '\0';
    out->text = malloc(len + 1);
    if (out->text == NULL) {
        return PROM_NO_MEMORY;
    }
    if (len > 0) {
        memcpy(out->text, data, len);
    }
    out->text[len] = '\0';

    end = out->text + len;
    for (line = out->text; rc == PROM_OK && line < end; line += n + 1) {
        nl = memchr(line, '\n', (size_t) (end - line));
        n = nl != NULL ? (size_t) (nl - line) : (size_t) (end - line);
        ps.line++;
        line[n] = '\0';
        rc = memchr(line, '\0', n) != NULL ? fail(&ps, "a NUL byte")
                                           : one_line(&ps, line);
    }
    if (rc != PROM_OK) {
        prom_free(out);
        return rc;
    }
    /* each sample's labels follow the last one's */
    for (size_t i = 0; i < out->nsamples; i++) {
        out->samples[i].labels = out->labels ? out->labels + off : NULL;
        off += out->samples[i].nlabels;
    }
    return PROM_OK;
}

void
prom_free(struct prom_text *t)
{
    free(t->samples);
    free(t->labels);
    free(t->text);
    memset(t, 0, sizeof(*t));
}

const char *
prom_label(const struct prom_sample *s, const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++) {
        if (strcmp(s->labels[i].name, name) == 0) {
            return s->labels[i].value;
        }
    }
    return NULL;
}
