/*
 * kairo/net.h: networking. Socket addresses, TCP listeners and streams,
 * UDP sockets, Unix-domain listeners and streams, and name resolution.
 *
 * Objects. Every socket is an opaque heap object made by a function that
 * returns an int (0 or a negative code) and fills an out-pointer, and
 * freed by its *_free function, which closes the descriptor. The object is
 * registered with a runtime's reactor: the `rt` argument of the functions
 * that make one, or, when `rt` is NULL, the runtime the calling thread
 * runs (inside a task or a block_on future); sockets made by futures
 * (connect, accept) join the runtime of the poller or of the listener.
 *
 * Futures. Everything that waits is a future, made by a function that
 * returns it by value and taking its buffers and destinations when made,
 * like read(2): they must stay valid until the future completes or is
 * dropped. A future's output is an int64_t (bytes) or an int (0), or a
 * negative code. Bad arguments (NULL object, NULL buffer with a length)
 * make a future that outputs KR_EINVAL on its first poll. A future that
 * has completed (returned KR_READY, whatever its output) must not be
 * polled again: doing so aborts with a message naming the future, as
 * core.h says, rather than sending the data again or taking a second
 * connection; dropping it is fine. Each poll
 * follows io.h's readiness loop: EAGAIN clears the readiness and waits for
 * the next edge, EINTR is retried, and a stream read that returns less
 * than asked clears it too (the socket is drained, as Tokio does).
 *
 * Sharing. Any number of futures may wait on one socket in the same
 * direction (each carries its own waiter node, io.h): several tasks may
 * read, write, accept or wait for readiness on one socket at once, and
 * each readiness event wakes all of them (as Tokio's). The poll-style
 * calls (kr_tcp_stream_poll_read, ...: Tokio's AsyncRead / AsyncWrite)
 * have no future to carry a node and keep one waker per direction: one
 * task per direction there, as in Tokio.
 *
 * Readiness and try_*. kr_*_ready(sock, interest) waits until the socket
 * is ready (Tokio's ready / readable / writable); try_read / try_write /
 * try_send / ... then make one system call without waiting: the bytes, or
 * KR_EAGAIN without a call when no readiness was seen, or KR_EAGAIN after
 * a call that met EAGAIN (the readiness is cleared then: wait again). The
 * readiness stays set until that EAGAIN, even across a short read.
 *
 * Cancellation. Dropping a read, write, writev, accept, recv or send
 * future before it completes loses nothing (as in Tokio: no byte was taken
 * or sent that the output did not report). read_exact and write_all are
 * not cancel-safe: bytes moved before the drop are gone. Dropping a
 * connect future closes its half-made socket.
 *
 * Freeing with futures around. Drop the futures of a socket before freeing
 * it. As a safety net, a future that has returned KR_PENDING holds a
 * reference to its socket until it completes or is dropped: freeing the
 * socket then shuts it down (waking the future) and its next poll outputs
 * KR_EBADF; the descriptor is closed when the last such future goes. A
 * future that was never polled must not be polled after the free.
 *
 * Errors common to every future below: KR_EINVAL (bad arguments),
 * KR_EBADF (the socket was freed while the future was pending),
 * KR_ESHUTDOWN (the runtime was shut down). Errors of the system calls
 * come as negated errnos; each function lists the ones that matter.
 * SIGPIPE is never raised: writes use MSG_NOSIGNAL and report KR_EPIPE.
 */
#ifndef KAIRO_NET_H
#define KAIRO_NET_H

#include "core.h"
#include "io.h"
#include "runtime.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* This header does not include <sys/socket.h> or <sys/uio.h>, so that
 * kairo.h does not declare bind, listen, shutdown, writev... in every
 * program that includes it. Include them to build addresses and iovecs. */
struct iovec;

/* ------------------------------------------------------------------------ */
/* Addresses                                                                */
/* ------------------------------------------------------------------------ */

