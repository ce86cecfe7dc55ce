
/*
 * libFuzzer target for ngx_http_runs_json_read() (src/ngx_http_runs_json_in.c),
 * and the routing fields' readers of src/ngx_http_runs_demands.c,
 * differential against jansson.  Built and run by "./build.sh fuzz";
 * docs/FUZZING.md tells how and what was seen.
 *
 * Each input is one request body.  The reader runs on it as the module
 * runs it (empty_ok 0, an array of requested members, a pool of nginx's
 * own ngx_palloc.c), under ASan and UBSan.  Nothing of nginx is stood in
 * for: build.sh links nginx's core objects as nginx compiles them, and
 * --gc-sections keeps what the reader reaches.  jansson's json_loadb()
 * reads the same bytes first, as the oracle, with
 *
 *   JSON_DECODE_ANY   any top-level value, so that "well formed but not an
 *                     object" (our 422) is told apart from "malformed"
 *                     (our 400);
 *   JSON_ALLOW_NUL    "\u0000" in string values: RFC 8259 allows it and so
 *                     does the reader;
 *
 * and without JSON_REJECT_DUPLICATES: a repeated member, the last one
 * counts, in jansson as in the reader.
 *
 * What must hold:
 *
 *   jansson rejects                  -> the reader answers 400
 *   jansson reads a non-object       -> 422 "Request body must be ..."
 *   jansson reads an object          -> NGX_OK, and each requested member
 *                                       has jansson's type and, for a
 *                                       string, jansson's decoded bytes
 *                                       (requested: a fixed set of keys,
 *                                       and up to 32 more, the other keys
 *                                       jansson found in the object)
 *   a body of whitespace only        -> with empty_ok, NGX_OK, all absent
 *   a member that is an object       -> read again as "demands" are, with
 *                                       every member known: NGX_OK when
 *                                       jansson has only asked-for keys in
 *                                       it, else 422; each member as above
 *   a member that is an array        -> read as "tags" are: NGX_OK when it
 *                                       holds at most 64 strings that are
 *                                       names, and the names come back
 *                                       sorted, each once; else 422
 *
 * The known, legitimate disagreements are classified below, each where it
 * is handled (search for "CLASS"); any other disagreement calls abort(),
 * which libFuzzer reports as a crash with the input saved:
 *
 *   CLASS raw-nul     a raw 0x00 byte after a number or a literal: jansson
 *                     drops it (it ungets the byte and then mistakes it for
 *                     the end of its read-ahead buffer), so it takes
 *                     {"a":1<NUL>} for {"a":1}.  A raw NUL is never valid
 *                     JSON, so any input holding one must get 400.
 *   CLASS depth       jansson nests up to 2048 levels, the reader refuses
 *                     more than 64 (the top level counts): an input that
 *                     jansson reads with more than 64 levels gets 400
 *                     "nesting too deep".
 *   CLASS overflow    jansson refuses integers outside int64 ("too big
 *                     integer") and reals beyond DBL_MAX ("real number
 *                     overflow"); JSON has no such limit and the reader
 *                     only checks the syntax.  The number jansson stopped
 *                     at is replaced (in jansson's copy only) by 0 or 0.0,
 *                     its sign kept and spaces after it, which keeps the
 *                     structure and the type, and jansson reads the copy
 *                     again.
 *   CLASS nul-key     jansson refuses an object key holding U+0000 even
 *                     with JSON_ALLOW_NUL ("NUL byte in object key not
 *                     supported"); the reader takes it.  Each \u0000 of
 *                     that key becomes \u0001 in jansson's copy and jansson
 *                     reads it again: no fixed key holds either byte, and
 *                     no key of jansson's holding 0x01 is asked for then,
 *                     so the member stays one the caller did not ask for.
 *   CLASS escaped-name  a name in an array is taken as written: one spelled
 *                     with an escape ("\u0061") is refused even where
 *                     its decoded text is a name.  An array whose text
 *                     holds a backslash is only checked for a clean answer.
 */


#include "ngx_http_runs.h"

#include <jansson.h>
#include <ctype.h>
#include <errno.h>


#define FUZZ_MAX_DEPTH  64          /* NGX_HTTP_RUNS_JSON_DEPTH */

