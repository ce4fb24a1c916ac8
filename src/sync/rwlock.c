/*
 * sync/rwlock.c: the reader-writer lock, a batch semaphore of max_readers
 * permits (sync/sem.h): a read takes 1, a write all of them. FIFO order in
 * the semaphore is what makes it write-preferring.
 */
#include <string.h>

#include "kairo.h"
#include "sync/sem.h"
#include "util/abort.h"
#include "util/alloc.h"

#define MAX_DATA ((size_t)1 << 20)

struct kr_rwlock {
    kr__sem sem;
    size_t max_readers;
    size_t size;
    _Alignas(16) unsigned char data[];
};

int kr_rwlock_new_with_max_readers(size_t data_size, uint32_t max_readers,
                                   kr_rwlock **out) {
    if (out == NULL || data_size > MAX_DATA || max_readers == 0 ||
        max_readers > KR_RWLOCK_MAX_READS)
        return KR_EINVAL;
    kr_rwlock *rw = kr__malloc(sizeof(*rw) + data_size);
    if (rw == NULL)
        return KR_ENOMEM;
    kr__sem_init(&rw->sem, max_readers);
    rw->max_readers = max_readers;
    rw->size = data_size;
    memset(rw->data, 0, data_size);
    *out = rw;
    return 0;
}

int kr_rwlock_new(size_t data_size, kr_rwlock **out) {
    return kr_rwlock_new_with_max_readers(data_size, KR_RWLOCK_MAX_READS, out);
}

void kr_rwlock_free(kr_rwlock *rw) {
    if (rw == NULL)
        return;
    kr__sem_destroy(&rw->sem, "kr_rwlock");
    kr__free(rw);
}

static kr_rwlock_guard guard_of(kr_rwlock *rw, size_t permits) {
    kr_rwlock_guard g = {rw, rw->size ? rw->data : NULL, permits};
    return g;
}

static int try_take(kr_rwlock *rw, kr_rwlock_guard *out, size_t permits) {
    if (rw == NULL || out == NULL)
        return KR_EINVAL;
    if (kr__sem_try_acquire(&rw->sem, permits) != 0)
        return KR_EBUSY;
    *out = guard_of(rw, permits);
    return 0;
}

int kr_rwlock_try_read(kr_rwlock *rw, kr_rwlock_guard *out) {
    return try_take(rw, out, 1);
}

int kr_rwlock_try_write(kr_rwlock *rw, kr_rwlock_guard *out) {
    return try_take(rw, out, rw == NULL ? 0 : rw->max_readers);
}

void kr_rwlock_unlock(kr_rwlock_guard *g) {
    if (g == NULL || g->lock == NULL)
        return;
    kr_rwlock *rw = g->lock;
    size_t n = g->permits_;
    g->lock = NULL;
    g->data = NULL;
    g->permits_ = 0;
    kr__sem_release(&rw->sem, n);
}

int kr_rwlock_downgrade(kr_rwlock_guard *g) {
    if (g == NULL || g->lock == NULL || g->permits_ != g->lock->max_readers)
        return KR_EINVAL;
    /* Keep one permit: no writer can take the lock in between. */
    size_t give = g->permits_ - 1;
    g->permits_ = 1;
    kr__sem_release(&g->lock->sem, give);
    return 0;
}

static kr_poll acquire_poll(kr_future *f, kr_context *cx, void *out) {
    kr_rwlock_acquire *a = (kr_rwlock_acquire *)f;
    if (a->a_.phase == 2)
        kr__die("%s polled after it returned READY", f->vtable->name);
    kr_rwlock_guard g = {NULL, NULL, 0};
    if (a->lock_ == NULL) {
        a->a_.phase = 2;
    } else {
        int rc;
        if (kr__acquire_poll(&a->lock_->sem, &a->a_, cx, &rc) == KR_PENDING)
            return KR_PENDING;
        g = guard_of(a->lock_, a->a_.n); /* rc is 0: never closed */
    }
    if (out != NULL)
        *(kr_rwlock_guard *)out = g;
    else
        kr_rwlock_unlock(&g); /* output discarded: nobody could unlock */
    return KR_READY;
}

/* A write future's first poll sets its count: every permit (the header's
 * inline constructor cannot read the lock's limit). */
static kr_poll write_poll(kr_future *f, kr_context *cx, void *out) {
    kr_rwlock_acquire *a = (kr_rwlock_acquire *)f;
    if (a->a_.phase == 0 && a->lock_ != NULL)
        a->a_.n = a->lock_->max_readers;
    return acquire_poll(f, cx, out);
}

static void acquire_drop(kr_future *f) {
    kr_rwlock_acquire *a = (kr_rwlock_acquire *)f;
    if (a->lock_ != NULL)
        kr__acquire_drop(&a->lock_->sem, &a->a_);
}

/* kr_rwlock_read_future and kr_rwlock_write_future (kairo/rwlock.h,
 * inline) point here. */
const kr_future_vtable kr__rwlock_read_vtable = {
    acquire_poll, acquire_drop, sizeof(kr_rwlock_acquire),
    sizeof(kr_rwlock_guard), "kr_rwlock_read"};
const kr_future_vtable kr__rwlock_write_vtable = {
    write_poll, acquire_drop, sizeof(kr_rwlock_acquire),
    sizeof(kr_rwlock_guard), "kr_rwlock_write"};
