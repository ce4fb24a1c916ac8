/*
 * kairo/bufio.h: a buffered reader and a buffered writer (an owned write
 * queue) over any kr_io_stream (kairo/stream.h): Tokio's BufReader,
 * BufWriter and the AsyncBufReadExt / AsyncReadExt helpers.
 *
 * Reading lines:
 *
 *     kr_buf_reader *r;
 *     kr_buf_reader_new(kr_io_tcp(conn), 0, &r);      // 8 KiB to start
 *     ...
 *     self->op = kr_buf_read_line(r, 1024, &self->line);
 *     KR_AWAIT_INTO(&self->co, &self->op, cx, self->n);
 *     // n > 0: self->line[0..n) is the line, '\n' included (none at the
 *     // end of a stream that ends without one); 0: end of stream;
 *     // KR_EMSGSIZE: no '\n' within 1024 bytes.
 *
 * Lines are not copied: the pointer is into the reader's buffer, valid
 * until the next operation on the reader. The buffer grows for a long
 * line up to the operation's maximum and no further, so a peer sending
 * an endless line costs at most `max` bytes.
 *
 * Parsing frames in place (RESP, HTTP): kr_buf_reader_data shows what is
 * buffered; consume what was parsed; when a frame is incomplete, fill for
 * more:
 *
 *     for (;;) {
 *         size_t n;
 *         const char *p = kr_buf_reader_data(r, &n);
 *         ssize_t used = parse(p, n);              // 0: need more
 *         if (used > 0) { kr_buf_reader_consume(r, used); continue; }
 *         self->op = kr_buf_reader_fill(r, n + 1);  // at least one more
 *         KR_AWAIT_INTO(&self->co, &self->op, cx, self->got);
 *         if (self->got <= (int64_t)n) break;       // end of stream, error
 *     }
 *
 * Writing replies: append with kr_buf_writer_write (or printf, or
 * reserve + commit) without waiting, then await kr_buf_writer_flush: all
 * the replies go out in as few system calls as the socket allows, one for
 * what fits. Appending is allowed while a flush is pending (e.g. the flush
 * is one branch of a select and the other branch reads and appends): the
 * flush writes until the buffer is empty, new bytes included.
 *
 * Memory. A writer never buffers more than its limit (64 KiB unless
 * given): kr_buf_writer_write past it is KR_ENOBUFS and appends nothing;
 * kr_buf_write_all waits instead, flushing until the bytes fit, so a peer
 * that never reads holds the writer at `limit` bytes. A reader's buffer is
 * its capacity, grown for one operation up to that operation's maximum.
 *
 * Threads: a reader or writer is used by one task at a time (it may move
 * between threads with its task). For a write queue shared by several
 * producers, give the writer to one task and send it work by a channel.
 *
 * Cancellation. fill, read, read_line and read_until are cancel-safe
 * (dropped before READY, nothing is consumed: the bytes read so far stay
 * buffered for the next call), as Tokio documents for its fill_buf and
 * read_until. read_exact and read_to_end are not (bytes copied out before
 * the drop are gone). Dropping a flush or write_all leaves what was not
 * written in the buffer (write_all: appended or not, never half).
 *
 * Every future below outputs an int64_t.
 */
#ifndef KAIRO_BUFIO_H
#define KAIRO_BUFIO_H

#include <stdarg.h>

#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_buf_reader kr_buf_reader;
typedef struct kr_buf_writer kr_buf_writer;

/* The default reader capacity and writer limit. */
#define KR_BUF_READER_CAPACITY 8192
#define KR_BUF_WRITER_LIMIT    65536

/* The future of every reader and writer operation (fields private). */
typedef struct kr_buf_op {
    kr_future base;
    void *obj_; /* the reader or writer */
    void *dst_;
    size_t len_;
    size_t done_;
    void *aux_;
    int delim_;
    int state_;
} kr_buf_op;

/* ---- reader ------------------------------------------------------------ */

/*
 * A buffered reader over `s` with a buffer of `capacity` bytes (0: 8 KiB),
 * allocated now. The stream stays the caller's. Returns 0, KR_EINVAL
 * (NULL out or stream ops) or KR_ENOMEM.
 */
KR_API int kr_buf_reader_new(kr_io_stream s, size_t capacity,
                             kr_buf_reader **out);
/* Frees the reader and what it buffered (the stream stays open). Drop its
 * futures first. NULL is ignored. */
KR_API void kr_buf_reader_free(kr_buf_reader *r);
KR_API kr_io_stream kr_buf_reader_stream(const kr_buf_reader *r);

/* The bytes buffered and not consumed (*len of them; may be 0). Valid
 * until the next operation on the reader. */
KR_API const char *kr_buf_reader_data(const kr_buf_reader *r, size_t *len);
/* Marks `n` buffered bytes consumed (at most what is buffered). */
KR_API void kr_buf_reader_consume(kr_buf_reader *r, size_t n);
/* The buffer's current size in bytes (its memory). */
KR_API size_t kr_buf_reader_capacity(const kr_buf_reader *r);

