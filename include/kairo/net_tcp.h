/*
 * kairo/net_tcp.h: TCP: the socket builder (kr_tcp_socket), listeners,
 * streams, their options, and connecting by host name.
 * The conventions (objects, futures, sharing, cancellation, freeing,
 * errors) are net.h's, which includes this header.
 */
#ifndef KAIRO_NET_TCP_H
#define KAIRO_NET_TCP_H

#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* TCP                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct kr_tcp_listener kr_tcp_listener;
typedef struct kr_tcp_stream kr_tcp_stream;

typedef struct kr_tcp_listen_options {
    /* listen(2)'s backlog; 0 means 1024 (Tokio's default). The kernel
     * caps it at net.core.somaxconn. */
    int backlog;
    /* SO_REUSEPORT: several listeners share the port, the kernel spreads
     * the connections. (SO_REUSEADDR is always set, so a restarted server
     * binds while old connections sit in TIME_WAIT.) */
    bool reuseport;
} kr_tcp_listen_options;

/*
 * Binds a listening socket to `addr` (port 0 picks a free one; read it back
 * with kr_tcp_listener_local_addr). `opts` may be NULL for the defaults.
 * Returns 0, KR_EINVAL (NULL out or addr, not an IP address, a negative
 * backlog, no runtime), KR_EADDRINUSE, KR_EADDRNOTAVAIL (not a local
 * address), KR_EACCES (a privileged port), KR_EAFNOSUPPORT (IPv6 off),
 * KR_EMFILE, KR_ENFILE, KR_ENOBUFS, KR_ENOMEM, KR_ESHUTDOWN.
 */
KR_API int kr_tcp_listener_bind(kr_runtime *rt, const kr_sockaddr *addr,
                                const kr_tcp_listen_options *opts,
                                kr_tcp_listener **out);

/*
 * Adopts a listening socket (made elsewhere, e.g. passed by systemd): sets
 * O_NONBLOCK and registers it; the listener owns `fd` from then on. On
 * failure `fd` stays the caller's. Returns 0, KR_EINVAL (NULL out, fd < 0,
 * no runtime, not a listening TCP socket), KR_ENOTSOCK, KR_EBADF,
 * KR_ENOMEM, KR_ESHUTDOWN.
 */
KR_API int kr_tcp_listener_from_fd(kr_runtime *rt, int fd,
                                   kr_tcp_listener **out);

/* Closes and frees (see "Freeing with futures around"). NULL is ignored. */
KR_API void kr_tcp_listener_free(kr_tcp_listener *l);

/* The bound address. Returns 0 or KR_EINVAL (NULL), or getsockname's
 * error. */
KR_API int kr_tcp_listener_local_addr(const kr_tcp_listener *l,
                                      kr_sockaddr *out);

/* The descriptor (for socket options), or -1 for NULL. Still the
 * listener's: do not close it. */
KR_API int kr_tcp_listener_fd(const kr_tcp_listener *l);

/*
 * Accepts a connection. Output: an int, 0 with *stream set to the new
 * stream (registered with the listener's runtime) and *peer (may be NULL)
 * to its address, or a negative code: KR_EINVAL, KR_EBADF, KR_ESHUTDOWN,
 * KR_ENOMEM (registering the stream). Cancel-safe: a connection is taken
 * from the queue only by the poll that outputs it (on io_uring the queue
 * is the listener's own, filled by the kernel: net.h).
 *
 * Faults. ECONNABORTED (the client gave up while queued), EINTR and the
 * per-connection network errors accept(2) passes on (EPROTO, ENETDOWN,
 * EHOSTUNREACH, ...) are retried at once: each is one dead connection gone
 * from the queue. Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) the future backs off: it sleeps 10 ms (a kr_sleep: no spinning,
 * no wake-ups meanwhile beyond new connections) and tries again, so the
 * connections wait in the kernel's queue and the server resumes by itself
 * once descriptors are freed. (Tokio leaves this to the application and
 * its docs suggest sleeping; libuv's alternative, closing a reserve fd to
 * accept and drop the connection, loses the connection.)
 */
