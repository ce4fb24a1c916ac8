/* time/timeout.c: kr_timeout and kr_interval, built on kr_sleep. */
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

/* ---- interval --------------------------------------------------------- */

/* Tokio treats a tick as missed when it is more than 5 ms late: within
 * that, timer resolution and scheduling jitter, not a missed tick. */
#define MISSED_SLACK kr_ms(5)

kr_interval kr_interval_new(kr_duration period, kr_missed_tick missed) {
    kr_interval iv;
    iv.period_ = period > 0 ? period : kr_ms(1);
    iv.missed_ = missed;
    iv.sleep_ = kr_sleep_until(kr_instant_now()); /* first tick at once */
    return iv;
}

void kr_interval_drop(kr_interval *iv) {
    if (iv != NULL)
        kr_future_drop(&iv->sleep_.base);
}

static kr_instant next_tick(const kr_interval *iv, kr_instant tick,
                            kr_instant now) {
    if (kr_instant_since(now, tick) <= MISSED_SLACK)
        return kr_instant_add(tick, iv->period_);
    switch (iv->missed_) {
    case KR_MISSED_TICK_DELAY:
        return kr_instant_add(now, iv->period_);
    case KR_MISSED_TICK_SKIP: {
        kr_duration late = kr_instant_since(now, tick);
        return kr_instant_add(now, iv->period_ - late % iv->period_);
    }
    case KR_MISSED_TICK_BURST:
    default:
        return kr_instant_add(tick, iv->period_);
    }
}

static kr_poll tick_poll(kr_future *f, kr_context *cx, void *out) {
    kr_interval *iv = ((kr_interval_tick *)f)->iv_;
    if (iv == NULL) { /* documented in time.h */
        if (out != NULL)
            ((kr_instant *)out)->ns = 0;
        return KR_READY;
    }
    if (kr_future_poll(&iv->sleep_.base, cx, NULL) == KR_PENDING)
        return KR_PENDING;
    kr_instant tick = kr_sleep_deadline(&iv->sleep_);
    kr_sleep_reset(&iv->sleep_, next_tick(iv, tick, kr_instant_now()));
    if (out != NULL)
        *(kr_instant *)out = tick;
    return KR_READY;
}

static const kr_future_vtable tick_vtable = {
    tick_poll, NULL, sizeof(kr_interval_tick), sizeof(kr_instant),
    "kr_interval_tick"};

kr_interval_tick kr_interval_tick_future(kr_interval *iv) {
    kr_interval_tick t = {{&tick_vtable}, iv};
    return t;
}
