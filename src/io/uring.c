/*
 * io/uring.c: the io_uring backend: readiness through multishot poll
 * requests, so every future built on kr_async_fd works unchanged, and
 * completion operations (core/io_op.h) for the files (fs/ring.c) and the
 * reads of stream sockets (net/rx.c).
 *
 * One ring per backend: a reactor has one, or one per multi-thread worker
 * (io/reactor.h: kr__reactor_add_rings), each then turned by its worker
 * (and, for a look, the monitor), which is the thread that arms its
 * requests, runs their task work and reaps them. Each registration gets a slot (its own memory,
 * not the kr_async_fd's), and the slot's address is the user_data of every
 * request that names it: the multishot poll (POLLIN | POLLOUT | POLLRDHUP |
 * POLLPRI, edge-triggered as the epoll backend's registration is) and, on
 * deregistration, one async cancel (user_data = slot | 1). A stream whose
 * reads are ops (io/reactor.h: read_mode) has no POLLIN and POLLPRI in it
 * until a readiness wait for reading asks for them: a change of mask is a
 * WANT_MASK command, which cancels the poll; its -ECANCELED end re-arms it
 * (as any ended poll) with the slot's new mask, and the new request's first
 * look reports what is ready already.
 *
 * Who touches what.
 *   owner  (a spinlock) is held by whoever uses the ring: the turning
 *          thread for its whole turn (blocked in io_uring_enter or not),
 *          or a deregistration that found no turn running and submits its
 *          remove itself. The SQ, the CQ, and a slot's refs / armed /
 *          removed are the owner's: only the owner writes them, and it
 *          writes all three under `lock` too. del reads refs and removed
 *          under `lock` alone for its last look (release_locked) and may
 *          free the slot there, so a change of refs and the decision to
 *          free that follows it are one hold of `lock`: a decrement
 *          outside it let del see refs == 0 and free the slot while the
 *          turn still meant to look at it. armed is read only by owners,
 *          but the compiler may load refs and the flags after it as one
 *          word: CI's TSan build saw release_locked's 8-byte read meet an
 *          unlocked `armed = false` in handle (flaky once,
 *          uring/mt/net-unix-dgram/uds_datagram__echo).
 *   lock   (a spinlock) guards the pending list (slots with a command
 *          waiting for the owner: ARM and/or REMOVE), the list of all
 *          slots, and the wait flags (waiting, woken, notified).
 *   reg    (the slot's pointer to its kr_async_fd) is atomic: set at add,
 *          cleared by del on any thread, loaded by the turn.
 *
 * The life of one registration:
 *
 *   add (any thread)        lock: slot on pending (ARM); a turn blocked in
 *       |                   the kernel is woken (eventfd) to submit it
 *       v
 *   turn (owner)            drains pending: prep POLL_ADD multishot, armed,
 *       |                   refs = 1; submitted with the turn's own wait
 *       v                   (io_uring_submit_and_wait_timeout: one enter)
 *   events                  each CQE with IORING_CQE_F_MORE: res is the
 *       |                   poll mask, dispatched to reg (if still set)
 *       |   a CQE without F_MORE (the kernel ended the multishot: CQ
 *       |   overflow, the arming thread exited: -ECANCELED) re-arms it
 *       v   at once, unless it was removed
 *   del (any thread)        reg = NULL (no later CQE is dispatched); then
 *       |                   owner free: prep ASYNC_CANCEL(slot), refs++,
 *       |                   submit now (the fd is closed next, and the poll
 *       |                   holds a reference to the file: without the
 *       |                   submit a peer would see the close late);
 *       |                   owner busy (a turn): slot on pending (REMOVE),
 *       |                   a blocked turn woken; the turn submits it
 *       v
 *   terminal CQEs           the poll's (-ECANCELED, or the event that ended
 *                           it) and the cancel's (0 or -ENOENT) each drop
 *                           a ref; at refs == 0 of a removed slot, and only
 *                           then, the slot is freed: no request naming its
 *                           address is left in the kernel, so no later CQE
 *                           can be mistaken for a new slot at that address.
 *   A slot never armed (add and del before a turn) is freed by the owner
 *   that sees the REMOVE, without a request.
 *
 * The kr_async_fd itself is freed by the reactor (reactor.h,
 * "Deregistration"): a turn loads reg while `turning`, so a registration
 * freed meanwhile waits for the turn's end; one freed outside a turn
 * stored reg = NULL before the reactor lock that the next turn takes.
 *
 * Memory the kernel may write: an op's (below), nothing of a slot's. A
 * poll request returns a mask in the CQE; user_data are integers the
 * kernel hands back. So tearing the ring down (the reactor's last
 * reference), once the ops have ended, may free the remaining slots in
 * any order with io_uring_queue_exit.
 *
 * Wake-up. The eventfd carries a multishot POLLIN request (UD_WAKE) armed
 * on the ring: a write makes the blocked io_uring_enter return, with no
 * separate wait. The eventfd is never read: each write is a wake-up of the
 * poll (edge), and its counter cannot reach its 2^64 - 2 limit in any
 * realistic lifetime. Writes happen only while a turn is about to block or
 * blocked (`waiting`) and once per wait (`woken`); an unpark while no turn
 * waits sets `notified`, and the next wait returns at once without
 * entering the kernel to sleep.
 *
 * Batching. Commands and re-arms become SQEs that go to the kernel with
 * the turn's one io_uring_enter (wait or not); a turn that finds CQEs in
 * the ring and has nothing to submit enters the kernel not at all. The
 * only other enters: a deregistration outside a turn (one per del, as
 * epoll's EPOLL_CTL_DEL), and a turn's end when its reaping re-armed or
 * its wait let commands in.
 *
 * Completion operations (core/io_op.h: the files of fs/ring.c, a stream's
 * reads of net/rx.c, a listener's accepts of net/accept_ring.c, a
 * stream's connect of net/connect_ring.c). An op is
 * the caller's memory, valid until its `done`; its address | UD_OP is the
 * user_data of its request, and | UD_OP_CANCEL of a cancel of it.
 *   queue_, want_   under lock: on `opq` iff want_ is nonzero (SUBMIT,
 *                   CANCEL: commands for the owner, as a slot's).
 *   live_, finished_  under lock: on `ops` from op_submit until `done` is
 *                   decided (finished_), so free can end what is left and
 *                   a cancel that comes after the end does nothing.
 *   refs_, submitted_, ended_, res_  the owner's: requests in the kernel
 *                   (or the SQ) naming the op, and its result.
 * The life of one op:
 *
 *   op_submit (any thread)   owner free: prep its SQE now (it goes with
 *       |                    the next turn's enter); owner busy: on opq
 *       |                    (SUBMIT), a blocked turn woken
 *       v
 *   in the kernel            op_cancel (any thread): on opq (CANCEL); the
 *       |                    owner preps an ASYNC_CANCEL naming it (refs_++),
 *       |                    or, never submitted, ends it with -ECANCELED
 *       v
 *   CQEs                     a multishot op's that keep it armed
 *       |                    (F_MORE) go to op->each and drop nothing;
 *       |                    the op's last sets res_ and ended_; each drops a
 *       |                    ref; at refs_ == 0, under lock: a command
 *       |                    still queued leaves the end to the drain that
 *       v                    takes it, else finished_ and off `ops`
 *   done(op, res_)           after the lock; the backend never looks at
 *                            the op again. No request naming its address
 *                            is left, so the address may be reused at once.
 * A cancel that comes after finished_ was decided finds it set and does
 * nothing; the caller keeps the op valid across op_cancel, so the check
 * reads live memory. free cancels the ops still live and reaps their
 * ends (bounded, 1 s); one the kernel still holds after that is left
 * unfinished: its memory leaks rather than be freed under the kernel.
 *
 * Requirements checked at creation: IORING_FEAT_EXT_ARG (Linux 5.11:
 * timeouts on the wait itself), POLL_ADD and ASYNC_CANCEL, and multishot
 * poll (5.13), tried on the eventfd. Without multishot the backend is not
 * used: a single-shot poll re-armed after every event is level-triggered
 * (it completes at once while the data is unread) and would spin or need
 * every future to re-arm on EAGAIN; epoll's edge-triggered registration is
 * the better driver there (io/backend.c falls back with a log line).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/reactor.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/clock.h"
#include "util/debug.h"

#ifndef KR_HAVE_URING

int kr__uring_new(kr__backend **out, const char **why) {
    *out = NULL;
    *why = "kairo was built without liburing";
    return KR_ENOSYS;
}

#else

#include <liburing.h>

#define SQ_ENTRIES 1024
#define CQ_ENTRIES 16384 /* room for many connections' events per turn */

