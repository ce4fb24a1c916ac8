/*
 * fs/job.h: the interface between the fs futures (fs.c) and the backend
 * that performs their operations.
 *
 * An operation is a job description, plain data: an opcode, the
 * descriptor, copied paths, a length, an offset, flags, and a bounce
 * buffer the job owns. The backend is an ops table of three entries:
 *
 *   submit  starts the job. The backend takes a reference (job_ref) for as
 *           long as it uses the job, and drops it when done.
 *   poll    READY once the job's `res` (and its other outputs) are final;
 *           PENDING after arranging for cx's waker to be woken.
 *   detach  the future is gone: the job may still be running; the backend
 *           lets it finish and drops its reference then (the future has
 *           dropped its own).
 *
 * Two backends; kr__fs_backend_for picks one per job, at its submission.
 * The blocking backend (pool.c) submits kr__fs_exec(job) to the blocking
 * pool. The io_uring backend (ring.c), where the runtime's driver has
 * completion operations (core/io_op.h: the io_uring driver), turns the
 * description into one (its fields were chosen to map onto one: fd, off,
 * buf/len, path, flags, mode); an opcode with no io_uring equivalent
 * (read_dir, remove_dir_all, copy, set_len, ...) or one the kernel lacks
 * goes to the blocking backend instead. Nothing above this file changes.
 *
 * Memory: a job is reference-counted (the future holds one, a running
 * backend one); whatever the kernel writes (buf, st, the dir batch) is in
 * the job, never in the caller's memory, so a dropped future cannot leave
 * a thread writing to freed memory.
 */
#ifndef KR_FS_JOB_H
#define KR_FS_JOB_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/io_op.h"
#include "kairo/fs.h"
#include "kairo/runtime.h"
#include "util/spinlock.h"

typedef enum kr__fs_opcode {
    KR__FS_OPEN,
    KR__FS_READ,
    KR__FS_PREAD,
    KR__FS_WRITE,
    KR__FS_PWRITE,
    KR__FS_SEEK,
    KR__FS_FSYNC,
    KR__FS_FDATASYNC,
    KR__FS_SET_LEN,
    KR__FS_STAT,
    KR__FS_LSTAT,
    KR__FS_FSTAT,
    KR__FS_EXISTS,
    KR__FS_OPENDIR,
    KR__FS_READDIR,
    KR__FS_MKDIR,
    KR__FS_MKDIR_ALL,
    KR__FS_UNLINK,
    KR__FS_RMDIR,
    KR__FS_RMDIR_ALL,
    KR__FS_RENAME,
    KR__FS_LINK,
    KR__FS_SYMLINK,
    KR__FS_READLINK,
    KR__FS_REALPATH,
    KR__FS_COPY,
    KR__FS_READ_ALL,
    KR__FS_WRITE_ALL
} kr__fs_opcode;

/* The state a kr_file and a kr_dir share with the jobs working on them. */
typedef struct kr__fs_handle {
    _Atomic int refs;
    int fd;
    DIR *dir; /* a kr_dir's stream (it owns fd then) */
} kr__fs_handle;

/* Entries one READDIR job reads. */
#define KR__FS_DIR_BATCH 128

typedef struct kr__fs_job {
    _Atomic int refs;
    kr__fs_opcode op;
    kr__fs_handle *h;   /* the file or dir worked on, one reference; or NULL */
    char *path, *path2; /* copied, owned */
    int flags;          /* open(2) flags; the whence of a seek */
    unsigned mode;
    int64_t off; /* pread/pwrite/seek offset, set_len length */
    size_t len;  /* bytes asked for; the read_all limit; readlink cap */
    void *buf;   /* bounce buffer, owned (a read_all result: handed over) */
    /* Outputs. */
    int64_t res; /* >= 0, or a negative errno */
    int fd_out;  /* OPEN / OPENDIR */
    DIR *dir_out;
    struct stat st;
    kr_dir_entry *ents; /* READDIR: up to KR__FS_DIR_BATCH, owned */
    size_t nents;
    /* Future side (fs.c), never touched by a backend: where the outputs go,
     * and the backend the job was submitted to. */
    void *dest, *dest2;
    const struct kr__fs_backend *be;
    kr_join_handle join_; /* blocking backend private */
    /* io_uring backend private (ring.c): the op, what statx writes, and
     * the completion handed from the reaping thread to the future: `lk`
     * guards done and waker. */
    kr__io_op op_;
    struct kr__driver *drv_; /* the driver it was submitted to */
    struct statx stx_;
    kr__spinlock lk_;
    bool done_;
    kr_waker waker_;
} kr__fs_job;

typedef struct kr__fs_backend {
    const char *name;
    int (*submit)(kr__fs_job *j);
    kr_poll (*poll)(kr__fs_job *j, kr_context *cx);
    void (*detach)(kr__fs_job *j);
} kr__fs_backend;

extern const kr__fs_backend kr__fs_blocking_backend;
extern const kr__fs_backend kr__fs_ring_backend;

/* The backend for j, on the calling thread's runtime: the ring where its
 * driver has completion operations and the kernel j's opcode, else the
 * blocking pool. */
const kr__fs_backend *kr__fs_backend_for(const kr__fs_job *j);

/* Runs the job synchronously on the calling thread, setting res. */
void kr__fs_exec(kr__fs_job *j);

void kr__fs_job_ref(kr__fs_job *j);
void kr__fs_job_unref(kr__fs_job *j);
void kr__fs_handle_unref(kr__fs_handle *h);

#endif /* KR_FS_JOB_H */
