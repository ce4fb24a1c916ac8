/*
 * The live console's server (kr_runtime_config.console_path,
 * KAIRO_CONSOLE; console/console.h, docs/observability.md): its line
 * protocol, its clients (many, vanishing, garbage), its socket file (too
 * long, stale, taken, removed at teardown), answering while every worker
 * is stuck, the warning ring, and costing nothing when off. Tokio has no
 * built-in console (tokio-console is a separate crate over tracing), so
 * nothing here is ported. Deadlines are generous (30 s) and met by
 * polling, never by sleeping a fixed time.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "console/ring.h"
#include "json.h"
#include "test.h"

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void nap_ms(unsigned ms) {
    struct timespec d = {0, (long)ms * 1000000};
    nanosleep(&d, NULL);
}

/* A fresh directory with the socket path in it. */
typedef struct place {
    char dir[32];
    char path[64];
} place;

static void place_make(place *p) {
    snprintf(p->dir, sizeof(p->dir), "/tmp/kr-console-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->path, sizeof(p->path), "%s/c.sock", p->dir);
}

static void place_clean(place *p) {
    unlink(p->path);
    rmdir(p->dir);
}

static int threads_now(void) {
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static kr_runtime *console_runtime(kr_runtime_flavor fl, const char *path) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = fl;
    c.workers = 2;
    c.console_path = path;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    return rt;
}

static int conn(const char *path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(k > 0);
        s += k;
        n -= (size_t)k;
    }
}

/* One reply line (malloc'd), or NULL at EOF; fails after 30 s. */
static char *read_line(int fd) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    uint64_t deadline = now_ms() + 30000;
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        struct pollfd pf = {fd, POLLIN, 0};
        uint64_t t = now_ms();
        assert_true(t < deadline);
        int pr = poll(&pf, 1, (int)(deadline - t));
        assert_true(pr >= 0);
        if (pr == 0)
            fail_msg("no reply within 30 s");
        /* One byte at a time is slow; replies end at the first newline,
         * and nothing is asked for before the last reply was read. */
        ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
        if (k <= 0) {
            free(buf);
            return NULL;
        }
        len += (size_t)k;
        char *nl = memchr(buf, '\n', len);
        if (nl != NULL) {
            assert_true(nl == buf + len - 1); /* one reply at a time */
            *nl = '\0';
            return buf;
        }
    }
}

/* Parses one reply line into *out; fails the test if it is not JSON. */
static void parse_reply(const char *line, json *out) {
    char err[128];
    if (json_parse(line, strlen(line), out, err, sizeof(err)) != 0)
        fail_msg("reply is not JSON (%s): %.200s", err, line);
}

/* Sends `cmd` and parses the one reply. */
static void ask(int fd, const char *cmd, json *out) {
    send_all(fd, cmd, strlen(cmd));
    char *line = read_line(fd);
    assert_non_null(line);
    parse_reply(line, out);
    free(line);
}

/* A fresh place and a runtime of flavor `fl` serving a console there. */
static kr_runtime *serve(place *p, kr_runtime_flavor fl) {
    place_make(p);
    return console_runtime(fl, p->path);
}

/* Frees the runtime (which removes the socket) and the place. */
static void unserve(kr_runtime *rt, place *p) {
    test_runtime_free(rt);
    place_clean(p);
}

/* Connects to the console at `path` (asserting that it accepts), asks
 * `cmd` and parses the one reply into *out (the caller json_frees it).
 * Returns the connection, for more questions or close. */
static int conn_ask(const char *path, const char *cmd, json *out) {
    int fd = conn(path);
    assert_true(fd >= 0);
    ask(fd, cmd, out);
    return fd;
}

/* The console at `path` answers a ping on a connection of its own. */
static void ping_once(const char *path) {
    json r;
    close(conn_ask(path, "ping\n", &r));
    assert_true(json_get(&r, "ok")->boolean);
    json_free(&r);
}

/* ---- futures -------------------------------------------------------- */

/* Pending forever (dropped by the shutdown). */
static kr_poll idle_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f, (void)cx, (void)out;
    return KR_PENDING;
}
static const kr_future_vtable idle_vt = {idle_poll, NULL, sizeof(kr_future), 0,
                                         "idle"};

