/*
 * Task-local values (kairo/task.h), after tokio/tests/task_local.rs: a
 * value set by a scope and read inside it across an await (a sleep, after
 * which a multi-thread task may resume on another worker), the value
 * still set in the inner future's drop on abort and on completion,
 * take_value, a poll after take_value reading nothing, get. kairo's own:
 * nesting (the innermost wins, the outer comes back), a sync scope, no
 * value outside, between polls, or in a task the scope's future spawns.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

static KR_TASK_LOCAL(REQ_ID);
static KR_TASK_LOCAL(FOO);

static intptr_t get_or(const kr_task_local *k, intptr_t dflt) {
    void *v = NULL;
    return kr_task_local_get(k, &v) == 0 ? (intptr_t)v : dflt;
}

/* ---- an inner future: reads the key, sleeps, reads again ----------------- */

typedef struct reader {
    kr_future base;
    const kr_task_local *key;
    int sleep_ms;
    int state;
    kr_sleep nap;
    intptr_t before, after;
} reader;

typedef struct reads {
    intptr_t before, after;
} reads;

static kr_poll reader_poll(kr_future *f, kr_context *cx, void *out) {
    reader *r = (reader *)f;
    if (r->state == 0) {
        r->before = get_or(r->key, -1);
        if (get_or(r->key, -1) != r->before) /* read twice: the same */
            r->before = -2;
        r->nap = kr_sleep_for(kr_ms(r->sleep_ms));
        r->state = 1;
    }
    if (r->sleep_ms > 0 && kr_future_poll(&r->nap.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    r->after = get_or(r->key, -1);
    reads *o = out;
    o->before = r->before;
    o->after = r->after;
    kr_future_drop(&r->nap.base);
    r->state = 2;
    return KR_READY;
}

static void reader_drop(kr_future *f) {
    reader *r = (reader *)f;
    if (r->state == 1)
        kr_future_drop(&r->nap.base);
}

static const kr_future_vtable reader_vt = {
    reader_poll, reader_drop, sizeof(reader), sizeof(reads), "reader"};

static reader reader_make(int sleep_ms) {
    reader r;
    memset(&r, 0, sizeof(r));
    r.base.vtable = &reader_vt;
    r.key = &REQ_ID;
    r.sleep_ms = sleep_ms;
    return r;
}

/* A task: a scope of `key` = `value` around a reader, both inside it.
 * The scope points at the reader, so it is made at the first poll (the
 * spawn copies the task's future before that). */
typedef struct scoped {
    kr_future base;
    const kr_task_local *key;
    intptr_t value;
    int started;
    kr_task_local_scope scope;
    reader inner;
    reads got;
} scoped;

static kr_poll scoped_poll(kr_future *f, kr_context *cx, void *out) {
    scoped *s = (scoped *)f;
    if (!s->started) {
        s->started = 1;
        s->scope = kr_task_local_scope_new(s->key, (void *)s->value,
                                           &s->inner.base, &s->got);
    }
    if (kr_future_poll(&s->scope.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    *(reads *)out = s->got;
    return KR_READY;
}

static void scoped_drop(kr_future *f) {
    scoped *s = (scoped *)f;
    if (s->started)
        kr_future_drop(&s->scope.base);
    else
        kr_future_drop(&s->inner.base);
}

static const kr_future_vtable scoped_vt = {
    scoped_poll, scoped_drop, sizeof(scoped), sizeof(reads), "scoped"};

static scoped scoped_make(const kr_task_local *key, intptr_t value,
                          int sleep_ms) {
    scoped s;
    memset(&s, 0, sizeof(s));
    s.base.vtable = &scoped_vt;
    s.key = key;
    s.value = value;
    s.inner.base.vtable = &reader_vt;
    s.inner.key = key;
    s.inner.sleep_ms = sleep_ms;
    return s;
}

/* tokio task_local.rs::local */
static void local(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    scoped a = scoped_make(&REQ_ID, 1, 0);
    scoped b = scoped_make(&REQ_ID, 2, 10);
    scoped c = scoped_make(&FOO, 1, 0);
    kr_join_handle ja, jb, jc;
    assert_rc(kr_runtime_spawn(rt, &a.base, &ja), 0);
    assert_rc(kr_runtime_spawn(rt, &b.base, &jb), 0);
    assert_rc(kr_runtime_spawn(rt, &c.base, &jc), 0);
    reads ra, rb, rc;
    assert_rc(kr_runtime_block_on(rt, &ja.base, &ra), 0);
    assert_rc(kr_runtime_block_on(rt, &jb.base, &rb), 0);
    assert_rc(kr_runtime_block_on(rt, &jc.base, &rc), 0);
    assert_int_equal(ra.before, 1);
    assert_int_equal(ra.after, 1);
    assert_int_equal(rb.before, 2);
    assert_int_equal(rb.after, 2); /* across the sleep */
    assert_int_equal(rc.before, 1);
    test_runtime_free(rt);
}

/* ---- the value in the inner future's drop --------------------------------- */

typedef struct drop_reader {
    kr_future base;
    int pending;
    test_latch *polled;
    atomic_long *in_drop;
} drop_reader;

static kr_poll drop_reader_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    drop_reader *d = (drop_reader *)f;
    if (d->polled != NULL)
        test_latch_add(d->polled, 1);
    return d->pending ? KR_PENDING : KR_READY;
}

static void drop_reader_drop(kr_future *f) {
    drop_reader *d = (drop_reader *)f;
    atomic_store(d->in_drop, (long)get_or(&REQ_ID, -1));
}

static const kr_future_vtable drop_reader_vt = {
    drop_reader_poll, drop_reader_drop, sizeof(drop_reader), 0, "drop_reader"};

typedef struct drop_scoped {
    kr_future base;
    int started;
    kr_task_local_scope scope;
    drop_reader inner;
} drop_scoped;

static kr_poll drop_scoped_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    drop_scoped *s = (drop_scoped *)f;
    if (!s->started) {
        s->started = 1;
        s->scope =
            kr_task_local_scope_new(&REQ_ID, (void *)42, &s->inner.base, NULL);
    }
    return kr_future_poll(&s->scope.base, cx, NULL);
}

static void drop_scoped_drop(kr_future *f) {
    drop_scoped *s = (drop_scoped *)f;
    if (s->started)
        kr_future_drop(&s->scope.base);
}

static const kr_future_vtable drop_scoped_vt = {
    drop_scoped_poll, drop_scoped_drop, sizeof(drop_scoped), 0, "drop_scoped"};

/* tokio task_local.rs::task_local_available_on_abort */
static void task_local_available_on_abort(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_latch polled;
    test_latch_init(&polled);
    atomic_long in_drop = 0;
    drop_scoped s = {{&drop_scoped_vt},
                     0,
                     {{NULL}, NULL, NULL, NULL, NULL, 0},
                     {{&drop_reader_vt}, 1, &polled, &in_drop}};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &s.base, &jh), 0);
    test_latch_wait w = test_latch_wait_for(&polled, 1);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    assert_rc(kr_join_handle_abort(&jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), KR_ECANCELED);
    assert_int_equal(atomic_load(&in_drop), 42);
    test_latch_destroy(&polled);
    test_runtime_free(rt);
}

