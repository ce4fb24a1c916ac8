/*
 * examples/fetch driven from outside against a local HTTP/1.0 server of
 * plain sockets (a thread per connection): every URL fetched, never more
 * than K connections at once, a slow server cut off by the deadline,
 * refused and malformed responses reported. Skipped (77) when the
 * examples were not built.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static char fetch_path[] = KR_BIN_DIR "/fetch";

/* ---- the server ----------------------------------------------------------- */

typedef struct server {
    int lfd, port;
    atomic_int live, max_live, served;
    pthread_t th;
} server;

typedef struct conn_arg {
    server *s;
    int fd;
} conn_arg;

static void *conn_main(void *p) {
    conn_arg *c = p;
    server *s = c->s;
    int now = atomic_fetch_add(&s->live, 1) + 1;
    int m = atomic_load(&s->max_live);
    while (now > m && !atomic_compare_exchange_weak(&s->max_live, &m, now)) {
    }
    char req[4096];
    size_t n = 0;
    while (n + 1 < sizeof(req)) {
        ssize_t r = read(c->fd, req + n, sizeof(req) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    req[n] = 0;
    char path[256] = "";
    sscanf(req, "GET %255s", path);
    if (strncmp(path, "/ok/", 4) == 0) {
        test_sleep_ms(20); /* long enough for fetches to overlap */
        long len = atol(path + 4);
        char head[128];
        int hl = snprintf(head, sizeof(head),
                          "HTTP/1.0 200 OK\r\nContent-Length: %ld\r\n"
                          "X-Pad: %s\r\n\r\n",
                          len, "abcdefghijklmnopqrstuvwxyz");
        (void)!write(c->fd, head, (size_t)hl);
        char *body = malloc((size_t)len + 1);
        memset(body, 'b', (size_t)len);
        for (long off = 0; off < len;) {
            ssize_t w = write(c->fd, body + off, (size_t)(len - off));
            if (w <= 0)
                break;
            off += w;
        }
        free(body);
    } else if (strcmp(path, "/slow") == 0) {
        char x; /* never answer: wait for the client to give up */
        while (read(c->fd, &x, 1) > 0) {
        }
    } else if (strcmp(path, "/bad") == 0) {
        (void)!write(c->fd, "garbage\r\n\r\n", 11);
    } else if (strcmp(path, "/long") == 0) {
        char junk[1024];
        memset(junk, 'j', sizeof(junk));
        (void)!write(c->fd, "HTTP/1.0 200 OK\r\nX: ", 20);
        for (int i = 0; i < 64; i++) /* a 64 KiB header line */
            if (write(c->fd, junk, sizeof(junk)) <= 0)
                break;
    } else {
        const char nf[] = "HTTP/1.0 404 Not Found\r\n\r\nno";
        (void)!write(c->fd, nf, sizeof(nf) - 1);
    }
    atomic_fetch_add(&s->served, 1);
    atomic_fetch_sub(&s->live, 1);
    close(c->fd);
    free(c);
    return NULL;
}

static void *server_main(void *p) {
    server *s = p;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            return NULL; /* the listener was shut down */
        conn_arg *c = malloc(sizeof(*c));
        c->s = s;
        c->fd = fd;
        pthread_t th;
        pthread_create(&th, NULL, conn_main, c);
        pthread_detach(th);
    }
}

static void server_start(server *s) {
    memset(s, 0, sizeof(*s));
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 128), 0);
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->th, NULL, server_main, s);
}

static void server_stop(server *s) {
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->lfd);
    for (int i = 0; i < 500 && atomic_load(&s->live) > 0; i++)
        test_sleep_ms(10); /* the last connection threads finish */
}

/* ---- running fetch ---------------------------------------------------------- */

/* Runs fetch with `args` (NULL-terminated), its stdout into out; returns
 * its exit status. */