#define UD_WAKE      ((uint64_t)2) /* the eventfd's poll */
#define UD_REMOVE    ((uint64_t)1) /* or-ed into a slot's address */
#define UD_OP        ((uint64_t)4) /* or-ed into an op's address: its request */
#define UD_OP_CANCEL ((uint64_t)2) /* with UD_OP: the cancel of it */
#define UD_PTR_MASK  (~(uint64_t)7)
#define POLL_MASK    (POLLIN | POLLOUT | POLLRDHUP | POLLPRI)
/* A registration whose reads are ops (KR__READS_BY_OPS): no POLLIN, and
 * no POLLPRI either, since a socket's data wake-up carries POLLPRI in its
 * key and would complete the poll (with POLLOUT) all the same. */
#define POLL_NOREAD  (POLLOUT | POLLRDHUP)
#define WANT_ARM     1u
#define WANT_REMOVE  2u
#define WANT_MASK    4u /* read_mode changed: re-arm with the new mask */
#define WANT_SUBMIT  1u /* an op's commands */
#define WANT_CANCEL  2u

_Atomic int kr__uring_test_no_multishot;

typedef struct slot {
    _Atomic(kr_async_fd *) reg; /* NULL once deregistered */
    int fd;
    unsigned want; /* under lock: on `pending` iff nonzero */
    kr__list pend; /* on `pending`, under lock */
    kr__list all;  /* on `slots`, under lock */
    /* The owner's: requests in the kernel (or the SQ) naming the slot,
     * whether its poll is one of them, whether del came. */
    unsigned refs;
    bool armed;
    bool removed;
    /* Under lock: del is waiting for the poll's end (the slot is not freed
     * meanwhile), and a turn has reaped that end. */
    bool held;
    bool poll_done;
    /* Written by read_mode before its WANT_MASK command, whose hold of
     * lock publishes it to the drain that takes the command (relaxed: the
     * owner's prep_poll also reads it outside lock, and a re-arm that
     * reads the old value is followed by that drain). mask, the one the
     * armed poll was made with, is the owner's. */
    _Atomic bool no_reads;
    unsigned mask;
} slot;

typedef struct uring_backend {
    kr__backend base;
    struct io_uring ring; /* owner's */
    kr__spinlock owner;
    kr__spinlock lock;
    kr__list pending; /* slot.pend */
    kr__list slots;   /* slot.all */
    bool waiting;     /* a turn is about to block, or blocked */
    bool woken;       /* the eventfd was written for that wait */
    bool notified;    /* an unpark came outside a wait: don't block */
    bool wake_armed;  /* owner's: the eventfd's poll is in the kernel */
    int evfd;
    kr__list opq; /* kr__io_op.queue_: ops with a command, under lock */
    kr__list ops; /* kr__io_op.live_: submitted, not finished, under lock */
    bool op_ok[KR__IOP_COUNT]; /* the kernel has the opcode (at creation) */
} uring_backend;

