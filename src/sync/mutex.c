/*
 * sync/mutex.c: the mutex, a one-permit batch semaphore (sync/sem.h) with
 * the protected data after it. Uncontended lock and unlock are one CAS
 * each.
 */
#include <string.h>

#include "kairo.h"
#include "sync/sem.h"
#include "util/abort.h"
#include "util/alloc.h"

#define MAX_DATA ((size_t)1 << 20)

struct kr_mutex {
    kr__sem sem;
    size_t size;
    _Alignas(16) unsigned char data[];
};

int kr_mutex_new(size_t data_size, kr_mutex **out) {
    if (out == NULL || data_size > MAX_DATA)
        return KR_EINVAL;
    kr_mutex *m = kr__malloc(sizeof(*m) + data_size);
    if (m == NULL)
        return KR_ENOMEM;
    kr__sem_init(&m->sem, 1);
    m->size = data_size;
    memset(m->data, 0, data_size);
    *out = m;
    return 0;
}

void kr_mutex_free(kr_mutex *m) {
    if (m == NULL)
        return;
    kr__sem_destroy(&m->sem, "kr_mutex");
    kr__free(m);
}

void *kr_mutex_data(kr_mutex *m) {
    return m == NULL || m->size == 0 ? NULL : m->data;
}

static kr_mutex_guard guard_of(kr_mutex *m) {
    kr_mutex_guard g = {m, kr_mutex_data(m)};
    return g;
}

int kr_mutex_try_lock(kr_mutex *m, kr_mutex_guard *out) {
    if (m == NULL || out == NULL)
        return KR_EINVAL;
    if (kr__sem_try_acquire(&m->sem, 1) != 0)
        return KR_EBUSY;
    *out = guard_of(m);
    return 0;
}

void kr_mutex_unlock(kr_mutex_guard *g) {
    if (g == NULL || g->mutex == NULL)
        return;
    kr_mutex *m = g->mutex;
    g->mutex = NULL;
    g->data = NULL;
    kr__sem_release(&m->sem, 1);
}

static kr_poll lock_poll(kr_future *f, kr_context *cx, void *out) {
    kr_mutex_lock *l = (kr_mutex_lock *)f;
    if (l->a_.phase == 2)
        kr__die("kr_mutex_lock polled after it returned READY");
    kr_mutex_guard g = {NULL, NULL};
    if (l->mutex_ == NULL) {
        l->a_.phase = 2;
    } else {
        int rc;
        if (kr__acquire_poll(&l->mutex_->sem, &l->a_, cx, &rc) == KR_PENDING)
            return KR_PENDING;
        g = guard_of(l->mutex_); /* rc is 0: a mutex never closes */
    }
    if (out != NULL)
        *(kr_mutex_guard *)out = g;
    else
        kr_mutex_unlock(&g); /* output discarded: nobody could unlock */
    return KR_READY;
}

static void lock_drop(kr_future *f) {
    kr_mutex_lock *l = (kr_mutex_lock *)f;
    if (l->mutex_ != NULL)
        kr__acquire_drop(&l->mutex_->sem, &l->a_);
}

/* kr_mutex_lock_future (kairo/mutex.h, inline) points here. */
const kr_future_vtable kr__mutex_lock_vtable = {
    lock_poll, lock_drop, sizeof(kr_mutex_lock), sizeof(kr_mutex_guard),
    "kr_mutex_lock"};
