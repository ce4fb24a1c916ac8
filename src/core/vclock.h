/*
 * core/vclock.h: a runtime's clock, which a test may pause and advance
 * (kr_time_pause, kairo/time.h; Tokio's time::pause).
 *
 * Model (Tokio's Clock): the clock reads `base` while frozen, and
 * base + (monotonic now - since) while running. Pausing freezes it at its
 * current reading, rounded up to the next whole millisecond (the timer's
 * resolution: sub-ms advances then add up to exact ms ticks, as Tokio's
 * paused clock starts on its wheel's tick grid); advancing adds to `base`;
 * resuming sets `since` to now, so the clock runs on from where it was
 * left, ahead of the monotonic clock by whatever was advanced. It never
 * goes backwards.
 *
 * Until it is first paused (`virt` clear) it *is* the monotonic clock and
 * a read costs one branch on a plain byte beside kr__now_ns().
 *
 * Ownership, no atomics. Only the current-thread runtime has one, embedded
 * in its core: every read and write happens on the thread holding that
 * core (kr__ctx.clock points at it only there; the `busy` hand-over's
 * acquire/release orders one holder's writes before the next one's
 * reads). The multi-thread runtime has none (kr__ctx.clock is NULL on its
 * threads) and the time layer then reads the monotonic clock, as it does
 * outside any runtime.
 *
 * A deterministic simulation flavor can reuse it as is: start it frozen
 * (kr__vclock_init with `frozen`) and move it with kr__vclock_advance_to
 * when its scheduler is idle, as the current-thread runtime's auto-advance
 * does (sched/current_thread.c, bo_park).
 */
#ifndef KR_CORE_VCLOCK_H
#define KR_CORE_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/context.h"
#include "util/clock.h"

typedef struct kr__vclock {
    bool virt;      /* ever paused: reads are no longer the monotonic clock */
    bool frozen;    /* paused now */
    uint64_t base;  /* the reading at `since` (frozen: the reading) */
    uint64_t since; /* monotonic ns when last resumed */
} kr__vclock;

/* A running clock that reads the monotonic clock; frozen at once if
 * `frozen` (start_paused). */
void kr__vclock_init(kr__vclock *c, bool frozen);

static inline uint64_t kr__vclock_now(const kr__vclock *c) {
    if (!c->virt)
        return kr__now_ns();
    if (c->frozen)
        return c->base;
    uint64_t d = kr__now_ns() - c->since;
    return UINT64_MAX - c->base < d ? UINT64_MAX : c->base + d;
}

/* Freezes the clock (see the model above). Requires: not frozen. */
void kr__vclock_pause(kr__vclock *c);
/* Runs it again from its reading. Requires: frozen. */
void kr__vclock_resume(kr__vclock *c);
/* Adds `ns` to a frozen clock (saturating). Requires: frozen. */
void kr__vclock_advance(kr__vclock *c, uint64_t ns);
/* Moves a frozen clock forward to `ns` (no effect if it reads more). */
void kr__vclock_advance_to(kr__vclock *c, uint64_t ns);

/* The clock of the runtime this thread drives, or NULL (none: the
 * multi-thread runtime, or no runtime). */
static inline kr__vclock *kr__vclock_current(void) {
    return (kr__vclock *)kr__ctx.clock;
}

/* What the time layer reads as "now": the current runtime's clock, or the
 * monotonic clock. */
static inline uint64_t kr__clock_now_ns(void) {
    kr__vclock *c = kr__vclock_current();
    return c != NULL ? kr__vclock_now(c) : kr__now_ns();
}

#endif /* KR_CORE_VCLOCK_H */
