/*
 * compose/task_local.c: task-local values (kairo/task.h).
 *
 * Each thread has a stack of the scopes being polled on it: a scope's
 * poll (or drop, or a sync scope's call) pushes a frame, on its own C
 * stack, for the duration of the inner call and pops it after, so the
 * stack is empty between polls and a task carries nothing from one
 * thread to the next: each poll sets the value anew wherever it runs
 * (Tokio swaps the value into a thread-local and back out around each
 * poll; this is the same, with the outer value kept in the frame below
 * rather than moved into the future). A lookup walks the stack from the
 * top to the innermost frame of its key: scopes nest, and a frame
 * without a value (taken) hides the outer ones. Only the owning thread
 * touches its stack: no atomics.
 */
#include "kairo.h"

typedef struct frame {
    const kr_task_local *key;
    void *value;
    int has_value;
    struct frame *prev;
} frame;

static __thread frame *top;

static void push(frame *f, const kr_task_local *key, void *value, int has) {
    f->key = key;
    f->value = value;
    f->has_value = has;
    f->prev = top;
    top = f;
}

/* Pops `f`, which is on top: whatever ran in between (a poll) popped its
 * own frames. */
static void pop(frame *f) { top = f->prev; }

int kr_task_local_get(const kr_task_local *key, void **value) {
    if (value == NULL)
        return KR_EINVAL;
    *value = NULL;
    if (key == NULL)
        return KR_EINVAL;
    for (frame *f = top; f != NULL; f = f->prev) {
        if (f->key != key)
            continue;
        if (!f->has_value)
            return KR_ENOENT;
        *value = f->value;
        return 0;
    }
    return KR_ENOENT;
}

void *kr_task_local_sync_scope(const kr_task_local *key, void *value,
                               void *(*fn)(void *arg), void *arg) {
    if (fn == NULL)
        return NULL;
    frame f;
    push(&f, key, value, 1);
    void *r = fn(arg);
    pop(&f);
    return r;
}

/* Drops the inner future with the value set. */
static void release_inner(kr_task_local_scope *s) {
    kr_future *inner = s->inner_;
    s->inner_ = NULL;
    if (inner == NULL)
        return;
    frame f;
    push(&f, s->key_, s->value_, s->has_value_);
    kr_future_drop(inner);
    pop(&f);
}

static kr_poll scope_poll(kr_future *fut, kr_context *cx, void *out) {
    kr_task_local_scope *s = (kr_task_local_scope *)fut;
    (void)out;
    if (s->inner_ == NULL)
        return KR_READY; /* made without a future: nothing to run */
    frame f;
    push(&f, s->key_, s->value_, s->has_value_);
    kr_poll p = kr_future_poll(s->inner_, cx, s->dst_);
    if (p == KR_READY) {
        kr_future *inner = s->inner_;
        s->inner_ = NULL;
        kr_future_drop(inner); /* still inside the frame */
    }
    pop(&f);
    return p;
}

static void scope_drop(kr_future *fut) {
    release_inner((kr_task_local_scope *)fut);
}

static const kr_future_vtable scope_vtable = {scope_poll, scope_drop,
                                              sizeof(kr_task_local_scope), 0,
                                              "kr_task_local_scope"};

kr_task_local_scope kr_task_local_scope_new(const kr_task_local *key,
                                            void *value, kr_future *inner,
                                            void *dst) {
    kr_task_local_scope s;
    s.base.vtable = &scope_vtable;
    s.key_ = key;
    s.value_ = value;
    s.inner_ = inner;
    s.dst_ = dst;
    s.has_value_ = 1;
    return s;
}

int kr_task_local_scope_take_value(kr_task_local_scope *s, void **value) {
    if (value != NULL)
        *value = NULL;
    if (s == NULL)
        return KR_EINVAL;
    if (!s->has_value_)
        return KR_ENOENT;
    if (value != NULL)
        *value = s->value_;
    s->value_ = NULL;
    s->has_value_ = 0;
    return 0;
}
