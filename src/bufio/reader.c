/*
 * bufio/reader.c: kr_buf_reader, a buffer in front of a kr_io_stream, and
 * its futures: fill, read, read_until / read_line, read_exact,
 * read_to_end.
 *
 * The buffer is buf[0..cap): bytes pos..end are buffered, not consumed.
 * Bytes before pos stay where they are until the next read from the
 * stream needs room (then pos..end moves to the front), which is what
 * lets a line returned by read_until point into the buffer until the
 * next operation.
 *
 * Cancel-safety comes from consuming only at completion: a pending
 * read_until or fill has moved bytes from the stream into the buffer and
 * nothing out of it, so a dropped one leaves them for the next call.
 */
#include <string.h>

#include "bufio/bufio.h"
#include "util/abort.h"
#include "util/alloc.h"

struct kr_buf_reader {
    kr_io_stream s;
    char *buf;
    size_t cap, pos, end;
};

int kr_buf_reader_new(kr_io_stream s, size_t capacity, kr_buf_reader **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (s.ops == NULL || s.ops->poll_read == NULL)
        return KR_EINVAL;
    if (capacity == 0)
        capacity = KR_BUF_READER_CAPACITY;
    kr_buf_reader *r = kr__malloc(sizeof(*r));
    char *buf = kr__malloc(capacity);
    if (r == NULL || buf == NULL) {
        kr__free(r);
        kr__free(buf);
        return KR_ENOMEM;
    }
    r->s = s;
    r->buf = buf;
    r->cap = capacity;
    r->pos = r->end = 0;
    *out = r;
    return 0;
}

void kr_buf_reader_free(kr_buf_reader *r) {
    if (r == NULL)
        return;
    kr__free(r->buf);
    kr__free(r);
}

kr_io_stream kr_buf_reader_stream(const kr_buf_reader *r) { return r->s; }

const char *kr_buf_reader_data(const kr_buf_reader *r, size_t *len) {
    *len = r->end - r->pos;
    return r->buf + r->pos;
}

void kr_buf_reader_consume(kr_buf_reader *r, size_t n) {
    size_t have = r->end - r->pos;
    r->pos += n < have ? n : have;
    if (r->pos == r->end)
        r->pos = r->end = 0;
}

size_t kr_buf_reader_capacity(const kr_buf_reader *r) { return r->cap; }

/* Room to read into: `want` (>= buffered + 1) is the capacity the
 * caller needs from pos on. Moves the buffered bytes to the front if the
 * tail is short, or grows the buffer to exactly `want` if that is more
 * than it holds. 0 or KR_ENOMEM. */
static int make_room(kr_buf_reader *r, size_t want) {
    size_t have = r->end - r->pos;
    KR__REQUIRE(want > have, "room for %zu with %zu buffered", want, have);
    if (r->pos + want <= r->cap)
        return 0;
    if (want <= r->cap) {
        memmove(r->buf, r->buf + r->pos, have);
    } else {
        char *nb = kr__malloc(want);
        if (nb == NULL)
            return KR_ENOMEM;
        memcpy(nb, r->buf + r->pos, have);
        kr__free(r->buf);
        r->buf = nb;
        r->cap = want;
    }
    r->pos = 0;
    r->end = have;
    return 0;
}

/* One read from the stream into the buffer's tail, after make_room(want).
 * READY with *res: bytes read, 0 at end of stream, or an error. */
static kr_poll read_more(kr_buf_reader *r, kr_context *cx, size_t want,
                         int64_t *res) {
    int rc = make_room(r, want);
    if (rc != 0) {
        *res = rc;
        return KR_READY;
    }
    if (r->s.ops->poll_read(r->s.obj, cx, r->buf + r->end, r->cap - r->end,
                            res) == KR_PENDING)
        return KR_PENDING;
    if (*res > 0)
        r->end += (size_t)*res;
    return KR_READY;
}

/* The capacity to ask make_room for when `need` bytes must fit: the
 * current one if they do, else double it (at least `need`, at most
 * `limit`). */
static size_t want_for(const kr_buf_reader *r, size_t need, size_t limit) {
    if (need <= r->cap)
        return r->cap;
    size_t w = r->cap * 2 > need ? r->cap * 2 : need;
    return w < limit ? w : limit;
}

/* ---- the futures -------------------------------------------------------- */

void kr__buf_polled_after_ready(const kr_future *f) {
    kr__die("%s polled after it returned READY", f->vtable->name);
}

static kr_poll done(kr_buf_op *op, void *out, int64_t v) {
    kr__buf_spend(op);
    if (out != NULL)
        *(int64_t *)out = v;
    return KR_READY;
}

