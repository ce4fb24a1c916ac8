/*
 * Child processes (kairo/process.h): exit codes and signals, pipes in both
 * directions (10 MiB read slowly), env and cwd, kill-on-drop, 200 children
 * at once, a missing program, output(), and Tokio's tokio/tests/process_*.rs.
 * Every test ends by checking that this process has no child left, zombie
 * or running.
 * KR_TEST_FLAVORS: ct mt
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* No child of ours left at all: waitpid says there is none to wait for. */
static void assert_no_children(void) {
    int st;
    pid_t r = waitpid(-1, &st, WNOHANG);
    if (r != -1 || errno != ECHILD)
        fail_msg("a child is left behind (waitpid: %d)", (int)r);
}

/* Zombies whose parent is this process, from /proc. */
static int zombies_of_self(void) {
    DIR *d = opendir("/proc");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *p = strrchr(buf, ')');
        char state;
        int ppid;
        if (p != NULL && sscanf(p + 1, " %c %d", &state, &ppid) == 2 &&
            ppid == getpid() && state == 'Z')
            n++;
    }
    closedir(d);
    return n;
}

static kr_command *sh(const char *script) {
    kr_command *c = kr_command_new("sh");
    assert_non_null(c);
    kr_command_arg(c, "-c");
    kr_command_arg(c, script);
    return c;
}

/* Awaits a future with an int output on rt. */
static int run_int(kr_runtime *rt, kr_future *f) {
    int v = -12345;
    assert_rc(kr_runtime_block_on(rt, f, &v), 0);
    return v;
}

/* Spawns, waits, frees; returns the status. */
static kr_exit_status run_status(kr_runtime *rt, kr_command *cmd) {
    kr_child *ch;
    assert_rc(kr_command_spawn(cmd, &ch), 0);
    kr_exit_status st = {-2, -2};
    kr_child_wait_future w = kr_child_wait(ch, &st);
    assert_rc(run_int(rt, &w.base), 0);
    kr_child_free(ch);
    return st;
}

