/*
 * fs/ring.c: the io_uring backend of fs/job.h. Where the runtime runs the
 * io_uring driver, a file operation polled on a thread that turns the
 * driver (a worker, the current-thread core; see ring_driver) is one
 * completion operation on the driver's ring (core/io_op.h), submitted with
 * that thread's next turn, with no pool thread and no system call of its
 * own. Measured (fs/async_read_file, 4 KiB reads of a cached file, in a
 * task): about 2 us a read against the pool's 19-20 on 2 workers, 1.5-2
 * against 25-46 on the current-thread runtime.
 *
 * Which jobs: open (openat), read and write (at the file position or an
 * offset), sync_all / sync_data (fsync), metadata, symlink_metadata, a
 * file's metadata and try_exists (statx), create_dir (mkdirat),
 * remove_file / remove_dir (unlinkat), rename, hard_link, symlink. A seek
 * runs inline (lseek does not block). Everything else (read_dir,
 * create_dir_all, remove_dir_all, set_len, read_link, canonicalize, copy,
 * the whole-file read and write), and any opcode this kernel lacks, goes
 * to the blocking pool (kr__fs_backend_for, or submit's fallback).
 *
 * The job is the op's memory: the kernel writes only the job's bounce
 * buffer and statx, and the job holds a reference for the kernel until
 * the op's `done`, so a dropped future frees nothing the kernel uses.
 *
 * Dropping a pending future (detach). A read is cancelled: on a FIFO, a
 * terminal or a socket it may wait forever, and a cancelled read consumed
 * nothing, so nothing is lost (on the pool a dropped read keeps its thread
 * blocked and consumes the bytes that come). Every other operation runs
 * to its end as on the pool (a dropped write still writes its copy; an
 * open's new descriptor is closed with the job, fs.c).
 *
 * Completion (done, on the reaping thread) and poll (the future's thread)
 * meet under the job's lock `lk`: done sets the outputs, then `done_`,
 * and takes the stored waker; poll reads `done_` or stores its waker in
 * the same lock, so one of them sees the other (no lost wakeup), and the
 * outputs written before the unlock are visible to the poll that sees
 * `done_`.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/context.h"
#include "core/driver.h"
#include "core/runtime.h"
#include "fs/job.h"
#include "kairo/error.h"

/* The calling thread's runtime's driver if it has completion operations. */
static kr__driver *thread_driver(void) {
    struct kr_runtime *rt = kr__ctx.rt;
    if (rt == NULL || rt->driver == NULL)
        return NULL;
    return rt->driver->ops->op_submit != NULL ? rt->driver : NULL;
}

/* That driver, if this thread also turns it: a multi-thread worker, or
 * the thread holding the current-thread core (kr__ctx.worker). There an op
 * goes into the SQ and to the kernel with the thread's own next turn. A
 * multi-thread block_on thread never turns the driver: each op would be
 * handed to the worker blocked in it (an eventfd write and a thread switch
 * per op), which measured 2x slower than the pool (fs/async_read_file,
 * bench/bench-fs.c, run from block_on: 45-57 us a read against 20-40), so
 * its file operations go to the pool. */
static kr__driver *ring_driver(void) {
    return kr__ctx.worker != NULL ? thread_driver() : NULL;
}

/* j as a completion operation; false where it has none. */
static bool describe(kr__fs_job *j, kr__io_op *op) {
    int fd = j->h != NULL ? j->h->fd : -1;
    memset(op, 0, sizeof(*op));
    op->fd = AT_FDCWD;
    op->path = j->path;
    op->path2 = j->path2;
    switch (j->op) {
    case KR__FS_OPEN:
        op->code = KR__IOP_OPENAT;
        op->flags = j->flags | O_CLOEXEC;
        op->mode = j->mode;
        return true;
    case KR__FS_READ:
    case KR__FS_PREAD:
    case KR__FS_WRITE:
    case KR__FS_PWRITE:
        op->code = j->op == KR__FS_READ || j->op == KR__FS_PREAD
                       ? KR__IOP_READ
                       : KR__IOP_WRITE;
        op->fd = fd;
        op->buf = j->buf;
        op->len = (uint32_t)j->len; /* at most fs.c's MAX_BUF, 2 MiB */
        op->off = j->op == KR__FS_READ || j->op == KR__FS_WRITE
                      ? KR__IOP_CUR
                      : (uint64_t)j->off;
        return true;
    case KR__FS_FSYNC:
    case KR__FS_FDATASYNC:
        op->code = KR__IOP_FSYNC;
        op->fd = fd;
        op->flags = j->op == KR__FS_FDATASYNC ? KR__IOP_DATASYNC : 0;
        return true;
    case KR__FS_STAT:
    case KR__FS_EXISTS:
    case KR__FS_LSTAT:
    case KR__FS_FSTAT:
        op->code = KR__IOP_STATX;
        op->buf = &j->stx_;
        if (j->op == KR__FS_LSTAT)
            op->flags = AT_SYMLINK_NOFOLLOW;
        if (j->op == KR__FS_FSTAT) {
            op->fd = fd;
            op->path = "";
            op->flags = AT_EMPTY_PATH;
        }
        return true;
    case KR__FS_MKDIR:
        op->code = KR__IOP_MKDIRAT;
        op->mode = 0777;
        return true;
    case KR__FS_UNLINK:
    case KR__FS_RMDIR:
        op->code = KR__IOP_UNLINKAT;
        op->flags = j->op == KR__FS_RMDIR ? AT_REMOVEDIR : 0;
        return true;
    case KR__FS_RENAME:
        op->code = KR__IOP_RENAMEAT;
        return true;
    case KR__FS_LINK:
        op->code = KR__IOP_LINKAT;
        return true;
    case KR__FS_SYMLINK:
        op->code = KR__IOP_SYMLINKAT;
        return true;
    default:
        return false;
    }
}

