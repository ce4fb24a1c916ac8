/*
 * Misuse returns errors: NULL and invalid arguments, spawning outside a
 * runtime, malformed futures, blocking inside a runtime, empty join
 * handles; and every error code has a name and a message.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

static void misuse_runtime_new(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    assert_int_equal(c.flavor, KR_RUNTIME_CURRENT_THREAD);
    assert_int_equal(c.workers, 0);
    assert_int_equal(c.budget, 0);
    assert_rc(kr_runtime_new(NULL, NULL), KR_EINVAL);
    assert_rc(kr_runtime_new(&c, NULL), KR_EINVAL);

    kr_runtime *rt = (kr_runtime *)&c; /* must be overwritten */
    c.flavor = (kr_runtime_flavor)7;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_null(rt);
    c.flavor = (kr_runtime_flavor)-1;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);

    assert_rc(kr_runtime_new(NULL, &rt), 0); /* defaults */
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    assert_int_equal(m.spawned, 0);
    assert_rc(kr_runtime_metrics_get(rt, NULL), KR_EINVAL);
    assert_rc(kr_runtime_metrics_get(NULL, &m), KR_EINVAL);
    assert_rc(kr_runtime_shutdown(NULL), KR_EINVAL);
    kr_runtime_free(rt);
    kr_runtime_free(NULL); /* ignored */
}

/* ---- malformed futures ------------------------------------------------ */

static kr_poll ready_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    (void)out;
    return KR_READY;
}

static const kr_future_vtable no_poll_vt = {NULL, NULL, sizeof(kr_future), 0,
                                            "no_poll"};
static const kr_future_vtable small_vt = {ready_poll, NULL, 4, 0, "small"};
static const kr_future_vtable zero_vt = {ready_poll, NULL, 0, 0, "zero"};
static const kr_future_vtable huge_vt = {ready_poll, NULL, (size_t)1 << 40, 0,
                                         "huge"};
static const kr_future_vtable huge_out_vt = {
    ready_poll, NULL, sizeof(kr_future), (size_t)1 << 40, "huge_out"};
static const kr_future_vtable good_vt = {ready_poll, NULL, sizeof(kr_future), 0,
                                         "good"};

#define NBAD 6
static kr_future bad_futures[NBAD] = {
    {NULL}, {&no_poll_vt}, {&small_vt}, {&zero_vt}, {&huge_vt}, {&huge_out_vt},
};

static void misuse_spawn_outside_runtime(void **state) {
    (void)state;
    kr_future good = {&good_vt};
    kr_join_handle jh;
    assert_rc(kr_spawn(&good, &jh), KR_EINVAL);      /* no runtime here */
    assert_rc(kr_join_handle_error(&jh), KR_EINVAL); /* left empty */
    assert_false(kr_join_handle_is_finished(&jh));
    kr_join_handle_drop(&jh);
    assert_rc(kr_spawn(&good, NULL), KR_EINVAL);
    assert_rc(kr_spawn(NULL, NULL), KR_EINVAL);
    assert_rc(kr_runtime_spawn(NULL, &good, NULL), KR_EINVAL);

    kr_runtime *rt = test_runtime(0);
    assert_rc(kr_runtime_spawn(rt, NULL, &jh), KR_EINVAL);
    for (int i = 0; i < NBAD; i++) {
        assert_rc(kr_runtime_spawn(rt, &bad_futures[i], &jh), KR_EINVAL);
        assert_rc(kr_join_handle_error(&jh), KR_EINVAL);
        assert_rc(kr_runtime_block_on(rt, &bad_futures[i], NULL), KR_EINVAL);
    }
    assert_rc(kr_runtime_block_on(NULL, &good, NULL), KR_EINVAL);
    assert_rc(kr_runtime_block_on(rt, NULL, NULL), KR_EINVAL);
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    assert_int_equal(m.spawned, 0);
    test_runtime_free(rt);
}

static void misuse_join_handle_null_and_empty(void **state) {
    (void)state;
    kr_join_handle_drop(NULL); /* ignored */
    assert_rc(kr_join_handle_abort(NULL), KR_EINVAL);
    assert_false(kr_join_handle_is_finished(NULL));
    assert_rc(kr_join_handle_error(NULL), KR_EINVAL);

    /* The handle a failed spawn leaves is empty: awaiting it completes at
     * once and reads KR_EINVAL; abort is harmless. */
    kr_future good = {&good_vt};
    kr_join_handle jh;
    assert_rc(kr_spawn(&good, &jh), KR_EINVAL);
    assert_rc(kr_join_handle_abort(&jh), 0);
    kr_runtime *rt = test_runtime(0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), KR_EINVAL);
    test_runtime_free(rt);
}