#define fuzz_check(cond, ...)                                                \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fuzz_fail(data, size, #cond, __VA_ARGS__);                       \
        }                                                                    \
    } while (0)


int LLVMFuzzerInitialize(int *argc, char ***argv);
static void fuzz_check_member_at(const uint8_t *data, size_t size,
    ngx_pool_t *pool, json_t *root, ngx_http_runs_field_t *f,
    ngx_uint_t depth);
static void fuzz_check_object(const uint8_t *data, size_t size,
    ngx_pool_t *pool, ngx_http_runs_field_t *f, json_t *obj);
static void fuzz_check_names(const uint8_t *data, size_t size,
    ngx_pool_t *pool, ngx_http_runs_field_t *f, json_t *arr);
static void fuzz_check_elements(const uint8_t *data, size_t size,
    ngx_pool_t *pool, ngx_str_t *body, json_t *root, ngx_uint_t patches,
    ngx_int_t obj_rc);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/*
 * the members always asked for: the API's own names, one-letter and empty
 * keys, and keys that a body may spell with escapes ("a\/b", "\u00e9",
 * "\ud83d\ude00"); none holds a 0x00 or 0x01 byte (CLASS nul-key)
 */
static const char  *fuzz_keys[] = {
    "type",
    "prompt",
    "session_name",
    "demands",
    "tags",
    "hostname",
    "project_dir",
    "executor_type",
    "a",
    "",
    "a/b",
    "\xc3\xa9",
    "\xf0\x9f\x98\x80"
};

#define FUZZ_NKEYS  (sizeof(fuzz_keys) / sizeof(fuzz_keys[0]))

/* and up to this many more: the other members jansson finds */
#define FUZZ_MORE_KEYS  32


static ngx_open_file_t  fuzz_log_file;
static ngx_log_t        fuzz_log;


/* does an integer's text (JSON grammar, no exponent) say n */

static int
fuzz_integer_is(ngx_str_t *text, json_int_t n)
{
    char       buf[32];
    long long  v;

    if (text->len >= sizeof(buf)) {
        return 1;       /* no leading zeros in JSON: beyond int64 */
    }

    ngx_memcpy(buf, text->data, text->len);
    buf[text->len] = '\0';

    /* "-0" is 0; beyond int64 is jansson's own limit (CLASS overflow) */
    errno = 0;
    v = strtoll(buf, NULL, 10);

    return errno == ERANGE || v == (long long) n;
}


static const char *
fuzz_type_name(ngx_uint_t type)
{
    static const char  *names[] = {
        "absent", "null", "string", "integer", "other"
    };

    return type < 5 ? names[type] : "?";
}


static void fuzz_fail(const uint8_t *data, size_t size, const char *cond,
    const char *fmt, ...) __attribute__((format(printf, 4, 5), noreturn));


static void
fuzz_fail(const uint8_t *data, size_t size, const char *cond,
    const char *fmt, ...)
{
    va_list  args;

    fprintf(stderr, "\njson_fuzz: DISAGREEMENT (%s): ", cond);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\njson_fuzz: input (%zu bytes): \"", size);

    for (size_t i = 0; i < size && i < 512; i++) {
        if (data[i] >= 0x20 && data[i] < 0x7f && data[i] != '"'
            && data[i] != '\\')
        {
            fputc(data[i], stderr);

        } else {
            fprintf(stderr, "\\x%02x", data[i]);
        }
    }

    fprintf(stderr, "%s\"\n", size > 512 ? "..." : "");
    abort();
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* what ngx_os_init() sets; the pools' limits depend on it */
    ngx_pagesize = getpagesize();

    /* ngx_log_error_core() writes here, should a pool allocation fail */
    fuzz_log_file.fd = ngx_stderr;
    fuzz_log.file = &fuzz_log_file;
    fuzz_log.log_level = NGX_LOG_ERR;

    return 0;
}


/* levels of containers in a value: 0 for a scalar, 1 for [] */

