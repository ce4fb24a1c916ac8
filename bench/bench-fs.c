/*
 * bench/bench-fs.c: Tokio's benches/fs.rs (reference/tokio.md §7.14): a
 * multi-thread runtime of 2 workers (fixed, as Tokio's rt(); --workers does
 * not change it), /dev/zero, BLOCK_COUNT reads of BUFFER_SIZE bytes per
 * iteration, the task run by block_on as Tokio's is.
 *
 *   fs/async_read_buf      kr_fs_open, then 1000 x kr_file_read (each a
 *                          blocking-pool round trip, as Tokio's File::read).
 *   fs/async_read_codec    the same through a framed reader of capacity
 *                          4096 (Tokio: FramedRead::with_capacity + BytesCodec,
 *                          each frame a fresh BytesMut): each frame is a new
 *                          4 KiB allocation the read fills, freed after.
 *   fs/async_read_std_file open(2) and 1000 x read(2) on the block_on
 *                          thread (Tokio: block_in_place around std's calls;
 *                          kairo has no block_in_place, and on the block_on
 *                          thread it is a direct call in Tokio too).
 *   fs/sync_read           open(2) and 1000 x read(2), no runtime.
 *
 * kairo's own rows (no Tokio peer), for the two file backends (fs/job.h):
 *   fs/async_read_file     fs/async_read_buf on a regular file of
 *                          BLOCK_COUNT x BUFFER_SIZE bytes in the page cache
 *                          (made once, in $TMPDIR), read to its end, by a
 *                          spawned task (on a worker: a server's case) that
 *                          block_on awaits.
 *   fs/async_read_file_ct  the same on the current-thread runtime.
 * Under KAIRO_IO=uring the reads are io_uring operations (fs/ring.c), on
 * epoll blocking-pool jobs: run the rows under each to compare.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"

#define BLOCK_COUNT 1000
#define BUFFER_SIZE 4096
#define DEV_ZERO    "/dev/zero"

typedef struct fs_read_task {
    kr_future base;
    kr_coro co;
    kr_fs_op op;
    kr_file *f;
    int64_t r;
    const char *path;
    int i, codec;
    unsigned char *frame;
    unsigned char buf[BUFFER_SIZE];
} fs_read_task;

static kr_poll fs_read_poll(kr_future *fu, kr_context *cx, void *out) {
    fs_read_task *t = (fs_read_task *)fu;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    {
        kr_open_options o = kr_open_options_read();
        t->op = kr_fs_open(t->path, &o, &t->f);
    }
    KR_AWAIT_INTO(&t->co, &t->op, cx, t->r);
    BENCH_OK((int)t->r);
    for (t->i = 0; t->i < BLOCK_COUNT; t->i++) {
        if (t->codec) {
            t->frame = malloc(BUFFER_SIZE);
            if (t->frame == NULL)
                bench_fail("out of memory");
            t->op = kr_file_read(t->f, t->frame, BUFFER_SIZE);
        } else {
            t->op = kr_file_read(t->f, t->buf, BUFFER_SIZE);
        }
        KR_AWAIT_INTO(&t->co, &t->op, cx, t->r);
        if (t->r <= 0)
            bench_fail("fs: read of %s gave %lld", t->path, (long long)t->r);
        free(t->frame);
        t->frame = NULL;
    }
    kr_file_close(t->f);
    KR_ASYNC_END(&t->co);
}

static void fs_read_drop(kr_future *f) {
    fs_read_task *t = (fs_read_task *)f;
    kr_coro_drop(&t->co);
    free(t->frame);
}
KR_FUTURE_VTABLE(fs_read_vt, fs_read_task, fs_read_poll, fs_read_drop, 0);

typedef struct fs_bench {
    kr_runtime *rt;
    int codec;
    const char *path;
    bool spawn;
} fs_bench;

static void async_read_iter(void *arg) {
    fs_bench *b = arg;
    static fs_read_task t; /* 4 KiB: not on the stack of block_on's caller */
    t.base.vtable = &fs_read_vt;
    t.co = (kr_coro)KR_CORO_INIT;
    t.codec = b->codec;
    t.path = b->path;
    t.frame = NULL;
    if (b->spawn) {
        kr_join_handle h;
        BENCH_OK(kr_runtime_spawn(b->rt, &t.base, &h));
        BENCH_OK(kr_runtime_block_on(b->rt, &h.base, NULL));
        return;
    }
    BENCH_OK(kr_runtime_block_on(b->rt, &t.base, NULL));
}