/*
 * A socket address of any family (AF_INET, AF_INET6, AF_UNIX) and its
 * length, a value type: copy it freely. `len` is 0 for "no address".
 * `storage` is a struct sockaddr_storage (same size and alignment, checked
 * when kairo is built); cast it: (struct sockaddr *)&addr.storage, with
 * (socklen_t) addr.len.
 */
typedef struct kr_sockaddr {
    union {
        uint16_t family; /* sa_family_t: AF_INET, AF_INET6, AF_UNIX */
        unsigned char bytes_[128];
        uint64_t align_;
    } storage;
    uint32_t len; /* socklen_t */
} kr_sockaddr;

/* Room for any formatted address, NUL included: an IPv6 one with a scope
 * ("[" 45 "%" 10 "]:65535" is 64) or a Unix path (108, "@" for abstract). */
#define KR_SOCKADDR_STRLEN 128

/*
 * Parses "1.2.3.4:80" or "[::1]:80" (also "[fe80::1%eth0]:80" or
 * "[fe80::1%2]:80" with a scope). The port is decimal, 0 to 65535.
 * Returns 0, or KR_EINVAL: NULL arguments, no port, a port out of range,
 * a malformed address, an IPv6 address without brackets, an unknown scope,
 * anything else around the address (spaces included). *out is zeroed on
 * failure.
 */
KR_API int kr_sockaddr_parse(const char *text, kr_sockaddr *out);

/*
 * An address from an IP literal without brackets ("127.0.0.1", "::1",
 * "fe80::1%2") and a port. Returns 0 or KR_EINVAL (NULL arguments, a bad
 * literal, port outside 0..65535).
 */
KR_API int kr_sockaddr_from_ip(const char *ip, int port, kr_sockaddr *out);

/*
 * A Unix-domain address for `path`. A path starting with '@' names the
 * Linux abstract namespace (the '@' stands for the leading NUL byte).
 * Returns 0, KR_EINVAL (NULL, empty path) or KR_ENAMETOOLONG (the path does
 * not fit sun_path: at most 107 bytes).
 */
KR_API int kr_sockaddr_unix(const char *path, kr_sockaddr *out);

/*
 * Writes `addr` as text into buf (size bytes, NUL-terminated): "1.2.3.4:80",
 * "[::1]:80", "[fe80::1%2]:80", a Unix path, "@name" for an abstract one,
 * "" for an unnamed Unix socket. KR_SOCKADDR_STRLEN is always enough.
 * Returns the length written (without the NUL), KR_EINVAL (NULL, an
 * unknown family or a length that does not fit it) or KR_ERANGE (buf too
 * small; it then holds "").
 */
KR_API int kr_sockaddr_format(const kr_sockaddr *addr, char *buf, size_t size);

/* The family (AF_INET, ...) or KR_EINVAL (NULL, no address). */
KR_API int kr_sockaddr_family(const kr_sockaddr *addr);

/* The port (0..65535) of an IP address, or KR_EINVAL (NULL, not IP). */
KR_API int kr_sockaddr_port(const kr_sockaddr *addr);

/* Sets the port of an IP address. Returns 0 or KR_EINVAL (NULL, not IP,
 * port outside 0..65535). */
KR_API int kr_sockaddr_set_port(kr_sockaddr *addr, int port);

/* True if both are the same family, address, port (and IPv6 scope) or the
 * same Unix path. Two NULLs or two empty addresses are equal; an address
 * whose len exceeds its storage (128 bytes) is equal to none, itself
 * included. */
KR_API bool kr_sockaddr_equal(const kr_sockaddr *a, const kr_sockaddr *b);

/* ------------------------------------------------------------------------ */
/* Stream futures, shared by TCP and Unix streams (fields private)          */
/* ------------------------------------------------------------------------ */

/* read, write, read_exact, write_all; UDP send and recv. */
typedef struct kr_net_io {
    kr_future base;
    void *sock_;
    void *buf_;
    size_t len_;
    size_t done_;
    int held_;
    kr_io_waiter w_;
} kr_net_io;

