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

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Runs fn in a forked child whose stderr goes through a pipe; asserts the
 * child died of SIGABRT and that its stderr contains `needle`. */
void test_expect_abort(void (*fn)(void), const char *needle);

/* In such a child: exits with a distinct code if a step before the
 * violation goes wrong (cmocka's asserts belong to the parent). */
#define TEST_CHILD_CHECK(cond)                                                 \
    do {                                                                       \
        if (!(cond))                                                           \
            _exit(3);                                                          \
    } while (0)

/* ---- futures and sync helpers shared by the tests (helpers.c) ---------- */

/*
 * A counter that futures can wait on, bumped from any thread: the C
 * equivalent of an atomic plus a waker slot. One waiter at a time (the slot
 * follows kr_waker_set). test_latch_destroy drops a stored waker; call it
 * before checking for leaks (a block_on waker pins its runtime's memory).
 */
typedef struct test_latch {
    pthread_mutex_t mu;
    long count;
    kr_waker waiter;
} test_latch;

void test_latch_init(test_latch *l);
void test_latch_destroy(test_latch *l);
void test_latch_add(test_latch *l, long n);
long test_latch_get(test_latch *l);

/* Completes once the latch reaches `target`. No output. */
typedef struct test_latch_wait {
    kr_future base;
    test_latch *l;
    long target;
} test_latch_wait;
test_latch_wait test_latch_wait_for(test_latch *l, long target);

/* A waker over counters: clone, wake, wake_by_ref and drop each bump
 * their own, so a test sees what a primitive did with the waker it got. */
typedef struct test_wcount {
    atomic_long clones, wakes, by_ref, drops;
} test_wcount;
kr_waker test_wcount_waker(test_wcount *c);

/* Counters a test future bumps (a future given NULL counts nothing). */
typedef struct test_counts {
    atomic_long polls;
    atomic_long drops;
} test_counts;

/* A future that never completes and never arranges a wake-up: it parks its
 * task forever. Counts polls and drops; bumps `started` on its first poll. */
typedef struct test_pending {
    kr_future base;
    test_counts *c;
    test_latch *started;
    int polled_;
} test_pending;
test_pending test_pending_make(test_counts *c, test_latch *started);

/* A future ready on its first poll with a uint64_t output. */
typedef struct test_value {
    kr_future base;
    uint64_t v;
    test_counts *c;
} test_value;
test_value test_value_make(uint64_t v, test_counts *c);

/*
 * The timer future of the study notes: its first poll starts a plain
 * pthread that sleeps `delay_ms`, sets `completed` and wakes the waker the
 * future stored (kr_waker_set under a mutex, replaced on each poll). Output:
 * an int, 1. Dropping it early cancels and joins the thread. Its mutex and
 * thread are made on the first poll, so it may be moved until then.
 */
typedef struct test_timer {
    kr_future base;
    int delay_ms;
    test_counts *c;
    /* Private; valid from the first poll. */
    int started_, joined_, completed_, cancel_;
    pthread_t thread_;
    pthread_mutex_t mu_;
    pthread_cond_t cv_;
    kr_waker waker_;
} test_timer;
test_timer test_timer_make(int delay_ms, test_counts *c);

/* Fills / checks `n` bytes with a pattern derived from `seed`. */
void test_pattern_fill(void *p, size_t n, unsigned seed);
bool test_pattern_check(const void *p, size_t n, unsigned seed);
bool test_all_zero(const void *p, size_t n);

/* Sleeps for `ms` milliseconds. */
void test_sleep_ms(int ms);

#endif
