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
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