KR_API kr_tcp_accept kr_tcp_listener_accept(kr_tcp_listener *l,
                                            kr_tcp_stream **stream,
                                            kr_sockaddr *peer);

/*
 * Connects to `addr` (copied when made). The socket is made and registered
 * on the first poll, with the polling runtime. Output: an int, 0 with *out
 * set, or a negative code: KR_EINVAL (NULL, not an IP address, polled
 * outside a runtime), KR_ECONNREFUSED, KR_ETIMEDOUT (the kernel gave up),
 * KR_ENETUNREACH, KR_EHOSTUNREACH, KR_EADDRNOTAVAIL (no local port left),
 * KR_EAFNOSUPPORT, KR_EMFILE, KR_ENFILE, KR_ENOMEM, KR_ESHUTDOWN, or
 * another errno the connection attempt failed with. For a deadline of your
 * own, wrap it in kr_timeout: the dropped connect closes its socket.
 */
KR_API kr_tcp_connect kr_tcp_stream_connect(const kr_sockaddr *addr,
                                            kr_tcp_stream **out);

/* Adopts a connected TCP socket, as kr_tcp_listener_from_fd. Returns 0,
 * KR_EINVAL (NULL out, fd < 0, no runtime, not a stream socket),
 * KR_ENOTSOCK, KR_EBADF, KR_ENOMEM, KR_ESHUTDOWN. */
KR_API int kr_tcp_stream_from_fd(kr_runtime *rt, int fd, kr_tcp_stream **out);

/* Closes and frees (see "Freeing with futures around"). NULL is ignored. */
KR_API void kr_tcp_stream_free(kr_tcp_stream *s);

/*
 * Reads at most len bytes. Output: an int64_t, the bytes read (> 0), 0 at
 * end of stream (the peer shut down its write side), 0 at once for len 0,
 * or a negative code: KR_ECONNRESET, KR_ETIMEDOUT (keep-alive gave up),
 * and the common ones. Cancel-safe.
 */
KR_API kr_tcp_read kr_tcp_stream_read(kr_tcp_stream *s, void *buf, size_t len);

/*
 * Writes at most len bytes. Output: an int64_t, the bytes written (> 0;
 * possibly fewer than len), 0 at once for len 0, or KR_EPIPE (this side
 * shut down, or the connection is closed), KR_ECONNRESET (the peer reset
 * it), and the common ones. Cancel-safe.
 */
KR_API kr_tcp_write kr_tcp_stream_write(kr_tcp_stream *s, const void *buf,
                                        size_t len);

/*
 * Writes from iovcnt buffers in order (sendmsg(2): one system call). The
 * iovec array must stay valid while the future lives. Output as for write;
 * KR_EINVAL for iovcnt outside 0..1024 (IOV_MAX). Cancel-safe.
 */
KR_API kr_tcp_writev kr_tcp_stream_writev(kr_tcp_stream *s,
                                          const struct iovec *iov, int iovcnt);

/*
 * Reads exactly len bytes. Output: an int64_t, len, or KR_EOF (the stream
 * ended first; what was read is in buf) or a read's error. Not cancel-safe.
 */
KR_API kr_tcp_read_exact kr_tcp_stream_read_exact(kr_tcp_stream *s, void *buf,
                                                  size_t len);

/* Writes all len bytes, however many writes it takes. Output: an int64_t,
 * len, or a write's error. Not cancel-safe. */
KR_API kr_tcp_write_all kr_tcp_stream_write_all(kr_tcp_stream *s,
                                                const void *buf, size_t len);

/*
 * Shuts down one or both directions (KR_SHUT_WRITE is the half-close: the
 * peer reads end of stream, and this side can still read). Immediate.
 * A connection already gone (the peer reset it) counts as shut down: 0,
 * not ENOTCONN, as in Tokio. Returns 0 or KR_EINVAL (NULL, bad how).
 */
KR_API int kr_tcp_stream_shutdown(kr_tcp_stream *s, int how);

/* TCP_NODELAY on or off. Returns 0, KR_EINVAL, or setsockopt's error. */
KR_API int kr_tcp_stream_set_nodelay(kr_tcp_stream *s, bool on);