static kr_poll fill_poll(kr_future *f, kr_context *cx, void *out) {
    kr_buf_op *op = (kr_buf_op *)f;
    kr__buf_check_live(op);
    kr_buf_reader *r = op->obj_;
    if (r == NULL)
        return done(op, out, KR_EINVAL);
    size_t min = op->len_ == 0 ? 1 : op->len_;
    while (r->end - r->pos < min) {
        int64_t n;
        if (read_more(r, cx, want_for(r, min, SIZE_MAX), &n) == KR_PENDING)
            return KR_PENDING;
        if (n <= 0) {
            if (n < 0)
                return done(op, out, n);
            break;
        }
    }
    return done(op, out, (int64_t)(r->end - r->pos));
}

static kr_poll read_poll(kr_future *f, kr_context *cx, void *out) {
    kr_buf_op *op = (kr_buf_op *)f;
    kr__buf_check_live(op);
    kr_buf_reader *r = op->obj_;
    if (r == NULL)
        return done(op, out, KR_EINVAL);
    if (op->dst_ == NULL && op->len_ > 0)
        return done(op, out, KR_EINVAL);
    if (op->len_ == 0)
        return done(op, out, 0);
    if (r->pos == r->end) {
        int64_t n;
        if (op->len_ >= r->cap) { /* bypass: nothing to copy twice */
            if (r->s.ops->poll_read(r->s.obj, cx, op->dst_, op->len_, &n) ==
                KR_PENDING)
                return KR_PENDING;
            return done(op, out, n);
        }
        if (read_more(r, cx, r->cap, &n) == KR_PENDING)
            return KR_PENDING;
        if (n <= 0)
            return done(op, out, n);
    }
    size_t have = r->end - r->pos;
    size_t k = have < op->len_ ? have : op->len_;
    memcpy(op->dst_, r->buf + r->pos, k);
    kr_buf_reader_consume(r, k);
    return done(op, out, (int64_t)k);
}

/* done_: bytes after pos already searched (no delimiter in them). */
static kr_poll until_poll(kr_future *f, kr_context *cx, void *out) {
    kr_buf_op *op = (kr_buf_op *)f;
    kr__buf_check_live(op);
    kr_buf_reader *r = op->obj_;
    if (r == NULL)
        return done(op, out, KR_EINVAL);
    const char **line = op->dst_;
    size_t max = op->len_;
    if (line == NULL || max == 0)
        return done(op, out, KR_EINVAL);
    for (;;) {
        size_t have = r->end - r->pos;
        size_t lim = have < max ? have : max;
        if (op->done_ < lim) {
            const char *p = memchr(r->buf + r->pos + op->done_, op->delim_,
                                   lim - op->done_);
            if (p != NULL) {
                size_t n = (size_t)(p - (r->buf + r->pos)) + 1;
                *line = r->buf + r->pos;
                r->pos += n; /* no reset: the line stays where it is */
                return done(op, out, (int64_t)n);
            }
            op->done_ = lim;
        }
        if (have >= max)
            return done(op, out, KR_EMSGSIZE);
        int64_t n;
        if (read_more(r, cx, want_for(r, have + 1, max), &n) == KR_PENDING)
            return KR_PENDING;
        if (n < 0)
            return done(op, out, n);
        if (n == 0) {
            have = r->end - r->pos;
            *line = have > 0 ? r->buf + r->pos : NULL;
            r->pos = r->end; /* kept in place until the next call */
            return done(op, out, (int64_t)have);
        }
    }
}

static kr_poll exact_poll(kr_future *f, kr_context *cx, void *out) {
    kr_buf_op *op = (kr_buf_op *)f;
    kr__buf_check_live(op);
    kr_buf_reader *r = op->obj_;
    if (r == NULL)
        return done(op, out, KR_EINVAL);
    if (op->dst_ == NULL && op->len_ > 0)
        return done(op, out, KR_EINVAL);
    while (op->done_ < op->len_) {
        char *dst = (char *)op->dst_ + op->done_;
        size_t want = op->len_ - op->done_;
        size_t have = r->end - r->pos;
        int64_t n;
        if (have > 0) {
            size_t k = have < want ? have : want;
            memcpy(dst, r->buf + r->pos, k);
            kr_buf_reader_consume(r, k);
            op->done_ += k;
            continue;
        }
        if (want >= r->cap) {
            if (r->s.ops->poll_read(r->s.obj, cx, dst, want, &n) == KR_PENDING)
                return KR_PENDING;
            if (n > 0)
                op->done_ += (size_t)n;
        } else if (read_more(r, cx, r->cap, &n) == KR_PENDING) {
            return KR_PENDING;
        }
        if (n <= 0)
            return done(op, out, n == 0 ? KR_EOF : n);
    }
    return done(op, out, (int64_t)op->len_);
}

/* aux_: the size_t *len out; dst_: the char ** out; the collected bytes
 * live in a buffer of the future's own (state_ 1 once it exists). */
typedef struct {
    char *p;
    size_t len, cap;
} grow_buf;

static void to_end_free(kr_buf_op *op) {
    grow_buf *g = (grow_buf *)(uintptr_t)op->done_;
    if (g != NULL) {
        kr__free(g->p);
        kr__free(g);
        op->done_ = 0;
    }
}

