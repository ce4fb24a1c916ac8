/*
 * util/parklock.h: a lock that spins briefly, then sleeps on a futex: the
 * lock of every wait list (util/wait_list.h), so of every kairo/sync.h
 * primitive.
 *
 * Why not the spinlock (util/spinlock.h) there: a sync primitive's lock is
 * taken by tasks on every worker and by outside threads, on machines with
 * more runnable threads than cores. A holder preempted inside the critical
 * section (a few dozen instructions, but a time slice is milliseconds)
 * left every other taker spinning and yielding for that whole slice: the
 * broadcast and notify benchmarks lost up to 200x to Tokio's mutex, which
 * sleeps. This one sleeps too, after a short spin that covers the common
 * case (a holder that is running and about to let go).
 *
 * Protocol (Drepper's "Futexes are tricky", mutex 3). State word: 0 free,
 * 1 held, 2 held and a taker may sleep on it.
 *   - lock: CAS 0 -> 1 (acquire); else spin on a plain load for a while,
 *     retrying the CAS; then swap in 2 (acquire) and FUTEX_WAIT while the
 *     old value was not 0. Every taker that slept leaves 2 behind when it
 *     gets the lock, so the unlock that follows wakes the next sleeper.
 *   - unlock: swap in 0 (release, pairing with the next taker's acquire);
 *     FUTEX_WAKE one taker if the old value was 2.
 * No wake-up is lost: a taker sleeps only on the value 2, so an unlock
 * between its swap and its FUTEX_WAIT changes the word and the wait
 * returns at once. The unlock's RMW (instead of the spinlock's plain
 * store) is the price: a few cycles uncontended.
 */
#ifndef KR_UTIL_PARKLOCK_H
#define KR_UTIL_PARKLOCK_H

#include <linux/futex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/atomic.h"

typedef struct kr__parklock {
    _Atomic uint32_t state;
} kr__parklock;

/* Spins (cpu_relax rounds) before a taker sleeps. */
#define KR__PARKLOCK_SPINS 100

static inline void kr__parklock_init(kr__parklock *l) {
    atomic_init(&l->state, 0);
}

static inline bool kr__parklock_trylock(kr__parklock *l) {
    uint32_t z = 0;
    return kr__load_relaxed(&l->state) == 0 &&
           kr__cas_acquire(&l->state, &z, 1);
}

static inline void kr__parklock_lock_slow(kr__parklock *l) {
    for (unsigned n = 0; n < KR__PARKLOCK_SPINS; n++) {
        /* Relaxed polling; the CAS is the acquire. A word already at 2
         * has sleepers: join them rather than overtake (below). */
        uint32_t s = kr__load_relaxed(&l->state);
        if (s == 2)
            break;
        if (s == 0) {
            uint32_t z = 0;
            if (kr__cas_acquire(&l->state, &z, 1))
                return;
        }
        kr__cpu_relax();
    }
    /* Acquire: pairs with the unlock's release swap. */
    while (kr__swap_acquire(&l->state, 2) != 0)
        syscall(SYS_futex, &l->state, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

static inline void kr__parklock_lock(kr__parklock *l) {
    uint32_t z = 0;
    if (!kr__cas_acquire(&l->state, &z, 1))
        kr__parklock_lock_slow(l);
}

/* The lock at one CAS, without the spin: false if it was held. For a
 * common path that passes a busy lock to a slow path. */
static inline bool kr__parklock_try_once(kr__parklock *l) {
    uint32_t z = 0;
    return kr__cas_acquire(&l->state, &z, 1);
}

/* The unlock's two halves, for a common path that keeps its call to the
 * futex out of line: release returns whether a taker may sleep, and then
 * the caller must call kr__parklock_wake. */
static inline bool kr__parklock_release(kr__parklock *l) {
    return kr__swap_release(&l->state, 0) == 2;
}

static inline void kr__parklock_wake(kr__parklock *l) {
    syscall(SYS_futex, &l->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline void kr__parklock_unlock(kr__parklock *l) {
    if (kr__parklock_release(l))
        kr__parklock_wake(l);
}

#endif