/* SO_LINGER: seconds >= 0 turns it on (0: the close resets the connection
 * instead of a graceful FIN), -1 off. Returns 0, KR_EINVAL, or
 * setsockopt's error. */
KR_API int kr_tcp_stream_set_linger(kr_tcp_stream *s, int seconds);

/*
 * Option getters and setters (Tokio's TcpStream::nodelay, linger, ttl;
 * keepalive as socket2's). Getters return the value (bools 0 or 1; the
 * TTL 1..255) or a negative code; setters 0 or a negative code. linger
 * stores -1 (off) or the seconds in *seconds. set_ttl: 1..255, else
 * KR_EINVAL; IPv6 streams use the unicast hop limit. take_error reads and
 * clears the pending socket error (SO_ERROR): 0 or its negated errno.
 * All: KR_EINVAL for NULL, or the system call's error.
 */
KR_API int kr_tcp_stream_nodelay(const kr_tcp_stream *s);
KR_API int kr_tcp_stream_linger(const kr_tcp_stream *s, int *seconds);
KR_API int kr_tcp_stream_set_ttl(kr_tcp_stream *s, uint32_t ttl);
KR_API int kr_tcp_stream_ttl(const kr_tcp_stream *s);
KR_API int kr_tcp_stream_set_keepalive(kr_tcp_stream *s, bool on);
KR_API int kr_tcp_stream_keepalive(const kr_tcp_stream *s);
KR_API int kr_tcp_stream_take_error(kr_tcp_stream *s);
KR_API int kr_tcp_listener_set_ttl(kr_tcp_listener *l, uint32_t ttl);
KR_API int kr_tcp_listener_ttl(const kr_tcp_listener *l);

/* The peer's / the local address. Return 0, KR_EINVAL (NULL), KR_ENOTCONN
 * (peer: the connection is gone). */
KR_API int kr_tcp_stream_peer_addr(const kr_tcp_stream *s, kr_sockaddr *out);
KR_API int kr_tcp_stream_local_addr(const kr_tcp_stream *s, kr_sockaddr *out);

/* The descriptor, or -1 for NULL. Still the stream's: do not close it. */
KR_API int kr_tcp_stream_fd(const kr_tcp_stream *s);

/*
 * Waits until the stream is ready for `interest` (KR_READABLE,
 * KR_WRITABLE, KR_PRIORITY, KR_IO_ERROR, or'ed: Tokio's
 * TcpStream::ready). Output: an int, the ready bits (> 0), or KR_EINVAL
 * (NULL, no interest, bits outside KR_INTEREST_MASK), KR_EBADF,
 * KR_ESHUTDOWN. readable / writable are ready(KR_READABLE) /
 * ready(KR_WRITABLE). Cancel-safe; any number may wait at once.
 */
KR_API kr_tcp_ready kr_tcp_stream_ready(kr_tcp_stream *s, int interest);
KR_API kr_tcp_ready kr_tcp_stream_readable(kr_tcp_stream *s);
KR_API kr_tcp_ready kr_tcp_stream_writable(kr_tcp_stream *s);

/*
 * One recv / send (recvmsg / sendmsg for the vectored ones, iovcnt
 * 0..1024) without waiting (see "Readiness and try_*"). Returns the bytes
 * (0 for read: end of stream, or len 0), KR_EAGAIN, KR_EINVAL (NULL, NULL
 * buffer with a length, bad iovcnt), KR_EBADF (freed), KR_ESHUTDOWN, or
 * the call's error (KR_EPIPE, KR_ECONNRESET...).
 */
KR_API int64_t kr_tcp_stream_try_read(kr_tcp_stream *s, void *buf, size_t len);
KR_API int64_t kr_tcp_stream_try_write(kr_tcp_stream *s, const void *buf,
                                       size_t len);
KR_API int64_t kr_tcp_stream_try_read_vectored(kr_tcp_stream *s,
                                               const struct iovec *iov,
                                               int iovcnt);
