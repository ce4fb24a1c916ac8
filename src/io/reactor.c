/* io/reactor.c: registrations, readiness and dispatch (see reactor.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/reactor.h"
#include "core/runtime.h"
#include "core/context.h"
#include "core/handle.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/debug.h"

/* Registrations freed during a turn wait for its end. A turn blocked in
 * epoll_wait may not end for a long time, so the free that makes this many
 * of them waiting unparks it (Tokio's NOTIFY_AFTER, 16): at most about
 * that many freed registrations are held, however long the turn sleeps. */
#define RELEASE_UNPARK 16

/* One backend and its turns. A reactor has one ring, or (io_uring on the
 * multi-thread runtime, kr__reactor_add_rings) one per worker, each turned
 * by its own worker only; a registration lives on one ring (its `ring`),
 * whose turns alone report it. */
struct kr__io_ring {
    kr__reactor *r;
    kr__backend *be;
    /* Held for a whole turn: one turn of a ring at a time, whoever
     * turns it (its worker, or the monitor's look at a stuck worker's:
     * kr__reactor_look). Taken by CAS with acquire, which pairs with the
     * release store that ends the previous turn, so that turn's writes to
     * `ev`, the metrics and the backend's ring are visible to the next
     * turner whichever thread it is. The worker waits for a look to end
     * (it never blocks); a look that finds it held gives up. */
    _Atomic int turn_busy;
    kr__spinlock lock; /* turning, release, nrelease */
    /* A turn is between its start and its end: it may hold events naming
     * registrations (see reactor.h, "Deregistration"). */
    bool turning;
    /* Registrations freed while turning, freed by that turn's end. */
    kr__list release;
    unsigned nrelease;
    /* Metrics: written by the turning thread with a relaxed load and
     * store (turns of one ring are one at a time, and turn_busy orders
     * one turn's stores before the next's), read by anyone. */
    _Atomic uint64_t n_events, n_ready;
    kr__io_event ev[KR__IO_EVENTS]; /* the turning thread's */
};

struct kr__reactor {
    kr__io_ring *rings; /* nrings of them; rings[0] always exists */
    unsigned nrings;
    /* Memory lifetime: the runtime's reference plus one per registration. */
    _Atomic long refs;
    _Atomic long nregs;
    /* Set (under `lock`) by kr__reactor_shutdown: no registration is
     * accepted, every one is marked KR__IO_SHUTDOWN. */
    _Atomic int shutdown;
    /* Set by kr__reactor_shutdown_free: no turn will run again, so a freed
     * registration need not leave epoll first (see kr_async_fd_free). */
    _Atomic int gone;
    kr__spinlock lock; /* the list below */
    kr__list live;     /* the live registrations */
};

static void reactor_unref(kr__reactor *r) {
    if (kr__fetch_sub_acqrel(&r->refs, 1) != 1)
        return;
    for (unsigned k = 0; k < r->nrings; k++)
        r->rings[k].be->ops->free(r->rings[k].be);
    kr__free(r->rings);
    kr__free(r);
}

/* Frees the registrations on a list taken off a release list. */
static void free_list(kr__reactor *r, kr__list *l) {
    kr__list *node;
    while ((node = kr__list_pop_front(l)) != NULL) {
        kr__free(KR__CONTAINER_OF(node, kr_async_fd, link));
        reactor_unref(r); /* the registration's reference */
    }
}

/* Under g's lock: moves its release list to `to` (initialised here). */
static void take_release(kr__io_ring *g, kr__list *to) {
    kr__list_init(to);
    kr__list_splice_back(to, &g->release);
    g->nrelease = 0;
}

static void ring_init(kr__reactor *r, kr__io_ring *g, kr__backend *be) {
    g->r = r;
    g->be = be;
    atomic_init(&g->turn_busy, 0);
    kr__spin_init(&g->lock);
    g->turning = false;
    kr__list_init(&g->release);
    g->nrelease = 0;
    atomic_init(&g->n_events, 0);
    atomic_init(&g->n_ready, 0);
}