static int run_fetch(char **args, char *out, size_t size) {
    if (access(fetch_path, X_OK) != 0) {
        fprintf(stderr, "%s not built: skipped\n", fetch_path);
        exit(77);
    }
    char *argv[64] = {fetch_path};
    int n = 1;
    for (; args[n - 1] != NULL && n < 63; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
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
    size_t len = 0;
    ssize_t r;
    while (len + 1 < size && (r = read(p[0], out + len, size - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = 0;
    close(p[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void url(char *buf, size_t size, int port, const char *path) {
    snprintf(buf, size, "http://127.0.0.1:%d%s", port, path);
}

/* 24 URLs, K = 3: every one fetched with its body, printed in order, and
 * the server never saw more than 3 connections at once. */
static void fetch_gets_every_url_at_most_k_in_flight(void **state) {
    (void)state;
    server s;
    server_start(&s);
    char urls[24][64];
    char *args[32] = {"-k", "3", "-t", "20000"};
    for (int i = 0; i < 24; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/ok/%d",
                 i * 1000 + (i == 5 ? 1 << 20 : 0));
        url(urls[i], sizeof(urls[i]), s.port, path);
        args[4 + i] = urls[i];
    }
    args[28] = NULL;
    static char out[1 << 16];
    assert_int_equal(run_fetch(args, out, sizeof(out)), 0);
    const char *p = out;
    for (int i = 0; i < 24; i++) {
        char want[128];
        snprintf(want, sizeof(want), "%s 200 %d\n", urls[i],
                 i * 1000 + (i == 5 ? 1 << 20 : 0));
        if (strncmp(p, want, strlen(want)) != 0)
            fail_msg("line %d: want %s got %.100s", i, want, p);
        p += strlen(want);
    }
    assert_int_equal(atomic_load(&s.served), 24);
    assert_true(atomic_load(&s.max_live) <= 3);
    assert_true(atomic_load(&s.max_live) >= 1);
    server_stop(&s);
}

/* A server that never answers is cut off at the deadline; the others
 * are unaffected; the exit status says something failed. */
static void fetch_times_out_a_slow_server(void **state) {
    (void)state;
    server s;
    server_start(&s);
    char u1[64], u2[64], u3[64];
    url(u1, sizeof(u1), s.port, "/slow");
    url(u2, sizeof(u2), s.port, "/ok/10");
    url(u3, sizeof(u3), s.port, "/slow");
    char *args[] = {"-k", "2", "-t", "300", u1, u2, u3, NULL};
    char out[1024];
    assert_int_equal(run_fetch(args, out, sizeof(out)), 1);
    char want[512];
    snprintf(want, sizeof(want),
             "%s error: deadline elapsed\n%s 200 10\n%s error: deadline "
             "elapsed\n",
             u1, u2, u3);
    assert_string_equal(out, want);
    server_stop(&s);
}

/* Refused, not HTTP, a header line over the limit, 404, a bad URL. */
static void fetch_reports_errors(void **state) {
    (void)state;
    server s;
    server_start(&s);
    char u1[64], u2[64], u3[64], u4[64];
    /* A port nobody listens on: bind one, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    socklen_t al = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    url(u1, sizeof(u1), ntohs(a.sin_port), "/");
    url(u2, sizeof(u2), s.port, "/bad");
    url(u3, sizeof(u3), s.port, "/long");
    url(u4, sizeof(u4), s.port, "/missing");
    char *args[] = {u1, u2, u3, u4, "ftp://x/", NULL};
    char out[2048];
    assert_int_equal(run_fetch(args, out, sizeof(out)), 1);
    char want[1024];
    snprintf(want, sizeof(want),
             "%s error: connection refused\n%s error: protocol error\n"
             "%s error: message too long\n%s 404 2\n"
             "ftp://x/ error: invalid argument\n",
             u1, u2, u3, u4);
    assert_string_equal(out, want);
    server_stop(&s);
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fetch_gets_every_url_at_most_k_in_flight),
        cmocka_unit_test(fetch_times_out_a_slow_server),
        cmocka_unit_test(fetch_reports_errors),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