static ngx_uint_t
fuzz_depth(json_t *v)
{
    size_t       i;
    json_t      *m;
    const char  *k;
    ngx_uint_t   d, max;

    max = 0;

    if (json_is_object(v)) {
        json_object_foreach(v, k, m) {
            d = fuzz_depth(m);
            max = ngx_max(max, d);
        }

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, m) {
            d = fuzz_depth(m);
            max = ngx_max(max, d);
        }

    } else {
        return 0;
    }

    return max + 1;
}


#define fuzz_digit(c)  ((c) >= '0' && (c) <= '9')
#define fuzz_alpha(c)  (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')


/*
 * Where jansson's token that ends at pos starts.  Its lexer read every
 * token before that one without an error, so splitting the text the way
 * it does (whitespace, strings, numbers taken greedily, runs of letters,
 * single bytes) finds the same boundaries.  0 if no token ends at pos.
 */

static ngx_uint_t
fuzz_token_start(u_char *buf, size_t size, size_t pos, size_t *start)
{
    size_t  i, s;

    for (i = 0; i < size && i < pos; /* void */) {

        if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n'
            || buf[i] == '\r')
        {
            i++;
            continue;
        }

        s = i;

        if (buf[i] == '"') {
            for (i++; i < size && buf[i] != '"'; /* void */) {
                i += (buf[i] == '\\') ? 2 : 1;
            }

            i++;

        } else if (buf[i] == '-' || fuzz_digit(buf[i])) {
            if (buf[i] == '-') {
                i++;
            }

            if (i < size && buf[i] == '0') {
                i++;

            } else {
                while (i < size && fuzz_digit(buf[i])) {
                    i++;
                }
            }

            if (i + 1 < size && buf[i] == '.' && fuzz_digit(buf[i + 1])) {
                for (i += 2; i < size && fuzz_digit(buf[i]); i++) {
                    /* void */
                }
            }

            if (i < size && (buf[i] == 'e' || buf[i] == 'E')) {
                i++;

                if (i < size && (buf[i] == '+' || buf[i] == '-')) {
                    i++;
                }

                while (i < size && fuzz_digit(buf[i])) {
                    i++;
                }
            }

        } else if (fuzz_alpha(buf[i])) {
            while (i < size && fuzz_alpha(buf[i])) {
                i++;
            }

        } else {
            i++;
        }

        if (i == pos) {
            *start = s;
            return 1;
        }
    }

    return 0;
}


/*
 * CLASS overflow: jansson stopped right after the number (its position is
 * the byte after the number's last one); replace the number in jansson's
 * copy.  0 if no number ends there.
 */

static ngx_uint_t
fuzz_patch_number(u_char *buf, size_t size, size_t pos, ngx_uint_t real)
{
    size_t  start;

    if (!fuzz_token_start(buf, size, pos, &start)
        || !(buf[start] == '-' || fuzz_digit(buf[start])))
    {
        return 0;
    }

    /* the sign stays: "1-1e999" must not become one number, "10" */

    if (buf[start] == '-') {
        start++;
    }

    if (pos - start < (real ? 3 : 1)) {
        return 0;
    }

    ngx_memset(buf + start, ' ', pos - start);

    if (real) {
        ngx_memcpy(buf + start, "0.0", 3);

    } else {
        buf[start] = '0';
    }

    return 1;
}


/*
 * CLASS nul-key: jansson stopped right after the key's closing quote; each
 * \u0000 of the key becomes \u0001.  The number of escapes changed.
 */

static ngx_uint_t
fuzz_patch_key(u_char *buf, size_t size, size_t pos)
{
    size_t      i, start;
    ngx_uint_t  n;

    if (!fuzz_token_start(buf, size, pos, &start) || buf[start] != '"'
        || buf[pos - 1] != '"')
    {
        return 0;
    }

    n = 0;

    for (i = start + 1; i < pos - 1; /* void */) {
        if (buf[i] != '\\') {
            i++;
            continue;
        }

        if (buf[i + 1] == 'u' && i + 6 <= pos - 1
            && ngx_strncmp(buf + i + 2, "0000", 4) == 0)
        {
            buf[i + 5] = '1';
            n++;
            i += 6;
            continue;
        }

        i += 2;
    }

    return n;
}


/*
 * jansson's reading of the input, on a copy that CLASS overflow and
 * nul-key may patch; NULL if it rejects the input.  *nul_keys: keys patched.
 */

