/*
 * net/sock.h: the socket object every kairo socket type is, and the
 * readiness loop its futures share.
 *
 * A kr__sock is a non-blocking fd registered with a runtime's reactor.
 * The public types (kr_tcp_stream, kr_udp_socket, ...) are all this
 * struct under distinct names, so the compiler keeps them apart for the
 * user while one implementation serves them all.
 *
 * Lifetime. `refs` counts the owner (the public object, until its *_free)
 * plus one per future that has returned PENDING and is not finished
 * ("held": the future's held_ flag). The last reference deregisters the
 * fd, closes it and frees the struct, so a pending future never touches
 * freed memory and no fd number is reused under a future that may still
 * issue a system call on it.
 *
 * Close protocol. The owner's free stores `closed` (seq_cst), then loads
 * `refs` (seq_cst); a future going pending adds its reference (seq_cst),
 * then loads `closed` (seq_cst). Of two such store-then-load pairs at
 * least one sees the other's store (Dekker): either the future sees
 * `closed` and completes with KR_EBADF at once, or the free sees the
 * reference and shuts the socket down (shutdown(2)), which the kernel
 * reports to epoll as a hang-up: the reactor wakes the waiting future,
 * which sees `closed`. The descriptor stays open until the last
 * reference: shutting down wakes without giving the number away.
 *
 * Registration order. A socket is registered only once it is listening,
 * connected or in the middle of connecting: a fresh unconnected stream
 * socket polls as hung up (EPOLLHUP), and the reactor keeps the closed
 * bits for good, which would make every later wait return at once.
 */
#ifndef KR_NET_SOCK_H
#define KR_NET_SOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "core/netsim.h"
#include "kairo.h"

/* Tokio's default backlog (TcpListener::bind uses 1024), for TCP and Unix
 * listeners alike; the kernel caps it at net.core.somaxconn (4096 since
 * Linux 5.4). */
#define KR__LISTEN_BACKLOG 1024

/* kr_sockaddr stands in for a struct sockaddr_storage and a socklen_t
 * without including <sys/socket.h> in the public header (net.h). */
_Static_assert(sizeof(((kr_sockaddr *)0)->storage) ==
                   sizeof(struct sockaddr_storage),
               "kr_sockaddr.storage is not a sockaddr_storage");
_Static_assert(_Alignof(struct sockaddr_storage) <= 8,
               "kr_sockaddr.storage is under-aligned");
_Static_assert(offsetof(struct sockaddr_storage, ss_family) == 0 &&
                   sizeof(sa_family_t) == sizeof(uint16_t),
               "sa_family_t is not a leading uint16_t");
_Static_assert(sizeof(socklen_t) == sizeof(uint32_t) && (socklen_t)-1 > 0,
               "socklen_t is not a uint32_t");

typedef struct kr__sock {
    _Atomic int refs;
    _Atomic int closed;
    int fd;
    kr_async_fd *afd;
    /* The runtime it was registered with: accepted sockets join it. */
    kr_runtime *rt;
    /* A simulated socket's network (core/netsim.h; fd -1, afd NULL), or
     * NULL for a real one. Every operation tests it first. */
    const kr__netsim_ops *sim;
    /* The ring reader (net/rx.c), made by the first read on the io_uring
     * driver; NULL until then, and always on epoll. Published once by a
     * CAS from NULL (acq-rel; a losing maker frees its own), read with
     * acquire, which pairs with it so the reader's init is seen; freed
     * only by the socket's last reference (kr__rx_release). */
    struct kr__rx *_Atomic rx;
    /* A listener's accept queue (net/accept_ring.c), made by its first
     * accept on the io_uring driver: published and freed as rx is. */
    struct kr__ax *_Atomic ax;
} kr__sock;

/* The simulated network of `rt` (NULL: the calling thread's runtime), or
 * NULL when it is the real one. */
const kr__netsim_ops *kr__netsim_of(kr_runtime *rt);

/* Every public socket type is a kr__sock. */
struct kr_tcp_listener {
    kr__sock s;
};
struct kr_tcp_stream {
    kr__sock s;
};
struct kr_udp_socket {
    kr__sock s;
};
struct kr_unix_listener {
    kr__sock s;
};
struct kr_unix_stream {
    kr__sock s;
};

/* The back-off of accept (out of fds) and of a Unix connect (backlog
 * full): long enough that a full fd table costs at most 100 system calls
 * a second, short enough that a server resumes within a frame of an fd
 * coming free. Tokio's docs suggest sleeping; hyper sleeps 1 s, which
 * leaves clients waiting long after the pressure is gone. */