/* ---- inside a runtime --------------------------------------------------- */

typedef struct inside_result {
    int spawn_null, spawn_bad[NBAD], spawn_good;
    int block_on_same, block_on_other, free_other;
} inside_result;

typedef struct {
    kr_future base;
    kr_runtime *rt, *other;
    inside_result *r;
} inside;

static kr_poll inside_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    inside *in = (inside *)f;
    kr_future good = {&good_vt};
    in->r->spawn_null = kr_spawn(NULL, NULL);
    for (int i = 0; i < NBAD; i++)
        in->r->spawn_bad[i] = kr_spawn(&bad_futures[i], NULL);
    in->r->spawn_good = kr_spawn(&good, NULL);
    in->r->block_on_same = kr_runtime_block_on(in->rt, &good, NULL);
    in->r->block_on_other = kr_runtime_block_on(in->other, &good, NULL);
    /* A shutdown from inside is allowed (tests/test-rt-shutdown.c); a free
     * of any runtime is not, as Tokio panics dropping one there. */
    in->r->free_other = kr_runtime_free(in->other);
    return KR_READY;
}
KR_FUTURE_VTABLE(inside_vt, inside, inside_poll, NULL, 0);

static void check_inside(const inside_result *r) {
    assert_rc(r->spawn_null, KR_EINVAL);
    for (int i = 0; i < NBAD; i++)
        assert_rc(r->spawn_bad[i], KR_EINVAL);
    assert_rc(r->spawn_good, 0);
    assert_rc(r->block_on_same, KR_EBUSY);
    assert_rc(r->block_on_other, KR_EBUSY);
    assert_rc(r->free_other, KR_EBUSY);
}

typedef struct {
    kr_future base;
    kr_coro co;
    inside in;
    kr_join_handle jh;
} inside_main;

static kr_poll inside_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    inside_main *m = (inside_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    assert_rc(kr_spawn(&m->in.base, &m->jh), 0);
    KR_AWAIT(&m->co, &m->jh.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(inside_main_vt, inside_main, inside_main_poll, NULL, 0);

static void misuse_inside_runtime(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0), *other = test_runtime(0);
    inside_result in_task, in_block_on;
    memset(&in_task, 0, sizeof(in_task));
    memset(&in_block_on, 0, sizeof(in_block_on));

    /* From a task. */
    inside_main m = {.base = {&inside_main_vt},
                     .in = {{&inside_vt}, rt, other, &in_task}};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    check_inside(&in_task);

    /* From the block_on future itself. */
    inside b = {{&inside_vt}, rt, other, &in_block_on};
    assert_rc(kr_runtime_block_on(rt, &b.base, NULL), 0);
    check_inside(&in_block_on);

    test_runtime_free(other);
    test_runtime_free(rt);
}

/* Two threads in block_on of one current-thread runtime. */
typedef struct {
    kr_runtime *rt;
    atomic_int inside, release;
    int rc;
} bo_pair;

typedef struct {
    kr_future base;
    bo_pair *p;
} spin_fut;

static kr_poll spin_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    bo_pair *p = ((spin_fut *)f)->p;
    atomic_store(&p->inside, 1);
    while (!atomic_load(&p->release))
        test_sleep_ms(1);
    return KR_READY;
}
KR_FUTURE_VTABLE(spin_vt, spin_fut, spin_poll, NULL, 0);

static void *bo_second(void *arg) {
    bo_pair *p = arg;
    kr_future good = {&good_vt};
    while (!atomic_load(&p->inside))
        test_sleep_ms(1);
    p->rc = kr_runtime_block_on(p->rt, &good, NULL);
    atomic_store(&p->release, 1);
    return NULL;
}

static void misuse_concurrent_block_on_current_thread(void **state) {
    (void)state;
    if (test_flavor() != KR_RUNTIME_CURRENT_THREAD)
        skip(); /* a multi-thread runtime takes block_on from any thread */
    bo_pair p = {.rc = -1};
    p.rt = test_runtime(0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, bo_second, &p), 0);
    spin_fut s = {{&spin_vt}, &p};
    assert_rc(kr_runtime_block_on(p.rt, &s.base, NULL), 0);
    pthread_join(th, NULL);
    /* The second block_on does not get KR_EBUSY: it waits for its turn,
     * polling its own future meanwhile, which completes on its first poll
     * while the first block_on still holds the core (Tokio's behaviour;
     * tests/test-rt-turns.c). */
    assert_rc(p.rc, 0);
    test_runtime_free(p.rt);
}