typedef struct kr_net_writev {
    kr_future base;
    void *sock_;
    const struct iovec *iov_;
    int iovcnt_;
    int held_;
    kr_io_waiter w_;
} kr_net_writev;

/* accept: `sleep_` is the back-off when the process is out of fds. */
typedef struct kr_net_accept {
    kr_future base;
    void *sock_;
    void **out_;
    kr_sockaddr *peer_;
    int held_;
    int backoff_;
    kr_sleep sleep_;
    kr_io_waiter w_;
} kr_net_accept;

typedef struct kr_net_connect {
    kr_future base;
    void *sock_;
    void **out_;
    int state_;
    int err_;
    int prefd_; /* a kr_tcp_socket's fd + 1, or 0 */
    kr_sockaddr addr_;
    kr_sleep sleep_;
} kr_net_connect;

/* ready / readable / writable: output an int, the ready bits (io.h's
 * KR_READABLE, ...) or a negative code. */
typedef struct kr_net_ready {
    kr_future base;
    void *sock_;
    int interest_;
    int held_;
    kr_io_waiter w_;
} kr_net_ready;
typedef kr_net_ready kr_tcp_ready, kr_udp_ready, kr_unix_ready;

typedef kr_net_io kr_tcp_peek, kr_tcp_read, kr_tcp_write, kr_tcp_read_exact,
    kr_tcp_write_all, kr_unix_read, kr_unix_write, kr_unix_read_exact,
    kr_unix_write_all, kr_udp_send, kr_udp_recv;
typedef kr_net_writev kr_tcp_writev, kr_unix_writev;
typedef kr_net_accept kr_tcp_accept, kr_unix_accept;
typedef kr_net_connect kr_tcp_connect, kr_unix_connect;

/* For kr_*_shutdown: which directions to close. */
enum { KR_SHUT_READ = 1, KR_SHUT_WRITE = 2, KR_SHUT_BOTH = 3 };

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
 * from the queue only by the poll that outputs it.
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
/* UDP                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct kr_udp_socket kr_udp_socket;

typedef struct kr_udp_send_to {
    kr_future base;
    void *sock_;
    const void *buf_;
    size_t len_;
    int held_;
    kr_sockaddr to_;
    kr_io_waiter w_;
} kr_udp_send_to;

typedef struct kr_udp_recv_from {
    kr_future base;
    void *sock_;
    void *buf_;
    size_t len_;
    kr_sockaddr *from_;
    int held_;
    kr_io_waiter w_;
} kr_udp_recv_from;

/*
 * Binds a UDP socket to `addr` (port 0 picks one). Returns 0, KR_EINVAL
 * (NULL, not IP, no runtime), KR_EADDRINUSE, KR_EADDRNOTAVAIL, KR_EACCES,
 * KR_EAFNOSUPPORT, KR_EMFILE, KR_ENFILE, KR_ENOBUFS, KR_ENOMEM,
 * KR_ESHUTDOWN.
 */
KR_API int kr_udp_socket_bind(kr_runtime *rt, const kr_sockaddr *addr,
                              kr_udp_socket **out);

/* Adopts a UDP socket, as kr_tcp_listener_from_fd. Returns 0, KR_EINVAL
 * (NULL out, fd < 0, no runtime, not a datagram socket), KR_ENOTSOCK,
 * KR_EBADF, KR_ENOMEM, KR_ESHUTDOWN. */
KR_API int kr_udp_socket_from_fd(kr_runtime *rt, int fd, kr_udp_socket **out);

/* Closes and frees (see "Freeing with futures around"). NULL is ignored. */
KR_API void kr_udp_socket_free(kr_udp_socket *u);

