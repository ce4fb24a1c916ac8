/* util/ticks.c: the calibration behind kr__ticks (util/ticks.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

#if defined(__x86_64__)
/* A (CLOCK_MONOTONIC, TSC) pair read as close together as this thread
 * manages: the best of a few tries bracketed by two TSC reads, so that a
 * preemption between the two clocks (tens of ms on a loaded machine)
 * cannot skew the calibration. */
static void sample(uint64_t *ns, uint64_t *tsc) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 16; i++) {
        uint64_t a = __builtin_ia32_rdtsc();
        uint64_t n = kr__now_ns();
        uint64_t b = __builtin_ia32_rdtsc();
        if (b > a && b - a < best) {
            best = b - a;
            *ns = n;
            *tsc = a + (b - a) / 2;
        }
    }
}
#endif

static void calibrate(void) {
#if defined(__x86_64__)
    if (getenv_off() || !kernel_uses_tsc())
        return;
    uint64_t n0 = 0, c0 = 0, n1 = 0, c1 = 0;
    sample(&n0, &c0);
    /* 2 ms apart, asleep: a spin burned the CPU it measured, and made the
     * process's instruction count depend on the machine's speed. An
     * oversleep only lengthens the baseline; EINTR sleeps the rest. */
    struct timespec d = {0, 2000000};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
    sample(&n1, &c1);
    if (c1 <= c0 || n1 <= n0)
        return;
    uint64_t mult =
        (uint64_t)(((unsigned __int128)(n1 - n0) << 32) / (c1 - c0));
    /* 0.1 to 10 ns a tick (10 GHz to 100 MHz), or not a TSC to trust. */
    if (mult < ((uint64_t)1 << 32) / 10 || mult > ((uint64_t)10 << 32))
        return;
    kr__ticks_cal.mult = mult;
    kr__ticks_cal.tsc = 1;
#endif
}

void kr__ticks_init(void) { pthread_once(&once, calibrate); }

uint64_t kr__ticks_from_ns(uint64_t ns) {
    unsigned __int128 t = ((unsigned __int128)ns << 32) / kr__ticks_cal.mult;
    return t > UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}