int kr__reactor_new(kr__reactor **out, kr_io_driver want) {
    kr__reactor *r = kr__calloc(1, sizeof(*r));
    if (r == NULL)
        return KR_ENOMEM;
    r->rings = kr__calloc(1, sizeof(*r->rings));
    kr__backend *be = NULL;
    int rc = r->rings == NULL ? KR_ENOMEM : kr__backend_new(&be, want);
    if (rc < 0) {
        kr__free(r->rings);
        kr__free(r);
        return rc;
    }
    ring_init(r, &r->rings[0], be);
    r->nrings = 1;
    atomic_init(&r->refs, 1);
    atomic_init(&r->nregs, 0);
    atomic_init(&r->shutdown, 0);
    atomic_init(&r->gone, 0);
    kr__spin_init(&r->lock);
    kr__list_init(&r->live);
    *out = r;
    return 0;
}

int kr__reactor_add_rings(kr__reactor *r, unsigned n) {
    KR__REQUIRE(r->nrings == 1 && kr__load_relaxed(&r->nregs) == 0 &&
                    kr__load_relaxed(&r->rings[0].be->ops_live) == 0,
                "kr__reactor_add_rings: rings=%u", r->nrings);
    if (n <= 1 || r->rings[0].be->ops->kind != KR_IO_DRIVER_URING)
        return KR_EINVAL;
    kr__io_ring *rings = kr__calloc(n, sizeof(*rings));
    if (rings == NULL)
        return KR_ENOMEM;
    int rc = 0;
    unsigned made = 1;
    for (; made < n; made++) {
        kr__backend *be;
        const char *why;
        rc = kr__uring_new(&be, &why);
        if (rc < 0)
            break;
        ring_init(r, &rings[made], be);
    }
    if (rc < 0) {
        while (--made > 0)
            rings[made].be->ops->free(rings[made].be);
        kr__free(rings);
        return rc;
    }
    ring_init(r, &rings[0], r->rings[0].be);
    kr__free(r->rings);
    r->rings = rings;
    r->nrings = n;
    return 0;
}

void kr__reactor_bind(kr__reactor *r, unsigned k) {
    KR__REQUIRE(k < r->nrings, "kr__reactor_bind: ring %u of %u", k, r->nrings);
    kr__ctx.io_ring = &r->rings[k];
}

/* The ring this thread's registrations and ops go to: the one it turns
 * (kr__reactor_bind), else the first. */
static kr__io_ring *ring_here(kr__reactor *r) {
    kr__io_ring *g = kr__ctx.io_ring;
    return g != NULL && g->r == r ? g : &r->rings[0];
}

long kr__reactor_nregs(kr__reactor *r) {
    long n = kr__load_relaxed(&r->nregs);
    for (unsigned k = 0; k < r->nrings; k++)
        n += kr__load_relaxed(&r->rings[k].be->ops_live); /* a hint */
    return n;
}

int kr__reactor_op_submit(kr__reactor *r, kr__io_op *op) {
    kr__io_ring *g = ring_here(r);
    if (op->near != NULL && op->near->ring != g) {
        g = op->near->ring; /* io_op.h: near */
        op->nowait = false;
    }
    if (g->be->ops->op_submit == NULL)
        return KR_ENOSYS;
    if (kr__load_acquire(&r->shutdown))
        return KR_ESHUTDOWN;
    op->ring_ = g; /* op_cancel's: the ring that has it */
    return g->be->ops->op_submit(g->be, op);
}

void kr__reactor_op_cancel(kr__reactor *r, kr__io_op *op) {
    kr__io_ring *g = op->ring_;
    KR__REQUIRE(g != NULL && g->r == r, "kr__reactor_op_cancel: op %p",
                (void *)op);
    if (g != NULL) /* NULL: never submitted */
        g->be->ops->op_cancel(g->be, op);
}

bool kr__reactor_has_ops(kr__reactor *r) {
    return r->rings[0].be->ops->op_submit != NULL;
}

void kr__reactor_unpark(kr__reactor *r, unsigned k) {
    r->rings[k].be->ops->wake(r->rings[k].be);
}

kr_io_driver kr__reactor_kind(kr__reactor *r) {
    return r->rings[0].be->ops->kind;
}

/* Which waker slots a set of ready bits concerns. */
static bool wakes_reader(uint32_t bits) {
    return bits & (KR_READABLE | KR_READ_CLOSED | KR_IO_ERROR);
}
static bool wakes_writer(uint32_t bits) {
    return bits & (KR_WRITABLE | KR_WRITE_CLOSED | KR_IO_ERROR);
}

/* Wakers collected under a registration's lock and woken after it. */
#define WAKE_BATCH 32 /* Tokio's WakeList: a stack array, no allocation */

