/*
 * kairo/fs.h: files and directories, asynchronously (Tokio's tokio::fs).
 *
 *     kr_file *f;
 *     kr_open_options o = kr_open_options_read();
 *     self->op = kr_fs_open("/etc/hostname", &o, &f);
 *     KR_AWAIT_INTO(&self->co, &self->op.base, cx, &self->rc); // 0 or -errno
 *     self->op = kr_file_read(f, self->buf, sizeof(self->buf));
 *     KR_AWAIT_INTO(&self->co, &self->op.base, cx, &self->n);  // bytes read
 *
 * Every operation is a kr_fs_op future whose output is an int64_t: a
 * result >= 0 (bytes read or written, a position, 0 for done) or a negative
 * errno (KR_ENOENT, -EISDIR, ...; kr_err_name/kr_strerror name them). The
 * operation runs on the runtime's blocking pool (kairo/blocking.h), as
 * Tokio's does, or, on a runtime whose I/O driver is io_uring
 * (kr_runtime_io_driver; docs/io_uring.md), as an io_uring operation on
 * the driver's ring, with no thread: open, read, write, read_at,
 * write_at, sync_all, sync_data, metadata, symlink_metadata, a file's
 * metadata, try_exists, create_dir, remove_file, remove_dir, rename,
 * hard_link and symlink, when polled in a task or a current-thread
 * block_on (a multi-thread block_on thread, which never turns the driver,
 * uses the pool); the other calls use the pool there too. Results, errors
 * and messages are the same either way (src/fs/job.h is the interface
 * between the two backends; the fs tests run on both).
 *
 * Arguments are copied when the call is made (paths, the options, the
 * bytes a write sends), so the caller's strings and write buffers may go at
 * once. A read's destination is the caller's until the future completes:
 * the pool thread reads into a buffer of the operation's own (a bounce
 * buffer) and the future copies it into the caller's on completion.
 *
 * Dropping an operation before it completes (cancellation): an operation
 * not yet started on the pool may still run, and one started runs to its
 * end, since a thread in read(2) cannot be stopped; what it does then is
 * done (a write written, a file created, a directory removed; a file it
 * opened is closed again), but its result is lost and it touches no memory of the caller's: the bounce
 * buffer and the copied arguments belong to the operation, which frees them
 * when the pool thread is done. The file it works on stays open until then
 * (an operation holds a reference to its kr_file), so kr_file_close after a
 * dropped read cannot let the read land on a reused descriptor. Should the
 * runtime shut down with the dropped operation still queued, unstarted, its
 * allocation is not freed (the pool has no hook for that; as kr_resolve).
 * On io_uring a dropped read is cancelled (io_uring's async cancel): it
 * consumes nothing from a FIFO, terminal or socket that had no data yet,
 * where a pool thread would take the bytes that come next; its buffer is
 * released only when the kernel has answered. Every other dropped
 * operation runs to its end there too, and a runtime freed with
 * operations in flight cancels them and waits for the kernel's answers
 * before it frees their memory.
 *
 * Ordering: operations on one kr_file that use its position (read, write,
 * seek, set_len with a write after it) must be awaited one after another;
 * two in flight at once run in either order. Positioned reads and writes
 * (kr_file_read_at, kr_file_write_at) may run concurrently.
 *
 * Errors and paths: the output is the errno alone. When an operation that
 * names a path fails, the thread that polled it to completion keeps a
 * message for people: kr_fs_last_error() returns e.g.
 * "open /tmp/x/y: no such file or directory" until the next fs failure on
 * that thread. Read it right after the await (a multi-thread task may move
 * to another thread at its next await).
 *
 * Threads: a kr_file or kr_dir may be used from any thread, one operation
 * at a time for the position-based ones (above). Polling an operation
 * outside a runtime completes it with KR_EINVAL.
 */
