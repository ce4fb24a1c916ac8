/* util/ticks.c: the calibration behind kr__ticks (util/ticks.h). */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/ticks.h"

kr__ticks_cal_t kr__ticks_cal = {0, (uint64_t)1 << 32};

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* KAIRO_TSC=0: nanoseconds of CLOCK_MONOTONIC even where the TSC would do
 * (tests of the fallback, a suspect TSC). */
static int getenv_off(void) {
    const char *v = getenv("KAIRO_TSC");
    return v != NULL && strcmp(v, "0") == 0;
}

/* Whether the kernel keeps time with the TSC (then it is invariant and
 * synchronised across CPUs). */
static int kernel_uses_tsc(void) {
    int fd = open("/sys/devices/system/clocksource/clocksource0/"
                  "current_clocksource",
                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[16];
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    return n >= 3 && memcmp(buf, "tsc", 3) == 0 && (n == 3 || buf[3] == '\n');
}

static void calibrate(void) {
#if defined(__x86_64__)
    if (getenv_off() || !kernel_uses_tsc())
        return;
    uint64_t n0 = kr__now_ns(), c0 = __builtin_ia32_rdtsc();
    uint64_t n1, c1;
    do {
        n1 = kr__now_ns();
        c1 = __builtin_ia32_rdtsc();
    } while (n1 - n0 < 1000000); /* 1 ms: a few ppm of the reads' cost */
    if (c1 <= c0)
        return;
    kr__ticks_cal.mult =
        (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (c1 - c0));
    kr__ticks_cal.tsc = kr__ticks_cal.mult != 0;
    if (!kr__ticks_cal.tsc)
        kr__ticks_cal.mult = (uint64_t)1 << 32;
#endif
}

void kr__ticks_init(void) { pthread_once(&once, calibrate); }

uint64_t kr__ticks_from_ns(uint64_t ns) {
    unsigned __int128 t = ((unsigned __int128)ns << 32) / kr__ticks_cal.mult;
    return t > UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}
