/*
 * test-redis-aof.c: kairo-redis's append-only file on its own (aof_file.h):
 * encoding, replay, the torn tail cut at every byte, an unfinished
 * transaction reverted, a malformed file refused, the writer under each
 * fsync policy with its waiters, shutdown flushing, and the rewrite with
 * writes fed while the child runs. Also the glob matcher (glob.h).
 *
 * KR_TEST_FLAVORS: ct mt
 */
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aof_file.h"
#include "glob.h"

/* ---- helpers ---------------------------------------------------------- */

static char *tmp_path(const char *name) {
    static char path[256];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof(path), "%s/kr-aof-%d-%s", dir, (int)getpid(), name);
    return path;
}

static void write_file(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rd_aof_write_all(fd, p, n), 0);
    close(fd);
}

static off_t file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    return st.st_size;
}

/* The replayed commands, joined as "a b c;" per command. */
typedef struct replay {
    char text[1 << 16];
    size_t len;
    int commands;
    int stop_at; /* return an error at this command (0: never) */
} replay;

static int on_cmd(void *ud, int argc, char **argv, size_t *lens) {
    replay *r = ud;
    r->commands++;
    if (r->stop_at && r->commands == r->stop_at)
        return KR_EPROTO;
    for (int i = 0; i < argc; i++) {
        assert_int_equal(argv[i][lens[i]], '\0');
        if (r->len + lens[i] + 2 < sizeof(r->text)) {
            memcpy(r->text + r->len, argv[i], lens[i]);
            r->len += lens[i];
            r->text[r->len++] = i + 1 < argc ? ' ' : ';';
        }
    }
    r->text[r->len] = '\0';
    return 0;
}

/* ---- encoding and loading --------------------------------------------- */

static void aof__encode_is_resp(void **state) {
    (void)state;
    rd_buf b = {NULL, 0, 0};
    const char *argv[] = {"SET", "k", "a\r\nb"};
    size_t lens[] = {3, 1, 4};
    assert_int_equal(rd_buf_put_cmd(&b, 3, argv, lens), 0);
    const char *want = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n";
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.p, want, b.len);
    rd_buf_free(&b);
}

static void aof__load_replays_in_order(void **state) {
    (void)state;
    const char *path = tmp_path("order.aof");
    rd_buf b = {NULL, 0, 0};
    rd_buf_put_cmdv(&b, 2, "SELECT", "0");
    rd_buf_put_cmdv(&b, 3, "SET", "a", "1");
    rd_buf_put_cmdv(&b, 1, "MULTI");
    rd_buf_put_cmdv(&b, 2, "INCR", "a");
    rd_buf_put_cmdv(&b, 3, "LPUSH", "l", "");
    rd_buf_put_cmdv(&b, 1, "EXEC");
    rd_buf_put_cmdv(&b, 2, "DEL", "a");
    write_file(path, b.p, b.len);
    replay r = {0};
    rd_aof_load_info info;
    assert_int_equal(rd_aof_load(path, true, on_cmd, &r, &info), 0);
    assert_string_equal(r.text, "SELECT 0;SET a 1;INCR a;LPUSH l ;DEL a;");
    assert_int_equal(info.commands, 5);
    assert_int_equal(info.truncated, 0);
    assert_int_equal(info.size, b.len);
    assert_int_equal(file_size(path), (off_t)b.len);
    unlink(path);
    rd_buf_free(&b);
}

static void aof__load_missing_file_is_empty(void **state) {
    (void)state;
    replay r = {0};
    rd_aof_load_info info;
    assert_int_equal(
        rd_aof_load(tmp_path("does-not-exist"), true, on_cmd, &r, &info), 0);
    assert_int_equal(info.commands, 0);
}

/* A file cut at every byte: the commands complete before the cut are
 * replayed, the rest is cut off, and the file ends at the last complete
 * command (what redis-check-aof --fix leaves). */
