/*
 * core/driver.h: the driver, as a scheduler sees it.
 *
 * The driver is what a scheduler waits on when it has nothing to run: the
 * I/O reactor and the timer wheels of the threads that poll sleeps. The
 * runtime layer makes one per runtime (rt/driver.c, over io/ and time/) and
 * hands it to the flavor, which owns it from then on; a scheduler only
 * turns it, unparks it, asks whether it has I/O sources, advances its
 * threads' timers and shuts it down. It knows neither epoll (nor a later
 * io_uring backend, which plugs in behind the same ops) nor the wheel.
 *
 * Threads. `turn` runs on one thread at a time (the flavor decides which:
 * the current-thread runtime's block_on thread, or the multi-thread worker
 * holding its driver lock). `unpark` and `has_sources` may be called from
 * any thread. The timer functions run on the thread that owns the wheel
 * (the one whose kr__ctx.wheel it is; timers_fire may also run elsewhere),
 * except timers_init and timers_clear, which run while no thread polls on
 * it.
 *
 * Timer storage. A scheduler embeds one kr__timers per thread that may
 * poll a sleep (a worker, a current-thread core, a multi-thread block_on
 * call) and points kr__ctx.wheel at it while that thread runs; the storage
 * is the wheel itself (time/wheel.h asserts it fits), so no allocation and
 * no pointer chase sits between a scheduler and its timers.
 */
#ifndef KR_CORE_DRIVER_H
#define KR_CORE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The timing wheel's geometry (time/wheel.h; Tokio's, reference/tokio.md
 * §3), here because it sizes the storage below. */
#define KR__WHEEL_LEVELS 6
#define KR__WHEEL_SLOTS  64

/* Room for one wheel: a slot pointer per level and slot, plus 16 words for
 * its lock, clock, count, occupancy bitmaps and pending list. */
typedef union kr__timers {
    max_align_t align_;
    void *words_[KR__WHEEL_LEVELS * KR__WHEEL_SLOTS + 16];
} kr__timers;

typedef struct kr__driver kr__driver;
struct kr__io_op;
struct kr_async_fd;

typedef struct kr__driver_ops {
    /* Waits up to timeout_ns (-1: no limit, 0: only a look) for I/O
     * events or an unpark, and dispatches the events (wakes their wakers).
     * One thread at a time. NULL for a runtime without I/O (its
     * has_sources is always false, so schedulers never turn it): a
     * thread parking "in the driver" then parks on its futex
     * (kr__park_driver, core/park.c). */
    void (*turn)(kr__driver *d, int64_t timeout_ns);
    /* Makes a turn in progress, or else the next one, return at once. Any
     * thread. NULL when `turn` is. */
    void (*unpark)(kr__driver *d);
    /* True if an I/O source is registered: a busy scheduler's non-blocking
     * look at I/O finds nothing otherwise (a hint, any thread). */
    bool (*has_sources)(kr__driver *d);
    /* Shuts down (I/O registrations fail with KR_ESHUTDOWN from now on,
     * their wakers are woken) and releases the runtime's hold on the
     * driver. Once, after the scheduler stopped turning it. */
    void (*shutdown)(kr__driver *d);

    /* Makes `t` an empty wheel whose clock reads now. */
    void (*timers_init)(kr__timers *t);
    /* Fires every due timer of `t` and returns the ns until its next
     * deadline (0: one is due already, -1: none is registered). An empty
     * wheel costs no clock read. The owner of `t`, as a rule; another
     * thread may fire it too, even at the same time (the multi-thread
     * monitor does, for a worker stuck in a long poll). */
    int64_t (*timers_fire)(kr__timers *t);
    /* The ns until the next deadline of `t`, firing nothing (0: due, -1:
     * none). Owner of `t` only. */
    int64_t (*timers_next)(kr__timers *t);
    /* Drops the waker of every timer still registered on `t` and marks it
     * fired (after every task that could poll it was cancelled). */
    void (*timers_clear)(kr__timers *t);

    /* Metrics (kr_runtime_metrics): entries registered on `t` now (a
     * relaxed read, any thread), and the I/O events the turns returned
     * and those that woke a waiting task so far (0 without I/O). */
    uint64_t (*timers_count)(kr__timers *t);
    void (*io_counts)(kr__driver *d, uint64_t *events, uint64_t *ready,
                      uint64_t *ops);

    /* Completion operations (core/io_op.h, which holds their contract).
     * op_submit starts op on the driver's ring; any thread. 0; KR_ENOSYS
     * where this driver has no completion operations (epoll; such a
     * driver may also leave the entries NULL); KR_EOPNOTSUPP for an
     * opcode the kernel lacks; KR_ESHUTDOWN after shutdown; KR_EBUSY for
     * an op->nowait that the ring cannot take at once. An op
     * submitted counts as a source (has_sources) until its `done`. The
     * submission goes to the kernel with the next turn's wait (or look),
     * never an io_uring_enter of its own. op_cancel asks the kernel to end
     * it early; any thread. */
    int (*op_submit)(kr__driver *d, struct kr__io_op *op);
    void (*op_cancel)(kr__driver *d, struct kr__io_op *op);
    /* Sets `bits` (KR_READABLE...) in afd's readiness and wakes the
     * futures they concern, as an event from the kernel does: an op's
     * `done` (net/rx.c: its data now waits in the stream's buffer) tells
     * the readiness waiters. Called only by the thread that calls the
     * dones (a turning thread, or the one freeing the runtime), with afd
     * alive. NULL where op_submit is NULL. */
    void (*io_ready)(kr__driver *d, struct kr_async_fd *afd, uint32_t bits);
    /* kr_runtime_async_fd_new for a socket the caller made non-blocking
     * (net/sock.c: with SOCK_NONBLOCK, or accepted so): the same answers,
     * without looking at the descriptor first (no fcntl, no fstat). Any
     * thread; KR_ENOIO without the I/O driver. */
    int (*socket_new)(kr__driver *d, int fd, struct kr_async_fd **out);
    /* afd's reads are completion operations from now on (net/rx.c, at a
     * stream's first): the driver may stop asking the kernel for its read
     * readiness until a readiness wait for reading needs it (io/reactor.h:
     * kr__reactor_reads_by_ops). Any thread, afd alive. NULL where
     * op_submit is NULL. */
    void (*reads_by_ops)(kr__driver *d, struct kr_async_fd *afd);

    /* One driver per worker, or NULL (the workers share d, turning it one
     * at a time under the scheduler's lock, as Tokio's do; always on
     * epoll, and where the per-worker rings cannot be had). Where it
     * answers, worker k turns and parks in the k-th of the n drivers only,
     * on its own ring, after binding its thread to it; each has d's ops
     * but shutdown (d's shutdown frees them). Once, on the runtime's
     * driver, before any I/O source is registered. NULL entry: never. */
    kr__driver **(*per_worker)(kr__driver *d, unsigned n);
    /* Makes the calling thread the one that turns d (a per_worker
     * driver): the registrations and completion operations it makes go to
     * d's ring, until it stores NULL in kr__ctx.io_ring. */
    void (*bind)(kr__driver *d);
    /* A non-blocking turn of a per_worker driver from another thread, if
     * its worker is not turning it (else nothing): the monitor's, for a
     * worker stuck in one long poll (sched/monitor.c). Any thread. */
    void (*look)(kr__driver *d);
} kr__driver_ops;

struct kr__driver {
    const kr__driver_ops *ops;
};

#endif /* KR_CORE_DRIVER_H */
