/*
 * kairo/cancel.h: cancellation tokens (tokio-util's CancellationToken).
 *
 * A token is cancelled once, by kr_cancel_token_cancel on it or on any of
 * its ancestors; cancelling wakes every kr_cancelled future waiting on it
 * and on its descendants. Tokens form a tree: kr_cancel_token_child makes
 * a child that is cancelled with its parent (or at once, if the parent
 * already is); cancelling a child does not touch its parent or siblings.
 * Dropping a token's last reference detaches it: its children are handed
 * to its parent, so they are still cancelled with their grandparent.
 *
 * A kr_cancel_token * is a counted reference: kr_cancel_token_clone makes
 * another reference to the same token (Tokio's clone), each released with
 * kr_cancel_token_drop.
 *
 * What a dropped cancelled() future loses: nothing (cancellation is a
 * state, not a permit: a later future sees it at once).
 *
 * Threads: every call from any thread, inside a runtime or not; the
 * cancelled future from tasks of either runtime, block_on, or by hand.
 * One lock per token tree orders cancellation with child creation and
 * detachment.
 */
#ifndef KAIRO_CANCEL_H
#define KAIRO_CANCEL_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_cancel_token kr_cancel_token;

/* A new, uncancelled root token. Returns 0, KR_EINVAL (NULL out) or
 * KR_ENOMEM. */
KR_API int kr_cancel_token_new(kr_cancel_token **out);

/* A new child of `parent`, cancelled with it. Returns 0, KR_EINVAL (NULL
 * argument) or KR_ENOMEM. */
KR_API int kr_cancel_token_child(kr_cancel_token *parent,
                                 kr_cancel_token **out);

/* Another reference to the same token; returns `t`. NULL gives NULL. */
KR_API kr_cancel_token *kr_cancel_token_clone(kr_cancel_token *t);

/* Releases a reference. The last one detaches the token from its tree
 * (children go to its parent). Requires: no cancelled() future waits on
 * the token then (the debug build aborts naming kr_cancel_token). NULL is
 * ignored. */
KR_API void kr_cancel_token_drop(kr_cancel_token *t);

/* Cancels the token and all its descendants; idempotent. NULL is
 * ignored. */
KR_API void kr_cancel_token_cancel(kr_cancel_token *t);

/* True once cancelled (by itself or an ancestor). */
KR_API bool kr_cancel_token_is_cancelled(const kr_cancel_token *t);

/* True if a and b are references to the same token (Tokio's ==). */
static inline bool kr_cancel_token_same(const kr_cancel_token *a,
                                        const kr_cancel_token *b) {
    return a == b;
}

/* A future completing once the token is cancelled. No output. It borrows
 * the token: a reference must outlive it. */
typedef struct kr_cancelled {
    kr_future base;
    kr_cancel_token *token_;
    int phase_;
    kr__waiter w_;
} kr_cancelled;
KR_API kr_cancelled kr_cancel_token_cancelled(kr_cancel_token *t);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_CANCEL_H */