static json_t *
fuzz_oracle(const uint8_t *data, size_t size, u_char *copy,
    json_error_t *jerr, ngx_uint_t *patches, ngx_uint_t *nul_keys)
{
    size_t                pos;
    json_t               *root;
    enum json_error_code  code;

    ngx_memcpy(copy, data, size);

    for ( ;; ) {
        root = json_loadb((const char *) copy, size,
                          JSON_DECODE_ANY | JSON_ALLOW_NUL, jerr);
        if (root != NULL) {
            return root;
        }

        code = json_error_code(jerr);
        pos = jerr->position < 0 ? size + 1 : (size_t) jerr->position;

        if (code == json_error_numeric_overflow) {
            /* CLASS overflow */

            fuzz_check(fuzz_patch_number(copy, size, pos,
                           ngx_strncmp(jerr->text, "real", 4) == 0),
                       "jansson's overflow at %d not understood: %s",
                       jerr->position, jerr->text);
            (*patches)++;
            continue;
        }

        if (code == json_error_null_byte_in_key) {
            /* CLASS nul-key */

            fuzz_check(fuzz_patch_key(copy, size, pos) > 0,
                       "jansson's NUL key at %d not understood: %s",
                       jerr->position, jerr->text);
            (*patches)++;
            (*nul_keys)++;
            continue;
        }

        return NULL;
    }
}


/* an input of whitespace only, and one holding a raw 0x00 byte */

static void
fuzz_scan(const uint8_t *data, size_t size, ngx_uint_t *ws,
    ngx_uint_t *raw_nul)
{
    size_t  i;

    *ws = 1;
    *raw_nul = 0;

    for (i = 0; i < size; i++) {
        if (data[i] == '\0') {
            *raw_nul = 1;
        }

        if (data[i] != ' ' && data[i] != '\t' && data[i] != '\n'
            && data[i] != '\r')
        {
            *ws = 0;
        }
    }
}


/*
 * the members to ask the reader for: the fixed keys, then the others of
 * jansson's object (root, when it read one); how many
 */

static size_t
fuzz_fields(json_t *root, ngx_uint_t nul_keys, ngx_http_runs_field_t *fields)
{
    size_t       i, n;
    json_t      *v;
    const char  *key;

    for (n = 0; n < FUZZ_NKEYS; n++) {
        fields[n].key = fuzz_keys[n];
    }

    if (root != NULL && json_is_object(root)) {
        json_object_foreach(root, key, v) {
            if (n == FUZZ_NKEYS + FUZZ_MORE_KEYS) {
                break;
            }

            /* a key jansson read only once patched is not in the input */
            if (nul_keys && strchr(key, '\1') != NULL) {
                continue;
            }

            for (i = 0; i < FUZZ_NKEYS; i++) {
                if (strcmp(key, fuzz_keys[i]) == 0) {
                    break;
                }
            }

            if (i == FUZZ_NKEYS) {
                fields[n++].key = key;
            }
        }
    }

    return n;
}


/* nothing to read: 400, or NGX_OK and every member absent */

static void
fuzz_check_empty(const uint8_t *data, size_t size, ngx_pool_t *pool,
    ngx_str_t *body, ngx_http_runs_field_t *fields, size_t n, ngx_int_t rc,
    ngx_str_t *err)
{
    size_t  i;

    fuzz_check(rc == NGX_HTTP_BAD_REQUEST
               && ngx_strncmp(err->data, "Request body is required",
                              24) == 0,
               "empty body: %d \"%.*s\"", (int) rc, (int) err->len,
               err->data);

    rc = ngx_http_runs_json_read(pool, body, 1, fields, n, err);
    fuzz_check(rc == NGX_OK, "empty body with empty_ok: %d", (int) rc);

    for (i = 0; i < n; i++) {
        fuzz_check(fields[i].type == NGX_HTTP_RUNS_JSON_ABSENT,
                   "empty body: \"%s\" is %s", fields[i].key,
                   fuzz_type_name(fields[i].type));
    }
}


/*
 * the reader's answer against jansson's reading (root, NULL if it
 * rejected the input); 1 if both read an object, whose members are then
 * to be compared
 */