/*
 * Sets the default peer (connect(2) on UDP: immediate): send and recv then
 * work, and datagrams from other addresses are dropped. Returns 0,
 * KR_EINVAL (NULL, not IP), KR_EAFNOSUPPORT (family mismatch),
 * KR_ENETUNREACH, KR_EHOSTUNREACH.
 */
KR_API int kr_udp_socket_connect(kr_udp_socket *u, const kr_sockaddr *addr);

/*
 * Sends one datagram to `to` (copied when made). Output: an int64_t, len,
 * or KR_EMSGSIZE (too large), KR_EAFNOSUPPORT, KR_ENETUNREACH,
 * KR_ECONNREFUSED (an earlier datagram drew an ICMP port unreachable),
 * and the common ones. Cancel-safe.
 */
KR_API kr_udp_send_to kr_udp_socket_send_to(kr_udp_socket *u, const void *buf,
                                            size_t len, const kr_sockaddr *to);

/*
 * Receives one datagram into buf and its source into *from (may be NULL).
 * A datagram longer than len is truncated, the rest discarded (as
 * recv(2)). Output: an int64_t, the bytes stored (0 for an empty datagram)
 * or KR_ECONNREFUSED (see send_to) and the common ones. Cancel-safe.
 */
KR_API kr_udp_recv_from kr_udp_socket_recv_from(kr_udp_socket *u, void *buf,
                                                size_t len, kr_sockaddr *from);

/* Send / receive on a connected socket. As send_to / recv_from, plus
 * KR_EDESTADDRREQ (send: not connected). Cancel-safe. */
KR_API kr_udp_send kr_udp_socket_send(kr_udp_socket *u, const void *buf,
                                      size_t len);
KR_API kr_udp_recv kr_udp_socket_recv(kr_udp_socket *u, void *buf, size_t len);

/* Local / peer address. Return 0, KR_EINVAL (NULL), KR_ENOTCONN (peer). */
KR_API int kr_udp_socket_local_addr(const kr_udp_socket *u, kr_sockaddr *out);
KR_API int kr_udp_socket_peer_addr(const kr_udp_socket *u, kr_sockaddr *out);

/* The descriptor, or -1 for NULL. Still the socket's: do not close it. */
KR_API int kr_udp_socket_fd(const kr_udp_socket *u);

/* As kr_tcp_stream_ready / readable / writable. */
KR_API kr_udp_ready kr_udp_socket_ready(kr_udp_socket *u, int interest);
KR_API kr_udp_ready kr_udp_socket_readable(kr_udp_socket *u);
KR_API kr_udp_ready kr_udp_socket_writable(kr_udp_socket *u);

/*
 * As recv_from / recv, without taking the datagram (MSG_PEEK): the next
 * receive gets it again. Output as theirs. Cancel-safe.
 */
KR_API kr_udp_recv_from kr_udp_socket_peek_from(kr_udp_socket *u, void *buf,
                                                size_t len, kr_sockaddr *from);
KR_API kr_udp_recv kr_udp_socket_peek(kr_udp_socket *u, void *buf, size_t len);

/*
 * One send / recv / sendto / recvfrom (peek_from: with MSG_PEEK) without
 * waiting (see "Readiness and try_*"). Returns the bytes, KR_EAGAIN,
 * KR_EINVAL (NULL, NULL buffer with a length, `to` not IP), KR_EBADF,
 * KR_ESHUTDOWN, or the call's error (as the futures of the same names).
 */
KR_API int64_t kr_udp_socket_try_send(kr_udp_socket *u, const void *buf,
                                      size_t len);
KR_API int64_t kr_udp_socket_try_recv(kr_udp_socket *u, void *buf, size_t len);
KR_API int64_t kr_udp_socket_try_send_to(kr_udp_socket *u, const void *buf,
                                         size_t len, const kr_sockaddr *to);
KR_API int64_t kr_udp_socket_try_recv_from(kr_udp_socket *u, void *buf,
                                           size_t len, kr_sockaddr *from);