/* ---- allocator and oneshot arguments ---------------------------------- */

static void misuse_allocator_and_oneshot(void **state) {
    (void)state;
    kr_allocator bad = {malloc, NULL, free};
    assert_rc(kr_set_allocator(&bad), KR_EINVAL);
    assert_rc(kr_set_allocator(NULL), 0);

    kr_oneshot_tx *tx;
    kr_oneshot_rx *rx;
    assert_rc(kr_oneshot_new(4, NULL, &rx), KR_EINVAL);
    assert_rc(kr_oneshot_new(4, &tx, NULL), KR_EINVAL);
    assert_rc(kr_oneshot_new(((size_t)1 << 20) + 1, &tx, &rx), KR_EINVAL);
    assert_rc(kr_oneshot_new((size_t)1 << 20, &tx, &rx), 0);
    kr_oneshot_tx_drop(tx);
    kr_oneshot_rx_drop(rx);

    int v = 1;
    assert_rc(kr_oneshot_send(NULL, &v), KR_EINVAL);
    assert_rc(kr_oneshot_try_recv(NULL, &v), KR_EINVAL);
    kr_oneshot_tx_drop(NULL);
    kr_oneshot_rx_drop(NULL);
    kr_oneshot_rx_close(NULL);

    /* A NULL value with a non-zero size: EINVAL, and the sender is gone. */
    assert_rc(kr_oneshot_new(sizeof(int), &tx, &rx), 0);
    assert_rc(kr_oneshot_send(tx, NULL), KR_EINVAL);
    assert_rc(kr_oneshot_try_recv(rx, &v), KR_ECLOSED);
    kr_oneshot_rx_drop(rx);
}

/* ---- error codes ------------------------------------------------------ */

static void misuse_error_names_and_messages(void **state) {
    (void)state;
    int codes[64], n = 0;
#define CHECK(name, value, msg)                                                \
    do {                                                                       \
        assert_int_equal(KR_##name, value);                                    \
        assert_string_equal(kr_err_name(KR_##name), #name);                    \
        assert_non_null(kr_strerror(KR_##name));                               \
        assert_string_equal(kr_strerror(KR_##name), msg);                      \
        assert_true(n < 64);                                                   \
        codes[n++] = KR_##name;                                                \
    } while (0);
    KR_ERRNO_MAP(CHECK)
    KR_ERR_MAP(CHECK)
#undef CHECK
    for (int i = 0; i < n; i++) /* every code is distinct */
        for (int j = i + 1; j < n; j++)
            assert_int_not_equal(codes[i], codes[j]);
#define RANGE_ERRNO(name, value, msg)                                          \
    assert_true((value) < 0 && (value) > -4000);
#define RANGE_KAIRO(name, value, msg)                                          \
    assert_true((value) <= -4000 && (value) >= -4095);
    KR_ERRNO_MAP(RANGE_ERRNO)
    KR_ERR_MAP(RANGE_KAIRO)
#undef RANGE_ERRNO
#undef RANGE_KAIRO
    assert_string_equal(kr_err_name(KR_ECANCELED), "ECANCELED");
    assert_string_equal(kr_err_name(KR_ESHUTDOWN), "ESHUTDOWN");
    assert_string_equal(kr_strerror(0), "success");
    assert_string_equal(kr_strerror(3), "success");
    assert_string_equal(kr_err_name(-4090), "UNKNOWN");
    assert_non_null(kr_strerror(-4090));
    assert_non_null(kr_strerror(-200)); /* an errno kairo does not list */
    assert_true(strlen(kr_strerror(-200)) > 0);
    assert_non_null(kr_strerror(-2147483647 - 1));
    assert_non_null(kr_err_name(-2147483647 - 1));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(misuse_runtime_new),
    cmocka_unit_test(misuse_spawn_outside_runtime),
    cmocka_unit_test(misuse_join_handle_null_and_empty),
    cmocka_unit_test(misuse_inside_runtime),
    cmocka_unit_test(misuse_concurrent_block_on_current_thread),
    cmocka_unit_test(misuse_allocator_and_oneshot),
    cmocka_unit_test(misuse_error_names_and_messages),
};
KR_TEST_MAIN(tests)
