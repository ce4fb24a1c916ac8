/*
 * util/ticks.h: the poll path's timestamp. Observability reads a clock
 * once or twice per poll (sched/stats.h); on x86-64, where the kernel's
 * own clock source is the TSC (so it is invariant and synchronised across
 * CPUs, or the kernel would not use it), that is one RDTSC, against the
 * ~50 instructions of clock_gettime through the vDSO. Elsewhere, or when
 * the kernel says the TSC is not its clock, a tick is a nanosecond of
 * CLOCK_MONOTONIC (kr__now_ns).
 *
 * kr__ticks_init calibrates once per process (about 2 ms, asleep, against
 * CLOCK_MONOTONIC) and must have returned before any other call here;
 * whoever turns timing on calls it (kr__wstats_init). Afterwards the
 * calibration is read-only: any thread.
 */
#ifndef KR_UTIL_TICKS_H
#define KR_UTIL_TICKS_H

#include <stdint.h>

#include "util/clock.h"

typedef struct kr__ticks_cal {
    int tsc;       /* ticks are the TSC's; else nanoseconds */
    uint64_t mult; /* ns = ticks * mult >> 32 */
} kr__ticks_cal_t;
extern kr__ticks_cal_t kr__ticks_cal;

/* Calibrates (once; any thread; later calls return at once). */
void kr__ticks_init(void);

static inline uint64_t kr__ticks(void) {
#if defined(__x86_64__)
    if (__builtin_expect(kr__ticks_cal.tsc, 1))
        return __builtin_ia32_rdtsc();
#endif
    return kr__now_ns();
}

/* A span of ticks in nanoseconds, and back. */
static inline uint64_t kr__ticks_to_ns(uint64_t ticks) {
    return (uint64_t)(((unsigned __int128)ticks * kr__ticks_cal.mult) >> 32);
}
uint64_t kr__ticks_from_ns(uint64_t ns);

#endif