static const kr__backend_ops uring_ops;

static uring_backend *ub(kr__backend *b) { return (uring_backend *)b; }

/* Owner: an SQE, submitting what is queued if the SQ is full. */
static struct io_uring_sqe *sqe_get(uring_backend *b) {
    struct io_uring_sqe *sqe;
    while ((sqe = io_uring_get_sqe(&b->ring)) == NULL)
        (void)io_uring_submit(&b->ring);
    return sqe;
}

/* The poll mask s's user last asked for (uring_read_mode). */
static unsigned wanted_mask(slot *s) {
    return kr__load_relaxed(&s->no_reads) ? POLL_NOREAD : POLL_MASK;
}

/* Owner: the multishot poll request for s. */
static void prep_poll(uring_backend *b, slot *s) {
    struct io_uring_sqe *sqe = sqe_get(b);
    s->mask = wanted_mask(s);
    io_uring_prep_poll_multishot(sqe, s->fd, s->mask);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s);
}

/* Owner, under lock: s's first poll, which takes a ref. */
static void arm_locked(uring_backend *b, slot *s) {
    prep_poll(b, s);
    s->armed = true;
    s->refs++;
}

static void arm_wake(uring_backend *b) {
    struct io_uring_sqe *sqe = sqe_get(b);
    io_uring_prep_poll_multishot(sqe, b->evfd, POLLIN);
    io_uring_sqe_set_data64(sqe, UD_WAKE);
    b->wake_armed = true;
}

/* Owner, under lock: whether s may be freed now (the kernel is done with
 * it, and no del waits on it); if so it leaves the list of slots. */
static bool release_locked(slot *s) {
    if (!s->removed || s->refs != 0 || s->held)
        return false;
    kr__list_remove(&s->all);
    return true;
}

/* Owner: a request naming s has ended (its poll if `poll_end`, else the
 * cancel); drops its ref and, in the same hold of lock, frees s if that
 * was the last word on it (see the header). The end of a removed slot's
 * poll also tells a waiting del (poll_done). Returns whether s was freed:
 * if not, and s was removed, del may free it as soon as lock is let go. */
static bool release_ref(uring_backend *b, slot *s, bool poll_end) {
    kr__spin_lock(&b->lock);
    s->refs--;
    if (poll_end) {
        s->armed = false;
        if (s->removed)
            s->poll_done = true;
    }
    bool done = release_locked(s);
    kr__spin_unlock(&b->lock);
    if (done)
        kr__free(s);
    return done;
}

/* Owner: an async cancel of s's poll. Not IORING_OP_POLL_REMOVE: that one
 * answers -EALREADY and leaves the poll armed when it meets the poll's
 * task work in flight (an event being delivered), while a cancel marks
 * the poll so that task work ends it. */
static void cancel(uring_backend *b, slot *s) {
    struct io_uring_sqe *sqe = sqe_get(b);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)s, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s | UD_REMOVE);
}

/* Owner, under lock: what del asks; returns whether s may be freed now. */
static bool remove_locked(uring_backend *b, slot *s) {
    s->removed = true;
    if (s->armed) {
        cancel(b, s);
        s->refs++;
    } else {
        s->poll_done = true; /* never armed: nothing to wait for */
    }
    return release_locked(s);
}

/* ---- completion operations --------------------------------------------- */

static void wake_fd(uring_backend *b);
static bool need_wake_locked(uring_backend *b);

/* The kernel's opcode for each of core/io_op.h's. */
static const uint8_t iop_code[KR__IOP_COUNT] = {
    [KR__IOP_OPENAT] = IORING_OP_OPENAT,
    [KR__IOP_READ] = IORING_OP_READ,
    [KR__IOP_WRITE] = IORING_OP_WRITE,
    [KR__IOP_FSYNC] = IORING_OP_FSYNC,
    [KR__IOP_STATX] = IORING_OP_STATX,
    [KR__IOP_UNLINKAT] = IORING_OP_UNLINKAT,
    [KR__IOP_RENAMEAT] = IORING_OP_RENAMEAT,
    [KR__IOP_MKDIRAT] = IORING_OP_MKDIRAT,
    [KR__IOP_LINKAT] = IORING_OP_LINKAT,
    [KR__IOP_SYMLINKAT] = IORING_OP_SYMLINKAT,
    [KR__IOP_RECV] = IORING_OP_RECV,
    [KR__IOP_ACCEPT] = IORING_OP_ACCEPT,
    [KR__IOP_CONNECT] = IORING_OP_CONNECT,
};