static _Atomic uint32_t *waiter_linked(kr_io_waiter *w) {
    /* linked_ is a plain uint32_t in the public header (no <stdatomic.h>
     * there); it is only ever accessed through this. */
    return (_Atomic uint32_t *)(void *)&w->linked_;
}
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t) &&
                   _Alignof(_Atomic uint32_t) == _Alignof(uint32_t),
               "kr_io_waiter.linked_ cannot be accessed atomically");

/* Under a->lock: unlinks up to `room` waiters whose mask meets `bits`,
 * moving their wakers to out[]. Returns how many; *more says whether a
 * concerned waiter was left for lack of room. */
static inline unsigned take_waiters(kr_async_fd *a, uint32_t bits,
                                    kr_waker *out, unsigned room, bool *more) {
    unsigned n = 0;
    *more = false;
    KR__LIST_FOR_EACH(it, tmp, &a->waiters) {
        kr_io_waiter *w = KR__CONTAINER_OF(it, kr_io_waiter, node_);
        if ((w->mask_ & bits) == 0)
            continue;
        if (n == room) {
            *more = true;
            break;
        }
        kr__list_remove(&w->node_);
        out[n++] = w->waker_;
        w->waker_.vtable = NULL;
        w->waker_.data = NULL;
        /* Release: the owner's acquire load of 0 sees the node and waker
         * as left here; nothing here touches the node after this. */
        kr__store_release(waiter_linked(w), 0);
    }
    return n;
}

/* Under a->lock: moves the wakers that `bits` concern (the slots', then
 * the waiters') to out[], at most `room` (>= 2). Returns how many; *more
 * says whether a concerned waiter is left for lack of room. */
static inline unsigned collect(kr_async_fd *a, uint32_t bits, kr_waker *out,
                               unsigned room, bool *more) {
    unsigned n = 0;
    if (wakes_reader(bits) && a->reader.vtable != NULL) {
        out[n++] = a->reader;
        a->reader.vtable = NULL;
    }
    if (wakes_writer(bits) && a->writer.vtable != NULL) {
        out[n++] = a->writer;
        a->writer.vtable = NULL;
    }
    *more = false;
    /* The common case, no waiter or one, costs a test or one unlink. */
    if (!kr__list_empty(&a->waiters))
        n += take_waiters(a, bits, out + n, room - n, more);
    return n;
}

/* Wakes, outside the lock, every waker that `bits` concern: the batched
 * loop for long lists (and for shutdown and free). Returns how many (for
 * the metrics' ready count). */
static unsigned wake_concerned(kr_async_fd *a, uint32_t bits) {
    kr_waker batch[WAKE_BATCH];
    bool more;
    unsigned total = 0;
    do {
        kr__spin_lock(&a->lock);
        unsigned n = collect(a, bits, batch, WAKE_BATCH, &more);
        kr__spin_unlock(&a->lock);
        for (unsigned i = 0; i < n; i++)
            kr_waker_wake(batch[i]);
        total += n;
    } while (more);
    return total;
}

/* Dispatch's wake: the common cases (no waiter on the list, or one, a
 * single task per direction) without the batch loop; more go to
 * wake_concerned. */
static inline unsigned dispatch_wake(kr_async_fd *a, uint32_t bits) {
    kr_waker out[3];
    unsigned n = 0;
    kr__spin_lock(&a->lock);
    if (wakes_reader(bits) && a->reader.vtable != NULL) {
        out[n++] = a->reader;
        a->reader.vtable = NULL;
    }
    if (wakes_writer(bits) && a->writer.vtable != NULL) {
        out[n++] = a->writer;
        a->writer.vtable = NULL;
    }
    kr__list *first = a->waiters.next;
    bool rest = false;
    if (first != &a->waiters) {
        if (first->next == &a->waiters) { /* exactly one */
            bool more;
            n += take_waiters(a, bits, out + n, 1, &more);
        } else {
            rest = true;
        }
    }
    kr__spin_unlock(&a->lock);
    for (unsigned i = 0; i < n; i++)
        kr_waker_wake(out[i]);
    if (rest)
        n += wake_concerned(a, bits);
    return n;
}

