/*
 * hiredis_test.c: kairo-redis through a real client library (Debian's
 * hiredis), side by side with redis-server: every reply compared.
 *
 *   test-redis-hiredis KAIRO_REDIS REDIS_SERVER
 *
 * Covers what the Python suite cannot easily: hiredis's own parser on our
 * replies, a pipeline of 10,000 commands written before any reply is
 * read, binary-safe and large values (4 MiB), and many connections at
 * once. Exit 0 on success, 1 on a difference, 77 when redis-server is
 * missing.
 */
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static int free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *)&a, sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    return ntohs(a.sin_port);
}

static pid_t start(char *const argv[]) {
    pid_t p = fork();
    if (p == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}

static redisContext *connect_wait(int port) {
    for (int i = 0; i < 200; i++) {
        redisContext *c = redisConnect("127.0.0.1", port);
        if (c != NULL && c->err == 0) {
            redisReply *r = redisCommand(c, "PING");
            if (r != NULL) {
                freeReplyObject(r);
                return c;
            }
        }
        if (c != NULL)
            redisFree(c);
        usleep(50000);
    }
    fprintf(stderr, "cannot connect to port %d\n", port);
    exit(1);
}

static int same(const redisReply *a, const redisReply *b) {
    if (a == NULL || b == NULL)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case REDIS_REPLY_INTEGER:
        return a->integer == b->integer;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case REDIS_REPLY_ARRAY:
        if (a->elements != b->elements)
            return 0;
        for (size_t i = 0; i < a->elements; i++)
            if (!same(a->element[i], b->element[i]))
                return 0;
        return 1;
    default:
        return 1;
    }
}

static void show(const char *who, const redisReply *r) {
    if (r == NULL) {
        fprintf(stderr, "  %s: (no reply)\n", who);
        return;
    }
    fprintf(stderr, "  %s: type %d int %lld str '%.*s' elements %zu\n", who,
            r->type, r->integer, r->str ? (int)(r->len > 80 ? 80 : r->len) : 0,
            r->str ? r->str : "", r->elements);
}

/* Runs one command on both and compares. */
static void both(redisContext *k, redisContext *r, int argc, const char **argv,
                 const size_t *lens) {
    redisReply *a = redisCommandArgv(k, argc, argv, lens);
    redisReply *b = redisCommandArgv(r, argc, argv, lens);
    if (!same(a, b)) {
        failures++;
        fprintf(stderr, "DIFF %s ...\n", argv[0]);
        show("kairo-redis", a);
        show("redis-server", b);
    }
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
}

static void both_str(redisContext *k, redisContext *r, const char *line) {
    const char *argv[16];
    size_t lens[16];
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", line);
    int argc = 0;
    for (char *t = strtok(buf, " "); t && argc < 16; t = strtok(NULL, " ")) {
        argv[argc] = t;
        lens[argc++] = strlen(t);
    }
    both(k, r, argc, argv, lens);
}

static void pipeline(redisContext *k, redisContext *r, int n) {
    redisContext *cs[2] = {k, r};
    redisReply **got[2];
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < n; i++) {
            if (i % 3 == 0)
                redisAppendCommand(cs[s], "INCR counter");
            else if (i % 3 == 1)
                redisAppendCommand(cs[s], "SET key:%d %d", i, i);
            else
                redisAppendCommand(cs[s], "GET key:%d", i - 1);
        }
        got[s] = calloc((size_t)n, sizeof(redisReply *));
        for (int i = 0; i < n; i++)
            if (redisGetReply(cs[s], (void **)&got[s][i]) != REDIS_OK)
                break;
    }
    for (int i = 0; i < n; i++) {
        if (!same(got[0][i], got[1][i])) {
            failures++;
            fprintf(stderr, "DIFF pipeline reply %d\n", i);
            show("kairo-redis", got[0][i]);
            show("redis-server", got[1][i]);
            break;
        }
    }
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < n; i++)
            if (got[s][i])
                freeReplyObject(got[s][i]);
        free(got[s]);
    }
}

