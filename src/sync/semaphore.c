/*
 * sync/semaphore.c: the public semaphore, a kr__sem of its own (sync/sem.h
 * has the algorithm).
 */
#include "kairo.h"
#include "sync/sem.h"
#include "util/abort.h"
#include "util/alloc.h"

struct kr_semaphore {
    kr__sem sem;
};

int kr_semaphore_new(size_t permits, kr_semaphore **out) {
    if (out == NULL || permits > KR_SEMAPHORE_MAX_PERMITS)
        return KR_EINVAL;
    kr_semaphore *s = kr__malloc(sizeof(*s));
    if (s == NULL)
        return KR_ENOMEM;
    kr__sem_init(&s->sem, permits);
    *out = s;
    return 0;
}

void kr_semaphore_free(kr_semaphore *s) {
    if (s == NULL)
        return;
    kr__sem_destroy(&s->sem, "kr_semaphore");
    kr__free(s);
}

int kr_semaphore_try_acquire(kr_semaphore *s, size_t n) {
    if (s == NULL || n > KR_SEMAPHORE_MAX_PERMITS)
        return KR_EINVAL;
    return kr__sem_try_acquire(&s->sem, n);
}

int kr_semaphore_release(kr_semaphore *s, size_t n) {
    if (s == NULL)
        return KR_EINVAL;
    return kr__sem_release(&s->sem, n);
}

int kr_semaphore_add_permits(kr_semaphore *s, size_t n) {
    return kr_semaphore_release(s, n);
}

size_t kr_semaphore_forget_permits(kr_semaphore *s, size_t n) {
    return s == NULL ? 0 : kr__sem_forget(&s->sem, n);
}

void kr_semaphore_close(kr_semaphore *s) {
    if (s != NULL)
        kr__sem_close(&s->sem);
}

bool kr_semaphore_is_closed(const kr_semaphore *s) {
    return s == NULL || kr__sem_is_closed(&s->sem);
}

size_t kr_semaphore_available_permits(const kr_semaphore *s) {
    return s == NULL ? 0 : kr__sem_available(&s->sem);
}

static kr_poll acquire_poll(kr_future *f, kr_context *cx, void *out) {
    kr_semaphore_acquire *a = (kr_semaphore_acquire *)f;
    if (a->a_.phase == 2)
        kr__die("kr_semaphore_acquire polled after it returned READY");
    int rc;
    if (a->sem_ == NULL || a->a_.n > KR_SEMAPHORE_MAX_PERMITS) {
        a->a_.phase = 2;
        rc = KR_EINVAL;
    } else if (kr__acquire_poll(&a->sem_->sem, &a->a_, cx, &rc) == KR_PENDING) {
        return KR_PENDING;
    }
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void acquire_drop(kr_future *f) {
    kr_semaphore_acquire *a = (kr_semaphore_acquire *)f;
    if (a->sem_ != NULL)
        kr__acquire_drop(&a->sem_->sem, &a->a_);
}

/* kr_semaphore_acquire_future (kairo/semaphore.h, inline) points here. */
const kr_future_vtable kr__semaphore_acquire_vtable = {
    acquire_poll, acquire_drop, sizeof(kr_semaphore_acquire), sizeof(int),
    "kr_semaphore_acquire"};
