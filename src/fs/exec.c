/*
 * fs/exec.c: kr__fs_exec, a job description performed with blocking system
 * calls on the calling thread (a blocking-pool thread). Every result is
 * >= 0 or a negated errno in j->res; nothing here touches the future.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/job.h"
#include "util/alloc.h"

static int64_t err(void) { return errno != 0 ? -(int64_t)errno : -EIO; }

static int64_t check(long r) { return r < 0 ? err() : r; }

static int mkdir_all(char *p) {
    struct stat st;
    if (stat(p, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -EEXIST;
    /* Make each prefix in turn; an existing one is fine. */
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            int e = -errno;
            p[i] = c;
            return e;
        }
        p[i] = c;
    }
    if (stat(p, &st) < 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* Removes what is inside the directory open as `fd` (owned), then nothing
 * else: the caller removes the directory itself. */
static int empty_dir(int fd) {
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int e = -errno;
        close(fd);
        return e;
    }
    int rc = 0;
    struct dirent *de;
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                rc = -errno;
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) == 0)
            continue;
        if (errno != EISDIR && errno != EPERM) {
            rc = -errno;
            break;
        }
        int sub = openat(dirfd(d), de->d_name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0) {
            rc = -errno;
            break;
        }
        rc = empty_dir(sub);
        if (rc == 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
            rc = -errno;
        if (rc != 0)
            break;
    }
    closedir(d);
    return rc;
}

static int64_t rmdir_all(const char *p) {
    struct stat st;
    if (lstat(p, &st) < 0)
        return err();
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err();
    int rc = empty_dir(fd);
    if (rc < 0)
        return rc;
    return check(rmdir(p));
}

static int64_t copy(const char *from, const char *to) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return err();
    struct stat st;
    int64_t e = fstat(in, &st) < 0     ? err()
                : S_ISDIR(st.st_mode)  ? -EISDIR
                : !S_ISREG(st.st_mode) ? -EINVAL
                                       : 0;
    if (e < 0) {
        close(in);
        return e;
    }
    int out =
        open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
    if (out < 0) {
        e = err();
        close(in);
        return e;
    }
    int64_t total = 0;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n > 0) {
            total += n;
            continue;
        }
        if (n == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
            errno != EOPNOTSUPP) {
            total = err();
            goto out;
        }
        /* No copy_file_range here: through a buffer. */
        char buf[64 * 1024];
        for (;;) {
            ssize_t r = read(in, buf, sizeof(buf));
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                if (r < 0)
                    total = err();
                goto out;
            }
            for (ssize_t w = 0; w < r;) {
                ssize_t k = write(out, buf + w, (size_t)(r - w));
                if (k < 0 && errno == EINTR)
                    continue;
                if (k < 0) {
                    total = err();
                    goto out;
                }
                w += k;
            }
            total += r;
        }
    }
out:
    if (total >= 0)
        fchmod(out, st.st_mode & 07777);
    if (close(out) < 0 && total >= 0)
        total = err();
    close(in);
    return total;
}

static int64_t read_all(kr__fs_job *j) {
    int fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err();
    struct stat st;
    int64_t rc;
    if (fstat(fd, &st) < 0) {
        rc = err();
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto out;
    }
    /* The size is a hint (a /proc file says 0): read until the end. */
    size_t cap = S_ISREG(st.st_mode) && (uint64_t)st.st_size < j->len
                     ? (size_t)st.st_size + 1
                     : 4096;
    size_t n = 0;
    char *b = kr__malloc(cap + 1);
    if (b == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (n > j->len)
                break;
            size_t ncap = cap * 2;
            /* The allocator interface has no realloc: grow by copying. */
            char *nb = kr__malloc(ncap + 1);
            if (nb == NULL) {
                kr__free(b);
                rc = -ENOMEM;
                goto out;
            }
            memcpy(nb, b, n);
            kr__free(b);
            b = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = err();
            kr__free(b);
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > j->len) {
        kr__free(b);
        rc = -EFBIG;
        goto out;
    }
    b[n] = '\0';
    j->buf = b;
    rc = (int64_t)n;
out:
    close(fd);
    return rc;
}

static int64_t write_all(kr__fs_job *j) {
    int fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return err();
    int64_t rc = 0;
    const char *b = j->buf;
    for (size_t w = 0; w < j->len;) {
        ssize_t k = write(fd, b + w, j->len - w);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = err();
            break;
        }
        w += (size_t)k;
    }
    if (close(fd) < 0 && rc == 0)
        rc = err();
    return rc;
}

static kr_file_type dtype(unsigned char t) {
    switch (t) {
    case DT_REG:
        return KR_FILE_TYPE_FILE;
    case DT_DIR:
        return KR_FILE_TYPE_DIR;
    case DT_LNK:
        return KR_FILE_TYPE_SYMLINK;
    case DT_FIFO:
        return KR_FILE_TYPE_FIFO;
    case DT_SOCK:
        return KR_FILE_TYPE_SOCKET;
    case DT_CHR:
        return KR_FILE_TYPE_CHAR_DEVICE;
    case DT_BLK:
        return KR_FILE_TYPE_BLOCK_DEVICE;
    default:
        return KR_FILE_TYPE_UNKNOWN;
    }
}