static ngx_uint_t
fuzz_check_answer(const uint8_t *data, size_t size, json_t *root,
    json_error_t *jerr, ngx_uint_t patches, ngx_uint_t raw_nul, ngx_int_t rc,
    ngx_str_t *err)
{
    ngx_uint_t  depth;

    if (rc == NGX_HTTP_BAD_REQUEST) {
        fuzz_check(ngx_strncmp(err->data, "Malformed JSON: ", 16) == 0,
                   "400 with \"%.*s\"", (int) err->len, err->data);
    }

    if (raw_nul) {
        /* CLASS raw-nul: jansson is no oracle here, RFC 8259 is */

        fuzz_check(rc == NGX_HTTP_BAD_REQUEST,
                   "raw NUL byte, and the reader answered %d", (int) rc);
        return 0;
    }

    if (root == NULL) {
        fuzz_check(rc == NGX_HTTP_BAD_REQUEST,
                   "jansson rejects (%s at %d), the reader answered %d",
                   jerr->text, jerr->position, (int) rc);
        return 0;
    }

    depth = fuzz_depth(root);

    if (depth > FUZZ_MAX_DEPTH) {
        /* CLASS depth */

        fuzz_check(rc == NGX_HTTP_BAD_REQUEST
                   && ngx_strlcasestrn(err->data, err->data + err->len,
                                       (u_char *) "nesting too deep",
                                       16 - 1) != NULL,
                   "%lu levels, the reader answered %d \"%.*s\"",
                   (unsigned long) depth, (int) rc, (int) err->len,
                   err->data);
        return 0;
    }

    if (!json_is_object(root)) {
        fuzz_check(rc == NGX_HTTP_UNPROCESSABLE_ENTITY
                   && err->len == sizeof("Request body must be a JSON object")
                                  - 1
                   && ngx_strncmp(err->data,
                                  "Request body must be a JSON object",
                                  err->len) == 0,
                   "jansson reads a non-object, the reader answered %d "
                   "\"%.*s\"", (int) rc, (int) err->len, err->data);
        return 0;
    }

    fuzz_check(rc == NGX_OK,
               "jansson reads an object (%lu patched), the reader answered "
               "%d \"%.*s\"", (unsigned long) patches, (int) rc,
               (int) err->len, err->data);

    return 1;
}


/* the reader's type of jansson's member v (NULL: absent) */

static ngx_uint_t
fuzz_json_type(json_t *v)
{
    if (v == NULL) {
        return NGX_HTTP_RUNS_JSON_ABSENT;
    }

    if (json_is_string(v)) {
        return NGX_HTTP_RUNS_JSON_STRING;
    }

    if (json_is_null(v)) {
        return NGX_HTTP_RUNS_JSON_NULL;
    }

    if (json_is_integer(v)) {
        return NGX_HTTP_RUNS_JSON_INTEGER;
    }

    /* true, false, real, object, array */
    return NGX_HTTP_RUNS_JSON_OTHER;
}


/* the text the reader gives for a member of jansson's value v and type */