KR_API int64_t kr_tcp_stream_try_write_vectored(kr_tcp_stream *s,
                                                const struct iovec *iov,
                                                int iovcnt);

/*
 * Reads at most len bytes without taking them (MSG_PEEK): the next read
 * sees them again. Output as for read (0 at end of stream; a peek of len 0
 * waits for data and outputs 0). Cancel-safe.
 */
KR_API kr_tcp_peek kr_tcp_stream_peek(kr_tcp_stream *s, void *buf, size_t len);

/*
 * Poll-style read / write / writev for futures of your own (Tokio's
 * AsyncRead::poll_read, AsyncWrite::poll_write): one step of the read /
 * write future's loop. KR_READY with *res set as the future's output, or
 * KR_PENDING with the context's waker stored in the direction's single
 * slot (one task per direction: see "Sharing"). Nothing is held while
 * pending: do not free the stream while a task may still call these.
 * NULL cx or res: KR_READY with KR_EINVAL (where res can hold it).
 */
KR_API kr_poll kr_tcp_stream_poll_read(kr_tcp_stream *s, kr_context *cx,
                                       void *buf, size_t len, int64_t *res);
KR_API kr_poll kr_tcp_stream_poll_write(kr_tcp_stream *s, kr_context *cx,
                                        const void *buf, size_t len,
                                        int64_t *res);
KR_API kr_poll kr_tcp_stream_poll_writev(kr_tcp_stream *s, kr_context *cx,
                                         const struct iovec *iov, int iovcnt,
                                         int64_t *res);

/* ------------------------------------------------------------------------ */
/* The TCP socket builder (Tokio's TcpSocket)                               */
/* ------------------------------------------------------------------------ */

/*
 * A TCP socket before it is a listener or a stream: make it (v4 or v6, or
 * the family of an address), set its options, bind it if you want a
 * given local address, then listen or connect. Not registered with any
 * runtime until then, so it may be made outside one. listen and connect
 * consume it (whatever the result: do not free it after them); free it
 * only if you use neither.
 */
typedef struct kr_tcp_socket kr_tcp_socket;

/* Returns 0, KR_EINVAL (NULL out; new_for: not an IP address),
 * KR_EAFNOSUPPORT (v6 off), KR_EMFILE, KR_ENFILE, KR_ENOBUFS, KR_ENOMEM. */
KR_API int kr_tcp_socket_new_v4(kr_tcp_socket **out);
KR_API int kr_tcp_socket_new_v6(kr_tcp_socket **out);
KR_API int kr_tcp_socket_new_for(const kr_sockaddr *addr, kr_tcp_socket **out);

/* Closes and frees an unused builder. NULL is ignored. */
KR_API void kr_tcp_socket_free(kr_tcp_socket *s);

/* The descriptor (for other options), or -1 for NULL. Still the
 * builder's: do not close it. */
KR_API int kr_tcp_socket_fd(const kr_tcp_socket *s);

/*
 * Options, as the stream's: setters return 0 or a negative code (KR_EINVAL
 * for NULL, a linger below -1, a size above INT_MAX), getters the value
 * (bools 0 or 1) or a negative code. reuseaddr: SO_REUSEADDR (off by
 * default here, unlike kr_tcp_listener_bind, which sets it); reuseport:
 * SO_REUSEPORT. Buffer sizes: SO_SNDBUF / SO_RCVBUF; Linux doubles the
 * value set (for its bookkeeping) and the getter reports the doubled one.
 * linger: -1 off, else seconds (the getter stores it in *seconds).
 */
