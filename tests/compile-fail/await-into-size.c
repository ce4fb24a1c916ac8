/*
 * Must NOT compile: KR_AWAIT_INTO of a TCP read (an int64_t output) into
 * an int. ctest builds it and expects the compiler to reject it with the
 * macro's message (tests/CMakeLists.txt, compile/await_into_*).
 */
#include "kairo.h"

typedef struct {
    kr_future base;
    kr_coro co;
    kr_tcp_read rd;
    kr_tcp_stream *s;
    char buf[16];
    int n;       /* too small for the read's int64_t */
    int64_t n64; /* the control: the right size */
} reader;

kr_poll reader_poll(kr_future *f, kr_context *cx, void *out);
kr_poll reader_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    reader *r = (reader *)f;
    KR_ASYNC_BEGIN(&r->co);
    r->rd = kr_tcp_stream_read(r->s, r->buf, sizeof(r->buf));
#ifdef KR_EXPECT_OK
    KR_AWAIT_INTO(&r->co, &r->rd, cx, r->n64);
#else
    KR_AWAIT_INTO(&r->co, &r->rd, cx, r->n);
#endif
    KR_ASYNC_END(&r->co);
}
