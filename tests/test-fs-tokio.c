/*
 * Tokio's tokio/tests/fs*.rs, ported where they apply: each case is named
 * after the Tokio test (the file's name prefixed where two files share one).
 * Not ported: Windows-only tests, Debug-output checks of OpenOptions
 * (open_options_write/append/truncate/create/create_new/mode check the
 * struct's Debug text; here the options are a plain struct and their
 * effect is tested instead), try_clone/into_std/max_buf_size (no such
 * calls), coop (no budget inside the fs future: each completion is a
 * wakeup from the pool), DirBuilder modes, and the io_uring-only tests.
 * KR_TEST_FLAVORS: ct mt
 */
#include "test-fs.h"

#define HELLO "hello, world!"

/* fs.rs path_read_write */
static void path_read_write(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "bar");
    assert_fs(rt, kr_fs_write(p, "bytes", 5), 0);
    void *data;
    size_t len;
    assert_fs(rt, kr_fs_read(p, 1024, &data, &len), 5);
    assert_memory_equal(data, "bytes", 5);
    kr_fs_free(data);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_canonicalize_dir.rs canonicalize_root_dir_unix */
static void canonicalize_root_dir_unix(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    char buf[64];
    assert_fs(rt, kr_fs_canonicalize("/.", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "/");
    test_runtime_free(rt);
}

/* fs_copy.rs copy */
static void copy(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *src = tf_path(&d, 0, "foo.txt");
    const char *dst = tf_path(&d, 1, "bar.txt");
    assert_fs(rt, kr_fs_write(src, "Hello File!", 11), 0);
    assert_fs(rt, kr_fs_copy(src, dst), 11);
    char a[64], b[64];
    assert_int_equal(tf_get(src, a, sizeof(a)), 11);
    assert_int_equal(tf_get(dst, b, sizeof(b)), 11);
    assert_string_equal(a, b);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_copy.rs copy_permissions */
static void copy_permissions(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *from = tf_path(&d, 0, "foo.txt");
    const char *to = tf_path(&d, 1, "bar.txt");
    tf_put(from, "", 0);
    chmod(from, 0444); /* read only */
    assert_fs(rt, kr_fs_copy(from, to), 0);
    kr_metadata a, b;
    assert_fs(rt, kr_fs_metadata(from, &a), 0);
    assert_fs(rt, kr_fs_metadata(to, &b), 0);
    assert_int_equal(a.mode, b.mode);
    assert_int_equal(b.mode & 0222, 0);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_dir.rs create_dir */
static void create_dir(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    assert_fs(rt, kr_fs_create_dir(tf_path(&d, 0, "foo")), 0);
    struct stat st;
    assert_int_equal(stat(tf_path(&d, 0, "foo"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_dir.rs create_all */
static void create_all(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    assert_fs(rt, kr_fs_create_dir_all(tf_path(&d, 0, "foo/bar")), 0);
    struct stat st;
    assert_int_equal(stat(tf_path(&d, 0, "foo/bar"), &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_dir.rs build_dir: recursive succeeds, non-recursive on it fails. */
static void build_dir(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    assert_fs(rt, kr_fs_create_dir_all(tf_path(&d, 0, "foo/bar")), 0);
    assert_fs(rt, kr_fs_create_dir(tf_path(&d, 0, "foo/bar")), KR_EEXIST);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_dir.rs remove */
static void remove_(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "foo");
    assert_int_equal(mkdir(p, 0755), 0);
    assert_fs(rt, kr_fs_remove_dir(p), 0);
    assert_int_equal(access(p, F_OK), -1);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* Lists d into names (sorted), returning how many. */
static int list_sorted(kr_runtime *rt, const char *path, char names[][256],
                       kr_dir_entry *first, int max) {
    kr_dir *dir;
    assert_fs(rt, kr_fs_read_dir(path, &dir), 0);
    int n = 0;
    kr_dir_entry e;
    while (tf_run(rt, kr_dir_next(dir, &e)) == 1) {
        assert_true(n < max);
        if (n == 0 && first != NULL)
            *first = e;
        strcpy(names[n++], e.name);
    }
    /* After the end, the end again. */
    assert_fs(rt, kr_dir_next(dir, &e), 0);
    kr_dir_close(dir);
    qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* fs_dir.rs read_inherent */
static void read_inherent(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    mkdir(tf_path(&d, 0, "aa"), 0755);
    mkdir(tf_path(&d, 0, "bb"), 0755);
    mkdir(tf_path(&d, 0, "cc"), 0755);
    char names[8][256];
    assert_int_equal(list_sorted(rt, d.path, names, NULL, 8), 3);
    assert_string_equal(names[0], "aa");
    assert_string_equal(names[1], "bb");
    assert_string_equal(names[2], "cc");
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_dir.rs read_dir_entry_info */
static void read_dir_entry_info(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    assert_fs(rt, kr_fs_write(tf_path(&d, 0, "a.txt"), "Hello File!", 11), 0);
    char names[2][256];
    kr_dir_entry e;
    assert_int_equal(list_sorted(rt, d.path, names, &e, 2), 1);
    assert_string_equal(e.name, "a.txt");
    kr_metadata md;
    assert_fs(rt, kr_fs_metadata(tf_path(&d, 0, e.name), &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_FILE);
    assert_int_equal(e.ino, md.ino);
    assert_true(e.type == KR_FILE_TYPE_FILE || e.type == KR_FILE_TYPE_UNKNOWN);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_file.rs basic_read (and fs_open_options.rs
 * open_with_open_options_and_read: the same with explicit options) */
static void basic_read(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "t");
    tf_put(p, HELLO, strlen(HELLO));
    kr_file *f;
    kr_open_options o = kr_open_options_read();
    assert_fs(rt, kr_fs_open(p, &o, &f), 0);
    char buf[1024];
    assert_fs(rt, kr_file_read(f, buf, sizeof(buf)), strlen(HELLO));
    assert_memory_equal(buf, HELLO, strlen(HELLO));
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_file.rs basic_write */
static void basic_write(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "t");
    kr_file *f;
    kr_open_options o = kr_open_options_create();
    assert_fs(rt, kr_fs_open(p, &o, &f), 0);
    assert_fs(rt, kr_file_write(f, HELLO, strlen(HELLO)), strlen(HELLO));
    assert_fs(rt, kr_file_sync_all(f), 0);
    kr_file_close(f);
    char got[64];
    assert_int_equal(tf_get(p, got, sizeof(got)), strlen(HELLO));
    assert_string_equal(got, HELLO);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_file.rs rewind_seek_position */
static void rewind_seek_position(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    kr_file *f;
    kr_open_options o = kr_open_options_create();
    assert_fs(rt, kr_fs_open(tf_path(&d, 0, "t"), &o, &f), 0);
    assert_fs(rt, kr_file_seek(f, 10, SEEK_CUR), 10);
    assert_fs(rt, kr_file_seek(f, 0, SEEK_SET), 0);
    assert_fs(rt, kr_file_seek(f, 0, SEEK_CUR), 0);
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_file.rs empty_read: answered on the first poll, not EOF after. */
static void empty_read(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "t");
    tf_put(p, HELLO, strlen(HELLO));
    kr_file *f;
    kr_open_options o = kr_open_options_read();
    assert_fs(rt, kr_fs_open(p, &o, &f), 0);
    char buf[1024];
    kr_fs_op op = kr_file_read(f, buf, 0);
    kr_waker noop = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&noop);
    int64_t v = -1;
    assert_int_equal(kr_future_poll(&op.base, &cx, &v), KR_READY);
    assert_int_equal(v, 0);
    kr_future_drop(&op.base);
    assert_fs(rt, kr_file_read(f, buf, sizeof(buf)), strlen(HELLO));
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_file.rs unix_fd_is_valid */
static void unix_fd_is_valid(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    kr_file *f;
    kr_open_options o = kr_open_options_create();
    assert_fs(rt, kr_fs_open(tf_path(&d, 0, "t"), &o, &f), 0);
    assert_true(kr_file_fd(f) > 0);
    assert_true(fcntl(kr_file_fd(f), F_GETFD) >= 0);
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_link.rs test_hard_link */
static void test_hard_link(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *src = tf_path(&d, 0, "src.txt");
    const char *dst = tf_path(&d, 1, "dst.txt");
    tf_put(src, "hello", 5);
    assert_fs(rt, kr_fs_hard_link(src, dst), 0);
    char got[16];
    assert_int_equal(tf_get(dst, got, sizeof(got)), 5);
    assert_string_equal(got, "hello");
    struct stat a, b;
    stat(src, &a);
    stat(dst, &b);
    assert_int_equal(a.st_ino, b.st_ino);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_link.rs test_symlink */
static void test_symlink(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *src = tf_path(&d, 0, "src.txt");
    const char *dst = tf_path(&d, 1, "dst.txt");
    tf_put(src, "hello", 5);
    assert_fs(rt, kr_fs_symlink(src, dst), 0);
    char got[16];
    assert_int_equal(tf_get(dst, got, sizeof(got)), 5);
    assert_string_equal(got, "hello");
    char text[512];
    assert_fs(rt, kr_fs_read_link(dst, text, sizeof(text)), strlen(src));
    assert_string_equal(text, src);
    kr_metadata md;
    assert_fs(rt, kr_fs_symlink_metadata(dst, &md), 0);
    assert_int_equal(md.type, KR_FILE_TYPE_SYMLINK);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_link.rs test_hard_link_error_source_not_found */
static void test_hard_link_error_source_not_found(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    assert_fs(rt,
              kr_fs_hard_link(tf_path(&d, 0, "nonexistent.txt"),
                              tf_path(&d, 1, "dst.txt")),
              KR_ENOENT);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_link.rs test_hard_link_error_destination_already_exists */
static void test_hard_link_error_destination_already_exists(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    tf_put(tf_path(&d, 0, "src.txt"), "source content", 14);
    tf_put(tf_path(&d, 1, "dst.txt"), "destination content", 19);
    assert_fs(
        rt,
        kr_fs_hard_link(tf_path(&d, 0, "src.txt"), tf_path(&d, 1, "dst.txt")),
        KR_EEXIST);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_link.rs test_hard_link_error_source_is_directory (Linux: EPERM) */
static void test_hard_link_error_source_is_directory(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    assert_fs(rt, kr_fs_create_dir(tf_path(&d, 0, "src_directory")), 0);
    assert_fs(rt,
              kr_fs_hard_link(tf_path(&d, 0, "src_directory"),
                              tf_path(&d, 1, "dst.txt")),
              KR_EPERM);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_open_options.rs, the options' effects (Tokio checks their Debug
 * text; here: write, append, truncate, create, create_new, mode). */
static void open_options_effects(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "o");
    kr_file *f;
    kr_open_options create_new = {false, true, false, false, false, true, 0640};
    assert_fs(rt, kr_fs_open(p, &create_new, &f), 0);
    assert_fs(rt, kr_file_write(f, "abc", 3), 3);
    kr_file_close(f);
    kr_metadata md;
    assert_fs(rt, kr_fs_metadata(p, &md), 0);
    assert_int_equal(md.mode & ~0640u, 0); /* mode, less the umask */
    assert_fs(rt, kr_fs_open(p, &create_new, &f), KR_EEXIST);
    kr_open_options append = {false, false, true, false, false, false, 0};
    assert_fs(rt, kr_fs_open(p, &append, &f), 0);
    assert_fs(rt, kr_file_write(f, "def", 3), 3);
    kr_file_close(f);
    char got[32];
    assert_int_equal(tf_get(p, got, sizeof(got)), 6);
    assert_string_equal(got, "abcdef");
    kr_open_options write = {false, true, false, false, false, false, 0};
    assert_fs(rt, kr_fs_open(p, &write, &f), 0);
    assert_fs(rt, kr_file_write(f, "X", 1), 1);
    kr_file_close(f);
    assert_int_equal(tf_get(p, got, sizeof(got)), 6);
    assert_string_equal(got, "Xbcdef");
    kr_open_options trunc = {false, true, false, true, false, false, 0};
    assert_fs(rt, kr_fs_open(p, &trunc, &f), 0);
    kr_file_close(f);
    assert_int_equal(tf_get(p, got, sizeof(got)), 0);
    assert_fs(rt, kr_fs_open(tf_path(&d, 1, "n"), &write, &f), KR_ENOENT);
    kr_open_options create = {false, true, false, false, true, false, 0};
    assert_fs(rt, kr_fs_open(tf_path(&d, 1, "n"), &create, &f), 0);
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_remove_dir_all.rs remove_dir_all */
static void remove_dir_all(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *t = tf_path(&d, 0, "a/b");
    assert_fs(rt, kr_fs_create_dir_all(t), 0);
    assert_fs(rt, kr_fs_write(tf_path(&d, 1, "a/b/c.txt"), "Hello", 5), 0);
    assert_fs(rt, kr_fs_remove_dir_all(tf_path(&d, 2, "a")), 0);
    assert_fs(rt, kr_fs_try_exists(tf_path(&d, 2, "a")), 0);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_remove_file.rs remove_file */
static void remove_file(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "a.txt");
    assert_fs(rt, kr_fs_write(p, "Hello File!", 11), 0);
    assert_fs(rt, kr_fs_try_exists(p), 1);
    assert_fs(rt, kr_fs_remove_file(p), 0);
    assert_fs(rt, kr_fs_try_exists(p), 0);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_rename.rs rename_file */
static void rename_file(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *a = tf_path(&d, 0, "a.txt");
    const char *b = tf_path(&d, 1, "b.txt");
    assert_fs(rt, kr_fs_write(a, "Hello File!", 11), 0);
    assert_fs(rt, kr_fs_rename(a, b), 0);
    assert_fs(rt, kr_fs_try_exists(a), 0);
    assert_fs(rt, kr_fs_try_exists(b), 1);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_try_exists.rs try_exists. Its permission-denied half cannot fail for
 * root, who may stat under a mode-0244 directory: it runs only as another
 * user. */
static void try_exists(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    assert_fs(rt, kr_fs_write(tf_path(&d, 0, "foo.txt"), "Hello File!", 11), 0);
    assert_fs(rt, kr_fs_try_exists(tf_path(&d, 0, "foo.txt")), 1);
    assert_fs(rt, kr_fs_try_exists(tf_path(&d, 0, "bar.txt")), 0);
    if (geteuid() != 0) {
        assert_fs(rt, kr_fs_create_dir(tf_path(&d, 0, "baz")), 0);
        assert_fs(rt, kr_fs_write(tf_path(&d, 0, "baz/baz.txt"), "x", 1), 0);
        chmod(tf_path(&d, 0, "baz"), 0244);
        assert_fs(rt, kr_fs_try_exists(tf_path(&d, 0, "baz/baz.txt")),
                  KR_EACCES);
    }
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_write.rs write */
static void write_(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "test.txt");
    assert_fs(rt, kr_fs_write(p, "Hello, World!", 13), 0);
    char got[32];
    assert_int_equal(tf_get(p, got, sizeof(got)), 13);
    assert_string_equal(got, "Hello, World!");
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

/* fs_uring_file_read.rs test_file_read_seek_back: read, seek back, read
 * again (the blocking backend runs the same test). */
static void test_file_read_seek_back(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    tf_dir d = tf_dir_make();
    const char *p = tf_path(&d, 0, "t");
    tf_put(p, "hello world", 11);
    kr_file *f;
    kr_open_options o = kr_open_options_read();
    assert_fs(rt, kr_fs_open(p, &o, &f), 0);
    char buf[5];
    assert_fs(rt, kr_file_read(f, buf, 5), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_fs(rt, kr_file_seek(f, 0, SEEK_SET), 0);
    assert_fs(rt, kr_file_read(f, buf, 5), 5);
    assert_memory_equal(buf, "hello", 5);
    kr_file_close(f);
    tf_dir_remove(&d);
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(path_read_write),
    cmocka_unit_test(canonicalize_root_dir_unix),
    cmocka_unit_test(copy),
    cmocka_unit_test(copy_permissions),
    cmocka_unit_test(create_dir),
    cmocka_unit_test(create_all),
    cmocka_unit_test(build_dir),
    cmocka_unit_test(remove_),
    cmocka_unit_test(read_inherent),
    cmocka_unit_test(read_dir_entry_info),
    cmocka_unit_test(basic_read),
    cmocka_unit_test(basic_write),
    cmocka_unit_test(rewind_seek_position),
    cmocka_unit_test(empty_read),
    cmocka_unit_test(unix_fd_is_valid),
    cmocka_unit_test(test_hard_link),
    cmocka_unit_test(test_symlink),
    cmocka_unit_test(test_hard_link_error_source_not_found),
    cmocka_unit_test(test_hard_link_error_destination_already_exists),
    cmocka_unit_test(test_hard_link_error_source_is_directory),
    cmocka_unit_test(open_options_effects),
    cmocka_unit_test(remove_dir_all),
    cmocka_unit_test(remove_file),
    cmocka_unit_test(rename_file),
    cmocka_unit_test(try_exists),
    cmocka_unit_test(write_),
    cmocka_unit_test(test_file_read_seek_back),
};
KR_TEST_MAIN(tests)
