/*
 * kairo/net.h: networking. Socket addresses, the futures every socket type
 * shares, and name resolution; then, in headers of their own (included at
 * the end), TCP (net_tcp.h: the socket builder, listeners, streams, their
 * options, connecting by name), UDP (net_udp.h) and Unix-domain sockets
 * (net_unix.h: listeners, streams, datagrams, peer credentials).
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
 * On the io_uring driver. A stream read (read, poll_read) polled in a
 * task is a RECV operation on the driver's ring into a buffer of the
 * stream's own, with no recv(2) of its own; a dropped read's RECV stays
 * in flight and the bytes it brings wait in that buffer, where every read
 * call (read, read_exact, peek, try_read, try_read_vectored, poll_read)
 * takes them first, and readable() counts them. So the promise above
 * holds there too, with one difference: such bytes have left the kernel,
 * so a recv(2) of your own on the descriptor (kr_tcp_stream_fd) sees only
 * the bytes after them. An accept polled in a task arms one multishot
 * ACCEPT for its listener: the kernel accepts connections as they come
 * into a queue of the listener's, which every accept takes from first
 * (a dropped accept loses nothing there either; an accept that asks for
 * the peer's address makes a getpeername(2)). docs/io_uring.md has the
 * details.
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
    int prefd_;  /* a kr_tcp_socket's fd + 1, or 0 */
    void *ring_; /* the CONNECT on the ring (net/connect_ring.c), or NULL */
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

/* One concept per file: each socket family has its own header. */
#include "net_tcp.h"
#include "net_udp.h"
#include "net_unix.h"

#endif /* KAIRO_NET_H */