/* Owner: op's own request. */
static void prep_op(uring_backend *b, kr__io_op *op) {
    struct io_uring_sqe *sqe = sqe_get(b);
    switch (op->code) {
    case KR__IOP_OPENAT:
        io_uring_prep_openat(sqe, op->fd, op->path, op->flags, op->mode);
        break;
    case KR__IOP_READ:
        io_uring_prep_read(sqe, op->fd, op->buf, op->len, op->off);
        break;
    case KR__IOP_WRITE:
        io_uring_prep_write(sqe, op->fd, op->buf, op->len, op->off);
        break;
    case KR__IOP_FSYNC:
        io_uring_prep_fsync(
            sqe, op->fd,
            (op->flags & KR__IOP_DATASYNC) != 0 ? IORING_FSYNC_DATASYNC : 0);
        break;
    case KR__IOP_STATX:
        io_uring_prep_statx(sqe, op->fd, op->path, op->flags, STATX_BASIC_STATS,
                            op->buf);
        break;
    case KR__IOP_UNLINKAT:
        io_uring_prep_unlinkat(sqe, op->fd, op->path, op->flags);
        break;
    case KR__IOP_RENAMEAT:
        io_uring_prep_renameat(sqe, AT_FDCWD, op->path, AT_FDCWD, op->path2, 0);
        break;
    case KR__IOP_MKDIRAT:
        io_uring_prep_mkdirat(sqe, op->fd, op->path, op->mode);
        break;
    case KR__IOP_LINKAT:
        io_uring_prep_linkat(sqe, AT_FDCWD, op->path, AT_FDCWD, op->path2, 0);
        break;
    case KR__IOP_SYMLINKAT:
        io_uring_prep_symlinkat(sqe, op->path, AT_FDCWD, op->path2);
        break;
    case KR__IOP_RECV:
        io_uring_prep_recv(sqe, op->fd, op->buf, op->len, op->flags);
        break;
    case KR__IOP_ACCEPT:
        if (op->each != NULL)
            io_uring_prep_multishot_accept(sqe, op->fd, NULL, NULL, op->flags);
        else
            io_uring_prep_accept(sqe, op->fd, NULL, NULL, op->flags);
        break;
    case KR__IOP_CONNECT:
        io_uring_prep_connect(sqe, op->fd, (const struct sockaddr *)op->buf,
                              (socklen_t)op->len);
        break;
    default: /* refused by op_submit */
        io_uring_prep_nop(sqe);
        break;
    }
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | UD_OP);
    op->submitted_ = true;
    op->refs_++;
}

/* Owner: an async cancel of op's request. */
static void prep_op_cancel(uring_backend *b, kr__io_op *op) {
    struct io_uring_sqe *sqe = sqe_get(b);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op | UD_OP, 0);
    io_uring_sqe_set_data64(sqe,
                            (uint64_t)(uintptr_t)op | UD_OP | UD_OP_CANCEL);
    op->refs_++;
}

/* Under lock: op's end is decided; it leaves `ops` and goes on `fin`,
 * whose `done`s are called after the lock (finish_ops). */
static void finish_locked(kr__io_op *op, kr__list *fin) {
    op->finished_ = true;
    kr__list_remove(&op->live_);
    kr__list_push_back(fin, &op->queue_);
}

static void finish_ops(uring_backend *b, kr__list *fin) {
    kr__list *node;
    while ((node = kr__list_pop_front(fin)) != NULL) {
        kr__io_op *op = KR__CONTAINER_OF(node, kr__io_op, queue_);
        kr__fetch_sub_relaxed(&b->base.ops_live, 1);
        op->done(op, op->res_); /* op may be gone after this */
    }
}

/* Owner, under lock: the ops' commands become SQEs. */
static void drain_ops_locked(uring_backend *b, kr__list *fin) {
    kr__list *node;
    while ((node = kr__list_pop_front(&b->opq)) != NULL) {
        kr__io_op *op = KR__CONTAINER_OF(node, kr__io_op, queue_);
        unsigned want = op->want_;
        op->want_ = 0;
        if ((want & WANT_CANCEL) && !op->submitted_) {
            op->res_ = -ECANCELED; /* never went to the kernel */
        } else {
            if (want & WANT_SUBMIT)
                prep_op(b, op);
            if ((want & WANT_CANCEL) && !op->ended_)
                prep_op_cancel(b, op);
        }
        if (op->refs_ == 0) /* ended while the command waited, or never went */
            finish_locked(op, fin);
    }
}

/* Owner: one CQE of an op (its request's, or a cancel's); `more`: the
 * kernel's IORING_CQE_F_MORE (a multishot op that stays armed). */
static void op_cqe(uring_backend *b, uint64_t ud, int32_t res, bool more) {
    kr__io_op *op = (kr__io_op *)(uintptr_t)(ud & UD_PTR_MASK);
    if (more && !(ud & UD_OP_CANCEL)) {
        /* One result of a multishot op; its request still names it. */
        KR__REQUIRE(op->each != NULL, "a CQE with F_MORE for a one-shot op %p",
                    (void *)op);
        op->each(op, res);
        return;
    }
    if (!(ud & UD_OP_CANCEL)) {
        op->res_ = res;
        op->ended_ = true;
    } /* a cancel's own result (0, -ENOENT, -EALREADY) says nothing more */
    if (--op->refs_ != 0)
        return;
    kr__list fin;
    kr__list_init(&fin);
    kr__spin_lock(&b->lock);
    if (op->want_ == 0) /* else the drain that takes the command ends it */
        finish_locked(op, &fin);
    kr__spin_unlock(&b->lock);
    finish_ops(b, &fin);
}