static void spawn_true(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = kr_command_new("true");
    kr_exit_status st = run_status(rt, c);
    assert_int_equal(st.code, 0);
    assert_int_equal(st.signal, 0);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

static void spawn_false(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = kr_command_new("false");
    assert_int_equal(run_status(rt, c).code, 1);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

static void exit_codes(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    static const int codes[] = {0, 3, 42, 127, 255};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char script[32];
        snprintf(script, sizeof(script), "exit %d", codes[i]);
        kr_command *c = sh(script);
        kr_exit_status st = run_status(rt, c);
        assert_int_equal(st.code, codes[i]);
        assert_int_equal(st.signal, 0);
        kr_command_free(c);
    }
    test_runtime_free(rt);
    assert_no_children();
}

static void killed_by_signal(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = sh("kill -TERM $$; sleep 10");
    kr_exit_status st = run_status(rt, c);
    assert_int_equal(st.code, -1);
    assert_int_equal(st.signal, SIGTERM);
    kr_command_free(c);
    /* And by kr_child_kill. */
    c = kr_command_new("sleep");
    kr_command_arg(c, "100");
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    assert_rc(kr_child_try_wait(ch, NULL), 0);
    assert_rc(kr_child_kill(ch), 0);
    kr_child_wait_future w = kr_child_wait(ch, &st);
    assert_rc(run_int(rt, &w.base), 0);
    assert_int_equal(st.signal, SIGKILL);
    kr_command_free(c);
    kr_child_free(ch);
    test_runtime_free(rt);
    assert_no_children();
}

/* process_smoke.rs: simple (wait twice gives the same status). */
static void simple(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = sh("exit 2");
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    assert_true(kr_child_id(ch) > 0);
    kr_exit_status st;
    kr_child_wait_future w = kr_child_wait(ch, &st);
    assert_rc(run_int(rt, &w.base), 0);
    assert_int_equal(st.code, 2);
    w = kr_child_wait(ch, &st);
    assert_rc(run_int(rt, &w.base), 0);
    assert_int_equal(st.code, 2);
    assert_rc(kr_child_try_wait(ch, &st), 1);
    assert_rc(kr_child_kill(ch), 0);
    kr_child_free(ch);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* process_kill_after_wait.rs: kill_after_wait. */
static void kill_after_wait(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = sh("exit 2");
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    assert_rc(kr_child_kill(ch), 0);
    kr_child_wait_future w = kr_child_wait(ch, NULL);
    assert_rc(run_int(rt, &w.base), 0);
    assert_rc(kr_child_kill(ch), 0);
    kr_child_free(ch);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* process_change_of_runtime.rs:
 * process_spawned_and_wait_in_different_runtime (and spawned outside any
 * runtime: kairo allows it). */
static void process_spawned_and_wait_in_different_runtime(void **state) {
    (void)state;
    kr_command *c = kr_command_new("true");
    kr_command_stdin(c, KR_STDIO_PIPE);
    kr_command_stdout(c, KR_STDIO_NULL);
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    kr_runtime *rt = test_runtime(0);
    kr_child_wait_future w = kr_child_wait(ch, NULL);
    assert_rc(run_int(rt, &w.base), 0);
    kr_child_free(ch);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* Reads a pipe to its end, slowly (a 1 ms sleep every 16 reads of 4 KiB);
 * output: an int64_t, the bytes read, or an error. */
typedef struct slow_reader {
    kr_future base;
    kr_coro co;
    kr_pipe *p;
    kr_pipe_io rd;
    kr_sleep s;
    int64_t n, total;
    long reads;
    char buf[4096];
} slow_reader;

static kr_poll slow_poll(kr_future *f, kr_context *cx, void *out) {
    slow_reader *r = (slow_reader *)f;
    KR_ASYNC_BEGIN(&r->co);
    for (;;) {
        r->rd = kr_pipe_read(r->p, r->buf, sizeof(r->buf));
        KR_AWAIT(&r->co, &r->rd.base, cx, &r->n);
        if (r->n <= 0)
            break;
        if (!test_all_zero(r->buf, (size_t)r->n))
            KR_RETURN(&r->co, out, int64_t, -1000);
        r->total += r->n;
        if (++r->reads % 16 == 0) {
            r->s = kr_sleep_until(kr_instant_add(kr_instant_now(), kr_ms(1)));
            KR_AWAIT(&r->co, &r->s.base, cx, NULL);
        }
    }
    KR_RETURN(&r->co, out, int64_t, r->n < 0 ? r->n : r->total);
    KR_ASYNC_END(&r->co);
}

static void slow_drop(kr_future *f) { kr_coro_drop(&((slow_reader *)f)->co); }

static const kr_future_vtable slow_vt = {
    slow_poll, slow_drop, sizeof(slow_reader), sizeof(int64_t), "slow_reader"};

/* A child writing 10 MiB while the parent reads slowly: no deadlock, every
 * byte arrives. */
static void large_stdout_read_slowly(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = kr_command_new("head");
    kr_command_arg(c, "-c");
    kr_command_arg(c, "10485760");
    kr_command_arg(c, "/dev/zero");
    kr_command_stdout(c, KR_STDIO_PIPE);
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    slow_reader *r = calloc(1, sizeof(*r));
    r->base.vtable = &slow_vt;
    r->p = kr_child_stdout(ch);
    int64_t total = 0;
    assert_rc(kr_runtime_block_on(rt, &r->base, &total), 0);
    free(r); /* block_on dropped it */
    assert_int_equal(total, 10485760);
    kr_exit_status st;
    kr_child_wait_future w = kr_child_wait(ch, &st);
    assert_rc(run_int(rt, &w.base), 0);
    assert_int_equal(st.code, 0);
    kr_child_free(ch);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* stdin and stdout piped through `cat`: what goes in comes out, and
 * closing stdin ends it. */
typedef struct cat_io {
    kr_future base;
    kr_coro co;
    kr_child *ch;
    kr_pipe *in;
    kr_pipe_io io;
    int64_t n;
    size_t got;
    char *src, *dst;
    size_t len;
} cat_io;

static kr_poll cat_poll(kr_future *f, kr_context *cx, void *out) {
    cat_io *c = (cat_io *)f;
    KR_ASYNC_BEGIN(&c->co);
    c->in = kr_child_take_stdin(c->ch);
    c->io = kr_pipe_write_all(c->in, c->src, c->len);
    KR_AWAIT(&c->co, &c->io.base, cx, &c->n);
    kr_pipe_free(c->in);
    if (c->n != (int64_t)c->len)
        KR_RETURN(&c->co, out, int64_t, c->n);
    for (;;) {
        c->io = kr_pipe_read(kr_child_stdout(c->ch), c->dst + c->got,
                             c->len + 1 - c->got);
        KR_AWAIT(&c->co, &c->io.base, cx, &c->n);
        if (c->n <= 0)
            break;
        c->got += (size_t)c->n;
    }
    KR_RETURN(&c->co, out, int64_t, c->n < 0 ? c->n : (int64_t)c->got);
    KR_ASYNC_END(&c->co);
}

static const kr_future_vtable cat_vt = {cat_poll, NULL, sizeof(cat_io),
                                        sizeof(int64_t), "cat_io"};

static void stdin_piped(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = kr_command_new("cat");
    kr_command_stdin(c, KR_STDIO_PIPE);
    kr_command_stdout(c, KR_STDIO_PIPE);
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    /* Small enough for the pipe buffers: write all, then read all. */
    size_t len = 32 * 1024;
    cat_io io = {{&cat_vt},
                 KR_CORO_INIT,
                 ch,
                 NULL,
                 {{NULL}, NULL, NULL, 0, 0},
                 0,
                 0,
                 malloc(len),
                 malloc(len + 1),
                 len};
    test_pattern_fill(io.src, len, 7);
    int64_t got = 0;
    assert_rc(kr_runtime_block_on(rt, &io.base, &got), 0);
    assert_int_equal(got, (int64_t)len);
    assert_memory_equal(io.src, io.dst, len);
    free(io.src);
    free(io.dst);
    kr_exit_status st;
    kr_child_wait_future w = kr_child_wait(ch, &st);
    assert_rc(run_int(rt, &w.base), 0);
    assert_int_equal(st.code, 0);
    kr_child_free(ch);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

static void run_output(kr_runtime *rt, kr_command *c, size_t limit,
                       kr_output *o) {
    kr_command_output_future f = kr_command_output(c, limit, o);
    assert_rc(run_int(rt, &f.base), 0);
}

static void env_and_cwd(void **state) {
    (void)state;
    setenv("KR_TEST_GONE", "still here", 1);
    setenv("KR_TEST_KEPT", "kept", 1);
    kr_runtime *rt = test_runtime(0);
    kr_command *c =
        sh("printf '%s|%s|%s|%s' \"$KR_FOO\" \"${KR_TEST_GONE-unset}\" "
           "\"$KR_TEST_KEPT\" \"$(pwd)\"");
    kr_command_env(c, "KR_FOO", "first");
    kr_command_env(c, "KR_FOO", "bar");
    kr_command_env_remove(c, "KR_TEST_GONE");
    kr_command_cwd(c, "/");
    kr_output o;
    run_output(rt, c, 4096, &o);
    assert_string_equal(o.out, "bar|unset|kept|/");
    assert_int_equal(o.status.code, 0);
    kr_output_free(&o);
    /* A cleared environment keeps only what is set after. */
    kr_command_env_clear(c);
    kr_command_env(c, "KR_FOO", "only");
    run_output(rt, c, 4096, &o);
    assert_string_equal(o.out, "only|unset||/");
    kr_output_free(&o);
    kr_command_free(c);
    /* A missing directory is KR_ENOENT from spawn. */
    c = kr_command_new("true");
    kr_command_cwd(c, "/nonexistent-kairo-dir");
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), KR_ENOENT);
    kr_command_free(c);
    unsetenv("KR_TEST_GONE");
    unsetenv("KR_TEST_KEPT");
    test_runtime_free(rt);
    assert_no_children();
}

/* output(): stdout and stderr apart, the exit code, and the limit. */
static void output_collects_and_limits(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = sh("echo out; echo err >&2; exit 3");
    kr_output o;
    run_output(rt, c, 4096, &o);
    assert_string_equal(o.out, "out\n");
    assert_string_equal(o.err, "err\n");
    assert_int_equal(o.status.code, 3);
    assert_false(o.truncated);
    kr_output_free(&o);
    kr_command_free(c);
    c = kr_command_new("head");
    kr_command_arg(c, "-c");
    kr_command_arg(c, "1000000");
    kr_command_arg(c, "/dev/zero");
    run_output(rt, c, 1000, &o);
    assert_int_equal(o.out_len, 1000);
    assert_true(o.truncated);
    assert_int_equal(o.status.code, 0);
    assert_int_equal(o.err_len, 0);
    kr_output_free(&o);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* process_kill_on_drop.rs: kill_on_drop (the child is killed when freed;
 * a grandchild it started is not). */
static void kill_on_drop(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    /* exec: the child itself sleeps (a grandchild would hold stdout open
     * for its 100 s); the subshell is the grandchild that survives. */
    kr_command *c = sh("(sleep 1; echo child ran) & exec sleep 100");
    kr_command_kill_on_drop(c, true);
    kr_command_stdout(c, KR_STDIO_PIPE);
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    pid_t pid = kr_child_id(ch);
    kr_sleep s = kr_sleep_until(kr_instant_add(kr_instant_now(), kr_ms(200)));
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    kr_pipe *out = kr_child_take_stdout(ch);
    kr_child_free(ch);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    char buf[256];
    size_t got = 0;
    for (;;) {
        kr_pipe_io rd = kr_pipe_read(out, buf + got, sizeof(buf) - 1 - got);
        int64_t n = 0;
        assert_rc(kr_runtime_block_on(rt, &rd.base, &n), 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    assert_string_equal(buf, "child ran\n");
    kr_pipe_free(out);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* A child freed unreaped without kill-on-drop goes on running and is
 * reaped later (the orphan list), never left a zombie. */
static void orphan_reaped_later(void **state) {
    (void)state;
    kr_command *c = sh("sleep 0.1");
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    kr_child_free(ch);
    test_sleep_ms(400);
    kr_command_free(c);
    /* The next spawn reaps it. */
    kr_runtime *rt = test_runtime(0);
    c = kr_command_new("true");
    assert_int_equal(run_status(rt, c).code, 0);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* process_issue_42.rs: issue_42, scaled to 200 children at once: each task
 * spawns and waits for its own. */
typedef struct one_child {
    kr_future base;
    kr_coro co;
    int i;
    kr_child *ch;
    kr_child_wait_future w;
    kr_exit_status st;
    int rc;
} one_child;

static kr_poll one_poll(kr_future *f, kr_context *cx, void *out) {
    one_child *o = (one_child *)f;
    KR_ASYNC_BEGIN(&o->co);
    {
        char script[32];
        snprintf(script, sizeof(script), "exit %d", o->i % 100);
        kr_command *c = kr_command_new("sh");
        kr_command_arg(c, "-c");
        kr_command_arg(c, script);
        kr_command_stdin(c, KR_STDIO_NULL);
        kr_command_stdout(c, KR_STDIO_NULL);
        kr_command_kill_on_drop(c, true);
        o->rc = kr_command_spawn(c, &o->ch);
        kr_command_free(c);
        if (o->rc != 0)
            KR_RETURN(&o->co, out, int, o->rc);
    }
    o->w = kr_child_wait(o->ch, &o->st);
    KR_AWAIT(&o->co, &o->w.base, cx, &o->rc);
    kr_child_free(o->ch);
    o->ch = NULL;
    if (o->rc == 0 && o->st.code != o->i % 100)
        o->rc = -1000;
    KR_RETURN(&o->co, out, int, o->rc);
    KR_ASYNC_END(&o->co);
}

static void one_drop(kr_future *f) { kr_child_free(((one_child *)f)->ch); }

static const kr_future_vtable one_vt = {one_poll, one_drop, sizeof(one_child),
                                        sizeof(int), "one_child"};

static void issue_42(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    long n = test_scale(200);
    kr_join_handle *h = calloc((size_t)n, sizeof(*h));
    for (long i = 0; i < n; i++) {
        one_child o = {{&one_vt}, KR_CORO_INIT,         (int)i,
                       NULL,      {{NULL}, NULL, NULL}, {0, 0},
                       0};
        assert_rc(kr_runtime_spawn(rt, &o.base, &h[i]), 0);
    }
    for (long i = 0; i < n; i++)
        assert_rc(run_int(rt, &h[i].base), 0);
    free(h);
    test_runtime_free(rt);
    assert_no_children();
}

/* process_issue_2174.rs: issue_2174 (writing to the stdin of a child that
 * is killed ends with an error, KR_EPIPE, not a hang or SIGPIPE). */
static void issue_2174(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_command *c = kr_command_new("sleep");
    kr_command_arg(c, "2");
    kr_command_stdin(c, KR_STDIO_PIPE);
    kr_command_stdout(c, KR_STDIO_NULL);
    kr_child *ch;
    assert_rc(kr_command_spawn(c, &ch), 0);
    kr_pipe *in = kr_child_take_stdin(ch);
    static char data[1 << 20];
    kr_pipe_io wa = kr_pipe_write_all(in, data, sizeof(data));
    kr_timeout t = kr_timeout_new(&wa.base, kr_ms(100), NULL);
    assert_rc(run_int(rt, &t.base), KR_ELAPSED);
    assert_rc(kr_child_kill(ch), 0);
    kr_child_wait_future w = kr_child_wait(ch, NULL);
    assert_rc(run_int(rt, &w.base), 0);
    kr_pipe_io wr = kr_pipe_write(in, data, 8192);
    int64_t n = 0;
    assert_rc(kr_runtime_block_on(rt, &wr.base, &n), 0);
    assert_int_equal(n, KR_EPIPE);
    kr_pipe_free(in);
    kr_child_free(ch);
    kr_command_free(c);
    test_runtime_free(rt);
    assert_no_children();
}

/* A program that does not exist: KR_ENOENT from spawn, no zombie. */
static void missing_program(void **state) {
    (void)state;
    kr_child *ch = NULL;
    kr_command *c = kr_command_new("kairo-no-such-program");
    assert_rc(kr_command_spawn(c, &ch), KR_ENOENT);
    kr_command_free(c);
    c = kr_command_new("/nonexistent/kairo");
    kr_command_stdout(c, KR_STDIO_PIPE);
    assert_rc(kr_command_spawn(c, &ch), KR_ENOENT);
    kr_command_free(c);
    c = kr_command_new("/etc/passwd");
    assert_rc(kr_command_spawn(c, &ch), KR_EACCES);
    kr_command_free(c);
    assert_null(ch);
    assert_int_equal(zombies_of_self(), 0);
    assert_no_children();
}

static void misuse(void **state) {
    (void)state;
    kr_child *ch;
    assert_null(kr_command_new(NULL));
    assert_rc(kr_command_spawn(NULL, &ch), KR_EINVAL);
    kr_command *c = kr_command_new("true");
    assert_rc(kr_command_spawn(c, NULL), KR_EINVAL);
    kr_command_env(c, "A=B", "x");
    assert_rc(kr_command_spawn(c, &ch), KR_EINVAL);
    kr_command_free(c);
    assert_rc(kr_child_try_wait(NULL, NULL), KR_EINVAL);
    assert_rc(kr_child_kill(NULL), KR_EINVAL);
    kr_child_free(NULL);
    kr_pipe_free(NULL);
    kr_command_free(NULL);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spawn_true),
        cmocka_unit_test(spawn_false),
        cmocka_unit_test(exit_codes),
        cmocka_unit_test(killed_by_signal),
        cmocka_unit_test(simple),
        cmocka_unit_test(kill_after_wait),
        cmocka_unit_test(process_spawned_and_wait_in_different_runtime),
        cmocka_unit_test(large_stdout_read_slowly),
        cmocka_unit_test(stdin_piped),
        cmocka_unit_test(env_and_cwd),
        cmocka_unit_test(output_collects_and_limits),
        cmocka_unit_test(kill_on_drop),
        cmocka_unit_test(orphan_reaped_later),
        cmocka_unit_test(issue_42),
        cmocka_unit_test(issue_2174),
        cmocka_unit_test(missing_program),
        cmocka_unit_test(misuse),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
