/*
 * utf8.h: the one UTF-8 decoder of agent-runner and runsctl, strict as
 * RFC 3629 asks: no overlong form, no surrogate (U+D800..U+DFFF), nothing
 * above U+10FFFF, no sequence cut short.  U+0000 is valid here: callers
 * that cannot keep a NUL deal with it themselves.
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* U+FFFD, what stands for a byte that starts no valid sequence */
#define UTF8_REPLACEMENT     "\xef\xbf\xbd"
#define UTF8_REPLACEMENT_LEN 3

/*
 * the length (1 to 4) of the valid sequence at p, of the n > 0 bytes
 * there, and *cp (when cp is not NULL) its code point; 0 when none
 * starts at p (*cp untouched)
 */
size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/*
 * one character at p (n > 0 bytes there) for a caller that goes on
 * through bad bytes: utf8_decode()'s length and *cp, or 1 and *cp U+FFFD
 * for a byte that starts no valid sequence (cp must not be NULL)
 */
size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* how many of the len bytes at s are valid UTF-8 before the first byte
   that is not (len when all are) */
size_t utf8_valid_prefix(const char *s, size_t len);

/*
 * the len bytes at s copied to dst, every byte that starts no valid
 * sequence replaced by U+FFFD; dst has room for 3 * len bytes.  Returns
 * the bytes written (no NUL is added).
 */
size_t utf8_scrub(char *dst, const char *s, size_t len);

/*
 * how many of the last bytes of the len bytes at s (0 to 3) begin a
 * sequence that is cut short by the end: a stream read piece by piece
 * holds them back until the next piece, so a character split between two
 * reads is not taken for invalid bytes.  No valid sequence that starts
 * before them runs into them: s[0, len - result) scrubs as it would in
 * the whole stream.
 */
size_t utf8_incomplete_tail(const char *s, size_t len);

#endif