/* Sets bits (and the next tick), then wakes the concerned wakers. */
static bool dispatch(kr_async_fd *a, uint32_t bits) {
    uint64_t cur = kr__load_relaxed(&a->readiness); /* the CAS re-reads */
    for (;;) {
        uint64_t tick =
            ((cur & KR__IO_TICK_MASK) + ((uint64_t)1 << KR__IO_TICK_SHIFT)) &
            KR__IO_TICK_MASK;
        uint64_t next =
            (cur & KR__IO_SHUTDOWN) | tick | ((cur | bits) & KR__IO_READY_MASK);
        /* Release pairs with the pollers' acquire loads. */
        if (kr__cas_weak_acqrel(&a->readiness, &cur, next))
            break;
    }
    return dispatch_wake(a, bits) != 0;
}

void kr__reactor_inject(kr_async_fd *a, uint32_t bits) {
    (void)dispatch(a, bits);
}

static bool turn_trylock(kr__io_ring *g) {
    int zero = 0;
    return kr__load_relaxed(&g->turn_busy) == 0 &&
           kr__cas_acquire(&g->turn_busy, &zero, 1);
}

static int ring_turn(kr__reactor *r, kr__io_ring *g, int64_t timeout_ns);

int kr__reactor_turn(kr__reactor *r, unsigned k, int64_t timeout_ns) {
    kr__io_ring *g = &r->rings[k];
    /* Another thread turns it only for a look (kr__reactor_look), which
     * does not block: wait that out. */
    while (!turn_trylock(g))
        sched_yield();
    int n = ring_turn(r, g, timeout_ns);
    kr__store_release(&g->turn_busy, 0);
    return n;
}

int kr__reactor_look(kr__reactor *r, unsigned k) {
    kr__io_ring *g = &r->rings[k];
    if (kr__reactor_nregs(r) == 0 || !turn_trylock(g))
        return 0;
    int n = ring_turn(r, g, 0);
    kr__store_release(&g->turn_busy, 0);
    return n;
}

static int ring_turn(kr__reactor *r, kr__io_ring *g, int64_t timeout_ns) {
    /* Under the lock, so that a free either sees the flag (and leaves the
     * memory to this turn's end) or comes before it: then its removal
     * from the backend came before this wait began, which cannot report
     * it. */
    kr__spin_lock(&g->lock);
    g->turning = true;
    kr__spin_unlock(&g->lock);
    int n = g->be->ops->wait(g->be, g->ev, KR__IO_EVENTS, timeout_ns);
    uint64_t events = 0, ready = 0;
    for (int i = 0; i < n; i++) {
        if (g->ev[i].reg != NULL) {
            events++;
            ready += dispatch(g->ev[i].reg, g->ev[i].ready);
        }
    }
    if (events != 0) {
        kr__store_relaxed(&g->n_events,
                          kr__load_relaxed(&g->n_events) + events);
        kr__store_relaxed(&g->n_ready, kr__load_relaxed(&g->n_ready) + ready);
    }
    /* The events are spent: what was freed meanwhile can go. */
    kr__spin_lock(&g->lock);
    g->turning = false;
    kr__list rel;
    take_release(g, &rel);
    kr__spin_unlock(&g->lock);
    free_list(r, &rel);
    return n;
}

void kr__reactor_shutdown(kr__reactor *r) {
    /* Under the lock, as the registrations check it while linking: each
     * one is refused, or on the list the walk below marks. */
    kr__spin_lock(&r->lock);
    kr__store_release(&r->shutdown, 1);
    kr__spin_unlock(&r->lock);
    /* Mark every registration shut down and wake its wakers (their
     * futures then see KR_ESHUTDOWN). Wakers are collected under the lock
     * and woken after it, in batches; the walk restarts after each batch,
     * so no pointer into the list is held while it is unlocked. A
     * registration stays in the walk until it is marked and has no waker
     * left (a long waiter list may take several batches). */
    kr_waker batch[2 * WAKE_BATCH];
    for (;;) {
        unsigned n = 0;
        bool more = false;
        kr__spin_lock(&r->lock);
        KR__LIST_FOR_EACH(it, tmp, &r->live) {
            kr_async_fd *a = KR__CONTAINER_OF(it, kr_async_fd, link);
            if (n + WAKE_BATCH > 2 * WAKE_BATCH) {
                more = true;
                break;
            }
            kr__fetch_or_acqrel(&a->readiness, KR__IO_SHUTDOWN);
            bool left;
            kr__spin_lock(&a->lock);
            n += collect(a, ~0u, batch + n, WAKE_BATCH, &left);
            kr__spin_unlock(&a->lock);
            if (left) {
                more = true;
                break;
            }
        }
        kr__spin_unlock(&r->lock);
        for (unsigned i = 0; i < n; i++)
            kr_waker_wake(batch[i]);
        if (!more)
            break;
    }
}