/* tokio task_local.rs::task_local_available_on_completion_drop */
static void task_local_available_on_completion_drop(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    atomic_long in_drop = 0;
    drop_scoped s = {{&drop_scoped_vt},
                     0,
                     {{NULL}, NULL, NULL, NULL, NULL, 0},
                     {{&drop_reader_vt}, 0, NULL, &in_drop}};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &s.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_join_handle_error(&jh), 0);
    assert_int_equal(atomic_load(&in_drop), 42);
    test_runtime_free(rt);
}

/* tokio task_local.rs::take_value */
static void take_value(void **state) {
    (void)state;
    reader r = reader_make(0);
    kr_task_local_scope s =
        kr_task_local_scope_new(&REQ_ID, (void *)1, &r.base, NULL);
    void *v = NULL;
    assert_rc(kr_task_local_scope_take_value(&s, &v), 0);
    assert_ptr_equal(v, (void *)1);
    assert_rc(kr_task_local_scope_take_value(&s, &v), KR_ENOENT);
    assert_null(v);
    assert_rc(kr_task_local_scope_take_value(NULL, &v), KR_EINVAL);
    kr_future_drop(&s.base);
}

/* tokio task_local.rs::poll_after_take_value_should_fail, and ::get_value:
 * after take_value the inner future reads nothing, even under an outer
 * scope of the same key. */
static void poll_after_take_value_should_fail(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    reader r = reader_make(0);
    reads got = {0, 0};
    kr_task_local_scope s =
        kr_task_local_scope_new(&REQ_ID, (void *)1, &r.base, &got);
    void *v;
    assert_rc(kr_task_local_scope_take_value(&s, &v), 0);
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_int_equal(got.before, -1);
    assert_int_equal(got.after, -1);
    test_runtime_free(rt);
}

/* The body of get_value: a value read with the scope set. */
static void get_value(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    reader r = reader_make(0);
    reads got = {0, 0};
    kr_task_local_scope s =
        kr_task_local_scope_new(&REQ_ID, (void *)1, &r.base, &got);
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_int_equal(got.before, 1);
    assert_int_equal(got.after, 1);
    /* Outside any scope: KR_ENOENT, and NULL. */
    void *v = (void *)7;
    assert_rc(kr_task_local_get(&REQ_ID, &v), KR_ENOENT);
    assert_null(v);
    assert_rc(kr_task_local_get(NULL, &v), KR_EINVAL);
    assert_rc(kr_task_local_get(&REQ_ID, NULL), KR_EINVAL);
    test_runtime_free(rt);
}