#define KR__NET_BACKOFF_MS 10

/* `rt`, or the runtime the calling thread runs; NULL if neither. */
kr_runtime *kr__net_runtime(kr_runtime *rt);

/* Makes a socket (non-blocking, close-on-exec). Returns the fd or a
 * negated errno. Not registered yet: see "Registration order". */
int kr__sock_socket(int family, int type);

/* Registers `fd` with `rt` (NULL: the current runtime) and wraps it. On
 * failure the fd is left open (the caller's). Requires: kairo made fd
 * non-blocking (kr__sock_socket, accept4 with SOCK_NONBLOCK...): it is
 * not looked at. */
int kr__sock_wrap(kr_runtime *rt, int fd, kr__sock **out);

/* Binds `fd` to `addr`, listens with `backlog`, then wraps it (after
 * listen: see "Registration order"). On failure closes the fd and returns
 * a negated errno or kr__sock_wrap's error. The listeners' common tail. */
int kr__sock_listen(kr_runtime *rt, int fd, const kr_sockaddr *addr,
                    int backlog, kr__sock **out);

/* A connected pair of Unix sockets of `type` (SOCK_STREAM, SOCK_DGRAM),
 * both registered with `rt`; on failure neither is left open. */
int kr__sock_pair(kr_runtime *rt, int type, kr__sock **a, kr__sock **b);

/* As kr__sock_wrap, for an fd from the user: checks it is a socket of
 * `type` (and listening, if `listening`). */
int kr__sock_adopt(kr_runtime *rt, int fd, int type, bool listening,
                   kr__sock **out);

/* The owner lets go: marks it closed, wakes pending futures, drops the
 * owner's reference. NULL is ignored. */
void kr__sock_close(kr__sock *s);

/* Drops a future's reference, if it holds one (held: its flag), after
 * unlinking its waiter `w` (linked only while it holds one). */
void kr__sock_unhold(kr__sock *s, int *held, kr_io_waiter *w);

/*
 * Polled after READY. A socket future's held_ flag (its accept's, its
 * writev's...) is 0 or 1 while it runs and KR__NET_SPENT once it has
 * returned READY; kr__sock_spend drops the reference and marks it so, and
 * each poll starts with kr__net_check_live, which aborts with a message
 * naming the future (core.h: kairo's futures do). A second poll would
 * otherwise send its data again or take a second connection.
 */
#define KR__NET_SPENT (-1)
/* Requires: the future's waiter is unlinked (kr__sock_poll's READY and
 * kr_async_fd_poll_ready_waiter's non-zero returns leave it so). */
void kr__sock_spend(kr__sock *s, int *held);
void kr__net_polled_after_ready(const kr_future *f) __attribute__((noreturn));
static inline void kr__net_check_live(const kr_future *f, int held) {
    if (__builtin_expect(held == KR__NET_SPENT, 0))
        kr__net_polled_after_ready(f);
}

/* Takes a future's reference before it returns PENDING (once: the flag
 * says). Returns 0, or KR_EBADF if the socket was closed meanwhile (the
 * reference is then dropped again). */
int kr__sock_hold(kr__sock *s, int *held, kr_io_waiter *w);

/* A future going PENDING: takes its reference (kr__sock_hold; none for
 * a poll-style call, held NULL). KR_PENDING, or KR_READY with KR_EBADF in
 * *res when the socket was closed meanwhile. */
kr_poll kr__sock_pend(kr__sock *s, int *held, kr_io_waiter *w, int64_t *res);

/*
 * One system call on the socket, with the sign convention of the futures:
 * a result >= 0, or a negated errno. KR_EAGAIN makes kr__sock_poll clear
 * the readiness and wait; the op retries EINTR itself.
 */
typedef int64_t (*kr__sock_op)(kr__sock *s, void *arg);

/*
 * io.h's loop: waits (on the future's node `w`, so any number of futures
 * may wait on one socket) until `s` is ready for `interest`, runs `op`, and on
 * KR_EAGAIN clears the readiness and goes round again. Returns KR_READY
 * with op's result (or KR_EBADF / KR_ESHUTDOWN) in *res, or KR_PENDING
 * after taking the future's reference. A result 0 < n < drain_below
 * clears the readiness as well (a stream read that came up short drained
 * the socket); pass 0 where that does not hold (datagrams, writes).
 */