void kr__reactor_shutdown_free(kr__reactor *r) {
    kr__reactor_shutdown(r); /* idempotent: marked ones are skipped */
    kr__store_relaxed(&r->gone, 1);
    /* No turn runs any more: what the last ones left is ours. */
    for (unsigned k = 0; k < r->nrings; k++) {
        kr__io_ring *g = &r->rings[k];
        kr__spin_lock(&g->lock);
        kr__list rel;
        take_release(g, &rel);
        kr__spin_unlock(&g->lock);
        free_list(r, &rel);
    }
    reactor_unref(r);
}

/* ---- public API --------------------------------------------------------- */

/* Registers fd (made non-blocking) with r. */
static int reactor_add(kr__reactor *r, int fd, bool sock, kr_async_fd **out) {
    kr_async_fd *a = kr__calloc(1, sizeof(*a));
    if (a == NULL)
        return KR_ENOMEM;
    atomic_init(&a->readiness, 0);
    kr__spin_init(&a->lock);
    kr__list_init(&a->waiters);
    a->fd = fd;
    a->reactor = r;
    a->sock = sock;
    atomic_init(&a->read_mode, KR__READS_READINESS);
    kr__fetch_add_relaxed(&r->refs, 1); /* the caller holds the runtime's */
    kr__spin_lock(&r->lock);
    if (kr__load_relaxed(&r->shutdown)) {
        /* Shut down since the check above (the lock orders the two). */
        kr__spin_unlock(&r->lock);
        kr__free(a);
        reactor_unref(r);
        return KR_ESHUTDOWN;
    }
    kr__list_node_init(&a->link);
    kr__list_push_front(&r->live, &a->link);
    kr__spin_unlock(&r->lock);
    a->ring = ring_here(r);
    int rc = a->ring->be->ops->add(a->ring->be, a);
    if (rc < 0) {
        kr__spin_lock(&r->lock);
        kr__list_remove(&a->link);
        kr__spin_unlock(&r->lock);
        kr__free(a);
        reactor_unref(r);
        return rc;
    }
    kr__fetch_add_relaxed(&r->nregs, 1);
    *out = a;
    return 0;
}

int kr__reactor_add_socket(kr__reactor *r, int fd, kr_async_fd **out) {
    if (kr__load_acquire(&r->shutdown))
        return KR_ESHUTDOWN;
    return reactor_add(r, fd, true, out);
}

int kr_runtime_async_fd_new(kr_runtime *rt, int fd, kr_async_fd **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (rt == NULL || fd < 0)
        return KR_EINVAL;
    kr__reactor *r = rt->reactor;
    if (r == NULL)
        return KR_ENOIO; /* made with KR_DRIVER_IO disabled */
    if (kr__load_acquire(&r->shutdown))
        return KR_ESHUTDOWN;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return -errno;
    if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return -errno;
    return reactor_add(r, fd, false, out);
}

int kr_async_fd_new(int fd, kr_async_fd **out) {
    kr_runtime *rt = kr__current_runtime(); /* running or entered */
    if (rt == NULL) {
        if (out != NULL)
            *out = NULL;
        return KR_EINVAL;
    }
    return kr_runtime_async_fd_new(rt, fd, out);
}

int kr_async_fd_fd(const kr_async_fd *a) { return a != NULL ? a->fd : -1; }

