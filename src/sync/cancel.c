/*
 * sync/cancel.c: cancellation tokens.
 *
 * Protocol. Every token of one tree shares a `tree` record whose spinlock
 * guards all the links (parent, children, siblings) and every token's
 * waiter list. `cancelled` is written only under that lock (release) and
 * read anywhere (acquire), so is_cancelled is one load.
 *   - Invariant: a cancelled token's descendants are all cancelled. Child
 *     creation under a cancelled parent makes a cancelled child; cancel
 *     marks the whole subtree; detaching hands children to the parent,
 *     which is cancelled only if the detached token was.
 *   - cancel, under the lock, walks the subtree (pre-order, skipping
 *     subtrees already cancelled), marks each token (descendants first, so
 *     a token seen cancelled has a cancelled subtree) and moves its waiters
 *     to a list on its own stack, still guarded by the lock (a future
 *     dropped meanwhile unlinks itself from there), then wakes them in
 *     batches outside the lock.
 *   - A token's memory is freed with its last reference; the tree record
 *     with its last token.
 */
#include "kairo.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/spinlock.h"
#include "util/atomic.h"
#include "util/wait_list.h"

typedef struct tree {
    kr__spinlock lock;
    size_t tokens; /* under the lock */
} tree;

struct kr_cancel_token {
    _Atomic uint32_t refs;
    _Atomic int cancelled;
    tree *tree;
    kr_cancel_token *parent; /* the rest under tree->lock */
    kr__list children;
    kr__list sibling;
    kr__list waiters;
    kr_cancel_token *mark_next; /* cancel's scratch stack, under the lock */
};

enum { INIT, QUEUED, DONE };

static kr_cancel_token *alloc_token(tree *tr) {
    kr_cancel_token *t = kr__malloc(sizeof(*t));
    if (t == NULL)
        return NULL;
    atomic_init(&t->refs, 1);
    atomic_init(&t->cancelled, 0);
    t->tree = tr;
    t->parent = NULL;
    kr__list_init(&t->children);
    kr__list_node_init(&t->sibling);
    kr__list_init(&t->waiters);
    t->mark_next = NULL;
    return t;
}

int kr_cancel_token_new(kr_cancel_token **out) {
    if (out == NULL)
        return KR_EINVAL;
    tree *tr = kr__malloc(sizeof(*tr));
    if (tr == NULL)
        return KR_ENOMEM;
    kr__spin_init(&tr->lock);
    tr->tokens = 1;
    kr_cancel_token *t = alloc_token(tr);
    if (t == NULL) {
        kr__free(tr);
        return KR_ENOMEM;
    }
    *out = t;
    return 0;
}

int kr_cancel_token_child(kr_cancel_token *parent, kr_cancel_token **out) {
    if (parent == NULL || out == NULL)
        return KR_EINVAL;
    tree *tr = parent->tree;
    kr_cancel_token *t = alloc_token(tr);
    if (t == NULL)
        return KR_ENOMEM;
    kr__spin_lock(&tr->lock);
    tr->tokens++;
    t->parent = parent;
    kr__list_push_back(&parent->children, &t->sibling);
    if (kr__load_relaxed(&parent->cancelled)) /* written under the lock */
        kr__store_release(&t->cancelled, 1);
    kr__spin_unlock(&tr->lock);
    *out = t;
    return 0;
}

kr_cancel_token *kr_cancel_token_clone(kr_cancel_token *t) {
    if (t != NULL) /* relaxed: the caller's reference keeps t alive */
        kr__fetch_add_relaxed(&t->refs, 1);
    return t;
}

static kr_cancel_token *of_sibling(kr__list *n) {
    return KR__CONTAINER_OF(n, kr_cancel_token, sibling);
}

void kr_cancel_token_drop(kr_cancel_token *t) {
    if (t == NULL)
        return;
    /* Acq_rel: the last dropper sees every other holder's writes. */
    if (kr__fetch_sub_acqrel(&t->refs, 1) != 1)
        return;
    tree *tr = t->tree;
    kr__spin_lock(&tr->lock);
    KR__REQUIRE(kr__list_empty(&t->waiters),
                "kr_cancel_token freed while futures wait on it (%p)",
                (void *)t);
    /* Hand the children to our parent (or make them roots). */
    KR__LIST_FOR_EACH(it, tmp, &t->children) {
        kr_cancel_token *c = of_sibling(it);
        kr__list_remove(it);
        c->parent = t->parent;
        if (t->parent != NULL)
            kr__list_push_back(&t->parent->children, it);
    }
    if (kr__list_linked(&t->sibling))
        kr__list_remove(&t->sibling);
    bool last = --tr->tokens == 0;
    kr__spin_unlock(&tr->lock);
    kr__free(t);
    if (last)
        kr__free(tr);
}