kr_poll kr__sock_poll(kr__sock *s, int *held, kr_io_waiter *w, kr_context *cx,
                      int interest, kr__sock_op op, void *arg,
                      size_t drain_below, int64_t *res);

/* held and w NULL: a poll-style call (no future): the waker goes to the
 * direction's single slot and no reference is taken. */

/* A try_* call: `op` once if the last readiness seen for `interest` is
 * set, else KR_EAGAIN at once; an op's KR_EAGAIN clears that readiness
 * (Tokio's try_io). KR_EINVAL (NULL), KR_EBADF (freed). */
int64_t kr__sock_try(kr__sock *s, int interest, kr__sock_op op, void *arg);

/* getsockname / getpeername into a kr_sockaddr: 0 or a negated errno. */
int kr__sock_name(const kr__sock *s, bool peer, kr_sockaddr *out);

/* shutdown(2) with KR_SHUT_*: 0, KR_EINVAL or a negated errno. */
int kr__sock_shutdown(kr__sock *s, int how);

/*
 * The ring reader (net/rx.c, which has the protocol). Reads of a stream
 * on the io_uring driver are RECV operations into a buffer of the
 * stream's own; the other read calls look in that buffer first.
 */
typedef struct kr__rx kr__rx;
/* A RECV asks for at most this much. */
#define KR__RX_MAX    (64u * 1024)
/* Readers (tasks) whose wakers the reader keeps inline for one op's end;
 * more grow an array (net/rx.c). */
#define KR__RX_WAKERS 4
/* An op's result meaning "a ring read in flight takes the next bytes":
 * kr__sock_poll waits for its end (kr__rx_wait), kr__sock_try answers
 * KR_EAGAIN. Never a future's output. */
#define KR__RX_BUSY   INT64_MIN
/* Whether a read of s polled on this thread may go to the ring. */
bool kr__rx_usable(const kr__sock *s);
/* What the buffer holds, into iov (peek: left there): true with *out the
 * bytes (> 0), or 0 / an error a RECV ended with (once), or KR__RX_BUSY
 * while an op is in flight; false when there is no reader, or it is idle
 * and empty (read the socket). */
bool kr__rx_take(kr__sock *s, const struct iovec *iov, int iovcnt, bool peek,
                 int64_t *out);
/* Submits a RECV of up to len bytes if none is in flight and the buffer
 * is empty (else does nothing): 0, or a negative code where the ring
 * cannot read (KR_ENOSYS: not here; the caller reads the socket).
 * Requires: a reference on s (the owner's or a future's). */
int kr__rx_arm(kr__sock *s, size_t len);
/* Stores cx's waker for the end of the op in flight: true, or false if
 * none is in flight (take again). */
bool kr__rx_wait(kr__sock *s, kr_context *cx);
/* The socket's last reference: detaches and cancels (net/rx.c); gone:
 * the runtime is shut down, its driver maybe freed: cancel nothing (the
 * caller shuts the socket down, which ends the op). True: an op was in
 * flight, and the reader now owns s->fd and closes it once the op has
 * ended (the caller must not). */
bool kr__rx_release(kr__sock *s, bool gone);

/* The driver of this thread's runtime if it has completion operations
 * and this thread turns it (a worker, the current-thread core), else
 * NULL: where a connect may go to the ring. kr__net_ring: the same for
 * s's runtime, where a read or an accept of s may. */
struct kr__driver *kr__net_ring_here(void);
struct kr__driver *kr__net_ring(const kr__sock *s);

/*
 * The ring accept queue (net/accept_ring.c, which has the protocol). A
 * listener's accepts on the io_uring driver come from one multishot
 * ACCEPT whose descriptors wait in a queue of the listener's own.
 */
typedef struct kr__ax kr__ax;
/* kr__ax_accept's answers "accept4 this one yourself" and "armed now:
 * accept4 once" (the op reaches the kernel with a later enter: a
 * connection waiting in the backlog now is the caller's to take, with no
 * wake-up and poll more for it; Tokio's no_extra_poll). */
#define KR__AX_OFF   INT64_MIN
#define KR__AX_ARMED (INT64_MIN + 1)
/* Whether an accept of s polled on this thread may go to the ring. */
bool kr__ax_usable(const kr__sock *s);
/* The next queued descriptor (>= 0, non-blocking, close-on-exec; the
 * caller's), or an error the op ended with (once), or KR_EAGAIN (the op
 * is in flight: wait for the listener's readiness), or KR__AX_ARMED or
 * KR__AX_OFF (accept4, above). Requires: a reference on s. */
