/*
 * Spawn in place (kr_spawn_in_place, kr_runtime_spawn_in_place): the
 * future is built by an init function inside its task cell. A 1 MiB
 * future that points into itself from the moment it is made, spawned
 * from a thread whose whole stack is 128 KiB (so it cannot have been
 * built on a stack and copied); from inside a task and from outside; an
 * init that fails (its code comes back, the cell is freed, nothing is
 * dropped); cancellation drops such a future exactly once; bad
 * arguments. Tokio has no counterpart (a Rust future is moved into
 * the task; Box::pin is the closest).
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

#define BIG (1u << 20)

typedef struct big {
    kr_future base;
    unsigned char *self_ptr; /* points into buf from init on */
    atomic_long *drops;
    uint32_t seed;
    unsigned char buf[BIG];
} big;

static kr_poll big_poll(kr_future *f, kr_context *cx, void *out) {
    big *b = (big *)f;
    (void)cx;
    uint64_t sum = 0;
    if (b->self_ptr != &b->buf[100])
        sum = UINT64_MAX; /* moved after init: the pointer is stale */
    else
        for (size_t i = 0; i < BIG; i += 4096)
            sum += b->buf[i];
    *(uint64_t *)out = sum;
    return KR_READY;
}

static void big_drop(kr_future *f) {
    big *b = (big *)f;
    if (b->drops != NULL)
        atomic_fetch_add(b->drops, 1);
}

static const kr_future_vtable big_vt = {big_poll, big_drop, sizeof(big),
                                        sizeof(uint64_t), "big"};

typedef struct init_arg {
    uint32_t seed;
    atomic_long *drops;
    int fail;
} init_arg;

static int big_init(kr_future *f, void *arg) {
    init_arg *a = arg;
    big *b = (big *)f;
    if (a->fail != 0)
        return a->fail;
    b->self_ptr = &b->buf[100];
    b->drops = a->drops;
    b->seed = a->seed;
    for (size_t i = 0; i < BIG; i += 4096)
        b->buf[i] = (unsigned char)(a->seed + i / 4096);
    return 0;
}

static uint64_t want_sum(uint32_t seed) {
    uint64_t s = 0;
    for (size_t i = 0; i < BIG; i += 4096)
        s += (unsigned char)(seed + i / 4096);
    return s;
}

/* ---- from a thread with a small stack ------------------------------------ */

typedef struct thread_arg {
    kr_runtime *rt;
    kr_join_handle jh;
    int rc;
    init_arg ia;
} thread_arg;

static void *small_stack_spawner(void *p) {
    thread_arg *t = p;
    t->rc = kr_runtime_spawn_in_place(t->rt, &big_vt, big_init, &t->ia, &t->jh);
    return NULL;
}

