/*
 * task/waker.c: the waker of a task. Its data pointer is the task cell; one
 * waker value is one reference (task.h). The waker lent to a poll is made by
 * kr__task_waker_ref with the same vtable, so kr_waker_will_wake holds
 * between it and its clones.
 */
#include "core/context.h"
#include "task/state.h"

static kr_waker waker_clone(const void *data) {
    kr__task *t = (kr__task *)data;
    kr__ref_inc(t);
    return kr__task_waker_ref(t);
}

/* A wake of the task being polled, on its polling thread: just a flag
 * (see "Self-wakes" in task.h). The torture build sends every wake the
 * long way. */
static bool self_wake(kr__task *t) {
#ifdef KR_TORTURE
    (void)t;
    return false;
#else
    if (kr__ctx.current != t)
        return false;
    kr__ctx.self_woken = 1;
    return true;
#endif
}

static void waker_wake(const void *data) {
    kr__task *t = (kr__task *)data;
    if (self_wake(t)) {
        /* The poller holds a reference: this cannot be the last. */
        kr__fetch_sub_release(&t->state, KR__REF_ONE);
        return;
    }
    switch (kr__state_notified_by_val(t)) {
    case KR__NOTIFY_SUBMIT: {
        kr__sched *s = kr__task_sched(t);
        s->ops->schedule(s, t); /* our ref is now NOTIFIED's */
        break;
    }
    case KR__NOTIFY_DEALLOC:
        kr__task_dealloc(t);
        break;
    case KR__NOTIFY_NOTHING:
        break;
    }
}

static void waker_wake_by_ref(const void *data) {
    kr__task *t = (kr__task *)data;
    if (self_wake(t))
        return;
    if (kr__state_notified_by_ref(t) == KR__NOTIFY_SUBMIT) {
        kr__sched *s = kr__task_sched(t);
        s->ops->schedule(s, t);
    }
}

static void waker_drop(const void *data) {
    kr__task_drop_ref((kr__task *)data);
}

const kr_waker_vtable kr__task_waker_vtable = {waker_clone, waker_wake,
                                               waker_wake_by_ref, waker_drop};

/* Written once, before main (and before any task exists). */
static __attribute__((constructor)) void register_self_wake(void) {
    kr__self_wake_vtable = &kr__task_waker_vtable;
}
