/*
 * tests/test-bufio.h: a scripted kr_io_stream (Tokio's tokio_test::io
 * Builder and the MaybePending wrapper of its io tests) and the helpers
 * the buffered I/O tests share.
 *
 * Reads follow the script: a chunk of bytes (handed out at most `len` at
 * a time, so one chunk may take several reads), an error, or a pending
 * step (one PENDING poll, the waker woken at once). Past the script, reads
 * give 0 (end of stream). With maybe_pending every other read and write
 * is PENDING first. Writes append to `written`, at most max_write bytes
 * at a time (0: no cap); with never_write every write is PENDING and the
 * waker is kept (a peer that never reads).
 */
#ifndef KR_TESTS_TEST_BUFIO_H
#define KR_TESTS_TEST_BUFIO_H

#include <sys/uio.h>

#include "test.h"

#define TB_UNUSED __attribute__((unused))

enum { MOCK_DATA, MOCK_ERR, MOCK_PENDING };

typedef struct mock_step {
    int kind;
    const char *data;
    size_t len;
    int err;
} mock_step;

#define MOCK_READ(s)                                                           \
    { MOCK_DATA, (s), sizeof(s) - 1, 0 }
#define MOCK_READ_ERR(e)                                                       \
    { MOCK_ERR, NULL, 0, (e) }
#define MOCK_WAIT                                                              \
    { MOCK_PENDING, NULL, 0, 0 }

typedef struct mock {
    const mock_step *steps;
    size_t n, i, off;
    bool maybe_pending, rd_toggle, wr_toggle;
    size_t max_write;
    bool never_write;
    bool vectored;
    kr_waker kept;
    char *written;
    size_t wlen, wcap;
    long reads, writes, pendings;
} mock;

static TB_UNUSED void mock_init(mock *m, const mock_step *steps, size_t n) {
    memset(m, 0, sizeof(*m));
    m->steps = steps;
    m->n = n;
}

static TB_UNUSED void mock_destroy(mock *m) {
    kr_waker_reset(&m->kept);
    free(m->written);
    m->written = NULL;
}

static TB_UNUSED kr_poll mock_pend(mock *m, kr_context *cx) {
    m->pendings++;
    kr_waker_wake_by_ref(kr_context_waker(cx));
    return KR_PENDING;
}

static TB_UNUSED kr_poll mock_read(void *o, kr_context *cx, void *buf,
                                   size_t len, int64_t *res) {
    mock *m = o;
    if (m->maybe_pending) {
        m->rd_toggle = !m->rd_toggle;
        if (m->rd_toggle)
            return mock_pend(m, cx);
    }
    m->reads++;
    if (m->i == m->n) {
        *res = 0;
        return KR_READY;
    }
    const mock_step *st = &m->steps[m->i];
    if (st->kind == MOCK_PENDING) {
        m->i++;
        return mock_pend(m, cx);
    }
    if (st->kind == MOCK_ERR) {
        m->i++;
        *res = st->err;
        return KR_READY;
    }
    size_t k = st->len - m->off < len ? st->len - m->off : len;
    memcpy(buf, st->data + m->off, k);
    m->off += k;
    if (m->off == st->len) {
        m->i++;
        m->off = 0;
    }
    *res = (int64_t)k;
    return KR_READY;
}

static TB_UNUSED kr_poll mock_write(void *o, kr_context *cx, const void *buf,
                                    size_t len, int64_t *res) {
    mock *m = o;
    if (m->never_write) {
        kr_waker_set(&m->kept, kr_context_waker(cx));
        m->pendings++;
        return KR_PENDING;
    }
    if (m->maybe_pending) {
        m->wr_toggle = !m->wr_toggle;
        if (m->wr_toggle)
            return mock_pend(m, cx);
    }
    m->writes++;
    size_t k = m->max_write != 0 && len > m->max_write ? m->max_write : len;
    if (m->wlen + k > m->wcap) {
        m->wcap = (m->wlen + k) * 2;
        m->written = realloc(m->written, m->wcap);
    }
    memcpy(m->written + m->wlen, buf, k);
    m->wlen += k;
    *res = (int64_t)k;
    return KR_READY;
}

static TB_UNUSED kr_poll mock_writev(void *o, kr_context *cx,
                                     const struct iovec *iov, int n,
                                     int64_t *res) {
    mock *m = o;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        int64_t k;
        if (mock_write(m, cx, iov[i].iov_base, iov[i].iov_len, &k) ==
            KR_PENDING)
            return total > 0 ? (*res = total, KR_READY) : KR_PENDING;
        total += k;
        m->writes--; /* one call for all of them */
        if ((size_t)k < iov[i].iov_len)
            break;
    }
    m->writes++;
    *res = total;
    return KR_READY;
}

static const kr_io_stream_ops mock_ops = {mock_read, mock_write, NULL, NULL,
                                          "mock"};
static const kr_io_stream_ops mock_ops_v = {mock_read, mock_write, mock_writev,
                                            NULL, "mock vectored"};

static TB_UNUSED kr_io_stream mock_stream(mock *m) {
    kr_io_stream s = {m, m->vectored ? &mock_ops_v : &mock_ops};
    return s;
}

/* Runs one bufio future to completion on `rt` (block_on drops it). */
static TB_UNUSED int64_t run64(kr_runtime *rt, kr_future *f) {
    int64_t v = 12345;
    assert_rc(kr_runtime_block_on(rt, f, &v), 0);
    return v;
}

/* Polls `f` once by hand with a noop waker. */
static TB_UNUSED kr_poll poll_once(kr_future *f, void *out) {
    kr_waker w = kr_waker_noop();
    kr_context cx = kr_context_from_waker(&w);
    return kr_future_poll(f, &cx, out);
}

#endif
