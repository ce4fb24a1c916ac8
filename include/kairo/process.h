/*
 * kairo/process.h: child processes, as Tokio's tokio::process.
 *
 *     kr_command *cmd = kr_command_new("ls");
 *     kr_command_arg(cmd, "-l");
 *     kr_command_stdout(cmd, KR_STDIO_PIPE);
 *     kr_child *child;
 *     int rc = kr_command_spawn(cmd, &child);   // KR_ENOENT: no such program
 *     kr_command_free(cmd);
 *     ... await kr_pipe_read(kr_child_stdout(child), buf, n) ...
 *     ... await kr_child_wait(child, &status) ...
 *     kr_child_free(child);
 *
 * Spawning is posix_spawn(3) (vfork and exec: an exec failure is reported
 * by spawn itself, and glibc reaps the failed child at once). The program
 * is looked up in the parent's PATH unless it contains a '/'. The child
 * gets an empty signal mask and SIGPIPE at its default action.
 *
 * Reaping. Each child is watched through a pidfd (pidfd_open(2)) in the
 * reactor of the runtime that polls its wait; on kernels without pidfds, a
 * SIGCHLD listener (kairo/signal.h) wakes the waits instead. A child freed
 * before it was reaped is killed first if kill-on-drop is set (then reaped
 * at once: SIGKILL cannot be caught), else handed to an orphan list that
 * every later spawn and free reaps without blocking (as Tokio's orphan
 * queue). The process must not reap kairo's children itself (wait(-1),
 * SIGCHLD set to SIG_IGN): waits then fail with KR_ECHILD.
 *
 * Pipes are non-blocking and registered with the reactor at their first
 * poll; their futures follow the net streams' (kairo/net.h) shapes and
 * outputs. A write to a pipe whose reader is gone is KR_EPIPE and never
 * raises SIGPIPE in the parent.
 */
#ifndef KAIRO_PROCESS_H
#define KAIRO_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_command kr_command;
typedef struct kr_child kr_child;
typedef struct kr_pipe kr_pipe;

/* What the child's stdin, stdout or stderr is. */
typedef enum kr_stdio {
    KR_STDIO_INHERIT = 0, /* the parent's (the default) */
    KR_STDIO_NULL,        /* /dev/null */
    KR_STDIO_PIPE         /* a pipe to the parent: kr_child_stdin & co */
} kr_stdio;

/* How a child ended. `code` is its exit code (0..255) and `signal` 0, or
 * `code` is -1 and `signal` the signal that killed it. */
typedef struct kr_exit_status {
    int code;
    int signal;
} kr_exit_status;

/* ---- the command ------------------------------------------------------- */

/*
 * A command for `program` (argv[0] is `program` too). The setters below
 * copy their strings and return nothing: an allocation failure is kept
 * and reported by the next spawn (KR_ENOMEM). Returns NULL if `program` is
 * NULL or memory is short.
 */
KR_API kr_command *kr_command_new(const char *program);
KR_API void kr_command_free(kr_command *cmd);
/* Appends an argument. */
KR_API void kr_command_arg(kr_command *cmd, const char *arg);
/* Sets (or replaces) one environment variable of the child. */
KR_API void kr_command_env(kr_command *cmd, const char *key, const char *value);
/* Removes one variable from the child's environment. */
KR_API void kr_command_env_remove(kr_command *cmd, const char *key);
/* Starts the child's environment empty (later kr_command_env calls add to
 * it); forgets earlier env and env_remove calls. */
KR_API void kr_command_env_clear(kr_command *cmd);
/* The child's working directory (default: the parent's). A relative
 * program path is looked up from the parent's directory. */
KR_API void kr_command_cwd(kr_command *cmd, const char *dir);
KR_API void kr_command_stdin(kr_command *cmd, kr_stdio how);
KR_API void kr_command_stdout(kr_command *cmd, kr_stdio how);
KR_API void kr_command_stderr(kr_command *cmd, kr_stdio how);
/* Kill the child (SIGKILL) when its kr_child is freed unreaped. */
KR_API void kr_command_kill_on_drop(kr_command *cmd, bool on);

/*
 * Starts the program. Needs no runtime (the child's pidfd and pipes join
 * the reactor of the runtime that first polls them). The command may be
 * reused or freed afterwards. Returns 0, KR_EINVAL (NULL argument),
 * KR_ENOMEM, KR_ENOENT (no such program or cwd), KR_EACCES (not
 * executable), KR_ENOEXEC, KR_EMFILE / KR_ENFILE (no fd for a pipe), or
 * the errno posix_spawn(3) reported, negated. On failure no process is
 * left behind.
 */
KR_API int kr_command_spawn(kr_command *cmd, kr_child **out);

/* ---- the child --------------------------------------------------------- */

/* Closes the pipes not taken, frees; an unreaped child is killed (with
 * kill-on-drop) or orphaned (above). Drop its wait futures first. NULL is
 * ignored. */
