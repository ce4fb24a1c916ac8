/* core/coop.h: the cooperative budget (the unit spent by kr_coop_proceed). */
#ifndef KR_CORE_COOP_H
#define KR_CORE_COOP_H

#include "core/context.h"

/* Gives back the unit spent by the last kr_coop_proceed, for a future that
 * made no progress after all (as Tokio's RestoreOnPending). */
static inline void kr__coop_refund(void) {
    if (kr__ctx.budget != KR__BUDGET_UNLIMITED)
        kr__ctx.budget++;
}

#endif
