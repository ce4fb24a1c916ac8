/*
 * io/reactor.h: the I/O driver: registrations with a readiness word and a
 * waker per direction, and the backend (epoll) behind a small interface.
 *
 * One reactor per runtime, with one ring (a backend: an epoll set or an
 * io_uring) or, on io_uring under the multi-thread runtime, one ring per
 * worker (kr__reactor_add_rings). Exactly one thread at a time "turns" a
 * ring (waits for its events and dispatches them): the current-thread
 * runtime's block_on thread, the multi-thread worker holding the driver
 * lock, or, per worker, the worker whose ring it is (and the monitor's
 * non-blocking look at a stuck worker's, kr__reactor_look). A
 * registration lives on one ring: the one its maker's thread turns, else
 * ring 0.
 *
 * Registration (struct kr_async_fd) fields:
 *   readiness  [ shutdown:1 | tick:31 | ready:32 ]. Written by the turning
 *              thread (dispatch: ready |= bits, tick + 1) and by clear_ready
 *              (ready &= ~bits, only if the tick is unchanged), both CAS.
 *              Pollers load it with acquire, pairing with the dispatch's
 *              release, so data that arrived before the event is visible.
 *   lock       guards reader and writer (the waker slots of
 *              kr_async_fd_poll_ready) and `waiters`.
 *   waiters    the kr_io_waiter nodes of futures waiting through
 *              kr_async_fd_poll_ready_waiter, oldest first, any number,
 *              each with the ready bits that concern it (mask_). Dispatch
 *              unlinks every waiter its bits concern, moves its waker out,
 *              and then stores the node's linked_ = 0 (release), all under
 *              the lock; after that store it never touches the node. The
 *              owner loads linked_ with acquire: 0 means the node is its
 *              own again, without the lock (the fast path of a woken
 *              future); 1 means it takes the lock to unlink it (a drop, or
 *              a poll that found readiness without a wake). Wakers are
 *              woken after the lock is released, in batches of
 *              KR__WAKE_BATCH; the walk restarts after each batch.
 *              Readiness itself stays in the word: a waiter is handed no
 *              token, so a cancelled waiter passes nothing on.
 * No lost wakeup: a poller stores its waker (or links its node) under the
 * lock and then loads readiness again; dispatch stores readiness and then
 * takes the lock to take the wakers. Whichever order the two critical
 * sections run in, either dispatch finds the waker or the poller's second
 * load finds the bits.
 *
 * Deregistration: kr_async_fd_free removes the fd from epoll, wakes and
 * drops its wakers and unlinks it. A turn in progress may still hold an
 * event pointing at it (collected by epoll_wait before the removal), so
 * while a turn of its ring runs (the ring's `turning`, under its lock) the
 * registration goes to the release list, which the turn frees when its
 * events are spent; the sixteenth one waiting unparks a turn blocked in
 * epoll_wait, so the list stays short however long that turn would sleep.
 * With no turn running it is freed at once: a turn that starts later
 * began its wait after the removal, which the kernel then never reports.
 * So a loop that never parks does not collect freed registrations.
 */
#ifndef KR_IO_REACTOR_H
#define KR_IO_REACTOR_H

#include <stdint.h>

#include "core/io_op.h"
#include "kairo.h"
#include "util/list.h"
#include "util/spinlock.h"

typedef struct kr__reactor kr__reactor;
typedef struct kr__io_ring kr__io_ring;

/* Events fetched per turn: Tokio's nevents. */
#define KR__IO_EVENTS 1024

#define KR__IO_SHUTDOWN   ((uint64_t)1 << 63)
#define KR__IO_TICK_SHIFT 32
#define KR__IO_TICK_MASK  ((uint64_t)0x7fffffff << KR__IO_TICK_SHIFT)
#define KR__IO_READY_MASK ((uint64_t)0xffffffff)