KR_API void kr_child_free(kr_child *c);
/* The process id. */
KR_API int kr_child_id(const kr_child *c);
/* The parent's ends of piped stdio, or NULL (not piped, or taken). The
 * pipe stays the child's: it is closed by kr_child_free. */
KR_API kr_pipe *kr_child_stdin(kr_child *c);
KR_API kr_pipe *kr_child_stdout(kr_child *c);
KR_API kr_pipe *kr_child_stderr(kr_child *c);
/* Takes a pipe out of the child: the caller frees it (kr_pipe_free), e.g.
 * to close stdin and let the child see end of file. NULL if none. */
KR_API kr_pipe *kr_child_take_stdin(kr_child *c);
KR_API kr_pipe *kr_child_take_stdout(kr_child *c);
KR_API kr_pipe *kr_child_take_stderr(kr_child *c);

/*
 * Reaps the child if it has exited, without waiting. Returns 1 (exited:
 * *status filled if not NULL), 0 (still running), KR_EINVAL (NULL child),
 * KR_ECHILD (someone else reaped it).
 */
KR_API int kr_child_try_wait(kr_child *c, kr_exit_status *status);

/* Sends `sig` to the child. Returns 0 (also when it has already been
 * reaped: there is nothing left to signal), KR_EINVAL (NULL child, bad
 * signal), or the negated errno of kill(2). */
KR_API int kr_child_signal(kr_child *c, int sig);
/* kr_child_signal(c, SIGKILL). */
KR_API int kr_child_kill(kr_child *c);

/*
 * A future that completes when the child has exited (and is reaped),
 * writing its status to *status (if not NULL). Closes the child's stdin
 * pipe first, if not taken, so a child reading it is not left waiting (as
 * Tokio's Child::wait). Output: an int, 0, KR_EINVAL (NULL child),
 * KR_ECHILD, KR_ESHUTDOWN, or an error registering the pidfd. Cancel-safe;
 * completes at once once the child has been reaped.
 */
typedef struct kr_child_wait_future {
    kr_future base;
    kr_child *c_;
    kr_exit_status *status_;
} kr_child_wait_future;
KR_API kr_child_wait_future kr_child_wait(kr_child *c, kr_exit_status *status);

/* ---- pipes ------------------------------------------------------------- */

/* Closes the fd and frees (drop its futures first). NULL is ignored. */
KR_API void kr_pipe_free(kr_pipe *p);
KR_API int kr_pipe_fd(const kr_pipe *p);

/* read / write / write_all on a pipe, as the net streams' (fields
 * private). */
typedef struct kr_pipe_io {
    kr_future base;
    kr_pipe *p_;
    void *buf_;
    size_t len_;
    size_t done_;
} kr_pipe_io;

/* Reads at most len bytes. Output: an int64_t, the bytes read (> 0), 0 at
 * end of file (the child closed its end) or for len 0, or a negative code
 * (KR_EINVAL, KR_ESHUTDOWN, a read(2) errno). Cancel-safe. */
KR_API kr_pipe_io kr_pipe_read(kr_pipe *p, void *buf, size_t len);
/* Writes at most len bytes. Output: an int64_t, the bytes written (> 0),
 * 0 for len 0, KR_EPIPE (the child closed its end) or another negative
 * code. Cancel-safe. */
KR_API kr_pipe_io kr_pipe_write(kr_pipe *p, const void *buf, size_t len);
/* Writes all len bytes. Output: an int64_t, len, or a write's error. Not
 * cancel-safe. */
KR_API kr_pipe_io kr_pipe_write_all(kr_pipe *p, const void *buf, size_t len);

/* ---- output: run to completion, collect stdout and stderr ------------- */

typedef struct kr_output {
    kr_exit_status status;
    char *out; /* stdout, NUL-terminated (not counted in out_len) */
    size_t out_len;
    char *err; /* stderr, likewise */
    size_t err_len;
    bool truncated; /* one of them was cut at `limit`; the rest discarded */
} kr_output;

/* Frees the buffers of a kr_output filled by kr_command_output. */
KR_API void kr_output_free(kr_output *o);

/*
 * A future that spawns `cmd` at its first poll with stdout and stderr
 * piped (and stdin /dev/null unless set with kr_command_stdin), reads both
 * to end of file (at most `limit` bytes kept of each: the rest is read and
 * discarded, so the child never blocks on a full pipe), then waits for it.
 * `cmd` must stay valid until the first poll. Output: an int, 0 (*dst
 * filled: free it with kr_output_free), or an error of kr_command_spawn,
 * a read or the wait (*dst then holds nothing to free). Dropped early, it
 * frees the child (killed if the command has kill-on-drop).
 */
typedef struct kr_command_output_future {
    kr_future base;
    kr_command *cmd_;
    size_t limit_;
    kr_output *dst_;
    kr_child *child_;
    size_t cap_[2];
} kr_command_output_future;
KR_API kr_command_output_future kr_command_output(kr_command *cmd, size_t limit,
                                                  kr_output *dst);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_PROCESS_H */
