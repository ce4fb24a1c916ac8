/* sim/api.c: kairo/sim.h, the simulation's public calls. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/sim.h"

kr_sim_options kr_sim_options_default(void) {
    kr_sim_options o;
    memset(&o, 0, sizeof(o));
    o.latency_min_us = 100;
    o.latency_max_us = 5000;
    return o;
}

int kr_sim_configure(kr_runtime *rt, const kr_sim_options *opts) {
    kr__sim *sim = kr__sim_of(rt);
    if (sim == NULL || opts == NULL ||
        opts->latency_min_us > opts->latency_max_us ||
        opts->udp_drop_ppm > 1000000 || opts->tcp_reset_ppm > 1000000)
        return KR_EINVAL;
    sim->opt = *opts;
    return 0;
}

int kr_sim_seed(const kr_runtime *rt, uint64_t *seed) {
    kr__sim *sim = kr__sim_of(rt);
    if (sim == NULL || seed == NULL)
        return KR_EINVAL;
    *seed = sim->seed;
    return 0;
}

int kr_sim_log(const kr_runtime *rt, const char **data, size_t *len,
               uint64_t *hash) {
    kr__sim *sim = kr__sim_of(rt);
    if (sim == NULL || data == NULL || len == NULL)
        return KR_EINVAL;
    *data = sim->log != NULL ? sim->log : "";
    *len = sim->log_len;
    if (hash != NULL)
        *hash = sim->log_hash;
    return 0;
}

uint64_t kr_sim_random(void) {
    kr__sim *sim = kr__sim_current();
    if (sim != NULL)
        return kr__rng_next(&sim->rng);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
    return kr__splitmix64(&x);
}

int kr_sim_report(const kr_runtime *rt, int fd, const char *what) {
    kr__sim *sim = kr__sim_of(rt);
    if (sim == NULL || fd < 0)
        return KR_EINVAL;
    char line[512];
    int n = snprintf(line, sizeof(line),
                     "kairo-sim: FAILED: %s (seed %" PRIu64
                     "; replay with KAIRO_SEED=%" PRIu64 ")\n",
                     what != NULL ? what : "failure", sim->seed, sim->seed);
    if (n < 0)
        return KR_EIO;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    return write(fd, line, len) == (ssize_t)len ? 0 : KR_EIO;
}

int kr_sim_env_seed(uint64_t *seed) {
    const char *s = getenv("KAIRO_SEED");
    if (s == NULL || *s == '\0' || seed == NULL)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0' || s[0] == '-' || v == 0)
        return 0;
    *seed = (uint64_t)v;
    return 1;
}
