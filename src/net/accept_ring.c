/*
 * net/accept_ring.c: a listener's accepts as one multishot completion
 * operation. On the io_uring driver an accept polled on a thread that
 * turns the driver (a worker, the current-thread core) arms a multishot
 * ACCEPT on the ring, once: from then on the kernel accepts every
 * connection as it comes and posts its descriptor with the turn's other
 * completions, so a connection costs no accept4(2) and, as the stream is
 * then registered on the same ring, no system call at all.
 *
 * The queue is the listener's, not the future's. The descriptors the
 * kernel hands over wait in this queue (kr__ax), in the kernel's order,
 * for the next accept, whichever future that is: a dropped accept loses
 * no connection, as on epoll (where they wait in the kernel's backlog).
 * Accepted connections stop coming once KR__AX_HIGH wait (the op is
 * cancelled, and the rest stay in the kernel's backlog, which bounds them
 * as on epoll); an accept that finds the queue empty arms it again, and
 * then makes one accept4 of its own (KR__AX_ARMED): the op reaches the
 * kernel with a later enter, and a connection already in the backlog
 * would otherwise cost a wake-up and a poll more.
 *
 * The fields under `lk`:
 *   inflight   the op is submitted and its done not yet called;
 *   cancelling op_cancel was asked for it (at most once an op: io_op.h);
 *   off_ring   the kernel refused it (no multishot accept: EINVAL, or no
 *              ACCEPT): this listener accepts by readiness from then on;
 *   err        an error the op ended with, handed to one accept (the
 *              out-of-descriptors back-off of net/accept.c), or 0;
 *   q, head, n, cap  the descriptors, a ring buffer grown by doubling;
 *   afd        the listener's registration, NULL once the socket is gone
 *              (a descriptor that comes after that is closed at once);
 *   refs       the socket's (until kr__ax_release) and the op's (while
 *              inflight); the last one frees the queue.
 *
 * Wake-up. By the listener's readiness, unlike a stream's ring reads
 * (net/rx.c), since a listener has no sticky closed bits to spin on: an
 * accept that finds nothing answers KR_EAGAIN, and kr__sock_poll clears
 * the readiness it saw and waits; each result of the op sets READABLE
 * with the next tick (the driver's io_ready), so that clear, if it came
 * after, fails, and every accept waiting is woken to look. Any number of
 * accepts may wait on one listener, each on its own waiter node.
 *
 * The peer's address. A multishot ACCEPT cannot bring one (every result
 * would be written to the same place), so an accept that asks for it
 * makes a getpeername(2) call (net/accept.c).
 *
 * Freeing. The socket's last reference (kr__ax_release) closes the
 * descriptors still queued (their peers see a reset, as for connections
 * left in the backlog of a closed listener) and cancels the op, which
 * the registration's removal takes to the kernel at once, so the port is
 * free for a new bind at once. Once the runtime is shut down (its driver
 * freed, maybe) nothing is cancelled: net/sock.c shuts the socket down,
 * which ends the op, and the ring's own free reaps it. A descriptor the
 * kernel hands over after the release is closed at once.
 *
 * RLIMIT_NOFILE. The kernel reads the limit when the op is armed, not at
 * each connection: a limit lowered after that is not seen until the op
 * ends (a raised one is seen at the first EMFILE, which ends it).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/driver.h"
#include "core/io_op.h"
#include "net/sock.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/debug.h"
#include "util/spinlock.h"

/* Connections the queue takes before the op is cancelled (more may come
 * before the cancel reaches the kernel; the queue grows for them). */
#define KR__AX_HIGH 64
/* The queue's first size. */
#define KR__AX_INIT 16

struct kr__ax {
    kr__io_op op; /* first: the op's address is the queue's */
    kr__spinlock lk;
    unsigned refs;
    bool inflight, cancelling, off_ring;
    int err;
    int *q;
    unsigned head, n, cap;
    kr_async_fd *afd;
    kr__driver *drv; /* the op's driver, while inflight */
};

/* Under lk: queues fd, or closes it (the listener is gone, or no memory:
 * that one connection is reset). Returns whether the queue reached
 * KR__AX_HIGH. */
static bool push_locked(kr__ax *ax, int fd) {
    if (ax->afd == NULL) {
        close(fd);
        return false;
    }
    if (ax->n == ax->cap) {
        unsigned cap = ax->cap != 0 ? ax->cap * 2 : KR__AX_INIT;
        int *nq = kr__malloc(cap * sizeof(*nq));
        if (nq == NULL) {
            close(fd);
            return false;
        }
        for (unsigned i = 0; i < ax->n; i++)
            nq[i] = ax->q[(ax->head + i) % ax->cap];
        kr__free(ax->q);
        ax->q = nq;
        ax->head = 0;
        ax->cap = cap;
    }
    ax->q[(ax->head + ax->n) % ax->cap] = fd;
    ax->n++;
    return ax->n >= KR__AX_HIGH;
}

static void ax_free(kr__ax *ax) {
    KR__REQUIRE(ax->n == 0, "ax_free: %u descriptors still queued", ax->n);
    kr__free(ax->q);
    kr__free(ax);
}

/* Under lk, with afd alive (release clears it under lk before the
 * registration goes): wake the accepts waiting on the listener. */
static void tell_locked(kr__ax *ax) {
    if (ax->afd != NULL)
        ax->drv->ops->io_ready(ax->drv, ax->afd, KR_READABLE);
}

