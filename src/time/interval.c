/*
 * time/interval.c: kr_interval, a kr_sleep re-armed after each tick, and
 * its resets. Every "now" here is the runtime's clock (kr_instant_now),
 * so a paused clock (kr_time_pause) drives intervals as it drives sleeps.
 */
#include "kairo.h"

/* Tokio treats a tick as missed when it is more than 5 ms late: within
 * that, timer resolution and scheduling jitter, not a missed tick. */
#define MISSED_SLACK kr_ms(5)

kr_interval kr_interval_new_at(kr_instant start, kr_duration period,
                               kr_missed_tick missed) {
    kr_interval iv;
    iv.period_ = period > 0 ? period : kr_ms(1);
    iv.missed_ = missed;
    iv.sleep_ = kr_sleep_until(start);
    return iv;
}

kr_interval kr_interval_new(kr_duration period, kr_missed_tick missed) {
    return kr_interval_new_at(kr_instant_now(), period, missed); /* at once */
}

void kr_interval_drop(kr_interval *iv) {
    if (iv != NULL)
        kr_future_drop(&iv->sleep_.base);
}

int kr_interval_reset_at(kr_interval *iv, kr_instant deadline) {
    if (iv == NULL)
        return KR_EINVAL;
    return kr_sleep_reset(&iv->sleep_, deadline);
}

int kr_interval_reset_after(kr_interval *iv, kr_duration after) {
    if (iv == NULL)
        return KR_EINVAL;
    return kr_interval_reset_at(iv, kr_instant_add(kr_instant_now(), after));
}

int kr_interval_reset(kr_interval *iv) {
    if (iv == NULL)
        return KR_EINVAL;
    return kr_interval_reset_after(iv, iv->period_);
}

int kr_interval_reset_immediately(kr_interval *iv) {
    return kr_interval_reset_at(iv, kr_instant_now());
}

kr_duration kr_interval_period(const kr_interval *iv) {
    return iv != NULL ? iv->period_ : 0;
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