static int uring_op_submit(kr__backend *base, kr__io_op *op) {
    uring_backend *b = ub(base);
    if ((unsigned)op->code >= KR__IOP_COUNT || !b->op_ok[op->code])
        return KR_EOPNOTSUPP;
    KR__REQUIRE(((uintptr_t)op & ~UD_PTR_MASK) == 0,
                "an op at %p: not 8-byte aligned (its user_data tags)",
                (void *)op);
    bool own = kr__spin_trylock(&b->owner);
    if (!own && op->nowait)
        return KR_EBUSY; /* nothing queued, no turn woken */
    op->res_ = 0;
    op->refs_ = 0;
    op->want_ = 0;
    op->submitted_ = op->ended_ = op->finished_ = false;
    kr__list_node_init(&op->queue_);
    kr__fetch_add_relaxed(&b->base.ops_live, 1);
    kr__fetch_add_relaxed(&b->base.ops_total, 1);
    if (own) {
        /* Into the SQ now; the next turn's enter takes it to the kernel. */
        prep_op(b, op);
        kr__spin_lock(&b->lock);
        kr__list_push_back(&b->ops, &op->live_);
        kr__spin_unlock(&b->lock);
        kr__spin_unlock(&b->owner);
        return 0;
    }
    kr__spin_lock(&b->lock);
    kr__list_push_back(&b->ops, &op->live_);
    op->want_ = WANT_SUBMIT;
    kr__list_push_back(&b->opq, &op->queue_);
    bool w = need_wake_locked(b);
    kr__spin_unlock(&b->lock);
    if (w)
        wake_fd(b);
    return 0;
}

static void uring_op_cancel(kr__backend *base, kr__io_op *op) {
    uring_backend *b = ub(base);
    kr__spin_lock(&b->lock);
    if (op->finished_) { /* its done is called, or about to be */
        kr__spin_unlock(&b->lock);
        return;
    }
    if (op->want_ == 0)
        kr__list_push_back(&b->opq, &op->queue_);
    op->want_ |= WANT_CANCEL;
    bool w = need_wake_locked(b);
    kr__spin_unlock(&b->lock);
    if (w)
        wake_fd(b);
}

/* How long free waits for the ops still in the kernel to end. */
#define FREE_WAIT_NS 1000000000LL

/* No turn runs and no op comes (free): cancels what is live and reaps the
 * ends, calling each op's done. */
static void end_ops(uring_backend *b) {
    kr__list fin;
    kr__list_init(&fin);
    kr__spin_lock(&b->lock);
    drain_ops_locked(b, &fin);
    KR__LIST_FOR_EACH(it, tmp, &b->ops) {
        kr__io_op *op = KR__CONTAINER_OF(it, kr__io_op, live_);
        if (op->submitted_ && !op->ended_)
            prep_op_cancel(b, op);
    }
    kr__spin_unlock(&b->lock);
    finish_ops(b, &fin);
    int64_t deadline = (int64_t)kr__now_ns() + FREE_WAIT_NS;
    for (;;) {
        kr__spin_lock(&b->lock);
        bool left = !kr__list_empty(&b->ops);
        kr__spin_unlock(&b->lock);
        int64_t wait = deadline - (int64_t)kr__now_ns();
        if (!left || wait <= 0)
            break;
        struct __kernel_timespec ts = {0, wait < 10000000 ? wait : 10000000};
        struct io_uring_cqe *cqe;
        (void)io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, &ts, NULL);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&b->ring, head, cqe) {
            seen++;
            uint64_t ud = cqe->user_data;
            if (ud != LIBURING_UDATA_TIMEOUT && ud != UD_WAKE && (ud & UD_OP))
                op_cqe(b, ud, cqe->res, (cqe->flags & IORING_CQE_F_MORE) != 0);
        }
        io_uring_cq_advance(&b->ring, seen);
    }
}

/* Owner, under lock: turns the pending commands into SQEs. Slots that go
 * at once are moved to `dead` (freed after the lock), ops whose end is
 * decided to `fin` (their done called after it). */
static void drain_locked(uring_backend *b, kr__list *dead, kr__list *fin) {
    drain_ops_locked(b, fin);
    kr__list *node;
    while ((node = kr__list_pop_front(&b->pending)) != NULL) {
        slot *s = KR__CONTAINER_OF(node, slot, pend);
        unsigned want = s->want;
        s->want = 0;
        if (want & WANT_REMOVE) {
            if (remove_locked(b, s))
                kr__list_push_back(dead, &s->pend);
        } else if ((want & WANT_ARM) && !s->removed) {
            arm_locked(b, s); /* with the mask read_mode last asked for */
        } else if ((want & WANT_MASK) && !s->removed && s->armed &&
                   s->mask != wanted_mask(s)) {
            /* The poll ends with -ECANCELED and handle arms it again, with
             * the new mask; that request's first look reports what is
             * ready already, so nothing that came in between is lost. */
            cancel(b, s);
            s->refs++;
        }
    }
}

static void drain(uring_backend *b) {
    kr__list dead, fin;
    kr__list_init(&dead);
    kr__list_init(&fin);
    kr__spin_lock(&b->lock);
    drain_locked(b, &dead, &fin);
    kr__spin_unlock(&b->lock);
    kr__list *node;
    while ((node = kr__list_pop_front(&dead)) != NULL)
        kr__free(KR__CONTAINER_OF(node, slot, pend));
    finish_ops(b, &fin);
}

static void wake_fd(uring_backend *b) {
    uint64_t one = 1;
    ssize_t r = write(b->evfd, &one, sizeof(one));
    (void)r; /* EAGAIN: saturated, still readable */
}

/* Under lock: whether the caller must write the eventfd to get a blocked
 * turn to look at the pending list. */
static bool need_wake_locked(uring_backend *b) {
    if (!b->waiting || b->woken)
        return false;
    b->woken = true;
    return true;
}

static void queue(uring_backend *b, slot *s, unsigned want) {
    kr__spin_lock(&b->lock);
    if (s->want == 0)
        kr__list_push_back(&b->pending, &s->pend);
    s->want |= want;
    bool w = need_wake_locked(b);
    kr__spin_unlock(&b->lock);
    if (w)
        wake_fd(b);
}

/* reg's user, any thread (reactor.h): on KR__READS_BY_OPS the poll loses
 * POLLIN and POLLPRI, on KR__READS_BOTH it has them again. A registration
 * not armed yet is armed with the new mask. */
