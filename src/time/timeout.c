/* time/timeout.c: kr_timeout, built on kr_sleep. */
#include "kairo.h"
#include "core/context.h"
#include "core/runtime.h"

/* ---- timeout ---------------------------------------------------------- */

static void release_inner(kr_timeout *to) {
    kr_future *inner = to->inner_;
    to->inner_ = NULL;
    if (inner != NULL)
        kr_future_drop(inner);
}

static kr_poll timeout_poll(kr_future *f, kr_context *cx, void *out) {
    kr_timeout *to = (kr_timeout *)f;
    int rc;
    if (to->inner_ == NULL) {
        rc = KR_EINVAL; /* made without a future */
    } else if (kr_future_poll(to->inner_, cx, to->dst_) == KR_READY) {
        rc = 0;
    } else if (kr__rt_no_timers(kr__ctx.rt) &&
               kr_sleep_deadline(&to->sleep_).ns > kr_instant_now().ns) {
        rc = KR_ENOTIME; /* no wheel to wait on: kairo/runtime.h */
    } else if (kr_future_poll(&to->sleep_.base, cx, NULL) == KR_READY) {
        rc = KR_ELAPSED; /* its own code: KR_ETIMEDOUT is the kernel's */
    } else {
        return KR_PENDING;
    }
    release_inner(to);
    kr_future_drop(&to->sleep_.base); /* off the wheel now, not at drop */
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void timeout_drop(kr_future *f) {
    kr_timeout *to = (kr_timeout *)f;
    release_inner(to);
    kr_future_drop(&to->sleep_.base);
}

static const kr_future_vtable timeout_vtable = {
    timeout_poll, timeout_drop, sizeof(kr_timeout), sizeof(int), "kr_timeout"};

kr_timeout kr_timeout_new(kr_future *inner, kr_duration d, void *dst) {
    kr_timeout to;
    to.base.vtable = &timeout_vtable;
    to.inner_ = inner;
    to.dst_ = dst;
    to.sleep_ = kr_sleep_for(d);
    return to;
}
