/*
 * sync/sem.c: the batch semaphore (protocol in sync/sem.h).
 */
#include "sync/sem.h"

#include "core/coop.h" /* kr__coop_refund */
#include "util/atomic.h"

#define ONE ((size_t)1 << KR__SEM_SHIFT)

static size_t permits_of(size_t st) { return st >> KR__SEM_SHIFT; }

void kr__sem_init(kr__sem *s, size_t permits) {
    KR__REQUIRE(permits <= KR__SEM_MAX_PERMITS, "%zu permits", permits);
    atomic_init(&s->state, permits << KR__SEM_SHIFT);
    kr__wait_list_init(&s->wl);
}

void kr__sem_destroy(kr__sem *s, const char *what) {
    kr__wait_list_destroy(&s->wl, what);
}

int kr__sem_try_acquire(kr__sem *s, size_t n) {
    /* Relaxed first read: the CAS below re-reads with acquire. */
    size_t cur = kr__load_relaxed(&s->state);
    for (;;) {
        if (cur & KR__SEM_CLOSED)
            return KR_ECLOSED;
        if (n == 0)
            return 0;
        /* WAITERS implies no permits, so older waiters are never bypassed. */
        if (permits_of(cur) < n)
            return KR_EAGAIN;
        /* Acquire pairs with the release CAS that returned these permits. */
        if (kr__cas_weak_acqrel(&s->state, &cur, cur - n * ONE))
            return 0;
    }
}

/* Under the lock: sets the state's permits to +add and WAITERS to `waiters`.
 * Fails (KR_EINVAL, nothing changed) on overflow. */
static int publish_locked(kr__sem *s, size_t add, bool waiters) {
    size_t cur = kr__load_relaxed(&s->state); /* the CAS re-reads */
    for (;;) {
        if (permits_of(cur) + add > KR__SEM_MAX_PERMITS)
            return KR_EINVAL;
        size_t next = (cur + add * ONE) & ~KR__SEM_WAITERS;
        if (waiters)
            next |= KR__SEM_WAITERS;
        if (kr__cas_weak_acqrel(&s->state, &cur, next))
            return 0;
    }
}

int kr__sem_release(kr__sem *s, size_t n) {
    if (n == 0)
        return 0;
    size_t cur = kr__load_relaxed(&s->state); /* the CAS re-reads */
    while (!(cur & KR__SEM_WAITERS)) {
        if (n > KR__SEM_MAX_PERMITS - permits_of(cur))
            return KR_EINVAL;
        /* Release: what the holder did happens-before the next acquire. */
        if (kr__cas_weak_acqrel(&s->state, &cur, cur + n * ONE))
            return 0;
    }
    /* Waiters: hand the permits over in FIFO order, under the lock. */
    kr__wake_batch b;
    kr__wake_batch_init(&b);
    size_t rem = n;
    kr__wait_lock(&s->wl);
    for (;;) {
        kr__waiter *w;
        while (rem > 0 && !kr__wake_batch_full(&b) &&
               (w = kr__wait_list_front(&s->wl)) != NULL) {
            size_t take = w->state < rem ? w->state : rem;
            w->state -= take;
            rem -= take;
            if (w->state == 0)
                kr__wake_batch_take(&b, w); /* granted; unlinked */
        }
        if (!kr__wake_batch_full(&b) || rem == 0)
            break;
        /* Wake a full batch outside the lock, then go on: newcomers queue
         * behind the waiters still there, so order is kept. */
        kr__wait_unlock(&s->wl);
        kr__wake_batch_wake(&b);
        kr__wait_lock(&s->wl);
    }
    int rc = 0;
    if (kr__wait_list_empty(&s->wl))
        rc = publish_locked(s, rem, false);
    /* else rem == 0: everything went to waiters; WAITERS stays. */
    kr__wait_unlock(&s->wl);
    kr__wake_batch_wake(&b);
    return rc;
}

void kr__sem_close(kr__sem *s) {
    kr__wake_batch b;
    kr__wake_batch_init(&b);
    kr__wait_lock(&s->wl);
    size_t cur = kr__load_relaxed(&s->state); /* the CAS re-reads */
    while (!kr__cas_weak_acqrel(&s->state, &cur,
                                (cur | KR__SEM_CLOSED) & ~KR__SEM_WAITERS))
        ;
    kr__waiter *w;
    while ((w = kr__wait_list_front(&s->wl)) != NULL) {
        /* state stays > 0: the waiter's poll reads "closed" from that. */
        kr__wake_batch_take(&b, w);
        if (kr__wake_batch_full(&b)) {
            /* New waiters cannot join (CLOSED is set), so dropping the
             * lock here only lets queued ones leave. */
            kr__wait_unlock(&s->wl);
            kr__wake_batch_wake(&b);
            kr__wait_lock(&s->wl);
        }
    }
    kr__wait_unlock(&s->wl);
    kr__wake_batch_wake(&b);
}

size_t kr__sem_available(const kr__sem *s) {
    /* Acquire: a caller acting on the count sees the releases behind it. */
    return permits_of(kr__load_acquire((_Atomic size_t *)&s->state));
}