static void spawn_idle(kr_runtime *rt, const char *name) {
    kr_future f = {&idle_vt};
    kr_task_builder b = KR_TASK_BUILDER(.name = name, .runtime = rt);
    assert_rc(kr_task_spawn(&b, &f, NULL), 0);
}

/* Spins in its first poll until *release is set. */
typedef struct hog {
    kr_future base;
    atomic_int *release;
    atomic_int *started;
} hog;
static kr_poll hog_poll(kr_future *f, kr_context *cx, void *out) {
    hog *h = (hog *)f;
    (void)cx, (void)out;
    atomic_fetch_add(h->started, 1);
    while (!atomic_load(h->release))
        ;
    return KR_READY;
}
static const kr_future_vtable hog_vt = {hog_poll, NULL, sizeof(hog), 0, "hog"};

/* Spins `ms` in one poll. */
typedef struct slow {
    kr_future base;
    unsigned ms;
} slow;
static kr_poll slow_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    uint64_t end = now_ms() + ((slow *)f)->ms;
    while (now_ms() < end)
        ;
    return KR_READY;
}
static const kr_future_vtable slow_vt = {slow_poll, NULL, sizeof(slow), 0,
                                         "slow"};

static size_t count_state(const json *snap, const char *state) {
    const json *tasks = json_get(json_get(snap, "dump"), "tasks");
    size_t n = 0;
    for (size_t i = 0; tasks != NULL && i < tasks->n; i++) {
        const char *s = json_get_str(json_at(tasks, i), "state");
        if (s != NULL && strcmp(s, state) == 0)
            n++;
    }
    return n;
}

static bool has_task_named(const json *snap, const char *name) {
    const json *tasks = json_get(json_get(snap, "dump"), "tasks");
    for (size_t i = 0; tasks != NULL && i < tasks->n; i++) {
        const char *s = json_get_str(json_at(tasks, i), "name");
        if (s != NULL && strcmp(s, name) == 0)
            return true;
    }
    return false;
}

/* ---- the tests ---------------------------------------------------------- */

static void snapshot_lists_workers_and_tasks(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_MULTI_THREAD);
    spawn_idle(rt, "alpha");
    spawn_idle(rt, "beta");
    spawn_idle(rt, "gamma");
    json s;
    int fd = conn_ask(p.path, "snapshot\n", &s);
    assert_int_equal(json_get_u64(&s, "version", 0), 1);
    assert_string_equal(json_get_str(&s, "flavor"), "multi_thread");
    assert_int_equal(json_get_u64(&s, "pid", 0), (uint64_t)getpid());
    const json *m = json_get(&s, "metrics");
    assert_int_equal(json_get_u64(m, "workers", 0), 2);
    assert_int_equal(json_get_u64(m, "alive", 0), 3);
    const json *ws = json_get(&s, "worker_metrics");
    assert_non_null(ws);
    assert_int_equal(ws->n, 2);
    assert_int_equal(json_get_u64(json_at(ws, 1), "worker", 9), 1);
    assert_non_null(json_get(json_at(ws, 0), "busy_ns"));
    assert_int_equal(json_get_u64(&s, "tasks", 0), 3);
    const json *dump = json_get(&s, "dump");
    assert_int_equal(json_get_u64(dump, "workers", 0), 2);
    assert_int_equal(json_get(dump, "tasks")->n, 3);
    assert_true(has_task_named(&s, "alpha") && has_task_named(&s, "gamma"));
    /* The console's defaults: a poll histogram, slow polls over 10 ms,
     * workers blocked for 1 s. */
    const json *h = json_get(json_get(&s, "histograms"), "poll_time");
    assert_int_equal(json_get(h, "buckets")->n, 20);
    h = json_get(json_get(&s, "histograms"), "sched_latency");
    assert_int_equal(json_get(h, "buckets")->n, 20);
    assert_non_null(json_get(json_at(ws, 0), "sched_latency"));
    /* ... and task tracking: the dump's polls, since_poll_ns, parent. */
    const json *t0 = json_at(json_get(dump, "tasks"), 0);
    assert_non_null(json_get(t0, "polls"));
    assert_non_null(json_get(t0, "since_poll_ns"));
    assert_int_equal(json_get_u64(t0, "parent", 9), 0); /* from outside */
    assert_int_equal(json_get_u64(&s, "slow_poll_ns", 0), 10000000);
    assert_int_equal(json_get_u64(&s, "blocked_worker_ns", 0), 1000000000);
    assert_int_equal(json_get(json_get(&s, "warnings"), "entries")->n, 0);
    json_free(&s);
    /* The other commands, on the same connection. */
    ask(fd, "metrics\n", &s);
    assert_non_null(json_get(&s, "metrics"));
    assert_null(json_get(&s, "dump"));
    json_free(&s);
    ask(fd, "tasks\n", &s);
    assert_int_equal(json_get(json_get(&s, "dump"), "tasks")->n, 3);
    assert_null(json_get(&s, "metrics"));
    json_free(&s);
    ask(fd, "ping\r\n", &s);
    assert_true(json_get(&s, "ok")->boolean);
    json_free(&s);
    close(fd);
    unserve(rt, &p);
}

