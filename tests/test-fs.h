/*
 * tests/test-fs.h: what the fs tests share: a temporary directory per test
 * (made under $TMPDIR or /tmp, removed with everything in it at the end),
 * paths inside it, and running one kr_fs_op to completion.
 */
#ifndef KR_TESTS_TEST_FS_H
#define KR_TESTS_TEST_FS_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

#define TF_UNUSED __attribute__((unused))

typedef struct tf_dir {
    char path[256];
} tf_dir;

static TF_UNUSED tf_dir tf_dir_make(void) {
    tf_dir d;
    const char *t = getenv("TMPDIR");
    snprintf(d.path, sizeof(d.path), "%s/kairo-fs-XXXXXX",
             t != NULL && *t != '\0' ? t : "/tmp");
    assert_non_null(mkdtemp(d.path));
    return d;
}

static int tf_rm(const char *p, const struct stat *st, int flag,
                 struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(p, 0700);
    return remove(p);
}

static TF_UNUSED void tf_dir_remove(tf_dir *d) {
    nftw(d->path, tf_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* d/name in a static buffer per slot (0..3), so a call can use several. */
static TF_UNUSED const char *tf_path(const tf_dir *d, int slot,
                                     const char *name) {
    static char buf[4][512];
    snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", d->path, name);
    return buf[slot];
}

/* Runs one fs operation (or any int64-output future) on rt. */
static TF_UNUSED int64_t tf_run(kr_runtime *rt, kr_fs_op op) {
    int64_t v = -12345;
    assert_rc(kr_runtime_block_on(rt, &op.base, &v), 0);
    return v;
}

#define assert_fs(rt, op, expected)                                            \
    do {                                                                       \
        int64_t tf_v_ = tf_run((rt), (op));                                    \
        if (tf_v_ != (int64_t)(expected))                                      \
            fail_msg("%s gave %lld (%s; %s), expected %lld", #op,              \
                     (long long)tf_v_, kr_err_name((int)tf_v_),                \
                     kr_fs_last_error(), (long long)(expected));               \
    } while (0)

/* Writes a file with plain system calls (test setup, not under test). */
static TF_UNUSED void tf_put(const char *path, const void *data, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* Reads a whole small file with plain system calls into buf (NUL-ended). */
static TF_UNUSED ssize_t tf_get(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

#endif /* KR_TESTS_TEST_FS_H */
