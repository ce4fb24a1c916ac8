/*
 * The spawn builder (kairo/task.h), after tokio/tests/task_builder.rs: a
 * named task and a named blocking job run and know their name; without a
 * name they have none. kairo's own: the name is copied (the caller's
 * buffer may change at once) and cut at KR_TASK_NAME_MAX, the dump shows
 * the name and the spawn site the macro recorded, an in-place spawn and a
 * spawn onto a given runtime from a plain thread, bad arguments, and (in
 * the debug build) an error message naming the task.
 * Not ported: the spawn_local tests (local task sets are another part of
 * issue 12). KR_TEST_FLAVORS: ct mt
 */
#include <unistd.h>

#include "test.h"

/* ---- a future that reports its name ----------------------------------- */

typedef struct name_fut {
    kr_future base;
    int pending; /* stay pending (for the dump) */
} name_fut;

typedef struct name_out {
    char name[KR_TASK_NAME_MAX + 2];
    int has_name;
    kr_task_id_t id;
} name_out;

static kr_poll name_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    if (((name_fut *)f)->pending)
        return KR_PENDING;
    name_out *o = out;
    const char *n = kr_task_name();
    o->has_name = n != NULL;
    snprintf(o->name, sizeof(o->name), "%s", n ? n : "");
    o->id = kr_task_id();
    return KR_READY;
}

static const kr_future_vtable name_vt = {name_poll, NULL, sizeof(name_fut),
                                         sizeof(name_out), "name_fut"};

static name_out join(kr_runtime *rt, kr_join_handle *jh) {
    name_out o;
    memset(&o, 0x55, sizeof(o));
    assert_rc(kr_runtime_block_on(rt, &jh->base, &o), 0);
    return o;
}

/* tokio task_builder.rs::spawn_with_name */
static void spawn_with_name(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    name_fut f = {{&name_vt}, 0};
    kr_join_handle jh;
    kr_task_builder b = KR_TASK_BUILDER(.name = "name", .runtime = rt);
    assert_rc(kr_task_spawn(&b, &f.base, &jh), 0);
    kr_task_id_t id = kr_join_handle_id(&jh);
    name_out o = join(rt, &jh);
    assert_true(o.has_name);
    assert_string_equal(o.name, "name");
    assert_true(o.id == id && id != 0);
    test_runtime_free(rt);
}

/* tokio task_builder.rs::spawn_without_name */
static void spawn_without_name(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    name_fut f = {{&name_vt}, 0};
    kr_join_handle jh;
    kr_task_builder b = KR_TASK_BUILDER(.runtime = rt);
    assert_rc(kr_task_spawn(&b, &f.base, &jh), 0);
    name_out o = join(rt, &jh);
    assert_false(o.has_name);
    assert_true(o.id != 0);
    /* A plain spawn has no name either. */
    assert_rc(kr_runtime_spawn(rt, &f.base, &jh), 0);
    o = join(rt, &jh);
    assert_false(o.has_name);
    test_runtime_free(rt);
}

static void *blocking_name(void *arg) {
    name_out *o = arg;
    const char *n = kr_task_name();
    o->has_name = n != NULL;
    snprintf(o->name, sizeof(o->name), "%s", n ? n : "");
    o->id = kr_task_id();
    return o;
}

static void blocking_named(const char *name) {
    kr_runtime *rt = test_runtime(0);
    name_out o;
    memset(&o, 0, sizeof(o));
    kr_join_handle jh;
    kr_task_builder b = KR_TASK_BUILDER(.name = name, .runtime = rt);
    assert_rc(kr_task_spawn_blocking(&b, blocking_name, &o, &jh), 0);
    kr_task_id_t id = kr_join_handle_id(&jh);
    void *r = NULL;
    assert_rc(kr_runtime_block_on(rt, &jh.base, &r), 0);
    assert_ptr_equal(r, &o);
    assert_true(o.id == id && id != 0);
    if (name != NULL) {
        assert_true(o.has_name);
        assert_string_equal(o.name, name);
    } else {
        assert_false(o.has_name);
    }
    test_runtime_free(rt);
}

