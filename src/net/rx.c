/*
 * net/rx.c: a stream socket's reads as completion operations. On the
 * io_uring driver a read polled on a thread that turns the driver (a
 * worker, the current-thread core) is a RECV on the ring instead of a
 * readiness wait and a recv(2): the data comes with the completion, so a
 * message costs no system call of its own to read (the turn's one
 * io_uring_enter carries the submissions of every stream at once).
 *
 * The buffer is the stream's, not the future's. The kernel writes into
 * this reader's own buffer (kr__rx), which lives until the op's `done`
 * whatever happens to the socket or the future (core/io_op.h: nothing is
 * freed under the kernel), and a read copies out of it. So dropping a read
 * loses nothing: an op left in flight by a dropped read stays in flight,
 * and the bytes it brings wait in the buffer for the next read of any kind
 * (read, read_exact, peek, try_read, poll_read: net/stream.c's calls look
 * here first). A RECV asks for at most the reader's length (and at most
 * KR__RX_MAX), so the buffer holds only what a read asked for: nothing is
 * read ahead of the caller.
 *
 * One op at a time per stream. The fields under `lk`:
 *   inflight  the op is submitted and its done not yet called;
 *   have      a result waits: `n` bytes at buf + off, or `res` (0: end of
 *             stream, < 0: an error), each handed out once;
 *   off_ring  the kernel answered a RECV with EAGAIN (a kernel that does
 *             not wait on a non-blocking socket): this stream reads by
 *             readiness from then on;
 *   afd       the stream's registration, NULL once the socket is gone;
 *   refs      the socket's (until kr__rx_release) and the op's (while
 *             inflight); the last one frees the reader.
 * have and inflight are never both set: an op is submitted only once the
 * buffer is empty.
 *
 * Wake-up. A read that meets the op in flight (KR__RX_BUSY) waits for
 * its end: kr__rx_wait stores its waker in the reader (one per task: a
 * task's second read replaces nothing; KR__RX_WAKERS inline, then an
 * array that doubles, so any number of readers wait without waking each
 * other; only where that array cannot be had is the oldest woken to look
 * again), and the done wakes them all after setting the result. Not
 * through the
 * socket's readiness: its closed bits are sticky (a half-closed socket
 * stays READ_CLOSED), so a readiness wait would return at once, every
 * time, while the op waits for the turn that this thread would never
 * reach. The done also sets READABLE (the driver's io_ready: an event
 * with the next tick, so a clear that read the old tick fails) for the
 * readers that wait by readiness (readable(), then try_read, which met
 * KR_EAGAIN while the op was in flight). The done runs inside the turn,
 * before that turn dispatches the multishot poll's events.
 *
 * Cancellation. A read's drop cancels nothing (the op is the stream's).
 * The socket's last reference (kr__rx_release) detaches the registration
 * and cancels an op in flight; the reader is freed by whichever of the
 * two (release, done) comes last. The descriptor is closed with the
 * reader, not with the socket, when an op was in flight: the kernel
 * looks a request's descriptor number up when it issues it, and the
 * RECV may still wait in an SQ (its ring's owner busy in a task, or the
 * socket freed on another thread); closed at once, the number could be
 * taken by a new socket before that enter, and the RECV would read that
 * socket's bytes into this dead reader. (The registration's removal
 * enters only the registration's ring, and a RECV goes to the ring of the
 * thread that read, which on the multi-thread runtime is often another.
 * A listener's accept op needs none of this: it goes to the listener's
 * own ring, net/accept_ring.c.) Once the runtime is shut down (its
 * driver freed, maybe) the release cancels nothing: the socket's shut
 * down (net/sock.c), which ends the RECV, and the ring's own free, at its
 * last registration, reaps the op.
 *
 * The descriptor (kr_tcp_stream_fd) read directly bypasses the buffer:
 * bytes a dropped ring read brought in come before the ones a raw
 * read(2) sees.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/context.h"
#include "core/driver.h"
#include "core/io_op.h"
#include "core/runtime.h"
#include "net/sock.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/debug.h"
#include "util/spinlock.h"

struct kr__rx {
    kr__io_op op; /* first: the op's address is the reader's */
    kr__spinlock lk;
    unsigned refs;
    bool inflight, have, off_ring;
    _Atomic bool told; /* reads_by_ops called (a hint: twice is harmless) */
    int32_t res;
    uint32_t off, n;
    kr_async_fd *afd;
    kr__driver *drv; /* the op's driver, while inflight */
    int close_fd;    /* the socket's descriptor, closed at the free: >= 0
                        when the socket went with the op in flight */
    uint8_t *buf;
    uint32_t cap;
    unsigned nw;
    kr_waker *w;                /* the readers waiting for the op's end: */
    unsigned capw;              /* w0, or a heap array of capw */
    kr_waker w0[KR__RX_WAKERS]; /* (set up by rx_get) */
};

