/*
 * kairo/combinators.h: running several futures inside one task.
 *
 *   kr_join       runs N futures concurrently; READY when all are (Tokio's
 *                 join!). Each output goes to its own place.
 *   kr_try_join   the same, but the first branch that fails (an int or
 *                 int64_t output below zero) ends it: the others are
 *                 dropped at once (Tokio's try_join!).
 *   kr_select     READY with the index of the first of N futures to finish;
 *                 the others are dropped at once (Tokio's select!), or, with
 *                 KR_SELECT_KEEP, left alive in their branches for the next
 *                 round of a loop (Tokio's `&mut fut` in select!).
 *
 * The futures are the caller's: fields of the parent future, like every
 * child (kairo/async.h). A kr_branch names one of them and where its output
 * goes; an array of branches is what the combinators run:
 *
 *     typedef struct {
 *         kr_future base; kr_coro co;
 *         kr_sleep nap; kr_tcp_read rd; int64_t n;
 *         kr_branch br[2];
 *         kr_select_fut sel; int which;
 *     } reader;
 *     ...
 *     kr_sleep_init(&r->nap, kr_ms(500));
 *     r->rd = kr_tcp_stream_read(r->s, r->buf, sizeof(r->buf));
 *     KR_BRANCH_SET(&r->br[0], &r->rd, r->n);    // checks sizeof(r->n)
 *     KR_BRANCH_SET_VOID(&r->br[1], &r->nap);
 *     r->sel = kr_select(r->br, 2, KR_POLL_BIASED);
 *     KR_AWAIT_INTO(&r->co, &r->sel, cx, r->which);  // 0: read, 1: timeout
 *
 * Ownership. From the moment a join or select is made until it is READY or
 * dropped, it owns the futures in its branches: it polls them with the
 * task's context, drops each as soon as it is READY (as KR_AWAIT does), and
 * empties its branch (fut = NULL). When the join or select finishes, or is
 * dropped before (cancellation: the parent's kr_coro_drop drops it), every
 * future still in a branch is dropped and its branch emptied, exactly once,
 * except under KR_SELECT_KEEP, where the branches stay the caller's: the
 * select then drops only the winner, and the parent's drop must call
 * kr_branches_drop for the others.
 *
 * Select in a loop. Re-creating a future that is still pending loses what
 * it had (a broadcast receive its place, a read its buffer, a sleep its
 * deadline). With KR_SELECT_KEEP, refill only the branches that are empty:
 *
 *     for (;;) {
 *         if (!kr_branch_live(&c->br[0])) {          // the read finished
 *             c->rd = kr_tcp_stream_read(c->s, c->buf, sizeof(c->buf));
 *             KR_BRANCH_SET(&c->br[0], &c->rd, c->n);
 *         }
 *         ...
 *         c->sel = kr_select(c->br, 3, KR_SELECT_KEEP);
 *         KR_AWAIT_INTO(&c->co, &c->sel, cx, c->which);
 *     }
 *     ...drop: kr_coro_drop(&c->co); kr_branches_drop(c->br, 3);
 *
 * Polling. Every live branch is polled on every poll of the combinator
 * (Tokio's join! and select! do the same): the branches share the task's
 * waker, so a wake does not say which branch it is for. For a handful of
 * branches that is cheaper than a waker per branch; for many tasks, use a
 * kr_join_set (kairo/join_set.h), which polls only what finished.
 *
 * A branch's output pointer must stay valid while the branch is live, and
 * must not overlap another branch's or the combinator's own output.
 */
#ifndef KAIRO_COMBINATORS_H
#define KAIRO_COMBINATORS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One future of a join or select and where its output goes. */
typedef struct kr_branch {
    kr_future *fut; /* NULL: the branch is empty */
    void *out;      /* the output's place; NULL discards it */
    size_t size;    /* sizeof *out (0 when discarded): kr_try_join reads
                       an int (4) or int64_t (8) output for its sign */
} kr_branch;

/*
 * Fills branch `b_` with future `f_` (a future struct pointer or a
 * kr_future *) writing its output into `lvalue_`. Checks the size as
 * KR_AWAIT_INTO does (kairo/async.h): at compile time for kairo's futures
 * with a fixed output, at run time in debug builds for the rest.
 */
#define KR_BRANCH_SET(b_, f_, lvalue_)                                         \
    do {                                                                       \
        _Static_assert(KR__OUTPUT_SIZE(f_) == KR__OUTPUT_UNKNOWN ||            \
                           KR__OUTPUT_SIZE(f_) == sizeof(lvalue_),             \
                       "KR_BRANCH_SET: the variable's size is not the size "   \
                       "of the future's output");                              \
        kr_branch *kr__b_ = (b_);                                              \
        kr__b_->fut = KR__AS_FUTURE(f_);                                       \
        KR__AWAIT_CHECK(kr__b_->fut, sizeof(lvalue_));                         \
        kr__b_->out = &(lvalue_);                                              \
        kr__b_->size = sizeof(lvalue_);                                        \
    } while (0)