KR_API int64_t kr_udp_socket_try_peek_from(kr_udp_socket *u, void *buf,
                                           size_t len, kr_sockaddr *from);

/* ------------------------------------------------------------------------ */
/* Unix-domain stream sockets                                               */
/* ------------------------------------------------------------------------ */

typedef struct kr_unix_listener kr_unix_listener;
typedef struct kr_unix_stream kr_unix_stream;

/*
 * Binds and listens on `path` (a leading '@' names the abstract
 * namespace, which leaves no file behind). backlog 0 means 1024.
 *
 * Unlinking. kairo never removes a socket file: binding to a path that
 * exists fails with KR_EADDRINUSE, even when no one listens there any more
 * (a stale file from an earlier run: remove it with unlink(2) first, if
 * you know it is yours), and kr_unix_listener_free leaves the file in
 * place (unlink it after the free). This is what the OS does, and what
 * Tokio and libuv do.
 *
 * Returns 0, KR_EINVAL (NULL, empty path, negative backlog, no runtime),
 * KR_ENAMETOOLONG, KR_EADDRINUSE, KR_EACCES, KR_ENOENT / KR_ENOTDIR (a
 * directory on the path is missing), KR_EMFILE, KR_ENFILE, KR_ENOMEM,
 * KR_ESHUTDOWN.
 */
KR_API int kr_unix_listener_bind(kr_runtime *rt, const char *path, int backlog,
                                 kr_unix_listener **out);

/* Adopts a listening Unix stream socket, as kr_tcp_listener_from_fd. */
KR_API int kr_unix_listener_from_fd(kr_runtime *rt, int fd,
                                    kr_unix_listener **out);

/* Closes and frees; the socket file stays (see bind). NULL is ignored. */
KR_API void kr_unix_listener_free(kr_unix_listener *l);

/* The bound address. Returns 0, KR_EINVAL, or getsockname's error. */
KR_API int kr_unix_listener_local_addr(const kr_unix_listener *l,
                                       kr_sockaddr *out);
/* The descriptor, or -1 for NULL. Still the listener's: do not close it. */
KR_API int kr_unix_listener_fd(const kr_unix_listener *l);

/* Accepts a connection; *peer (may be NULL) is usually unnamed. As
 * kr_tcp_listener_accept, back-off on EMFILE included. */
KR_API kr_unix_accept kr_unix_listener_accept(kr_unix_listener *l,
                                              kr_unix_stream **stream,
                                              kr_sockaddr *peer);

/*
 * Connects to `path` (copied when made). Output: an int, 0 with *out set,
 * or KR_EINVAL, KR_ENAMETOOLONG, KR_ENOENT (no such socket file),
 * KR_ECONNREFUSED (a file but no listener), KR_EACCES, KR_EPROTOTYPE (not
 * a stream socket), KR_EMFILE, KR_ENFILE, KR_ENOMEM, KR_ESHUTDOWN. When
 * the listener's backlog is full (EAGAIN) it retries every 10 ms.
 */
KR_API kr_unix_connect kr_unix_stream_connect(const char *path,
                                              kr_unix_stream **out);

/* A connected pair (socketpair(2)). Returns 0, KR_EINVAL (NULL, no
 * runtime), KR_EMFILE, KR_ENFILE, KR_ENOMEM, KR_ESHUTDOWN. */
KR_API int kr_unix_stream_pair(kr_runtime *rt, kr_unix_stream **a,
                               kr_unix_stream **b);

/* Adopts a connected Unix stream socket, as kr_tcp_stream_from_fd. */
KR_API int kr_unix_stream_from_fd(kr_runtime *rt, int fd, kr_unix_stream **out);

/* Closes and frees (see "Freeing with futures around"). NULL is ignored. */
KR_API void kr_unix_stream_free(kr_unix_stream *s);

/* As the kr_tcp_stream_* functions of the same names, with the same
 * outputs and errors (and KR_EPIPE at once when the peer is gone: a Unix
 * stream has no reset). */
