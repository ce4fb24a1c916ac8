/* core/coop.h: the cooperative budget (the unit spent by kr_coop_proceed). */
#ifndef KR_CORE_COOP_H
#define KR_CORE_COOP_H

#include "core/context.h"
#include "kairo.h" /* kr_context, kr_coop_proceed */

/* Gives back the unit spent by the last kr_coop_proceed, for a future that
 * made no progress after all (as Tokio's RestoreOnPending). */
static inline void kr__coop_refund(void) {
    if (kr__ctx.budget != KR__BUDGET_UNLIMITED)
        kr__ctx.budget++;
}

/* kr_coop_proceed inlined, for the library's own leaf futures (the sync
 * primitives' receives, sends and acquires): spends one unit in the common
 * case, a budget neither unlimited nor spent, without a call; the other two
 * go to kr_coop_proceed. The call was 10 of about 250 instructions per
 * message of an mpsc receive (callgrind, contention_unbounded). */
static inline bool kr__coop_proceed(kr_context *cx) {
    uint32_t b = kr__ctx.budget;
    /* b - 1 wraps for 0; b == UNLIMITED gives UNLIMITED - 1: both fail. */
    if (__builtin_expect(b - 1 < KR__BUDGET_UNLIMITED - 1, 1)) {
        kr__ctx.budget = b - 1;
        return true;
    }
    return kr_coop_proceed(cx);
}

/* kr__coop_proceed's inline half alone: true when it spent the unit (the
 * common case); false when the budget is unlimited or spent, and nothing
 * was done: the caller then asks kr_coop_proceed, from a path out of line,
 * so that its own common path makes no call at all (no stack frame). */
static inline bool kr__coop_spend(void) {
    uint32_t b = kr__ctx.budget;
    if (__builtin_expect(b - 1 < KR__BUDGET_UNLIMITED - 1, 1)) {
        kr__ctx.budget = b - 1;
        return true;
    }
    return false;
}

#endif