static void current_thread_snapshot_has_tasks_between_block_ons(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_CURRENT_THREAD);
    spawn_idle(rt, "resting");
    json s;
    int fd = conn_ask(p.path, "snapshot\n", &s);
    assert_string_equal(json_get_str(&s, "flavor"), "current_thread");
    assert_int_equal(json_get_u64(json_get(&s, "metrics"), "workers", 0), 1);
    assert_true(has_task_named(&s, "resting"));
    /* Its watchdog reports blocked polls; the dump tracks polls. */
    assert_int_equal(json_get_u64(&s, "blocked_worker_ns", 7), 1000000000);
    const json *t0 = json_at(json_get(json_get(&s, "dump"), "tasks"), 0);
    assert_non_null(json_get(t0, "polls"));
    json_free(&s);
    close(fd);
    unserve(rt, &p);
}

static void garbage_command_gets_an_error_and_the_connection_lives(void **s_) {
    (void)s_;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_MULTI_THREAD);
    json r;
    int fd = conn_ask(p.path, "frobnicate\n", &r);
    assert_string_equal(json_get_str(&r, "error"), "unknown command");
    assert_string_equal(json_get_str(&r, "command"), "frobnicate");
    json_free(&r);
    /* Bytes that are no text at all: quotes, control characters, a NUL. */
    static const char junk[] = "\"\x01\x02\\\xff\xfe{]\0tail\n";
    send_all(fd, junk, sizeof(junk) - 1);
    char *line = read_line(fd);
    assert_non_null(line);
    parse_reply(line, &r);
    assert_string_equal(json_get_str(&r, "error"), "unknown command");
    json_free(&r);
    free(line);
    /* An empty line asks nothing; the next command is answered. */
    ask(fd, "\n\nsnapshot\n", &r);
    assert_non_null(json_get(&r, "metrics"));
    json_free(&r);
    close(fd);
    unserve(rt, &p);
}

static void overlong_line_is_refused_and_closed(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_MULTI_THREAD);
    int fd = conn(p.path);
    char big[3000];
    memset(big, 'x', sizeof(big));
    send_all(fd, big, sizeof(big));
    char *line = read_line(fd);
    assert_non_null(line);
    assert_non_null(strstr(line, "line too long"));
    free(line);
    assert_null(read_line(fd)); /* closed */
    close(fd);
    ping_once(p.path); /* the server goes on */
    unserve(rt, &p);
}

static void vanished_clients_do_not_disturb_the_server(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_MULTI_THREAD);
    /* Enough tasks that a snapshot is far bigger than a socket buffer. */
    for (int i = 0; i < 3000; i++) {
        char name[32];
        snprintf(name, sizeof(name), "task-with-a-long-name-%d", i);
        spawn_idle(rt, name);
    }
    for (int i = 0; i < 20; i++) {
        int fd = conn(p.path);
        assert_true(fd >= 0);
        int small = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
        if (i % 3 == 0) {
            send_all(fd, "snap", 4); /* half a command */
        } else {
            send_all(fd, "snapshot\nsnapshot\n", 18);
            if (i % 3 == 2) { /* read a little of the reply first */
                char some[100];
                ssize_t k = recv(fd, some, sizeof(some), 0);
                assert_true(k > 0);
            }
        }
        close(fd); /* gone, with the reply unread */
    }
    json r;
    close(conn_ask(p.path, "snapshot\n", &r));
    assert_int_equal(json_get(json_get(&r, "dump"), "tasks")->n, 3000);
    json_free(&r);
    unserve(rt, &p);
}

