/*
 * words.h: the words of a prompt that drive agent-executor-echo
 * (docs/EXECUTORS.md has the table).
 */
#ifndef ECHO_WORDS_H
#define ECHO_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#define WORDS_SH_MAX 16              /* sh: lines run, at most */

struct words {
    const char *out;                /* out=PATH */
    size_t      out_len;
    long        bytes;              /* bytes=N: the result; -1 none (the prompt) */
    bool        env;                /* env */
    long        spew;               /* spew=N */
    const char *err_text;           /* stderr=TEXT */
    size_t      err_len;
    bool        bad_utf8;           /* bad-utf8 */
    long        lines;              /* lines=N */
    double      over_s;             /* over=T */
    bool        ignore_term;
    int         term_exit;          /* -1: none */
    double      sleep_s;
    bool        crash;
    int         fail;               /* -1: none */
    const char *sh[WORDS_SH_MAX];   /* sh: CMD lines: each CMD, in order */
    size_t      sh_len[WORDS_SH_MAX];
    size_t      nsh;
};

/* the words of the len bytes at p; unknown words are ignored.  A line
   whose first non-blank characters are "sh:" holds no words: the rest of
   it is a shell command (the first WORDS_SH_MAX such lines are kept) */
void words_parse(const char *p, size_t len, struct words *w);

#endif
