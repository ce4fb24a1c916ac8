/*
 * Task dumps (kr_runtime_dump, kr_runtime_dump_format): text and JSON,
 * taken while the runtime runs. The JSON is parsed by Python's json module
 * and checked field by field. KR_TEST_FLAVORS: ct mt
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"

static bool is_mt(void) { return test_flavor() == KR_RUNTIME_MULTI_THREAD; }

static atomic_int parked_line;
static int spawn_line;

/* Parks forever at a known await. */
typedef struct parked {
    kr_future base;
    kr_coro co;
    test_pending p;
    test_latch *started;
} parked;

static kr_poll parked_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    parked *c = (parked *)f;
    KR_ASYNC_BEGIN(&c->co);
    c->p = test_pending_make(NULL, c->started);
    atomic_store(&parked_line, __LINE__ + 1);
    KR_AWAIT(&c->co, &c->p.base, cx, NULL);
    KR_ASYNC_END(&c->co);
}
KR_FUTURE_VTABLE(parked_vt, parked, parked_poll, NULL, 0);

/* Blocks its worker until released (multi-thread only). */
typedef struct hog {
    kr_future base;
    atomic_int *running, *release;
} hog;

static kr_poll hog_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    hog *h = (hog *)f;
    atomic_store(h->running, 1);
    for (int i = 0; i < 20000 && !atomic_load(h->release); i++)
        test_sleep_ms(1);
    return KR_READY;
}
KR_FUTURE_VTABLE(hog_vt, hog, hog_poll, NULL, 0);

static const char *read_all(int fd) {
    static char buf[65536];
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    return buf;
}

/* Spawns `n` parked tasks and drives the runtime until all have parked. */
static void spawn_parked(kr_runtime *rt, test_latch *started, int n) {
    for (int i = 0; i < n; i++) {
        parked p = {.base = {&parked_vt}, .started = started};
        spawn_line = __LINE__ + 1;
        kr_task_builder b = KR_TASK_BUILDER(.name = "park", .runtime = rt);
        assert_rc(kr_task_spawn(&b, &p.base, NULL), 0);
    }
    test_latch_wait w = test_latch_wait_for(started, n);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
}

/* Writes the JSON dump to a file and runs a Python check on it; the check
 * exits 0 when the document holds. */
static void check_json(kr_runtime *rt, int expect, const char *py) {
    char path[] = "/tmp/kr-dump-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(kr_runtime_dump_format(rt, fd, KR_DUMP_JSON), expect);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import json,sys\n"
             "d = json.load(open(sys.argv[1]))\n"
             "t = d[\"tasks\"]\n%s' %s",
             py, path);
    int rc = system(cmd);
    if (rc != 0) {
        fd = open(path, O_RDONLY);
        fail_msg("JSON check failed (%d):\n%s", rc, read_all(fd));
    }
    unlink(path);
}

static void dump_json_parses(void **state) {
    (void)state;
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = test_runtime(2);
    spawn_parked(rt, &started, 3);
    /* Wait until no task is still finishing its poll (multi-thread). */
    for (int i = 0; i < 5000; i++) {
        int fd = memfd_create("d", 0);
        kr_runtime_dump(rt, fd);
        bool busy = strstr(read_all(fd), " running ") != NULL;
        close(fd);
        if (!busy)
            break;
        test_sleep_ms(1);
    }
    char py[2048];
    snprintf(py, sizeof(py),
             "assert d[\"flavor\"] == \"%s\", d\n"
             "assert d[\"workers\"] == %d, d\n"
             "assert len(t) == 3, t\n"
             "ids = set()\n"
             "for x in t:\n"
             "    assert x[\"future\"] == \"parked\", x\n"
             "    assert x[\"name\"] == \"park\", x\n"
             "    assert x[\"spawn\"][\"file\"].endswith(\"test-dump.c\"), x\n"
             "    assert x[\"spawn\"][\"line\"] == %d, x\n"
             "    assert x[\"state\"] == \"idle\", x\n"
             "    assert x[\"worker\"] is None, x\n"
             "    a = x[\"await\"]\n"
             "    assert a[\"file\"].endswith(\"test-dump.c\"), a\n"
             "    assert a[\"line\"] == %d, a\n"
             "    assert a[\"func\"] == \"parked_poll\", a\n"
             "    assert x[\"id\"] > 0 and x[\"id\"] not in ids, x\n"
             "    ids.add(x[\"id\"])\n",
             is_mt() ? "multi_thread" : "current_thread", is_mt() ? 2 : 1,
             spawn_line, atomic_load(&parked_line));
    check_json(rt, 3, py);
    assert_rc(kr_runtime_shutdown(rt), 0);
    check_json(rt, 0, "assert t == [], t\n");
    test_runtime_free(rt);
    test_latch_destroy(&started);
}