static void many_clients_are_served_and_one_too_many_is_told(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_MULTI_THREAD);
    spawn_idle(rt, "one");
    enum { N = 33 }; /* the server serves 32 at once */
    int fd[N];
    for (int i = 0; i < N; i++) {
        fd[i] = conn(p.path);
        assert_true(fd[i] >= 0);
    }
    int ok = 0, refused = 0;
    for (int i = 0; i < N; i++) {
        (void)send(fd[i], "snapshot\n", 9, MSG_NOSIGNAL);
    }
    for (int i = 0; i < N; i++) {
        char *line = read_line(fd[i]);
        if (line != NULL && strstr(line, "too many clients") != NULL) {
            refused++;
        } else if (line != NULL) {
            json r;
            parse_reply(line, &r);
            assert_true(has_task_named(&r, "one"));
            json_free(&r);
            ok++;
        } else {
            refused++; /* closed before it could read the refusal */
        }
        free(line);
    }
    assert_int_equal(ok, 32);
    assert_int_equal(refused, 1);
    for (int i = 0; i < N; i++)
        close(fd[i]);
    unserve(rt, &p);
}

static void socket_path_too_long_is_einval(void **state) {
    (void)state;
    char path[200];
    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    kr_runtime_config c = kr_runtime_config_default();
    c.console_path = path;
    kr_runtime *rt = (kr_runtime *)&c;
    int before = threads_now();
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_null(rt);
    c.console_path = "";
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_int_equal(threads_now(), before);
}

