/*
 * net/connect_ring.c: a stream's connect as one completion operation. On
 * the io_uring driver a connect polled on a thread that turns the driver
 * (a worker, the current-thread core) is a CONNECT on the ring instead of
 * connect(2), a registration, a writability wait, and then getsockopt
 * (SO_ERROR) and getpeername: the kernel makes the attempt, waits for
 * the handshake itself, and posts the attempt's result with the turn's
 * other completions. Three system calls fewer a connection.
 *
 * The op is not the future's memory: a future may be dropped with the
 * CONNECT in the kernel (kr_timeout cancels a connect so), and the kernel
 * reads the address until the end. So the op (kr__cx) is a heap object
 * with the address copied in and two references, the future's and the
 * op's (until its done), freed by whichever goes last.
 *
 * The descriptor. The op owns the socket from the submission until the
 * future takes it back at the end (kr__cx_poll), so that a dropped future
 * closes it only once the op has ended: the kernel looks a request's
 * descriptor number up when it issues it, and a CONNECT still in the SQ
 * would otherwise connect whatever socket is given that number next (as
 * for a stream's reads, net/rx.c).
 *
 * The fields under `lk`: ended (done was called; res is the result),
 * fd (the socket while the op owns it, else -1), w (the waker of the
 * future's last poll, or none), refs.
 *
 * A runtime freed with the op in flight ends it (core/io_op.h: the free
 * cancels and reaps, calling done), so a future dropped after that finds
 * it ended and touches no driver. Only an op the kernel still held after
 * the free's bounded wait would be left in flight, and its future must
 * then not be dropped (it leaks, as the op's memory does).
 */
#include <unistd.h>

#include "core/driver.h"
#include "core/io_op.h"
#include "net/sock.h"
#include "util/alloc.h"
#include "util/debug.h"
#include "util/spinlock.h"

struct kr__cx {
    kr__io_op op; /* first: the op's address is the object's */
    kr__spinlock lk;
    unsigned refs;
    bool ended;
    int32_t res;
    int fd;
    kr__driver *drv;
    kr_waker w;
    kr_sockaddr addr; /* the kernel's to read until the end */
};

static void cx_free(kr__cx *x) {
    if (x->fd >= 0)
        close(x->fd); /* dropped: nobody took it */
    if (x->w.vtable != NULL)
        kr_waker_drop(x->w);
    kr__free(x);
}

static void cx_done(kr__io_op *op, int32_t res) {
    kr__cx *x = (kr__cx *)op;
    kr__spin_lock(&x->lk);
    KR__REQUIRE(!x->ended, "cx_done: the op ended twice");
    x->ended = true;
    x->res = res;
    kr_waker w = x->w;
    x->w.vtable = NULL;
    bool last = --x->refs == 0;
    kr__spin_unlock(&x->lk);
    if (w.vtable != NULL)
        kr_waker_wake(w);
    if (last)
        cx_free(x);
}

int kr__cx_submit(int fd, const kr_sockaddr *addr, kr__cx **out) {
    kr__driver *d = kr__net_ring_here();
    if (d == NULL)
        return KR_ENOSYS;
    kr__cx *x = kr__calloc(1, sizeof(*x));
    if (x == NULL)
        return KR_ENOSYS; /* connect(2) needs no memory of ours */
    kr__spin_init(&x->lk);
    x->refs = 2; /* the future's and the op's */
    x->fd = fd;
    x->drv = d;
    x->addr = *addr;
    kr__io_op *op = &x->op;
    op->code = KR__IOP_CONNECT;
    op->fd = fd;
    op->buf = &x->addr.storage;
    op->len = x->addr.len;
    op->done = cx_done;
    /* As a ring read (net/rx.c): where another thread holds the ring,
     * connect(2) rather than wake that thread for one op. */
    op->nowait = true;
    /* Nothing calls done before op_submit returns 0. */
    int rc = d->ops->op_submit(d, op);
    if (rc != 0) {
        kr__free(x); /* fd is still the caller's */
        return KR_ENOSYS;
    }
    *out = x;
    return 0;
}

bool kr__cx_poll(kr__cx *x, kr_context *cx, int *res, int *fd) {
    kr__spin_lock(&x->lk);
    if (!x->ended) {
        const kr_waker *me = kr_context_waker(cx);
        kr_waker old = {0};
        if (x->w.vtable == NULL || !kr_waker_will_wake(&x->w, me)) {
            old = x->w;
            x->w = kr_waker_clone(me);
        }
        kr__spin_unlock(&x->lk);
        if (old.vtable != NULL)
            kr_waker_drop(old);
        return false;
    }
    *res = x->res;
    *fd = x->fd;
    x->fd = -1; /* the caller's again */
    bool last = --x->refs == 0;
    kr__spin_unlock(&x->lk);
    if (last)
        cx_free(x);
    return true;
}

void kr__cx_drop(kr__cx *x) {
    kr__spin_lock(&x->lk);
    bool live = !x->ended;
    kr_waker w = x->w;
    x->w.vtable = NULL;
    kr__spin_unlock(&x->lk);
    if (w.vtable != NULL)
        kr_waker_drop(w);
    /* Our reference keeps the op valid across the call (io_op.h). */
    if (live)
        x->drv->ops->op_cancel(x->drv, &x->op);
    kr__spin_lock(&x->lk);
    bool last = --x->refs == 0;
    kr__spin_unlock(&x->lk);
    if (last)
        cx_free(x);
}
