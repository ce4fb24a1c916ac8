/*
 * kairo/signal.h: Unix signals as futures.
 *
 * A listener (kr_signal_listen) registers interest in one signal; each
 * kr_signal_listener_recv future on it completes at the next delivery of
 * that signal the listener has not yet seen. Any number of listeners may
 * listen to one signal; each sees every delivery that arrives after it was
 * created. Deliveries that arrive while a listener is not being polled
 * coalesce: a listener that missed 1,000 SIGUSR1s completes one recv and
 * then waits for the next new one (as Tokio's Signal::recv; the kernel
 * coalesces standard signals the same way).
 *
 * How. The first listener of a signal installs a process-wide handler with
 * sigaction(2) (the previous disposition is saved). The handler, which may
 * run in any thread of the process, bumps a per-signal delivery count and
 * writes to one process-wide eventfd; every listener watches its own
 * duplicate of that eventfd in the reactor of the runtime that polls it,
 * so a delivery wakes each pending listener through its own reactor. No
 * signal mask is changed: the process's other threads (runtime or not)
 * keep their masks, and whichever thread the kernel picks runs the
 * handler, which only touches an atomic and the eventfd (async-signal-
 * safe, errno preserved). A thread that has the signal blocked simply does
 * not take it.
 *
 * No listener. When the last listener of a signal is freed, the saved
 * disposition is restored (the default action for a program that had none,
 * so a SIGINT then terminates the process as usual). A delivery while no
 * listener exists takes that disposition; it is not remembered for
 * listeners created later. (Tokio, by contrast, keeps its handler forever
 * once installed.)
 *
 * Not allowed: SIGKILL, SIGSTOP (no handler possible) and SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE (a handler that returns would re-run the faulting
 * instruction): KR_EINVAL.
 */
#ifndef KAIRO_SIGNAL_H
#define KAIRO_SIGNAL_H

#include "core.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_signal_listener kr_signal_listener;

/*
 * Starts listening to `signum`. Needs no runtime (the reactor registration
 * happens at the first poll of a recv, on the polling task's runtime; a
 * listener stays with that runtime afterwards). Returns 0, KR_EINVAL (NULL
 * out, a signal number out of range or not allowed, above), KR_ENOMEM, or
 * the negated errno of eventfd(2) or sigaction(2).
 */
KR_API int kr_signal_listen(int signum, kr_signal_listener **out);

/* Stops listening and frees; the last listener of its signal restores the
 * saved disposition. Drop the listener's recv futures first. NULL is
 * ignored. */
KR_API void kr_signal_listener_free(kr_signal_listener *l);

/* The signal number it listens to. */
KR_API int kr_signal_listener_signum(const kr_signal_listener *l);

/*
 * A future that completes at the next delivery the listener has not seen
 * (at once if one arrived since the listener's last completed recv, or
 * since it was created). Output: an int, 0, or KR_EINVAL (NULL listener),
 * KR_ESHUTDOWN (its runtime was shut down), KR_ENOMEM, or the negated errno
 * of dup(2) or epoll_ctl(2) at the first poll. Cancel-safe: a recv dropped
 * while pending loses nothing (the delivery is seen by the next recv).
 */
typedef struct kr_signal_recv {
    kr_future base;
    kr_signal_listener *l_;
} kr_signal_recv;
KR_API kr_signal_recv kr_signal_listener_recv(kr_signal_listener *l);

/*
 * A future that completes at the first SIGINT after its first poll (the
 * listener is created then, and freed when the future is dropped), like
 * tokio::signal::ctrl_c. Output: an int, 0 or an error of kr_signal_listen
 * or of a recv.
 */
typedef struct kr_ctrl_c_future {
    kr_future base;
    kr_signal_listener *l_;
    kr_signal_recv recv_;
} kr_ctrl_c_future;
KR_API kr_ctrl_c_future kr_ctrl_c(void);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_SIGNAL_H */