static void stale_socket_file_is_replaced(void **state) {
    (void)state;
    place p;
    place_make(&p);
    /* A socket file nobody listens on: what a crashed process leaves. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", p.path);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    close(s);
    kr_runtime *rt = console_runtime(KR_RUNTIME_MULTI_THREAD, p.path);
    ping_once(p.path);
    unserve(rt, &p);
}

static void live_socket_or_other_file_is_left_alone(void **state) {
    (void)state;
    place p;
    place_make(&p);
    kr_runtime *first = console_runtime(KR_RUNTIME_MULTI_THREAD, p.path);
    kr_runtime_config c = kr_runtime_config_default();
    c.console_path = p.path;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), KR_EADDRINUSE);
    assert_null(rt);
    ping_once(p.path); /* the first one still serves */
    test_runtime_free(first);
    /* A regular file is nobody's socket: refused, and kept. */
    FILE *f = fopen(p.path, "w");
    assert_non_null(f);
    fputs("keep me\n", f);
    fclose(f);
    assert_rc(kr_runtime_new(&c, &rt), KR_EEXIST);
    struct stat st;
    assert_int_equal(stat(p.path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    place_clean(&p);
}

static void teardown_removes_the_socket_and_joins_the_thread(void **state) {
    (void)state;
    place p;
    place_make(&p);
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = 2;
    kr_runtime *plain = NULL;
    /* A first runtime starts whatever helper threads the process has
     * (TSan's); the counts are taken after it. */
    assert_rc(kr_runtime_new(&c, &plain), 0);
    test_runtime_free(plain);
    int before = threads_now();
    assert_rc(kr_runtime_new(&c, &plain), 0);
    int without = threads_now() - before;
    test_runtime_free(plain);
    uint64_t deadline = now_ms() + 30000;
    while (threads_now() != before && now_ms() < deadline)
        nap_ms(10);
    kr_runtime *rt = console_runtime(KR_RUNTIME_MULTI_THREAD, p.path);
    /* One thread more than the same runtime without a console. */
    assert_int_equal(threads_now() - before, without + 1);
    json r;
    int fd = conn_ask(p.path, "ping\n", &r); /* open when the runtime goes */
    json_free(&r);
    test_runtime_free(rt);
    assert_int_equal(access(p.path, F_OK), -1);
    assert_int_equal(errno, ENOENT);
    assert_null(read_line(fd)); /* the client sees the end */
    close(fd);
    assert_int_equal(conn(p.path), -1);
    /* Threads are joined, not just told: back to the count before. */
    deadline = now_ms() + 30000;
    while (threads_now() != before && now_ms() < deadline)
        nap_ms(10);
    assert_int_equal(threads_now(), before);
    place_clean(&p);
}

static void console_off_by_default_starts_no_thread(void **state) {
    (void)state;
    unsetenv("KAIRO_CONSOLE");
    int before = threads_now();
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(NULL, &rt), 0); /* current-thread: no thread */
    assert_int_equal(threads_now(), before);
    kr_runtime_free(rt);
}

static void environment_variable_serves_a_console(void **state) {
    (void)state;
    place p;
    place_make(&p);
    setenv("KAIRO_CONSOLE", p.path, 1);
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(NULL, &rt), 0);
    json r;
    close(conn_ask(p.path, "snapshot\n", &r));
    assert_string_equal(json_get_str(&r, "flavor"), "current_thread");
    json_free(&r);
    kr_runtime_free(rt);
    assert_int_equal(access(p.path, F_OK), -1);
    /* One that cannot be opened leaves the program its runtime. */
    char path[200];
    memset(path, 'b', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    setenv("KAIRO_CONSOLE", path, 1);
    int before = threads_now();
    assert_rc(kr_runtime_new(NULL, &rt), 0);
    assert_int_equal(threads_now(), before);
    kr_runtime_free(rt);
    unsetenv("KAIRO_CONSOLE");
    place_clean(&p);
}

static void answers_while_every_worker_is_blocked(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_MULTI_THREAD);
    atomic_int release, started;
    atomic_init(&release, 0);
    atomic_init(&started, 0);
    hog h = {{&hog_vt}, &release, &started};
    kr_task_builder b = KR_TASK_BUILDER(.name = "hog", .runtime = rt);
    assert_rc(kr_task_spawn(&b, &h.base, NULL), 0);
    assert_rc(kr_task_spawn(&b, &h.base, NULL), 0);
    spawn_idle(rt, "bystander");
    uint64_t deadline = now_ms() + 30000;
    while (atomic_load(&started) < 2 && now_ms() < deadline)
        nap_ms(5);
    assert_int_equal(atomic_load(&started), 2);
    /* Both workers are inside a poll that does not return. */
    json s;
    int fd = conn_ask(p.path, "snapshot\n", &s);
    assert_int_equal(count_state(&s, "running"), 2);
    assert_true(has_task_named(&s, "bystander"));
    json_free(&s);
    /* The monitor's blocked-worker reports reach the console while the
     * workers are still stuck (the console's default: 1 s). */
    size_t blocked = 0;
    while (blocked < 2 && now_ms() < deadline) {
        ask(fd, "warnings\n", &s);
        const json *e = json_get(json_get(&s, "warnings"), "entries");
        blocked = 0;
        for (size_t i = 0; e != NULL && i < e->n; i++) {
            const json *w = json_at(e, i);
            if (strcmp(json_get_str(w, "kind"), "worker_blocked") == 0) {
                blocked++;
                assert_non_null(strstr(json_get_str(w, "text"), "blocked"));
            }
        }
        json_free(&s);
        if (blocked < 2)
            nap_ms(50);
    }
    assert_int_equal(blocked, 2);
    atomic_store(&release, 1);
    close(fd);
    unserve(rt, &p);
}

typedef struct ct_blocker {
    kr_runtime *rt;
    kr_join_handle jh; /* of a hog task: block_on runs it */
} ct_blocker;

static void *ct_block_on_hog(void *arg) {
    ct_blocker *b = arg;
    kr_runtime_block_on(b->rt, &b->jh.base, NULL);
    return NULL;
}