static void aof__torn_tail_truncated_at_every_byte(void **state) {
    (void)state;
    const char *path = tmp_path("torn.aof");
    rd_buf b = {NULL, 0, 0};
    size_t ends[3];
    rd_buf_put_cmdv(&b, 3, "SET", "key", "value");
    ends[0] = b.len;
    rd_buf_put_cmdv(&b, 3, "RPUSH", "list", "x");
    ends[1] = b.len;
    rd_buf_put_cmdv(&b, 2, "INCR", "n");
    ends[2] = b.len;
    for (size_t cut = 0; cut <= b.len; cut++) {
        write_file(path, b.p, cut);
        replay r = {0};
        rd_aof_load_info info;
        assert_int_equal(rd_aof_load(path, true, on_cmd, &r, &info), 0);
        int complete = 0;
        size_t valid = 0;
        for (int i = 0; i < 3; i++)
            if (ends[i] <= cut) {
                complete = i + 1;
                valid = ends[i];
            }
        assert_int_equal(r.commands, complete);
        assert_int_equal(info.truncated, cut - valid);
        assert_int_equal(file_size(path), (off_t)valid);
        /* Without aof-load-truncated a torn tail is an error. */
        if (cut != valid) {
            write_file(path, b.p, cut);
            replay r2 = {0};
            assert_int_equal(rd_aof_load(path, false, on_cmd, &r2, NULL),
                             KR_EINVAL);
            assert_int_equal(file_size(path), (off_t)cut);
        }
    }
    unlink(path);
    rd_buf_free(&b);
}

/* A transaction without its EXEC (the process died in the middle of
 * writing one) is not replayed, and the file is cut before its MULTI. */
static void aof__unfinished_multi_reverted(void **state) {
    (void)state;
    const char *path = tmp_path("multi.aof");
    rd_buf b = {NULL, 0, 0};
    rd_buf_put_cmdv(&b, 3, "SET", "a", "1");
    size_t before = b.len;
    rd_buf_put_cmdv(&b, 1, "MULTI");
    rd_buf_put_cmdv(&b, 3, "SET", "b", "2");
    rd_buf_put_cmdv(&b, 3, "SET", "c", "3");
    write_file(path, b.p, b.len);
    replay r = {0};
    rd_aof_load_info info;
    assert_int_equal(rd_aof_load(path, true, on_cmd, &r, &info), 0);
    assert_string_equal(r.text, "SET a 1;");
    assert_int_equal(file_size(path), (off_t)before);
    unlink(path);
    rd_buf_free(&b);
}

static void aof__bad_format_refused(void **state) {
    (void)state;
    const char *path = tmp_path("bad.aof");
    static const char *bad[] = {
        "+OK\r\n",
        "*1\r\n$3\r\nGET\r\n*x\r\n",
        "*1\r\n$3\r\nGETX\r\n", /* bulk longer than its length */
        "*0\r\n",               /* no arguments */
        "*1\r\n:3\r\nGET\r\n",  /* not a bulk */
        "*1\r\n$-1\r\n",        /* negative length */
        "*1\r\n$3\r\nGET\n\n",  /* LF without CR */
        "garbage that is no command at all and longer than a line",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i], strlen(bad[i]));
        replay r = {0};
        assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), KR_EINVAL);
        /* A malformed file is left as it is, for a person to look at. */
        assert_int_equal(file_size(path), (off_t)strlen(bad[i]));
    }
    unlink(path);
}

static void aof__callback_error_stops_loading(void **state) {
    (void)state;
    const char *path = tmp_path("stop.aof");
    rd_buf b = {NULL, 0, 0};
    for (int i = 0; i < 5; i++)
        rd_buf_put_cmdv(&b, 2, "INCR", "n");
    write_file(path, b.p, b.len);
    replay r = {0};
    r.stop_at = 3;
    assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), KR_EPROTO);
    assert_int_equal(r.commands, 3);
    unlink(path);
    rd_buf_free(&b);
}

/* Big values cross the loader's read chunks. */
static void aof__load_large_values(void **state) {
    (void)state;
    const char *path = tmp_path("large.aof");
    size_t n = 3u << 20;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    rd_buf b = {NULL, 0, 0};
    const char *argv[] = {"SET", "big", big};
    size_t lens[] = {3, 3, n};
    rd_buf_put_cmd(&b, 3, argv, lens);
    rd_buf_put_cmd(&b, 3, argv, lens);
    write_file(path, b.p, b.len);
    replay r = {0};
    assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), 0);
    assert_int_equal(r.commands, 2);
    unlink(path);
    rd_buf_free(&b);
    free(big);
}

/* ---- the writer ----------------------------------------------------------- */

