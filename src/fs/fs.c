/*
 * fs/fs.c: the kr_fs_op future and the public calls of kairo/fs.h.
 *
 * A call copies its arguments into a job description (job.h) at once; the
 * first poll submits it to the backend, later polls ask the backend, and
 * completion copies the outputs (a read's bytes, a stat, a new file) from
 * the job to where the caller asked. The job is reference-counted: the
 * future holds one reference, a backend at work another, so dropping the
 * future early frees nothing the pool thread still uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/job.h"
#include "kairo/error.h"
#include "util/alloc.h"
#include "util/atomic.h"

/* Tokio's MAX_BUF: the most one read or write moves. */
#define MAX_BUF ((size_t)2 << 20)

struct kr_file {
    kr__fs_handle h;
};

struct kr_dir {
    kr__fs_handle *h;
    kr_dir_entry *ents; /* the batch read last */
    size_t n, next;
    bool eof;
};

/* ---- references ---------------------------------------------------------- */

void kr__fs_handle_unref(kr__fs_handle *h) {
    /* Acq-rel: the last one sees every job's use of the descriptor. */
    if (h == NULL || kr__fetch_sub_acqrel(&h->refs, 1) != 1)
        return;
    if (h->dir != NULL)
        closedir(h->dir);
    else
        close(h->fd);
    kr__free(h);
}

void kr__fs_job_ref(kr__fs_job *j) { kr__fetch_add_relaxed(&j->refs, 1); }

void kr__fs_job_unref(kr__fs_job *j) {
    /* Acq-rel: the last one sees the pool thread's writes to the job. */
    if (kr__fetch_sub_acqrel(&j->refs, 1) != 1)
        return;
    /* An open or read_dir whose future was dropped before it finished:
     * nobody will take what it opened (finish clears these when it hands
     * them over). */
    if (j->fd_out >= 0)
        close(j->fd_out);
    if (j->dir_out != NULL)
        closedir(j->dir_out);
    kr__fs_handle_unref(j->h);
    kr__free(j->path);
    kr__free(j->path2);
    kr__free(j->buf);
    kr__free(j->ents);
    kr__free(j);
}

/* ---- the error message --------------------------------------------------- */

static _Thread_local char last_error[2 * PATH_MAX + 64];

const char *kr_fs_last_error(void) { return last_error; }

static const char *const op_names[] = {
    [KR__FS_OPEN] = "open",
    [KR__FS_STAT] = "metadata",
    [KR__FS_LSTAT] = "symlink_metadata",
    [KR__FS_EXISTS] = "try_exists",
    [KR__FS_OPENDIR] = "read_dir",
    [KR__FS_MKDIR] = "create_dir",
    [KR__FS_MKDIR_ALL] = "create_dir_all",
    [KR__FS_UNLINK] = "remove_file",
    [KR__FS_RMDIR] = "remove_dir",
    [KR__FS_RMDIR_ALL] = "remove_dir_all",
    [KR__FS_RENAME] = "rename",
    [KR__FS_LINK] = "hard_link",
    [KR__FS_SYMLINK] = "symlink",
    [KR__FS_READLINK] = "read_link",
    [KR__FS_REALPATH] = "canonicalize",
    [KR__FS_COPY] = "copy",
    [KR__FS_READ_ALL] = "read",
    [KR__FS_WRITE_ALL] = "write",
};

static void note_error(const kr__fs_job *j) {
    const char *op = (size_t)j->op < sizeof(op_names) / sizeof(op_names[0]) &&
                             op_names[j->op] != NULL
                         ? op_names[j->op]
                         : "file operation";
    const char *msg = kr_strerror((int)j->res);
    if (j->path2 != NULL)
        snprintf(last_error, sizeof(last_error), "%s %s -> %s: %s", op, j->path,
                 j->path2, msg);
    else if (j->path != NULL)
        snprintf(last_error, sizeof(last_error), "%s %s: %s", op, j->path, msg);
    else
        snprintf(last_error, sizeof(last_error), "%s: %s", op, msg);
}

/* ---- the future ---------------------------------------------------------- */