/* tokio task_builder.rs::spawn_blocking_with_name */
static void spawn_blocking_with_name(void **state) {
    (void)state;
    blocking_named("name");
}

/* tokio task_builder.rs::spawn_blocking_without_name */
static void spawn_blocking_without_name(void **state) {
    (void)state;
    blocking_named(NULL);
}

/* kairo: the name is copied at the spawn, and cut at KR_TASK_NAME_MAX. */
static void builder_name_is_copied_and_cut(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char buf[64];
    snprintf(buf, sizeof(buf), "conn-%d", 7);
    name_fut f = {{&name_vt}, 0};
    kr_join_handle jh;
    kr_task_builder b = KR_TASK_BUILDER(.name = buf, .runtime = rt);
    assert_rc(kr_task_spawn(&b, &f.base, &jh), 0);
    memset(buf, 'x', sizeof(buf) - 1); /* the caller reuses its buffer */
    name_out o = join(rt, &jh);
    assert_string_equal(o.name, "conn-7");

    char longname[KR_TASK_NAME_MAX + 40];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    b.name = longname;
    assert_rc(kr_task_spawn(&b, &f.base, &jh), 0);
    o = join(rt, &jh);
    assert_int_equal(strlen(o.name), KR_TASK_NAME_MAX);
    assert_memory_equal(o.name, longname, KR_TASK_NAME_MAX);
    test_runtime_free(rt);
}

/* Reads what kr_runtime_dump wrote for `rt`. */
static char *dump_text(kr_runtime *rt, int *listed) {
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    *listed = kr_runtime_dump(rt, fileno(tmp));
    static char text[8192];
    lseek(fileno(tmp), 0, SEEK_SET);
    ssize_t n = read(fileno(tmp), text, sizeof(text) - 1);
    assert_true(n >= 0);
    text[n] = '\0';
    fclose(tmp);
    return text;
}

/* kairo: the dump line of a builder's task shows its name and the site of
 * the KR_TASK_BUILDER that made the builder; a plain task's shows
 * neither. */
static void dump_shows_name_and_spawn_site(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    name_fut f = {{&name_vt}, 1};
    kr_join_handle named, plain;
    int line = __LINE__ + 1;
    kr_task_builder b = KR_TASK_BUILDER(.name = "worker-3", .runtime = rt);
    assert_rc(kr_task_spawn(&b, &f.base, &named), 0);
    assert_rc(kr_runtime_spawn(rt, &f.base, &plain), 0);
    int listed = 0;
    char *text = dump_text(rt, &listed);
    assert_int_equal(listed, 2);
    char want[256];
    snprintf(want, sizeof(want), "task %llu name_fut",
             (unsigned long long)kr_join_handle_id(&named));
    char *l1 = strstr(text, want);
    assert_non_null(l1);
    snprintf(want, sizeof(want), "\"worker-3\" spawned at %s:%d\n", __FILE__,
             line);
    char *eol = strchr(l1, '\n');
    char *m = strstr(l1, want);
    assert_non_null(m);
    assert_true(m < eol);
    snprintf(want, sizeof(want), "task %llu name_fut",
             (unsigned long long)kr_join_handle_id(&plain));
    char *l2 = strstr(text, want);
    assert_non_null(l2);
    eol = strchr(l2, '\n');
    char *sp = strstr(l2, "spawned at");
    assert_true(sp == NULL || sp > eol);
    kr_join_handle_abort(&named);
    kr_join_handle_abort(&plain);
    kr_join_handle_drop(&named);
    kr_join_handle_drop(&plain);
    test_runtime_free(rt);
}

/* ---- in place, from a plain thread, and the named macro ---------------- */

static int name_init(kr_future *f, void *arg) {
    ((name_fut *)f)->pending = *(int *)arg;
    return 0;
}

static void builder_spawn_in_place(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_join_handle jh;
    int pending = 0;
    kr_task_builder b = KR_TASK_BUILDER(.name = "in-place", .runtime = rt);
    assert_rc(kr_task_spawn_in_place(&b, &name_vt, name_init, &pending, &jh),
              0);
    name_out o = join(rt, &jh);
    assert_string_equal(o.name, "in-place");
    test_runtime_free(rt);
}

