/*
 * aof_file.h: kairo-redis's append-only file: the writer that makes writes
 * durable, the loader that replays the file at start, and the background
 * rewrite (BGREWRITEAOF).
 *
 * The file is a sequence of commands in RESP (`*N\r\n$L\r\n...\r\n`), as
 * Redis's AOF without the RDB preamble and without Redis 7's multi-part
 * manifest: one file, `dir`/`appendfilename`. A `SELECT n` precedes the
 * commands of a database other than the last one written; a transaction
 * is written between MULTI and EXEC.
 *
 * Writing: a command that changed the dataset is fed (rd_aof_feed) while
 * the command's effects are being applied, under whatever serialises
 * commands, so the file's order is the execution order. Feeding only
 * copies bytes into a buffer under the AOF's mutex. One writer, a job on
 * the runtime's blocking pool (kairo/blocking.h), so no worker ever waits
 * on the disk, takes the whole buffer, write(2)s it and, for
 * `appendfsync always`, fdatasync(2)s it before it advances the durable
 * offset: every client whose commands were fed while the previous write
 * was on its way shares the next fsync (group commit).
 *
 * Acknowledging: a connection that executed commands reads rd_aof_offset()
 * after them and awaits an rd_aof_wait for that offset BEFORE it writes the
 * replies. Under `always` the wait completes once the bytes are on disk, so
 * a reply the client has seen is never lost to kill -9; under `everysec`
 * and `no` it is ready at once (the file is fsynced once a second, or when
 * the kernel likes).
 *
 * Errors: a failed write under `always` is fatal, as in Redis (the server
 * cannot acknowledge what it cannot persist): the writer logs it and exits
 * the process with status 1. Under `everysec`/`no` it logs the error,
 * truncates the partial write away and retries a second later;
 * rd_aof_write_error() reports it meanwhile (for INFO and for refusing
 * writes, as Redis's MISCONF).
 *
 * Rewrite: rd_aof_rewrite_start forks (as Redis): the child writes a
 * snapshot of the dataset through a callback into a temporary file while
 * the parent goes on serving; what is fed meanwhile is also kept in a
 * rewrite buffer; when the child is done the writer appends the buffer to
 * the new file, fsyncs it and renames it over the old one, all off the
 * workers. Clients are never blocked, except for the short copy of the
 * last part of the buffer.
 */
#ifndef KAIRO_REDIS_AOF_FILE_H
#define KAIRO_REDIS_AOF_FILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <kairo.h>

typedef enum rd_fsync {
    RD_FSYNC_NO = 0,
    RD_FSYNC_EVERYSEC = 1,
    RD_FSYNC_ALWAYS = 2
} rd_fsync;

/* "always", "everysec", "no" -> policy; -1 for anything else. */
int rd_fsync_parse(const char *s);
const char *rd_fsync_name(rd_fsync f);

/* Where the AOF's lines go (default: stderr, Redis's format). `level` is
 * Redis's: 0 debug, 1 verbose, 2 notice, 3 warning. */
typedef void (*rd_aof_log_fn)(int level, const char *msg);
void rd_aof_set_log(rd_aof_log_fn fn);

/* ---- RESP encoding ------------------------------------------------------- */

/* A growable byte buffer. */
typedef struct rd_buf {
    char *p;
    size_t len, cap;
} rd_buf;

/* Appends `len` bytes / a command as a RESP array of bulk strings. Return 0
 * or KR_ENOMEM (then the buffer is as before). */
int rd_buf_put(rd_buf *b, const void *bytes, size_t len);
int rd_buf_put_cmd(rd_buf *b, int argc, const char *const *argv,
                   const size_t *lens);
/* Convenience for literal commands: rd_buf_put_cmdv(b, 3, "SET", "k", "v"),
 * each argument NUL-terminated. */
int rd_buf_put_cmdv(rd_buf *b, int argc, ...);
void rd_buf_free(rd_buf *b);

/* ---- loading ------------------------------------------------------------- */

/* Called for every command of the file, in order (the commands of a
 * transaction only once its EXEC was read, MULTI and EXEC themselves
 * not). argv[i] holds lens[i] bytes followed by a NUL. Return 0, or a
 * negative code to stop loading (rd_aof_load then returns it). */
typedef int (*rd_aof_cmd_fn)(void *ud, int argc, char **argv, size_t *lens);

typedef struct rd_aof_load_info {
    uint64_t commands;  /* commands passed to the callback */
    uint64_t size;      /* the file's size after loading (and truncating) */
    uint64_t truncated; /* bytes cut from a torn tail, 0 if none */
} rd_aof_load_info;