/* The same test as fs/ring.c's ring_driver: a multi-thread block_on
 * thread would hand every op to a worker. */
kr__driver *kr__net_ring_here(void) {
    kr_runtime *rt = kr__ctx.rt;
    if (kr__ctx.worker == NULL || rt == NULL)
        return NULL;
    kr__driver *d = rt->driver;
    return d != NULL && d->ops->op_submit != NULL ? d : NULL;
}

kr__driver *kr__net_ring(const kr__sock *s) {
    return s->rt != NULL && kr__ctx.rt == s->rt ? kr__net_ring_here() : NULL;
}

bool kr__rx_usable(const kr__sock *s) {
    return s->sim == NULL && kr__net_ring(s) != NULL;
}

static void rx_free(kr__rx *rx) {
    if (rx->close_fd >= 0)
        close(rx->close_fd); /* the op that named it has ended */
    for (unsigned i = 0; i < rx->nw; i++)
        kr_waker_drop(rx->w[i]);
    if (rx->w != rx->w0)
        kr__free(rx->w);
    kr__free(rx->buf);
    kr__free(rx);
}

/* The op's end, on the thread reaping it (core/io_op.h). */
static void rx_done(kr__io_op *op, int32_t res) {
    kr__rx *rx = (kr__rx *)op;
    bool tell = false;
    kr__spin_lock(&rx->lk);
    KR__REQUIRE(rx->inflight && !rx->have, "rx_done: no op in flight");
    rx->inflight = false;
    if (res == -EAGAIN) {
        rx->off_ring = true; /* the readers go back to readiness */
        tell = true;
    } else if (res == -EINTR) {
        tell = true; /* nothing taken: the reader submits again */
    } else if (res != -ECANCELED) {
        rx->have = true;
        rx->res = res;
        rx->off = 0;
        rx->n = res > 0 ? (uint32_t)res : 0;
        tell = true;
    }
    /* Under lk: release clears afd under it before the registration is
     * freed, so afd is alive here. The wake-ups never take lk. */
    if (tell && rx->afd != NULL)
        rx->drv->ops->io_ready(rx->drv, rx->afd, KR_READABLE);
    /* Every end wakes the op's waiters, a cancelled one too (a runtime
     * freed: they find the ring gone and read the socket). */
    kr_waker inl[KR__RX_WAKERS], *w = inl;
    unsigned nw = rx->nw;
    if (rx->w != rx->w0) { /* the array is ours to wake from and free */
        w = rx->w;
        rx->w = rx->w0;
        rx->capw = KR__RX_WAKERS;
    } else {
        memcpy(inl, rx->w, nw * sizeof(inl[0]));
    }
    rx->nw = 0;
    bool last = --rx->refs == 0;
    kr__spin_unlock(&rx->lk);
    for (unsigned i = 0; i < nw; i++)
        kr_waker_wake(w[i]);
    if (w != inl)
        kr__free(w);
    if (last)
        rx_free(rx);
}