#ifndef KAIRO_FS_H
#define KAIRO_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The future every fs call returns. Output: int64_t (see above). Move it
 * only before its first poll (core.h); drop it once (KR_AWAIT does). */
typedef struct kr_fs_op {
    kr_future base;
    void *job_;
    int state_; /* 0 new, 1 submitted, 2 done */
    int err_;   /* an error found when the call was made */
} kr_fs_op;

/* An open file: a descriptor and a reference count the operations share. */
typedef struct kr_file kr_file;

/*
 * How to open a file, as Rust's OpenOptions. `mode` is used when a file is
 * created (0666 if 0, before the umask). create_new fails with KR_EEXIST if
 * the path exists (O_CREAT|O_EXCL; symlinks are not followed). append
 * implies write. truncate and create need write or append (else KR_EINVAL,
 * as Rust).
 */
typedef struct kr_open_options {
    bool read, write, append, truncate, create, create_new;
    unsigned mode;
} kr_open_options;

/* Read only: what File::open does. */
static inline kr_open_options kr_open_options_read(void) {
    kr_open_options o = {true, false, false, false, false, false, 0};
    return o;
}
/* Write, create, truncate: what File::create does. */
static inline kr_open_options kr_open_options_create(void) {
    kr_open_options o = {false, true, false, true, true, false, 0};
    return o;
}

/*
 * Opens `path`; on success *file receives the file (close it with
 * kr_file_close). Output: 0; KR_EINVAL (NULL argument, or options that
 * ask for nothing or for create/truncate without write); KR_ENOMEM; the
 * errno of open(2): KR_ENOENT, KR_EACCES, KR_EEXIST (create_new), -EISDIR
 * (a directory opened for writing), KR_ENOTDIR, ...
 */
KR_API kr_fs_op kr_fs_open(const char *path, const kr_open_options *opts,
                           kr_file **file);

/* Closes the caller's reference: the descriptor is closed now, or when the
 * last pending (dropped) operation on the file is done. NULL is ignored. */
KR_API void kr_file_close(kr_file *file);

/* The descriptor, for calls kairo has no wrapper for. */
KR_API int kr_file_fd(const kr_file *file);

/*
 * Reads up to `len` bytes at the file's position into `buf`, which must stay
 * valid until the future completes or is dropped. At most 2 MiB are read in
 * one call (Tokio's MAX_BUF): loop for more. Output: bytes read (0 at end
 * of file); KR_EINVAL (NULL file, or NULL buf with len > 0); KR_ENOMEM;
 * the errno of read(2) (KR_EBADF: the file is not open for reading;
 * -EISDIR).
 */
KR_API kr_fs_op kr_file_read(kr_file *file, void *buf, size_t len);
/* As kr_file_read, at `offset`, leaving the position alone (pread(2)). */
KR_API kr_fs_op kr_file_read_at(kr_file *file, void *buf, size_t len,
                                int64_t offset);
/*
 * Writes up to `len` bytes from `buf` (copied when called, at most 2 MiB)
 * at the file's position (at its end with append). Output: bytes written;
 * KR_EINVAL; KR_ENOMEM; the errno of write(2) (KR_EBADF: not open for
 * writing; -ENOSPC, -EFBIG, -EROFS, ...).
 */
KR_API kr_fs_op kr_file_write(kr_file *file, const void *buf, size_t len);
/* As kr_file_write, at `offset` (pwrite(2)). */
KR_API kr_fs_op kr_file_write_at(kr_file *file, const void *buf, size_t len,
                                 int64_t offset);
/* Moves the position (whence SEEK_SET, SEEK_CUR or SEEK_END). Output: the
 * new position; KR_EINVAL (NULL file, bad whence, a position before 0). */