void kr_async_fd_free(kr_async_fd *a) {
    if (a == NULL)
        return;
    kr__reactor *r = a->reactor;
    /* Out of epoll while a turn may still run, even after a shutdown (the
     * loop that ends a block_on may take one more look at I/O): it must
     * not report a registration freed here. Once the reactor is gone no
     * turn runs; the registration's reference keeps the epoll open till
     * then either way. */
    kr__io_ring *g = a->ring;
    if (!kr__load_relaxed(&r->gone))
        g->be->ops->del(g->be, a); /* a closed fd left epoll already */
    /* Wake the wakers and unlink the waiters: their owners must not poll
     * again (net's sockets free a registration only once no future holds
     * it, so for them there are none). */
    (void)wake_concerned(a, ~0u);
    kr__spin_lock(&r->lock);
    kr__list_remove(&a->link);
    kr__fetch_sub_relaxed(&r->nregs, 1);
    kr__spin_unlock(&r->lock);
    kr__spin_lock(&g->lock);
    if (g->turning) {
        /* The turn may hold an event for it: its end frees it. */
        kr__list_push_front(&g->release, &a->link);
        bool unpark = ++g->nrelease == RELEASE_UNPARK;
        kr__spin_unlock(&g->lock);
        if (unpark)
            g->be->ops->wake(g->be);
        return;
    }
    kr__spin_unlock(&g->lock);
    /* No turn is running, and the next one cannot report it (see
     * kr__reactor_turn): free it now, so a loop that never parks does not
     * collect freed registrations. */
    kr__free(a);
    reactor_unref(r);
}

static uint32_t interest_bits(int interest) {
    uint32_t m = 0;
    if (interest & KR_READABLE)
        m |= KR_READABLE | KR_READ_CLOSED | KR_IO_ERROR;
    if (interest & KR_WRITABLE)
        m |= KR_WRITABLE | KR_WRITE_CLOSED | KR_IO_ERROR;
    if (interest & KR_PRIORITY)
        m |= KR_PRIORITY | KR_READ_CLOSED;
    if (interest & KR_IO_ERROR)
        m |= KR_IO_ERROR;
    return m;
}

static bool interest_ok(int interest) {
    return interest != 0 && (interest & ~KR_INTEREST_MASK) == 0;
}

static int ready_now(kr_async_fd *a, uint32_t mask, kr_ready_event *ev) {
    /* Acquire pairs with dispatch's release. */
    uint64_t s = kr__load_acquire(&a->readiness);
    if (s & KR__IO_SHUTDOWN)
        return KR_ESHUTDOWN;
    uint32_t ready = (uint32_t)(s & KR__IO_READY_MASK) & mask;
    if (ready == 0)
        return 0;
    ev->ready = ready;
    ev->tick = (uint32_t)((s & KR__IO_TICK_MASK) >> KR__IO_TICK_SHIFT);
    return 1;
}

/* What a readiness wait for reading or priority needs of a registration
 * whose reads are ops (reactor.h: kr__reactor_reads_by_ops): the kernel
 * asked for its read readiness again, before the wait's re-check. The
 * backend's new request reports what is already there, so a byte that
 * came while nobody asked wakes this wait too. Out of line: a relaxed
 * load is all the common case pays. */
static __attribute__((noinline)) void reads_wanted(kr_async_fd *a) {
    unsigned char from = KR__READS_BY_OPS;
    if (kr__cas_acqrel(&a->read_mode, &from, KR__READS_BOTH))
        a->ring->be->ops->read_mode(a->ring->be, a, KR__READS_BOTH);
}

static inline void want_reads(kr_async_fd *a, uint32_t mask) {
    if ((mask & (KR_READABLE | KR_PRIORITY)) != 0 &&
        kr__load_relaxed(&a->read_mode) == KR__READS_BY_OPS)
        reads_wanted(a);
}

void kr__reactor_reads_by_ops(kr_async_fd *a) {
    const kr__backend_ops *ops = a->ring->be->ops;
    unsigned char from = KR__READS_READINESS;
    if (ops->read_mode != NULL &&
        kr__load_relaxed(&a->read_mode) == KR__READS_READINESS &&
        kr__cas_acqrel(&a->read_mode, &from, KR__READS_BY_OPS))
        ops->read_mode(a->ring->be, a, KR__READS_BY_OPS);
}

int kr_async_fd_poll_ready(kr_async_fd *a, kr_context *cx, int interest,
                           kr_ready_event *ev) {
    if (a == NULL || cx == NULL || ev == NULL ||
        (interest & (KR_READABLE | KR_WRITABLE)) == 0)
        return KR_EINVAL;
    uint32_t mask = interest_bits(interest);
    int r = ready_now(a, mask, ev);
    if (r != 0) {
        if (r > 0 && !kr_coop_proceed(cx))
            return 0; /* budget spent: woken, try again later */
        return r;
    }
    kr__spin_lock(&a->lock);
    if (interest & KR_READABLE)
        kr_waker_set(&a->reader, cx->waker);
    if (interest & KR_WRITABLE)
        kr_waker_set(&a->writer, cx->waker);
    kr__spin_unlock(&a->lock);
    want_reads(a, mask);
    r = ready_now(a, mask, ev); /* the re-check: see reactor.h */
    if (r > 0 && !kr_coop_proceed(cx))
        return 0;
    return r;
}

