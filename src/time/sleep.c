/*
 * time/sleep.c: the sleep future and the monotonic clock.
 *
 * A sleep registers its entry (inside the future) on the wheel of the
 * thread that polls it first (kr__ctx.wheel) and stays there until it fires
 * or is dropped; see time/wheel.h for the locking. Polls, resets and the
 * drop happen on one thread at a time (the future's owner); only firing
 * runs concurrently with them, under the wheel's lock.
 */
#include <string.h>

#include "core/context.h"
#include "core/runtime.h"
#include "time/wheel.h"
#include "util/abort.h"
#include "core/vclock.h"

kr_instant kr_instant_now(void) {
    kr_instant t = {kr__clock_now_ns()}; /* paused: core/vclock.h */
    return t;
}

static kr__timer *entry_of(kr_sleep *s) { return (kr__timer *)&s->entry_; }

/* Takes the entry off its wheel, if it is on one, and drops its waker. */
static void unregister(kr__timer *t) {
    /* Acquire pairs with the release that cleared the pointer when the
     * entry fired (or was removed): the wheel took the waker before, so a
     * NULL here means the slot is already empty. A non-NULL value may go
     * stale at once (the owner fires it): the re-check under the lock
     * settles that. */
    kr__wheel *w = kr__load_acquire(&t->wheel);
    if (w == NULL)
        return;
    kr__spin_lock(&w->lock);
    kr_waker old = kr__wheel_remove(w, t);
    kr__spin_unlock(&w->lock);
    if (old.vtable != NULL)
        kr_waker_drop(old);
}

static kr_poll sleep_poll_inner(kr__timer *t, kr_context *cx) {
    uint64_t deadline = kr__load_relaxed(&t->deadline); /* owner's field */
    kr__wheel *w = kr__load_acquire(&t->wheel);         /* see unregister */
    if (w != NULL) {
        kr__spin_lock(&w->lock);
        if (kr__load_relaxed(&t->wheel) == w) {
            if (deadline > kr__now_ms()) {
                kr_waker_set(&t->waker, cx->waker); /* a new task maybe */
                kr__spin_unlock(&w->lock);
                return KR_PENDING;
            }
            kr_waker old = kr__wheel_remove(w, t); /* due: don't wait */
            kr__spin_unlock(&w->lock);
            if (old.vtable != NULL)
                kr_waker_drop(old);
            return KR_READY;
        }
        kr__spin_unlock(&w->lock);
        return KR_READY; /* it fired */
    }
    if (deadline <= kr__now_ms())
        return KR_READY;
    if (kr__rt_no_timers(kr__ctx.rt))
        kr__die("kr_sleep polled on a runtime made without timers "
                "(KR_DRIVER_TIME in kr_runtime_config.disable_drivers)");
    w = kr__wheel_of(kr__ctx.wheel); /* NULL stays NULL */
    if (w == NULL)
        kr__die("kr_sleep polled outside a runtime (no timer wheel here)");
    kr__spin_lock(&w->lock);
    kr__wheel_insert(w, t, cx->waker);
    kr__spin_unlock(&w->lock);
    t->state |= KR__TIMER_REGISTERED;
    return KR_PENDING;
}

static kr_poll sleep_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    kr__timer *t = entry_of((kr_sleep *)f);
    if (t->state & KR__TIMER_DONE)
        return KR_READY;
    kr_poll p = sleep_poll_inner(t, cx);
    if (p == KR_READY)
        t->state |= KR__TIMER_DONE;
    return p;
}

static void sleep_drop(kr_future *f) {
    kr__timer *t = entry_of((kr_sleep *)f);
    unregister(t);
    t->state &= (uint8_t)~KR__TIMER_REGISTERED; /* off the wheel, not fired */
}

static const kr_future_vtable sleep_vtable = {sleep_poll, sleep_drop,
                                              sizeof(kr_sleep), 0, "kr_sleep"};

kr_sleep kr_sleep_until(kr_instant deadline) {
    kr_sleep s;
    memset(&s, 0, sizeof(s));
    s.base.vtable = &sleep_vtable;
    s.entry_.deadline_ = kr__ms_ceil(deadline.ns);
    return s;
}

int kr_sleep_reset(kr_sleep *s, kr_instant deadline) {
    if (s == NULL)
        return KR_EINVAL;
    kr__timer *t = entry_of(s);
    uint64_t now = kr__ms_ceil(deadline.ns);
    uint64_t old = kr__load_relaxed(&t->deadline);
    if (now >= old && kr__load_acquire(&t->wheel) != NULL) {
        /* Later: no lock. The wheel finds the entry in its old slot, sees
         * the new deadline and re-files it. Relaxed: the wheel reads it
         * under its lock when the slot comes up; any value it sees is at
         * least the old one. */
        kr__store_relaxed(&t->deadline, now);
        t->state = KR__TIMER_REGISTERED; /* pending again */
        return 0;
    }
    unregister(t); /* earlier, or not registered: the next poll files it */
    kr__store_relaxed(&t->deadline, now);
    t->state = 0;
    return 0;
}

kr_instant kr_sleep_deadline(const kr_sleep *s) {
    kr_instant t = {0};
    if (s == NULL)
        return t;
    uint64_t ms = s->entry_.deadline_;
    /* Saturates: the last ms, rounded up, is past UINT64_MAX ns. */
    t.ns = ms > UINT64_MAX / 1000000 ? UINT64_MAX : ms * 1000000;
    return t;
}

/* As Tokio's: elapsed once it completed or its registered entry fired;
 * a sleep never polled is not elapsed, even if due (Tokio's
 * immediate_sleep test). */
bool kr_sleep_is_elapsed(const kr_sleep *s) {
    if (s == NULL)
        return false;
    kr__timer *t = (kr__timer *)(void *)&s->entry_;
    if (t->state & KR__TIMER_DONE)
        return true;
    /* Acquire: pairs with the release that cleared it when it fired. */
    return (t->state & KR__TIMER_REGISTERED) &&
           kr__load_acquire(&t->wheel) == NULL;
}