const kr__fs_backend *kr__fs_backend_for(const kr__fs_job *j) {
    if (ring_driver() == NULL)
        return &kr__fs_blocking_backend;
    kr__io_op probe;
    if (j->op == KR__FS_SEEK || describe((kr__fs_job *)j, &probe))
        return &kr__fs_ring_backend;
    return &kr__fs_blocking_backend;
}

static void stat_of_statx(struct stat *st, const struct statx *x) {
    memset(st, 0, sizeof(*st));
    st->st_mode = x->stx_mode;
    st->st_size = (off_t)x->stx_size;
    st->st_nlink = x->stx_nlink;
    st->st_ino = x->stx_ino;
    st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
    st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
    st->st_uid = x->stx_uid;
    st->st_gid = x->stx_gid;
    st->st_blksize = x->stx_blksize;
    st->st_blocks = (blkcnt_t)x->stx_blocks;
    st->st_atim.tv_sec = x->stx_atime.tv_sec;
    st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
    st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
    st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
    st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
    st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

/* Under lk: the stored waker, taken out (vtable NULL: none). */
static kr_waker take_waker_locked(kr__fs_job *j) {
    kr_waker w = j->waker_;
    j->waker_.vtable = NULL;
    j->waker_.data = NULL;
    return w;
}

/* The reaping thread: the op's result becomes the job's outputs. */
static void ring_done(kr__io_op *op, int32_t res) {
    kr__fs_job *j = KR__CONTAINER_OF(op, kr__fs_job, op_);
    int64_t r = res;
    switch (j->op) {
    case KR__FS_OPEN:
        if (r >= 0) {
            j->fd_out = (int)r;
            r = 0;
        }
        break;
    case KR__FS_STAT:
    case KR__FS_LSTAT:
    case KR__FS_FSTAT:
        if (r == 0)
            stat_of_statx(&j->st, &j->stx_);
        break;
    case KR__FS_EXISTS:
        r = r == 0 ? 1 : r == -ENOENT || r == -ENOTDIR ? 0 : r;
        break;
    default:
        break;
    }
    j->res = r;
    kr__spin_lock(&j->lk_);
    j->done_ = true;
    kr_waker w = take_waker_locked(j);
    kr__spin_unlock(&j->lk_);
    if (w.vtable != NULL)
        kr_waker_wake(w);
    kr__fs_job_unref(j); /* the kernel's */
}

static void mark_done(kr__fs_job *j) {
    kr__spin_init(&j->lk_);
    j->done_ = true;
}

static int ring_submit(kr__fs_job *j) {
    kr__spin_init(&j->lk_);
    j->done_ = false;
    j->waker_.vtable = NULL;
    j->waker_.data = NULL;
    if (j->op == KR__FS_SEEK) {
        kr__fs_exec(j); /* lseek does not block */
        mark_done(j);
        return 0;
    }
    kr__driver *d = ring_driver();
    if (d == NULL || !describe(j, &j->op_)) {
        j->be = &kr__fs_blocking_backend;
        return j->be->submit(j);
    }
    j->op_.done = ring_done;
    j->drv_ = d;
    kr__fs_job_ref(j); /* the kernel's, until done */
    int rc = d->ops->op_submit(d, &j->op_);
    if (rc == 0)
        return 0;
    kr__fs_job_unref(j);
    if (rc == KR_EOPNOTSUPP || rc == KR_ENOSYS) { /* this kernel lacks it */
        j->be = &kr__fs_blocking_backend;
        return j->be->submit(j);
    }
    return rc;
}

static kr_poll ring_poll(kr__fs_job *j, kr_context *cx) {
    kr__spin_lock(&j->lk_);
    if (j->done_) {
        kr__spin_unlock(&j->lk_);
        return KR_READY;
    }
    kr_waker_set(&j->waker_, cx->waker);
    kr__spin_unlock(&j->lk_);
    return KR_PENDING;
}

static void ring_detach(kr__fs_job *j) {
    kr__spin_lock(&j->lk_);
    bool done = j->done_;
    kr_waker w = take_waker_locked(j);
    kr__spin_unlock(&j->lk_);
    if (w.vtable != NULL)
        kr_waker_drop(w);
    /* Only from inside the runtime the op went to: its driver is alive
     * there (the future holds the job, so the op is valid). A read dropped
     * elsewhere (after its runtime shut down, or outside it) is left to
     * end, or to be cancelled when the runtime is freed. */
    if (!done && (j->op == KR__FS_READ || j->op == KR__FS_PREAD) &&
        thread_driver() == j->drv_)
        j->drv_->ops->op_cancel(j->drv_, &j->op_);
}

const kr__fs_backend kr__fs_ring_backend = {"io_uring", ring_submit, ring_poll,
                                            ring_detach};