/* The slow half of a cancel: the node may still be linked. */
static __attribute__((noinline)) void waiter_unlink(kr_async_fd *a,
                                                    kr_io_waiter *w) {
    kr__spin_lock(&a->lock);
    if (kr__load_relaxed(waiter_linked(w))) { /* under the lock */
        kr__list_remove(&w->node_);
        kr__store_relaxed(waiter_linked(w), 0);
    }
    kr__spin_unlock(&a->lock);
}

static inline void waiter_cancel(kr_async_fd *a, kr_io_waiter *w) {
    /* Acquire pairs with take_waiters' release: 0 means the reactor is
     * done with the node (or never had it). */
    if (kr__load_acquire(waiter_linked(w)))
        waiter_unlink(a, w);
    if (w->waker_.vtable != NULL) /* ours now, lock or not */
        kr_waker_reset(&w->waker_);
}

void kr_async_fd_waiter_cancel(kr_async_fd *a, kr_io_waiter *w) {
    if (a != NULL && w != NULL)
        waiter_cancel(a, w);
}

/* The pending half of kr_async_fd_poll_ready_waiter, out of line so the
 * ready path (a woken future finding its bits) stays a short function. */
static __attribute__((noinline)) int waiter_link(kr_async_fd *a, kr_context *cx,
                                                 uint32_t mask,
                                                 kr_ready_event *ev,
                                                 kr_io_waiter *w) {
    kr__spin_lock(&a->lock);
    w->mask_ = mask;
    kr_waker_set(&w->waker_, cx->waker);
    if (!kr__load_relaxed(waiter_linked(w))) { /* under the lock */
        kr__list_node_init(&w->node_);
        kr__list_push_back(&a->waiters, &w->node_);
        kr__store_relaxed(waiter_linked(w), 1);
    }
    kr__spin_unlock(&a->lock);
    want_reads(a, mask);
    int r = ready_now(a, mask, ev); /* the re-check: see reactor.h */
    if (r != 0)
        waiter_cancel(a, w); /* ready after all: leave the list */
    return r;
}

int kr_async_fd_poll_ready_waiter(kr_async_fd *a, kr_context *cx, int interest,
                                  kr_ready_event *ev, kr_io_waiter *w) {
    if (a == NULL || cx == NULL || ev == NULL || w == NULL ||
        !interest_ok(interest))
        return KR_EINVAL;
    uint32_t mask = interest_bits(interest);
    int r = ready_now(a, mask, ev);
    if (r == 0) {
        r = waiter_link(a, cx, mask, ev, w);
        if (r == 0)
            return 0;
    } else if (kr__load_acquire(waiter_linked(w)) || w->waker_.vtable != NULL) {
        /* Ready without a wake through the node (an earlier poll linked
         * it): leave the list, so the future may complete and go. The
         * acquire pairs with take_waiters' release. */
        waiter_cancel(a, w);
    }
    if (r > 0 && !kr_coop_proceed(cx))
        return 0; /* budget spent: woken, try again later */
    return r;
}

int kr_async_fd_readiness(kr_async_fd *a, int interest, kr_ready_event *ev) {
    if (a == NULL || ev == NULL || !interest_ok(interest))
        return KR_EINVAL;
    int r = ready_now(a, interest_bits(interest), ev);
    return r > 0 ? (int)ev->ready : r;
}

void kr_async_fd_clear_ready(kr_async_fd *a, kr_ready_event ev) {
    if (a == NULL)
        return;
    /* Closed states stay: they are final. An error clears with the edge
     * bits, as in Tokio: the call that met EAGAIN consumed it (SO_ERROR),
     * and a later one is a new EPOLLERR edge. Kept, one ICMP error on a
     * UDP socket would make every later wait ready at once: a spin. */
    uint64_t clear =
        ev.ready & (KR_READABLE | KR_WRITABLE | KR_IO_ERROR | KR_PRIORITY);
    uint64_t cur = kr__load_relaxed(&a->readiness); /* the CAS re-reads */
    for (;;) {
        uint32_t tick =
            (uint32_t)((cur & KR__IO_TICK_MASK) >> KR__IO_TICK_SHIFT);
        if (tick != ev.tick)
            return; /* a newer event arrived: keep its bits */
        if (kr__cas_weak_acqrel(&a->readiness, &cur, cur & ~clear))
            return;
    }
}

