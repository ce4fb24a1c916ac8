/*
 * Spawning and joining: a million tasks, outputs of 0 B, 8 B and 4 KiB
 * copied exactly, and detached tasks (no handle, handle dropped before or
 * after completion, or while it is being awaited). KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

/* ---- a million tasks --------------------------------------------------- */

/* Handles awaited per batch: enough to keep the run queue busy, few enough
 * that the parent future stays small (32 KiB on the caller's stack). */
#define BATCH 1024

typedef struct {
    kr_future base;
    kr_coro co;
    long n, next, k, cnt;
    uint64_t sum, v;
    int errs;
    kr_join_handle jh[BATCH];
} million;

static kr_poll million_poll(kr_future *f, kr_context *cx, void *out) {
    million *m = (million *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->next = 0; m->next < m->n; m->next += m->cnt) {
        m->cnt = m->n - m->next < BATCH ? m->n - m->next : BATCH;
        for (m->k = 0; m->k < m->cnt; m->k++) {
            test_value tv = test_value_make((uint64_t)(m->next + m->k), NULL);
            assert_rc(kr_spawn(&tv.base, &m->jh[m->k]), 0);
        }
        for (m->k = 0; m->k < m->cnt; m->k++) {
            m->v = UINT64_MAX;
            KR_AWAIT(&m->co, &m->jh[m->k].base, cx, &m->v);
            if (kr_join_handle_error(&m->jh[m->k]) != 0 ||
                m->v != (uint64_t)(m->next + m->k))
                m->errs++;
            m->sum += m->v;
        }
    }
    KR_RETURN(&m->co, out, uint64_t, m->sum);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(million_vt, million, million_poll, NULL, sizeof(uint64_t));

static void join_million_tasks(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    long n = test_scale(1000000);
    million *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->base.vtable = &million_vt;
    m->n = n;
    uint64_t sum = 0;
    assert_rc(kr_runtime_block_on(rt, &m->base, &sum), 0);
    assert_int_equal(m->errs, 0);
    assert_int_equal(sum, (uint64_t)n * (uint64_t)(n - 1) / 2);
    kr_runtime_metrics mt;
    assert_rc(kr_runtime_metrics_get(rt, &mt), 0);
    assert_int_equal(mt.spawned, (uint64_t)n);
    assert_true(mt.polls >= (uint64_t)n);
    free(m);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- outputs of 0 B, 8 B and 4 KiB ------------------------------------- */

typedef struct {
    unsigned char bytes[4096];
} big_out;

/* Writes a 4 KiB pattern after yielding `yields` times (so the output is
 * also copied out of a task that was parked). */
typedef struct {
    kr_future base;
    unsigned seed;
    int yields, polls;
} big_fut;

static kr_poll big_poll(kr_future *f, kr_context *cx, void *out) {
    big_fut *b = (big_fut *)f;
    if (b->polls++ < b->yields) {
        kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    if (out != NULL)
        test_pattern_fill(out, sizeof(big_out), b->seed);
    return KR_READY;
}
KR_FUTURE_VTABLE(big_vt, big_fut, big_poll, NULL, sizeof(big_out));

/* No output at all: must not write a byte. */
typedef struct {
    kr_future base;
    test_latch *ran;
} zero_fut;

static kr_poll zero_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    test_latch_add(((zero_fut *)f)->ran, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(zero_vt, zero_fut, zero_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    test_latch *ran;
    kr_join_handle jz, j8, jb[3], jd;
    unsigned char zbuf[16];
    uint64_t v8;
    big_out bo;
    int i, bad;
} outputs_main;

static kr_poll outputs_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    outputs_main *m = (outputs_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        zero_fut z = {{&zero_vt}, m->ran};
        assert_rc(kr_spawn(&z.base, &m->jz), 0);
        test_value v = test_value_make(0x0123456789abcdefULL, NULL);
        assert_rc(kr_spawn(&v.base, &m->j8), 0);
        for (int i = 0; i < 3; i++) {
            big_fut b = {{&big_vt}, 100u + (unsigned)i, i, 0};
            assert_rc(kr_spawn(&b.base, &m->jb[i]), 0);
        }
        big_fut d = {{&big_vt}, 7, 1, 0};
        assert_rc(kr_spawn(&d.base, &m->jd), 0);
    }
    memset(m->zbuf, 0x5a, sizeof(m->zbuf));
    KR_AWAIT(&m->co, &m->jz.base, cx, m->zbuf);
    for (m->i = 0; m->i < (int)sizeof(m->zbuf); m->i++)
        if (m->zbuf[m->i] != 0x5a)
            m->bad++; /* a 0-byte output wrote something */
    KR_AWAIT(&m->co, &m->j8.base, cx, &m->v8);
    for (m->i = 0; m->i < 3; m->i++) {
        memset(&m->bo, 0, sizeof(m->bo));
        KR_AWAIT(&m->co, &m->jb[m->i].base, cx, &m->bo);
        if (!test_pattern_check(&m->bo, sizeof(m->bo), 100u + (unsigned)m->i))
            m->bad++;
        if (kr_join_handle_error(&m->jb[m->i]) != 0)
            m->bad++;
    }
    /* A NULL destination discards the output. */
    KR_AWAIT(&m->co, &m->jd.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(outputs_vt, outputs_main, outputs_poll, NULL, 0);

static void join_outputs_copied_exactly(void **state) {
    (void)state;
    test_alloc_install();
    test_latch ran;
    test_latch_init(&ran);
    kr_runtime *rt = test_runtime(0);
    outputs_main *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    m->base.vtable = &outputs_vt;
    m->ran = &ran;
    assert_rc(kr_runtime_block_on(rt, &m->base, NULL), 0);
    assert_int_equal(m->bad, 0);
    assert_int_equal(m->v8, 0x0123456789abcdefULL);
    assert_rc(kr_join_handle_error(&m->jz), 0);
    assert_rc(kr_join_handle_error(&m->j8), 0);
    assert_rc(kr_join_handle_error(&m->jd), 0);
    assert_int_equal(test_latch_get(&ran), 1);

    /* block_on writes a 4 KiB output in place too. */
    big_fut b = {{&big_vt}, 42, 2, 0};
    memset(&m->bo, 0, sizeof(m->bo));
    assert_rc(kr_runtime_block_on(rt, &b.base, &m->bo), 0);
    assert_true(test_pattern_check(&m->bo, sizeof(m->bo), 42));
    free(m);
    test_runtime_free(rt);
    test_latch_destroy(&ran);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- detached tasks ----------------------------------------------------- */

/* Bumps `ran` and completes, after an optional 2 ms wait on a timer so the
 * handle can be dropped (or awaited) while the task is parked. */
typedef struct {
    kr_future base;
    kr_coro co;
    test_latch *ran;
    test_counts *c;
    int wait;
    test_timer tm;
} side_fut;

static kr_poll side_poll(kr_future *f, kr_context *cx, void *out) {
    side_fut *s = (side_fut *)f;
    KR_ASYNC_BEGIN(&s->co);
    if (s->wait) {
        s->tm = test_timer_make(2, NULL);
        KR_AWAIT(&s->co, &s->tm.base, cx, NULL);
    }
    test_latch_add(s->ran, 1);
    KR_RETURN(&s->co, out, uint64_t, 99);
    KR_ASYNC_END(&s->co);
}

static void side_drop(kr_future *f) {
    side_fut *s = (side_fut *)f;
    atomic_fetch_add(&s->c->drops, 1);
    kr_coro_drop(&s->co);
}
KR_FUTURE_VTABLE(side_vt, side_fut, side_poll, side_drop, sizeof(uint64_t));

enum { DETACH_NULL, DETACH_BEFORE, DETACH_AFTER, DETACH_AWAITED };

typedef struct {
    kr_future base;
    kr_coro co;
    int mode;
    test_latch *ran;
    test_counts *c;
    kr_join_handle jh;
    test_latch_wait lw;
    kr_yield y;
    uint64_t v;
    int poll_rc, err_after;
} detach_main;

static kr_poll detach_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    detach_main *m = (detach_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        side_fut s = {.base = {&side_vt},
                      .ran = m->ran,
                      .c = m->c,
                      .wait = m->mode == DETACH_AWAITED};
        assert_rc(kr_spawn(&s.base, m->mode == DETACH_NULL ? NULL : &m->jh), 0);
    }
    if (m->mode == DETACH_BEFORE) {
        kr_join_handle_drop(&m->jh);
    } else if (m->mode == DETACH_AFTER) {
        while (!kr_join_handle_is_finished(&m->jh)) {
            m->y = kr_yield_now();
            KR_AWAIT(&m->co, &m->y.base, cx, NULL);
        }
        kr_join_handle_drop(&m->jh); /* the output is never read */
    } else if (m->mode == DETACH_AWAITED) {
        /* Poll the handle once by hand so it stores our waker in the
         * task, then let go of it while the task is still parked. */
        m->poll_rc = kr_future_poll(&m->jh.base, cx, &m->v);
        kr_join_handle_drop(&m->jh);
    }
    if (m->mode != DETACH_NULL)
        m->err_after = kr_join_handle_error(&m->jh);
    m->lw = test_latch_wait_for(m->ran, 1);
    KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(detach_vt, detach_main, detach_poll, NULL, 0);

static void run_detach(int mode) {
    test_alloc_install();
    test_latch ran;
    test_latch_init(&ran);
    test_counts c = {0};
    kr_runtime *rt = test_runtime(0);
    detach_main m = {.base = {&detach_vt}, .mode = mode, .ran = &ran, .c = &c};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    assert_int_equal(test_latch_get(&ran), 1); /* it ran, detached */
    if (mode == DETACH_AWAITED)
        assert_int_equal(m.poll_rc, KR_PENDING);
    if (mode != DETACH_NULL)
        assert_rc(m.err_after, KR_EINVAL); /* the handle is empty now */
    test_runtime_free(rt);
    /* Completed, not cancelled: its future was dropped exactly once. */
    assert_int_equal(c.drops, 1);
    test_latch_destroy(&ran);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void detach_null_handle(void **state) {
    (void)state;
    run_detach(DETACH_NULL);
}
static void detach_drop_before_completion(void **state) {
    (void)state;
    run_detach(DETACH_BEFORE);
}
static void detach_drop_after_completion(void **state) {
    (void)state;
    run_detach(DETACH_AFTER);
}
static void detach_drop_while_awaited(void **state) {
    (void)state;
    run_detach(DETACH_AWAITED);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(join_million_tasks),
    cmocka_unit_test(join_outputs_copied_exactly),
    cmocka_unit_test(detach_null_handle),
    cmocka_unit_test(detach_drop_before_completion),
    cmocka_unit_test(detach_drop_after_completion),
    cmocka_unit_test(detach_drop_while_awaited),
};
KR_TEST_MAIN(tests)
