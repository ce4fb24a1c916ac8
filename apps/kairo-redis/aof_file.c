/*
 * aof_file.c: the AOF writer, its waiters, and the background rewrite (aof_file.h).
 *
 * State, all under `mu` unless said otherwise:
 *
 *   buf        bytes fed and not yet taken by the writer
 *   fed        offset after the last byte fed (monotonic, from the open)
 *   durable    offset the writer has made durable (atomic: read unlocked
 *              by the waiters' fast path; written under mu)
 *   waiters    rd_aof_wait nodes whose offset is beyond `durable`
 *   rw_*       the rewrite in progress: the child's pid, its temporary
 *              file, the rewrite buffer (everything fed since the fork)
 *
 * The writer is one blocking-pool job (writer_main) and the only thread
 * that touches the file descriptor. It loops: wait for bytes (or a second
 * to pass, for everysec, or the rewrite child to exit), take the whole
 * buffer, write it unlocked, fsync it if the policy asks, then publish the
 * new durable offset and wake the waiters it covers. Feeders that arrive
 * during a write/fsync land in the next round's buffer: that is the group
 * commit.
 *
 * Offsets are logical (bytes fed since the open), not file positions, so
 * the switch to a rewritten file changes nothing for the waiters: once the
 * new file, holding everything fed, is fsynced and renamed into place,
 * `durable` = `fed`.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "aof_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void rd__aof_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct rd_aof {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* the writer waits here for work */
    pthread_cond_t idle_cv; /* close/rewrite_wait wait here */
    char *path;
    int fd;
    rd_fsync policy;
    int last_db;
    rd_buf buf;
    uint64_t fed;
    _Atomic uint64_t durable;
    uint64_t written; /* offset written (not yet necessarily fsynced) */
    uint64_t size;    /* the file's size */
    int error;
    bool stop, stopped;
    rd_aof_wait *waiters;
    /* rewrite */
    pid_t rw_pid;
    bool rw_active;
    char *rw_tmp;
    rd_buf rw_buf;
    struct timespec rw_started;
    rd_aof_stats stats;
};

/* ---- small helpers ------------------------------------------------------- */

