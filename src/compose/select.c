/*
 * compose/select.c: kr_select (kairo/combinators.h).
 *
 * Each poll polls the live branches in order (biased) or from a start that
 * moves one branch on at every poll (fair), and stops at the first READY
 * one. The winner is dropped at once, as KR_AWAIT drops a finished child;
 * the losers are dropped before READY is returned, unless KR_SELECT_KEEP
 * leaves them to the caller. A select polled with the task's budget spent
 * returns PENDING (woken) without polling a branch.
 */
#include <stdint.h>

#include "kairo/combinators.h"
#include "kairo/error.h"
#include "kairo/runtime.h"
#include "core/context.h"
#include "util/abort.h"

#define DONE    0x80000000u /* in flags_: READY was returned */
#define STARTED 0x40000000u /* in flags_: next_ has been chosen */

/* Fair mode's first start: a per-thread xorshift, so a select made afresh
 * in every round of a loop does not always favour branch 0. */
static __thread uint32_t seed __attribute__((tls_model("initial-exec")));

static unsigned random_below(unsigned n) {
    uint32_t x = seed;
    if (x == 0)
        x = (uint32_t)(uintptr_t)&seed | 1u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    seed = x;
    return (unsigned)(((uint64_t)x * n) >> 32);
}

static kr_poll select_poll(kr_future *f, kr_context *cx, void *out) {
    kr_select_fut *s = (kr_select_fut *)f;
    if (s->flags_ & DONE)
        kr__die("kr_select polled after it returned READY");
    /* A select over futures that are always ready would otherwise never
     * yield: with no budget left it yields before polling anything (as
     * Tokio's select! does), and spends nothing of it itself. Read here
     * rather than through kr_coop_proceed: one TLS load on the hot path. */
    if (kr__ctx.budget == 0) {
        kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    unsigned n = s->n_, start = 0;
    if ((s->flags_ & KR_POLL_FAIR) && n != 0) {
        if (!(s->flags_ & STARTED)) {
            s->flags_ |= STARTED;
            s->next_ = random_below(n);
        }
        start = s->next_;
        s->next_ = start + 1 == n ? 0 : start + 1;
    }
    int won = KR_EINVAL;
    bool any = false;
    for (unsigned k = 0, i = start; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
        kr_branch *b = &s->br_[i];
        if (b->fut == NULL)
            continue;
        any = true;
        if (kr_future_poll(b->fut, cx, b->out) == KR_READY) {
            kr_branch_drop(b);
            won = (int)i;
            break;
        }
    }
    if (any && won < 0)
        return KR_PENDING;
    if (!(s->flags_ & KR_SELECT_KEEP))
        kr_branches_drop(s->br_, n);
    s->flags_ |= DONE;
    if (out != NULL)
        *(int *)out = won;
    return KR_READY;
}

static void select_drop(kr_future *f) {
    kr_select_fut *s = (kr_select_fut *)f;
    if (!(s->flags_ & (DONE | KR_SELECT_KEEP)))
        kr_branches_drop(s->br_, s->n_);
}

const kr_future_vtable kr__select_vtable = {
    select_poll, select_drop, sizeof(kr_select_fut), sizeof(int), "kr_select"};