/*
 * Reads until at least `min` bytes are buffered (min 0 or 1: until any
 * are, reading only if none are: Tokio's fill_buf), growing the buffer to
 * `min` if needed. Output: the bytes buffered (>= min), fewer at end of
 * stream (possibly 0), or a read's error (KR_ENOMEM growing). The data:
 * kr_buf_reader_data. Cancel-safe.
 */
KR_API kr_buf_op kr_buf_reader_fill(kr_buf_reader *r, size_t min);

/*
 * Reads into buf (at most len bytes) from the buffer, or straight from
 * the stream when the buffer is empty and len is at least its capacity
 * (Tokio's bypass). Output: bytes read, 0 at end of stream or for len 0,
 * or an error. Cancel-safe.
 */
KR_API kr_buf_op kr_buf_read(kr_buf_reader *r, void *buf, size_t len);

/*
 * Reads up to and including the first `delim` byte, at most `max` bytes
 * (the delimiter counted). Output: the line's length n > 0 with *line
 * pointing at it in the reader's buffer (valid until the next operation
 * on the reader); at end of stream, the bytes left without a delimiter
 * (n > 0), then 0 (*line NULL); KR_EMSGSIZE if no delimiter is within max
 * bytes (nothing is consumed: discard with kr_buf_reader_consume, or give
 * up on the stream); KR_EINVAL (NULL reader or line, max 0); a read's
 * error; KR_ENOMEM. Cancel-safe.
 */
KR_API kr_buf_op kr_buf_read_until(kr_buf_reader *r, int delim, size_t max,
                                   const char **line);
/* read_until with '\n' (the line keeps its "\n" or "\r\n"). */
KR_API kr_buf_op kr_buf_read_line(kr_buf_reader *r, size_t max,
                                  const char **line);

/* Reads exactly len bytes into buf. Output: len, or KR_EOF (the stream
 * ended first; what came is in buf) or a read's error. Not cancel-safe. */
KR_API kr_buf_op kr_buf_read_exact(kr_buf_reader *r, void *buf, size_t len);

/*
 * Reads to end of stream into a new buffer: *data (NUL-terminated, not
 * counted; free with kr_buf_free) and *len. Output: the length, or
 * KR_EMSGSIZE (more than `limit` bytes: *data NULL, what was read is
 * discarded), KR_ENOMEM or a read's error (*data NULL). Not cancel-safe.
 */
KR_API kr_buf_op kr_buf_read_to_end(kr_buf_reader *r, size_t limit, char **data,
                                    size_t *len);
KR_API void kr_buf_free(void *data);

/* ---- writer ------------------------------------------------------------ */

/*
 * A buffered writer over `s` buffering at most `limit` bytes (0: 64 KiB).
 * The buffer grows as bytes are appended, to `limit` at most. Returns 0,
 * KR_EINVAL or KR_ENOMEM.
 */
KR_API int kr_buf_writer_new(kr_io_stream s, size_t limit, kr_buf_writer **out);
/* Frees the writer; bytes not flushed are lost. NULL is ignored. */
KR_API void kr_buf_writer_free(kr_buf_writer *w);
KR_API kr_io_stream kr_buf_writer_stream(const kr_buf_writer *w);
/* Bytes buffered and not yet written. */
KR_API size_t kr_buf_writer_buffered(const kr_buf_writer *w);
/* The buffer's size in bytes (its memory: never above the limit). */
KR_API size_t kr_buf_writer_capacity(const kr_buf_writer *w);
KR_API size_t kr_buf_writer_limit(const kr_buf_writer *w);

/*
 * Appends len bytes now, without waiting. Returns 0, KR_ENOBUFS (they do
 * not fit under the limit: nothing appended; flush, or use write_all),
 * KR_ENOMEM, or the error a write failed with earlier (sticky: after a
 * failed write the stream is broken).
 */
KR_API int kr_buf_writer_write(kr_buf_writer *w, const void *data, size_t len);
/* Appends formatted text (vsnprintf). Returns the length appended, or as
 * kr_buf_writer_write. */
KR_API int kr_buf_writer_printf(kr_buf_writer *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
KR_API int kr_buf_writer_vprintf(kr_buf_writer *w, const char *fmt, va_list ap);
/* Room for `len` bytes at the end, to fill in place and commit: NULL if
 * they do not fit under the limit (or memory is short). */
KR_API char *kr_buf_writer_reserve(kr_buf_writer *w, size_t len);
/* Appends `len` (at most what was reserved) of the reserved bytes. */
KR_API void kr_buf_writer_commit(kr_buf_writer *w, size_t len);

/*
 * Appends len bytes, waiting for room: while they do not fit, writes the
 * buffer out. Bytes as many as the limit or more are written from `data`
 * directly once the buffer is empty, as Tokio's BufWriter does.
 * `data` must stay valid until the future completes. Output: len, or a
 * write's error (sticky).
 */
KR_API kr_buf_op kr_buf_write_all(kr_buf_writer *w, const void *data,
                                  size_t len);
/* Writes everything buffered (appended meanwhile included). Output: 0, or
 * a write's error (sticky). */
KR_API kr_buf_op kr_buf_writer_flush(kr_buf_writer *w);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_BUFIO_H */
