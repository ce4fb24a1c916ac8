/*
 * os/child.c: kr_child: the wait future (a pidfd in the reactor, or
 * SIGCHLD), try_wait, signals, and freeing (kill-on-drop, the orphan
 * list).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/process.h"
#include "util/alloc.h"

/* ---- reaping ----------------------------------------------------------- */

static void decode(int st, kr_exit_status *s) {
    if (WIFEXITED(st)) {
        s->code = WEXITSTATUS(st);
        s->signal = 0;
    } else {
        s->code = -1;
        s->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    }
}

/* 1 reaped, 0 running, KR_ECHILD. `flags`: WNOHANG or 0. */
static int reap(kr_child *c, int flags) {
    if (c->reaped)
        return 1;
    for (;;) {
        int st;
        pid_t r = waitpid(c->pid, &st, flags);
        if (r == c->pid) {
            decode(st, &c->status);
            c->reaped = true;
            return 1;
        }
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

int kr_child_try_wait(kr_child *c, kr_exit_status *status) {
    if (c == NULL)
        return KR_EINVAL;
    int r = reap(c, WNOHANG);
    if (r == 1 && status != NULL)
        *status = c->status;
    return r;
}

/* ---- the orphan list --------------------------------------------------- */

static pthread_mutex_t orphan_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *orphans;
static size_t norphans, orphan_cap;

void kr__orphans_add(pid_t pid) {
    pthread_mutex_lock(&orphan_lock);
    if (norphans == orphan_cap) {
        size_t n = orphan_cap != 0 ? orphan_cap * 2 : 16;
        pid_t *p = kr__os_realloc(orphans, n * sizeof(pid_t));
        if (p != NULL) {
            orphans = p;
            orphan_cap = n;
        }
    }
    if (norphans < orphan_cap)
        orphans[norphans++] = pid;
    pthread_mutex_unlock(&orphan_lock);
}

void kr__orphans_reap(void) {
    pthread_mutex_lock(&orphan_lock);
    size_t w = 0;
    for (size_t i = 0; i < norphans; i++) {
        int st;
        pid_t r = waitpid(orphans[i], &st, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR))
            orphans[w++] = orphans[i];
    }
    norphans = w;
    if (norphans == 0) {
        kr__free(orphans);
        orphans = NULL;
        orphan_cap = 0;
    }
    pthread_mutex_unlock(&orphan_lock);
}

/* ---- signals and freeing ----------------------------------------------- */

int kr_child_signal(kr_child *c, int sig) {
    if (c == NULL || sig < 0 || sig >= NSIG)
        return KR_EINVAL;
    /* Not reaped: the pid is still ours (a zombie keeps it), so kill(2)
     * cannot reach a stranger. */
    if (c->reaped)
        return 0;
    return kill(c->pid, sig) == 0 ? 0 : -errno;
}

int kr_child_kill(kr_child *c) { return kr_child_signal(c, SIGKILL); }

int kr_child_id(const kr_child *c) {
    return c != NULL ? (int)c->pid : KR_EINVAL;
}

static kr_pipe *get(kr_child *c, int i, bool take) {
    if (c == NULL)
        return NULL;
    kr_pipe *p = c->stdio[i];
    if (take)
        c->stdio[i] = NULL;
    return p;
}

kr_pipe *kr_child_stdin(kr_child *c) { return get(c, 0, false); }
kr_pipe *kr_child_stdout(kr_child *c) { return get(c, 1, false); }
kr_pipe *kr_child_stderr(kr_child *c) { return get(c, 2, false); }
kr_pipe *kr_child_take_stdin(kr_child *c) { return get(c, 0, true); }
kr_pipe *kr_child_take_stdout(kr_child *c) { return get(c, 1, true); }
kr_pipe *kr_child_take_stderr(kr_child *c) { return get(c, 2, true); }

void kr_child_free(kr_child *c) {
    if (c == NULL)
        return;
    for (int i = 0; i < 3; i++)
        kr_pipe_free(c->stdio[i]);
    if (reap(c, WNOHANG) == 0) {
        if (c->kill_on_drop) {
            /* SIGKILL cannot be caught: the wait is the kernel tearing the
             * process down, not the program running on. */
            kill(c->pid, SIGKILL);
            reap(c, 0);
        } else {
            kr__orphans_add(c->pid);
        }
    }
    kr__orphans_reap();
    kr_async_fd_free(c->afd);
    if (c->pidfd >= 0)
        close(c->pidfd);
    kr_signal_listener_free(c->sigchld);
    kr__free(c);
}

/* ---- the wait future --------------------------------------------------- */

static kr_poll wait_done(kr_child_wait_future *w, void *out, int rc) {
    if (rc == 0 && w->status_ != NULL)
        *w->status_ = w->c_->status;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static kr_poll wait_poll(kr_future *f, kr_context *cx, void *out) {
    kr_child_wait_future *w = (kr_child_wait_future *)f;
    kr_child *c = w->c_;
    if (c == NULL)
        return wait_done(w, out, KR_EINVAL);
    if (c->stdio[0] != NULL) {
        kr_pipe_free(c->stdio[0]);
        c->stdio[0] = NULL;
    }
    for (;;) {
        int r = reap(c, WNOHANG);
        if (r != 0)
            return wait_done(w, out, r < 0 ? r : 0);
        if (c->sigchld != NULL) {
            /* No pidfd: every SIGCHLD is a reason to look again. */
            kr_signal_recv rv = kr_signal_listener_recv(c->sigchld);
            int rc = 0;
            if (kr_future_poll(&rv.base, cx, &rc) == KR_PENDING)
                return KR_PENDING;
            if (rc != 0)
                return wait_done(w, out, rc);
            continue;
        }
        if (c->afd == NULL) {
            int rc = kr_async_fd_new(c->pidfd, &c->afd);
            if (rc != 0) {
                c->afd = NULL;
                return wait_done(w, out, rc);
            }
        }
        kr_ready_event ev;
        int rd = kr_async_fd_poll_ready(c->afd, cx, KR_READABLE, &ev);
        if (rd < 0)
            return wait_done(w, out, rd);
        if (rd == 0)
            return KR_PENDING;
        r = reap(c, WNOHANG);
        if (r != 0)
            return wait_done(w, out, r < 0 ? r : 0);
        kr_async_fd_clear_ready(c->afd, ev);
    }
}

static const kr_future_vtable wait_vtable = {wait_poll, NULL,
                                             sizeof(kr_child_wait_future),
                                             sizeof(int), "kr_child_wait"};

kr_child_wait_future kr_child_wait(kr_child *c, kr_exit_status *status) {
    kr_child_wait_future w = {{&wait_vtable}, c, status};
    return w;
}
