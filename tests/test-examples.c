/*
 * examples: drives examples/chat and examples/pipeline as a user would,
 * from outside, over TCP and stdout. Skipped (77) when the examples were
 * not built.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static void need(const char *path) {
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "%s not built: skipped\n", path);
        exit(77);
    }
}

/* Starts `argv` with its stdout on a pipe; returns the pid. */
static pid_t start(char *const argv[], int *out_fd) {
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
}

/* Reads one line (up to '\n') from fd within `ms`; returns its length, or
 * -1 on timeout or end. */
static int read_line(int fd, char *buf, size_t size, int ms) {
    size_t n = 0;
    while (n + 1 < size) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, ms) <= 0)
            return -1;
        ssize_t r = read(fd, buf + n, 1);
        if (r <= 0)
            return -1;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = 0;
    return (int)n;
}

/* True if fd reaches end of stream (the peer closed) within `ms`. */
static bool sees_eof(int fd, int ms) {
    char c;
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, ms) <= 0)
            return false;
        ssize_t r = read(fd, &c, 1);
        if (r == 0)
            return true;
        if (r < 0)
            return errno == ECONNRESET;
    }
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void say(int fd, const char *line) {
    size_t n = strlen(line);
    assert_int_equal(write(fd, line, n), (ssize_t)n);
}

static pid_t start_chat(const char *idle_ms, int *port) {
    static char path[] = KR_BIN_DIR "/chat";
    need(path);
    char *argv[] = {path, "--idle-ms", (char *)idle_ms, "--workers", "2", NULL};
    int out;
    pid_t pid = start(argv, &out);
    char line[128];
    assert_true(read_line(out, line, sizeof(line), 10000) > 0);
    const char *colon = strrchr(line, ':');
    assert_non_null(colon);
    *port = atoi(colon + 1);
    assert_true(*port > 0);
    close(out);
    return pid;
}