/* A connection, while the op stays armed (core/io_op.h: `each`). */
static void ax_each(kr__io_op *op, int32_t res) {
    kr__ax *ax = (kr__ax *)op;
    bool cancel = false;
    kr__spin_lock(&ax->lk);
    KR__REQUIRE(ax->inflight, "ax_each: no op in flight");
    if (res >= 0 && push_locked(ax, res) && !ax->cancelling) {
        ax->cancelling = true; /* enough wait: the backlog keeps the rest */
        cancel = true;
    }
    tell_locked(ax);
    kr__spin_unlock(&ax->lk);
    /* The op's reference keeps it valid: its done has not come. */
    if (cancel)
        ax->drv->ops->op_cancel(ax->drv, op);
}

/* The op's end (core/io_op.h: `done`). */
static void ax_done(kr__io_op *op, int32_t res) {
    kr__ax *ax = (kr__ax *)op;
    kr__spin_lock(&ax->lk);
    KR__REQUIRE(ax->inflight, "ax_done: no op in flight");
    ax->inflight = ax->cancelling = false;
    if (res >= 0) {
        (void)push_locked(ax, res); /* ended while posting a connection */
    } else if (res == -EINVAL || res == -EOPNOTSUPP || res == -EAGAIN) {
        /* No multishot accept in this kernel (or a listener it refuses:
         * accept4 says which); an EAGAIN would spin. */
        ax->off_ring = true;
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
               res == -ENOMEM) {
        ax->err = res; /* one accept backs off on it */
    } /* ECANCELED, EINTR, ECONNABORTED and the per-connection errors:
       * the next accept arms it again. */
    tell_locked(ax); /* every end: a waiting accept must look, and re-arm */
    bool last = --ax->refs == 0;
    kr__spin_unlock(&ax->lk);
    if (last)
        ax_free(ax);
}

/* The queue of s, made on first use (two racing makers: one wins). */
static kr__ax *ax_get(kr__sock *s) {
    kr__ax *ax = kr__load_acquire(&s->ax);
    if (ax != NULL)
        return ax;
    kr__ax *mine = kr__calloc(1, sizeof(*mine));
    if (mine == NULL)
        return NULL;
    kr__spin_init(&mine->lk);
    mine->refs = 1; /* the socket's */
    mine->afd = s->afd;
    kr__ax *none = NULL;
    if (kr__cas_acqrel(&s->ax, &none, mine))
        return mine;
    kr__free(mine);
    return none;
}

bool kr__ax_usable(const kr__sock *s) {
    return s->sim == NULL && kr__net_ring(s) != NULL;
}

int64_t kr__ax_accept(kr__sock *s) {
    KR__REQUIRE(kr__load_relaxed(&s->refs) > 0,
                "kr__ax_accept: a socket without a reference");
    kr__driver *d = kr__net_ring(s);
    if (d == NULL)
        return KR__AX_OFF;
    kr__ax *ax = ax_get(s);
    if (ax == NULL)
        return KR__AX_OFF; /* no memory for the queue: accept4 */
    kr__spin_lock(&ax->lk);
    if (ax->n > 0) {
        int fd = ax->q[ax->head];
        ax->head = (ax->head + 1) % ax->cap;
        ax->n--;
        kr__spin_unlock(&ax->lk);
        return fd;
    }
    if (ax->err != 0) {
        int64_t e = ax->err;
        ax->err = 0;
        kr__spin_unlock(&ax->lk);
        return e;
    }
    if (ax->off_ring) {
        kr__spin_unlock(&ax->lk);
        return KR__AX_OFF;
    }
    if (ax->inflight) {
        kr__spin_unlock(&ax->lk);
        return KR_EAGAIN; /* its next connection wakes us */
    }
    kr__io_op *op = &ax->op;
    memset(op, 0, sizeof(*op));
    op->code = KR__IOP_ACCEPT;
    op->fd = s->fd;
    op->flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    op->done = ax_done;
    op->each = ax_each;
    /* As a ring read (net/rx.c): where another thread holds the ring,
     * accept4 this once rather than wake that thread for it. */
    op->nowait = true;
    op->near = s->afd;
    ax->inflight = true;
    ax->drv = d;
    ax->refs++;
    kr__spin_unlock(&ax->lk);
    /* Nothing calls done before op_submit returns 0, and the socket's
     * reference keeps ax. */
    int rc = d->ops->op_submit(d, op);
    if (rc == 0)
        return KR__AX_ARMED;
    kr__spin_lock(&ax->lk);
    ax->inflight = false;
    ax->refs--;
    if (rc == KR_EOPNOTSUPP)
        ax->off_ring = true; /* this kernel has no ACCEPT */
    kr__spin_unlock(&ax->lk);
    return KR__AX_OFF; /* KR_EBUSY, KR_ESHUTDOWN...: accept4 */
}

void kr__ax_release(kr__sock *s, bool gone) {
    kr__ax *ax = kr__load_acquire(&s->ax);
    if (ax == NULL)
        return;
    kr__spin_lock(&ax->lk);
    ax->afd = NULL;
    while (ax->n > 0) {
        close(ax->q[ax->head]);
        ax->head = (ax->head + 1) % ax->cap;
        ax->n--;
    }
    bool cancel = ax->inflight && !ax->cancelling;
    ax->cancelling = ax->cancelling || cancel;
    kr__driver *d = ax->drv;
    kr__spin_unlock(&ax->lk);
    /* Our reference keeps the op valid across the call (io_op.h). Once
     * the runtime is shut down the socket is shut down instead (see the
     * top). */
    if (cancel && !gone)
        d->ops->op_cancel(d, &ax->op);
    kr__spin_lock(&ax->lk);
    bool last = --ax->refs == 0;
    kr__spin_unlock(&ax->lk);
    if (last)
        ax_free(ax);
}