static void feed_set(rd_aof *a, int db, int i) {
    char k[32], v[32];
    snprintf(k, sizeof(k), "k%d", i);
    snprintf(v, sizeof(v), "v%d", i);
    const char *argv[] = {"SET", k, v};
    size_t lens[] = {3, strlen(k), strlen(v)};
    rd_aof_feed(a, db, 3, argv, lens);
}

/* Under `always`, the wait completes only once the bytes are fsynced:
 * afterwards the file holds every command fed before the offset. */
static void aof__always_wait_means_durable(void **state) {
    (void)state;
    const char *path = tmp_path("always.aof");
    unlink(path);
    kr_runtime *rt = test_runtime(0);
    rd_aof *a;
    assert_int_equal(rd_aof_open(path, RD_FSYNC_ALWAYS, rt, &a), 0);
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 10; i++)
            feed_set(a, round % 3, round * 10 + i);
        uint64_t off = rd_aof_offset(a);
        rd_aof_wait w;
        rd_aof_wait_init(&w, a, off);
        int out = -1;
        assert_int_equal(kr_runtime_block_on(rt, &w.base, &out), 0);
        assert_int_equal(out, 0);
        assert_true(rd_aof_durable(a) >= off);
        replay r = {0};
        assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), 0);
        /* Every SET and the SELECTs between databases. */
        int sets = 0;
        for (char *p = r.text; (p = strstr(p, "SET k")) != NULL; p++)
            sets++;
        assert_int_equal(sets, (round + 1) * 10);
    }
    assert_int_equal(rd_aof_close(a), 0);
    replay r = {0};
    assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), 0);
    assert_true(strncmp(r.text, "SELECT 0;SET k0 v0;", 19) == 0);
    assert_non_null(strstr(r.text, "SELECT 1;SET k10 v10;"));
    test_runtime_free(rt);
    unlink(path);
}

/* Under `everysec` and `no` the wait is ready at once, and closing writes
 * and syncs everything. */
static void aof__close_flushes(void **state) {
    (void)state;
    for (int pol = RD_FSYNC_NO; pol <= RD_FSYNC_EVERYSEC; pol++) {
        const char *path = tmp_path("flush.aof");
        unlink(path);
        kr_runtime *rt = test_runtime(0);
        rd_aof *a;
        assert_int_equal(rd_aof_open(path, (rd_fsync)pol, rt, &a), 0);
        for (int i = 0; i < 1000; i++)
            feed_set(a, 0, i);
        rd_aof_wait w;
        rd_aof_wait_init(&w, a, rd_aof_offset(a));
        assert_int_equal(kr_runtime_block_on(rt, &w.base, NULL), 0);
        assert_int_equal(rd_aof_close(a), 0);
        replay r = {0};
        assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), 0);
        assert_int_equal(r.commands, 1001); /* SELECT + 1000 */
        test_runtime_free(rt);
        unlink(path);
    }
}

/* A waiter dropped before the writer reached it unlinks itself. */
static void aof__wait_dropped_unlinks(void **state) {
    (void)state;
    const char *path = tmp_path("drop.aof");
    unlink(path);
    kr_runtime *rt = test_runtime(0);
    rd_aof *a;
    assert_int_equal(rd_aof_open(path, RD_FSYNC_ALWAYS, rt, &a), 0);
    rd_aof_wait w;
    /* An offset never reached: the poll must park. */
    rd_aof_wait_init(&w, a, UINT64_MAX - 1);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    assert_int_equal(w.base.vtable->poll(&w.base, &cx, NULL), KR_PENDING);
    assert_true(w.linked_);
    w.base.vtable->drop(&w.base);
    assert_false(w.linked_);
    assert_int_equal(rd_aof_close(a), 0);
    test_runtime_free(rt);
    unlink(path);
}

/* Feeding from many threads: the file holds every command once, each
 * after a SELECT of its own database. */
typedef struct feeder {
    rd_aof *a;
    int db;
} feeder;

static void *feed_thread(void *arg) {
    feeder *f = arg;
    for (int i = 0; i < 2000; i++)
        feed_set(f->a, f->db, f->db * 100000 + i);
    return NULL;
}

