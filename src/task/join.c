/*
 * task/join.c: join handles. A handle holds the JOIN reference and the right
 * to read the output once. The protocol around the join waker slot is the
 * one in task.h (JOIN_WAKER decides who owns the slot).
 */
#include <string.h>

#include "core/context.h"
#include "core/coop.h"
#include "task/state.h"
#include "util/abort.h"
#include "util/debug.h"

/* Debug builds: the handle's task still has the join interest this
 * handle holds. A join handle is a value struct but not copyable: a second
 * copy, dropped or awaited after the first, finds the interest gone, and
 * is reported here in the user's terms before the state word's own checks.
 * If the cell was freed meanwhile, its first word is the cache's link, a
 * 16-byte aligned pointer or NULL, whose JOIN_INTEREST bit is clear too
 * (until the cell is reused). */
#define REQUIRE_HANDLE(t, what)                                                \
    KR__REQUIRE(kr__load_relaxed(&(t)->state) & KR__JOIN_INTEREST,             \
                "%s: the task of this join handle was already let go of: "     \
                "join handles are not copyable (two copies dropped, or one "   \
                "used after another was awaited or dropped)",                  \
                what)

/* Stores (or replaces) the join waker. Returns false if the task completed
 * meanwhile (the caller then reads the output). */
static bool register_waker(kr__task *t, uint64_t state, const kr_waker *w) {
    if (state & KR__JOIN_WAKER) {
        /* Safe to read: while JOIN_WAKER is set the runtime only wakes the
         * slot's waker by reference, and never replaces it while we hold
         * JOIN_INTEREST. */
        if (kr_waker_will_wake(&t->join_waker, w))
            return true;
        if (!kr__state_unset_join_waker(t))
            return false;
        kr_waker_reset(&t->join_waker); /* the slot is ours again */
    }
    t->join_waker = kr_waker_clone(w);
    if (!kr__state_set_join_waker(t)) {
        kr_waker_reset(&t->join_waker);
        return false;
    }
    return true;
}

/* Lets go of the task: clears JOIN_INTEREST, drops the join waker if the
 * slot is ours, drops the JOIN reference. Out of line: dropping a handle
 * already joined (the usual drop, after READY) then saves no register. */
static __attribute__((noinline)) void release_task(kr_join_handle *h) {
    kr__task *t = h->task_;
    REQUIRE_HANDLE(t, "kr_join_handle_drop");
    h->task_ = NULL;
    uint64_t after = kr__state_drop_join(t);
    if (!(after & KR__JOIN_WAKER))
        kr_waker_reset(&t->join_waker);
    kr__task_drop_ref(t);
}

/* read_output's end when the join waker slot holds a waker it must drop
 * (JOIN_WAKER clear after COMPLETE: the slot is ours; most often it is
 * empty: the task completed before a first poll of the handle, or
 * complete() woke and emptied it), and then the cell's free if ours was
 * the last reference. */
static __attribute__((noinline)) kr_poll let_go(kr__task *t, uint64_t prev) {
    kr_waker_reset(&t->join_waker);
    if (kr__refs(prev) == 1)
        kr__task_dealloc(t);
    return KR_READY;
}

/* read_output's end when it held the last reference. */
static __attribute__((noinline)) kr_poll free_ready(kr__task *t) {
    kr__task_dealloc(t);
    return KR_READY;
}

/* read_output's end (`prev`: the state before the join interest went).
 * Its two calls are tail calls, out of line with the copy of an output
 * of any other size than 0, 4 or 8 (output_n): read_output is then a
 * leaf that saves no register. */
static inline kr_poll let_go_of(kr__task *t, uint64_t prev) {
    if (__builtin_expect(
            !(prev & KR__JOIN_WAKER) && t->join_waker.vtable != NULL, 0))
        return let_go(t, prev);
    if (kr__refs(prev) == 1)
        return free_ready(t);
    return KR_READY;
}

/* The handle's fields once the output is read. */
static inline void mark_done(kr_join_handle *h, const kr__task *t) {
    h->err_ = (t->flags & KR__TASK_CANCELLED) ? KR_ECANCELED : 0;
    h->done_ = 1;
    h->task_ = NULL;
}

/* read_output for an output that is neither an int, a word nor nothing,
 * which memcpy copies (through the PLT: more than the copy costs for the
 * common sizes). */
static __attribute__((noinline)) kr_poll
output_n(kr_join_handle *h, kr__task *t, void *out, size_t n) {
    memcpy(out, kr__task_output(t), n);
    mark_done(h, t);
    return let_go_of(t, kr__state_drop_join_complete(t));
}

static kr_poll read_output(kr_join_handle *h, kr__task *t, void *out);

/* The task is not complete yet: register the waker, or read the output
 * if it completed meanwhile. Out of line, as read_output's memcpy: the
 * common poll, of a task already complete, then saves few registers. */
static __attribute__((noinline)) kr_poll join_pending(kr_join_handle *h,
                                                      kr__task *t, uint64_t s,
                                                      kr_context *cx,
                                                      void *out) {
    if (register_waker(t, s, cx->waker)) {
        kr__coop_refund(); /* no progress: give the unit back */
        return KR_PENDING;
    }
    return read_output(h, t, out);
}

