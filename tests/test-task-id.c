/*
 * Task ids (kairo/task.h), after tokio/tests/task_id.rs: kr_task_id inside
 * a task, a blocking job and a future's drop (on completion and on
 * abort), 0 / KR_ESRCH outside a task and inside a block_on future, the
 * handle's id matching the task's own, two tasks never sharing one, and
 * ids unique over many spawns from several threads.
 * Not ported: the output-destructor tests (a C output has no destructor),
 * spawn_local and block_in_place (other parts of issue 12), the
 * panic-location tests (kr_task_id does not panic: it returns 0).
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

/* ---- a future that reads its own id ------------------------------------- */

typedef struct id_fut {
    kr_future base;
    int pending;                /* stay pending forever (to be aborted) */
    _Atomic kr_task_id_t *drop; /* receives kr_task_id() in the drop */
} id_fut;

static kr_poll id_poll(kr_future *f, kr_context *cx, void *out) {
    id_fut *s = (id_fut *)f;
    (void)cx;
    if (s->pending)
        return KR_PENDING; /* never woken: only an abort ends it */
    *(kr_task_id_t *)out = kr_task_id();
    return KR_READY;
}

static void id_drop(kr_future *f) {
    id_fut *s = (id_fut *)f;
    if (s->drop != NULL)
        atomic_store(s->drop, kr_task_id());
}

static const kr_future_vtable id_vt = {id_poll, id_drop, sizeof(id_fut),
                                       sizeof(kr_task_id_t), "id_fut"};

static id_fut id_make(void) {
    id_fut f = {{&id_vt}, 0, NULL};
    return f;
}

/* Spawns an id_fut and runs its handle to the end; returns the task's
 * output, and the handle's id in *hid. */
static kr_task_id_t spawn_and_join(kr_runtime *rt, kr_task_id_t *hid) {
    id_fut f = id_make();
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &f.base, &jh), 0);
    *hid = kr_join_handle_id(&jh);
    kr_task_id_t got = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &got), 0);
    assert_int_equal(kr_join_handle_id(&jh), 0); /* yielded: empty */
    return got;
}

/* tokio task_id.rs::task_id_spawn */
static void task_id_spawn(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_task_id_t hid = 0;
    kr_task_id_t id = spawn_and_join(rt, &hid);
    assert_true(id != 0);
    assert_true(hid == id);
    test_runtime_free(rt);
}

static void *blocking_id(void *arg) {
    (void)arg;
    kr_task_id_t id = 0;
    if (kr_task_try_id(&id) != 0)
        return NULL;
    return (void *)(uintptr_t)id;
}

/* tokio task_id.rs::task_id_spawn_blocking */
static void task_id_spawn_blocking(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn_blocking(rt, blocking_id, NULL, &jh), 0);
    kr_task_id_t hid = kr_join_handle_id(&jh);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &r), 0);
    assert_true(hid != 0);
    assert_true((kr_task_id_t)(uintptr_t)r == hid);
    test_runtime_free(rt);
}

/* tokio task_id.rs::task_id_collision_current_thread and
 * ::task_id_collision_multi_thread (this file runs on both flavors) */
static void task_id_collision(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    id_fut a = id_make(), b = id_make();
    kr_join_handle ja, jb;
    assert_rc(kr_runtime_spawn(rt, &a.base, &ja), 0);
    assert_rc(kr_runtime_spawn(rt, &b.base, &jb), 0);
    kr_task_id_t ia = 0, ib = 0;
    assert_rc(kr_runtime_block_on(rt, &ja.base, &ia), 0);
    assert_rc(kr_runtime_block_on(rt, &jb.base, &ib), 0);
    assert_true(ia != 0 && ib != 0);
    assert_true(ia != ib);
    test_runtime_free(rt);
}

/* ---- ids match: the task compares its id with its handle's ---------------- */

typedef struct match_fut {
    kr_future base;
    kr_oneshot_rx *rx;
    kr_oneshot_recv recv;
    kr_task_id_t sent;
    int started;
} match_fut;

static kr_poll match_poll(kr_future *f, kr_context *cx, void *out) {
    match_fut *m = (match_fut *)f;
    if (!m->started) {
        m->recv = kr_oneshot_recv_future(m->rx, &m->sent);
        m->started = 1;
    }
    int rc = 0;
    if (kr_future_poll(&m->recv.base, cx, &rc) == KR_PENDING)
        return KR_PENDING;
    *(int *)out = rc == 0 && m->sent == kr_task_id() ? 1 : 0;
    return KR_READY;
}

static void match_drop(kr_future *f) {
    kr_oneshot_rx_drop(((match_fut *)f)->rx);
}

static const kr_future_vtable match_vt = {
    match_poll, match_drop, sizeof(match_fut), sizeof(int), "match_fut"};

/* tokio task_id.rs::task_ids_match_current_thread and
 * ::task_ids_match_multi_thread */
static void task_ids_match(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_oneshot_tx *tx;
    match_fut m = {{&match_vt}, NULL, {{NULL}, NULL, NULL, 0}, 0, 0};
    assert_rc(kr_oneshot_new(sizeof(kr_task_id_t), &tx, &m.rx), 0);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &m.base, &jh), 0);
    kr_task_id_t id = kr_join_handle_id(&jh);
    assert_true(id != 0);
    assert_rc(kr_oneshot_send(tx, &id), 0);
    int ok = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &ok), 0);
    assert_int_equal(ok, 1);
    test_runtime_free(rt);
}

