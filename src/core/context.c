/* core/context.c: the per-thread context (see context.h). */
#include "core/context.h"

/* A thread that drives no runtime has an unlimited budget (kr_coop_proceed
 * documents it): a join handle or channel receive polled by hand outside
 * any runtime must not read a zero-initialised budget as "used up". */
__thread kr__ctx_t kr__ctx __attribute__((tls_model("initial-exec"))) = {
    .budget = KR__BUDGET_UNLIMITED};

const struct kr_waker_vtable *kr__self_wake_vtable;
