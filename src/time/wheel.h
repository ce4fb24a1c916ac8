/*
 * time/wheel.h: a hierarchical timing wheel and its intrusive entries.
 *
 * Geometry (Tokio's, reference/tokio.md §3): 6 levels of 64 slots; a slot
 * at level L spans 64^L ms, so the levels cover 64 ms, 4.1 s, 4.4 min,
 * 4.7 h, 12.4 days and 2.2 years. Resolution 1 ms: deadlines round up, a
 * timer never fires early.
 *
 * Far deadlines. The top level is a ring: a deadline a whole rotation
 * (2^36 ms) or more ahead would land in the slot being passed now, which
 * then looks due, is taken, and re-files the entry into itself, forever.
 * So, as Tokio bounds a wheel entry to its MAX_DURATION, an entry is filed
 * at most KR__WHEEL_MAX_AHEAD ahead: 63 top-level slots, never the current
 * one. When that tick comes the entry is found not due and re-filed for
 * what is left of its deadline (a wake-up every ~2.1 years at most).
 *
 * Locking. Every wheel has its own spinlock (one wheel per worker, one per
 * current-thread core, one per multi-thread block_on call): there is no
 * runtime-wide timer lock. Entries are registered on the wheel of the
 * thread that first polls them and touched under that wheel's lock: by its
 * owner when firing (or by the monitor, for an owner stuck in a poll), by
 * whichever thread polls, resets or drops the entry (another worker, if
 * its task was stolen). Firing collects wakers under
 * the lock and wakes them after unlocking, so a waker never runs with a
 * wheel lock held.
 *
 * Entry fields (kr__timer), all under the lock of `wheel` once registered:
 *   deadline  ms tick it fires at. Atomic: kr_sleep_reset to a *later*
 *             deadline only stores it, without the lock; the wheel sees the
 *             entry in its old slot, finds the deadline moved, and re-files.
 *   when      the tick it was filed for (<= deadline, and at most
 *             KR__WHEEL_MAX_AHEAD past `elapsed`); level and slot record
 *             where, so unlinking needs no recomputation.
 *   wheel     the wheel it is registered on; NULL before the first poll.
 *   fired     set (under the lock) when it fires; the next poll reads it.
 *   state     the owner's alone (polls, resets, kr_sleep_is_elapsed, all
 *             on the future's thread): REGISTERED once the entry was
 *             filed, DONE once a poll returned READY; a reset clears both.
 */
#ifndef KR_TIME_WHEEL_H
#define KR_TIME_WHEEL_H

#include <stdint.h>

#include "core/driver.h" /* KR__WHEEL_LEVELS, KR__WHEEL_SLOTS, kr__timers */
#include "kairo.h"
#include "util/list.h"
#include "util/spinlock.h"

/* KR__WHEEL_LEVELS and KR__WHEEL_SLOTS: core/driver.h. */
/* The farthest an entry is filed ahead of `elapsed`: one top-level
 * rotation less one top-level slot (see "Far deadlines" above). */
#define KR__WHEEL_MAX_AHEAD                                                    \
    (((uint64_t)1 << (6 * KR__WHEEL_LEVELS)) -                                 \
     ((uint64_t)1 << (6 * (KR__WHEEL_LEVELS - 1))))

typedef struct kr__wheel kr__wheel;

typedef struct kr__timer {
    _Atomic uint64_t deadline;
    kr__hnode link; /* in its slot, or on the pending list */
    kr__wheel *_Atomic wheel;
    kr_waker waker;
    uint64_t when;
    uint16_t level, slot; /* where it is linked */
    uint8_t state;        /* KR__TIMER_REGISTERED | KR__TIMER_DONE */
} kr__timer;

#define KR__TIMER_REGISTERED 1u
#define KR__TIMER_DONE       2u

_Static_assert(sizeof(kr__timer) <= sizeof(kr_timer_entry),
               "kr_timer_entry too small for kr__timer");

struct kr__wheel {
    kr__spinlock lock;
    uint64_t elapsed; /* ticks processed up to */
    /* Entries registered. Changed under the lock; read unlocked by the
     * owner as a hint (relaxed): only the owner adds entries, so it never
     * sees 0 while one of its own registrations is in; a removal on
     * another thread may leave it a stale non-zero, costing one locked
     * look. */
    _Atomic uint64_t count;
    uint64_t occupied[KR__WHEEL_LEVELS];
    kr__hlist slot[KR__WHEEL_LEVELS][KR__WHEEL_SLOTS];
    /* Due entries taken out of their slot and not fired yet (process
     * fires them in batches, unlocking in between; a drop meanwhile
     * unlinks from here). Entries on it have level KR__WHEEL_PENDING. */
    kr__hlist pending;
};

#define KR__WHEEL_PENDING 0xffff

/* A scheduler embeds its wheels as kr__timers (core/driver.h). */
_Static_assert(sizeof(kr__wheel) <= sizeof(kr__timers),
               "kr__timers too small for kr__wheel");
_Static_assert(_Alignof(kr__wheel) <= _Alignof(kr__timers),
               "kr__timers under-aligned for kr__wheel");
static inline kr__wheel *kr__wheel_of(kr__timers *t) {
    return (kr__wheel *)(void *)t;
}

/* Milliseconds on the monotonic clock, rounded up (a deadline) or down
 * (now). */
uint64_t kr__ms_ceil(uint64_t ns);
uint64_t kr__now_ms(void);

void kr__wheel_init(kr__wheel *w, uint64_t now_ms);

/* Registers (or re-files) `t` for its deadline, storing a clone of the
 * waker. Requires: the lock is held. */
void kr__wheel_insert(kr__wheel *w, kr__timer *t, const kr_waker *waker);
/* Unlinks `t` if it is registered and has not fired, and moves its waker
 * out (the caller drops it after unlocking). Requires: lock. */
kr_waker kr__wheel_remove(kr__wheel *w, kr__timer *t);

/* Fires every entry due at `now_ms`, waking their wakers after dropping the
 * lock (takes it itself). Returns the number fired. Any thread, even two at
 * once: the owner, as a rule, and the multi-thread monitor for an owner
 * stuck in a long poll (sched/monitor.c). Everything it touches is under
 * the lock, and `elapsed` only moves forward (a caller with an older
 * `now_ms` finds nothing due). */
unsigned kr__wheel_process(kr__wheel *w, uint64_t now_ms);

/* Ms until the earliest registered deadline (0 if due), or -1 if empty.
 * Takes the lock. Only the owner registers entries, so the answer stays
 * good until the owner itself adds one (removals only make it early). */
int64_t kr__wheel_next_ms(kr__wheel *w, uint64_t now_ms);

/* True if entries may be registered (the unlocked hint above). */
static inline bool kr__wheel_busy(kr__wheel *w) {
    return kr__load_relaxed(&w->count) != 0;
}

/* Drops the wakers of every entry still registered and marks them fired
 * (runtime shutdown, after every task was cancelled). */
void kr__wheel_clear(kr__wheel *w);

#endif