/* A dump taken while a worker is inside a poll names that worker, and the
 * runtime is not stopped by it. */
static void dump_names_running_worker(void **state) {
    (void)state;
    if (!is_mt())
        skip(); /* on current-thread, the dumping thread is the poller */
    kr_runtime *rt = test_runtime(2);
    atomic_int running = 0, release = 0;
    hog h = {{&hog_vt}, &running, &release};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &h.base, &jh), 0);
    for (int i = 0; i < 20000 && !atomic_load(&running); i++)
        test_sleep_ms(1);
    assert_true(atomic_load(&running));
    check_json(rt, 1,
               "assert len(t) == 1, t\n"
               "x = t[0]\n"
               "assert x[\"future\"] == \"hog\", x\n"
               "assert x[\"state\"] == \"running\", x\n"
               "assert x[\"worker\"] in (0, 1), x\n"
               "assert x[\"await\"] is None, x\n"
               "assert x[\"name\"] is None and x[\"spawn\"] is None, x\n");
    int fd = memfd_create("d", 0);
    assert_int_equal(kr_runtime_dump(rt, fd), 1);
    const char *text = read_all(fd);
    close(fd);
    if (strstr(text, " hog running at - on worker ") == NULL)
        fail_msg("unexpected dump: %s", text);
    atomic_store(&release, 1);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    test_runtime_free(rt);
}

/* ---- tracked tasks: polls, time since the last poll, parent ---------- */

/* Polled exactly `n` times: the first poll spawns a parked child, the next
 * n - 2 wake themselves, the last parks forever. */
typedef struct family {
    kr_future base;
    int polls, n;
    test_pending p;
    test_latch *started;
    kr_task_id_t *id;
} family;

static kr_poll family_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    family *c = (family *)f;
    if (++c->polls == 1) {
        *c->id = kr_task_id();
        parked child = {.base = {&parked_vt}, .started = c->started};
        assert_rc(kr_spawn(&child.base, NULL), 0);
        c->p = test_pending_make(NULL, c->started);
    }
    if (c->polls < c->n) {
        kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    return kr_future_poll(&c->p.base, cx, NULL);
}
KR_FUTURE_VTABLE(family_vt, family, family_poll, NULL, 0);

static kr_runtime *tracked_runtime(void) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    c.track_tasks = true;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

/* Writes a JSON dump to `path` (a mkstemp template, filled in). */
static void dump_to(kr_runtime *rt, char *path, int expect) {
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(kr_runtime_dump_format(rt, fd, KR_DUMP_JSON), expect);
    close(fd);
}

/* The parent polled exactly 5 times, its child once and spawned from it;
 * the idle tasks' time since their last poll grows between two dumps by
 * at least the time between them. */
static void dump_polls_parent_since_poll(void **state) {
    (void)state;
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = tracked_runtime();
    kr_task_id_t pid = 0;
    family fam = {
        .base = {&family_vt}, .n = 5, .started = &started, .id = &pid};
    assert_rc(kr_runtime_spawn(rt, &fam.base, NULL), 0);
    test_latch_wait w = test_latch_wait_for(&started, 2);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    /* Both have parked; on multi-thread the last poll may still be
     * returning: polls and the poll's start are recorded before it. */
    char p1[] = "/tmp/kr-dump-XXXXXX", p2[] = "/tmp/kr-dump-XXXXXX";
    dump_to(rt, p1, 2);
    test_sleep_ms(60);
    dump_to(rt, p2, 2);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import json,sys\n"
             "a = json.load(open(sys.argv[1]))[\"tasks\"]\n"
             "b = json.load(open(sys.argv[2]))[\"tasks\"]\n"
             "def by(t, f): return [x for x in t if x[\"future\"] == f][0]\n"
             "p, c = by(a, \"family\"), by(a, \"parked\")\n"
             "assert p[\"id\"] == %llu, p\n"
             "assert p[\"polls\"] == 5 and c[\"polls\"] == 1, a\n"
             "assert p[\"parent\"] == 0, p\n"
             "assert c[\"parent\"] == p[\"id\"], c\n"
             "for f in (\"family\", \"parked\"):\n"
             "    x, y = by(a, f), by(b, f)\n"
             "    assert x[\"since_poll_ns\"] >= 0, x\n"
             "    assert y[\"polls\"] == x[\"polls\"], (x, y)\n"
             "    assert y[\"since_poll_ns\"] >= x[\"since_poll_ns\"] + "
             "59000000, (x, y)\n"
             "' %s %s",
             (unsigned long long)pid, p1, p2);
    int rc = system(cmd);
    if (rc != 0) {
        int fd = open(p1, O_RDONLY);
        fail_msg("JSON check failed (%d):\n%s", rc, read_all(fd));
    }
    /* The text form says the same. */
    int fd = memfd_create("d", 0);
    assert_int_equal(kr_runtime_dump(rt, fd), 2);
    const char *text = read_all(fd);
    close(fd);
    char want[128];
    snprintf(want, sizeof(want), ", 1 polls, last ");
    if (strstr(text, " family idle at ") == NULL ||
        strstr(text, ", 5 polls, last ") == NULL || strstr(text, want) == NULL)
        fail_msg("unexpected dump: %s", text);
    snprintf(want, sizeof(want), ", parent %llu\n", (unsigned long long)pid);
    if (strstr(text, want) == NULL)
        fail_msg("no parent in dump: %s", text);
    unlink(p1);
    unlink(p2);
    test_runtime_free(rt);
    test_latch_destroy(&started);
}

