/*
 * glob.h: Redis's glob-style patterns (stringmatchlen in Redis's util.c),
 * for PSUBSCRIBE, PUBSUB CHANNELS, KEYS and SCAN MATCH.
 *
 *   *       any run of bytes (also none)     ?      any one byte
 *   [abc]   one of a, b, c                   [^ab]  any byte but a, b
 *   [a-z]   a range (either order)           \x     x itself
 *
 * Same results as Redis on every input, including its quirks: an
 * unterminated '[' class ends at the pattern's end, a trailing '\' is a
 * literal backslash, and a range's bounds swap when given backwards.
 * Unlike Redis's, this never reads past either buffer (Redis relies on the
 * NUL after an sds), so patterns and strings may hold any bytes.
 * Nesting is bounded (1000 levels of '*', as Redis), and a failed '*' stops
 * the outer stars from retrying (Redis's skipLongerMatches), so a
 * pattern of many stars is linear, not exponential.
 */
#ifndef KAIRO_REDIS_GLOB_H
#define KAIRO_REDIS_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Whether `s` (slen bytes) matches `pat` (plen bytes); nocase folds ASCII
 * case as Redis's tolower(). */
bool rd_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                   bool nocase);

#endif
