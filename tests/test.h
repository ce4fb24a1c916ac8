/*
 * tests/test.h: what every test program shares.
 *
 * Tests use cmocka's assert_* macros, which survive NDEBUG and print both
 * values. Each program's main is KR_TEST_MAIN(tests): it runs the one case
 * named on the command line (ctest runs every case as its own process), or
 * all of them with no argument.
 *
 * The runtime under test comes from KR_TEST_FLAVOR (ct or mt), so one test
 * body covers both runtimes.
 */
#ifndef KR_TESTS_TEST_H
#define KR_TESTS_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "kairo.h"

#define KR_TEST_MAIN(tests)                                                    \
    int main(int argc, char **argv) {                                          \
        if (argc > 1)                                                          \
            cmocka_set_test_filter(argv[1]);                                   \
        return cmocka_run_group_tests(tests, NULL, NULL);                      \
    }

/* Asserts a kairo call returned `expected`, printing both codes' names. */
#define assert_rc(expr, expected)                                              \
    do {                                                                       \
        int kr_rc_ = (expr);                                                   \
        if (kr_rc_ != (expected)) {                                            \
            fail_msg("%s returned %d (%s), expected %d (%s)", #expr, kr_rc_,   \
                     kr_err_name(kr_rc_), (int)(expected),                     \
                     kr_err_name(expected));                                   \
        }                                                                      \
    } while (0)

/* The flavor from KR_TEST_FLAVOR: "mt" selects multi-thread. */
kr_runtime_flavor test_flavor(void);
/* A runtime of the test flavor (2 workers for mt unless workers != 0). */
kr_runtime *test_runtime(unsigned workers);
/* Shuts down, asserts no task is alive, frees. */
void test_runtime_free(kr_runtime *rt);
/* Scale factor for big counts: 1, or KR_TEST_SCALE (sanitizer builds use
 * the same counts; they are fast enough on 2 cores). */
long test_scale(long n);

/* A counting allocator: installs itself; test_alloc_live() is the number of
 * blocks allocated and not freed; test_alloc_fail_after(n) makes the n-th
 * allocation from now fail (-1: never). */
void test_alloc_install(void);
void test_alloc_uninstall(void);
long test_alloc_live(void);
void test_alloc_fail_after(long n);

/* A future that completes at once with a copy of `out_size` bytes. */

#endif
