/*
 * kairo/net_unix.h: Unix-domain sockets: stream listeners and streams,
 * datagram sockets, peer credentials, and the kinds of Unix address.
 * The conventions (objects, futures, sharing, cancellation, freeing,
 * errors) are net.h's, which includes this header.
 */
#ifndef KAIRO_NET_UNIX_H
#define KAIRO_NET_UNIX_H

#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/*
 * The peer's credentials (SO_PEERCRED: Tokio's UnixStream::peer_cred):
 * the process id, user and group of the peer when it connected (or made
 * the pair). Returns 0, KR_EINVAL (NULL), or getsockopt's error.
 */
typedef struct kr_unix_cred {
    int32_t pid; /* 0 if the kernel has none (a peer in another pid ns) */
    uint32_t uid;
    uint32_t gid;
} kr_unix_cred;
KR_API int kr_unix_stream_peer_cred(const kr_unix_stream *s, kr_unix_cred *out);

/*
 * The kind of a Unix address (std's SocketAddr::is_unnamed, as_pathname,
 * as_abstract_name): KR_UNIX_UNNAMED (an unbound socket, or an
 * autobound peer), KR_UNIX_PATHNAME (a file), KR_UNIX_ABSTRACT (Linux's
 * abstract namespace: kr_sockaddr_unix("@name")), or KR_EINVAL (NULL, not
 * AF_UNIX, a bad length).
 */
enum { KR_UNIX_UNNAMED = 0, KR_UNIX_PATHNAME = 1, KR_UNIX_ABSTRACT = 2 };
KR_API int kr_sockaddr_unix_kind(const kr_sockaddr *addr);

/*
 * The name of a Unix address into buf (NUL-terminated): the path, the
 * abstract name without its leading NUL (and without the '@' that
 * kr_sockaddr_format shows; it may hold NUL bytes of its own: the return
 * value is its length), or "" for an unnamed one. Returns the length,
 * KR_EINVAL (as kr_sockaddr_unix_kind, NULL buf, size 0) or KR_ERANGE
 * (too small; buf then holds "").
 */
KR_API int kr_sockaddr_unix_name(const kr_sockaddr *addr, char *buf,
                                 size_t size);

/* ------------------------------------------------------------------------ */
/* Unix-domain datagram sockets (Tokio's UnixDatagram)                      */
/* ------------------------------------------------------------------------ */

typedef struct kr_unix_datagram kr_unix_datagram;
typedef kr_udp_send_to kr_unix_send_to;
typedef kr_udp_recv_from kr_unix_recv_from;
typedef kr_net_io kr_unix_dgram_io;

/*
 * Makes a datagram socket bound to `path` ('@name': abstract), an unbound
 * one (it can send, to a path or once connected; its datagrams arrive
 * with an unnamed source, so a peer cannot answer it by address), or a
 * connected pair. Registered with `rt` (NULL: the current runtime).
 * Returns 0, KR_EINVAL (NULL, empty path, no runtime), KR_ENAMETOOLONG,
 * KR_EADDRINUSE (bind: the path exists; kairo never unlinks, as for
 * listeners), KR_EACCES, KR_ENOENT, KR_EMFILE, KR_ENFILE, KR_ENOMEM,
 * KR_ESHUTDOWN.
 */
KR_API int kr_unix_datagram_bind(kr_runtime *rt, const char *path,
                                 kr_unix_datagram **out);
KR_API int kr_unix_datagram_unbound(kr_runtime *rt, kr_unix_datagram **out);
KR_API int kr_unix_datagram_pair(kr_runtime *rt, kr_unix_datagram **a,
                                 kr_unix_datagram **b);
/* Adopts a Unix datagram socket (KR_EINVAL: not one), as
 * kr_tcp_listener_from_fd. */
KR_API int kr_unix_datagram_from_fd(kr_runtime *rt, int fd,
                                    kr_unix_datagram **out);
/* Closes and frees (see net.h, "Freeing with futures around"); a bound
 * path's file stays. NULL is ignored. */
KR_API void kr_unix_datagram_free(kr_unix_datagram *u);

/* Sets the default peer (immediate): send / recv then work and only its
 * datagrams are received. Returns 0, KR_EINVAL, KR_ENAMETOOLONG,
 * KR_ENOENT, KR_ECONNREFUSED (nobody bound there), KR_EPROTOTYPE. */
KR_API int kr_unix_datagram_connect(kr_unix_datagram *u, const char *path);

/*
 * Sends one datagram to `path` (copied when made). Output: an int64_t,
 * len, or KR_EINVAL (NULL, bad path), KR_ENOENT / KR_ECONNREFUSED (no
 * socket there), KR_EMSGSIZE, KR_ENOBUFS, and the common ones; a full
 * receiver makes it wait. Cancel-safe.
 */
KR_API kr_unix_send_to kr_unix_datagram_send_to(kr_unix_datagram *u,
                                                const void *buf, size_t len,
                                                const char *path);
/* Receives one datagram and its source (*from may be NULL; unnamed for
 * an unbound sender); peek_from leaves it queued. As UDP's. */
KR_API kr_unix_recv_from kr_unix_datagram_recv_from(kr_unix_datagram *u,
                                                    void *buf, size_t len,
                                                    kr_sockaddr *from);
KR_API kr_unix_recv_from kr_unix_datagram_peek_from(kr_unix_datagram *u,
                                                    void *buf, size_t len,
                                                    kr_sockaddr *from);
/* On a connected socket (or a pair). As UDP's send / recv (KR_ENOTCONN:
 * send without a peer). */
KR_API kr_unix_dgram_io kr_unix_datagram_send(kr_unix_datagram *u,
                                              const void *buf, size_t len);
KR_API kr_unix_dgram_io kr_unix_datagram_recv(kr_unix_datagram *u, void *buf,
                                              size_t len);

/* Readiness and try_*, as UDP's (net.h, "Readiness and try_*"). */
KR_API kr_unix_ready kr_unix_datagram_ready(kr_unix_datagram *u, int interest);
KR_API kr_unix_ready kr_unix_datagram_readable(kr_unix_datagram *u);
KR_API kr_unix_ready kr_unix_datagram_writable(kr_unix_datagram *u);
KR_API int64_t kr_unix_datagram_try_send(kr_unix_datagram *u, const void *buf,
                                         size_t len);
KR_API int64_t kr_unix_datagram_try_recv(kr_unix_datagram *u, void *buf,
                                         size_t len);
KR_API int64_t kr_unix_datagram_try_send_to(kr_unix_datagram *u,
                                            const void *buf, size_t len,
                                            const char *path);
KR_API int64_t kr_unix_datagram_try_recv_from(kr_unix_datagram *u, void *buf,
                                              size_t len, kr_sockaddr *from);

/* shutdown(2) (KR_SHUT_*), the local / peer address (see
 * kr_sockaddr_unix_kind), the descriptor (-1 for NULL). */
KR_API int kr_unix_datagram_shutdown(kr_unix_datagram *u, int how);
KR_API int kr_unix_datagram_local_addr(const kr_unix_datagram *u,
                                       kr_sockaddr *out);
KR_API int kr_unix_datagram_peer_addr(const kr_unix_datagram *u,
                                      kr_sockaddr *out);
KR_API int kr_unix_datagram_fd(const kr_unix_datagram *u);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_NET_UNIX_H */