static void uring_read_mode(kr__backend *base, kr_async_fd *reg,
                            unsigned mode) {
    uring_backend *b = ub(base);
    slot *s = reg->be;
    if (s == NULL)
        return;
    kr__store_relaxed(&s->no_reads, mode == KR__READS_BY_OPS);
    queue(b, s, WANT_MASK); /* its lock publishes the store */
}

static int uring_add(kr__backend *base, kr_async_fd *reg) {
    uring_backend *b = ub(base);
    /* epoll refuses what has no poll method (EPERM); a poll request would
     * report it always ready instead. Keep epoll's answer. */
    struct stat st;
    if (!reg->sock && fstat(reg->fd, &st) < 0)
        return -errno;
    if (!reg->sock && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
        return KR_EPERM;
    slot *s = kr__calloc(1, sizeof(*s));
    if (s == NULL)
        return KR_ENOMEM;
    atomic_init(&s->reg, reg);
    atomic_init(&s->no_reads, false);
    s->fd = reg->fd;
    kr__list_node_init(&s->pend);
    kr__list_node_init(&s->all);
    reg->be = s;
    kr__spin_lock(&b->lock);
    kr__list_push_back(&b->slots, &s->all);
    kr__spin_unlock(&b->lock);
    queue(b, s, WANT_ARM);
    return 0;
}

/* Owner: whether the CQ holds the end of s's poll (not consumed: the next
 * turn handles it). */
static bool cq_has_end(uring_backend *b, slot *s) {
    unsigned head;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&b->ring, head, cqe) {
        if (cqe->user_data == (uint64_t)(uintptr_t)s &&
            !(cqe->flags & IORING_CQE_F_MORE))
            return true;
    }
    return false;
}

/* How long del waits for the kernel to drop its reference to the file
 * (the poll's end) before it lets the close be late instead. */
#define DEL_WAIT_NS  1000000000LL

static bool poll_done(uring_backend *b, slot *s) {
    kr__spin_lock(&b->lock);
    bool done = s->poll_done;
    kr__spin_unlock(&b->lock);
    return done;
}

/*
 * Deregistration waits for the poll to end. The poll request holds a
 * reference to the file, and the callers close the fd right after this
 * (net, os): a peer must then see the close (EOF, EPIPE, ECONNREFUSED) as
 * at once as with epoll. The kernel completes a cancelled poll in the task
 * work of the thread that armed it, which on the multi-thread runtime may
 * be another worker, so the cancel's submission alone does not make the
 * file go; its CQE does (the request is freed, and the file reference
 * dropped, as it completes). In the current-thread runtime the arming
 * thread is this one and the end is in the CQ when the submit returns.
 *
 * Owner free: take it, submit the remove, and wait in io_uring_enter for
 * the poll's end to appear in the CQ (looked at, not consumed). Owner
 * held by a turn: the REMOVE goes on the pending list (the turn is woken
 * if blocked), and del waits for that turn, or the next owner, to see the
 * end. Either way bounded by DEL_WAIT_NS.
 */
static void uring_del(kr__backend *base, kr_async_fd *reg) {
    uring_backend *b = ub(base);
    slot *s = reg->be;
    if (s == NULL)
        return;
    reg->be = NULL;
    kr__store_relaxed(&s->reg, NULL); /* see the header: ordered by the
                                         reactor lock kr_async_fd_free
                                         takes next */
    kr__spin_lock(&b->lock);
    s->held = true;
    kr__spin_unlock(&b->lock);
    queue(b, s, WANT_REMOVE);
    int64_t deadline = (int64_t)kr__now_ns() + DEL_WAIT_NS;
    for (;;) {
        if (kr__spin_trylock(&b->owner)) {
            drain(b);
            if (io_uring_sq_ready(&b->ring) > 0)
                (void)io_uring_submit(&b->ring);
            while (s->armed && !poll_done(b, s) && !cq_has_end(b, s)) {
                int64_t left = deadline - (int64_t)kr__now_ns();
                unsigned ready = io_uring_cq_ready(&b->ring);
                if (left <= 0 || ready >= *b->ring.cq.kring_entries)
                    break; /* late, or no room for the end: let it go */
                struct __kernel_timespec ts = {left / 1000000000,
                                               left % 1000000000};
                struct io_uring_cqe *cqe;
                (void)io_uring_wait_cqes(&b->ring, &cqe, ready + 1, &ts, NULL);
            }
            kr__spin_unlock(&b->owner);
            break;
        }
        if (poll_done(b, s) || (int64_t)kr__now_ns() >= deadline)
            break;
        sched_yield(); /* a turn holds the ring: it will see the end */
    }
    kr__spin_lock(&b->lock);
    s->held = false;
    bool done = release_locked(s);
    kr__spin_unlock(&b->lock);
    if (done)
        kr__free(s);
}

static uint32_t map_events(int32_t e) {
    uint32_t r = 0;
    if (e & POLLIN)
        r |= KR_READABLE;
    if (e & POLLOUT)
        r |= KR_WRITABLE;
    if (e & POLLPRI)
        r |= KR_PRIORITY;
    if (e & POLLRDHUP)
        r |= KR_READABLE | KR_READ_CLOSED;
    if (e & POLLHUP)
        r |= KR_READABLE | KR_WRITABLE | KR_READ_CLOSED | KR_WRITE_CLOSED;
    if (e & POLLERR)
        r |= KR_READABLE | KR_WRITABLE | KR_IO_ERROR;
    return r;
}

