/* time/wheel.c: the hierarchical timing wheel (see wheel.h). */
#include <time.h>

#include "time/wheel.h"
#include "core/vclock.h"

/* Wakers are woken in batches of this many, the lock dropped in between
 * (Tokio's WakeList size): bounded stack, few lock round trips. */
#define WAKE_BATCH 32

/* Rounds up without wrapping: (ns + 999999) would overflow near
 * UINT64_MAX and turn the farthest deadline into 0. */
uint64_t kr__ms_ceil(uint64_t ns) { return ns / 1000000 + (ns % 1000000 != 0); }

/* The runtime's clock: paused and advanced by kr_time_pause and
 * kr_time_advance on a current-thread runtime (core/vclock.h). */
uint64_t kr__now_ms(void) { return kr__clock_now_ns() / 1000000; }

void kr__wheel_init(kr__wheel *w, uint64_t now_ms) {
    kr__spin_init(&w->lock);
    w->elapsed = now_ms;
    atomic_init(&w->count, 0);
    for (int l = 0; l < KR__WHEEL_LEVELS; l++) {
        w->occupied[l] = 0;
        for (int s = 0; s < KR__WHEEL_SLOTS; s++)
            kr__hlist_init(&w->slot[l][s]);
    }
    kr__hlist_init(&w->pending);
}

static kr__timer *timer_of(kr__hnode *n) {
    return KR__CONTAINER_OF(n, kr__timer, link);
}

/* The level whose slots separate `when` from `elapsed`: the highest 6-bit
 * group in which they differ. */
static int level_for(uint64_t elapsed, uint64_t when) {
    uint64_t masked = (elapsed ^ when) | (KR__WHEEL_SLOTS - 1);
    int significant = 63 - __builtin_clzll(masked);
    int level = significant / 6;
    return level < KR__WHEEL_LEVELS ? level : KR__WHEEL_LEVELS - 1;
}

static int slot_for(uint64_t when, int level) {
    return (int)((when >> (6 * level)) & (KR__WHEEL_SLOTS - 1));
}

static void link(kr__wheel *w, kr__timer *t) {
    uint64_t when = t->when;
    if (when < w->elapsed)
        when = t->when = w->elapsed; /* overdue: fires at the next process */
    else if (when - w->elapsed > KR__WHEEL_MAX_AHEAD)
        when = t->when = w->elapsed + KR__WHEEL_MAX_AHEAD; /* see wheel.h */
    int l = level_for(w->elapsed, when), s = slot_for(when, l);
    t->level = (uint16_t)l;
    t->slot = (uint16_t)s;
    kr__hlist_push_front(&w->slot[l][s], &t->link);
    w->occupied[l] |= (uint64_t)1 << s;
}

static void push_pending(kr__wheel *w, kr__timer *t) {
    t->level = KR__WHEEL_PENDING;
    kr__hlist_push_front(&w->pending, &t->link);
}

static void unlink(kr__wheel *w, kr__timer *t) {
    kr__hlist_remove(&t->link);
    if (t->level == KR__WHEEL_PENDING)
        return;
    int l = t->level, s = t->slot;
    if (kr__hlist_empty(&w->slot[l][s]))
        w->occupied[l] &= ~((uint64_t)1 << s);
}

void kr__wheel_insert(kr__wheel *w, kr__timer *t, const kr_waker *waker) {
    /* Relaxed: the lock orders everything but a lock-free later reset,
     * whose value any read here may see (both are later than `when`). */
    t->when = kr__load_relaxed(&t->deadline);
    kr_waker_set(&t->waker, waker);
    link(w, t);
    kr__store_relaxed(&t->wheel, w);
    kr__store_relaxed(&w->count, kr__load_relaxed(&w->count) + 1); /* locked */
}

kr_waker kr__wheel_remove(kr__wheel *w, kr__timer *t) {
    kr_waker out = t->waker;
    t->waker.vtable = NULL;
    t->waker.data = NULL;
    if (kr__load_relaxed(&t->wheel) == w) {
        unlink(w, t);
        kr__store_release(&t->wheel, NULL); /* as when firing */
        kr__store_relaxed(&w->count, kr__load_relaxed(&w->count) - 1);
    }
    return out;
}

/* The tick at which the earliest occupied slot of level `l` expires, or
 * UINT64_MAX. Slots are scanned from the current position, wrapping. */
static uint64_t level_next(const kr__wheel *w, int l) {
    uint64_t occ = w->occupied[l];
    if (occ == 0)
        return UINT64_MAX;
    uint64_t slot_range = (uint64_t)1 << (6 * l);
    uint64_t level_range = slot_range << 6;
    unsigned now_slot = (unsigned)((w->elapsed / slot_range) & 63);
    uint64_t rotated =
        (occ >> now_slot) | (now_slot ? occ << (64 - now_slot) : 0);
    unsigned dist = (unsigned)__builtin_ctzll(rotated);
    unsigned slot = (now_slot + dist) & 63;
    uint64_t level_start = w->elapsed & ~(level_range - 1);
    uint64_t deadline = level_start + slot * slot_range;
    if (slot < now_slot ||
        (slot == now_slot && deadline + slot_range <= w->elapsed))
        deadline += level_range;
    return deadline;
}