static void stop(pid_t pid) {
    kill(pid, SIGTERM);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* Three clients; each line reaches the two others, never its sender. */
static void chat_broadcasts_each_line_to_every_other_client(void **state) {
    (void)state;
    int port;
    pid_t pid = start_chat("60000", &port);
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = connect_to(port);
    /* The server numbers clients in accept order; wait until all three
     * are in by having each say something the others must see. */
    test_sleep_ms(100);
    say(c[0], "hello from one\n");
    char line[512];
    for (int i = 1; i < 3; i++) {
        assert_true(read_line(c[i], line, sizeof(line), 10000) > 0);
        assert_non_null(strstr(line, ": hello from one\n"));
    }
    say(c[1], "two here\nand again\n");
    for (int k = 0; k < 2; k++) {
        int i = k == 0 ? 0 : 2;
        assert_true(read_line(c[i], line, sizeof(line), 10000) > 0);
        assert_non_null(strstr(line, ": two here\n"));
        assert_true(read_line(c[i], line, sizeof(line), 10000) > 0);
        assert_non_null(strstr(line, ": and again\n"));
    }
    /* c[0] got nothing of its own: its next line is c[2]'s. */
    say(c[2], "three\n");
    assert_true(read_line(c[0], line, sizeof(line), 10000) > 0);
    assert_non_null(strstr(line, ": three\n"));
    assert_true(read_line(c[1], line, sizeof(line), 10000) > 0);
    assert_non_null(strstr(line, ": three\n"));
    for (int i = 0; i < 3; i++)
        close(c[i]);
    stop(pid);
}

/* A silent client is told goodbye and disconnected; one that keeps
 * talking stays. */
static void chat_disconnects_idle_client_with_goodbye(void **state) {
    (void)state;
    int port;
    pid_t pid = start_chat("2000", &port);
    int quiet = connect_to(port);
    int busy = connect_to(port);
    char line[512];
    /* busy talks every 100 ms for 3 s; quiet (idle limit 2 s) hears those
     * lines, then its goodbye. */
    bool got_goodbye = false;
    for (int i = 0; i < 30; i++) {
        say(busy, "still here\n");
        test_sleep_ms(100);
    }
    for (;;) {
        if (read_line(quiet, line, sizeof(line), 10000) <= 0)
            break;
        if (strstr(line, "goodbye") != NULL) {
            got_goodbye = true;
            break;
        }
    }
    assert_true(got_goodbye);
    assert_true(sees_eof(quiet, 10000));
    /* busy was not disconnected: it still hears a new client. */
    int other = connect_to(port);
    test_sleep_ms(50);
    say(other, "hi busy\n");
    assert_true(read_line(busy, line, sizeof(line), 10000) > 0);
    assert_non_null(strstr(line, ": hi busy\n"));
    close(quiet);
    close(busy);
    close(other);
    stop(pid);
}

/* The pipeline prints every job once, in input order, and never runs more
 * than the limit at once. */
static void run_pipeline(const char *flavor) {
    static char path[] = KR_BIN_DIR "/pipeline";
    need(path);
    char *argv[] = {path,     "--jobs", "40",           "--workers", "3",
                    "--work", "3000",   (char *)flavor, NULL};
    int out;
    pid_t pid = start(argv, &out);
    char line[256];
    for (long i = 0; i < 40; i++) {
        assert_true(read_line(out, line, sizeof(line), 20000) > 0);
        long seq = -1, input = -1, primes = -1;
        assert_int_equal(sscanf(line, "job %ld: input %ld -> %ld primes", &seq,
                                &input, &primes),
                         3);
        assert_int_equal(seq, i);
        assert_int_equal(input, (i * 7919) % 10);
        assert_true(primes > 0);
    }
    assert_true(read_line(out, line, sizeof(line), 20000) > 0);
    int max = -1;
    assert_int_equal(sscanf(line, "max concurrency: %d", &max), 1);
    assert_true(max >= 1 && max <= 3);
    close(out);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void pipeline_prints_in_input_order_within_the_limit(void **state) {
    (void)state;
    run_pipeline(NULL);
}
static void pipeline_on_the_current_thread_runtime(void **state) {
    (void)state;
    run_pipeline("--current-thread");
}

/* graceful: on SIGINT it stops accepting, says goodbye to every client,
 * waits for them until the deadline, and exits 0. Two clients close when
 * told; a third never does and is cut off at the deadline. */
static void run_graceful(const char *flavor) {
    static char path[] = KR_BIN_DIR "/graceful";
    need(path);
    char *argv[] = {path, "--deadline-ms", "1500", (char *)flavor, NULL};
    char *argv_mt[] = {path, "--deadline-ms", "1500", "--workers", "2", NULL};
    int out;
    pid_t pid = start(flavor != NULL ? argv : argv_mt, &out);
    char line[256];
    assert_true(read_line(out, line, sizeof(line), 10000) > 0);
    const char *colon = strrchr(line, ':');
    assert_non_null(colon);
    int port = atoi(colon + 1);
    int c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = connect_to(port);
        say(c[i], "ping\n");
        assert_true(read_line(c[i], line, sizeof(line), 10000) > 0);
        assert_string_equal(line, "ping\n");
    }
    kr_instant t0 = kr_instant_now();
    kill(pid, SIGINT);
    assert_true(read_line(out, line, sizeof(line), 10000) > 0);
    assert_string_equal(line, "shutting down: 3 clients connected\n");
    /* Not accepting any more. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
    assert_int_equal(errno, ECONNREFUSED);
    close(fd);
    for (int i = 0; i < 3; i++) {
        assert_true(read_line(c[i], line, sizeof(line), 10000) > 0);
        assert_string_equal(line, "server shutting down\n");
        assert_true(sees_eof(c[i], 10000)); /* the server half-closed */
    }
    close(c[0]);
    close(c[1]);
    /* c[2] stays open: the server gives up on it at the deadline. */
    assert_true(read_line(out, line, sizeof(line), 20000) > 0);
    assert_string_equal(line, "2 of 3 clients closed in time, 1 cut off\n");
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    kr_duration took = kr_instant_since(kr_instant_now(), t0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* Not before the deadline (it waited for c[2]); generous slack after. */
    assert_true(took >= kr_ms(1400));
    assert_true(took < kr_secs(30));
    /* And c[2] was closed by the server when it was cut off. */
    assert_true(sees_eof(c[2], 10000));
    close(c[2]);
    close(out);
}

/* Under ThreadSanitizer a signal's handler runs only when the thread that
 * received it next enters a call TSan intercepts. The kernel hands an
 * outside SIGINT to any thread of the server, and a worker parked in a raw
 * futex syscall (kairo's parker) never enters one, so the handler waits
 * forever: the TSan run of this test hung on the "shutting down" line.
 * test-signal.c raises from a thread of its own for the same reason. The
 * example's logic is covered by the release, ASan, debug and torture runs. */
#if defined(__SANITIZE_THREAD__)
#define KR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KR_TSAN 1
#endif
#endif

static void graceful_shutdown_on_sigint(void **state) {
    (void)state;
#ifdef KR_TSAN
    skip();
#endif
    run_graceful(NULL);
}

static void graceful_shutdown_on_the_current_thread_runtime(void **state) {
    (void)state;
#ifdef KR_TSAN
    skip();
#endif
    run_graceful("--current-thread");
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_broadcasts_each_line_to_every_other_client),
        cmocka_unit_test(chat_disconnects_idle_client_with_goodbye),
        cmocka_unit_test(pipeline_prints_in_input_order_within_the_limit),
        cmocka_unit_test(pipeline_on_the_current_thread_runtime),
        cmocka_unit_test(graceful_shutdown_on_sigint),
        cmocka_unit_test(graceful_shutdown_on_the_current_thread_runtime),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