/* ---- try_read, try_write ------------------------------------------------ */

/* Linux's UIO_MAXIOV. */
#define MAX_IOV 1024

enum { OP_READ, OP_WRITE, OP_READV, OP_WRITEV };

static int64_t try_op(kr_async_fd *a, int op, void *buf, size_t len) {
    if (a == NULL || (buf == NULL && len > 0))
        return KR_EINVAL;
    if ((op == OP_READV || op == OP_WRITEV) && len > MAX_IOV)
        return KR_EINVAL;
    int interest = op == OP_READ || op == OP_READV ? KR_READABLE : KR_WRITABLE;
    kr_ready_event ev;
    int r = ready_now(a, interest_bits(interest), &ev);
    if (r < 0)
        return r;
    if (r == 0)
        return KR_EAGAIN; /* Tokio's try_io: no call without readiness */
    for (;;) {
        ssize_t n;
        switch (op) {
        case OP_READ:
            n = read(a->fd, buf, len);
            break;
        case OP_WRITE:
            n = write(a->fd, buf, len);
            break;
        case OP_READV:
            n = readv(a->fd, buf, (int)len);
            break;
        default:
            n = writev(a->fd, buf, (int)len);
            break;
        }
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            kr_async_fd_clear_ready(a, ev);
            return KR_EAGAIN;
        }
        return -errno;
    }
}

int64_t kr_async_fd_try_read(kr_async_fd *a, void *buf, size_t len) {
    return try_op(a, OP_READ, buf, len);
}
int64_t kr_async_fd_try_write(kr_async_fd *a, const void *buf, size_t len) {
    return try_op(a, OP_WRITE, (void *)buf, len);
}
int64_t kr_async_fd_try_read_vectored(kr_async_fd *a, const struct iovec *iov,
                                      int iovcnt) {
    if (iovcnt < 0)
        return KR_EINVAL;
    return try_op(a, OP_READV, (void *)iov, (size_t)iovcnt);
}
int64_t kr_async_fd_try_write_vectored(kr_async_fd *a, const struct iovec *iov,
                                       int iovcnt) {
    if (iovcnt < 0)
        return KR_EINVAL;
    return try_op(a, OP_WRITEV, (void *)iov, (size_t)iovcnt);
}

/* interest_ once the output is written; kr_async_fd_ready stores no
 * interest outside the mask, so no caller's value looks like it. */
#define READY_SPENT INT_MIN

static kr_poll ready_poll(kr_future *f, kr_context *cx, void *out) {
    kr_readiness *rd = (kr_readiness *)f;
    kr_ready_event ev;
    if (rd->interest_ == READY_SPENT)
        kr__die("kr_readiness polled after it returned READY");
    int r = kr_async_fd_poll_ready_waiter(rd->afd_, cx, rd->interest_, &ev,
                                          &rd->w_);
    if (r == 0)
        return KR_PENDING;
    rd->interest_ = READY_SPENT;
    if (out != NULL)
        *(int *)out = r > 0 ? (int)ev.ready : r;
    return KR_READY;
}

static void ready_drop(kr_future *f) {
    kr_readiness *rd = (kr_readiness *)f;
    kr_async_fd_waiter_cancel(rd->afd_, &rd->w_);
}

static const kr_future_vtable ready_vtable = {
    ready_poll, ready_drop, sizeof(kr_readiness), sizeof(int), "kr_readiness"};

kr_readiness kr_async_fd_ready(kr_async_fd *afd, int interest) {
    /* Outside the mask: 0, which the poll answers with KR_EINVAL. */
    if (!interest_ok(interest))
        interest = 0;
    kr_readiness r = {{&ready_vtable}, afd, interest, KR_IO_WAITER_INIT};
    return r;
}

void kr__reactor_counts(kr__reactor *r, uint64_t *events, uint64_t *ready,
                        uint64_t *ops) {
    *events = *ready = *ops = 0;
    for (unsigned k = 0; k < r->nrings; k++) {
        *events += kr__load_relaxed(&r->rings[k].n_events);
        *ready += kr__load_relaxed(&r->rings[k].n_ready);
        *ops += kr__load_relaxed(&r->rings[k].be->ops_total);
    }
}