static int64_t read_dir_batch(kr__fs_job *j) {
    j->ents = kr__malloc(KR__FS_DIR_BATCH * sizeof(kr_dir_entry));
    if (j->ents == NULL)
        return -ENOMEM;
    j->nents = 0;
    while (j->nents < KR__FS_DIR_BATCH) {
        errno = 0;
        struct dirent *de = readdir(j->h->dir);
        if (de == NULL)
            return errno != 0 ? -errno : 0;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        kr_dir_entry *e = &j->ents[j->nents++];
        size_t n = strlen(de->d_name);
        if (n >= sizeof(e->name))
            n = sizeof(e->name) - 1;
        memcpy(e->name, de->d_name, n);
        e->name[n] = '\0';
        e->type = dtype(de->d_type);
        e->ino = de->d_ino;
    }
    return 0;
}

static int64_t text_out(kr__fs_job *j, const char *s, size_t n) {
    if (n + 1 > j->len)
        return -ERANGE;
    memcpy(j->buf, s, n);
    ((char *)j->buf)[n] = '\0';
    return (int64_t)n;
}

void kr__fs_exec(kr__fs_job *j) {
    int fd = j->h != NULL ? j->h->fd : -1;
    int64_t r;
    errno = 0;
    switch (j->op) {
    case KR__FS_OPEN:
        r = check(j->fd_out = open(j->path, j->flags | O_CLOEXEC, j->mode));
        if (r > 0)
            r = 0;
        break;
    case KR__FS_READ:
        do
            r = check(read(fd, j->buf, j->len));
        while (r == -EINTR);
        break;
    case KR__FS_PREAD:
        do
            r = check(pread(fd, j->buf, j->len, (off_t)j->off));
        while (r == -EINTR);
        break;
    case KR__FS_WRITE:
        do
            r = check(write(fd, j->buf, j->len));
        while (r == -EINTR);
        break;
    case KR__FS_PWRITE:
        do
            r = check(pwrite(fd, j->buf, j->len, (off_t)j->off));
        while (r == -EINTR);
        break;
    case KR__FS_SEEK:
        r = check(lseek(fd, (off_t)j->off, j->flags));
        break;
    case KR__FS_FSYNC:
        r = check(fsync(fd));
        break;
    case KR__FS_FDATASYNC:
        r = check(fdatasync(fd));
        break;
    case KR__FS_SET_LEN:
        r = check(ftruncate(fd, (off_t)j->off));
        break;
    case KR__FS_STAT:
        r = check(stat(j->path, &j->st));
        break;
    case KR__FS_LSTAT:
        r = check(lstat(j->path, &j->st));
        break;
    case KR__FS_FSTAT:
        r = check(fstat(fd, &j->st));
        break;
    case KR__FS_EXISTS:
        r = check(stat(j->path, &j->st));
        if (r == 0)
            r = 1;
        else if (r == -ENOENT || r == -ENOTDIR)
            r = 0;
        break;
    case KR__FS_OPENDIR:
        j->dir_out = opendir(j->path);
        r = j->dir_out == NULL ? err() : 0;
        break;
    case KR__FS_READDIR:
        r = read_dir_batch(j);
        break;
    case KR__FS_MKDIR:
        r = check(mkdir(j->path, 0777));
        break;
    case KR__FS_MKDIR_ALL:
        r = mkdir_all(j->path);
        break;
    case KR__FS_UNLINK:
        r = check(unlink(j->path));
        break;
    case KR__FS_RMDIR:
        r = check(rmdir(j->path));
        break;
    case KR__FS_RMDIR_ALL:
        r = rmdir_all(j->path);
        break;
    case KR__FS_RENAME:
        r = check(rename(j->path, j->path2));
        break;
    case KR__FS_LINK:
        r = check(link(j->path, j->path2));
        break;
    case KR__FS_SYMLINK:
        r = check(symlink(j->path, j->path2));
        break;
    case KR__FS_READLINK: {
        char tmp[PATH_MAX];
        ssize_t n = readlink(j->path, tmp, sizeof(tmp));
        r = n < 0 ? err() : text_out(j, tmp, (size_t)n);
        break;
    }
    case KR__FS_REALPATH: {
        char tmp[PATH_MAX];
        r = realpath(j->path, tmp) == NULL ? err()
                                           : text_out(j, tmp, strlen(tmp));
        break;
    }
    case KR__FS_COPY:
        r = copy(j->path, j->path2);
        break;
    case KR__FS_READ_ALL:
        r = read_all(j);
        break;
    case KR__FS_WRITE_ALL:
        r = write_all(j);
        break;
    default:
        r = -EINVAL;
        break;
    }
    j->res = r;
}
