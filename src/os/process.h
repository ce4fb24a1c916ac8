/*
 * os/process.h: what the files of kairo/process.h share: the command, the
 * child, the pipe, and the orphan list.
 */
#ifndef KR_OS_PROCESS_H
#define KR_OS_PROCESS_H

#include <sys/types.h>

#include "kairo.h"
#include "kairo/process.h"
#include "kairo/signal.h"
#include "util/alloc.h"

/* realloc through the installed allocator (kr_set_allocator). */
static inline void *kr__os_realloc(void *p, size_t n) {
    return kr__allocator.realloc(p, n);
}

/* One environment change, in the order given. value NULL: a removal. */
typedef struct kr__env_op {
    char *key;
    char *value;
} kr__env_op;

struct kr_command {
    char **argv; /* argc entries then NULL */
    size_t argc, argv_cap;
    kr__env_op *env;
    size_t nenv, env_cap;
    bool env_clear;
    char *cwd;
    kr_stdio stdio[3];
    bool stdio_set[3];
    bool kill_on_drop;
    int err; /* the first setter failure, reported by spawn */
};

struct kr_pipe {
    int fd;
    kr_async_fd *afd; /* NULL until the first poll */
};

struct kr_child {
    pid_t pid;
    int pidfd;                   /* -1 without pidfd support */
    kr_async_fd *afd;            /* on pidfd; NULL until the first wait */
    kr_signal_listener *sigchld; /* without pidfds */
    bool reaped, kill_on_drop;
    kr_exit_status status;
    kr_pipe *stdio[3];
};

/* Wraps a non-blocking fd; NULL (fd closed) when memory is short. */
kr_pipe *kr__pipe_new(int fd);

/*
 * One non-blocking read (KR_READABLE) or write on the pipe, registering it
 * with the polling task's reactor at the first use. Returns 1 with *res the
 * syscall's result (bytes, or a negative code), 0 if pending (waker
 * stored).
 */
int kr__pipe_poll_io(kr_pipe *p, kr_context *cx, int interest, void *buf,
                     size_t len, int64_t *res);

/* Reaps what the orphan list holds, without blocking. */
void kr__orphans_reap(void);
/* Adds an unreaped pid for kr__orphans_reap. */
void kr__orphans_add(pid_t pid);

#endif
