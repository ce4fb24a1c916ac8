/*
 * core/coop.c: cooperative scheduling. A task gets a budget of units per
 * poll; leaf futures that can be ready many times in a row spend one unit
 * each time, so a task looping over always-ready futures still yields.
 */
#include "core/coop.h"
#include "kairo.h"

bool kr_coop_proceed(kr_context *cx) {
    uint32_t b = kr__ctx.budget;
    if (b == KR__BUDGET_UNLIMITED)
        return true;
    if (b == 0) {
        /* Out of budget: be polled again after the others. */
        kr_waker_wake_by_ref(cx->waker);
        return false;
    }
    kr__ctx.budget = b - 1;
    return true;
}

static kr_poll yield_poll(kr_future *f, kr_context *cx, void *out) {
    kr_yield *y = (kr_yield *)f;
    if (y->yielded_) {
        y->yielded_ = 0;
        return KR_READY;
    }
    y->yielded_ = 1;
    /* A self-wake: no atomic operation. kr__task_run returns it to the
     * scheduler that polled the task, which defers it until the next look
     * at I/O and then queues it at the back (sched/current_thread.c,
     * worker.c). The task's own waker (the usual case) is recognised here
     * and flagged as its wake_by_ref would (task/waker.c), without the
     * call; the torture build sends every wake the long way. */
#ifndef KR_TORTURE
    const kr_waker *w = cx->waker;
    /* (A task waker's data is never NULL, so outside a task, where
     * `current` is NULL, this never matches.) */
    if (w->data == kr__ctx.current && w->vtable == kr__self_wake_vtable) {
        kr__ctx.self_woken = 1;
        return KR_PENDING;
    }
#endif
    kr_waker_wake_by_ref(cx->waker);
    return KR_PENDING;
}

const kr_future_vtable kr__yield_vtable = {yield_poll, NULL, sizeof(kr_yield),
                                           0, "kr_yield_now"};
