/*
 * Await sites. KR_AWAIT fills the context's site slot (cx->site) before
 * polling the awaited future: a probe future reads it during its poll, and
 * inside a task it names the innermost KR_AWAIT (file, function, line);
 * under block_on there is no slot. From outside, kr_runtime_dump lists each
 * live task with the await it is parked at. KR_TEST_FLAVORS: ct mt
 */
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

/* Records the await site it sees; pending on its first poll. */
typedef struct {
    kr_future base;
    int polls;
    int had_slot;
    const kr_await_site *seen;
    test_latch *parked;
} probe;

static kr_poll probe_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    probe *p = (probe *)f;
    p->had_slot = cx->site != NULL;
    p->seen = cx->site != NULL ? *cx->site : NULL;
    if (p->polls++ == 0) {
        kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(probe_vt, probe, probe_poll, NULL, 0);

typedef struct site_result {
    int had_slot;
    kr_await_site seen;
    int expect_line;
} site_result;

static void record(site_result *r, const probe *p) {
    r->had_slot = p->had_slot;
    if (p->seen != NULL)
        r->seen = *p->seen;
}

/* The inner coroutine: awaits the probe. */
typedef struct {
    kr_future base;
    kr_coro co;
    probe pr;
    site_result *r;
} site_inner;

static kr_poll site_inner_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    site_inner *s = (site_inner *)f;
    KR_ASYNC_BEGIN(&s->co);
    s->pr = (probe){.base = {&probe_vt}};
    s->r->expect_line = __LINE__ + 1;
    KR_AWAIT(&s->co, &s->pr.base, cx, NULL);
    record(s->r, &s->pr);
    KR_ASYNC_END(&s->co);
}
KR_FUTURE_VTABLE(site_inner_vt, site_inner, site_inner_poll, NULL, 0);

/* The task: awaits the probe directly, then through the inner coroutine. */
typedef struct {
    kr_future base;
    kr_coro co;
    probe pr;
    site_inner in;
    site_result *direct, *nested;
} site_task;

static kr_poll site_task_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    site_task *t = (site_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->pr = (probe){.base = {&probe_vt}};
    t->direct->expect_line = __LINE__ + 1;
    KR_AWAIT(&t->co, &t->pr.base, cx, NULL);
    record(t->direct, &t->pr);
    t->in = (site_inner){.base = {&site_inner_vt}, .r = t->nested};
    KR_AWAIT(&t->co, &t->in.base, cx, NULL);
    KR_ASYNC_END(&t->co);
}
KR_FUTURE_VTABLE(site_task_vt, site_task, site_task_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    site_task task;
    kr_join_handle jh;
    probe pr;
    site_result *in_block_on;
} site_main;

static kr_poll site_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    site_main *m = (site_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    assert_rc(kr_spawn(&m->task.base, &m->jh), 0);
    KR_AWAIT(&m->co, &m->jh.base, cx, NULL);
    m->pr = (probe){.base = {&probe_vt}};
    KR_AWAIT(&m->co, &m->pr.base, cx, NULL);
    record(m->in_block_on, &m->pr);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(site_main_vt, site_main, site_main_poll, NULL, 0);

static void check_site(const site_result *r, const char *func) {
    assert_true(r->had_slot);
    assert_non_null(r->seen.file);
    assert_non_null(r->seen.func);
    assert_string_equal(r->seen.func, func);
    assert_non_null(strstr(r->seen.file, "test-site.c"));
    assert_int_equal(r->seen.line, r->expect_line);
}

static void site_innermost_await_is_recorded(void **state) {
    (void)state;
    site_result direct, nested, in_block_on;
    memset(&direct, 0, sizeof(direct));
    memset(&nested, 0, sizeof(nested));
    memset(&in_block_on, 0, sizeof(in_block_on));
    kr_runtime *rt = test_runtime(0);
    site_main m = {.base = {&site_main_vt}, .in_block_on = &in_block_on};
    m.task.base.vtable = &site_task_vt;
    m.task.direct = &direct;
    m.task.nested = &nested;
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    check_site(&direct, "site_task_poll");
    check_site(&nested, "site_inner_poll"); /* the innermost await */
    /* block_on's context has no await-site slot. */
    assert_false(in_block_on.had_slot);
    test_runtime_free(rt);
}

/* ---- kr_runtime_dump ---------------------------------------------------- */

/* Written by tasks on any worker, read by the test: atomic. */
static atomic_int parked_line, nested_line;

/* Parks forever at a known line. */
typedef struct {
    kr_future base;
    kr_coro co;
    test_pending p;
    test_latch *started;
} parked_coro;

static kr_poll parked_coro_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    parked_coro *c = (parked_coro *)f;
    KR_ASYNC_BEGIN(&c->co);
    c->p = test_pending_make(NULL, c->started);
    parked_line = __LINE__ + 1;
    KR_AWAIT(&c->co, &c->p.base, cx, NULL);
    KR_ASYNC_END(&c->co);
}
KR_FUTURE_VTABLE(parked_coro_vt, parked_coro, parked_coro_poll, NULL, 0);