/* A builder's task keeps its meta (name, spawn site) before the record. */
static void dump_tracked_named_tasks(void **state) {
    (void)state;
    test_latch started;
    test_latch_init(&started);
    kr_runtime *rt = tracked_runtime();
    spawn_parked(rt, &started, 3);
    char py[1024];
    snprintf(py, sizeof(py),
             "assert len(t) == 3, t\n"
             "for x in t:\n"
             "    assert x[\"name\"] == \"park\", x\n"
             "    assert x[\"spawn\"][\"line\"] == %d, x\n"
             "    assert x[\"polls\"] == 1 and x[\"parent\"] == 0, x\n"
             "    assert x[\"since_poll_ns\"] >= 0, x\n",
             spawn_line);
    check_json(rt, 3, py);
    test_runtime_free(rt);
    test_latch_destroy(&started);
}

/* A task not polled yet says so (null), and without track_tasks the
 * fields are absent. */
static void dump_untracked_has_no_poll_fields(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    test_latch started;
    test_latch_init(&started);
    spawn_parked(rt, &started, 1);
    check_json(rt, 1,
               "assert len(t) == 1, t\n"
               "assert \"polls\" not in t[0] and \"parent\" not in t[0], t\n"
               "assert \"since_poll_ns\" not in t[0], t\n");
    test_runtime_free(rt);
    test_latch_destroy(&started);
}

static void dump_tracked_never_polled(void **state) {
    (void)state;
    if (is_mt())
        skip(); /* a worker would poll it before the dump */
    kr_runtime *rt = tracked_runtime();
    parked p = {.base = {&parked_vt}, .started = NULL};
    assert_rc(kr_runtime_spawn(rt, &p.base, NULL), 0);
    check_json(rt, 1,
               "assert len(t) == 1, t\n"
               "x = t[0]\n"
               "assert x[\"state\"] == \"scheduled\", x\n"
               "assert x[\"polls\"] == 0 and x[\"parent\"] == 0, x\n"
               "assert x[\"since_poll_ns\"] is None, x\n");
    test_runtime_free(rt);
}

static void dump_format_errors(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    assert_rc(kr_runtime_dump_format(NULL, 1, KR_DUMP_JSON), KR_EINVAL);
    assert_rc(kr_runtime_dump_format(rt, -1, KR_DUMP_JSON), KR_EINVAL);
    assert_rc(kr_runtime_dump_format(rt, 1, (kr_dump_format)7), KR_EINVAL);
    int p[2];
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    /* Nothing to write: an empty text dump never touches the fd. */
    assert_int_equal(kr_runtime_dump(rt, p[1]), 0);
    signal(SIGPIPE, SIG_IGN);
    assert_rc(kr_runtime_dump_format(rt, p[1], KR_DUMP_JSON), KR_EIO);
    close(p[1]);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dump_json_parses),
        cmocka_unit_test(dump_names_running_worker),
        cmocka_unit_test(dump_format_errors),
        cmocka_unit_test(dump_polls_parent_since_poll),
        cmocka_unit_test(dump_untracked_has_no_poll_fields),
        cmocka_unit_test(dump_tracked_named_tasks),
        cmocka_unit_test(dump_tracked_never_polled),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
