/*
 * kairo/notify.h: wake one task or all of them, without data (Tokio's
 * Notify).
 *
 * kr_notify_one wakes the oldest waiter; if nobody waits it stores one
 * permit (at most one: more calls keep the one), which the next notified
 * future takes at once. kr_notify_last wakes the newest waiter instead.
 * kr_notify_waiters wakes every waiter that exists at the call, including
 * notified futures made but not yet polled, and stores nothing.
 *
 * Memory order: whatever a thread wrote before a kr_notify_one (or _last)
 * is visible to the task its call wakes, and to the future that takes the
 * permit it stored - also when the permit was already stored and the call
 * only kept it. So `publish; kr_notify_one` against `await notified;
 * check` loses no wakeup even where the check reads the published flag
 * with a plain acquire load.
 *
 * What a dropped notified future loses: nothing. If kr_notify_one (or
 * _last) had chosen it and it is dropped before it saw that, the
 * notification passes on to the next waiter in the same order (or is
 * stored as the permit when none is left); a kr_notify_waiters wake is not
 * a permit and is simply not seen. Only its place in the queue is gone.
 *
 * Threads: every call from any thread, inside a runtime or not; the
 * notified future from tasks of either runtime, block_on, or by hand.
 * Notify has no close.
 */
#ifndef KAIRO_NOTIFY_H
#define KAIRO_NOTIFY_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_notify kr_notify;

/* Returns 0, KR_EINVAL (NULL out) or KR_ENOMEM. */
KR_API int kr_notify_new(kr_notify **out);

/* Frees it. Requires: no notified future is queued on it, enabled ones
 * included (the debug build aborts naming kr_notify). NULL is ignored. */
KR_API void kr_notify_free(kr_notify *n);

/* Wakes the oldest waiter, or stores the permit. NULL is ignored. */
KR_API void kr_notify_one(kr_notify *n);
/* Wakes the newest waiter, or stores the permit. NULL is ignored. */
KR_API void kr_notify_last(kr_notify *n);
/* Wakes every current waiter; stores nothing. NULL is ignored. */
KR_API void kr_notify_waiters(kr_notify *n);

/*
 * A future completing when notified. No output. It counts as waiting from
 * the moment it is made for kr_notify_waiters, and from its first poll (or
 * kr_notified_enable) for kr_notify_one. The notify must outlive it.
 */
typedef struct kr_notified {
    kr_future base;
    kr_notify *notify_;
    size_t calls_;
    int phase_;
    kr__waiter w_;
} kr_notified;
/* Inline, as every future's constructor (kairo/waiter.h says why;
 * notify/notify_one: a quarter of the waiter's own samples).
 * kr__notify_calls is its snapshot of the kr_notify_waiters count (0 for a
 * NULL notify), a scalar. */
KR_API extern const kr_future_vtable kr__notified_vtable;
KR_API size_t kr__notify_calls(const kr_notify *n);
static inline kr_notified kr_notify_notified(kr_notify *n) {
    kr_notified f = {
        {&kr__notified_vtable}, n, kr__notify_calls(n), 0, KR__WAITER_INIT};
    return f;
}

/*
 * Registers the future as a waiter without polling it (Tokio's enable), so
 * a kr_notify_one from now on is kept for it. Takes a stored permit if
 * there is one. Returns true if the future is already notified (its next
 * poll is READY). The future must not be moved after this call.
 */
KR_API bool kr_notified_enable(kr_notified *f);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_NOTIFY_H */
