/* sched/block_on.c: the block_on future's waker (protocol in block_on.h). */
#include "sched/block_on.h"

static kr_waker bo_clone(const void *data) {
    kr__bo_signal *s = (kr__bo_signal *)data;
    /* Relaxed: the cloner holds a reference (or the loop's borrow). */
    kr__fetch_add_relaxed(s->refs, 1);
    kr_waker w = {s, &kr__bo_waker_vtable};
    return w;
}

static void bo_wake_by_ref(const void *data) {
    kr__bo_signal *s = (kr__bo_signal *)data;
    /* Release pairs with the loop's acquire swap of `woken`. */
    kr__store_release(&s->woken, 1);
    if (s->self == NULL || kr__ctx.worker != s->self)
        kr__unpark(s->park);
}

static void bo_drop(const void *data) {
    kr__bo_signal *s = (kr__bo_signal *)data;
    if (kr__fetch_sub_acqrel(s->refs, 1) == 1)
        s->release(s);
}

static void bo_wake(const void *data) {
    bo_wake_by_ref(data);
    bo_drop(data);
}

const kr_waker_vtable kr__bo_waker_vtable = {bo_clone, bo_wake, bo_wake_by_ref,
                                             bo_drop};