int rd_aof_write_all(int fd, const void *p, size_t len) {
    const char *c = p;
    while (len > 0) {
        ssize_t n = write(fd, c, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += n;
        len -= (size_t)n;
    }
    return 0;
}

static int64_t ms_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)(t.tv_sec - t0->tv_sec) * 1000 +
           (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* fsync the directory holding `path`, so a rename or a creation in it
 * survives a crash. */
static void fsync_dir_of(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        size_t n = (size_t)(slash - path);
        if (n == 0)
            n = 1;
        if (n >= sizeof(dir))
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* ---- waiters --------------------------------------------------------------- */

static void waiter_unlink(rd_aof *a, rd_aof_wait *w) {
    if (w->prev_)
        w->prev_->next_ = w->next_;
    else
        a->waiters = w->next_;
    if (w->next_)
        w->next_->prev_ = w->prev_;
    w->next_ = w->prev_ = NULL;
}

/* The node is the future's again: everything the lock holder did to it
 * (the unlink, the waker moved out) before this, for wait_drop's acquire
 * load without the lock. */
static void waiter_release(rd_aof_wait *w) {
    atomic_store_explicit(&w->linked_, false, memory_order_release);
}

static bool waiter_linked(rd_aof_wait *w) { /* under mu */
    return atomic_load_explicit(&w->linked_, memory_order_relaxed);
}

/* Publishes `off` as durable and wakes the waiters it covers. Called by
 * the writer with mu held; the wakes happen with it released, in batches
 * (a waker may run arbitrary code). Returns with mu held. */
#define WAKE_BATCH 64
static void publish_durable(rd_aof *a, uint64_t off) {
    atomic_store_explicit(&a->durable, off, memory_order_release);
    for (;;) {
        kr_waker batch[WAKE_BATCH];
        int n = 0;
        rd_aof_wait *w = a->waiters;
        while (w != NULL && n < WAKE_BATCH) {
            rd_aof_wait *next = w->next_;
            if (w->offset_ <= off) {
                waiter_unlink(a, w);
                batch[n++] = w->waker_;
                w->waker_.vtable = NULL;
                w->waker_.data = NULL;
                waiter_release(w);
            }
            w = next;
        }
        if (n == 0)
            return;
        pthread_mutex_unlock(&a->mu);
        for (int i = 0; i < n; i++)
            if (batch[i].vtable)
                kr_waker_wake(batch[i]);
        pthread_mutex_lock(&a->mu);
    }
}

static kr_poll wait_poll(kr_future *f, kr_context *cx, void *out) {
    rd_aof_wait *w = (rd_aof_wait *)f;
    rd_aof *a = w->aof_;
    if (a == NULL || a->policy != RD_FSYNC_ALWAYS ||
        atomic_load_explicit(&a->durable, memory_order_acquire) >= w->offset_) {
        goto ready;
    }
    pthread_mutex_lock(&a->mu);
    if (atomic_load_explicit(&a->durable, memory_order_relaxed) >= w->offset_ ||
        a->stopped || a->policy != RD_FSYNC_ALWAYS) {
        if (waiter_linked(w)) {
            waiter_unlink(a, w);
            waiter_release(w);
        }
        pthread_mutex_unlock(&a->mu);
        goto ready;
    }
    kr_waker_set(&w->waker_, kr_context_waker(cx));
    if (!waiter_linked(w)) {
        w->next_ = a->waiters;
        w->prev_ = NULL;
        if (a->waiters)
            a->waiters->prev_ = w;
        a->waiters = w;
        atomic_store_explicit(&w->linked_, true, memory_order_relaxed);
    }
    pthread_mutex_unlock(&a->mu);
    return KR_PENDING;
ready:
    if (out)
        *(int *)out = 0;
    return KR_READY;
}

static void wait_drop(kr_future *f) {
    rd_aof_wait *w = (rd_aof_wait *)f;
    /* Acquire pairs with waiter_release: false means the writer is done
     * with the node (and moved its waker out), so no lock is needed. */
    if (w->aof_ && atomic_load_explicit(&w->linked_, memory_order_acquire)) {
        pthread_mutex_lock(&w->aof_->mu);
        if (waiter_linked(w)) {
            waiter_unlink(w->aof_, w);
            waiter_release(w);
        }
        pthread_mutex_unlock(&w->aof_->mu);
    }
    kr_waker_reset(&w->waker_);
}

static const kr_future_vtable wait_vtable = {
    wait_poll, wait_drop, sizeof(rd_aof_wait), sizeof(int), "rd_aof_wait"};

void rd_aof_wait_init(rd_aof_wait *w, rd_aof *a, uint64_t offset) {
    memset(w, 0, sizeof(*w));
    w->base.vtable = &wait_vtable;
    w->aof_ = a;
    w->offset_ = offset;
}

/* ---- feeding --------------------------------------------------------------- */

/* Appends `b` to the main buffer and, during a rewrite, to the rewrite
 * buffer. mu held. */
static void put_locked(rd_aof *a, const char *p, size_t n) {
    if (rd_buf_put(&a->buf, p, n) != 0) {
        /* Nothing sensible can go on without the bytes: Redis's zmalloc
         * aborts on OOM too. */
        rd__aof_log(3, "Out of memory feeding the AOF; exiting");
        abort();
    }
    if (a->rw_active && rd_buf_put(&a->rw_buf, p, n) != 0) {
        rd__aof_log(3, "Out of memory feeding the AOF rewrite buffer");
        abort();
    }
    a->fed += n;
}

void rd_aof_feed(rd_aof *a, int db, int argc, const char *const *argv,
                 const size_t *lens) {
    /* Encode outside the lock: a feed holds mu only for the copy. */
    rd_buf scratch = {NULL, 0, 0};
    rd_buf *b = &scratch;
    /* Peek at the database last written; it is checked again below,
     * since another feeder may come between. */
    pthread_mutex_lock(&a->mu);
    bool select = db != a->last_db;
    pthread_mutex_unlock(&a->mu);
    if (select) {
        char n[16];
        snprintf(n, sizeof(n), "%d", db);
        rd_buf_put_cmdv(b, 2, "SELECT", n);
    }
    if (rd_buf_put_cmd(b, argc, argv, lens) != 0) {
        rd__aof_log(3, "Out of memory feeding the AOF; exiting");
        abort();
    }
    pthread_mutex_lock(&a->mu);
    if (!select && db != a->last_db) {
        /* Another feeder switched the database in between: say ours. (The
         * other way round, a SELECT of the database already current, is
         * only redundant.) */
        char n[16], sel[48];
        snprintf(n, sizeof(n), "%d", db);
        int k = snprintf(sel, sizeof(sel),
                         "*2\r\n$6\r\nSELECT\r\n$%zu\r\n%s\r\n", strlen(n), n);
        put_locked(a, sel, (size_t)k);
    }
    put_locked(a, b->p, b->len);
    a->last_db = db;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    rd_buf_free(b);
}

uint64_t rd_aof_offset(rd_aof *a) {
    if (a == NULL)
        return 0;
    pthread_mutex_lock(&a->mu);
    uint64_t off = a->fed;
    pthread_mutex_unlock(&a->mu);
    return off;
}

uint64_t rd_aof_durable(rd_aof *a) {
    return atomic_load_explicit(&a->durable, memory_order_acquire);
}

rd_fsync rd_aof_policy(rd_aof *a) { return a->policy; }

void rd_aof_set_policy(rd_aof *a, rd_fsync policy) {
    pthread_mutex_lock(&a->mu);
    a->policy = policy;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
}

int rd_aof_write_error(rd_aof *a) {
    pthread_mutex_lock(&a->mu);
    int e = a->error;
    pthread_mutex_unlock(&a->mu);
    return e;
}

uint64_t rd_aof_size(rd_aof *a) {
    pthread_mutex_lock(&a->mu);
    uint64_t s = a->size;
    pthread_mutex_unlock(&a->mu);
    return s;
}

void rd_aof_get_stats(rd_aof *a, rd_aof_stats *st) {
    pthread_mutex_lock(&a->mu);
    *st = a->stats;
    st->rewrite_in_progress = a->rw_active;
    pthread_mutex_unlock(&a->mu);
}

/* ---- the writer ------------------------------------------------------------ */

/* Writes `n` bytes at the end of the file; on failure cuts a partial write
 * away again (Redis does the same) so the file never ends in a fragment
 * the next write would glue garbage to. Writer thread only. */
static int write_tail(rd_aof *a, const char *p, size_t n) {
    int rc = rd_aof_write_all(a->fd, p, n);
    if (rc != 0) {
        if (ftruncate(a->fd, (off_t)a->size) != 0)
            rd__aof_log(3,
                        "Could not remove short write from the append-"
                        "only file: %s",
                        strerror(errno));
        lseek(a->fd, 0, SEEK_END);
        return rc;
    }
    /* Under mu: INFO reads the size from a worker (rd_aof_size). Only this
     * thread writes it, so its own reads above need no lock. */
    pthread_mutex_lock(&a->mu);
    a->size += n;
    pthread_mutex_unlock(&a->mu);
    return 0;
}

static void finish_rewrite(rd_aof *a, int status);

static void *writer_main(void *arg) {
    rd_aof *a = arg;
    struct timespec last_sync;
    clock_gettime(CLOCK_MONOTONIC, &last_sync);
    rd_buf out = {NULL, 0, 0};
    uint64_t synced = 0; /* offset fsynced */
    pthread_mutex_lock(&a->mu);
    for (;;) {
        /* A rewrite child that is done is reaped first, also under a load
         * that never lets the buffer run empty. */
        if (a->rw_active && a->rw_pid > 0) {
            int status;
            if (waitpid(a->rw_pid, &status, WNOHANG) == a->rw_pid) {
                a->rw_pid = 0;
                finish_rewrite(a, status);
            }
        }
        /* Wait for something to do. */
        while (a->buf.len == 0 && !a->stop) {
            bool everysec_due = a->policy == RD_FSYNC_EVERYSEC &&
                                synced < a->written &&
                                ms_since(&last_sync) >= 1000;
            if (everysec_due)
                break;
            if (a->rw_active && a->rw_pid > 0) {
                int status;
                pid_t r = waitpid(a->rw_pid, &status, WNOHANG);
                if (r == a->rw_pid) {
                    a->rw_pid = 0;
                    finish_rewrite(a, status);
                    continue;
                }
            }
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            /* Wake up at least every 100 ms: for everysec's clock and to
             * reap a rewrite child. */
            until.tv_nsec += 100 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&a->cv, &a->mu, &until);
        }
        /* Take the buffer (swap, so neither side copies). */
        rd_buf tmp = a->buf;
        a->buf = out;
        a->buf.len = 0;
        out = tmp;
        uint64_t upto = a->fed;
        rd_fsync policy = a->policy;
        bool stopping = a->stop && out.len == 0;
        pthread_mutex_unlock(&a->mu);

        int rc = 0;
        if (out.len > 0)
            rc = write_tail(a, out.p, out.len);
        bool sync_now =
            rc == 0 &&
            (policy == RD_FSYNC_ALWAYS || stopping ||
             (policy == RD_FSYNC_EVERYSEC && ms_since(&last_sync) >= 1000));
        if (sync_now && (synced < upto || stopping)) {
            if (fdatasync(a->fd) != 0)
                rc = -errno;
            else
                synced = upto;
            clock_gettime(CLOCK_MONOTONIC, &last_sync);
        }

        pthread_mutex_lock(&a->mu);
        if (rc != 0) {
            a->error = rc;
            if (policy == RD_FSYNC_ALWAYS) {
                rd__aof_log(3, "Can't recover from AOF write error when "
                               "the AOF fsync policy is 'always'. Exiting...");
                _exit(1);
            }
            rd__aof_log(3, "Error writing to the AOF file: %s", strerror(-rc));
            /* Put the bytes back in front of what came since, and try
             * again after a pause. */
            rd_buf again = {NULL, 0, 0};
            rd_buf_put(&again, out.p, out.len);
            rd_buf_put(&again, a->buf.p, a->buf.len);
            rd_buf_free(&a->buf);
            a->buf = again;
            out.len = 0;
            pthread_mutex_unlock(&a->mu);
            sleep(1);
            pthread_mutex_lock(&a->mu);
            if (a->stop)
                break;
            continue;
        }
        a->error = 0;
        a->written = upto;
        out.len = 0;
        /* What counts as durable: fsynced for always/everysec, written
         * for no (the waiters only wait under always anyway). */
        publish_durable(a, policy == RD_FSYNC_NO ? upto : synced);
        if (a->stop && a->buf.len == 0) {
            if (synced < a->written) {
                pthread_mutex_unlock(&a->mu);
                if (fdatasync(a->fd) == 0)
                    synced = a->written;
                pthread_mutex_lock(&a->mu);
            }
            publish_durable(a, a->fed);
            break;
        }
    }
    /* Whatever still waits completes (ready: the AOF is closed). */
    a->stopped = true;
    publish_durable(a, UINT64_MAX);
    pthread_cond_broadcast(&a->idle_cv);
    pthread_mutex_unlock(&a->mu);
    rd_buf_free(&out);
    return NULL;
}

int rd_aof_open(const char *path, rd_fsync policy, kr_runtime *rt,
                rd_aof **out) {
    if (path == NULL || rt == NULL || out == NULL)
        return KR_EINVAL;
    rd_aof *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return KR_ENOMEM;
    a->path = strdup(path);
    if (a->path == NULL) {
        free(a);
        return KR_ENOMEM;
    }
    a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (a->fd < 0) {
        int e = -errno;
        rd__aof_log(3, "Can't open the append-only file %s: %s", path,
                    strerror(errno));
        free(a->path);
        free(a);
        return e;
    }
    struct stat st;
    if (fstat(a->fd, &st) == 0)
        a->size = (uint64_t)st.st_size;
    fsync_dir_of(path);
    a->policy = policy;
    a->last_db = -1;
    a->stats.last_rewrite_ms = -1;
    a->stats.base_size = a->size;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    pthread_cond_init(&a->idle_cv, NULL);
    int rc = kr_runtime_spawn_blocking(rt, writer_main, a, NULL);
    if (rc != 0) {
        close(a->fd);
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->cv);
        pthread_cond_destroy(&a->idle_cv);
        free(a->path);
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int rd_aof_stop(rd_aof *a) {
    if (a == NULL)
        return 0;
    pthread_mutex_lock(&a->mu);
    if (a->rw_active && a->rw_pid > 0) {
        /* A rewrite in flight is abandoned: the old file is complete. */
        kill(a->rw_pid, SIGKILL);
        waitpid(a->rw_pid, NULL, 0);
        a->rw_pid = 0;
        a->rw_active = false;
        unlink(a->rw_tmp);
    }
    a->stop = true;
    pthread_cond_signal(&a->cv);
    while (!a->stopped)
        pthread_cond_wait(&a->idle_cv, &a->mu);
    int rc = a->error;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int rd_aof_close(rd_aof *a) {
    if (a == NULL)
        return 0;
    int rc = rd_aof_stop(a);
    close(a->fd);
    rd_buf_free(&a->buf);
    rd_buf_free(&a->rw_buf);
    free(a->rw_tmp);
    free(a->path);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    pthread_cond_destroy(&a->idle_cv);
    free(a);
    return rc;
}

/* ---- rewrite --------------------------------------------------------------- */

int rd_aof_rewrite_start(rd_aof *a, rd_aof_snapshot_fn fn, void *ud) {
    pthread_mutex_lock(&a->mu);
    if (a->rw_active) {
        pthread_mutex_unlock(&a->mu);
        return KR_EBUSY;
    }
    if (a->rw_tmp == NULL) {
        size_t n = strlen(a->path) + 32;
        a->rw_tmp = malloc(n);
        if (a->rw_tmp == NULL) {
            pthread_mutex_unlock(&a->mu);
            return KR_ENOMEM;
        }
        snprintf(a->rw_tmp, n, "%s.rewrite.tmp", a->path);
    }
    int tfd = open(a->rw_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (tfd < 0) {
        int e = -errno;
        pthread_mutex_unlock(&a->mu);
        rd__aof_log(3, "Can't open the temporary AOF for the rewrite: %s",
                    strerror(-e));
        return e;
    }
    clock_gettime(CLOCK_MONOTONIC, &a->rw_started);
    /* mu is held across the fork: no feed can slip between the snapshot
     * and the start of the rewrite buffer, and the child does not need mu
     * (it never touches the AOF's state). */
    pid_t pid = fork();
    if (pid == 0) {
        int rc = fn(ud, tfd);
        if (rc == 0 && fsync(tfd) != 0)
            rc = -errno;
        _exit(rc == 0 ? 0 : 1);
    }
    close(tfd);
    if (pid < 0) {
        int e = -errno;
        pthread_mutex_unlock(&a->mu);
        rd__aof_log(3,
                    "Can't rewrite append only file in background: "
                    "fork: %s",
                    strerror(-e));
        unlink(a->rw_tmp);
        return e;
    }
    rd__aof_log(2,
                "Background append only file rewriting started by pid "
                "%d",
                (int)pid);
    a->rw_pid = pid;
    a->rw_active = true;
    a->rw_buf.len = 0;
    /* The next command fed must say its database again: the rewritten
     * file's snapshot ends in whatever database the child wrote last. */
    a->last_db = -1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* Called by the writer, mu held, when the child has exited. */
static void finish_rewrite(rd_aof *a, int status) {
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rd__aof_log(3, "Background AOF rewrite terminated with error");
        unlink(a->rw_tmp);
        a->rw_active = false;
        a->stats.last_rewrite_status = KR_EIO;
        pthread_cond_broadcast(&a->idle_cv);
        return;
    }
    int rc = 0;
    int tfd = open(a->rw_tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (tfd < 0) {
        rc = -errno;
        goto fail;
    }
    /* Copy the rewrite buffer out while feeders go on; the last, small
     * part is written with mu held so that nothing is fed between it and
     * the switch of files. */
    while (a->rw_buf.len > (64u << 10)) {
        rd_buf chunk = a->rw_buf;
        memset(&a->rw_buf, 0, sizeof(a->rw_buf));
        pthread_mutex_unlock(&a->mu);
        rc = rd_aof_write_all(tfd, chunk.p, chunk.len);
        rd_buf_free(&chunk);
        pthread_mutex_lock(&a->mu);
        if (rc != 0)
            goto fail_fd;
    }
    rc = rd_aof_write_all(tfd, a->rw_buf.p, a->rw_buf.len);
    if (rc == 0 && fsync(tfd) != 0)
        rc = -errno;
    if (rc != 0)
        goto fail_fd;
    struct stat st;
    uint64_t size = fstat(tfd, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (rename(a->rw_tmp, a->path) != 0) {
        rc = -errno;
        goto fail_fd;
    }
    fsync_dir_of(a->path);
    /* The new file holds everything fed: what the main buffer still holds
     * is in it already. */
    close(a->fd);
    a->fd = tfd;
    a->size = size;
    a->buf.len = 0;
    a->rw_buf.len = 0;
    a->written = a->fed;
    a->rw_active = false;
    a->stats.rewrites++;
    a->stats.last_rewrite_status = 0;
    a->stats.last_rewrite_ms = ms_since(&a->rw_started);
    a->stats.base_size = size;
    rd__aof_log(2, "Background AOF rewrite finished successfully");
    publish_durable(a, a->fed);
    pthread_cond_broadcast(&a->idle_cv);
    return;
fail_fd:
    close(tfd);
fail:
    rd__aof_log(3, "Background AOF rewrite failed: %s", strerror(-rc));
    unlink(a->rw_tmp);
    a->rw_active = false;
    a->rw_buf.len = 0;
    a->stats.last_rewrite_status = rc;
    pthread_cond_broadcast(&a->idle_cv);
}

int rd_aof_rewrite_wait(rd_aof *a) {
    pthread_mutex_lock(&a->mu);
    while (a->rw_active && !a->stopped)
        pthread_cond_wait(&a->idle_cv, &a->mu);
    int rc = a->stats.last_rewrite_status;
    pthread_mutex_unlock(&a->mu);
    return rc;
}