KR_API kr_unix_read kr_unix_stream_read(kr_unix_stream *s, void *buf,
                                        size_t len);
KR_API kr_unix_write kr_unix_stream_write(kr_unix_stream *s, const void *buf,
                                          size_t len);
KR_API kr_unix_writev kr_unix_stream_writev(kr_unix_stream *s,
                                            const struct iovec *iov,
                                            int iovcnt);
KR_API kr_unix_read_exact kr_unix_stream_read_exact(kr_unix_stream *s,
                                                    void *buf, size_t len);
KR_API kr_unix_write_all kr_unix_stream_write_all(kr_unix_stream *s,
                                                  const void *buf, size_t len);
KR_API int kr_unix_stream_shutdown(kr_unix_stream *s, int how);
KR_API int kr_unix_stream_peer_addr(const kr_unix_stream *s, kr_sockaddr *out);
KR_API int kr_unix_stream_local_addr(const kr_unix_stream *s, kr_sockaddr *out);
KR_API int kr_unix_stream_fd(const kr_unix_stream *s);
KR_API kr_unix_ready kr_unix_stream_ready(kr_unix_stream *s, int interest);
KR_API kr_unix_ready kr_unix_stream_readable(kr_unix_stream *s);
KR_API kr_unix_ready kr_unix_stream_writable(kr_unix_stream *s);
KR_API int64_t kr_unix_stream_try_read(kr_unix_stream *s, void *buf,
                                       size_t len);
KR_API int64_t kr_unix_stream_try_write(kr_unix_stream *s, const void *buf,
                                        size_t len);
KR_API int64_t kr_unix_stream_try_read_vectored(kr_unix_stream *s,
                                                const struct iovec *iov,
                                                int iovcnt);
KR_API int64_t kr_unix_stream_try_write_vectored(kr_unix_stream *s,
                                                 const struct iovec *iov,
                                                 int iovcnt);
KR_API kr_poll kr_unix_stream_poll_read(kr_unix_stream *s, kr_context *cx,
                                        void *buf, size_t len, int64_t *res);
KR_API kr_poll kr_unix_stream_poll_write(kr_unix_stream *s, kr_context *cx,
                                         const void *buf, size_t len,
                                         int64_t *res);
KR_API kr_poll kr_unix_stream_poll_writev(kr_unix_stream *s, kr_context *cx,
                                          const struct iovec *iov, int iovcnt,
                                          int64_t *res);

/* ------------------------------------------------------------------------ */
/* Name resolution                                                          */
/* ------------------------------------------------------------------------ */

typedef struct kr_resolution {
    kr_future base;
    const char *host_;
    int port_;
    kr_sockaddr *addrs_;
    size_t max_;
    void *job_;
    kr_join_handle join_;
} kr_resolution;

/*
 * Resolves `host` (a name or an IP literal) to up to `max` addresses with
 * port `port`, in getaddrinfo's order (IPv4 and IPv6 both, one entry per
 * address). An IP literal is parsed at once; a name goes to getaddrinfo on
 * the runtime's blocking pool (kairo/blocking.h). `host` is copied on the
 * first poll.
 * Output: an int, the number of addresses stored (>= 1), or KR_EINVAL
 * (NULL host or addrs, max 0, port outside 0..65535, polled outside a
 * runtime), KR_ENOENT (no such host, or it has no address), KR_EAGAIN (a
 * temporary failure of the name server), KR_ENOMEM, KR_ESHUTDOWN, KR_EIO
 * (another resolver failure) or the errno of a failed system call.
 * Dropping it before it completes detaches the lookup: it runs on and
 * frees what it used (getaddrinfo cannot be interrupted). Should the
 * runtime shut down with the lookup still queued, unstarted, after the
 * future was dropped, its small allocation is not freed.
 */
KR_API kr_resolution kr_resolve(const char *host, int port, kr_sockaddr *addrs,
                                size_t max);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_NET_H */
