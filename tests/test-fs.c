/*
 * kairo/fs.h: every call, its errors (with the message naming the path),
 * a 100 MiB copy, a directory of 10,000 entries, concurrent readers, and
 * operations dropped while the pool thread still works on them.
 * KR_TEST_FLAVORS: ct mt
 */
#include <dirent.h>

#include "test-fs.h"
#include "test-net.h" /* await_all, rt_sleep_ms */

static void file_read_write_seek_set_len_sync(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "a");
    kr_file *f = NULL;
    kr_open_options o = {true, true, false, false, true, false, 0600};
    assert_fs(rt, kr_fs_open(p, &o, &f), 0);
    assert_non_null(f);
    assert_true(kr_file_fd(f) >= 0);
    assert_fs(rt, kr_file_write(f, "hello world", 11), 11);
    assert_fs(rt, kr_file_seek(f, 0, SEEK_CUR), 11);
    assert_fs(rt, kr_file_seek(f, 6, SEEK_SET), 6);
    char buf[32] = {0};
    assert_fs(rt, kr_file_read(f, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "world", 5);
    assert_fs(rt, kr_file_read(f, buf, sizeof(buf)), 0); /* end of file */
    assert_fs(rt, kr_file_write_at(f, "HELLO", 5, 0), 5);
    memset(buf, 0, sizeof(buf));
    assert_fs(rt, kr_file_read_at(f, buf, 8, 0), 8);
    assert_memory_equal(buf, "HELLO wo", 8);
    assert_fs(rt, kr_file_seek(f, 0, SEEK_CUR), 11); /* pread/pwrite: unmoved */
    assert_fs(rt, kr_file_seek(f, -1, SEEK_END), 10);
    assert_fs(rt, kr_file_seek(f, -20, SEEK_CUR), KR_EINVAL);
    assert_fs(rt, kr_file_seek(f, 0, 42), KR_EINVAL);
    assert_fs(rt, kr_file_sync_all(f), 0);
    assert_fs(rt, kr_file_sync_data(f), 0);
    kr_metadata md;
    assert_fs(rt, kr_file_set_len(f, 3), 0);
    assert_fs(rt, kr_file_metadata(f, &md), 0);
    assert_int_equal(md.size, 3);
    assert_int_equal(md.type, KR_FILE_TYPE_FILE);
    assert_fs(rt, kr_file_set_len(f, 1 << 20), 0); /* extends with zeros */
    assert_fs(rt, kr_file_metadata(f, &md), 0);
    assert_int_equal(md.size, 1 << 20);
    assert_fs(rt, kr_file_read_at(f, buf, 4, 100), 4);
    assert_memory_equal(buf, "\0\0\0\0", 4);
    assert_fs(rt, kr_file_set_len(f, -1), KR_EINVAL);
    kr_file_close(f);
    /* Opened read only: writing and set_len are refused by the kernel. */
    kr_open_options ro = kr_open_options_read();
    assert_fs(rt, kr_fs_open(p, &ro, &f), 0);
    assert_fs(rt, kr_file_write(f, "x", 1), KR_EBADF);
    assert_fs(rt, kr_file_set_len(f, 0), KR_EINVAL);
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A write larger than 2 MiB moves 2 MiB (Tokio's MAX_BUF); a read too. */
static void file_io_is_capped_at_max_buf(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    size_t n = 3 << 20;
    char *b = calloc(1, n);
    kr_file *f;
    kr_open_options o = {true, true, false, false, true, false, 0};
    assert_fs(rt, kr_fs_open(tf_path(&d, 0, "big"), &o, &f), 0);
    assert_fs(rt, kr_file_write(f, b, n), 2 << 20);
    assert_fs(rt, kr_file_read_at(f, b, n, 0), 2 << 20);
    kr_file_close(f);
    free(b);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

static void open_errors_name_the_path(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    kr_file *f = NULL;
    kr_open_options ro = kr_open_options_read();
    const char *missing = tf_path(&d, 0, "no/such/file");
    assert_fs(rt, kr_fs_open(missing, &ro, &f), KR_ENOENT);
    assert_null(f);
    assert_non_null(strstr(kr_fs_last_error(), "open "));
    assert_non_null(strstr(kr_fs_last_error(), missing));
    assert_non_null(strstr(kr_fs_last_error(), "no such file"));
    /* A directory opened for writing: EISDIR. */
    kr_open_options w = {false, true, false, false, false, false, 0};
    assert_fs(rt, kr_fs_open(d.path, &w, &f), -EISDIR);
    assert_non_null(strstr(kr_fs_last_error(), d.path));
    /* A path through a file: ENOTDIR. */
    tf_put(tf_path(&d, 0, "plain"), "x", 1);
    assert_fs(rt, kr_fs_open(tf_path(&d, 0, "plain/x"), &ro, &f), KR_ENOTDIR);
    /* EACCES. Tests run as root here, who passes every permission check on
     * an ordinary file, so for root it is a sysfs attribute without a write
     * handler (kernfs refuses those for writing with EACCES even to root);
     * for anyone else a file of mode 0000. */
    const char *deny = "/sys/devices/system/cpu/online";
    if (geteuid() != 0) {
        deny = tf_path(&d, 1, "locked");
        tf_put(deny, "x", 1);
        chmod(deny, 0);
    }
    if (access(deny, F_OK) == 0) {
        assert_fs(rt, kr_fs_open(deny, &w, &f), KR_EACCES);
        assert_non_null(strstr(kr_fs_last_error(), deny));
    } else {
        print_message("no %s: EACCES not checked\n", deny);
    }
    /* Options that ask for nothing, or create without write. */
    kr_open_options none = {false, false, false, false, false, false, 0};
    assert_fs(rt, kr_fs_open(missing, &none, &f), KR_EINVAL);
    kr_open_options bad = {true, false, false, false, true, false, 0};
    assert_fs(rt, kr_fs_open(missing, &bad, &f), KR_EINVAL);
    assert_fs(rt, kr_fs_open(NULL, &ro, &f), KR_EINVAL);
    assert_fs(rt, kr_fs_open(missing, NULL, &f), KR_EINVAL);
    assert_fs(rt, kr_file_read(NULL, NULL, 0), KR_EINVAL);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* Polled outside any runtime there is no pool: KR_EINVAL, no leak. */
static void op_outside_a_runtime_is_einval(void **state) {
    (void)state;
    test_alloc_install();
    kr_fs_op op = kr_fs_try_exists("/");
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    int64_t v = 0;
    assert_int_equal(kr_future_poll(&op.base, &cx, &v), KR_READY);
    assert_int_equal(v, KR_EINVAL);
    kr_future_drop(&op.base);
    /* Made and dropped unpolled: freed. */
    op = kr_fs_write("/nonexistent/x", "abc", 3);
    kr_future_drop(&op.base);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void metadata_of_files_dirs_and_links(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *file = tf_path(&d, 0, "f");
    const char *link = tf_path(&d, 1, "l");
    tf_put(file, "12345", 5);
    chmod(file, 0640);
    assert_int_equal(symlink(file, link), 0);
    kr_metadata md;
    assert_fs(rt, kr_fs_metadata(file, &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_FILE);
    assert_int_equal(md.size, 5);
    assert_int_equal(md.mode, 0640);
    assert_int_equal(md.nlink, 1);
    assert_true(md.mtime_ns > 1000000000LL * 1600000000);
    struct stat st;
    stat(file, &st);
    assert_int_equal(md.ino, st.st_ino);
    assert_fs(rt, kr_fs_metadata(link, &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_FILE);
    assert_fs(rt, kr_fs_symlink_metadata(link, &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_SYMLINK);
    assert_fs(rt, kr_fs_metadata(d.path, &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_DIR);
    assert_fs(rt, kr_fs_metadata("/dev/null", &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_CHAR_DEVICE);
    assert_fs(rt, kr_fs_metadata(tf_path(&d, 2, "none"), &md), KR_ENOENT);
    assert_non_null(strstr(kr_fs_last_error(), "metadata "));
    assert_fs(rt, kr_fs_symlink_metadata(tf_path(&d, 2, "none"), &md),
              KR_ENOENT);
    assert_fs(rt, kr_fs_metadata(NULL, &md), KR_EINVAL);
    /* A dangling link: metadata fails, symlink_metadata does not. */
    assert_int_equal(symlink(tf_path(&d, 2, "none"), tf_path(&d, 3, "dl")), 0);
    assert_fs(rt, kr_fs_metadata(tf_path(&d, 3, "dl"), &md), KR_ENOENT);
    assert_fs(rt, kr_fs_symlink_metadata(tf_path(&d, 3, "dl"), &md), 0);
    assert_fs(rt, kr_fs_try_exists(tf_path(&d, 3, "dl")), 0);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

static void dirs_create_remove_and_their_errors(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *a = tf_path(&d, 0, "a");
    assert_fs(rt, kr_fs_create_dir(a), 0);
    assert_fs(rt, kr_fs_create_dir(a), KR_EEXIST);
    assert_non_null(strstr(kr_fs_last_error(), "create_dir "));
    assert_fs(rt, kr_fs_create_dir(tf_path(&d, 1, "x/y")), KR_ENOENT);
    assert_fs(rt, kr_fs_create_dir_all(tf_path(&d, 1, "a/b/c/d")), 0);
    assert_fs(rt, kr_fs_create_dir_all(tf_path(&d, 1, "a/b/c/d")), 0);
    assert_fs(rt, kr_fs_create_dir_all(tf_path(&d, 1, "a/b/c/d/")), 0);
    tf_put(tf_path(&d, 2, "file"), "x", 1);
    assert_fs(rt, kr_fs_create_dir_all(tf_path(&d, 2, "file")), KR_EEXIST);
    assert_fs(rt, kr_fs_create_dir_all(tf_path(&d, 2, "file/sub")), KR_ENOTDIR);
    assert_fs(rt, kr_fs_remove_dir(a), -ENOTEMPTY);
    assert_fs(rt, kr_fs_remove_dir(tf_path(&d, 2, "file")), KR_ENOTDIR);
    assert_fs(rt, kr_fs_remove_file(a), -EISDIR);
    assert_fs(rt, kr_fs_remove_file(tf_path(&d, 2, "none")), KR_ENOENT);
    assert_fs(rt, kr_fs_remove_dir_all(tf_path(&d, 2, "file")), KR_ENOTDIR);
    assert_fs(rt, kr_fs_remove_dir_all(tf_path(&d, 2, "none")), KR_ENOENT);
    /* remove_dir_all removes links, not what they point at. */
    tf_put(tf_path(&d, 1, "a/b/f"), "x", 1);
    assert_int_equal(symlink(tf_path(&d, 2, "file"), tf_path(&d, 3, "a/b/ln")),
                     0);
    assert_fs(rt, kr_fs_remove_dir_all(a), 0);
    assert_fs(rt, kr_fs_try_exists(a), 0);
    assert_fs(rt, kr_fs_try_exists(tf_path(&d, 2, "file")), 1);
    assert_fs(rt, kr_fs_remove_file(tf_path(&d, 2, "file")), 0);
    assert_fs(rt, kr_fs_try_exists(tf_path(&d, 2, "file")), 0);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

static void links_rename_canonicalize(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *f = tf_path(&d, 0, "f");
    tf_put(f, "data", 4);
    char text[512];
    assert_fs(rt, kr_fs_symlink("f", tf_path(&d, 1, "s")), 0);
    assert_fs(rt, kr_fs_read_link(tf_path(&d, 1, "s"), text, sizeof(text)), 1);
    assert_string_equal(text, "f");
    assert_fs(rt, kr_fs_read_link(tf_path(&d, 1, "s"), text, 1), KR_ERANGE);
    assert_fs(rt, kr_fs_read_link(f, text, sizeof(text)), KR_EINVAL);
    assert_fs(rt, kr_fs_symlink("f", tf_path(&d, 1, "s")), KR_EEXIST);
    char real[512];
    assert_non_null(realpath(f, real));
    assert_fs(rt, kr_fs_canonicalize(tf_path(&d, 1, "s"), text, sizeof(text)),
              (int64_t)strlen(real));
    assert_string_equal(text, real);
    assert_fs(rt, kr_fs_canonicalize(tf_path(&d, 1, "nope"), text, 512),
              KR_ENOENT);
    assert_fs(rt, kr_fs_hard_link(f, tf_path(&d, 1, "h")), 0);
    kr_metadata md;
    assert_fs(rt, kr_fs_metadata(f, &md), 0);
    assert_int_equal(md.nlink, 2);
    assert_fs(rt, kr_fs_hard_link(f, tf_path(&d, 1, "h")), KR_EEXIST);
    assert_non_null(strstr(kr_fs_last_error(), "hard_link "));
    assert_non_null(strstr(kr_fs_last_error(), " -> "));
    assert_fs(rt, kr_fs_rename(f, tf_path(&d, 1, "g")), 0);
    assert_fs(rt, kr_fs_try_exists(f), 0);
    assert_fs(rt, kr_fs_rename(f, tf_path(&d, 1, "g")), KR_ENOENT);
    assert_fs(rt, kr_fs_rename(NULL, f), KR_EINVAL);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

static void read_and_write_whole_files(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "w");
    assert_fs(rt, kr_fs_write(p, "abcdef", 6), 0);
    void *data = NULL;
    size_t len = 0;
    assert_fs(rt, kr_fs_read(p, 100, &data, &len), 6);
    assert_int_equal(len, 6);
    assert_string_equal(data, "abcdef");
    kr_fs_free(data);
    /* Longer than the limit: EFBIG and nothing returned. */
    assert_fs(rt, kr_fs_read(p, 5, &data, &len), -EFBIG);
    assert_null(data);
    assert_fs(rt, kr_fs_read(p, 6, &data, &len), 6);
    kr_fs_free(data);
    assert_fs(rt, kr_fs_read(d.path, 100, &data, &len), -EISDIR);
    assert_fs(rt, kr_fs_read(tf_path(&d, 1, "none"), 100, &data, &len),
              KR_ENOENT);
    assert_fs(rt, kr_fs_write(tf_path(&d, 1, "none/x"), "a", 1), KR_ENOENT);
    assert_fs(rt, kr_fs_write(d.path, "a", 1), -EISDIR);
    /* A /proc file says its size is 0: it is read to its end anyway. */
    int64_t n =
        tf_run(rt, kr_fs_read("/proc/self/status", 1 << 20, &data, &len));
    assert_true(n > 0);
    assert_non_null(strstr(data, "Name:"));
    kr_fs_free(data);
    /* An empty file. */
    assert_fs(rt, kr_fs_write(p, NULL, 0), 0);
    assert_fs(rt, kr_fs_read(p, 0, &data, &len), 0);
    kr_fs_free(data);
    tf_dir_remove(&d);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static void copy_100_mib_and_compare(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    size_t n = 100u << 20;
    unsigned char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 2654435761u >> 13);
    const char *from = tf_path(&d, 0, "from");
    const char *to = tf_path(&d, 1, "to");
    assert_fs(rt, kr_fs_write(from, b, n), 0);
    chmod(from, 0604);
    assert_fs(rt, kr_fs_copy(from, to), (int64_t)n);
    void *got = NULL;
    size_t len = 0;
    assert_fs(rt, kr_fs_read(to, n, &got, &len), (int64_t)n);
    assert_true(memcmp(got, b, n) == 0);
    kr_fs_free(got);
    kr_metadata md;
    assert_fs(rt, kr_fs_metadata(to, &md), 0);
    assert_int_equal(md.mode, 0604);
    free(b);
    assert_fs(rt, kr_fs_copy(tf_path(&d, 2, "none"), to), KR_ENOENT);
    assert_fs(rt, kr_fs_copy(d.path, to), -EISDIR);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* ---- read_dir ------------------------------------------------------------ */

typedef struct list_task {
    kr_future base;
    kr_coro co;
    kr_fs_op op;
    kr_dir *dir;
    kr_dir_entry e;
    int64_t r;
    const char *path;
    unsigned char *seen;
    long n, dups;
} list_task;

static kr_poll list_poll(kr_future *f, kr_context *cx, void *out) {
    list_task *t = (list_task *)f;
    KR_ASYNC_BEGIN(&t->co);
    t->op = kr_fs_read_dir(t->path, &t->dir);
    KR_AWAIT_INTO(&t->co, &t->op, cx, t->r);
    if (t->r != 0)
        KR_RETURN(&t->co, out, long, t->r);
    for (;;) {
        t->op = kr_dir_next(t->dir, &t->e);
        KR_AWAIT_INTO(&t->co, &t->op, cx, t->r);
        if (t->r <= 0)
            break;
        long i = atol(t->e.name);
        if (t->e.type != KR_FILE_TYPE_FILE || i < 0 || i >= 10000 ||
            t->seen[i]++)
            t->dups++;
        t->n++;
    }
    kr_dir_close(t->dir);
    KR_RETURN(&t->co, out, long, t->r < 0 ? t->r : t->dups);
    KR_ASYNC_END(&t->co);
}
static void list_drop(kr_future *f) { kr_coro_drop(&((list_task *)f)->co); }
KR_FUTURE_VTABLE(list_vt, list_task, list_poll, list_drop, sizeof(long));

static void read_dir_of_10000_entries(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    enum { N = 10000 };
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%d", i);
        int fd = open(tf_path(&d, 0, name), O_WRONLY | O_CREAT, 0644);
        assert_true(fd >= 0);
        close(fd);
    }
    static unsigned char seen[N];
    memset(seen, 0, sizeof(seen));
    list_task t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &list_vt;
    t.path = d.path;
    t.seen = seen;
    long bad = -1;
    assert_rc(kr_runtime_block_on(rt, &t.base, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(t.n, N);
    /* Errors. */
    kr_dir *dir = NULL;
    assert_fs(rt, kr_fs_read_dir(tf_path(&d, 0, "0"), &dir), KR_ENOTDIR);
    assert_fs(rt, kr_fs_read_dir(tf_path(&d, 0, "none"), &dir), KR_ENOENT);
    assert_non_null(strstr(kr_fs_last_error(), "read_dir "));
    assert_null(dir);
    tf_dir_remove(&d);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* ---- concurrent readers -------------------------------------------------- */

typedef struct reader_task {
    kr_future base;
    kr_coro co;
    kr_fs_op op;
    kr_file *f;
    int64_t r;
    int64_t off;
    long bad;
    unsigned char buf[8192];
} reader_task;

enum { READ_SPAN = 1 << 20 };

static kr_poll reader_poll(kr_future *fu, kr_context *cx, void *out) {
    reader_task *t = (reader_task *)fu;
    KR_ASYNC_BEGIN(&t->co);
    for (; t->off < READ_SPAN; t->off += (int64_t)sizeof(t->buf)) {
        t->op = kr_file_read_at(t->f, t->buf, sizeof(t->buf), t->off);
        KR_AWAIT_INTO(&t->co, &t->op, cx, t->r);
        if (t->r != (int64_t)sizeof(t->buf)) {
            t->bad++;
            continue;
        }
        for (size_t i = 0; i < sizeof(t->buf); i++)
            if (t->buf[i] != (unsigned char)((t->off + (int64_t)i) % 251))
                t->bad++;
    }
    KR_RETURN(&t->co, out, int, (int)t->bad);
    KR_ASYNC_END(&t->co);
}
static void reader_drop(kr_future *f) { kr_coro_drop(&((reader_task *)f)->co); }
KR_FUTURE_VTABLE(reader_vt, reader_task, reader_poll, reader_drop, sizeof(int));

static void concurrent_readers_of_one_file(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    unsigned char *b = malloc(READ_SPAN);
    for (int i = 0; i < READ_SPAN; i++)
        b[i] = (unsigned char)(i % 251);
    tf_put(tf_path(&d, 0, "r"), b, READ_SPAN);
    free(b);
    kr_file *f;
    kr_open_options ro = kr_open_options_read();
    assert_fs(rt, kr_fs_open(tf_path(&d, 0, "r"), &ro, &f), 0);
    enum { N = 16 };
    kr_join_handle h[N];
    for (int i = 0; i < N; i++) {
        reader_task t;
        memset(&t, 0, sizeof(t));
        t.base.vtable = &reader_vt;
        t.f = f;
        t.off = (i * 4096) % READ_SPAN; /* each starts elsewhere */
        t.off -= t.off % (int64_t)sizeof(t.buf);
        assert_rc(kr_runtime_spawn(rt, &t.base, &h[i]), 0);
    }
    await_all w = await_all_make(h, N);
    long bad = -1;
    assert_rc(kr_runtime_block_on(rt, &w.base, &bad), 0);
    assert_int_equal(bad, 0);
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* ---- dropping pending operations ----------------------------------------- */

/* Runs f in a task and waits for it from block_on: on the multi-thread
 * runtime the file operations then run on a worker, where the io_uring
 * driver takes them on its ring (fs/ring.c; block_on's own thread uses the
 * pool). f is moved into the task. */
static int in_task(kr_runtime *rt, kr_future *f, void *out) {
    kr_join_handle h;
    int rc = kr_runtime_spawn(rt, f, &h);
    if (rc != 0)
        return rc;
    return kr_runtime_block_on(rt, &h.base, out);
}

/* A file operation as a task's whole future. */
typedef struct op_task {
    kr_future base;
    kr_fs_op op;
} op_task;
static kr_poll op_task_poll(kr_future *f, kr_context *cx, void *out) {
    return kr_future_poll(&((op_task *)f)->op.base, cx, out);
}
static void op_task_drop(kr_future *f) {
    kr_future_drop(&((op_task *)f)->op.base);
}
KR_FUTURE_VTABLE(op_task_vt, op_task, op_task_poll, op_task_drop,
                 sizeof(int64_t));

static int64_t op_in_task(kr_runtime *rt, kr_fs_op op) {
    op_task t = {{&op_task_vt}, op};
    int64_t r = INT64_MIN;
    int rc = in_task(rt, &t.base, &r);
    return rc != 0 ? rc : r;
}
#define assert_fs_task(rt, op, expected)                                       \
    assert_int_equal(op_in_task((rt), (op)), (expected))

/*
 * A read of a FIFO blocks its pool thread until someone writes. Each read is
 * polled once (a zero timeout) and dropped while its thread sits in read(2);
 * then the caller's buffer is freed and the file closed. Writing to the FIFO
 * lets each read finish: it lands in the operation's own bounce buffer (so
 * ASan sees no write into the freed buffer) and the last reference closes
 * the descriptor and frees everything (the counting allocator checks). On
 * the io_uring driver the dropped reads are cancelled instead (fs/ring.c):
 * the file goes with the last cancel, and the FIFO is left with no reader.
 */
static void dropped_pending_reads_touch_no_caller_memory(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *fifo = tf_path(&d, 0, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    kr_file *f;
    kr_open_options rw = {true, true, false, false, false, false, 0};
    assert_fs(rt, kr_fs_open(fifo, &rw, &f), 0); /* O_RDWR: no block */
    enum { N = 4, LEN = 4096 };
    for (int i = 0; i < N; i++) {
        char *buf = malloc(LEN);
        kr_fs_op op = kr_file_read(f, buf, LEN);
        kr_timeout to = kr_timeout_new(&op.base, 0, NULL);
        int rc = -1;
        assert_rc(in_task(rt, &to.base, &rc), 0);
        assert_int_equal(rc, KR_ELAPSED);
        free(buf);
    }
    kr_file_close(f);    /* the pending reads keep the descriptor open */
    rt_sleep_ms(rt, 50); /* let the reads reach read(2) */
    int wfd = open(fifo, O_WRONLY | O_NONBLOCK);
    if (kr_runtime_io_driver(rt) == KR_IO_DRIVER_URING) {
        for (int i = 0; i < 500 && wfd >= 0; i++) {
            close(wfd);
            rt_sleep_ms(rt, 10);
            wfd = open(fifo, O_WRONLY | O_NONBLOCK);
        }
        assert_true(wfd < 0 && errno == ENXIO); /* cancelled: no reader */
        tf_dir_remove(&d);
        test_runtime_free(rt);
        assert_int_equal(test_alloc_live(), 0);
        test_alloc_uninstall();
        return;
    }
    assert_true(wfd >= 0);
    static char junk[N * LEN];
    memset(junk, 'j', sizeof(junk));
    assert_int_equal(write(wfd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(wfd);
    /* Done when every job let go of the file: the FIFO has no reader. */
    for (int i = 0; i < 500; i++) {
        int probe = open(fifo, O_WRONLY | O_NONBLOCK);
        if (probe < 0 && errno == ENXIO)
            break;
        if (probe >= 0)
            close(probe);
        rt_sleep_ms(rt, 10);
    }
    tf_dir_remove(&d);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* The io_uring backend (fs/ring.c): a dropped read of a FIFO is cancelled,
 * so the bytes written after it go to the next read, whole: nothing is
 * lost. (On the pool the dropped read's thread takes them: Tokio's
 * behaviour, and the reason this runs on the ring only.) */
static void dropped_fifo_read_on_the_ring_loses_nothing(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    if (kr_runtime_io_driver(rt) != KR_IO_DRIVER_URING) {
        test_runtime_free(rt);
        test_alloc_uninstall();
        skip();
    }
    tf_dir d = tf_dir_make();
    const char *fifo = tf_path(&d, 0, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    kr_file *f;
    kr_open_options rw = {true, true, false, false, false, false, 0};
    assert_fs(rt, kr_fs_open(fifo, &rw, &f), 0);
    for (int i = 0; i < 8; i++) {
        char buf[64];
        kr_fs_op op = kr_file_read(f, buf, sizeof(buf));
        kr_timeout to = kr_timeout_new(&op.base, 0, NULL);
        int rc = -1;
        assert_rc(in_task(rt, &to.base, &rc), 0);
        assert_int_equal(rc, KR_ELAPSED);
    }
    rt_sleep_ms(rt, 20); /* the cancels reach the kernel */
    int wfd = open(fifo, O_WRONLY | O_NONBLOCK);
    assert_true(wfd >= 0);
    assert_int_equal(write(wfd, "every byte", 10), 10);
    close(wfd);
    char got[64] = {0};
    kr_fs_op rd = kr_file_read(f, got, sizeof(got));
    int64_t n = -1;
    int rc = -1;
    kr_timeout to = kr_timeout_new(&rd.base, kr_secs(5), &n); /* not a hang */
    assert_rc(in_task(rt, &to.base, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 10);
    assert_string_equal(got, "every byte");
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* On the io_uring driver the operations that have an io_uring opcode run
 * on the ring: the blocking pool starts no thread for them. On epoll the
 * same calls go to the pool (the check that this suite runs both). */
static void file_ops_on_the_ring_start_no_pool_thread(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    bool ring = kr_runtime_io_driver(rt) == KR_IO_DRIVER_URING;
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "f");
    kr_file *f;
    kr_open_options o = kr_open_options_create();
    o.read = true;
    assert_fs_task(rt, kr_fs_open(p, &o, &f), 0);
    assert_fs_task(rt, kr_file_write(f, "0123456789", 10), 10);
    assert_fs_task(rt, kr_file_sync_data(f), 0);
    assert_fs_task(rt, kr_file_sync_all(f), 0);
    assert_fs_task(rt, kr_file_seek(f, 2, SEEK_SET), 2);
    char got[16] = {0};
    assert_fs_task(rt, kr_file_read(f, got, 4), 4);
    assert_string_equal(got, "2345");
    memset(got, 0, sizeof(got));
    assert_fs_task(rt, kr_file_read_at(f, got, 3, 7), 3);
    assert_string_equal(got, "789");
    assert_fs_task(rt, kr_file_write_at(f, "ab", 2, 0), 2);
    kr_metadata md;
    assert_fs_task(rt, kr_file_metadata(f, &md), 0);
    assert_int_equal(md.size, 10);
    assert_int_equal(md.type, KR_FILE_TYPE_FILE);
    assert_fs_task(rt, kr_fs_metadata(p, &md), 0);
    assert_int_equal(md.size, 10);
    assert_fs_task(rt, kr_fs_try_exists(p), 1);
    assert_fs_task(rt, kr_fs_try_exists(tf_path(&d, 1, "none")), 0);
    assert_fs_task(rt, kr_fs_create_dir(tf_path(&d, 1, "sub")), 0);
    assert_fs_task(rt, kr_fs_rename(p, tf_path(&d, 2, "g")), 0);
    assert_fs_task(
        rt, kr_fs_hard_link(tf_path(&d, 2, "g"), tf_path(&d, 3, "h")), 0);
    assert_fs_task(rt, kr_fs_symlink("g", tf_path(&d, 0, "s")), 0);
    assert_fs_task(rt, kr_fs_symlink_metadata(tf_path(&d, 0, "s"), &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_SYMLINK);
    assert_fs_task(rt, kr_fs_remove_file(tf_path(&d, 0, "s")), 0);
    assert_fs_task(rt, kr_fs_remove_file(tf_path(&d, 3, "h")), 0);
    assert_fs_task(rt, kr_fs_remove_dir(tf_path(&d, 1, "sub")), 0);
    assert_fs_task(rt, kr_fs_remove_dir(tf_path(&d, 1, "sub")), KR_ENOENT);
    kr_file_close(f);
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    if (ring)
        assert_int_equal(m.blocking_threads, 0);
    else
        assert_true(m.blocking_threads > 0);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* A runtime freed while a ring read waits on a FIFO (its task dropped at
 * shutdown) ends the read before its buffer goes: ASan sees no write into
 * freed memory and the counting allocator no leak. */
typedef struct fifo_reader {
    kr_future base;
    kr_coro co;
    kr_file *f;
    kr_fs_op op;
    char buf[256];
} fifo_reader;

static kr_poll fifo_reader_poll(kr_future *fut, kr_context *cx, void *out) {
    fifo_reader *t = (fifo_reader *)fut;
    KR_ASYNC_BEGIN(&t->co);
    t->op = kr_file_read(t->f, t->buf, sizeof(t->buf));
    KR_AWAIT(&t->co, &t->op.base, cx, NULL);
    (void)out;
    KR_RETURN_VOID(&t->co);
    KR_ASYNC_END(&t->co);
}
static void fifo_reader_drop(kr_future *f) {
    kr_coro_drop(&((fifo_reader *)f)->co);
}
KR_FUTURE_VTABLE(fifo_reader_vt, fifo_reader, fifo_reader_poll,
                 fifo_reader_drop, 0);

static void runtime_freed_with_a_ring_read_in_flight(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    if (kr_runtime_io_driver(rt) != KR_IO_DRIVER_URING) {
        test_runtime_free(rt); /* the pool's read would block shutdown */
        test_alloc_uninstall();
        skip();
    }
    tf_dir d = tf_dir_make();
    const char *fifo = tf_path(&d, 0, "fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    kr_file *f;
    kr_open_options rw = {true, true, false, false, false, false, 0};
    assert_fs(rt, kr_fs_open(fifo, &rw, &f), 0);
    fifo_reader t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &fifo_reader_vt;
    t.f = f;
    kr_join_handle h;
    assert_rc(kr_runtime_spawn(rt, &t.base, &h), 0);
    rt_sleep_ms(rt, 30); /* the read is in the kernel */
    kr_join_handle_drop(&h);
    kr_file_close(f);
    test_runtime_free(rt);
    /* The file went with the read: the FIFO has no reader. */
    int wfd = open(fifo, O_WRONLY | O_NONBLOCK);
    assert_true(wfd < 0 && errno == ENXIO);
    tf_dir_remove(&d);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* Descriptors this process has open (/proc/self/fd, less the one that
 * reads it). */
static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 3; /* ".", "..", and d's own */
}

/* An open dropped before it completes still opens the file (on the pool
 * or on the ring), and the descriptor nobody will take is closed, not
 * leaked. */
static void dropped_open_closes_its_descriptor(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    tf_put(tf_path(&d, 0, "f"), "x", 1);
    rt_sleep_ms(rt, 1); /* the runtime's own descriptors are made */
    int before = open_fds();
    enum { N = 8 };
    for (int i = 0; i < N; i++) {
        kr_file *f = NULL;
        kr_open_options ro = kr_open_options_read();
        kr_fs_op op = kr_fs_open(tf_path(&d, 0, "f"), &ro, &f);
        kr_timeout to = kr_timeout_new(&op.base, 0, NULL);
        int rc = -1;
        assert_rc(in_task(rt, &to.base, &rc), 0);
        if (rc == 0) /* it completed within its first poll after all */
            kr_file_close(f);
    }
    /* Done when the pool has no job queued or running (a job not yet
     * started has opened nothing, so the count alone would pass early and
     * free the runtime under it: CI's TSan build caught that) and every
     * descriptor is back. */
    int after = open_fds();
    for (int i = 0; i < 1000; i++) {
        kr_runtime_metrics m;
        assert_rc(kr_runtime_metrics_get(rt, &m), 0);
        if (after == before && m.blocking_queued == 0 && m.blocking_busy == 0)
            break;
        rt_sleep_ms(rt, 5);
        after = open_fds();
    }
    assert_int_equal(after, before);
    tf_dir_remove(&d);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* A dropped write still writes what was copied when it was made. */
static void dropped_write_still_writes_its_copy(void **state) {
    (void)state;
    test_alloc_install();
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "w");
    kr_file *f;
    kr_open_options o = kr_open_options_create();
    assert_fs(rt, kr_fs_open(p, &o, &f), 0);
    char *src = strdup("copied at the call");
    kr_fs_op op = kr_file_write(f, src, strlen(src));
    memset(src, 'X', strlen(src)); /* the caller reuses its buffer */
    kr_timeout to = kr_timeout_new(&op.base, 0, NULL);
    int rc;
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    free(src);
    kr_file_close(f);
    char got[64];
    for (int i = 0; i < 200 && tf_get(p, got, sizeof(got)) <= 0; i++)
        rt_sleep_ms(rt, 5);
    assert_string_equal(got, "copied at the call");
    tf_dir_remove(&d);
    test_runtime_free(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(file_read_write_seek_set_len_sync),
    cmocka_unit_test(file_io_is_capped_at_max_buf),
    cmocka_unit_test(open_errors_name_the_path),
    cmocka_unit_test(op_outside_a_runtime_is_einval),
    cmocka_unit_test(metadata_of_files_dirs_and_links),
    cmocka_unit_test(dirs_create_remove_and_their_errors),
    cmocka_unit_test(links_rename_canonicalize),
    cmocka_unit_test(read_and_write_whole_files),
    cmocka_unit_test(copy_100_mib_and_compare),
    cmocka_unit_test(read_dir_of_10000_entries),
    cmocka_unit_test(concurrent_readers_of_one_file),
    cmocka_unit_test(dropped_pending_reads_touch_no_caller_memory),
    cmocka_unit_test(dropped_write_still_writes_its_copy),
    cmocka_unit_test(dropped_open_closes_its_descriptor),
    cmocka_unit_test(dropped_fifo_read_on_the_ring_loses_nothing),
    cmocka_unit_test(file_ops_on_the_ring_start_no_pool_thread),
    cmocka_unit_test(runtime_freed_with_a_ring_read_in_flight),
};
KR_TEST_MAIN(tests)
