/*
 * bufio/bufio.h: what the reader, the writer and the copies share: the
 * kr_buf_op constructor and its polled-after-ready guard.
 *
 * A kr_buf_op's state_ is 0 while it runs and KR__BUF_SPENT once it has
 * returned READY; each poll starts with kr__buf_check_live, which aborts
 * with a message naming the future (core.h: kairo's futures do).
 */
#ifndef KR_BUFIO_BUFIO_H
#define KR_BUFIO_BUFIO_H

#include "kairo.h"
#include "kairo/bufio.h"
#include "util/debug.h"

#define KR__BUF_SPENT (-1)

void kr__buf_polled_after_ready(const kr_future *f) __attribute__((noreturn));

static inline void kr__buf_check_live(const kr_buf_op *op) {
    if (__builtin_expect(op->state_ == KR__BUF_SPENT, 0))
        kr__buf_polled_after_ready(&op->base);
}

static inline void kr__buf_spend(kr_buf_op *op) { op->state_ = KR__BUF_SPENT; }

static inline kr_buf_op kr__buf_op_make(const kr_future_vtable *vt, void *obj,
                                        void *dst, size_t len, void *aux,
                                        int delim) {
    kr_buf_op op = {{vt}, obj, dst, len, 0, aux, delim, 0};
    return op;
}

/* The TCP stream's operations (stream.c), for the halves (split.c). */
struct iovec;
kr_poll kr__io_tcp_read(void *s, kr_context *cx, void *buf, size_t len,
                        int64_t *res);
kr_poll kr__io_tcp_write(void *s, kr_context *cx, const void *buf, size_t len,
                         int64_t *res);
kr_poll kr__io_tcp_writev(void *s, kr_context *cx, const struct iovec *iov,
                          int n, int64_t *res);
int kr__io_tcp_shutdown(void *s);

#endif