int64_t kr__ax_accept(kr__sock *s);
/* The socket's last reference: closes the queue, cancels the op (gone:
 * as kr__rx_release). The caller closes the descriptor: the op is on the
 * registration's ring (io_op.h: near), whose removal, before the close,
 * takes that ring's SQ to the kernel. */
void kr__ax_release(kr__sock *s, bool gone);

/* ---- a connect on the ring (net/connect_ring.c) ---------------------- */

typedef struct kr__cx kr__cx;
/* Submits the CONNECT of socket fd to addr where this thread turns an
 * io_uring driver that takes it at once: 0, *out the op, which owns fd
 * from now on; else KR_ENOSYS, and fd is still the caller's (connect(2)
 * it). */
int kr__cx_submit(int fd, const kr_sockaddr *addr, kr__cx **out);
/* The op's end: true with *res (0 connected, or a negative errno) and
 * *fd, the caller's again, and x freed; false (cx's waker stored) while
 * it is in flight. */
bool kr__cx_poll(kr__cx *x, kr_context *cx, int *res, int *fd);
/* The future's drop: cancels the op in flight; the op closes the socket
 * once it has ended. */
void kr__cx_drop(kr__cx *x);

/* The stream operations (net/stream.c) and the accept and connect futures
 * (net/accept.c, net/connect.c), shared by TCP and Unix sockets. */
kr_net_io kr__stream_read(kr__sock *s, void *buf, size_t len);
kr_net_io kr__stream_write(kr__sock *s, const void *buf, size_t len);
kr_net_io kr__stream_read_exact(kr__sock *s, void *buf, size_t len);
kr_net_io kr__stream_write_all(kr__sock *s, const void *buf, size_t len);
kr_net_writev kr__stream_writev(kr__sock *s, const struct iovec *iov,
                                int iovcnt);
kr_net_io kr__stream_peek(kr__sock *s, void *buf, size_t len);
kr_net_io kr__dgram_recv(kr__sock *s, void *buf, size_t len);
/* Poll-style calls (no future; the direction's single waker slot). */
kr_poll kr__stream_poll_read(kr__sock *s, kr_context *cx, void *buf, size_t len,
                             int64_t *res);
kr_poll kr__stream_poll_write(kr__sock *s, kr_context *cx, const void *buf,
                              size_t len, int64_t *res);
kr_poll kr__stream_poll_writev(kr__sock *s, kr_context *cx,
                               const struct iovec *iov, int iovcnt,
                               int64_t *res);
/* try_* (kr__sock_try): recv (or peek), send, recvmsg, sendmsg. */
int64_t kr__sock_try_recv(kr__sock *s, void *buf, size_t len, bool peek);
int64_t kr__sock_try_send(kr__sock *s, const void *buf, size_t len);
int64_t kr__sock_try_recvv(kr__sock *s, const struct iovec *iov, int iovcnt);
int64_t kr__sock_try_sendv(kr__sock *s, const struct iovec *iov, int iovcnt);
/* The readiness future of every socket type (net/ready.c). */
kr_net_ready kr__sock_ready(kr__sock *s, int interest);
kr_net_io kr__dgram_send(kr__sock *s, const void *buf, size_t len);
/* The send_to future of both datagram families (net/udp.c): its sendto,
 * its poll (`addr_ok`: the family's check of to_), its drop. */
int64_t kr__dgram_send_to_op(kr__sock *s, void *arg);
kr_poll kr__dgram_send_to_poll(kr_udp_send_to *st, kr_context *cx, void *out,
                               bool addr_ok);
void kr__dgram_send_to_drop(kr_future *f);
kr_net_accept kr__accept(kr__sock *s, void **out, kr_sockaddr *peer);
/* `err` != 0 makes a future that outputs it (an address that failed to
 * build). */
kr_net_connect kr__connect(const kr_sockaddr *addr, int err, void **out);
/* As kr__connect, with the (unregistered, non-blocking) socket `fd`, which
 * the future owns from here: closed if it never connects. */
kr_net_connect kr__connect_fd(int fd, const kr_sockaddr *addr, int err,
                              void **out);

/* Whether an address is an IP one of a consistent length. */
bool kr__sockaddr_is_ip(const kr_sockaddr *a);

#endif