/* join_poll once the budget let it go on. */
static inline kr_poll join_proceed(kr_join_handle *h, kr__task *t,
                                   kr_context *cx, void *out) {
    /* Acquire pairs with to_complete's release: the output is visible. */
    uint64_t s = kr__load_acquire(&t->state);
    if (!(s & KR__COMPLETE))
        return join_pending(h, t, s, cx, out);
    return read_output(h, t, out);
}

/* join_poll with the budget unlimited or spent: kr_coop_proceed decides.
 * Out of line, with the misuse report: join_poll then makes no call but
 * tail calls, and needs no stack frame. */
static __attribute__((noinline)) kr_poll
join_budget(kr_join_handle *h, kr__task *t, kr_context *cx, void *out) {
    if (!kr_coop_proceed(cx))
        return KR_PENDING;
    return join_proceed(h, t, cx, out);
}

static __attribute__((noinline, cold)) kr_poll join_misused(void) {
    kr__die("kr_join_handle polled after it returned READY");
}

static kr_poll join_poll(kr_future *f, kr_context *cx, void *out) {
    kr_join_handle *h = (kr_join_handle *)f;
    if (__builtin_expect(h->done_, 0))
        return join_misused();
    kr__task *t = h->task_;
    if (t == NULL) {
        h->err_ = KR_EINVAL; /* an empty handle: nothing to wait for */
        h->done_ = 1;
        return KR_READY;
    }
    REQUIRE_HANDLE(t, "kr_join_handle polled");
    if (!kr__coop_spend())
        return join_budget(h, t, cx, out);
    return join_proceed(h, t, cx, out);
}

/* Reads the output of the complete task `t` and lets it go. */
static inline kr_poll read_output(kr_join_handle *h, kr__task *t, void *out) {
    /* The size first: the slot's place is not needed for no output. */
    size_t n = out != NULL ? kr__task_future(t)->vtable->output_size : 0;
    if (n == 4)
        __builtin_memcpy(out, kr__task_output(t), 4);
    else if (n == 8)
        __builtin_memcpy(out, kr__task_output(t), 8);
    else if (n != 0)
        return output_n(h, t, out, n);
    mark_done(h, t);
    return let_go_of(t, kr__state_drop_join_complete(t));
}

/* As kr_join_handle_drop, less its NULL test: a future's drop is never
 * called on NULL. */
static void join_drop(kr_future *f) {
    kr_join_handle *h = (kr_join_handle *)f;
    if (h->task_ != NULL)
        release_task(h);
}

/* output_size is 0 because it varies: a handle writes its task's output. */
const kr_future_vtable kr__join_vtable = {
    join_poll, join_drop, sizeof(kr_join_handle), 0, "kr_join_handle"};

void kr__join_init(kr_join_handle *h, void *task) {
    h->base.vtable = &kr__join_vtable;
    h->task_ = task;
    h->err_ = KR_EAGAIN;
    h->done_ = 0;
}

void kr_join_handle_drop(kr_join_handle *h) {
    if (h == NULL || h->task_ == NULL)
        return;
    release_task(h);
}

int kr_join_handle_abort(kr_join_handle *h) {
    if (h == NULL)
        return KR_EINVAL;
    kr__task *t = h->task_;
    if (t != NULL)
        REQUIRE_HANDLE(t, "kr_join_handle_abort");
    if (t != NULL && kr__state_notified_and_cancel(t)) {
        kr__sched *s = kr__task_sched(t);
        s->ops->schedule(s, t);
    }
    return 0;
}

bool kr_join_handle_is_finished(const kr_join_handle *h) {
    if (h == NULL)
        return false;
    if (h->task_ == NULL)
        return h->done_ != 0;
    kr__task *t = h->task_;
    return (kr__load_acquire(&t->state) & KR__COMPLETE) != 0;
}

int kr_join_handle_error(const kr_join_handle *h) {
    if (h == NULL)
        return KR_EINVAL;
    if (h->done_) /* first: the usual call, after READY */
        return h->err_;
    return h->task_ == NULL ? KR_EINVAL : KR_EAGAIN;
}

/* An abort handle is the task pointer itself: it holds one reference. */
int kr_join_handle_abort_handle(const kr_join_handle *h,
                                kr_abort_handle **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (h == NULL || h->task_ == NULL)
        return KR_EINVAL;
    kr__task *t = h->task_;
    kr__ref_inc(t); /* the handle's reference keeps it alive meanwhile */
    *out = (kr_abort_handle *)t;
    return 0;
}

void kr_abort_handle_abort(kr_abort_handle *ah) {
    kr__task *t = (kr__task *)ah;
    if (t != NULL && kr__state_notified_and_cancel(t)) {
        kr__sched *s = kr__task_sched(t);
        s->ops->schedule(s, t);
    }
}

void kr_abort_handle_drop(kr_abort_handle *ah) {
    if (ah != NULL)
        kr__task_drop_ref((kr__task *)ah);
}