bool kr__sem_is_closed(const kr__sem *s) {
    return (kr__load_acquire((_Atomic size_t *)&s->state) & KR__SEM_CLOSED) !=
           0;
}

size_t kr__sem_forget(kr__sem *s, size_t n) {
    size_t cur = kr__load_relaxed(&s->state); /* the CAS re-reads */
    for (;;) {
        size_t take = permits_of(cur) < n ? permits_of(cur) : n;
        if (take == 0)
            return 0;
        if (kr__cas_weak_acqrel(&s->state, &cur, cur - take * ONE))
            return take;
    }
}

/* Under the lock: takes what is available and queues for the rest. Returns
 * 0 (all n taken: done), 1 (queued) or KR_ECLOSED. */
static int acquire_slow(kr__sem *s, kr__acquire *a, const kr_waker *wk) {
    kr__wait_lock(&s->wl);
    /* Only the first in line may take permits: with older waiters queued
     * there are none to take anyway (WAITERS => 0 available). */
    bool first = kr__wait_list_empty(&s->wl);
    size_t cur = kr__load_relaxed(&s->state); /* the CAS re-reads */
    size_t take;
    for (;;) {
        if (cur & KR__SEM_CLOSED) {
            kr__wait_unlock(&s->wl);
            return KR_ECLOSED;
        }
        take = first && permits_of(cur) > 0
                   ? (permits_of(cur) < a->n ? permits_of(cur) : a->n)
                   : 0;
        size_t next = cur - take * ONE;
        /* Done: the list is empty, so a stale WAITERS goes too. */
        next = take == a->n ? next & ~KR__SEM_WAITERS : next | KR__SEM_WAITERS;
        if (kr__cas_weak_acqrel(&s->state, &cur, next))
            break;
    }
    if (take == a->n) {
        kr__wait_unlock(&s->wl);
        return 0;
    }
    a->w.state = a->n - take;
    kr__waiter_push(&s->wl, &a->w, wk);
    kr__wait_unlock(&s->wl);
    return 1;
}

/* The first poll found too few permits: queue (or fail, closed). */
static __attribute__((noinline)) kr_poll
acquire_contended(kr__sem *s, kr__acquire *a, kr_context *cx, int *rc) {
    int r = acquire_slow(s, a, cx->waker);
    if (r == 1) {
        a->phase = 1;
        kr__coop_refund();
        return KR_PENDING;
    }
    a->phase = 2;
    *rc = r;
    return KR_READY;
}

/* A later poll of a queued acquire: the lock tells whether we were
 * granted, closed, or wait on. */
static __attribute__((noinline)) kr_poll
acquire_queued(kr__sem *s, kr__acquire *a, kr_context *cx, int *rc) {
    kr__wait_lock(&s->wl);
    if (kr__waiter_linked(&a->w)) {
        kr_waker_set(&a->w.waker, cx->waker);
        kr__wait_unlock(&s->wl);
        kr__coop_refund();
        return KR_PENDING;
    }
    size_t still = a->w.state;
    kr__wait_unlock(&s->wl);
    kr__waiter_drop_waker(&a->w); /* closed: close took it; else none */
    a->phase = 2;
    if (still == 0) {
        *rc = 0;
    } else {
        /* Closed while queued: return what had been assigned. */
        kr__sem_release(s, a->n - still);
        *rc = KR_ECLOSED;
    }
    return KR_READY;
}

/* The common case, permits there at the first poll, takes no call but the
 * CAS: the queued and contended cases are tail calls, so this saves no
 * registers (they cost 19 of the ~44 instructions of an uncontended
 * acquire's poll, with kr_coop_proceed's call another 10). */
kr_poll kr__acquire_poll(kr__sem *s, kr__acquire *a, kr_context *cx, int *rc) {
    if (!kr__coop_proceed(cx))
        return KR_PENDING;
    if (a->phase != 0)
        return acquire_queued(s, a, cx, rc);
    int r = kr__sem_try_acquire(s, a->n);
    if (r == KR_EAGAIN)
        return acquire_contended(s, a, cx, rc);
    a->phase = 2;
    *rc = r;
    return KR_READY;
}

void kr__acquire_drop(kr__sem *s, kr__acquire *a) {
    if (a->phase != 1)
        return; /* never queued, or completed: the caller owns the result */
    a->phase = 2;
    kr__wait_lock(&s->wl);
    if (kr__waiter_linked(&a->w)) {
        kr__list_remove(&a->w.node);
        if (kr__wait_list_empty(&s->wl)) {
            /* Keep the fast release path: WAITERS with an empty list only
             * sends the next release through the lock. Available permits
             * are 0 here (WAITERS was set), so nothing else changes. */
            size_t cur = kr__load_relaxed(&s->state); /* CAS re-reads */
            while (
                (cur & KR__SEM_WAITERS) &&
                !kr__cas_weak_acqrel(&s->state, &cur, cur & ~KR__SEM_WAITERS))
                ;
        }
    }
    /* Assigned and not consumed: n - still (all n if granted). */
    size_t give = a->n - a->w.state;
    kr__wait_unlock(&s->wl);
    kr__waiter_drop_waker(&a->w);
    if (give > 0)
        kr__sem_release(s, give);
}