/* Earliest (level, tick) to process; false if empty. */
static bool next_expiration(const kr__wheel *w, int *level, uint64_t *tick) {
    for (int l = 0; l < KR__WHEEL_LEVELS; l++) {
        uint64_t d = level_next(w, l);
        if (d != UINT64_MAX) {
            /* Lower levels expire before higher ones can matter: an entry
             * at level l+1 is at least a level-l range away. */
            *level = l;
            *tick = d < w->elapsed ? w->elapsed : d;
            return true;
        }
    }
    return false;
}

int64_t kr__wheel_next_ms(kr__wheel *w, uint64_t now_ms) {
    if (!kr__wheel_busy(w))
        return -1;
    int l;
    uint64_t tick;
    kr__spin_lock(&w->lock);
    bool any = next_expiration(w, &l, &tick);
    kr__spin_unlock(&w->lock);
    if (!any)
        return -1;
    return tick <= now_ms ? 0 : (int64_t)(tick - now_ms);
}

unsigned kr__wheel_process(kr__wheel *w, uint64_t now_ms) {
    kr_waker batch[WAKE_BATCH];
    unsigned fired = 0;
    kr__spin_lock(&w->lock);
    for (;;) {
        /* Fire what is pending, WAKE_BATCH at a time, waking each batch
         * with the lock dropped. An entry dropped meanwhile leaves the
         * pending list under the lock (unlink), so no pointer into it is
         * held across the unlock. */
        unsigned n = 0;
        while (!kr__hlist_empty(&w->pending) && n < WAKE_BATCH) {
            kr__timer *t = timer_of(kr__hlist_pop_front(&w->pending));
            if (t->waker.vtable != NULL) {
                batch[n++] = t->waker;
                t->waker.vtable = NULL;
                t->waker.data = NULL;
            }
            /* Fired. Release: a dropper that loads NULL (acquire) on
             * another thread then sees the waker slot already empty. */
            kr__store_release(&t->wheel, NULL);
            kr__store_relaxed(&w->count, kr__load_relaxed(&w->count) - 1);
            fired++;
        }
        if (n > 0) {
            kr__spin_unlock(&w->lock);
            for (unsigned i = 0; i < n; i++)
                kr_waker_wake(batch[i]);
            kr__spin_lock(&w->lock);
            continue;
        }
        if (!kr__hlist_empty(&w->pending))
            continue; /* entries without wakers: fired above, go on */
        /* Nothing pending: take the next due slot, advance time to it and
         * sort its entries into pending (due) or back into the wheel (a
         * cascade from a higher level, or reset to later). */
        int l;
        uint64_t tick;
        if (kr__load_relaxed(&w->count) == 0 ||
            !next_expiration(w, &l, &tick) || tick > now_ms)
            break;
        int s = slot_for(tick, l);
        kr__hlist due;
        kr__hlist_init(&due);
        kr__hlist_move(&due, &w->slot[l][s]);
        w->occupied[l] &= ~((uint64_t)1 << s);
        if (tick > w->elapsed)
            w->elapsed = tick;
        kr__hnode *node;
        while ((node = kr__hlist_pop_front(&due)) != NULL) {
            kr__timer *t = timer_of(node);
            /* Relaxed: a concurrent lock-free reset stores a later
             * deadline; either value is handled. */
            uint64_t deadline = kr__load_relaxed(&t->deadline);
            if (deadline > now_ms) {
                t->when = deadline;
                link(w, t);
            } else {
                push_pending(w, t);
            }
        }
    }
    if (now_ms > w->elapsed)
        w->elapsed = now_ms;
    kr__spin_unlock(&w->lock);
    return fired;
}

void kr__wheel_clear(kr__wheel *w) {
    kr__spin_lock(&w->lock);
    if (kr__load_relaxed(&w->count) == 0) {
        /* Nothing registered (the count is exact under the lock): every
         * slot and the pending list are empty already. A short block_on
         * clears its wheel on every call; this skips the walk of all the
         * slots. */
        kr__spin_unlock(&w->lock);
        return;
    }
    kr__hnode *node;
    while ((node = kr__hlist_pop_front(&w->pending)) != NULL) {
        kr__timer *t = timer_of(node);
        kr_waker_reset(&t->waker);
        kr__store_release(&t->wheel, NULL);
    }
    for (int l = 0; l < KR__WHEEL_LEVELS; l++) {
        for (int s = 0; s < KR__WHEEL_SLOTS; s++) {
            while ((node = kr__hlist_pop_front(&w->slot[l][s])) != NULL) {
                kr__timer *t = timer_of(node);
                kr_waker_reset(&t->waker);
                kr__store_release(&t->wheel, NULL); /* as when firing */
            }
        }
        w->occupied[l] = 0;
    }
    kr__store_relaxed(&w->count, 0);
    kr__spin_unlock(&w->lock);
}