int main(int argc, char **argv) {
    if (argc < 3 || access(argv[2], X_OK) != 0) {
        printf("SKIP: redis-server not installed\n");
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    int kp = free_port(), rp = free_port();
    char kps[16], rps[16];
    snprintf(kps, sizeof(kps), "%d", kp);
    snprintf(rps, sizeof(rps), "%d", rp);
    char *kargv[] = {argv[1], "--port", kps, NULL};
    char *rargv[] = {argv[2],     "--port", rps, "--bind",
                     "127.0.0.1", "--save", "",  "--appendonly",
                     "no",        NULL};
    pid_t kpid = start(kargv), rpid = start(rargv);
    redisContext *k = connect_wait(kp), *r = connect_wait(rp);

    static const char *lines[] = {
        "FLUSHALL",
        "SET a 1",
        "GET a",
        "INCR a",
        "INCRBY a 10",
        "GET nokey",
        "MSET x 1 y 2",
        "MGET x y z",
        "DEL x y z",
        "EXISTS a",
        "APPEND s hello",
        "APPEND s world",
        "GETRANGE s 2 6",
        "STRLEN s",
        "SET t v EX 100",
        "TTL t",
        "PERSIST t",
        "TTL t",
        "GET",
        "NOSUCH x",
        "INCR s",
        "SELECT 3",
        "SET a 2",
        "DBSIZE",
        "SELECT 0",
        "TYPE a",
        "ECHO hi",
        "PING",
        "SETNX a 5",
        "GETSET a 9",
        "GETDEL a",
        "INCRBYFLOAT f 2.5",
        "EXPIRE s 100",
        "EXPIRETIME nokey",
        "KEYS nomatch",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
        both_str(k, r, lines[i]);

    /* Binary-safe and large values. */
    size_t big = 4 * 1024 * 1024;
    char *val = malloc(big);
    for (size_t i = 0; i < big; i++)
        val[i] = (char)(i * 31 + 7);
    const char *set[] = {"SET", "bin", val};
    size_t setl[] = {3, 3, big};
    both(k, r, 3, set, setl);
    const char *get[] = {"GET", "bin"};
    size_t getl[] = {3, 3};
    both(k, r, 2, get, getl);
    const char *strl[] = {"STRLEN", "bin"};
    size_t strll[] = {6, 3};
    both(k, r, 2, strl, strll);
    free(val);
    const char *nul[] = {"SET", "n\0ul", "a\0b\r\nc"};
    size_t null[] = {3, 4, 6};
    both(k, r, 3, nul, null);
    const char *getn[] = {"GET", "n\0ul"};
    size_t getnl[] = {3, 4};
    both(k, r, 2, getn, getnl);

    /* A deep pipeline, written before any reply is read. */
    pipeline(k, r, 10000);

    /* Many connections at once, each doing a little. */
    enum { N = 200 };
    redisContext *many[N];
    for (int i = 0; i < N; i++)
        many[i] = redisConnect("127.0.0.1", kp);
    for (int i = 0; i < N; i++)
        redisAppendCommand(many[i], "INCR many");
    for (int i = 0; i < N; i++) {
        redisReply *x = NULL;
        if (redisGetReply(many[i], (void **)&x) != REDIS_OK || x == NULL ||
            x->type != REDIS_REPLY_INTEGER) {
            failures++;
            fprintf(stderr, "connection %d: no INCR reply\n", i);
        }
        if (x)
            freeReplyObject(x);
        redisFree(many[i]);
    }
    redisReply *x = redisCommand(k, "GET many");
    if (x == NULL || x->type != REDIS_REPLY_STRING || atoi(x->str) != N) {
        failures++;
        fprintf(stderr, "many: expected %d increments\n", N);
    }
    if (x)
        freeReplyObject(x);

    redisFree(k);
    redisFree(r);
    kill(kpid, SIGTERM);
    kill(rpid, SIGTERM);
    int st = 0;
    waitpid(kpid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        failures++;
        fprintf(stderr, "kairo-redis did not exit cleanly on SIGTERM (%d)\n",
                st);
    }
    waitpid(rpid, NULL, 0);
    printf("%s: %d failures\n", failures ? "FAIL" : "OK", failures);
    return failures ? 1 : 0;
}