static void
fuzz_check_value(const uint8_t *data, size_t size, ngx_http_runs_field_t *f,
    json_t *v, ngx_uint_t type)
{
    const char  *key = f->key;

    if (type == NGX_HTTP_RUNS_JSON_INTEGER) {
        /* an integer's text: the value jansson read, when it fits */
        fuzz_check(f->value.len > 0
                   && fuzz_integer_is(&f->value, json_integer_value(v)),
                   "\"%s\": the reader has the integer text \"%.*s\", "
                   "jansson %" JSON_INTEGER_FORMAT, key,
                   (int) f->value.len, f->value.data,
                   json_integer_value(v));

    } else if (json_is_array(v)) {
        /* an array's text, from its '[' to its ']' */
        fuzz_check(f->value.len >= 2
                   && f->value.data[0] == '['
                   && f->value.data[f->value.len - 1] == ']',
                   "\"%s\": the reader has no text for an array", key);

    } else if (json_is_object(v)) {
        /* an object's text, from its '{' to its '}' */
        fuzz_check(f->value.len >= 2
                   && f->value.data[0] == '{'
                   && f->value.data[f->value.len - 1] == '}',
                   "\"%s\": the reader has no text for an object", key);

    } else if (json_is_boolean(v)) {
        fuzz_check(f->value.len == (json_is_true(v) ? 4 : 5),
                   "\"%s\": the reader has \"%.*s\" for %s", key,
                   (int) f->value.len, f->value.data,
                   json_is_true(v) ? "true" : "false");

    } else if (type != NGX_HTTP_RUNS_JSON_STRING) {
        fuzz_check(f->value.len == 0 && f->value.data == NULL,
                   "\"%s\": a value for a non-string", key);

    } else {
        fuzz_check(f->value.data != NULL
                   && f->value.len == json_string_length(v)
                   && ngx_memcmp(f->value.data, json_string_value(v),
                                 f->value.len) == 0,
                   "\"%s\": the reader has \"%.*s\" (%zu bytes), "
                   "jansson \"%s\" (%zu bytes)", key,
                   (int) f->value.len, f->value.data,
                   f->value.len, json_string_value(v),
                   json_string_length(v));

        /* the reader's own promise: stored text is valid UTF-8 */
        fuzz_check(ngx_http_runs_utf8_check(f->value.data, f->value.len)
                   == NULL, "\"%s\": invalid UTF-8", key);
    }
}


/* what the handlers make of a member of the given type */

static void
fuzz_check_field_str(const uint8_t *data, size_t size, ngx_pool_t *pool,
    ngx_http_runs_field_t *f, ngx_uint_t type)
{
    ngx_int_t    erc;
    ngx_str_t    err, out;
    const char  *key = f->key;

    erc = ngx_http_runs_field_str(pool, f, 0, &out, &err);

    if (type == NGX_HTTP_RUNS_JSON_STRING) {
        fuzz_check(erc == NGX_OK && out.data == f->value.data
                   && out.len == f->value.len,
                   "field_str(\"%s\") of a string: %d", key, (int) erc);

    } else if (type <= NGX_HTTP_RUNS_JSON_NULL) {
        fuzz_check(erc == NGX_OK && out.data == NULL,
                   "field_str(\"%s\") of %s: %d", key,
                   fuzz_type_name(type), (int) erc);

    } else {
        fuzz_check(erc == NGX_HTTP_UNPROCESSABLE_ENTITY,
                   "field_str(\"%s\") of %s: %d", key,
                   fuzz_type_name(type), (int) erc);
    }
}


/* a member the reader gave against jansson's object root */

static void
fuzz_check_member(const uint8_t *data, size_t size, ngx_pool_t *pool,
    json_t *root, ngx_http_runs_field_t *f)
{
    fuzz_check_member_at(data, size, pool, root, f, 0);
}


/* ... at depth 0 (the body) or 1 (an object member read again) */

static void
fuzz_check_member_at(const uint8_t *data, size_t size, ngx_pool_t *pool,
    json_t *root, ngx_http_runs_field_t *f, ngx_uint_t depth)
{
    json_t      *v;
    ngx_uint_t   type;

    v = json_object_get(root, f->key);
    type = fuzz_json_type(v);

    fuzz_check(f->type == type,
               "\"%s\": the reader has %s, jansson %s", f->key,
               fuzz_type_name(f->type), fuzz_type_name(type));

    fuzz_check_value(data, size, f, v, type);
    fuzz_check_field_str(data, size, pool, f, type);

    if (json_is_object(v) && depth == 0) {
        fuzz_check_object(data, size, pool, f, v);

    } else if (json_is_array(v)) {
        fuzz_check_names(data, size, pool, f, v);
    }
}


/* an object member read again with every member known ("demands") */