static void spawn_in_place_1mib_future(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    atomic_long drops = 0;
    thread_arg t = {rt, {{NULL}, NULL, 0, 0}, -1, {7, &drops, 0}};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    pthread_t th;
    assert_int_equal(pthread_create(&th, &attr, small_stack_spawner, &t), 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    assert_rc(t.rc, 0);
    uint64_t sum = 0;
    assert_rc(kr_runtime_block_on(rt, &t.jh.base, &sum), 0);
    assert_true(sum == want_sum(7));
    assert_int_equal(atomic_load(&drops), 1);
    test_runtime_free(rt);
}

/* From inside a task (the local path of both schedulers): several at
 * once, each with its own pointer into itself. */
typedef struct spawner {
    kr_future base;
    kr_coro co;
    atomic_long *drops;
    init_arg ia[4];
    kr_join_handle jh[4];
    uint64_t sums[4];
    int i, rc;
} spawner;

static kr_poll spawner_poll(kr_future *f, kr_context *cx, void *out) {
    spawner *s = (spawner *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < 4; s->i++) {
        s->ia[s->i] = (init_arg){(uint32_t)s->i * 3, s->drops, 0};
        s->rc =
            kr_spawn_in_place(&big_vt, big_init, &s->ia[s->i], &s->jh[s->i]);
        if (s->rc != 0)
            KR_RETURN(&s->co, out, int, s->rc);
    }
    for (s->i = 0; s->i < 4; s->i++)
        KR_AWAIT_INTO(&s->co, &s->jh[s->i], cx, s->sums[s->i]);
    KR_RETURN(&s->co, out, int, 0);
    KR_ASYNC_END(&s->co);
}

static void spawner_drop(kr_future *f) { kr_coro_drop(&((spawner *)f)->co); }
KR_FUTURE_VTABLE(spawner_vt, spawner, spawner_poll, spawner_drop, sizeof(int));

static void spawn_in_place_from_a_task(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    atomic_long drops = 0;
    spawner *s = calloc(1, sizeof(*s));
    s->base.vtable = &spawner_vt;
    s->drops = &drops;
    int rc = -1;
    assert_rc(kr_runtime_block_on(rt, &s->base, &rc), 0);
    assert_rc(rc, 0);
    for (int i = 0; i < 4; i++)
        assert_true(s->sums[i] == want_sum((uint32_t)i * 3));
    assert_int_equal(atomic_load(&drops), 4);
    free(s);
    test_runtime_free(rt);
}

/* An init that fails: its code, an empty join handle, no cell left. */
static void spawn_in_place_init_fails(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    atomic_long drops = 0;
    init_arg ia = {1, &drops, KR_EPROTO};
    kr_join_handle jh;
    test_alloc_install();
    long live = test_alloc_live();
    assert_rc(kr_runtime_spawn_in_place(rt, &big_vt, big_init, &ia, &jh),
              KR_EPROTO);
    assert_int_equal(test_alloc_live(), live);
    test_alloc_uninstall();
    assert_int_equal(atomic_load(&drops), 0);
    kr_join_handle_drop(&jh); /* empty: a no-op */
    test_runtime_free(rt);
}

/* A task that never completes: the shutdown drops it once. */
typedef struct parked {
    kr_future base;
    atomic_long *drops;
    char pad[200000];
} parked;

static kr_poll parked_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx, (void)out;
    return KR_PENDING;
}
static void parked_drop(kr_future *f) {
    atomic_fetch_add(((parked *)f)->drops, 1);
}
static const kr_future_vtable parked_vt = {parked_poll, parked_drop,
                                           sizeof(parked), 0, "parked"};
static int parked_init(kr_future *f, void *arg) {
    ((parked *)f)->drops = arg;
    return 0;
}

static void spawn_in_place_cancelled_at_shutdown(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    atomic_long drops = 0;
    for (int i = 0; i < 10; i++)
        assert_rc(kr_runtime_spawn_in_place(rt, &parked_vt, parked_init, &drops,
                                            NULL),
                  0);
    kr_yield y = kr_yield_now();
    assert_rc(kr_runtime_block_on(rt, &y.base, NULL), 0);
    test_runtime_free(rt);
    assert_int_equal(atomic_load(&drops), 10);
}

static void spawn_in_place_misuse(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    init_arg ia = {1, NULL, 0};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn_in_place(rt, NULL, big_init, &ia, &jh),
              KR_EINVAL);
    assert_rc(kr_runtime_spawn_in_place(rt, &big_vt, NULL, &ia, &jh),
              KR_EINVAL);
    assert_rc(kr_runtime_spawn_in_place(NULL, &big_vt, big_init, &ia, &jh),
              KR_EINVAL);
    static const kr_future_vtable tiny = {big_poll, NULL, 1, 0, "tiny"};
    assert_rc(kr_runtime_spawn_in_place(rt, &tiny, big_init, &ia, &jh),
              KR_EINVAL);
    /* Outside any runtime. */
    assert_rc(kr_spawn_in_place(&big_vt, big_init, &ia, &jh), KR_EINVAL);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spawn_in_place_1mib_future),
        cmocka_unit_test(spawn_in_place_from_a_task),
        cmocka_unit_test(spawn_in_place_init_fails),
        cmocka_unit_test(spawn_in_place_cancelled_at_shutdown),
        cmocka_unit_test(spawn_in_place_misuse),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
