/*
 * test-rdict.c: kairo-redis's hash table (rdict.h): random adds and
 * deletes against a presence array, and the SCAN guarantee (a full scan
 * returns every entry present throughout it) while the table grows and
 * shrinks between cursor calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdict.h"

#define N 5000

static int key(char *buf, int i) { return sprintf(buf, "k:%d", i); }

static void rdict_random_against_model(void **state) {
    (void)state;
    srand(4242);
    rdict d;
    rdict_init(&d);
    static bool in[N];
    memset(in, 0, sizeof(in));
    size_t count = 0;
    for (int round = 0; round < 50000; round++) {
        int i = rand() % N;
        char buf[32];
        int n = key(buf, i);
        if (rand() % 3 != 0) {
            bool existed;
            rdict_entry *e = rdict_add(&d, buf, (size_t)n, &existed);
            assert_non_null(e);
            assert_int_equal(existed, in[i]);
            if (!existed) {
                e->val = (void *)(intptr_t)(i + 1);
                in[i] = true;
                count++;
            }
            assert_int_equal((intptr_t)e->val, i + 1);
        } else {
            rdict_entry *e = rdict_unlink(&d, buf, (size_t)n);
            assert_int_equal(e != NULL, in[i]);
            if (e != NULL) {
                assert_int_equal((intptr_t)e->val, i + 1);
                free(e);
                in[i] = false;
                count--;
                rdict_shrink(&d);
            }
        }
        assert_int_equal(rdict_size(&d), count);
    }
    size_t seen = 0;
    rdict_iter it;
    rdict_iter_init(&it);
    for (rdict_entry *e; (e = rdict_next(&d, &it)) != NULL;) {
        int i = atoi(e->key + 2);
        assert_true(in[i]);
        seen++;
    }
    assert_int_equal(seen, count);
    rdict_clear(&d, NULL);
}

static void mark(void *arg, const rdict_entry *e) {
    ((int *)arg)[atoi(e->key + 2)]++;
}

static void rdict_scan_survives_resizes(void **state) {
    (void)state;
    rdict d;
    rdict_init(&d);
    char buf[32];
    for (int i = 0; i < 1000; i++) {
        bool ex;
        rdict_add(&d, buf, (size_t)key(buf, i), &ex);
    }
    static int seen[N];
    memset(seen, 0, sizeof(seen));
    size_t cursor = 0;
    int step = 0, next = 1000;
    do {
        cursor = rdict_scan(&d, cursor, mark, seen);
        /* Grow for a while, then delete the added keys to shrink. */
        if (step < 40) {
            for (int j = 0; j < 100; j++) {
                bool ex;
                rdict_add(&d, buf, (size_t)key(buf, next++), &ex);
            }
        } else if (next > 1000) {
            for (int j = 0; j < 200 && next > 1000; j++) {
                next--;
                free(rdict_unlink(&d, buf, (size_t)key(buf, next)));
            }
            rdict_shrink(&d);
        }
        step++;
    } while (cursor != 0);
    for (int i = 0; i < 1000; i++)
        assert_true(seen[i] >= 1);
    rdict_clear(&d, NULL);
}

static uint64_t rnd(void) {
    return ((uint64_t)rand() << 31) ^ (uint64_t)rand();
}

static void rdict_random_entry_covers_all(void **state) {
    (void)state;
    rdict d;
    rdict_init(&d);
    assert_null(rdict_random(&d, rnd));
    char buf[32];
    for (int i = 0; i < 20; i++) {
        bool ex;
        rdict_add(&d, buf, (size_t)key(buf, i), &ex);
    }
    int hits[20] = {0};
    for (int i = 0; i < 4000; i++)
        hits[atoi(rdict_random(&d, rnd)->key + 2)]++;
    for (int i = 0; i < 20; i++)
        assert_true(hits[i] > 0);
    rdict_clear(&d, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rdict_random_against_model),
        cmocka_unit_test(rdict_scan_survives_resizes),
        cmocka_unit_test(rdict_random_entry_covers_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