static void current_thread_stuck_block_on_still_answers(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_CURRENT_THREAD);
    atomic_int release, started;
    atomic_init(&release, 0);
    atomic_init(&started, 0);
    hog h = {{&hog_vt}, &release, &started};
    ct_blocker b = {rt, {{NULL}, NULL, 0, 0}};
    kr_task_builder tb = KR_TASK_BUILDER(.name = "hog", .runtime = rt);
    assert_rc(kr_task_spawn(&tb, &h.base, &b.jh), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ct_block_on_hog, &b), 0);
    uint64_t deadline = now_ms() + 30000;
    while (atomic_load(&started) < 1 && now_ms() < deadline)
        nap_ms(5);
    assert_int_equal(atomic_load(&started), 1);
    int fd = conn(p.path);
    assert_true(fd >= 0);
    /* The watchdog's report arrives while the poll runs; the task list
     * belongs to the thread in block_on, so no dump meanwhile. */
    json s;
    uint64_t blocked = 0;
    while (blocked == 0 && now_ms() < deadline) {
        ask(fd, "snapshot\n", &s);
        assert_string_equal(json_get_str(&s, "dump_error"), "EBUSY");
        assert_non_null(json_get(&s, "metrics"));
        const json *e = json_get(json_get(&s, "warnings"), "entries");
        for (size_t i = 0; e != NULL && i < e->n; i++)
            if (strcmp(json_get_str(json_at(e, i), "kind"), "worker_blocked") ==
                0)
                blocked++;
        json_free(&s);
        if (blocked == 0)
            nap_ms(50);
    }
    assert_true(blocked >= 1);
    atomic_store(&release, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    close(fd);
    unserve(rt, &p);
}

/* What a configured reporter was told. */
static atomic_int user_reports;
static void count_report(const kr_poll_report *r, void *arg) {
    (void)r, (void)arg;
    atomic_fetch_add(&user_reports, 1);
}

