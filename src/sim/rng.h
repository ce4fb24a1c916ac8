/*
 * sim/rng.h: the simulation's generator, xoshiro256** (Blackman and
 * Vigna, 2018) seeded through splitmix64, which turns any 64-bit seed
 * (0 included) into a state that is not all zeroes. Small, fast, and of
 * good quality for scheduling decisions; not for cryptography.
 */
#ifndef KR_SIM_RNG_H
#define KR_SIM_RNG_H

#include <stdint.h>

typedef struct kr__rng {
    uint64_t s[4];
} kr__rng;

static inline uint64_t kr__splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline void kr__rng_seed(kr__rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        r->s[i] = kr__splitmix64(&seed);
}

static inline uint64_t kr__rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t kr__rng_next(kr__rng *r) {
    uint64_t *s = r->s;
    uint64_t result = kr__rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = kr__rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n), n > 0: Lemire's multiply-shift (the bias is below
 * 2^-32 for the small n a scheduler draws from). */
static inline uint64_t kr__rng_below(kr__rng *r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)kr__rng_next(r) * n) >> 64);
}

/* True with probability ppm / 10^6. */
static inline int kr__rng_ppm(kr__rng *r, unsigned ppm) {
    return ppm != 0 && kr__rng_below(r, 1000000) < ppm;
}

#endif