/* Fills branch `b_` with `f_`, discarding its output. */
#define KR_BRANCH_SET_VOID(b_, f_)                                             \
    do {                                                                       \
        kr_branch *kr__b_ = (b_);                                              \
        kr__b_->fut = KR__AS_FUTURE(f_);                                       \
        kr__b_->out = NULL;                                                    \
        kr__b_->size = 0;                                                      \
    } while (0)

/* True while the branch holds a future (not finished, not dropped). */
static inline bool kr_branch_live(const kr_branch *b) { return b->fut != NULL; }

/* Drops the branch's future, if any, and empties the branch. */
static inline void kr_branch_drop(kr_branch *b) {
    kr_future *f = b->fut;
    b->fut = NULL;
    if (f != NULL)
        kr_future_drop(f);
}

/* Drops every live branch of `br[0..n)`. */
KR_API void kr_branches_drop(kr_branch *br, unsigned n);

/* ---- polling order ------------------------------------------------------ */

enum {
    /* Poll the branches in order, from 0, every time (Tokio's `biased;`). */
    KR_POLL_BIASED = 0,
    /* Start each poll one branch further on, so a branch that is always
     * ready cannot starve the ones after it (Tokio's default). A join
     * starts at branch 0 and rotates (Tokio's join! order); a select
     * starts at a random branch (select! does), then rotates. */
    KR_POLL_FAIR = 1,
    /* kr_select only: leave the losers alive in their branches (see
     * "Select in a loop" above). */
    KR_SELECT_KEEP = 2
};

/* ---- join ---------------------------------------------------------------- */

/* A join (no output) or a try-join (an int output: 0, or the failure). The
 * fields are private. */
typedef struct kr_join_fut {
    kr_future base;
    kr_branch *br_;
    unsigned n_;
    unsigned flags_;
    unsigned next_; /* KR_POLL_FAIR: the branch to poll first */
    int failed_;    /* kr_try_join: the branch that failed, or -1 */
} kr_join_fut;

typedef struct kr_try_join_fut {
    kr_future base;
    kr_branch *br_;
    unsigned n_;
    unsigned flags_;
    unsigned next_;
    int failed_;
} kr_try_join_fut;

/*
 * A future that polls every live branch of br[0..n) until all are READY,
 * in the order `flags` says (KR_POLL_BIASED or KR_POLL_FAIR). No output.
 * Empty branches count as done (n == 0: READY at once).
 */
KR_API extern const kr_future_vtable kr__join_all_vtable;
static inline kr_join_fut kr_join(kr_branch *br, unsigned n, unsigned flags) {
    kr_join_fut j = {{&kr__join_all_vtable}, br, n,
                     flags & KR_POLL_FAIR,   0,  -1};
    return j;
}

/*
 * As kr_join, but a branch fails when its output, an int (size 4) or an
 * int64_t (size 8), is negative, and the first failure ends the join: every
 * other live branch is dropped at once. Output (an int): 0 when every
 * branch succeeded, else the failing output (an int64_t one converted to
 * int; kairo's error codes fit). Outputs of other sizes never fail.
 * Branches that finish in the same poll as a failure, before it, keep
 * their outputs; those after it are dropped unpolled.
 */
KR_API extern const kr_future_vtable kr__try_join_vtable;
static inline kr_try_join_fut kr_try_join(kr_branch *br, unsigned n,
                                          unsigned flags) {
    kr_try_join_fut j = {{&kr__try_join_vtable}, br, n,
                         flags & KR_POLL_FAIR,   0,  -1};
    return j;
}

/* After a kr_try_join is READY: the index of the branch that failed, or
 * -1 if none did. */
static inline int kr_try_join_failed(const kr_try_join_fut *j) {
    return j->failed_;
}

/* ---- select -------------------------------------------------------------- */

/* The fields are private. */
typedef struct kr_select_fut {
    kr_future base;
    kr_branch *br_;
    unsigned n_;
    unsigned flags_;
    unsigned next_; /* KR_POLL_FAIR: the branch to poll first */
} kr_select_fut;

/*
 * A future that polls the live branches of br[0..n) until one is READY.
 * Output (an int): the index of that branch, whose output has been written
 * and whose future has been dropped; or KR_EINVAL, at once, when no branch
 * is live (Tokio's select! panics there unless it has an `else`). The
 * other branches are dropped then, unless `flags` has KR_SELECT_KEEP.
 * `flags`: KR_POLL_BIASED or KR_POLL_FAIR, or'ed with KR_SELECT_KEEP.
 */
KR_API extern const kr_future_vtable kr__select_vtable;
static inline kr_select_fut kr_select(kr_branch *br, unsigned n,
                                      unsigned flags) {
    /* The constructors are inline, as kairo's channel futures' are: a
     * future returned by an out-of-line call goes through memory and is
     * read back at once (a store-forwarding stall). */
    kr_select_fut s = {{&kr__select_vtable},
                       br,
                       n,
                       flags & (KR_POLL_FAIR | KR_SELECT_KEEP),
                       0};
    return s;
}

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_COMBINATORS_H */
