/*
 * table.c: human-readable output: aligned tables, "key: value" blocks,
 * text made safe for a terminal and cut to a column width.
 */

#ifndef RUNSCTL_TABLE_H
#define RUNSCTL_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* the len bytes of UTF-8 at s, safe for a terminal, in a string to free():
   control characters (C0, DEL, C1) are shown as \xNN, except tab and
   carriage return (a space) and newline (kept); a byte that starts no
   valid UTF-8 sequence (common/utf8.h: overlong forms and surrogates
   among them) is shown as U+FFFD; with oneline, every run of white space
   is one space and there is none at either end.  NULL (reported) when out
   of memory */
char *text_clean(const char *s, size_t len, int oneline);

/* terminal columns the UTF-8 text s takes */
size_t text_width(const char *s);

/* a JSON value as text to free(): strings cleaned (newlines kept), null
   "-", numbers, true/false, anything else compact JSON; NULL (reported)
   when out of memory */
char *text_of_json(const json_t *v);

/* the text of obj[key] for a table cell (text_of_json), "-" when obj has
   no such member; NULL (reported) when out of memory */
char *text_of_member(const json_t *obj, const char *key);

struct table;

/* a table of ncols columns; maxw[i] > 0 cuts column i to that many
   terminal columns (with "..."); maxw may be NULL.  NULL (reported) when
   out of memory */
struct table *table_new(size_t ncols, const char *const *headers,
                        const size_t *maxw);

/* one row of ncols raw UTF-8 cells, copied, cleaned to one line and cut;
   RC_OK or RC_FAIL (reported) */
int table_add(struct table *t, const char *const *cells);

/* the same with cells made for it (ncols strings to free(), NULL where
   making one failed, already reported): all freed; RC_FAIL when one is
   NULL or the row cannot be added */
int table_add_owned(struct table *t, char **cells);

/* the table on stdout, columns aligned; RC_OK or RC_FAIL (reported) */
int table_print(const struct table *t);

void table_free(struct table *t);

/* makes the ncols cells of the row showing item (strings to free(), NULL
   where making one failed, already reported); arg: the caller's */
typedef void table_row_fn(char **cells, size_t ncols, const json_t *item,
                          const void *arg);

/* the JSON array list as a table on stdout (table_new()'s columns), a row
   per item made by row; RC_OK or RC_FAIL (reported) */
int table_print_list(const json_t *list, size_t ncols,
                     const char *const *headers, const size_t *maxw,
                     table_row_fn *row, const void *arg);

/* a table_row_fn: cell c the text_of_member() of item and keys[c] (arg:
   the keys, ncols of them) */
void table_row_keys(char **cells, size_t ncols, const json_t *item,
                    const void *keys);

/* "key: value" lines on stdout, values aligned, the continuation lines of
   multi-line values indented; vals are cleaned text (text_of_json);
   RC_OK or RC_FAIL (reported) */
int kv_print(const char *const *keys, const char *const *vals, size_t n);
/* the same, to fp */
int kv_print_to(FILE *fp, const char *const *keys, const char *const *vals,
                size_t n);

/* the members of the JSON object obj as "key: value" lines on fp
   (text_of_json values): the keys of order that obj has first, then its
   other members in its own order, last (NULL: none) at the end; RC_OK or
   RC_FAIL (reported) */
int kv_print_object(FILE *fp, const json_t *obj, const char *const *order,
                    size_t norder, const char *last);

#endif
