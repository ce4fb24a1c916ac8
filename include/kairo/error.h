/*
 * kairo/error.h: error codes. Functions return int: 0 on success, a negative
 * value on failure. A negative value is either a negated Linux errno (spelled
 * KR_E... below for the ones kairo returns itself) or a kairo code from the
 * reserved range [-4095, -4000], which no errno reaches.
 */
#ifndef KAIRO_ERROR_H
#define KAIRO_ERROR_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* name, value, message. The errno values are Linux's; src/core/error.c checks
 * them against <errno.h> at compile time. The errno ESHUTDOWN (108) is not
 * listed: KR_ESHUTDOWN is kairo's own code below (a negated 108 passed
 * through still gets strerror's text). */
#define KR_ERRNO_MAP(X)                                                        \
    X(EPERM, -1, "operation not permitted")                                    \
    X(ENOENT, -2, "no such file or directory")                                 \
    X(ESRCH, -3, "no such process")                                            \
    X(EINTR, -4, "interrupted system call")                                    \
    X(EIO, -5, "i/o error")                                                    \
    X(ENOEXEC, -8, "exec format error")                                        \
    X(EBADF, -9, "bad file descriptor")                                        \
    X(ECHILD, -10, "no child processes")                                       \
    X(EAGAIN, -11, "resource temporarily unavailable")                         \
    X(ENOMEM, -12, "out of memory")                                            \
    X(EACCES, -13, "permission denied")                                        \
    X(EBUSY, -16, "resource busy")                                             \
    X(EEXIST, -17, "file exists")                                              \
    X(ENOTDIR, -20, "not a directory")                                         \
    X(EINVAL, -22, "invalid argument")                                         \
    X(ENFILE, -23, "file table overflow")                                      \
    X(EMFILE, -24, "too many open files")                                      \
    X(EPIPE, -32, "broken pipe")                                               \
    X(ERANGE, -34, "result too large")                                         \
    X(EDEADLK, -35, "resource deadlock would occur")                           \
    X(ENAMETOOLONG, -36, "file name too long")                                 \
    X(ENOSYS, -38, "function not supported by this system")                    \
    X(EPROTO, -71, "protocol error")                                           \
    X(ENOTSOCK, -88, "not a socket")                                           \
    X(EDESTADDRREQ, -89, "destination address required")                       \
    X(EMSGSIZE, -90, "message too long")                                       \
    X(EPROTOTYPE, -91, "protocol wrong type for socket")                       \
    X(EOPNOTSUPP, -95, "operation not supported")                              \
    X(EAFNOSUPPORT, -97, "address family not supported")                       \
    X(EADDRINUSE, -98, "address already in use")                               \
    X(EADDRNOTAVAIL, -99, "address not available")                             \
    X(ENETDOWN, -100, "network is down")                                       \
    X(ENETUNREACH, -101, "network is unreachable")                             \
    X(ECONNABORTED, -103, "connection aborted")                                \
    X(ECONNRESET, -104, "connection reset by peer")                            \
    X(ENOBUFS, -105, "no buffer space available")                              \
    X(EISCONN, -106, "socket is already connected")                            \
    X(ENOTCONN, -107, "socket is not connected")                               \
    X(ETIMEDOUT, -110, "connection timed out")                                 \
    X(ECONNREFUSED, -111, "connection refused")                                \
    X(EHOSTDOWN, -112, "host is down")                                         \
    X(EHOSTUNREACH, -113, "no route to host")                                  \
    X(EALREADY, -114, "operation already in progress")                         \
    X(EINPROGRESS, -115, "operation now in progress")                          \
    X(ECANCELED, -125, "operation canceled")

/* kairo's own codes. */
#define KR_ERR_MAP(X)                                                          \
    X(ESHUTDOWN, -4001, "runtime is shut down")                                \
    X(ECLOSED, -4002, "channel closed")                                        \
    X(EEMPTY, -4003, "channel empty")                                          \
    X(EFULL, -4004, "channel full")                                            \
    X(EOF, -4005, "end of file")                                               \
    X(ELAGGED, -4006, "receiver lagged behind")                                \
    X(ELAPSED, -4007, "deadline elapsed")                                      \
    X(ENOIO, -4008, "I/O is disabled on this runtime")                         \
    X(ENOTIME, -4009, "timers are disabled on this runtime")

enum {
#define KR__ERR_ENUM(name, value, msg) KR_##name = (value),
    KR_ERRNO_MAP(KR__ERR_ENUM) KR_ERR_MAP(KR__ERR_ENUM)
#undef KR__ERR_ENUM
};

/*
 * A message for any kairo return value: errors get their text (negated
 * errnos kairo does not list get strerror's), non-negative values "success".
 * Never returns NULL; the string is static.
 */
KR_API const char *kr_strerror(int err);

/* The symbolic name ("ECANCELED", "ESHUTDOWN"), "OK" for 0 and any other
 * non-negative value (as kr_strerror's "success"), or "UNKNOWN". Static
 * string. */
KR_API const char *kr_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_ERROR_H */