/* Owner: one CQE; returns 1 if it made an event in *ev. */
static int handle(uring_backend *b, const struct io_uring_cqe *cqe,
                  kr__io_event *ev) {
    uint64_t ud = cqe->user_data;
    bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    if (ud == UD_WAKE) {
        if (!more)
            b->wake_armed = false; /* re-armed by the next drain */
        return 0;
    }
    if (ud == LIBURING_UDATA_TIMEOUT)
        return 0;
    if (ud & UD_OP) {
        op_cqe(b, ud, cqe->res, more);
        return 0;
    }
    slot *s = (slot *)(uintptr_t)(ud & ~UD_REMOVE);
    if (ud & UD_REMOVE) { /* the cancel's own completion */
        if (cqe->res == -EALREADY && s->armed) {
            cancel(b, s); /* found in flight: again, until the poll ends */
            return 0;
        }
        release_ref(b, s, false);
        return 0;
    }
    kr_async_fd *reg = kr__load_relaxed(&s->reg);
    int made = 0;
    if (cqe->res > 0 && reg != NULL) {
        ev->reg = reg;
        ev->ready = map_events(cqe->res);
        made = 1;
    }
    if (more)
        return made;
    if (!s->removed && (cqe->res >= 0 || cqe->res == -ECANCELED)) {
        /* The kernel ended the multishot (CQ overflow, or the thread that
         * armed it exited): arm it again; a spurious event is harmless.
         * The new request takes over the ended one's ref. */
        prep_poll(b, s);
        return made;
    }
    bool removed = s->removed;
    if (release_ref(b, s, true) || removed)
        return made; /* s may be gone: del frees it once it looks */
    if (reg != NULL && !made) {
        /* A poll the kernel refuses: report it (the next I/O call meets
         * the real error) rather than re-arm a request that fails at once
         * in a loop. */
        ev->reg = reg;
        ev->ready = KR_READABLE | KR_WRITABLE | KR_IO_ERROR;
        made = 1;
    }
    return made;
}

/* With IORING_SETUP_TASKRUN_FLAG: completions wait as task work for this
 * thread's next entry into the kernel (see kr__uring_new). */
static bool taskrun_pending(uring_backend *b) {
    return (IO_URING_READ_ONCE(*b->ring.sq.kflags) & IORING_SQ_TASKRUN) != 0;
}

static int reap(uring_backend *b, kr__io_event *out, int max) {
    unsigned head, seen = 0;
    int n = 0;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&b->ring, head, cqe) {
        if (n == max)
            break;
        seen++;
        n += handle(b, cqe, &out[n]);
    }
    io_uring_cq_advance(&b->ring, seen);
    return n;
}

static int uring_wait(kr__backend *base, kr__io_event *out, int max,
                      int64_t timeout_ns) {
    uring_backend *b = ub(base);
    kr__spin_lock(&b->owner);
    if (!b->wake_armed)
        arm_wake(b);
    kr__list dead, fin;
    kr__list_init(&dead);
    kr__list_init(&fin);
    kr__spin_lock(&b->lock);
    drain_locked(b, &dead, &fin);
    bool block = timeout_ns != 0 && !b->notified &&
                 io_uring_cq_ready(&b->ring) == 0 &&
                 !io_uring_cq_has_overflow(&b->ring);
    b->notified = false;
    if (block) {
        b->waiting = true;
        b->woken = false;
    }
    kr__spin_unlock(&b->lock);
    kr__list *node;
    while ((node = kr__list_pop_front(&dead)) != NULL)
        kr__free(KR__CONTAINER_OF(node, slot, pend));
    finish_ops(b, &fin);
    if (block) {
        struct __kernel_timespec ts, *tsp = NULL;
        if (timeout_ns > 0) {
            ts.tv_sec = timeout_ns / 1000000000;
            ts.tv_nsec = timeout_ns % 1000000000;
            tsp = &ts;
        }
        struct io_uring_cqe *cqe;
        /* Submits the SQ and waits, in one io_uring_enter (EXT_ARG).
         * -ETIME and -EINTR are a plain return here. */
        (void)io_uring_submit_and_wait_timeout(&b->ring, &cqe, 1, tsp, NULL);
        kr__spin_lock(&b->lock);
        b->waiting = false;
        kr__spin_unlock(&b->lock);
    } else if (io_uring_sq_ready(&b->ring) > 0) {
        (void)io_uring_submit(&b->ring);
    } else if (io_uring_cq_ready(&b->ring) == 0 &&
               (io_uring_cq_has_overflow(&b->ring) || taskrun_pending(b))) {
        /* Flush the overflow, or run the task work that makes the CQEs
         * (COOP_TASKRUN: the kernel left it for our next entry). */
        (void)io_uring_get_events(&b->ring);
    }
    int n = reap(b, out, max);
    /* What the reaping re-armed and what came in while the turn was
     * blocked (a remove, a registration) go now, not at the next turn. */
    drain(b);
    if (!b->wake_armed)
        arm_wake(b);
    if (io_uring_sq_ready(&b->ring) > 0)
        (void)io_uring_submit(&b->ring);
    kr__spin_unlock(&b->owner);
    return n;
}

static void uring_wake(kr__backend *base) {
    uring_backend *b = ub(base);
    kr__spin_lock(&b->lock);
    bool w = need_wake_locked(b);
    if (!b->waiting)
        b->notified = true;
    kr__spin_unlock(&b->lock);
    if (w)
        wake_fd(b);
}

static void uring_free(kr__backend *base) {
    uring_backend *b = ub(base);
    /* No turn runs and no add or del comes (the reactor's last
     * reference). The ops still in flight are ended first (their memory
     * is the kernel's until then); after them the kernel writes none of
     * our memory (see the header), so the ring goes, then the slots it
     * named. */
    end_ops(b);
    io_uring_queue_exit(&b->ring);
    kr__list *node;
    while ((node = kr__list_pop_front(&b->slots)) != NULL)
        kr__free(KR__CONTAINER_OF(node, slot, all));
    close(b->evfd);
    kr__free(b);
}

