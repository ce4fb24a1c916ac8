/*
 * kairo/barrier.h: n tasks meet (Tokio's Barrier). The n-th arrival of a
 * generation releases the other n - 1 and is told it is the leader; the
 * barrier then starts the next generation.
 *
 * What a dropped wait loses: nothing. Before its generation is released
 * its arrival is withdrawn, so the barrier still waits for n live parties
 * (Tokio keeps a cancelled arrival counted; kairo deliberately does not).
 * After the release it was already let through, and the others too.
 *
 * Threads: the wait future from tasks of either runtime, block_on, or by
 * hand, on any thread.
 */
#ifndef KAIRO_BARRIER_H
#define KAIRO_BARRIER_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_barrier kr_barrier;

/* A barrier for n parties (0 behaves as 1, as Tokio's). Returns 0,
 * KR_EINVAL (NULL out) or KR_ENOMEM. */
KR_API int kr_barrier_new(size_t n, kr_barrier **out);

/* Frees it. Requires: no wait future is queued on it (the debug build
 * aborts naming kr_barrier otherwise). NULL is ignored. */
KR_API void kr_barrier_free(kr_barrier *b);

/* A future arriving at the barrier (on its first poll) and completing when
 * the generation is released. Output: a bool, true for exactly one party
 * of each generation (the leader: the last to arrive). The barrier must
 * outlive it. */
typedef struct kr_barrier_wait {
    kr_future base;
    kr_barrier *barrier_;
    size_t generation_;
    int phase_;
    kr__waiter w_;
} kr_barrier_wait;
KR_API kr_barrier_wait kr_barrier_wait_future(kr_barrier *b);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_BARRIER_H */