static void run_slow(kr_runtime *rt, unsigned ms) {
    slow sl = {{&slow_vt}, ms};
    kr_join_handle jh;
    kr_task_builder b = KR_TASK_BUILDER(.name = "sluggish", .runtime = rt);
    assert_rc(kr_task_spawn(&b, &sl.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
}

/* The warnings once `n` were recorded: the worker reports a slow poll
 * after the poll returned, which may be after the join handle woke. */
static void wait_warnings(int fd, uint64_t n, json *s) {
    uint64_t deadline = now_ms() + 30000;
    for (;;) {
        ask(fd, "warnings\n", s);
        if (json_get_u64(json_get(s, "warnings"), "seq", 0) >= n ||
            now_ms() > deadline)
            return;
        json_free(s);
        nap_ms(5);
    }
}

static void slow_poll_reaches_the_console_and_the_reporter(void **state) {
    (void)state;
    place p;
    place_make(&p);
    atomic_store(&user_reports, 0);
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = 2;
    c.console_path = p.path;
    c.slow_poll_ns = 20 * 1000 * 1000; /* set here: the reporter hears too */
    c.on_poll_report = count_report;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    run_slow(rt, 60);
    int fd = conn(p.path);
    json s;
    wait_warnings(fd, 1, &s);
    const json *w = json_get(&s, "warnings");
    assert_int_equal(json_get_u64(w, "seq", 0), 1);
    const json *e = json_at(json_get(w, "entries"), 0);
    assert_non_null(e);
    assert_string_equal(json_get_str(e, "kind"), "slow_poll");
    assert_true(json_get_u64(e, "duration_ns", 0) >= 50000000);
    const char *text = json_get_str(e, "text");
    assert_non_null(strstr(text, "slow poll: task"));
    assert_non_null(strstr(text, "\"sluggish\" (slow)"));
    json_free(&s);
    close(fd);
    /* The workers are joined: every report call has returned. */
    assert_rc(kr_runtime_shutdown(rt), 0);
    assert_int_equal(atomic_load(&user_reports), 1);
    unserve(rt, &p);
}

static void console_defaults_stay_out_of_the_reporter(void **state) {
    (void)state;
    place p;
    place_make(&p);
    atomic_store(&user_reports, 0);
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = 2;
    c.console_path = p.path;
    c.on_poll_report = count_report; /* but no threshold of its own */
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    run_slow(rt, 60); /* over the console's 10 ms */
    int fd = conn(p.path);
    json s;
    wait_warnings(fd, 1, &s);
    assert_int_equal(json_get_u64(json_get(&s, "warnings"), "seq", 0), 1);
    json_free(&s);
    close(fd);
    /* The workers are joined: every report call has returned. */
    assert_rc(kr_runtime_shutdown(rt), 0);
    assert_int_equal(atomic_load(&user_reports), 0);
    unserve(rt, &p);
}

/* Slow polls, one after another, until the runtime goes. */
typedef struct sloth {
    kr_future base;
    atomic_int *started;
} sloth;
static kr_poll sloth_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    atomic_store(((sloth *)f)->started, 1);
    uint64_t end = now_ms() + 50;
    while (now_ms() < end)
        ;
    kr_waker_wake_by_ref(kr_context_waker(cx));
    return KR_PENDING;
}
static const kr_future_vtable sloth_vt = {sloth_poll, NULL, sizeof(sloth), 0,
                                          "sloth"};

static void
free_during_a_slow_poll_keeps_the_console_for_its_report(void **state) {
    (void)state;
    place p;
    kr_runtime *rt = serve(&p, KR_RUNTIME_MULTI_THREAD);
    atomic_int started;
    atomic_init(&started, 0);
    sloth sl = {{&sloth_vt}, &started};
    kr_task_builder b = KR_TASK_BUILDER(.name = "sloth", .runtime = rt);
    assert_rc(kr_task_spawn(&b, &sl.base, NULL), 0);
    uint64_t deadline = now_ms() + 30000;
    while (!atomic_load(&started) && now_ms() < deadline)
        nap_ms(1);
    /* The free closes the console while the worker is inside a 50 ms
     * poll, which it reports as it returns: the report must find the
     * console's ring still there (ASan and TSan builds check). */
    assert_rc(kr_runtime_free(rt), 0);
    assert_int_equal(access(p.path, F_OK), -1);
    place_clean(&p);
}

static void ring_keeps_the_latest_and_counts_all(void **state) {
    (void)state;
    kr__ring *r = malloc(sizeof(*r));
    assert_non_null(r);
    kr__ring_init(r);
    kr_poll_report rep;
    memset(&rep, 0, sizeof(rep));
    rep.future = "f";
    for (unsigned i = 1; i <= KR__RING_SLOTS + 36; i++) {
        rep.task_id = i;
        kr__ring_push(r, &rep);
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < KR__RING_SLOTS; i++) {
        kr__warning w;
        kr__ring_read(r, i, &w);
        assert_int_equal(w.task_id, w.seq); /* each entry whole */
        assert_non_null(strstr(w.text, "slow poll: task"));
        lo = w.seq < lo ? w.seq : lo;
        hi = w.seq > hi ? w.seq : hi;
    }
    assert_int_equal(hi, KR__RING_SLOTS + 36);
    assert_int_equal(lo, 37);
    free(r);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot_lists_workers_and_tasks),
        cmocka_unit_test(current_thread_snapshot_has_tasks_between_block_ons),
        cmocka_unit_test(
            garbage_command_gets_an_error_and_the_connection_lives),
        cmocka_unit_test(overlong_line_is_refused_and_closed),
        cmocka_unit_test(vanished_clients_do_not_disturb_the_server),
        cmocka_unit_test(many_clients_are_served_and_one_too_many_is_told),
        cmocka_unit_test(socket_path_too_long_is_einval),
        cmocka_unit_test(stale_socket_file_is_replaced),
        cmocka_unit_test(live_socket_or_other_file_is_left_alone),
        cmocka_unit_test(teardown_removes_the_socket_and_joins_the_thread),
        cmocka_unit_test(console_off_by_default_starts_no_thread),
        cmocka_unit_test(environment_variable_serves_a_console),
        cmocka_unit_test(answers_while_every_worker_is_blocked),
        cmocka_unit_test(current_thread_stuck_block_on_still_answers),
        cmocka_unit_test(slow_poll_reaches_the_console_and_the_reporter),
        cmocka_unit_test(console_defaults_stay_out_of_the_reporter),
        cmocka_unit_test(
            free_during_a_slow_poll_keeps_the_console_for_its_report),
        cmocka_unit_test(ring_keeps_the_latest_and_counts_all),
    };
    /* The console's own messages (a refused path) go to stderr: fine. */
    unsetenv("KAIRO_CONSOLE");
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
