/*
 * compose/join.c: kr_join and kr_try_join (kairo/combinators.h).
 *
 * Every poll polls each live branch with the task's context. A branch that
 * is READY is dropped and emptied there and then, so an empty branch is a
 * finished one and the join needs no count of its own: it is READY when a
 * poll finds nothing live. That also makes a join safe to drop at any
 * point: what is still live is what needs dropping.
 *
 * kr_join_fut and kr_try_join_fut have the same fields in the same order
 * (two types only so that KR_AWAIT_INTO knows which has an output); the
 * code works on kr_join_fut.
 */
#include <stdint.h>

#include "kairo/combinators.h"
#include "util/abort.h"

_Static_assert(sizeof(kr_join_fut) == sizeof(kr_try_join_fut) &&
                   offsetof(kr_join_fut, failed_) ==
                       offsetof(kr_try_join_fut, failed_),
               "join and try-join share a layout");

#define DONE 0x80000000u /* in flags_: READY was returned */

void kr_branches_drop(kr_branch *br, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        kr_branch_drop(&br[i]);
}

/* A branch's output read for its sign: an int or an int64_t. */
static int64_t branch_result(const kr_branch *b) {
    if (b->out == NULL)
        return 0;
    if (b->size == sizeof(int))
        return *(const int *)b->out;
    if (b->size == sizeof(int64_t))
        return *(const int64_t *)b->out;
    return 0;
}

/* Polls every live branch once, from next_ under KR_POLL_FAIR. Returns
 * true when none is left live. With `try`, stops at a failed branch and
 * stores its index in failed_. */
static bool poll_all(kr_join_fut *j, kr_context *cx, bool try) {
    unsigned n = j->n_, i = 0;
    if ((j->flags_ & KR_POLL_FAIR) && n != 0) {
        i = j->next_;
        j->next_ = i + 1 == n ? 0 : i + 1;
    }
    bool done = true;
    for (unsigned k = 0; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
        kr_branch *b = &j->br_[i];
        if (b->fut == NULL)
            continue;
        if (kr_future_poll(b->fut, cx, b->out) == KR_PENDING) {
            done = false;
            continue;
        }
        kr_branch_drop(b);
        if (try && branch_result(b) < 0) {
            j->failed_ = (int)i;
            return true;
        }
    }
    return done;
}

static kr_poll join_poll(kr_future *f, kr_context *cx, void *out) {
    kr_join_fut *j = (kr_join_fut *)f;
    (void)out;
    if (j->flags_ & DONE)
        kr__die("kr_join polled after it returned READY");
    if (!poll_all(j, cx, false))
        return KR_PENDING;
    j->flags_ |= DONE;
    return KR_READY;
}

static kr_poll try_join_poll(kr_future *f, kr_context *cx, void *out) {
    kr_join_fut *j = (kr_join_fut *)f;
    if (j->flags_ & DONE)
        kr__die("kr_try_join polled after it returned READY");
    if (!poll_all(j, cx, true))
        return KR_PENDING;
    int rc = 0;
    if (j->failed_ >= 0) {
        rc = (int)branch_result(&j->br_[j->failed_]);
        kr_branches_drop(j->br_, j->n_); /* the rest, at once */
    }
    j->flags_ |= DONE;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

/* Before READY: cancellation, every live branch is dropped. After: none
 * is live. */
static void join_drop(kr_future *f) {
    kr_join_fut *j = (kr_join_fut *)f;
    if (!(j->flags_ & DONE))
        kr_branches_drop(j->br_, j->n_);
}

const kr_future_vtable kr__join_all_vtable = {
    join_poll, join_drop, sizeof(kr_join_fut), 0, "kr_join"};
const kr_future_vtable kr__try_join_vtable = {try_join_poll, join_drop,
                                              sizeof(kr_try_join_fut),
                                              sizeof(int), "kr_try_join"};