/* tokio task_id.rs::task_id_future_destructor_completion */
static void task_id_future_destructor_completion(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    _Atomic kr_task_id_t in_drop = 0;
    id_fut f = id_make();
    f.drop = &in_drop;
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &f.base, &jh), 0);
    kr_task_id_t id = kr_join_handle_id(&jh);
    kr_task_id_t got = 0;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &got), 0);
    assert_true(got == id);
    assert_true(atomic_load(&in_drop) == id);
    test_runtime_free(rt);
}

/* tokio task_id.rs::task_id_future_destructor_abort */
static void task_id_future_destructor_abort(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    _Atomic kr_task_id_t in_drop = 0;
    id_fut f = id_make();
    f.pending = 1;
    f.drop = &in_drop;
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &f.base, &jh), 0);
    kr_task_id_t id = kr_join_handle_id(&jh);
    kr_abort_handle *ah;
    assert_rc(kr_join_handle_abort_handle(&jh, &ah), 0);
    assert_true(kr_abort_handle_id(ah) == id);
    assert_rc(kr_join_handle_abort(&jh), 0);
    kr_task_id_t got = 1;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &got), 0);
    assert_rc(kr_join_handle_error(&jh), KR_ECANCELED);
    assert_true(atomic_load(&in_drop) == id);
    assert_true(kr_abort_handle_id(ah) == id); /* still readable */
    kr_abort_handle_drop(ah);
    test_runtime_free(rt);
}

/* tokio task_id.rs::task_try_id_outside_task */
static void task_try_id_outside_task(void **state) {
    (void)state;
    kr_task_id_t id = 7;
    assert_rc(kr_task_try_id(&id), KR_ESRCH);
    assert_true(id == 0);
    assert_true(kr_task_id() == 0);
    assert_null(kr_task_name());
    assert_rc(kr_task_try_id(NULL), KR_EINVAL);
    assert_true(kr_join_handle_id(NULL) == 0);
    assert_true(kr_abort_handle_id(NULL) == 0);
}

typedef struct try_id_fut {
    kr_future base;
} try_id_fut;

static kr_poll try_id_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx;
    kr_task_id_t id = 7;
    *(int *)out = kr_task_try_id(&id) == KR_ESRCH && id == 0 ? 1 : 0;
    return KR_READY;
}

static const kr_future_vtable try_id_vt = {
    try_id_poll, NULL, sizeof(try_id_fut), sizeof(int), "try_id_fut"};

/* tokio task_id.rs::task_try_id_inside_block_on */
static void task_try_id_inside_block_on(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    try_id_fut f = {{&try_id_vt}};
    int ok = 0;
    assert_rc(kr_runtime_block_on(rt, &f.base, &ok), 0);
    assert_int_equal(ok, 1);
    test_runtime_free(rt);
}

/* ---- unique over many spawns from several threads ------------------------- */

#define SPAWNERS   4
#define PER_THREAD 2000

typedef struct spawner {
    kr_runtime *rt;
    kr_task_id_t ids[PER_THREAD];
} spawner;

static void *spawner_main(void *arg) {
    spawner *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        id_fut f = id_make();
        kr_join_handle jh;
        if (kr_runtime_spawn(s->rt, &f.base, &jh) != 0)
            return NULL;
        s->ids[i] = kr_join_handle_id(&jh);
        kr_join_handle_drop(&jh);
    }
    return NULL;
}

static int cmp_id(const void *a, const void *b) {
    kr_task_id_t x = *(const kr_task_id_t *)a, y = *(const kr_task_id_t *)b;
    return x < y ? -1 : x > y;
}

/* kairo: ids are unique in the process and never reused, across threads
 * and across runtimes (a second runtime's tasks get new ones). */
static void task_ids_unique_across_threads_and_runtimes(void **state) {
    (void)state;
    static spawner sp[SPAWNERS + 1];
    kr_runtime *rt = test_runtime(0);
    pthread_t th[SPAWNERS];
    for (int i = 0; i < SPAWNERS; i++) {
        sp[i].rt = rt;
        assert_int_equal(pthread_create(&th[i], NULL, spawner_main, &sp[i]), 0);
    }
    for (int i = 0; i < SPAWNERS; i++)
        pthread_join(th[i], NULL);
    test_runtime_free(rt);
    rt = test_runtime(0);
    sp[SPAWNERS].rt = rt;
    spawner_main(&sp[SPAWNERS]);
    test_runtime_free(rt);
    size_t n = (SPAWNERS + 1) * PER_THREAD;
    kr_task_id_t *all = malloc(n * sizeof(*all));
    assert_non_null(all);
    for (int i = 0; i <= SPAWNERS; i++)
        memcpy(all + (size_t)i * PER_THREAD, sp[i].ids, sizeof(sp[i].ids));
    qsort(all, n, sizeof(*all), cmp_id);
    assert_true(all[0] != 0);
    for (size_t i = 1; i < n; i++)
        assert_true(all[i] != all[i - 1]);
    free(all);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(task_id_spawn),
        cmocka_unit_test(task_id_spawn_blocking),
        cmocka_unit_test(task_id_collision),
        cmocka_unit_test(task_ids_match),
        cmocka_unit_test(task_id_future_destructor_completion),
        cmocka_unit_test(task_id_future_destructor_abort),
        cmocka_unit_test(task_try_id_outside_task),
        cmocka_unit_test(task_try_id_inside_block_on),
        cmocka_unit_test(task_ids_unique_across_threads_and_runtimes),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