/* A spawner future: spawns a named task onto the runtime it runs in
 * (no .runtime) with KR_SPAWN_NAMED and awaits it. */
typedef struct spawner {
    kr_future base;
    int started;
    kr_join_handle jh;
    name_fut child;
} spawner;

static kr_poll spawner_poll(kr_future *f, kr_context *cx, void *out) {
    spawner *s = (spawner *)f;
    if (!s->started) {
        s->started = 1;
        s->child = (name_fut){{&name_vt}, 0};
        if (KR_SPAWN_NAMED("child", &s->child.base, &s->jh) != 0) {
            memset(out, 0, sizeof(name_out));
            return KR_READY;
        }
    }
    return kr_future_poll(&s->jh.base, cx, out);
}

static const kr_future_vtable spawner_vt = {spawner_poll, NULL, sizeof(spawner),
                                            sizeof(name_out), "spawner"};

static void spawn_named_macro_inside_runtime(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    spawner s = {{&spawner_vt}, 0, {{NULL}, NULL, 0, 0}, {{NULL}, 0}};
    name_out o;
    memset(&o, 0, sizeof(o));
    assert_rc(kr_runtime_block_on(rt, &s.base, &o), 0);
    assert_string_equal(o.name, "child");
    test_runtime_free(rt);
}

static void builder_bad_arguments(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    name_fut f = {{&name_vt}, 0};
    kr_join_handle jh;
    kr_task_builder b = KR_TASK_BUILDER(.name = "x");
    /* No runtime given, none running here. */
    assert_rc(kr_task_spawn(&b, &f.base, &jh), KR_EINVAL);
    assert_true(kr_join_handle_id(&jh) == 0);
    b.runtime = rt;
    assert_rc(kr_task_spawn(NULL, &f.base, &jh), KR_EINVAL);
    assert_rc(kr_task_spawn(&b, NULL, &jh), KR_EINVAL);
    kr_future bad = {NULL};
    assert_rc(kr_task_spawn(&b, &bad, &jh), KR_EINVAL);
    assert_rc(kr_task_spawn_in_place(&b, &name_vt, NULL, NULL, &jh), KR_EINVAL);
    assert_rc(kr_task_spawn_blocking(&b, NULL, NULL, &jh), KR_EINVAL);
    assert_rc(kr_task_spawn_blocking(NULL, blocking_name, NULL, &jh),
              KR_EINVAL);
    assert_rc(kr_runtime_shutdown(rt), 0);
    assert_rc(kr_task_spawn(&b, &f.base, &jh), KR_ESHUTDOWN);
    test_runtime_free(rt);
}

/* ---- an error that names the task (debug build) ------------------------- */

static int init_breaks_vtable(kr_future *f, void *arg) {
    (void)arg;
    f->vtable = &spawner_vt;
    return 0;
}

static void child_init_breaks_vtable(void) {
    kr_runtime *rt = test_runtime(0);
    kr_join_handle jh;
    kr_task_builder b = KR_TASK_BUILDER(.name = "broken-init", .runtime = rt);
    (void)kr_task_spawn_in_place(&b, &name_vt, init_breaks_vtable, NULL, &jh);
    _exit(3); /* the check should have aborted */
}

static void error_names_the_task(void **state) {
    (void)state;
#if defined(KR_DEBUG) && KR_DEBUG
    test_expect_abort(child_init_breaks_vtable, "\"broken-init\"");
#else
    (void)child_init_breaks_vtable;
    skip(); /* the check is the debug build's */
#endif
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(spawn_with_name),
    cmocka_unit_test(spawn_without_name),
    cmocka_unit_test(spawn_blocking_with_name),
    cmocka_unit_test(spawn_blocking_without_name),
    cmocka_unit_test(builder_name_is_copied_and_cut),
    cmocka_unit_test(dump_shows_name_and_spawn_site),
    cmocka_unit_test(builder_spawn_in_place),
    cmocka_unit_test(spawn_named_macro_inside_runtime),
    cmocka_unit_test(builder_bad_arguments),
    cmocka_unit_test(error_names_the_task),
};
KR_TEST_MAIN(tests)