/* Whether the kernel keeps a multishot poll armed: one on the eventfd,
 * written once, must complete with IORING_CQE_F_MORE. It stays armed as
 * the backend's wake-up. Returns 0, or a negative errno. */
static int probe_multishot(uring_backend *b) {
    arm_wake(b);
    wake_fd(b);
    struct io_uring_cqe *cqe;
    int rc = io_uring_submit_and_wait(&b->ring, 1);
    if (rc < 0)
        return rc;
    rc = io_uring_peek_cqe(&b->ring, &cqe);
    if (rc < 0)
        return rc;
    bool more = cqe->user_data == UD_WAKE && cqe->res >= 0 &&
                (cqe->flags & IORING_CQE_F_MORE);
    io_uring_cqe_seen(&b->ring, cqe);
    if (kr__load_relaxed(&kr__uring_test_no_multishot))
        more = false;
    return more ? 0 : KR_EINVAL;
}

static const char *disabled_why(void) {
    /* EPERM from io_uring_setup: seccomp, or the sysctl (Linux 6.6). */
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "re");
    int v = 0;
    if (f != NULL) {
        if (fscanf(f, "%d", &v) != 1)
            v = 0;
        fclose(f);
    }
    if (v == 2)
        return "io_uring_setup: kernel.io_uring_disabled=2";
    if (v == 1)
        return "io_uring_setup: kernel.io_uring_disabled=1 and not in "
               "kernel.io_uring_group";
    return "io_uring_setup: not permitted (seccomp?)";
}

int kr__uring_new(kr__backend **out, const char **why) {
    *out = NULL;
    uring_backend *b = kr__calloc(1, sizeof(*b));
    if (b == NULL) {
        *why = "no memory";
        return KR_ENOMEM;
    }
    /* COOP_TASKRUN (5.19): the kernel does not interrupt this thread (an
     * IPI, then task work on its way back to user space) each time a poll
     * it armed fires on another CPU; the completion is made on the
     * thread's next io_uring_enter, and TASKRUN_FLAG says when one is
     * owed (taskrun_pending). perf on kairo-http --current-thread --io
     * uring under wrk -c64 put 8.5% of the server's samples in
     * irqentry_exit_to_user_mode from reschedule IPIs without it.
     * SUBMIT_ALL is 5.18. Each is dropped in turn where the kernel
     * refuses it (EINVAL). */
    static const unsigned tries[] = {IORING_SETUP_SUBMIT_ALL |
                                         IORING_SETUP_COOP_TASKRUN |
                                         IORING_SETUP_TASKRUN_FLAG,
                                     IORING_SETUP_SUBMIT_ALL, 0};
    struct io_uring_params p;
    int rc = -EINVAL;
    for (size_t i = 0; rc == -EINVAL && i < sizeof(tries) / sizeof(tries[0]);
         i++) {
        memset(&p, 0, sizeof(p));
        p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | tries[i];
        p.cq_entries = CQ_ENTRIES;
        rc = io_uring_queue_init_params(SQ_ENTRIES, &b->ring, &p);
    }
    if (rc < 0) {
        kr__free(b);
        *why = rc == -EPERM ? disabled_why()
               : rc == -ENOSYS
                   ? "io_uring_setup: not implemented by this kernel"
                   : "io_uring_setup failed";
        return rc;
    }
    const char *need = NULL;
    if (!(p.features & IORING_FEAT_EXT_ARG))
        need = "the kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11)";
    struct io_uring_probe *pr = need ? NULL : io_uring_get_probe_ring(&b->ring);
    if (need == NULL &&
        (pr == NULL || !io_uring_opcode_supported(pr, IORING_OP_POLL_ADD) ||
         !io_uring_opcode_supported(pr, IORING_OP_ASYNC_CANCEL)))
        need = "the kernel lacks IORING_OP_POLL_ADD/ASYNC_CANCEL";
    for (int i = 0; pr != NULL && i < KR__IOP_COUNT; i++)
        b->op_ok[i] = io_uring_opcode_supported(pr, iop_code[i]) != 0;
    if (pr != NULL)
        io_uring_free_probe(pr);
    rc = 0;
    if (need == NULL) {
        b->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (b->evfd < 0) {
            rc = -errno;
            need = "eventfd failed";
        } else if ((rc = probe_multishot(b)) != 0) {
            need = "the kernel lacks multishot poll (IORING_POLL_ADD_MULTI, "
                   "Linux 5.13)";
            close(b->evfd);
        }
    } else {
        rc = KR_ENOSYS;
    }
    if (need != NULL) {
        io_uring_queue_exit(&b->ring);
        kr__free(b);
        *why = need;
        return rc < 0 ? rc : KR_ENOSYS;
    }
    kr__spin_init(&b->owner);
    kr__spin_init(&b->lock);
    kr__list_init(&b->pending);
    kr__list_init(&b->slots);
    kr__list_init(&b->opq);
    kr__list_init(&b->ops);
    b->base.ops = &uring_ops;
    atomic_init(&b->base.ops_live, 0);
    atomic_init(&b->base.ops_total, 0);
    *out = &b->base;
    return 0;
}

static const kr__backend_ops uring_ops = {
    uring_free,      uring_add,       uring_del,
    uring_wait,      uring_wake,      KR_IO_DRIVER_URING,
    uring_op_submit, uring_op_cancel, uring_read_mode};

#endif /* KR_HAVE_URING */
