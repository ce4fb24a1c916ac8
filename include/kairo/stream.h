/*
 * kairo/stream.h: one byte-stream interface over every kind of stream
 * (Tokio's AsyncRead + AsyncWrite), the futures made on it, copying
 * between streams, and owned read and write halves of a TCP stream.
 *
 * A kr_io_stream is two words, an object and its operations, copied by
 * value; it owns nothing (the socket, pipe or file stays its owner's):
 *
 *     kr_io_stream s = kr_io_tcp(conn);           // or kr_io_unix, kr_io_pipe,
 *     self->rd = kr_io_read(s, self->buf, 4096);  // kr_io_fd, kr_io_file
 *     KR_AWAIT_INTO(&self->co, &self->rd, cx, self->n);
 *
 * The operations are poll functions, so a buffered reader, a writer or a
 * copy drives any stream without making a future per step. Their
 * contract, which every adapter below keeps and a stream of your own must
 * keep too:
 *
 *   poll_read    reads at most `len` (> 0) bytes into `buf`: KR_READY with
 *                *res = bytes read (> 0), 0 at end of stream, or a negative
 *                code; KR_PENDING after arranging for the context's waker
 *                to be woken. A PENDING poll took nothing: dropping the
 *                operation then loses no byte (docs/net.md's "dropping a
 *                read loses nothing").
 *   poll_write   writes at most `len` (> 0) bytes: *res = bytes written
 *                (> 0) or a negative code; PENDING sent nothing.
 *   poll_writev  as poll_write from `iovcnt` (1..64) buffers in one system
 *                call; NULL if the stream has none (callers then write the
 *                first non-empty buffer).
 *   shutdown     closes the write direction (the peer reads end of
 *                stream); NULL if the stream has none. Returns 0 or a
 *                negative code.
 *
 * Each direction serves one task at a time (the sockets' adapters use the
 * poll-style calls: net.h's "Sharing", one waker per direction), so one
 * task may read a stream while another writes it.
 *
 * Files (kr_io_file) run each read and write on the blocking pool (fs.h).
 * An operation started there runs to its end even if its poller goes away,
 * so a file stream keeps it in its kr_io_file record: the next poll of the
 * same direction picks up its result, and nothing is lost as long as that
 * poll comes with the same buffer (kairo's readers and writers do). Drop
 * the record with kr_io_file_drop before closing the file.
 */
#ifndef KAIRO_STREAM_H
#define KAIRO_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "fs.h"
#include "io.h"
#include "net.h"
#include "process.h"