bool kr__rx_wait(kr__sock *s, kr_context *cx) {
    kr__rx *rx = kr__load_acquire(&s->rx);
    if (rx == NULL)
        return false;
    const kr_waker *me = kr_context_waker(cx);
    kr_waker out = {0};
    kr_waker *grown = NULL, *old = NULL;
    unsigned want = 0;
    for (;;) {
        kr__spin_lock(&rx->lk);
        if (!rx->inflight) {
            kr__spin_unlock(&rx->lk);
            kr__free(grown);
            return false; /* ended meanwhile: look again */
        }
        unsigned i = 0;
        while (i < rx->nw && !kr_waker_will_wake(&rx->w[i], me))
            i++;
        if (i < rx->nw)
            break; /* this task waits already */
        if (rx->nw < rx->capw) {
            rx->w[rx->nw++] = kr_waker_clone(me);
            break;
        }
        if (grown != NULL && want > rx->capw) {
            /* Full: move to the bigger array made outside the lock. */
            memcpy(grown, rx->w, rx->nw * sizeof(grown[0]));
            old = rx->w != rx->w0 ? rx->w : NULL;
            rx->w = grown;
            rx->capw = want;
            grown = NULL;
            rx->w[rx->nw++] = kr_waker_clone(me);
            break;
        }
        want = rx->capw * 2;
        kr__spin_unlock(&rx->lk);
        kr__free(grown);
        grown = kr__malloc(want * sizeof(grown[0]));
        if (grown != NULL)
            continue;
        /* No memory: the oldest is woken to look again (it comes back, or
         * its future is gone) to make room. */
        kr__spin_lock(&rx->lk);
        if (!rx->inflight) {
            kr__spin_unlock(&rx->lk);
            return false;
        }
        if (rx->nw == rx->capw) {
            out = rx->w[0];
            memmove(rx->w, rx->w + 1, (rx->nw - 1) * sizeof(rx->w[0]));
            rx->nw--;
        }
        rx->w[rx->nw++] = kr_waker_clone(me);
        break;
    }
    kr__spin_unlock(&rx->lk);
    kr__free(grown); /* made for a growth another reader did first */
    kr__free(old);
    if (out.vtable != NULL)
        kr_waker_wake(out);
    return true;
}

bool kr__rx_take(kr__sock *s, const struct iovec *iov, int iovcnt, bool peek,
                 int64_t *out) {
    kr__rx *rx = kr__load_acquire(&s->rx);
    if (rx == NULL)
        return false;
    kr__spin_lock(&rx->lk);
    if (rx->have) {
        if (rx->n == 0) {
            *out = rx->res; /* end of stream or an error, once */
            rx->have = peek;
        } else {
            uint32_t got = 0;
            for (int i = 0; i < iovcnt && got < rx->n; i++) {
                size_t k =
                    iov[i].iov_len < rx->n - got ? iov[i].iov_len : rx->n - got;
                memcpy(iov[i].iov_base, rx->buf + rx->off + got, k);
                got += (uint32_t)k;
            }
            if (!peek) {
                rx->off += got;
                rx->n -= got;
                rx->have = rx->n > 0;
            }
            *out = got;
        }
        kr__spin_unlock(&rx->lk);
        return true;
    }
    bool busy = rx->inflight;
    kr__spin_unlock(&rx->lk);
    if (busy)
        *out = KR__RX_BUSY; /* the op in flight takes the next bytes */
    return busy;
}

/* The reader of s, made on first use (two racing makers: one wins). */
static kr__rx *rx_get(kr__sock *s) {
    kr__rx *rx = kr__load_acquire(&s->rx);
    if (rx != NULL)
        return rx;
    kr__rx *mine = kr__calloc(1, sizeof(*mine));
    if (mine == NULL)
        return NULL;
    kr__spin_init(&mine->lk);
    mine->w = mine->w0;
    mine->capw = KR__RX_WAKERS;
    mine->refs = 1; /* the socket's */
    mine->close_fd = -1;
    mine->afd = s->afd;
    kr__rx *none = NULL;
    if (kr__cas_acqrel(&s->rx, &none, mine))
        return mine;
    kr__free(mine);
    return none;
}

