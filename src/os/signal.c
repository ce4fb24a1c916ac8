/*
 * os/signal.c: signal listeners (kairo/signal.h).
 *
 * Protocol. `deliveries[sig]` is written only by the handler (one
 * fetch_add, release) and read by listeners (acquire): a listener that
 * sees a new count completes a recv. After the add the handler writes 1 to
 * the eventfd; each listener watches a dup of it in its reactor
 * (edge-triggered: every eventfd write is a new edge for every
 * registration). A listener re-reads the count after clearing readiness,
 * so a delivery whose eventfd edge it consumed or cleared is still seen:
 * either the count was already bumped when it looked (seen), or the write
 * comes after the clear (a new edge, a new wake).
 *
 * `lock` guards the listener counts, the saved dispositions and the
 * creation of the eventfd; the handler never takes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "kairo/error.h"
#include "kairo/signal.h"
#include "util/alloc.h"
#include "util/atomic.h"

#define NSIGNALS 65

struct kr_signal_listener {
    int signum;
    int fd; /* our dup of the eventfd; -1 until the first poll */
    kr_async_fd *afd;
    uint64_t seen; /* the delivery count this listener has consumed */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t deliveries[NSIGNALS];
static _Atomic int wake_fd = -1; /* the eventfd; never closed once made */
static int listeners[NSIGNALS];
static struct sigaction saved[NSIGNALS];

static void handler(int sig) {
    int saved_errno = errno;
    if (sig > 0 && sig < NSIGNALS)
        kr__fetch_add_acqrel(&deliveries[sig], 1);
    uint64_t one = 1;
    ssize_t n = write(kr__load_relaxed(&wake_fd), &one, sizeof(one));
    (void)n; /* EAGAIN at a saturated counter still leaves it readable */
    errno = saved_errno;
}

static bool allowed(int sig) {
    if (sig <= 0 || sig >= NSIGNALS || sig >= NSIG)
        return false;
    switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
        return false;
    default:
        return true;
    }
}

int kr_signal_listen(int signum, kr_signal_listener **out) {
    if (out == NULL || !allowed(signum))
        return KR_EINVAL;
    kr_signal_listener *l = kr__malloc(sizeof(*l));
    if (l == NULL)
        return KR_ENOMEM;
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (kr__load_relaxed(&wake_fd) < 0) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0)
            rc = -errno;
        else
            kr__store_relaxed(&wake_fd, fd);
    }
    if (rc == 0 && listeners[signum] == 0) {
        struct sigaction sa = {0};
        sa.sa_handler = handler;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(signum, &sa, &saved[signum]) != 0)
            rc = -errno;
    }
    if (rc == 0) {
        listeners[signum]++;
        /* After the handler is in place: every delivery from here on is
         * counted past `seen`. */
        l->seen = kr__load_acquire(&deliveries[signum]);
    }
    pthread_mutex_unlock(&lock);
    if (rc != 0) {
        kr__free(l);
        return rc;
    }
    l->signum = signum;
    l->fd = -1;
    l->afd = NULL;
    *out = l;
    return 0;
}

void kr_signal_listener_free(kr_signal_listener *l) {
    if (l == NULL)
        return;
    pthread_mutex_lock(&lock);
    if (--listeners[l->signum] == 0)
        sigaction(l->signum, &saved[l->signum], NULL);
    pthread_mutex_unlock(&lock);
    kr_async_fd_free(l->afd);
    if (l->fd >= 0)
        close(l->fd);
    kr__free(l);
}

int kr_signal_listener_signum(const kr_signal_listener *l) {
    return l != NULL ? l->signum : KR_EINVAL;
}

/* True (and consumed) if a delivery arrived since the last one seen. */
static bool take_delivery(kr_signal_listener *l) {
    uint64_t now = kr__load_acquire(&deliveries[l->signum]);
    if (now == l->seen)
        return false;
    l->seen = now;
    return true;
}

static int attach(kr_signal_listener *l) {
    int fd = fcntl(kr__load_relaxed(&wake_fd), F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = kr_async_fd_new(fd, &l->afd);
    if (rc != 0) {
        close(fd);
        l->afd = NULL;
        return rc;
    }
    l->fd = fd;
    return 0;
}

static kr_poll recv_finish(void *out, int rc) {
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static kr_poll recv_poll(kr_future *f, kr_context *cx, void *out) {
    kr_signal_listener *l = ((kr_signal_recv *)f)->l_;
    if (l == NULL)
        return recv_finish(out, KR_EINVAL);
    if (take_delivery(l))
        return recv_finish(out, 0);
    if (l->afd == NULL) {
        int rc = attach(l);
        if (rc != 0)
            return recv_finish(out, rc);
    }
    for (;;) {
        kr_ready_event ev;
        int r = kr_async_fd_poll_ready(l->afd, cx, KR_READABLE, &ev);
        if (r < 0)
            return recv_finish(out, r);
        if (take_delivery(l))
            return recv_finish(out, 0);
        if (r == 0)
            return KR_PENDING;
        /* An edge for a delivery already consumed (or another signal's):
         * drain our view of the counter and clear, then look again. */
        uint64_t v;
        ssize_t n = read(l->fd, &v, sizeof(v));
        (void)n;
        kr_async_fd_clear_ready(l->afd, ev);
        if (take_delivery(l))
            return recv_finish(out, 0);
    }
}

static const kr_future_vtable recv_vtable = {
    recv_poll, NULL, sizeof(kr_signal_recv), sizeof(int), "kr_signal_recv"};

kr_signal_recv kr_signal_listener_recv(kr_signal_listener *l) {
    kr_signal_recv r = {{&recv_vtable}, l};
    return r;
}

/* ---- ctrl_c ---------------------------------------------------------- */

static kr_poll ctrl_c_poll(kr_future *f, kr_context *cx, void *out) {
    kr_ctrl_c_future *c = (kr_ctrl_c_future *)f;
    if (c->l_ == NULL) {
        int rc = kr_signal_listen(SIGINT, &c->l_);
        if (rc != 0)
            return recv_finish(out, rc);
        c->recv_ = kr_signal_listener_recv(c->l_);
    }
    return kr_future_poll(&c->recv_.base, cx, out);
}

static void ctrl_c_drop(kr_future *f) {
    kr_ctrl_c_future *c = (kr_ctrl_c_future *)f;
    kr_signal_listener_free(c->l_);
    c->l_ = NULL;
}

static const kr_future_vtable ctrl_c_vtable = {ctrl_c_poll, ctrl_c_drop,
                                               sizeof(kr_ctrl_c_future),
                                               sizeof(int), "kr_ctrl_c"};

kr_ctrl_c_future kr_ctrl_c(void) {
    kr_ctrl_c_future c = {{&ctrl_c_vtable}, NULL, {{&recv_vtable}, NULL}};
    return c;
}
