/*
 * core/io_op.h: a completion operation, as the layers above the driver
 * see it (the files on io_uring: fs/ring.c; a stream's reads: net/rx.c).
 *
 * An operation is a description the caller fills (an opcode, a
 * descriptor, paths, a buffer, an offset, flags) and a completion
 * callback. The driver (core/driver.h: op_submit, op_cancel) hands it to
 * the kernel, where its backend can (io/uring.c); a driver without
 * completion operations (epoll, a runtime without I/O, the simulation)
 * has no op_submit, and the caller does the work another way (fs: the
 * blocking pool).
 *
 * The contract.
 *   - Everything the op names (the op itself, buf, path, path2) is the
 *     caller's memory that the kernel may read or write until `done` is
 *     called, and must stay valid until then, however long that takes:
 *     the caller holds it in memory that outlives a dropped future (fs:
 *     the reference-counted job). Nothing is ever freed under the kernel.
 *   - `done(op, res)` is called exactly once, on the thread that reaps
 *     the completion (a turning thread, or the one freeing the runtime),
 *     after every request that names the op (the op's own, and a cancel
 *     of it) has ended: res is the op's result, >= 0 or a negative errno
 *     (-ECANCELED where a cancel ended it first). After `done` the driver
 *     never touches the op again.
 *   - op_cancel may be called at most once, by a thread that keeps the op
 *     valid across the call, after op_submit returned 0; before or after
 *     the op completed. It asks, it does not wait: `done` still comes,
 *     with the op's own result or -ECANCELED.
 *   - A multishot op (`each` set: an ACCEPT) goes on after a result: the
 *     kernel answers it any number of times, each answer that leaves it
 *     armed a call of `each(op, res)` on the reaping thread, in the
 *     kernel's order, and the answer that ends it the call of `done`
 *     (whose res may be one more result, >= 0: the kernel ended the op
 *     while posting it). `each` must not free the op; it may cancel it.
 *   - A runtime freed with operations in flight cancels them and waits
 *     (bounded) for their completions, calling `done` for each; an op the
 *     kernel still holds after that is left to it (its memory leaks
 *     rather than be freed under the kernel).
 */
#ifndef KR_CORE_IO_OP_H
#define KR_CORE_IO_OP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/list.h"

typedef enum kr__io_opcode {
    KR__IOP_OPENAT,    /* fd: dirfd; path; flags, mode. res: the new fd */
    KR__IOP_READ,      /* fd; buf, len; off (KR__IOP_CUR: the position) */
    KR__IOP_WRITE,     /* fd; buf, len; off (KR__IOP_CUR: the position) */
    KR__IOP_FSYNC,     /* fd; flags: 0 or KR__IOP_DATASYNC */
    KR__IOP_STATX,     /* fd: dirfd; path; flags: AT_*; buf: struct statx */
    KR__IOP_UNLINKAT,  /* fd: dirfd; path; flags: 0 or AT_REMOVEDIR */
    KR__IOP_RENAMEAT,  /* path -> path2, both from AT_FDCWD */
    KR__IOP_MKDIRAT,   /* fd: dirfd; path; mode */
    KR__IOP_LINKAT,    /* path -> path2, both from AT_FDCWD */
    KR__IOP_SYMLINKAT, /* path2 made a symlink whose target is path */
    KR__IOP_RECV,      /* fd: a socket; buf, len; flags: MSG_*. res: bytes */
    KR__IOP_ACCEPT,    /* fd: a listener; flags: accept4's. res: the new fd;
                        * multishot with `each` (no peer address: the
                        * kernel would write every one to one place) */
    KR__IOP_CONNECT,   /* fd: a socket; buf, len: the address. res: 0 */
    KR__IOP_COUNT
} kr__io_opcode;

/* off of a READ or WRITE at the file's position (and advancing it). */
#define KR__IOP_CUR      UINT64_MAX
/* flags of an FSYNC that syncs the data only (fdatasync). */
#define KR__IOP_DATASYNC 1

struct kr__io_ring;
struct kr_async_fd;
typedef struct kr__io_op kr__io_op;
struct kr__io_op {
    /* The request: the caller's, read by the driver at submission. */
    kr__io_opcode code;
    int fd;
    int flags;
    unsigned mode;
    const char *path, *path2;
    void *buf;
    uint32_t len;
    uint64_t off;
    /* Submit only if the ring takes it at once (its owner is free, as on
     * the thread that turns it between turns): else op_submit answers
     * KR_EBUSY and nothing is queued, so no turn blocked in the kernel is
     * woken for it (net/rx.c then reads by readiness). */
    bool nowait;
    /* Where the driver has a ring per worker (core/driver.h: per_worker):
     * the registration whose ring takes the op, or NULL for the calling
     * thread's. A listener's accept goes to the listener's ring, so that
     * its results and the listener's readiness come in one turn (one wake
     * of the accepting task, not one from each ring); nowait does not
     * hold for it there (the op is armed once, and waking the ring's
     * worker for that is worth it). */
    const struct kr_async_fd *near;
    void (*done)(kr__io_op *op, int32_t res);
    /* A multishot op's results that leave it armed, or NULL: one shot. */
    void (*each)(kr__io_op *op, int32_t res);
    /* The driver's (io/uring.c says who writes which; ring_, the ring
     * that has the op, io/reactor.c writes at submission). */
    struct kr__io_ring *ring_;
    int32_t res_;
    unsigned refs_, want_;
    bool submitted_, ended_, finished_;
    kr__list queue_, live_;
};

#endif /* KR_CORE_IO_OP_H */
