/*
 * util/spinlock.h: a test-and-test-and-set lock for critical sections of a
 * few dozen instructions (list links, queue pops), where a futex mutex's
 * unlock RMW is pure overhead. Lock is an acquire exchange, unlock a release
 * store; they pair so the next holder sees the last one's writes. A waiter
 * spins on a plain load (no cache-line ping-pong), and yields the CPU after
 * a while so a preempted holder can run on this 2-core class of machine.
 */
#ifndef KR_UTIL_SPINLOCK_H
#define KR_UTIL_SPINLOCK_H

#include <sched.h>
#include <stdbool.h>

#include "util/atomic.h"

typedef struct kr__spinlock {
    _Atomic int locked;
} kr__spinlock;

static inline void kr__spin_init(kr__spinlock *l) {
    atomic_init(&l->locked, 0);
}

static inline bool kr__spin_trylock(kr__spinlock *l) {
    return kr__load_relaxed(&l->locked) == 0 &&
           kr__swap_acquire(&l->locked, 1) == 0;
}

static inline void kr__spin_lock(kr__spinlock *l) {
    for (unsigned n = 0; !kr__spin_trylock(l); n++) {
        /* Relaxed polling; the exchange above is the acquire. */
        while (kr__load_relaxed(&l->locked)) {
            if (++n < 64)
                kr__cpu_relax();
            else
                sched_yield();
        }
    }
}

static inline void kr__spin_unlock(kr__spinlock *l) {
    kr__store_release(&l->locked, 0);
}

#endif