KR_API kr_fs_op kr_file_seek(kr_file *file, int64_t offset, int whence);
/* fsync(2) / fdatasync(2). Output: 0; KR_EINVAL; KR_EIO; -EROFS... */
KR_API kr_fs_op kr_file_sync_all(kr_file *file);
KR_API kr_fs_op kr_file_sync_data(kr_file *file);
/* Truncates or extends to `len` bytes (ftruncate(2)). Output: 0;
 * KR_EINVAL (NULL file, len < 0, or not open for writing); -EFBIG. */
KR_API kr_fs_op kr_file_set_len(kr_file *file, int64_t len);

/* ---- metadata ------------------------------------------------------------ */

typedef enum kr_file_type {
    KR_FILE_TYPE_UNKNOWN = 0,
    KR_FILE_TYPE_FILE,
    KR_FILE_TYPE_DIR,
    KR_FILE_TYPE_SYMLINK,
    KR_FILE_TYPE_FIFO,
    KR_FILE_TYPE_SOCKET,
    KR_FILE_TYPE_CHAR_DEVICE,
    KR_FILE_TYPE_BLOCK_DEVICE
} kr_file_type;

/* What stat(2) says; times in nanoseconds since the Unix epoch. */
typedef struct kr_metadata {
    kr_file_type type;
    uint32_t mode; /* permission bits (and set-id, sticky): st_mode & 07777 */
    uint64_t size;
    uint64_t nlink, ino, dev;
    uint32_t uid, gid;
    int64_t atime_ns, mtime_ns, ctime_ns;
} kr_metadata;

/* stat(2): follows symlinks. Output: 0; KR_EINVAL; KR_ENOENT; KR_EACCES;
 * KR_ENOTDIR; KR_ENAMETOOLONG. *md is written only on success. */
KR_API kr_fs_op kr_fs_metadata(const char *path, kr_metadata *md);
/* lstat(2): a symlink describes itself (Rust's symlink_metadata). */
KR_API kr_fs_op kr_fs_symlink_metadata(const char *path, kr_metadata *md);
/* fstat(2) of an open file. Output: 0; KR_EINVAL; KR_EIO. */
KR_API kr_fs_op kr_file_metadata(kr_file *file, kr_metadata *md);
/* Whether `path` exists (following symlinks). Output: 1, 0 (KR_ENOENT or
 * KR_ENOTDIR on the way), or another error (KR_EACCES...), as
 * Rust's try_exists. */
KR_API kr_fs_op kr_fs_try_exists(const char *path);

/* ---- directories ----------------------------------------------------------- */

/* An open directory read as a stream. */
typedef struct kr_dir kr_dir;

typedef struct kr_dir_entry {
    char name[256];    /* NUL-terminated; never "." or ".." */
    kr_file_type type; /* from d_type: KR_FILE_TYPE_UNKNOWN if the file
                        * system does not say (then stat the entry) */
    uint64_t ino;
} kr_dir_entry;

/* Opens directory `path` for kr_dir_next; *dir receives it (kr_dir_close).
 * Output: 0; KR_EINVAL; KR_ENOMEM; KR_ENOENT; KR_ENOTDIR; KR_EACCES. */
KR_API kr_fs_op kr_fs_read_dir(const char *path, kr_dir **dir);
/*
 * The next entry, into *entry (valid until the future completes or is
 * dropped). Entries are read from the pool 128 at a time; those already
 * read are answered on the first poll without the pool. Output: 1 (an
 * entry), 0 (no more), KR_EINVAL, KR_ENOMEM, KR_EIO. One call at a time
 * per directory.
 */
KR_API kr_fs_op kr_dir_next(kr_dir *dir, kr_dir_entry *entry);
/* Closes the directory (as kr_file_close). NULL is ignored. */
KR_API void kr_dir_close(kr_dir *dir);

/* mkdir(2) with mode 0777 (before the umask). Output: 0; KR_EEXIST;
 * KR_ENOENT (no parent); KR_ENOTDIR; KR_EACCES; KR_EINVAL. */
