/*
 * sched/local_queue.c under a real race: the owner keeps its queue full,
 * popping one and pushing one, while another thread steals half of it
 * again and again. Every task must come out exactly once (popped by the
 * owner, stolen, moved out by an overflow, or left at the end), and in
 * the debug build every Requires: of the queue holds on every snapshot.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "test.h"

#include "sched/local_queue.h"

enum { ROUNDS = 200000 };

typedef struct {
    kr__lq src, dst;
    kr__task *tasks;
    unsigned char *seen; /* per task: times it came out */
    atomic_int stop;
    long stolen;
} race;

static void seen_once(race *r, kr__task *t) {
    long i = t - r->tasks;
    assert_true(i >= 0 && i < ROUNDS + KR__LQ_CAP);
    r->seen[i]++;
}

static void *stealer(void *p) {
    race *r = p;
    while (!atomic_load(&r->stop)) {
        kr__task *t = kr__lq_steal_into(&r->src, &r->dst);
        if (t == NULL)
            continue;
        seen_once(r, t);
        r->stolen++;
        while ((t = kr__lq_pop(&r->dst)) != NULL) {
            seen_once(r, t);
            r->stolen++;
        }
    }
    return NULL;
}

static void steal_half_while_owner_cycles_a_full_queue(void **state) {
    (void)state;
    race *r = calloc(1, sizeof *r);
    assert_non_null(r);
    long total = ROUNDS + KR__LQ_CAP;
    r->tasks = calloc((size_t)total, sizeof(kr__task));
    r->seen = calloc((size_t)total, 1);
    assert_non_null(r->tasks);
    assert_non_null(r->seen);
    kr__lq_init(&r->src);
    kr__lq_init(&r->dst);
    long next = 0, popped = 0, overflowed = 0;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stealer, r), 0);
    for (long round = 0; next < total; round++) {
        /* Fill up, then take one: the queue stays at or near capacity, the
         * window in which a stealer's snapshot of head goes stale. */
        kr__task *bh, *bt;
        uint32_t bn;
        if (!kr__lq_push(&r->src, &r->tasks[next++], &bh, &bt, &bn)) {
            for (kr__task *t = bh; t != NULL; t = t->next) {
                seen_once(r, t);
                overflowed++;
            }
        }
        if (round % 2 == 1) {
            kr__task *t = kr__lq_pop(&r->src);
            if (t != NULL) {
                seen_once(r, t);
                popped++;
            }
        }
    }
    atomic_store(&r->stop, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    kr__task *t;
    while ((t = kr__lq_pop(&r->src)) != NULL) {
        seen_once(r, t);
        popped++;
    }
    assert_int_equal(popped + overflowed + r->stolen, total);
    for (long i = 0; i < total; i++)
        assert_int_equal(r->seen[i], 1);
    free(r->seen);
    free(r->tasks);
    free(r);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(steal_half_while_owner_cycles_a_full_queue),
};
KR_TEST_MAIN(tests)