static void read_all_blocking(void) {
    int fd = open(DEV_ZERO, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        bench_fail("fs: cannot open %s", DEV_ZERO);
    unsigned char buf[BUFFER_SIZE];
    for (int i = 0; i < BLOCK_COUNT; i++)
        if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            bench_fail("fs: short read of %s", DEV_ZERO);
    close(fd);
}

typedef struct std_task {
    kr_future base;
} std_task;

static kr_poll std_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    (void)out;
    read_all_blocking();
    return KR_READY;
}
KR_FUTURE_VTABLE(std_vt, std_task, std_poll, NULL, 0);

static void std_iter(void *arg) {
    fs_bench *b = arg;
    std_task t = {{&std_vt}};
    BENCH_OK(kr_runtime_block_on(b->rt, &t.base, NULL));
}

static void sync_iter(void *arg) {
    (void)arg;
    read_all_blocking();
}

static kr_runtime *fs_runtime(const char *name, bool ct) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = ct ? KR_RUNTIME_CURRENT_THREAD : KR_RUNTIME_MULTI_THREAD;
    c.workers = ct ? 0 : 2;
    kr_runtime *rt = NULL;
    int rc = kr_runtime_new(&c, &rt);
    if (rc != 0)
        fprintf(stderr, "kairo-bench: %s: skipped: %s\n", name,
                kr_strerror(rc));
    return rt;
}

static void fs_bench_run(const bench_cfg *cfg, const char *name, int codec,
                         void (*iter)(void *)) {
    fs_bench b = {fs_runtime(name, false), codec, DEV_ZERO, false};
    if (b.rt == NULL)
        return;
    bench_measure(cfg, name, iter, &b);
    kr_runtime_free(b.rt);
}

/* A regular file of BLOCK_COUNT x BUFFER_SIZE bytes, written once. */
static const char *file_path(void) {
    static char path[512];
    if (path[0] != '\0')
        return path;
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/kairo-bench-fs.%d",
             dir != NULL && dir[0] != '\0' ? dir : "/tmp", (int)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        bench_fail("fs: cannot create %s", path);
    unsigned char buf[BUFFER_SIZE];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)i;
    for (int i = 0; i < BLOCK_COUNT; i++)
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            bench_fail("fs: cannot write %s", path);
    close(fd);
    return path;
}

static void fs_file_run(const bench_cfg *cfg, const char *name, bool ct) {
    fs_bench b = {fs_runtime(name, ct), 0, file_path(), true};
    if (b.rt != NULL) {
        bench_measure(cfg, name, async_read_iter, &b);
        kr_runtime_free(b.rt);
    }
    unlink(b.path);
}

void fs_async_read_file(const bench_cfg *cfg, const char *name) {
    fs_file_run(cfg, name, false);
}
void fs_async_read_file_ct(const bench_cfg *cfg, const char *name) {
    fs_file_run(cfg, name, true);
}

void fs_async_read_std_file(const bench_cfg *cfg, const char *name) {
    fs_bench_run(cfg, name, 0, std_iter);
}
void fs_async_read_buf(const bench_cfg *cfg, const char *name) {
    fs_bench_run(cfg, name, 0, async_read_iter);
}
void fs_async_read_codec(const bench_cfg *cfg, const char *name) {
    fs_bench_run(cfg, name, 1, async_read_iter);
}
void fs_sync_read(const bench_cfg *cfg, const char *name) {
    bench_measure(cfg, name, sync_iter, NULL);
}
