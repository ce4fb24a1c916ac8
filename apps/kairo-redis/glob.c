/*
 * glob.c: Redis's stringmatchlen, bounds-checked (see glob.h). The shape
 * follows Redis's loop so the two can be read side by side; each place
 * where Redis reads the NUL after its buffer (pattern[1] at the last byte,
 * *pattern at the end) checks the length first instead, which gives the
 * same answer because that NUL is never '*', '\\' or ']'.
 */
#include "glob.h"

/* Redis's protection against abusive patterns: deeper than this, no match. */
#define GLOB_MAX_NESTING 1000

/* tolower() in the C locale as glibc answers it, also for the negative
 * values a signed char gives it (its table maps -128..-1 to 128..255). */
static int fold(int c, bool nocase) {
    if (!nocase)
        return c;
    if (c < 0)
        return c + 256;
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* A byte as Redis takes it: a plain char, signed where Redis runs, so
 * that ranges over bytes >= 0x80 compare as Redis's do. */

static int as_char(unsigned char b) { return b < 0x80 ? b : (int)b - 256; }

static bool match_impl(const unsigned char *p, size_t plen,
                       const unsigned char *s, size_t slen, bool nocase,
                       bool *skip_longer, int nesting) {
    if (nesting > GLOB_MAX_NESTING)
        return false;
    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') {
                p++;
                plen--;
            }
            if (plen == 1)
                return true;
            while (slen) {
                if (match_impl(p + 1, plen - 1, s, slen, nocase, skip_longer,
                               nesting + 1))
                    return true;
                if (*skip_longer)
                    return false;
                s++;
                slen--;
            }
            /* Nothing after this star matched anywhere in the rest of the
             * string: an earlier star taking more cannot help either. */
            *skip_longer = true;
            return false;
        case '?':
            s++;
            slen--;
            break;
        case '[': {
            bool negate, match = false;
            p++;
            plen--;
            negate = plen && p[0] == '^';
            if (negate) {
                p++;
                plen--;
            }
            for (;;) {
                if (plen == 0) {
                    /* Unterminated class: step back so the common
                     * advance below lands on the end. */
                    p--;
                    plen++;
                    break;
                } else if (p[0] == '\\' && plen >= 2) {
                    p++;
                    plen--;
                    if (p[0] == s[0])
                        match = true;
                } else if (p[0] == ']') {
                    break;
                } else if (plen >= 3 && p[1] == '-') {
                    int lo = as_char(p[0]), hi = as_char(p[2]);
                    int c = as_char(s[0]);
                    if (lo > hi) {
                        int t = lo;
                        lo = hi;
                        hi = t;
                    }
                    lo = fold(lo, nocase);
                    hi = fold(hi, nocase);
                    c = fold(c, nocase);
                    p += 2;
                    plen -= 2;
                    if (c >= lo && c <= hi)
                        match = true;
                } else if (fold(p[0], nocase) == fold(s[0], nocase)) {
                    match = true;
                }
                p++;
                plen--;
            }
            if (negate)
                match = !match;
            if (!match)
                return false;
            s++;
            slen--;
            break;
        }
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (fold(p[0], nocase) != fold(s[0], nocase))
                return false;
            s++;
            slen--;
            break;
        }
        p++;
        plen--;
        if (slen == 0) {
            while (plen && *p == '*') {
                p++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

bool rd_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                   bool nocase) {
    bool skip_longer = false;
    return match_impl((const unsigned char *)pat, plen,
                      (const unsigned char *)s, slen, nocase, &skip_longer, 0);
}