static int db_now;
static int db_errors;
static int on_cmd_dbcheck(void *ud, int argc, char **argv, size_t *lens) {
    int *count = ud;
    if (strcmp(argv[0], "SELECT") == 0) {
        db_now = atoi(argv[1]);
        return 0;
    }
    assert_int_equal(argc, 3);
    if (atoi(argv[1] + 1) / 100000 != db_now)
        db_errors++;
    (*count)++;
    (void)lens;
    return 0;
}

static void aof__concurrent_feeds_keep_databases(void **state) {
    (void)state;
    const char *path = tmp_path("threads.aof");
    unlink(path);
    kr_runtime *rt = test_runtime(0);
    rd_aof *a;
    assert_int_equal(rd_aof_open(path, RD_FSYNC_EVERYSEC, rt, &a), 0);
    pthread_t th[4];
    feeder f[4];
    for (int i = 0; i < 4; i++) {
        f[i].a = a;
        f[i].db = i;
        pthread_create(&th[i], NULL, feed_thread, &f[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(rd_aof_close(a), 0);
    int count = 0;
    db_now = -1;
    db_errors = 0;
    assert_int_equal(rd_aof_load(path, true, on_cmd_dbcheck, &count, NULL), 0);
    assert_int_equal(count, 8000);
    assert_int_equal(db_errors, 0);
    test_runtime_free(rt);
    unlink(path);
}

/* ---- rewrite ---------------------------------------------------------------- */

static int snapshot_fn(void *ud, int fd) {
    int n = *(int *)ud;
    rd_buf b = {NULL, 0, 0};
    rd_buf_put_cmdv(&b, 2, "SELECT", "0");
    char v[32];
    snprintf(v, sizeof(v), "%d", n);
    rd_buf_put_cmdv(&b, 3, "SET", "snapshot", v);
    int rc = rd_aof_write_all(fd, b.p, b.len);
    rd_buf_free(&b);
    /* Take a while, so feeds land in the rewrite buffer. */
    usleep(200 * 1000);
    return rc;
}

static void aof__rewrite_keeps_writes_during_it(void **state) {
    (void)state;
    const char *path = tmp_path("rewrite.aof");
    unlink(path);
    kr_runtime *rt = test_runtime(0);
    rd_aof *a;
    assert_int_equal(rd_aof_open(path, RD_FSYNC_ALWAYS, rt, &a), 0);
    for (int i = 0; i < 100; i++)
        feed_set(a, 0, i);
    int n = 100;
    assert_int_equal(rd_aof_rewrite_start(a, snapshot_fn, &n), 0);
    assert_int_equal(rd_aof_rewrite_start(a, snapshot_fn, &n), KR_EBUSY);
    for (int i = 100; i < 150; i++)
        feed_set(a, 1, i);
    uint64_t off = rd_aof_offset(a);
    assert_int_equal(rd_aof_rewrite_wait(a), 0);
    for (int i = 150; i < 160; i++)
        feed_set(a, 2, i);
    rd_aof_wait w;
    rd_aof_wait_init(&w, a, rd_aof_offset(a));
    assert_int_equal(kr_runtime_block_on(rt, &w.base, NULL), 0);
    assert_true(rd_aof_durable(a) >= off);
    rd_aof_stats st;
    rd_aof_get_stats(a, &st);
    assert_int_equal(st.rewrites, 1);
    assert_false(st.rewrite_in_progress);
    replay r = {0};
    assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), 0);
    /* The snapshot, then what was fed after the fork, then after. */
    assert_true(strncmp(r.text, "SELECT 0;SET snapshot 100;SELECT 1;SET k100",
                        43) == 0);
    assert_null(strstr(r.text, "SET k99 "));
    assert_non_null(strstr(r.text, "SET k149 v149;SELECT 2;SET k150 v150;"));
    assert_int_equal(r.commands, 2 + 1 + 50 + 1 + 10);
    assert_int_equal(rd_aof_close(a), 0);
    test_runtime_free(rt);
    unlink(path);
}

static int failing_snapshot(void *ud, int fd) {
    (void)ud;
    (void)fd;
    return KR_EIO;
}

static void aof__failed_rewrite_keeps_old_file(void **state) {
    (void)state;
    const char *path = tmp_path("rwfail.aof");
    unlink(path);
    kr_runtime *rt = test_runtime(0);
    rd_aof *a;
    assert_int_equal(rd_aof_open(path, RD_FSYNC_EVERYSEC, rt, &a), 0);
    for (int i = 0; i < 10; i++)
        feed_set(a, 0, i);
    assert_int_equal(rd_aof_rewrite_start(a, failing_snapshot, NULL), 0);
    assert_int_not_equal(rd_aof_rewrite_wait(a), 0);
    feed_set(a, 0, 10);
    assert_int_equal(rd_aof_close(a), 0);
    replay r = {0};
    assert_int_equal(rd_aof_load(path, true, on_cmd, &r, NULL), 0);
    /* SELECT, 10 SETs, and after the rewrite attempt a SELECT again. */
    assert_int_equal(r.commands, 13);
    test_runtime_free(rt);
    unlink(path);
}

/* ---- glob ------------------------------------------------------------------ */

static bool gm(const char *p, const char *s) {
    return rd_glob_match(p, strlen(p), s, strlen(s), false);
}

/* Cases checked against Redis's stringmatchlen (util.c). */
static void glob__redis_cases(void **state) {
    (void)state;
    /* Redis's loop never runs on an empty string: "*" does not match it
     * (KEYS special-cases "*" itself). */
    assert_false(gm("*", ""));
    assert_true(gm("*", "anything"));
    assert_true(gm("h?llo", "hello"));
    assert_false(gm("h?llo", "hllo"));
    assert_true(gm("h*llo", "hllo"));
    assert_true(gm("h[ae]llo", "hallo"));
    assert_false(gm("h[ae]llo", "hillo"));
    assert_true(gm("h[^e]llo", "hallo"));
    assert_false(gm("h[^e]llo", "hello"));
    assert_true(gm("h[a-b]llo", "hbllo"));
    assert_true(gm("h[b-a]llo", "hallo")); /* a range given backwards */
    assert_true(gm("h\\*llo", "h*llo"));
    assert_false(gm("h\\*llo", "hello"));
    assert_true(gm("news.*", "news.tech"));
    assert_false(gm("news.*", "new.tech"));
    assert_true(gm("a\\", "a\\")); /* trailing backslash is literal */
    assert_true(gm("[abc", "a"));  /* unterminated class */
    assert_false(gm("[abc", "ab"));
    assert_true(gm("[\\]]", "]"));
    assert_true(gm("a*b*c", "aXXbYYc"));
    assert_false(gm("a*b*c", "aXXbYY"));
    assert_true(gm("**", "x"));
    assert_false(gm("", "x"));
    assert_true(gm("", ""));
    assert_true(rd_glob_match("H*LLO", 5, "hello", 5, true));
    assert_false(rd_glob_match("H*LLO", 5, "hello", 5, false));
    /* Embedded NULs on both sides. */
    assert_true(rd_glob_match("a\0*", 3, "a\0bc", 4, false));
    assert_false(rd_glob_match("a\0b", 3, "a\0c", 3, false));
}

/* Many stars against a long non-matching string finish quickly (Redis's
 * skipLongerMatches). */
static void glob__many_stars_linear(void **state) {
    (void)state;
    char pat[200], s[5000];
    for (int i = 0; i < 199; i++)
        pat[i] = i % 2 ? '*' : 'a';
    pat[199] = 'b';
    memset(s, 'a', sizeof(s));
    assert_false(rd_glob_match(pat, sizeof(pat), s, sizeof(s), false));
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aof__encode_is_resp),
        cmocka_unit_test(aof__load_replays_in_order),
        cmocka_unit_test(aof__load_missing_file_is_empty),
        cmocka_unit_test(aof__torn_tail_truncated_at_every_byte),
        cmocka_unit_test(aof__unfinished_multi_reverted),
        cmocka_unit_test(aof__bad_format_refused),
        cmocka_unit_test(aof__callback_error_stops_loading),
        cmocka_unit_test(aof__load_large_values),
        cmocka_unit_test(aof__always_wait_means_durable),
        cmocka_unit_test(aof__close_flushes),
        cmocka_unit_test(aof__wait_dropped_unlinks),
        cmocka_unit_test(aof__concurrent_feeds_keep_databases),
        cmocka_unit_test(aof__rewrite_keeps_writes_during_it),
        cmocka_unit_test(aof__failed_rewrite_keeps_old_file),
        cmocka_unit_test(glob__redis_cases),
        cmocka_unit_test(glob__many_stars_linear),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    rd_aof_set_log(NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