#ifdef __cplusplus
extern "C" {
#endif

struct iovec;

/* The most buffers one poll_writev takes. */
#define KR_IO_MAX_IOV 64

typedef struct kr_io_stream_ops {
    kr_poll (*poll_read)(void *obj, kr_context *cx, void *buf, size_t len,
                         int64_t *res);
    kr_poll (*poll_write)(void *obj, kr_context *cx, const void *buf,
                          size_t len, int64_t *res);
    kr_poll (*poll_writev)(void *obj, kr_context *cx, const struct iovec *iov,
                           int iovcnt, int64_t *res);
    int (*shutdown)(void *obj);
    const char *name;
} kr_io_stream_ops;

typedef struct kr_io_stream {
    void *obj;
    const kr_io_stream_ops *ops;
} kr_io_stream;

/* ---- adapters ---------------------------------------------------------- */

/* Streams over kairo's objects (NULL gives a stream whose operations
 * output KR_EINVAL). */
KR_API kr_io_stream kr_io_tcp(kr_tcp_stream *s);
KR_API kr_io_stream kr_io_unix(kr_unix_stream *s);
KR_API kr_io_stream kr_io_pipe(kr_pipe *p);
/* Any non-blocking fd registered with kr_async_fd_new (a tty, an eventfd,
 * a pipe of your own): read(2) and write(2) on it. */
KR_API kr_io_stream kr_io_fd(kr_async_fd *afd);

/* The record of a file stream: its in-flight pool operations (fields
 * private). */
typedef struct kr_io_file {
    kr_file *file_;
    kr_fs_op rd_, wr_;
    int rd_state_, wr_state_; /* 0 idle, 1 in flight */
    void *rd_buf_;
    size_t rd_len_;
} kr_io_file;

/* A stream over `file` at its position, keeping its state in `rec`
 * (which must outlive every use of the stream). */
KR_API kr_io_stream kr_io_file_stream(kr_io_file *rec, kr_file *file);
/* Drops the operations still in flight (they finish on the pool; their
 * results are lost). The file stays open. */
KR_API void kr_io_file_drop(kr_io_file *rec);

/* Shuts the write direction down (the stream's shutdown; KR_EOPNOTSUPP if
 * it has none). */
KR_API int kr_io_shutdown(kr_io_stream s);

/* ---- futures on any stream ------------------------------------------- */

/* read, write, write_all (fields private). Output: an int64_t. */
typedef struct kr_io_op {
    kr_future base;
    kr_io_stream s_;
    void *buf_;
    size_t len_;
    size_t done_;
} kr_io_op;

/* Reads at most len bytes: the bytes read, 0 at end of stream (or for
 * len 0), or a negative code. Cancel-safe. */
KR_API kr_io_op kr_io_read(kr_io_stream s, void *buf, size_t len);
/* Writes at most len bytes: the bytes written (> 0), 0 for len 0, or a
 * negative code. Cancel-safe. */
KR_API kr_io_op kr_io_write(kr_io_stream s, const void *buf, size_t len);
/* Writes all len bytes: len, or a write's error. Not cancel-safe. */
KR_API kr_io_op kr_io_write_all(kr_io_stream s, const void *buf, size_t len);

/* ---- copy ------------------------------------------------------------- */

/* Tokio's copy buffer size. */
#define KR_IO_COPY_BUF 8192

typedef struct kr_io_copy_future {
    kr_future base;
    kr_io_stream from_, to_;
    char *buf_;
    size_t pos_, end_;
    int64_t total_;
    int eof_;
} kr_io_copy_future;

/*
 * Copies everything `from` yields to `to` until end of stream, through
 * an 8 KiB buffer allocated on the first poll (kr_io_copy_future is small:
 * spawn it or embed it freely). Output: an int64_t, the bytes copied, or
 * the first read or write error (KR_ENOMEM for the buffer). Does not shut
 * `to` down. Dropped early: the bytes read and not yet written are lost.
 */
KR_API kr_io_copy_future kr_io_copy(kr_io_stream from, kr_io_stream to);

typedef struct kr_io_copy_bidi {
    kr_future base;
    kr_io_copy_future ab_, ba_;
    int64_t *a_to_b_, *b_to_a_;
    int done_[2];
    int err_;
} kr_io_copy_bidi;

/*
 * Copies a to b and b to a at once (Tokio's copy_bidirectional): when one
 * direction reaches end of stream its destination is shut down (write
 * side), and the future completes when both are done. Output: an int, 0
 * with the counts in *a_to_b / *b_to_a (either may be NULL), or the first
 * error (the other direction is dropped).
 */
KR_API kr_io_copy_bidi kr_io_copy_bidirectional(kr_io_stream a, kr_io_stream b,
                                                int64_t *a_to_b,
                                                int64_t *b_to_a);

/* ---- owned halves of a TCP stream ------------------------------------- */

typedef struct kr_tcp_read_half kr_tcp_read_half;
typedef struct kr_tcp_write_half kr_tcp_write_half;

/*
 * Splits `s` into a read half and a write half that two tasks may own and
 * use at the same time (Tokio's into_split). The halves own the stream:
 * it is freed when both are. Freeing the write half shuts down the write
 * direction (the peer reads end of stream), as Tokio's OwnedWriteHalf
 * does on drop. Returns 0, KR_EINVAL (NULL) or KR_ENOMEM (then `s` is
 * still the caller's).
 */
KR_API int kr_tcp_stream_into_split(kr_tcp_stream *s, kr_tcp_read_half **rd,
                                    kr_tcp_write_half **wr);
/* The halves as streams (the write half's stream has no read, the read
 * half's no write: those output KR_EBADF). */
KR_API kr_io_stream kr_io_tcp_read_half(kr_tcp_read_half *h);
KR_API kr_io_stream kr_io_tcp_write_half(kr_tcp_write_half *h);
/* Frees one half (see above). NULL is ignored. */
KR_API void kr_tcp_read_half_free(kr_tcp_read_half *h);
KR_API void kr_tcp_write_half_free(kr_tcp_write_half *h);
/*
 * Puts two halves of the same stream back together (Tokio's reunite):
 * frees both and returns the stream in *out (not shut down). Returns 0,
 * or KR_EINVAL (NULL, or halves of different streams: both stay the
 * caller's).
 */
KR_API int kr_tcp_stream_reunite(kr_tcp_read_half *rd, kr_tcp_write_half *wr,
                                 kr_tcp_stream **out);
/* The stream under a half (for addresses and options). */
KR_API kr_tcp_stream *kr_tcp_read_half_stream(kr_tcp_read_half *h);
KR_API kr_tcp_stream *kr_tcp_write_half_stream(kr_tcp_write_half *h);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_STREAM_H */