static void fill_md(kr_metadata *md, const struct stat *st) {
    memset(md, 0, sizeof(*md));
    switch (st->st_mode & S_IFMT) {
    case S_IFREG:
        md->type = KR_FILE_TYPE_FILE;
        break;
    case S_IFDIR:
        md->type = KR_FILE_TYPE_DIR;
        break;
    case S_IFLNK:
        md->type = KR_FILE_TYPE_SYMLINK;
        break;
    case S_IFIFO:
        md->type = KR_FILE_TYPE_FIFO;
        break;
    case S_IFSOCK:
        md->type = KR_FILE_TYPE_SOCKET;
        break;
    case S_IFCHR:
        md->type = KR_FILE_TYPE_CHAR_DEVICE;
        break;
    case S_IFBLK:
        md->type = KR_FILE_TYPE_BLOCK_DEVICE;
        break;
    default:
        md->type = KR_FILE_TYPE_UNKNOWN;
        break;
    }
    md->mode = st->st_mode & 07777;
    md->size = (uint64_t)st->st_size;
    md->nlink = st->st_nlink;
    md->ino = st->st_ino;
    md->dev = st->st_dev;
    md->uid = st->st_uid;
    md->gid = st->st_gid;
    md->atime_ns =
        (int64_t)st->st_atim.tv_sec * 1000000000 + st->st_atim.tv_nsec;
    md->mtime_ns =
        (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    md->ctime_ns =
        (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

static kr__fs_handle *handle_new(int fd, DIR *d) {
    kr__fs_handle *h = kr__malloc(sizeof(struct kr_file));
    if (h == NULL)
        return NULL;
    atomic_init(&h->refs, 1);
    h->fd = fd;
    h->dir = d;
    return h;
}

/* Takes the next buffered entry of a directory: true if there was one. */
static bool dir_take(kr_dir *d, kr_dir_entry *e) {
    if (d->next >= d->n)
        return false;
    *e = d->ents[d->next++];
    return true;
}

/* Moves the job's outputs to the caller; returns the final result. */
static int64_t finish(kr__fs_job *j) {
    int64_t r = j->res;
    switch (j->op) {
    case KR__FS_OPEN:
        if (r == 0) {
            kr__fs_handle *h = handle_new(j->fd_out, NULL);
            if (h == NULL) {
                close(j->fd_out);
                r = KR_ENOMEM;
            } else {
                *(kr_file **)j->dest = (kr_file *)h;
            }
            j->fd_out = -1;
        }
        break;
    case KR__FS_OPENDIR:
        if (r == 0) {
            kr_dir *d = kr__calloc(1, sizeof(*d));
            kr__fs_handle *h =
                d != NULL ? handle_new(dirfd(j->dir_out), j->dir_out) : NULL;
            if (h == NULL) {
                kr__free(d);
                closedir(j->dir_out);
                r = KR_ENOMEM;
            } else {
                d->h = h;
                *(kr_dir **)j->dest = d;
            }
            j->dir_out = NULL;
        }
        break;
    case KR__FS_READ:
    case KR__FS_PREAD:
        if (r > 0)
            memcpy(j->dest, j->buf, (size_t)r);
        break;
    case KR__FS_STAT:
    case KR__FS_LSTAT:
    case KR__FS_FSTAT:
        if (r == 0)
            fill_md(j->dest, &j->st);
        break;
    case KR__FS_READDIR: {
        kr_dir *d = j->dest2;
        if (r < 0)
            break;
        kr__free(d->ents);
        d->ents = j->ents;
        j->ents = NULL;
        d->n = j->nents;
        d->next = 0;
        d->eof = j->nents == 0;
        r = dir_take(d, j->dest) ? 1 : 0;
        break;
    }
    case KR__FS_READLINK:
    case KR__FS_REALPATH:
        if (r >= 0)
            memcpy(j->dest, j->buf, (size_t)r + 1);
        break;
    case KR__FS_READ_ALL:
        if (r >= 0) {
            *(void **)j->dest = j->buf;
            *(size_t *)j->dest2 = (size_t)r;
            j->buf = NULL;
        }
        break;
    default:
        break;
    }
    if (r < 0)
        note_error(j);
    return r;
}

static kr_poll op_poll(kr_future *f, kr_context *cx, void *out) {
    kr_fs_op *o = (kr_fs_op *)f;
    kr__fs_job *j = o->job_;
    int64_t r;
    if (o->state_ == 2) {
        fprintf(stderr, "kairo: kr_fs_op polled after it completed\n");
        abort();
    }
    if (j == NULL) {
        r = o->err_;
        goto done;
    }
    if (o->state_ == 0) {
        /* An empty read or write is answered at once (Tokio's empty_read:
         * it does not wait for the pool, nor read to the end). */
        if (j->len == 0 && (j->op == KR__FS_READ || j->op == KR__FS_PREAD ||
                            j->op == KR__FS_WRITE || j->op == KR__FS_PWRITE)) {
            r = 0;
            goto release;
        }
        if (j->op == KR__FS_READDIR) {
            kr_dir *d = j->dest2;
            if (dir_take(d, j->dest)) {
                r = 1; /* from the batch read before: no pool trip */
                goto release;
            }
            if (d->eof) {
                r = 0;
                goto release;
            }
        }
        j->be = kr__fs_backend_for(j);
        int rc = j->be->submit(j);
        if (rc < 0) {
            j->res = rc;
            r = finish(j);
            goto release;
        }
        o->state_ = 1;
    }
    if (j->be->poll(j, cx) == KR_PENDING)
        return KR_PENDING;
    r = finish(j);
release:
    o->job_ = NULL;
    kr__fs_job_unref(j);
done:
    o->state_ = 2;
    if (out != NULL)
        *(int64_t *)out = r;
    return KR_READY;
}

static void op_drop(kr_future *f) {
    kr_fs_op *o = (kr_fs_op *)f;
    kr__fs_job *j = o->job_;
    if (j == NULL)
        return;
    o->job_ = NULL;
    if (o->state_ == 1)
        j->be->detach(j);
    kr__fs_job_unref(j);
}

static const kr_future_vtable op_vt = {op_poll, op_drop, sizeof(kr_fs_op),
                                       sizeof(int64_t), "kr_fs_op"};

/* ---- making jobs --------------------------------------------------------- */

static kr_fs_op failed(int err) {
    kr_fs_op o = {{&op_vt}, NULL, 0, err};
    return o;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = kr__malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* A job for `op` on handle h (a reference taken) and paths p1, p2 (copied),
 * with a bounce buffer of `buflen` bytes. */
static kr_fs_op make(kr__fs_opcode op, kr__fs_handle *h, const char *p1,
                     const char *p2, size_t buflen, kr__fs_job **jp) {
    kr__fs_job *j = kr__calloc(1, sizeof(*j));
    if (j == NULL)
        return failed(KR_ENOMEM);
    atomic_init(&j->refs, 1);
    j->op = op;
    j->fd_out = -1;
    if ((p1 != NULL && (j->path = dup_str(p1)) == NULL) ||
        (p2 != NULL && (j->path2 = dup_str(p2)) == NULL) ||
        (buflen > 0 && (j->buf = kr__malloc(buflen)) == NULL)) {
        kr__fs_job_unref(j);
        return failed(KR_ENOMEM);
    }
    if (h != NULL) {
        kr__fetch_add_relaxed(&h->refs, 1);
        j->h = h;
    }
    *jp = j;
    kr_fs_op o = {{&op_vt}, j, 0, 0};
    return o;
}

static kr_fs_op path_op(kr__fs_opcode op, const char *p1, const char *p2) {
    if (p1 == NULL)
        return failed(KR_EINVAL);
    kr__fs_job *j;
    return make(op, NULL, p1, p2, 0, &j);
}

kr_fs_op kr_fs_open(const char *path, const kr_open_options *o,
                    kr_file **file) {
    if (path == NULL || o == NULL || file == NULL)
        return failed(KR_EINVAL);
    bool wr = o->write || o->append;
    if ((!o->read && !wr) ||
        ((o->truncate || o->create || o->create_new) && !wr) ||
        (o->truncate && o->append))
        return failed(KR_EINVAL);
    int fl = o->read && wr ? O_RDWR : wr ? O_WRONLY : O_RDONLY;
    if (o->append)
        fl |= O_APPEND;
    if (o->truncate)
        fl |= O_TRUNC;
    if (o->create_new)
        fl |= O_CREAT | O_EXCL;
    else if (o->create)
        fl |= O_CREAT;
    kr__fs_job *j;
    kr_fs_op op = make(KR__FS_OPEN, NULL, path, NULL, 0, &j);
    if (op.job_ != NULL) {
        j->flags = fl;
        j->mode = o->mode != 0 ? o->mode : 0666;
        j->dest = file;
    }
    return op;
}

void kr_file_close(kr_file *file) {
    if (file != NULL)
        kr__fs_handle_unref(&file->h);
}

int kr_file_fd(const kr_file *file) { return file != NULL ? file->h.fd : -1; }

static kr_fs_op io_op(kr__fs_opcode op, kr_file *f, void *dest, const void *src,
                      size_t len, int64_t off) {
    if (f == NULL || (len > 0 && dest == NULL && src == NULL))
        return failed(KR_EINVAL);
    if (len > MAX_BUF)
        len = MAX_BUF;
    kr__fs_job *j;
    kr_fs_op o = make(op, &f->h, NULL, NULL, len, &j);
    if (o.job_ != NULL) {
        j->len = len;
        j->off = off;
        j->dest = dest;
        if (src != NULL && len > 0)
            memcpy(j->buf, src, len);
    }
    return o;
}

kr_fs_op kr_file_read(kr_file *f, void *buf, size_t len) {
    return io_op(KR__FS_READ, f, buf, NULL, buf != NULL ? len : len, 0);
}
kr_fs_op kr_file_read_at(kr_file *f, void *buf, size_t len, int64_t off) {
    if (off < 0)
        return failed(KR_EINVAL);
    return io_op(KR__FS_PREAD, f, buf, NULL, len, off);
}
kr_fs_op kr_file_write(kr_file *f, const void *buf, size_t len) {
    return io_op(KR__FS_WRITE, f, NULL, buf, len, 0);
}
kr_fs_op kr_file_write_at(kr_file *f, const void *buf, size_t len,
                          int64_t off) {
    if (off < 0)
        return failed(KR_EINVAL);
    return io_op(KR__FS_PWRITE, f, NULL, buf, len, off);
}

static kr_fs_op file_op(kr__fs_opcode op, kr_file *f, int64_t off, int flags,
                        void *dest) {
    if (f == NULL)
        return failed(KR_EINVAL);
    kr__fs_job *j;
    kr_fs_op o = make(op, &f->h, NULL, NULL, 0, &j);
    if (o.job_ != NULL) {
        j->off = off;
        j->flags = flags;
        j->dest = dest;
    }
    return o;
}

kr_fs_op kr_file_seek(kr_file *f, int64_t off, int whence) {
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return failed(KR_EINVAL);
    return file_op(KR__FS_SEEK, f, off, whence, NULL);
}
kr_fs_op kr_file_sync_all(kr_file *f) {
    return file_op(KR__FS_FSYNC, f, 0, 0, NULL);
}
kr_fs_op kr_file_sync_data(kr_file *f) {
    return file_op(KR__FS_FDATASYNC, f, 0, 0, NULL);
}
kr_fs_op kr_file_set_len(kr_file *f, int64_t len) {
    if (len < 0)
        return failed(KR_EINVAL);
    return file_op(KR__FS_SET_LEN, f, len, 0, NULL);
}
kr_fs_op kr_file_metadata(kr_file *f, kr_metadata *md) {
    if (md == NULL)
        return failed(KR_EINVAL);
    return file_op(KR__FS_FSTAT, f, 0, 0, md);
}

static kr_fs_op stat_op(kr__fs_opcode op, const char *path, kr_metadata *md) {
    if (path == NULL || md == NULL)
        return failed(KR_EINVAL);
    kr_fs_op o = path_op(op, path, NULL);
    if (o.job_ != NULL)
        ((kr__fs_job *)o.job_)->dest = md;
    return o;
}

kr_fs_op kr_fs_metadata(const char *path, kr_metadata *md) {
    return stat_op(KR__FS_STAT, path, md);
}
kr_fs_op kr_fs_symlink_metadata(const char *path, kr_metadata *md) {
    return stat_op(KR__FS_LSTAT, path, md);
}
kr_fs_op kr_fs_try_exists(const char *path) {
    return path_op(KR__FS_EXISTS, path, NULL);
}

kr_fs_op kr_fs_read_dir(const char *path, kr_dir **dir) {
    if (dir == NULL)
        return failed(KR_EINVAL);
    kr_fs_op o = path_op(KR__FS_OPENDIR, path, NULL);
    if (o.job_ != NULL)
        ((kr__fs_job *)o.job_)->dest = dir;
    return o;
}

kr_fs_op kr_dir_next(kr_dir *dir, kr_dir_entry *entry) {
    if (dir == NULL || entry == NULL)
        return failed(KR_EINVAL);
    kr__fs_job *j;
    kr_fs_op o = make(KR__FS_READDIR, dir->h, NULL, NULL, 0, &j);
    if (o.job_ != NULL) {
        j->dest = entry;
        j->dest2 = dir;
    }
    return o;
}

void kr_dir_close(kr_dir *dir) {
    if (dir == NULL)
        return;
    kr__fs_handle_unref(dir->h);
    kr__free(dir->ents);
    kr__free(dir);
}

kr_fs_op kr_fs_create_dir(const char *p) {
    return path_op(KR__FS_MKDIR, p, NULL);
}
kr_fs_op kr_fs_create_dir_all(const char *p) {
    return path_op(KR__FS_MKDIR_ALL, p, NULL);
}
kr_fs_op kr_fs_remove_file(const char *p) {
    return path_op(KR__FS_UNLINK, p, NULL);
}
kr_fs_op kr_fs_remove_dir(const char *p) {
    return path_op(KR__FS_RMDIR, p, NULL);
}
kr_fs_op kr_fs_remove_dir_all(const char *p) {
    return path_op(KR__FS_RMDIR_ALL, p, NULL);
}

static kr_fs_op two_paths(kr__fs_opcode op, const char *a, const char *b) {
    if (a == NULL || b == NULL)
        return failed(KR_EINVAL);
    return path_op(op, a, b);
}

kr_fs_op kr_fs_rename(const char *a, const char *b) {
    return two_paths(KR__FS_RENAME, a, b);
}
kr_fs_op kr_fs_hard_link(const char *a, const char *b) {
    return two_paths(KR__FS_LINK, a, b);
}
kr_fs_op kr_fs_symlink(const char *target, const char *link) {
    return two_paths(KR__FS_SYMLINK, target, link);
}
kr_fs_op kr_fs_copy(const char *a, const char *b) {
    return two_paths(KR__FS_COPY, a, b);
}

static kr_fs_op text_op(kr__fs_opcode op, const char *path, char *buf,
                        size_t cap) {
    if (path == NULL || buf == NULL || cap == 0)
        return failed(KR_EINVAL);
    if (cap > PATH_MAX + 1)
        cap = PATH_MAX + 1;
    kr__fs_job *j;
    kr_fs_op o = make(op, NULL, path, NULL, cap, &j);
    if (o.job_ != NULL) {
        j->len = cap;
        j->dest = buf;
    }
    return o;
}

kr_fs_op kr_fs_read_link(const char *path, char *buf, size_t cap) {
    return text_op(KR__FS_READLINK, path, buf, cap);
}
kr_fs_op kr_fs_canonicalize(const char *path, char *buf, size_t cap) {
    return text_op(KR__FS_REALPATH, path, buf, cap);
}

kr_fs_op kr_fs_read(const char *path, size_t limit, void **data, size_t *len) {
    if (path == NULL || data == NULL || len == NULL)
        return failed(KR_EINVAL);
    *data = NULL;
    *len = 0;
    kr__fs_job *j;
    kr_fs_op o = make(KR__FS_READ_ALL, NULL, path, NULL, 0, &j);
    if (o.job_ != NULL) {
        j->len = limit;
        j->dest = data;
        j->dest2 = len;
    }
    return o;
}

void kr_fs_free(void *data) { kr__free(data); }

kr_fs_op kr_fs_write(const char *path, const void *data, size_t len) {
    if (path == NULL || (data == NULL && len > 0))
        return failed(KR_EINVAL);
    kr__fs_job *j;
    kr_fs_op o = make(KR__FS_WRITE_ALL, NULL, path, NULL, len, &j);
    if (o.job_ != NULL) {
        j->len = len;
        if (len > 0)
            memcpy(j->buf, data, len);
    }
    return o;
}