struct kr_async_fd {
    _Atomic uint64_t readiness;
    kr__spinlock lock;
    kr_waker reader, writer;
    kr__list waiters; /* kr_io_waiter.node_, under `lock` */
    int fd;
    kr__reactor *reactor;
    /* The ring it is registered on (io/reactor.c): the one the thread
     * that made it turns, else the reactor's first. */
    struct kr__io_ring *ring;
    void *be; /* the backend's (io/uring.c: its slot) */
    /* Registered by kr__reactor_add_socket: a non-blocking socket, which
     * the backend need not look at before polling it. */
    bool sock;
    /* Whether the backend is asked for read readiness (KR__READS_*): a
     * stream whose reads are completion operations (net/rx.c) needs none
     * from the kernel while nobody waits for it by readiness; the first
     * readiness wait for reading asks for it again, for good. Changed by
     * CAS only (0 -> 1 by kr__reactor_reads_by_ops, 1 -> 2 by a wait), so
     * each change tells the backend once. */
    _Atomic unsigned char read_mode;
    /* On the reactor's list of live registrations, then, freed during a
     * turn, on its release list (both under its lock). */
    kr__list link;
};

/* The backend: one file per implementation (io/epoll.c, io/uring.c),
 * chosen when the reactor is made (io/backend.c). Every op but `wake` runs
 * on the thread that turns the reactor or, for add and del, on any thread;
 * each implementation says how it serialises them. */
typedef struct kr__io_event {
    kr_async_fd *reg; /* NULL: the reactor's own wake-up */
    uint32_t ready;   /* KR_READABLE | ... */
} kr__io_event;

typedef struct kr__backend kr__backend;
typedef struct kr__backend_ops {
    void (*free)(kr__backend *b);
    /* Registers reg->fd for both directions, edge-triggered; the backend
     * may keep its own state in reg->be. Any thread. 0 or a negative
     * errno (KR_EPERM for a file that cannot be polled, as epoll says;
     * never asked of a reg->sock). */
    int (*add)(kr__backend *b, kr_async_fd *reg);
    /* Deregisters reg: no wait that starts after this returns reports it
     * (one in progress may, see "Deregistration" above). Any thread; the
     * fd may be closed already. */
    void (*del)(kr__backend *b, kr_async_fd *reg);
    /* Waits up to timeout_ns (-1: forever, 0: poll); fills at most max
     * events. Returns the count, 0 on timeout or EINTR. */
    int (*wait)(kr__backend *b, kr__io_event *ev, int max, int64_t timeout_ns);
    /* Makes a wait in progress (or the next one) return. Any thread. */
    void (*wake)(kr__backend *b);
    kr_io_driver kind; /* KR_IO_DRIVER_EPOLL or KR_IO_DRIVER_URING */
    /* Completion operations (core/io_op.h; core/driver.h's op_submit and
     * op_cancel, whose answers these give), or NULL (epoll). The op's
     * `done` runs in a later wait, or in free. Any thread. */
    int (*op_submit)(kr__backend *b, kr__io_op *op);
    void (*op_cancel)(kr__backend *b, kr__io_op *op);
    /* reg's read_mode has changed to `mode`: the registration asks the
     * kernel for read (and priority) readiness or not, from its next
     * request on. Called by reg's user, any thread, once per change.
     * NULL (epoll): the registration always has both directions. */
    void (*read_mode)(kr__backend *b, kr_async_fd *reg, unsigned mode);
} kr__backend_ops;

/* kr_async_fd.read_mode */
#define KR__READS_READINESS 0u /* the default: read readiness is asked for */
#define KR__READS_BY_OPS    1u /* not asked for: reads are ops (net/rx.c) */
#define KR__READS_BOTH      2u /* asked for again, for good */

struct kr__backend {
    const kr__backend_ops *ops;
    /* Operations submitted and not yet done (a relaxed count, for
     * kr__reactor_nregs: they are sources a turn must look at). */
    _Atomic long ops_live;
    /* Operations ever submitted (relaxed: kr_runtime_metrics.io_ops). */
    _Atomic uint64_t ops_total;
};

/* Makes the backend `want` asks for (KR_IO_DRIVER_AUTO: the environment's
 * KAIRO_IO, else the default; see io/backend.c), falling back to epoll,
 * with one line on stderr saying why, where io_uring was asked for and
 * cannot be had. */
int kr__backend_new(kr__backend **out, kr_io_driver want);
int kr__epoll_new(kr__backend **out);
/* 0, or why io_uring cannot serve (a negative errno, and *why a phrase
 * for the log line). Without liburing at build time: KR_ENOSYS. */
int kr__uring_new(kr__backend **out, const char **why);

/* ---- the reactor ------------------------------------------------------ */