bool kr_cancel_token_is_cancelled(const kr_cancel_token *t) {
    /* Acquire: pairs with cancel's release store. */
    return t != NULL && kr__load_acquire((_Atomic int *)&t->cancelled);
}

/* Pre-order successor of `u` within the subtree of `root`, skipping u's
 * own children when `descend` is false. */
static kr_cancel_token *next_in(kr_cancel_token *u, kr_cancel_token *root,
                                bool descend) {
    if (descend && !kr__list_empty(&u->children))
        return of_sibling(u->children.next);
    while (u != root) {
        if (u->sibling.next != &u->parent->children)
            return of_sibling(u->sibling.next);
        u = u->parent;
    }
    return NULL;
}

void kr_cancel_token_cancel(kr_cancel_token *t) {
    if (t == NULL)
        return;
    tree *tr = t->tree;
    kr__list pending;
    kr__list_init(&pending);
    kr__spin_lock(&tr->lock);
    /* Collect the tokens to cancel in pre-order, then mark them in the
     * reverse order, descendants before ancestors: whoever sees a token
     * cancelled (acquire) then sees its whole subtree cancelled too. */
    kr_cancel_token *stack = NULL;
    for (kr_cancel_token *u = t; u != NULL;) {
        /* A cancelled token's subtree is cancelled already. */
        bool fresh = !kr__load_relaxed(&u->cancelled);
        if (fresh) {
            u->mark_next = stack;
            stack = u;
            kr__list_splice_back(&pending, &u->waiters);
        }
        u = next_in(u, t, fresh);
    }
    for (; stack != NULL; stack = stack->mark_next)
        kr__store_release(&stack->cancelled, 1);
    kr__wake_batch b;
    kr__wake_batch_init(&b);
    kr__list *node;
    while ((node = kr__list_front(&pending)) != NULL) {
        kr__wake_batch_take(&b, KR__CONTAINER_OF(node, kr__waiter, node));
        if (kr__wake_batch_full(&b)) {
            kr__spin_unlock(&tr->lock);
            kr__wake_batch_wake(&b);
            kr__spin_lock(&tr->lock);
        }
    }
    kr__spin_unlock(&tr->lock);
    kr__wake_batch_wake(&b);
}

static kr_poll cancelled_poll(kr_future *f, kr_context *cx, void *out) {
    kr_cancelled *c = (kr_cancelled *)f;
    kr_cancel_token *t = c->token_;
    (void)out;
    if (c->phase_ == DONE)
        kr__die("kr_cancelled polled after it returned READY");
    if (t == NULL || (c->phase_ == INIT && kr_cancel_token_is_cancelled(t)))
        goto ready;
    kr__spin_lock(&t->tree->lock);
    if (kr__load_relaxed(&t->cancelled)) { /* written under the lock */
        if (kr__waiter_linked(&c->w_))     /* still on cancel's list */
            kr__list_remove(&c->w_.node);
        kr__spin_unlock(&t->tree->lock);
        kr__waiter_drop_waker(&c->w_);
        goto ready;
    }
    if (c->phase_ == INIT) {
        kr_waker_set(&c->w_.waker, cx->waker);
        kr__list_push_back(&t->waiters, &c->w_.node);
        c->phase_ = QUEUED;
    } else {
        kr_waker_set(&c->w_.waker, cx->waker);
    }
    kr__spin_unlock(&t->tree->lock);
    return KR_PENDING;
ready:
    c->phase_ = DONE;
    return KR_READY;
}

static void cancelled_drop(kr_future *f) {
    kr_cancelled *c = (kr_cancelled *)f;
    if (c->phase_ != QUEUED)
        return;
    kr_cancel_token *t = c->token_;
    kr__spin_lock(&t->tree->lock);
    if (kr__waiter_linked(&c->w_))
        kr__list_remove(&c->w_.node);
    kr__spin_unlock(&t->tree->lock);
    kr__waiter_drop_waker(&c->w_);
    c->phase_ = DONE;
}

KR_FUTURE_VTABLE(cancelled_vtable, kr_cancelled, cancelled_poll, cancelled_drop,
                 0);

kr_cancelled kr_cancel_token_cancelled(kr_cancel_token *t) {
    kr_cancelled c;
    c.base.vtable = &cancelled_vtable;
    c.token_ = t;
    c.phase_ = INIT;
    kr__waiter_init(&c.w_);
    return c;
}
