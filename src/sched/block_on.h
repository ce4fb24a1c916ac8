/*
 * sched/block_on.h: kr_runtime_block_on's loop and its future's waker, one
 * for both flavors.
 *
 * The future passed to block_on is not a task: it runs on the calling
 * thread, polled whenever its waker has fired. Between polls the flavor
 * does its own work (the current-thread runtime runs its tasks there; the
 * multi-thread runtime's block_on only fires its timers) and then parks
 * the thread until the waker, a timer or the flavor's own events unpark
 * it.
 *
 * Protocol of the waker (its data is a kr__bo_signal):
 *   - wake stores `woken` with release, then unparks `park`; the loop
 *     swaps `woken` to 0 with acquire before each poll, so everything the
 *     waker's caller wrote before the wake is visible to that poll. A wake
 *     during the poll leaves `woken` set: the loop goes round again, and
 *     checks `woken` once more just before it parks, so a wake made on the
 *     loop's own thread (a timer fired between polls) needs no unpark.
 *   - A wake from the loop's own thread skips the unpark (a futex wake)
 *     where the flavor can tell (`self`: kr__ctx.worker == self while the
 *     thread runs the loop); it is only a saving.
 *   - The waker lent to each poll holds no reference; a clone holds one on
 *     `*refs`, the memory the signal lives in (the runtime's, or a
 *     separate signal's), and the drop of the last calls `release`.
 */
#ifndef KR_SCHED_BLOCK_ON_H
#define KR_SCHED_BLOCK_ON_H

#include "core/context.h"
#include "core/park.h"
#include "kairo.h"
#include "util/atomic.h"

typedef struct kr__bo_signal {
    _Atomic int woken;
    kr__parker *park;
    const void *self;   /* see above; NULL: always unpark */
    _Atomic long *refs; /* what a clone of the waker pins */
    void (*release)(struct kr__bo_signal *s); /* *refs reached zero */
} kr__bo_signal;

extern const kr_waker_vtable kr__bo_waker_vtable;

/*
 * Polls `f` until it is ready, then drops it (block_on consumes its
 * future). Between polls: `work(arg)` runs whatever the flavor has and
 * returns how long the thread may park (ns, -1 for no limit, 0 to go round
 * at once); `park(arg, ns)` parks it. `closed(arg)`, checked before every
 * poll, ends the loop with KR_ESHUTDOWN (the future dropped unpolled).
 * `budget` is each poll's coop budget. Returns 0 or KR_ESHUTDOWN.
 * Inline so that each flavor's hooks compile into its own loop.
 */
static inline int kr__block_on_loop(kr__bo_signal *s, kr_future *f, void *out,
                                    uint32_t budget, bool (*closed)(void *),
                                    int64_t (*work)(void *),
                                    void (*park)(void *, int64_t), void *arg) {
    kr_waker w = {s, &kr__bo_waker_vtable}; /* borrowed: no reference */
    kr_context cx = kr_context_from_waker(&w);
    kr__store_relaxed(&s->woken, 1); /* poll once to start */
    for (;;) {
        if (closed(arg)) {
            kr_future_drop(f);
            return KR_ESHUTDOWN;
        }
        /* Acquire pairs with the waker's release store. */
        if (kr__swap_acquire(&s->woken, 0)) {
            kr__ctx.budget = budget;
            kr_poll p = kr_future_poll(f, &cx, out);
            kr__ctx.budget = KR__BUDGET_UNLIMITED;
            if (p == KR_READY) {
                kr_future_drop(f);
                return 0;
            }
        }
        int64_t timeout = work(arg);
        /* Relaxed peek: the swap above is the synchronisation. */
        if (timeout == 0 || kr__load_relaxed(&s->woken))
            continue;
        park(arg, timeout);
    }
}

#endif