/*
 * Replays `path` through `fn`. A missing file is an empty one (output 0,
 * nothing replayed). A file that ends inside a command (the process died
 * mid-write) or inside a transaction: with `load_truncated` (Redis's
 * aof-load-truncated, default yes) the file is truncated after its last
 * complete command (before the unfinished MULTI) with a log line, as
 * `redis-check-aof --fix` would, and loading succeeds; without, it is an
 * error. Blocking file I/O: call it before serving, or from a blocking job.
 *
 * Returns 0; KR_EINVAL (a malformed command: "Bad file format ..." is
 * logged; or a torn tail without load_truncated); the errno of open, read
 * or truncate; KR_ENOMEM; or what `fn` returned.
 */
int rd_aof_load(const char *path, bool load_truncated, rd_aof_cmd_fn fn,
                void *ud, rd_aof_load_info *info);

/* ---- writing ------------------------------------------------------------- */

typedef struct rd_aof rd_aof;

/*
 * Opens (creates) `path` for appending and starts the writer on the
 * blocking pool of `rt`. Returns 0; KR_EINVAL; KR_ENOMEM; the errno of
 * open(2); what kr_runtime_spawn_blocking returns.
 */
int rd_aof_open(const char *path, rd_fsync policy, kr_runtime *rt,
                rd_aof **out);

/* Appends one command for database `db` (a SELECT first if the last one
 * written was for another). Thread-safe; never blocks on the disk. */
void rd_aof_feed(rd_aof *a, int db, int argc, const char *const *argv,
                 const size_t *lens);

/* The offset just after everything fed so far (bytes since the open). */
uint64_t rd_aof_offset(rd_aof *a);
/* The offset the writer has made durable (written and, under `always` and
 * `everysec`, fsynced). */
uint64_t rd_aof_durable(rd_aof *a);
rd_fsync rd_aof_policy(rd_aof *a);
/* Changes the policy (CONFIG SET appendfsync). */
void rd_aof_set_policy(rd_aof *a, rd_fsync policy);
/* 0, or the negative errno of the last failed write or fsync. */
int rd_aof_write_error(rd_aof *a);
/* The file's size as the writer knows it (INFO's aof_current_size). */
uint64_t rd_aof_size(rd_aof *a);

/*
 * A future that completes once the writer has made `offset` durable, under
 * `always`; at once under `everysec` and `no` (and if `a` is NULL, the AOF
 * being off). Output: int, 0. It holds a node in the AOF's waiter list
 * from its first PENDING poll; drop it (kr_future_drop, or KR_AWAIT does)
 * to unlink it. Move it only before its first poll.
 */
typedef struct rd_aof_wait {
    kr_future base;
    rd_aof *aof_;
    uint64_t offset_;
    struct rd_aof_wait *next_, *prev_;
    /* On a->waiters. Written under a->mu only; the writer clears it with
     * release after it has moved waker_ out, so a drop that reads false
     * with acquire (no lock) owns the node and its waker again. */
    _Atomic bool linked_;
    kr_waker waker_;
} rd_aof_wait;

void rd_aof_wait_init(rd_aof_wait *w, rd_aof *a, uint64_t offset);

/*
 * Writes and fsyncs everything fed, stops the writer and closes the file
 * (shutdown: SIGINT, SIGTERM, SHUTDOWN). Blocks the calling thread until
 * the writer is done. Waiters still linked complete. Returns 0 or the
 * error of the last write/fsync. `a` is freed.
 */
int rd_aof_close(rd_aof *a);
/* As rd_aof_close, without freeing: `a` stays valid (waiters, offsets,
 * stats still answer; a feed after it is a bug) until rd_aof_close. For a
 * server whose connection tasks may still hold waiters on it. */
int rd_aof_stop(rd_aof *a);

/* ---- rewrite ------------------------------------------------------------- */

/* Runs in the forked child: writes the whole dataset as commands into `fd`
 * (with rd_aof_write_all). Return 0 or a negative errno. The child has one
 * thread and must not use the runtime. */
typedef int (*rd_aof_snapshot_fn)(void *ud, int fd);

/* write(2) of all `len` bytes (retrying short writes and EINTR): 0 or a
 * negative errno. */
int rd_aof_write_all(int fd, const void *p, size_t len);

/*
 * Starts a background rewrite. Call it with command execution stopped
 * (under the keyspace lock): the fork's snapshot and the start of the
 * rewrite buffer must be the same instant. Returns 0; KR_EBUSY (one is in
 * progress); the errno of fork(2) or open(2).
 */
int rd_aof_rewrite_start(rd_aof *a, rd_aof_snapshot_fn fn, void *ud);

typedef struct rd_aof_stats {
    bool rewrite_in_progress;
    int last_rewrite_status; /* 0 ok, else the negative errno */
    uint64_t rewrites;       /* completed */
    int64_t last_rewrite_ms; /* duration of the last one, -1 before */
    uint64_t base_size;      /* size after the last rewrite (or open) */
} rd_aof_stats;

void rd_aof_get_stats(rd_aof *a, rd_aof_stats *st);

/* Blocks the calling thread (not a worker!) until no rewrite is in
 * progress; returns the last rewrite's status. For tests and SAVE done
 * from a blocking job. */
int rd_aof_rewrite_wait(rd_aof *a);

#endif