/* The buffer grown to `want` bytes, if no op uses it: 0 or KR_ENOMEM. */
static int rx_reserve(kr__rx *rx, uint32_t want) {
    kr__spin_lock(&rx->lk);
    bool ok = rx->cap >= want || rx->inflight || rx->have;
    kr__spin_unlock(&rx->lk);
    if (ok)
        return 0;
    uint8_t *nb = kr__malloc(want);
    if (nb == NULL)
        return KR_ENOMEM;
    uint8_t *old = nb;
    kr__spin_lock(&rx->lk);
    if (rx->cap < want && !rx->inflight && !rx->have) {
        old = rx->buf;
        rx->buf = nb;
        rx->cap = want;
    }
    kr__spin_unlock(&rx->lk);
    kr__free(old);
    return 0;
}

int kr__rx_arm(kr__sock *s, size_t len) {
    KR__REQUIRE(kr__load_relaxed(&s->refs) > 0,
                "kr__rx_arm: a socket without a reference");
    kr__driver *d = kr__net_ring(s);
    if (d == NULL || s->sim != NULL || len == 0)
        return KR_ENOSYS;
    kr__rx *rx = rx_get(s);
    if (rx == NULL)
        return KR_ENOMEM;
    uint32_t want = len < KR__RX_MAX ? (uint32_t)len : KR__RX_MAX;
    if (rx_reserve(rx, want) < 0)
        return KR_ENOMEM;
    kr__spin_lock(&rx->lk);
    if (rx->off_ring) {
        kr__spin_unlock(&rx->lk);
        return KR_ENOSYS;
    }
    if (rx->inflight || rx->have) {
        kr__spin_unlock(&rx->lk);
        return 0; /* the caller takes first, or waits for the one in flight */
    }
    kr__io_op *op = &rx->op;
    memset(op, 0, sizeof(*op));
    op->code = KR__IOP_RECV;
    op->fd = s->fd;
    op->buf = rx->buf;
    op->len = want < rx->cap ? want : rx->cap;
    op->done = rx_done;
    /* Where another thread holds the ring (a worker blocked in it, on the
     * multi-thread runtime), this read goes by readiness rather than wake
     * that thread for it (an eventfd write and a switch per read). One
     * run of bench/echo, 2 workers, 16 and 64 connections: 11.2 and 10.2
     * us of server CPU a message with the wake, 9.2 and 9.4 without it
     * (epoll: 6.5-7.0). */
    op->nowait = true;
    rx->inflight = true;
    rx->drv = d;
    rx->refs++;
    kr__spin_unlock(&rx->lk);
    /* Nothing calls done before op_submit returns 0 (the ring's owner
     * does, on a later turn), and the socket's reference keeps rx. */
    int rc = d->ops->op_submit(d, op);
    if (rc != 0) {
        kr__spin_lock(&rx->lk);
        rx->inflight = false;
        rx->refs--;
        if (rc == KR_EOPNOTSUPP)
            rx->off_ring = true; /* this kernel has no RECV */
        kr__spin_unlock(&rx->lk);
    } else if (!kr__load_relaxed(&rx->told)) {
        /* The stream's first read on the ring: its readiness for reading
         * is of no use to anyone until a readiness wait asks for it (the
         * reactor puts it back then), and on io_uring each event of it
         * would cost a completion and a run of task work a message. */
        kr__store_relaxed(&rx->told, true);
        d->ops->reads_by_ops(d, s->afd);
    }
    return rc;
}

bool kr__rx_release(kr__sock *s, bool gone) {
    kr__rx *rx = kr__load_acquire(&s->rx);
    if (rx == NULL)
        return false;
    kr__spin_lock(&rx->lk);
    rx->afd = NULL;
    bool cancel = rx->inflight;
    if (cancel)
        rx->close_fd = s->fd;
    kr__driver *d = rx->drv;
    kr__spin_unlock(&rx->lk);
    /* Our reference keeps the op valid across the call (io_op.h). The
     * peer sees the close when the cancel's turn ends the RECV. */
    if (cancel && !gone)
        d->ops->op_cancel(d, &rx->op);
    kr__spin_lock(&rx->lk);
    bool last = --rx->refs == 0;
    kr__spin_unlock(&rx->lk);
    if (last)
        rx_free(rx);
    return cancel;
}
