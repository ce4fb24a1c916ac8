/*
 * Must NOT compile: KR_FN_CALL (kairo/async_fn.h) of a TCP read (an
 * int64_t output) into an int, and KR_BRANCH_SET of the same. ctest builds
 * it and expects the compiler to reject it with the macro's message
 * (tests/CMakeLists.txt, compile/async_fn_*).
 */
#include "kairo.h"

typedef struct {
    KR_ASYNC_FIELDS;
    kr_tcp_read rd;
    kr_tcp_stream *s;
    kr_branch br[1];
    char buf[16];
    int n;       /* too small for the read's int64_t */
    int64_t n64; /* the control: the right size */
} reader;
KR_ASYNC_FN_VOID(reader);
KR_ASYNC_NO_DROP(reader);

KR_ASYNC_POLL(reader, r, cx) {
#if defined(KR_EXPECT_OK)
    KR_FN_CALL(r->rd, kr_tcp_stream_read(r->s, r->buf, sizeof(r->buf)), r->n64);
    KR_BRANCH_SET(&r->br[0], &r->rd, r->n64);
#elif defined(KR_BRANCH)
    KR_BRANCH_SET(&r->br[0], &r->rd, r->n);
#else
    KR_FN_CALL(r->rd, kr_tcp_stream_read(r->s, r->buf, sizeof(r->buf)), r->n);
#endif
}
KR_ASYNC_POLL_END

const kr_future_vtable *reader_vtable(void);
const kr_future_vtable *reader_vtable(void) { return &reader_vt; }