static void
fuzz_check_object(const uint8_t *data, size_t size, ngx_pool_t *pool,
    ngx_http_runs_field_t *f, json_t *obj)
{
    size_t                  i, n;
    json_t                 *v;
    ngx_int_t               rc;
    ngx_str_t               err;
    ngx_uint_t              unknown;
    const char             *key;
    ngx_http_runs_field_t   inner[FUZZ_NKEYS];

    for (n = 0; n < FUZZ_NKEYS; n++) {
        inner[n].key = fuzz_keys[n];
    }

    unknown = 0;

    json_object_foreach(obj, key, v) {
        for (i = 0; i < FUZZ_NKEYS; i++) {
            if (strcmp(key, fuzz_keys[i]) == 0) {
                break;
            }
        }

        /* a key with U+0000 (CLASS nul-key: \1 in jansson's) is unknown */
        unknown += (i == FUZZ_NKEYS);
    }

    ngx_str_null(&err);

    rc = ngx_http_runs_json_read_known(pool, &f->value, f->key, inner, n,
                                       &err);

    fuzz_check(rc == (unknown ? NGX_HTTP_UNPROCESSABLE_ENTITY : NGX_OK),
               "\"%s\": the object read with known members only: %d, "
               "jansson has %zu unknown", f->key, (int) rc,
               (size_t) unknown);

    if (rc != NGX_OK) {
        fuzz_check(err.len > 0 && ngx_strnstr(err.data, "unknown member",
                                              err.len) != NULL,
                   "\"%s\": the error does not say unknown member: %.*s",
                   f->key, (int) err.len, err.data);
        return;
    }

    for (i = 0; i < n; i++) {
        fuzz_check_member_at(data, size, pool, obj, &inner[i], 1);
    }
}


/* a name, as the API takes it: 1-60 of ^[A-Za-z0-9][A-Za-z0-9_.-]*$ */

static int
fuzz_is_name(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len > 60) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!isalnum((unsigned char) s[i])
            && (i == 0 || (s[i] != '_' && s[i] != '.' && s[i] != '-')))
        {
            return 0;
        }
    }

    return 1;
}


static int
fuzz_strcmp(const void *a, const void *b)
{
    return strcmp(*(const char **) a, *(const char **) b);
}


/* an array member read as "tags" are: sorted names, each once */

static void
fuzz_check_names(const uint8_t *data, size_t size, ngx_pool_t *pool,
    ngx_http_runs_field_t *f, json_t *arr)
{
    u_char       *p;
    size_t        i, n, len;
    json_t       *v;
    ngx_int_t     rc;
    ngx_str_t     out, err;
    ngx_uint_t    ok;
    const char   *names[64];

    ngx_str_null(&err);

    rc = ngx_http_runs_field_names(pool, f, 64, 1, &out, &err);

    fuzz_check(rc == NGX_OK || rc == NGX_HTTP_UNPROCESSABLE_ENTITY,
               "\"%s\": names: %d", f->key, (int) rc);

    if (ngx_strlchr(f->value.data, f->value.data + f->value.len, '\\')) {
        return;                                 /* CLASS escaped-name */
    }

    n = json_array_size(arr);
    ok = (n <= 64);

    for (i = 0; ok && i < n; i++) {
        v = json_array_get(arr, i);
        ok = json_is_string(v)
             && fuzz_is_name(json_string_value(v), json_string_length(v));
        names[i] = ok ? json_string_value(v) : NULL;
    }

    fuzz_check(rc == (ok ? NGX_OK : NGX_HTTP_UNPROCESSABLE_ENTITY),
               "\"%s\": names: %d, jansson's array is %s", f->key, (int) rc,
               ok ? "of names" : "not of at most 64 names");

    if (!ok) {
        return;
    }

    qsort(names, n, sizeof(char *), fuzz_strcmp);

    p = out.data;
    len = 0;

    for (i = 0; i < n; i++) {
        if (i && strcmp(names[i - 1], names[i]) == 0) {
            continue;
        }

        fuzz_check(len + (len ? 1 : 0) + strlen(names[i]) <= out.len
                   && (len == 0 || p[len] == ',')
                   && ngx_strncmp(p + len + (len ? 1 : 0), names[i],
                                  strlen(names[i])) == 0,
                   "\"%s\": names \"%.*s\" lack \"%s\" in order", f->key,
                   (int) out.len, out.data, names[i]);

        len += (len ? 1 : 0) + strlen(names[i]);
    }

    fuzz_check(len == out.len, "\"%s\": names \"%.*s\": %zu bytes more",
               f->key, (int) out.len, out.data, out.len - len);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                  i, n;
    u_char                 *copy;
    json_t                 *root;
    ngx_int_t               rc;
    ngx_str_t               body, err;
    ngx_uint_t              ws, raw_nul, patches, nul_keys;
    ngx_pool_t             *pool;
    json_error_t            jerr;
    ngx_http_runs_field_t   fields[FUZZ_NKEYS + FUZZ_MORE_KEYS];

    fuzz_scan(data, size, &ws, &raw_nul);

    /* the oracle first: the members it finds are asked for too */

    root = NULL;
    patches = 0;
    nul_keys = 0;
    ngx_memzero(&jerr, sizeof(json_error_t));

    copy = malloc(size + 1);
    if (copy == NULL) {
        abort();
    }

    if (!ws && !raw_nul) {
        root = fuzz_oracle(data, size, copy, &jerr, &patches, &nul_keys);
    }

    n = fuzz_fields(root, nul_keys, fields);

    /*
     * the smallest pool nginx allows (request_pool_size's minimum): every
     * allocation over 32 bytes is then a malloc() of its own, so ASan sees
     * the bounds of each decoded string
     */
    pool = ngx_create_pool(NGX_MIN_POOL_SIZE, &fuzz_log);
    if (pool == NULL) {
        abort();
    }

    body.data = (u_char *) data;
    body.len = size;
    ngx_str_null(&err);

    rc = ngx_http_runs_json_read(pool, &body, 0, fields, n, &err);

    fuzz_check(rc == NGX_OK || rc == NGX_HTTP_BAD_REQUEST
               || rc == NGX_HTTP_UNPROCESSABLE_ENTITY,
               "unexpected return code %d", (int) rc);

    if (rc != NGX_OK) {
        fuzz_check(err.data != NULL && err.len > 0
                   && err.len <= NGX_MAX_ERROR_STR,
                   "no error text with %d", (int) rc);
    }

    if (ws) {
        fuzz_check_empty(data, size, pool, &body, fields, n, rc, &err);

    } else if (fuzz_check_answer(data, size, root, &jerr, patches, raw_nul,
                                 rc, &err))
    {
        for (i = 0; i < n; i++) {
            fuzz_check_member(data, size, pool, root, &fields[i]);
        }
    }

    fuzz_check_elements(data, size, pool, &body, root, patches, rc);

    ngx_destroy_pool(pool);
    json_decref(root);
    free(copy);

    return 0;
}