KR_API kr_fs_op kr_fs_create_dir(const char *path);
/* Makes every missing directory of `path`; an existing directory is fine.
 * Output: 0; KR_EEXIST (a component is not a directory: KR_ENOTDIR);
 * KR_EACCES; KR_EINVAL. */
KR_API kr_fs_op kr_fs_create_dir_all(const char *path);
/* unlink(2). Output: 0; KR_ENOENT; -EISDIR; KR_EACCES; KR_EPERM. */
KR_API kr_fs_op kr_fs_remove_file(const char *path);
/* rmdir(2). Output: 0; KR_ENOENT; KR_ENOTDIR; -ENOTEMPTY. */
KR_API kr_fs_op kr_fs_remove_dir(const char *path);
/* Removes a directory and everything in it (symlinks are removed, not
 * followed). Output: 0; KR_ENOENT; KR_ENOTDIR; KR_EACCES; KR_ENOMEM. */
KR_API kr_fs_op kr_fs_remove_dir_all(const char *path);
/* rename(2). Output: 0; KR_ENOENT; -EISDIR; -ENOTEMPTY; -EXDEV; ... */
KR_API kr_fs_op kr_fs_rename(const char *from, const char *to);
/* link(2): `to` becomes another name of `from`. Output: 0; KR_EEXIST;
 * KR_ENOENT; KR_EPERM (a directory); -EXDEV. */
KR_API kr_fs_op kr_fs_hard_link(const char *from, const char *to);
/* symlink(2): makes `link` a symbolic link whose text is `target`.
 * Output: 0; KR_EEXIST; KR_ENOENT. */
KR_API kr_fs_op kr_fs_symlink(const char *target, const char *link);
/*
 * readlink(2) into buf (NUL-terminated). Output: the length of the text
 * (without the NUL); KR_EINVAL (not a symlink, NULL argument);
 * KR_ENOENT; KR_ERANGE (cap too small for the text and its NUL).
 */
KR_API kr_fs_op kr_fs_read_link(const char *path, char *buf, size_t cap);
/* realpath(3) into buf, as kr_fs_read_link. Output: its length;
 * KR_ENOENT; KR_ERANGE; KR_EACCES. */
KR_API kr_fs_op kr_fs_canonicalize(const char *path, char *buf, size_t cap);
/*
 * Copies the contents and permission bits of file `from` to `to`
 * (created or truncated), with copy_file_range(2) where the kernel can
 * (then no byte crosses user space), read/write otherwise. Output: bytes
 * copied; KR_ENOENT; -EISDIR; KR_EACCES; KR_EINVAL (from is not a
 * regular file).
 */
KR_API kr_fs_op kr_fs_copy(const char *from, const char *to);

/*
 * Reads the whole of `path` (Tokio's fs::read): on success *data receives
 * a buffer of *len bytes plus a NUL after them (for text), to be freed
 * with kr_fs_free; on failure *data is NULL. A file longer than `limit`
 * bytes is not read: the output is -EFBIG. Output: the length; KR_ENOENT;
 * -EISDIR; KR_EACCES; KR_ENOMEM; -EFBIG.
 */
KR_API kr_fs_op kr_fs_read(const char *path, size_t limit, void **data,
                           size_t *len);
/* Frees what kr_fs_read returned. NULL is ignored. */
KR_API void kr_fs_free(void *data);
/*
 * Writes `len` bytes (copied when called) as the whole of `path`, created
 * or truncated, mode 0666 before the umask (Tokio's fs::write). Output: 0;
 * KR_ENOENT (no parent); -EISDIR; KR_EACCES; KR_ENOMEM; -ENOSPC.
 */
KR_API kr_fs_op kr_fs_write(const char *path, const void *data, size_t len);

/*
 * The message of the last fs operation that completed with an error on the
 * calling thread, naming the operation and its path(s), e.g.
 * "open /tmp/x: no such file or directory"; "" if none did. The text stays
 * until the next fs failure on this thread.
 */
KR_API const char *kr_fs_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_FS_H */