int kr__reactor_new(kr__reactor **out, kr_io_driver want);
/* Rings. A reactor starts with one, turned by one thread at a time. On
 * io_uring, kr__reactor_add_rings(r, n) gives it n (the first being the
 * one it had), one per multi-thread worker: ring k is turned by worker k
 * alone (kr__reactor_turn(r, k, ...)), which binds its thread to it
 * (kr__reactor_bind), so that the registrations and completion operations
 * it makes go to ring k, into an SQ that thread owns, with no command
 * queue and no wake-up of another thread between them. Other threads'
 * go to ring 0. Called once, before any registration; KR_EINVAL on epoll
 * (its one epoll set serves every worker, as Tokio's driver does) or for
 * n < 2, or the error of a ring that could not be made (r then keeps
 * its one ring). */
int kr__reactor_add_rings(kr__reactor *r, unsigned n);
/* Makes ring k the calling thread's (kr__ctx.io_ring) until the thread
 * clears kr__ctx.io_ring; it must then be the only thread turning it. */
void kr__reactor_bind(kr__reactor *r, unsigned k);
/* Which backend it runs on. */
kr_io_driver kr__reactor_kind(kr__reactor *r);
/* Shuts down: new registrations are refused with KR_ESHUTDOWN, existing
 * ones are marked (their futures output KR_ESHUTDOWN) and their wakers
 * woken. Part of kr_runtime_shutdown, after the scheduler's shutdown.
 * Idempotent; any thread; turns may still run. */
void kr__reactor_shutdown(kr__reactor *r);
/* Shuts down (if not yet), then, no turn running or to come, drops the
 * runtime's reference; the memory goes with the last registration. */
void kr__reactor_shutdown_free(kr__reactor *r);
/* Waits for ring k's events up to timeout_ns and dispatches them. Returns
 * the number of events. One thread at a time per ring. */
int kr__reactor_turn(kr__reactor *r, unsigned k, int64_t timeout_ns);
/* A non-blocking turn of ring k by a thread that is not its turner, if
 * nobody turns it now (else 0 at once): the multi-thread monitor's, for
 * a worker stuck in a long poll, whose ring's events would otherwise wait
 * for that poll's end. The wakes it makes take the remote path. */
int kr__reactor_look(kr__reactor *r, unsigned k);
/* Events the turns returned, and of those the ones that woke a waker, so
 * far. Any thread (relaxed reads). */
void kr__reactor_counts(kr__reactor *r, uint64_t *events, uint64_t *ready,
                        uint64_t *ops);
/* Wakes a thread blocked in kr__reactor_turn of ring k. Any thread. */
void kr__reactor_unpark(kr__reactor *r, unsigned k);
/* Registrations alive plus completion operations in flight (a hint: zero
 * means a turn would find nothing). */
long kr__reactor_nregs(kr__reactor *r);
/* Completion operations (core/io_op.h): the backend's, or KR_ENOSYS where
 * it has none; KR_ESHUTDOWN once the reactor is shut down. Any thread. */
int kr__reactor_op_submit(kr__reactor *r, kr__io_op *op);
void kr__reactor_op_cancel(kr__reactor *r, kr__io_op *op);
/* Whether the backend has completion operations (io_uring). */
bool kr__reactor_has_ops(kr__reactor *r);
/* An event made by the caller: sets `bits` in a's readiness (with the next
 * tick, so a clear_ready that read the old tick fails) and wakes the
 * concerned waiters, as a turn's dispatch. core/driver.h's io_ready says
 * who may call it. */
void kr__reactor_inject(kr_async_fd *a, uint32_t bits);

/* kr_runtime_async_fd_new for a socket kairo made non-blocking itself
 * (net/sock.c): no fcntl, and no fstat on io_uring, two system calls
 * less a connection. Any thread. */
int kr__reactor_add_socket(kr__reactor *r, int fd, kr_async_fd **out);
/* a's reads are completion operations from now on (net/rx.c, through
 * core/driver.h's reads_by_ops): the backend may stop asking the kernel
 * for its read readiness, whose events nobody waits for while an op is in
 * flight (on io_uring each would be a completion and a run of task work a
 * message). A readiness wait for reading or priority (poll_ready, the
 * waiters) asks for it again before it sleeps, so nothing waits for an
 * event that is not asked for. Once per registration; any thread. */
void kr__reactor_reads_by_ops(kr_async_fd *a);

#endif