/*
 * The same text read as a JSON-RPC batch: malformed for the object
 * reader, malformed here; an array for jansson, its elements here, each
 * the same value
 */

static void
fuzz_check_elements(const uint8_t *data, size_t size, ngx_pool_t *pool,
    ngx_str_t *body, json_t *root, ngx_uint_t patches, ngx_int_t obj_rc)
{
    json_t       *v;
    ngx_str_t     err, *e;
    ngx_int_t     rc;
    ngx_uint_t    i;
    ngx_array_t   elems;

    if (ngx_array_init(&elems, pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
        abort();
    }

    ngx_str_null(&err);

    rc = ngx_http_runs_json_elements(pool, body, &elems, &err);

    fuzz_check(rc == NGX_OK || rc == NGX_HTTP_BAD_REQUEST,
               "elements: unexpected return code %d", (int) rc);

    if (obj_rc == NGX_HTTP_BAD_REQUEST) {
        fuzz_check(rc != NGX_OK, "elements: a malformed text was read as "
                   "an array of %d", (int) elems.nelts);
        return;
    }

    if (root == NULL || patches || !json_is_array(root)) {
        fuzz_check(rc != NGX_OK || (root == NULL || patches),
                   "elements: a JSON value that is not an array was read "
                   "as one");
        return;
    }

    fuzz_check(rc == NGX_OK && elems.nelts == json_array_size(root),
               "elements: %d, %d elements; jansson: an array of %d",
               (int) rc, (int) elems.nelts, (int) json_array_size(root));

    e = elems.elts;

    for (i = 0; i < elems.nelts; i++) {
        v = json_loadb((const char *) e[i].data, e[i].len,
                       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

        fuzz_check(v != NULL && json_equal(v, json_array_get(root, i)),
                   "elements: element %d \"%.*s\" is not jansson's",
                   (int) i, (int) e[i].len, e[i].data);

        json_decref(v);
    }
}