/* ---- kairo: nesting, sync scopes, what does not see the value ------------ */

static void *read_both(void *arg) {
    intptr_t *o = arg;
    o[0] = get_or(&REQ_ID, -1);
    o[1] = get_or(&FOO, -1);
    return arg;
}

static void *nested_sync(void *arg) {
    intptr_t *o = arg;
    o[2] = get_or(&REQ_ID, -1); /* the outer one */
    kr_task_local_sync_scope(&REQ_ID, (void *)20, read_both, o);
    o[3] = get_or(&REQ_ID, -1); /* the outer one again */
    return arg;
}

static void task_local_sync_scope_nests(void **state) {
    (void)state;
    intptr_t o[4] = {0, 0, 0, 0};
    void *r = kr_task_local_sync_scope(&REQ_ID, (void *)10, nested_sync, o);
    assert_ptr_equal(r, o);
    assert_int_equal(o[0], 20);
    assert_int_equal(o[1], -1); /* another key */
    assert_int_equal(o[2], 10);
    assert_int_equal(o[3], 10);
    assert_int_equal(get_or(&REQ_ID, -1), -1);
    assert_null(kr_task_local_sync_scope(&REQ_ID, NULL, NULL, NULL));
}

/* A scope around a scope of the same key, polled across a sleep. */
typedef struct nest {
    kr_future base;
    int started;
    kr_task_local_scope outer, inner;
    reader r;
    reads got;
    intptr_t outside;
} nest;

static kr_poll nest_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    nest *n = (nest *)f;
    if (!n->started) {
        n->started = 1;
        n->inner =
            kr_task_local_scope_new(&REQ_ID, (void *)2, &n->r.base, &n->got);
        n->outer =
            kr_task_local_scope_new(&REQ_ID, (void *)1, &n->inner.base, NULL);
    }
    kr_poll p = kr_future_poll(&n->outer.base, cx, NULL);
    n->outside = get_or(&REQ_ID, -1); /* gone after each poll */
    return p;
}

static void nest_drop(kr_future *f) {
    nest *n = (nest *)f;
    if (n->started)
        kr_future_drop(&n->outer.base);
}

static const kr_future_vtable nest_vt = {nest_poll, nest_drop, sizeof(nest), 0,
                                         "nest"};

static void task_local_scopes_nest(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    nest n;
    memset(&n, 0, sizeof(n));
    n.base.vtable = &nest_vt;
    n.r.base.vtable = &reader_vt;
    n.r.key = &REQ_ID;
    n.r.sleep_ms = 5;
    assert_rc(kr_runtime_block_on(rt, &n.base, NULL), 0);
    assert_int_equal(n.got.before, 2);
    assert_int_equal(n.got.after, 2);
    assert_int_equal(n.outside, -1);
    test_runtime_free(rt);
}

/* A task spawned from inside a scope does not see the value. */
typedef struct spawn_in_scope {
    kr_future base;
    int started;
    kr_join_handle jh;
    reader child;
} spawn_in_scope;

static kr_poll spawn_in_scope_poll(kr_future *f, kr_context *cx, void *out) {
    spawn_in_scope *s = (spawn_in_scope *)f;
    if (!s->started) {
        s->started = 1;
        reader c = reader_make(0);
        if (kr_spawn(&c.base, &s->jh) != 0) {
            ((reads *)out)->before = -3;
            return KR_READY;
        }
    }
    return kr_future_poll(&s->jh.base, cx, out);
}

static const kr_future_vtable spawn_in_scope_vt = {
    spawn_in_scope_poll, NULL, sizeof(spawn_in_scope), sizeof(reads),
    "spawn_in_scope"};

static void task_local_not_inherited_by_spawned_task(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    spawn_in_scope sp;
    memset(&sp, 0, sizeof(sp));
    sp.base.vtable = &spawn_in_scope_vt;
    reads got = {0, 0};
    kr_task_local_scope s =
        kr_task_local_scope_new(&REQ_ID, (void *)5, &sp.base, &got);
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_int_equal(got.before, -1);
    assert_int_equal(got.after, -1);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(local),
    cmocka_unit_test(task_local_available_on_abort),
    cmocka_unit_test(task_local_available_on_completion_drop),
    cmocka_unit_test(take_value),
    cmocka_unit_test(poll_after_take_value_should_fail),
    cmocka_unit_test(get_value),
    cmocka_unit_test(task_local_sync_scope_nests),
    cmocka_unit_test(task_local_scopes_nest),
    cmocka_unit_test(task_local_not_inherited_by_spawned_task),
};
KR_TEST_MAIN(tests)
