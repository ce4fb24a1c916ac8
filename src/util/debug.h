/*
 * util/debug.h: executable invariants.
 *
 * The "Requires:" lines of kairo's protocols (task state transitions, queue
 * protocols, caches, wait lists) and the public contracts a user can break
 * (a join handle dropped twice, a primitive freed while futures wait on it)
 * are checked with KR__REQUIRE in the debug build (cmake -DKR_DEBUG=ON,
 * part of `make check`). A failed check prints what was required, where,
 * and the values involved, then aborts. Release builds compile every check
 * away: the condition is not evaluated, so it may be as costly as it likes
 * but must have no side effects.
 */
#ifndef KR_UTIL_DEBUG_H
#define KR_UTIL_DEBUG_H

#if defined(KR_DEBUG) && KR_DEBUG
#include <stdio.h>
#include <stdlib.h>

/* Prints "kairo: FILE:LINE: FUNC: requirement failed: COND: MESSAGE" and
 * aborts. The message is a printf format with its arguments. */
#define KR__REQUIRE(cond, ...)                                                 \
    do {                                                                       \
        if (__builtin_expect(!(cond), 0)) {                                    \
            fprintf(stderr,                                                    \
                    "kairo: %s:%d: %s: requirement failed: %s: ", __FILE__,    \
                    __LINE__, __func__, #cond);                                \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            abort();                                                           \
        }                                                                      \
    } while (0)
#define KR__DEBUG_ONLY(...) __VA_ARGS__
#else
/* sizeof keeps the condition type-checked without evaluating it. */
#define KR__REQUIRE(cond, ...) ((void)sizeof(!(cond)))
#define KR__DEBUG_ONLY(...)
#endif

#endif /* KR_UTIL_DEBUG_H */