KR_API int kr_tcp_socket_set_reuseaddr(kr_tcp_socket *s, bool on);
KR_API int kr_tcp_socket_reuseaddr(const kr_tcp_socket *s);
KR_API int kr_tcp_socket_set_reuseport(kr_tcp_socket *s, bool on);
KR_API int kr_tcp_socket_reuseport(const kr_tcp_socket *s);
KR_API int kr_tcp_socket_set_keepalive(kr_tcp_socket *s, bool on);
KR_API int kr_tcp_socket_keepalive(const kr_tcp_socket *s);
KR_API int kr_tcp_socket_set_nodelay(kr_tcp_socket *s, bool on);
KR_API int kr_tcp_socket_nodelay(const kr_tcp_socket *s);
KR_API int kr_tcp_socket_set_linger(kr_tcp_socket *s, int seconds);
KR_API int kr_tcp_socket_linger(const kr_tcp_socket *s, int *seconds);
KR_API int kr_tcp_socket_set_send_buffer_size(kr_tcp_socket *s, uint32_t size);
KR_API int kr_tcp_socket_send_buffer_size(const kr_tcp_socket *s);
KR_API int kr_tcp_socket_set_recv_buffer_size(kr_tcp_socket *s, uint32_t size);
KR_API int kr_tcp_socket_recv_buffer_size(const kr_tcp_socket *s);
/* SO_ERROR, read and cleared: 0 or the pending error's negated errno. */
KR_API int kr_tcp_socket_take_error(kr_tcp_socket *s);

/* Binds to `addr` (port 0: any free one). Returns 0, KR_EINVAL (NULL, not
 * IP, already bound, family mismatch), KR_EADDRINUSE, KR_EADDRNOTAVAIL,
 * KR_EACCES. */
KR_API int kr_tcp_socket_bind(kr_tcp_socket *s, const kr_sockaddr *addr);
/* The bound address (port 0 and the any address if not bound). */
KR_API int kr_tcp_socket_local_addr(const kr_tcp_socket *s, kr_sockaddr *out);

/*
 * Listens (backlog 0: 1024) and registers the listener with `rt` (NULL:
 * the current runtime). Consumes `s`. Returns 0, KR_EINVAL (NULL s or out,
 * negative backlog, no runtime), KR_EADDRINUSE (not bound and no port
 * left, or a port shared without reuseport), KR_ENOMEM, KR_ESHUTDOWN.
 */
KR_API int kr_tcp_socket_listen(kr_tcp_socket *s, kr_runtime *rt, int backlog,
                                kr_tcp_listener **out);

/*
 * Connects to `addr` as kr_tcp_stream_connect does, with this socket and
 * its options (bound first, if it was). Consumes `s`: the future owns it
 * and closes it if dropped or failed. Output and errors as
 * kr_tcp_stream_connect's; KR_EINVAL for a NULL s.
 */
KR_API kr_tcp_connect kr_tcp_socket_connect(kr_tcp_socket *s,
                                            const kr_sockaddr *addr,
                                            kr_tcp_stream **out);

/* ------------------------------------------------------------------------ */
/* Connecting by host name                                                  */
/* ------------------------------------------------------------------------ */

/* Addresses tried at most (the resolution keeps this many). */
#define KR_CONNECT_HOST_MAX 16

typedef struct kr_tcp_connect_host {
    kr_future base;
    const char *host_;
    int port_;
    kr_tcp_stream **out_;
    int state_, n_, i_, last_;
    kr_resolution res_;
    kr_tcp_connect conn_;
    kr_sockaddr addrs_[KR_CONNECT_HOST_MAX];
} kr_tcp_connect_host;

/*
 * Resolves `host` (a name or an IP literal: kr_resolve, on the blocking
 * pool; `host` must stay valid until the first poll, which copies it),
 * then connects to each address in turn, in getaddrinfo's order (at most
 * KR_CONNECT_HOST_MAX), as Tokio's TcpStream::connect((host, port)).
 * Output: an int, 0 with *out set to the first connection made, or
 * kr_resolve's error (KR_ENOENT: no such host, KR_EINVAL: NULL, port
 * outside 0..65535, polled outside a runtime), or the error of the LAST
 * address tried (Tokio's rule). Attempts are sequential, not raced (no
 * Happy Eyeballs, as Tokio). Dropping it drops the lookup (detached) or
 * the attempt in progress (its socket closed). Wrap it in kr_timeout for a
 * deadline.
 */
KR_API kr_tcp_connect_host kr_tcp_stream_connect_host(const char *host,
                                                      int port,
                                                      kr_tcp_stream **out);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_NET_TCP_H */