/* Parks inside a nested coroutine: the dump shows the inner await. */
typedef struct {
    kr_future base;
    kr_coro co;
    parked_coro inner;
    test_latch *started;
} nesting_coro;

static kr_poll nesting_coro_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    nesting_coro *c = (nesting_coro *)f;
    KR_ASYNC_BEGIN(&c->co);
    c->inner = (parked_coro){.base = {&parked_coro_vt}, .started = c->started};
    nested_line = __LINE__ + 1;
    KR_AWAIT(&c->co, &c->inner.base, cx, NULL);
    KR_ASYNC_END(&c->co);
}
KR_FUTURE_VTABLE(nesting_coro_vt, nesting_coro, nesting_coro_poll, NULL, 0);

typedef struct {
    kr_future base;
    kr_coro co;
    test_latch *started;
    test_latch_wait lw;
} dump_main;

static kr_poll dump_main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    dump_main *m = (dump_main *)f;
    KR_ASYNC_BEGIN(&m->co);
    {
        parked_coro a = {.base = {&parked_coro_vt}, .started = m->started};
        nesting_coro b = {.base = {&nesting_coro_vt}, .started = m->started};
        test_pending c = test_pending_make(NULL, m->started);
        assert_rc(kr_spawn(&a.base, NULL), 0);
        assert_rc(kr_spawn(&b.base, NULL), 0);
        assert_rc(kr_spawn(&c.base, NULL), 0);
    }
    m->lw = test_latch_wait_for(m->started, 3);
    KR_AWAIT(&m->co, &m->lw.base, cx, NULL);
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(dump_main_vt, dump_main, dump_main_poll, NULL, 0);

/* Dumps into a memory file and returns its text (static buffer). */
static const char *dump_text(kr_runtime *rt, int expect_tasks) {
    static char buf[8192];
    int fd = memfd_create("kr-dump", 0);
    assert_true(fd >= 0);
    assert_int_equal(kr_runtime_dump(rt, fd), expect_tasks);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
    return buf;
}

static void expect_line(const char *text, const char *name, int line,
                        const char *func) {
    char want[512];
    if (line > 0)
        snprintf(want, sizeof(want), " %s idle at %s:%d (%s)\n", name, __FILE__,
                 line, func);
    else
        snprintf(want, sizeof(want), " %s idle at -\n", name);
    if (strstr(text, want) == NULL)
        fail_msg("dump lacks \"%s\":\n%s", want, text);
}

static void site_dump_names_parked_await(void **state) {
    (void)state;
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = test_runtime(0);
    dump_main m = {.base = {&dump_main_vt}, .started = &started};
    assert_rc(kr_runtime_block_on(rt, &m.base, NULL), 0);
    /* The latch fires during each task's last poll: on the multi-thread
     * runtime a task may still be finishing it. Wait until all are idle. */
    const char *text = dump_text(rt, 3);
    for (int i = 0; i < 5000 && strstr(text, " running ") != NULL; i++) {
        test_sleep_ms(1);
        text = dump_text(rt, 3);
    }
    expect_line(text, "parked_coro", parked_line, "parked_coro_poll");
    /* The nested task is parked at the inner coroutine's await, not at
     * its own (nested_line). */
    expect_line(text, "nesting_coro", parked_line, "parked_coro_poll");
    assert_true(nested_line > 0);
    expect_line(text, "test_pending", 0, NULL); /* never awaited */
    assert_rc(kr_runtime_shutdown(rt), 0);
    dump_text(rt, 0); /* no live task left */
    test_runtime_free(rt);
    test_latch_destroy(&started);
}

static void site_dump_errors(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    assert_rc(kr_runtime_dump(NULL, 1), KR_EINVAL);
    assert_rc(kr_runtime_dump(rt, -1), KR_EINVAL);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(site_innermost_await_is_recorded),
    cmocka_unit_test(site_dump_names_parked_await),
    cmocka_unit_test(site_dump_errors),
};
KR_TEST_MAIN(tests)