static kr_poll to_end_fail(kr_buf_op *op, void *out, int64_t err) {
    to_end_free(op);
    if (op->dst_ != NULL)
        *(char **)op->dst_ = NULL;
    return done(op, out, err);
}

static int grow(grow_buf *g, size_t need) {
    if (need <= g->cap)
        return 0;
    size_t cap = g->cap < 4096 ? 4096 : g->cap * 2;
    while (cap < need)
        cap *= 2;
    char *np = kr__malloc(cap);
    if (np == NULL)
        return KR_ENOMEM;
    if (g->len > 0)
        memcpy(np, g->p, g->len);
    kr__free(g->p);
    g->p = np;
    g->cap = cap;
    return 0;
}

static kr_poll to_end_poll(kr_future *f, kr_context *cx, void *out) {
    kr_buf_op *op = (kr_buf_op *)f;
    kr__buf_check_live(op);
    kr_buf_reader *r = op->obj_;
    if (r == NULL)
        return done(op, out, KR_EINVAL);
    if (op->dst_ == NULL)
        return done(op, out, KR_EINVAL);
    grow_buf *g = (grow_buf *)(uintptr_t)op->done_;
    if (g == NULL) {
        g = kr__malloc(sizeof(*g));
        if (g == NULL)
            return to_end_fail(op, out, KR_ENOMEM);
        g->p = NULL;
        g->len = g->cap = 0;
        op->done_ = (size_t)(uintptr_t)g;
    }
    for (;;) {
        size_t have = r->end - r->pos;
        if (have > 0) {
            if (g->len + have > op->len_)
                return to_end_fail(op, out, KR_EMSGSIZE);
            if (grow(g, g->len + have + 1) != 0)
                return to_end_fail(op, out, KR_ENOMEM);
            memcpy(g->p + g->len, r->buf + r->pos, have);
            g->len += have;
            kr_buf_reader_consume(r, have);
        }
        int64_t n;
        if (read_more(r, cx, r->cap, &n) == KR_PENDING)
            return KR_PENDING;
        if (n < 0)
            return to_end_fail(op, out, n);
        if (n == 0)
            break;
    }
    if (grow(g, g->len + 1) != 0)
        return to_end_fail(op, out, KR_ENOMEM);
    g->p[g->len] = '\0';
    *(char **)op->dst_ = g->p;
    if (op->aux_ != NULL)
        *(size_t *)op->aux_ = g->len;
    int64_t len = (int64_t)g->len;
    g->p = NULL;
    to_end_free(op);
    return done(op, out, len);
}

static void to_end_drop(kr_future *f) { to_end_free((kr_buf_op *)f); }

void kr_buf_free(void *data) { kr__free(data); }

static const kr_future_vtable fill_vt = {fill_poll, NULL, sizeof(kr_buf_op),
                                         sizeof(int64_t), "kr_buf_reader_fill"};
static const kr_future_vtable read_vt = {read_poll, NULL, sizeof(kr_buf_op),
                                         sizeof(int64_t), "kr_buf_read"};
static const kr_future_vtable until_vt = {until_poll, NULL, sizeof(kr_buf_op),
                                          sizeof(int64_t), "kr_buf_read_until"};
static const kr_future_vtable exact_vt = {exact_poll, NULL, sizeof(kr_buf_op),
                                          sizeof(int64_t), "kr_buf_read_exact"};
static const kr_future_vtable to_end_vt = {to_end_poll, to_end_drop,
                                           sizeof(kr_buf_op), sizeof(int64_t),
                                           "kr_buf_read_to_end"};

kr_buf_op kr_buf_reader_fill(kr_buf_reader *r, size_t min) {
    return kr__buf_op_make(&fill_vt, r, NULL, min, NULL, 0);
}
kr_buf_op kr_buf_read(kr_buf_reader *r, void *buf, size_t len) {
    return kr__buf_op_make(&read_vt, r, buf, len, NULL, 0);
}
kr_buf_op kr_buf_read_until(kr_buf_reader *r, int delim, size_t max,
                            const char **line) {
    if (line != NULL)
        *line = NULL;
    return kr__buf_op_make(&until_vt, r, (void *)line, max, NULL,
                           (unsigned char)delim);
}
kr_buf_op kr_buf_read_line(kr_buf_reader *r, size_t max, const char **line) {
    return kr_buf_read_until(r, '\n', max, line);
}
kr_buf_op kr_buf_read_exact(kr_buf_reader *r, void *buf, size_t len) {
    return kr__buf_op_make(&exact_vt, r, buf, len, NULL, 0);
}
kr_buf_op kr_buf_read_to_end(kr_buf_reader *r, size_t limit, char **data,
                             size_t *len) {
    if (data != NULL)
        *data = NULL;
    if (len != NULL)
        *len = 0;
    return kr__buf_op_make(&to_end_vt, r, data, limit, len, 0);
}
