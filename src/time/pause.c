/*
 * time/pause.c: kr_time_pause, kr_time_resume and kr_time_advance, the
 * public face of the runtime's pausable clock (core/vclock.h). The clock
 * is the current-thread runtime's, reached through kr__ctx.clock: these
 * calls work on that runtime's thread (its block_on future, its tasks, its
 * local tasks) and nowhere else. The auto-advance to the next timer when
 * the runtime is idle lives with the scheduler (sched/current_thread.c).
 */
#include "kairo.h"
#include "core/context.h"
#include "core/runtime.h"
#include "core/vclock.h"

/* The clock these calls act on, or why there is none. */
static int clock_here(kr__vclock **out) {
    *out = kr__vclock_current();
    if (kr__ctx.rt == NULL && *out == NULL)
        return KR_EINVAL; /* outside any runtime */
    if (kr__rt_no_timers(kr__ctx.rt))
        return KR_ENOTIME;
    if (*out == NULL)
        return KR_EOPNOTSUPP; /* the multi-thread runtime: as Tokio */
    return 0;
}

int kr_time_pause(void) {
    kr__vclock *c;
    int rc = clock_here(&c);
    if (rc != 0)
        return rc;
    if (c->frozen)
        return KR_EALREADY;
    kr__vclock_pause(c);
    return 0;
}

int kr_time_resume(void) {
    kr__vclock *c;
    int rc = clock_here(&c);
    if (rc != 0)
        return rc;
    if (kr__ctx.rt != NULL && kr__ctx.rt->cfg.flavor == KR_RUNTIME_SIMULATION)
        return KR_EOPNOTSUPP; /* its clock is virtual for good (kairo/sim.h) */
    if (!c->frozen)
        return KR_EINVAL;
    kr__vclock_resume(c);
    return 0;
}

bool kr_time_is_paused(void) {
    kr__vclock *c = kr__vclock_current();
    return c != NULL && c->frozen;
}

/* State 0: advance and yield; 1: the yield is over. The yield lets the
 * runtime fire the timers the jump made due before the caller goes on
 * (Tokio's advance ends in yield_now too). */
static kr_poll advance_poll(kr_future *f, kr_context *cx, void *out) {
    kr_time_advance_fut *a = (kr_time_advance_fut *)f;
    int rc = 0;
    if (a->state_ == 0) {
        kr__vclock *c;
        rc = a->d_ < 0 ? KR_EINVAL : clock_here(&c);
        if (rc == 0 && !c->frozen)
            rc = KR_EINVAL; /* Tokio: "time is not frozen" */
        if (rc == 0) {
            kr__vclock_advance(c, (uint64_t)a->d_);
            a->state_ = 1;
            kr_waker_wake_by_ref(cx->waker);
            return KR_PENDING;
        }
    }
    a->state_ = 2;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static const kr_future_vtable advance_vtable = {advance_poll, NULL,
                                                sizeof(kr_time_advance_fut),
                                                sizeof(int), "kr_time_advance"};

kr_time_advance_fut kr_time_advance(kr_duration d) {
    kr_time_advance_fut a = {{&advance_vtable}, d, 0};
    return a;
}
