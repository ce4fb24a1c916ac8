/* util/clock.h: the one monotonic clock. Timers, instants and the blocking
 * pool's keep-alive all read it, so their deadlines compare. */
#ifndef KR_UTIL_CLOCK_H
#define KR_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds on CLOCK_MONOTONIC (vDSO: no system call). */
static inline uint64_t kr__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* KR_UTIL_CLOCK_H */
