/*
 * sched/local_queue.h: a worker's bounded run queue. The owner pushes and
 * pops at its ends; other workers steal half of it. (Tokio's queue.rs
 * algorithm, reference/tokio.md §2.2.)
 *
 * Fields and who writes them:
 *   tail    written only by the owner (release store after filling a slot;
 *           stealers' acquire load of tail pairs with it, so the slots below
 *           tail are visible to them).
 *   head    packs two u32 indices: (steal << 32) | real. `real` is the next
 *           slot to pop; `steal` trails it while a stealer is copying slots
 *           [steal, real) out and equals it otherwise. Owner pops and
 *           stealers claim with acq_rel CASes on head; a stealer finishes by
 *           CASing steal up to real. While steal != real no other stealer
 *           starts, and the owner does not reuse those slots: its capacity
 *           check counts from `steal`, not `real`.
 *   buffer  slots are written by the owner (relaxed; published by tail) and
 *           by a stealer into its *own* queue (likewise published by its own
 *           tail store). Slots being stolen are read (relaxed) after the
 *           claiming CAS, whose acquire pairs with the owner's tail release.
 * Indices are free-running u32 and compared by wrapping difference.
 */
#ifndef KR_SCHED_LOCAL_QUEUE_H
#define KR_SCHED_LOCAL_QUEUE_H

#include <stdint.h>

#include "task/task.h"

#ifdef KR_TORTURE
#define KR__LQ_CAP 4u /* as Tokio under loom: overflow and steal paths hot */
#else
#define KR__LQ_CAP 256u /* Tokio's LOCAL_QUEUE_CAPACITY */
#endif
#define KR__LQ_MASK (KR__LQ_CAP - 1)

typedef struct kr__lq {
    _Atomic uint64_t head KR__ALIGNED_CL;
    _Atomic uint32_t tail KR__ALIGNED_CL;
    _Atomic(kr__task *) buf[KR__LQ_CAP];
} kr__lq;

static inline uint64_t kr__lq_pack(uint32_t steal, uint32_t real) {
    return ((uint64_t)steal << 32) | real;
}
static inline uint32_t kr__lq_steal(uint64_t h) { return (uint32_t)(h >> 32); }
static inline uint32_t kr__lq_real(uint64_t h) { return (uint32_t)h; }

void kr__lq_init(kr__lq *q);

/* Owner: pushes `t`, or returns false if full (no stealer active) after
 * taking the oldest half out into a NULL-terminated list at *batch
 * (linked through next, `t` appended), which the caller moves to the
 * inject queue. If full while a stealer is active, *batch is `t` alone. */
bool kr__lq_push(kr__lq *q, kr__task *t, kr__task **batch_head,
                 kr__task **batch_tail, uint32_t *batch_n);

kr__task *kr__lq_pop(kr__lq *q);

/* Stealer: moves about half of `src` into `dst` (the caller's own queue)
 * and returns one of them to run, or NULL. */
kr__task *kr__lq_steal_into(kr__lq *src, kr__lq *dst);

/* Tasks in the queue, as seen from any thread (a snapshot). */
static inline uint32_t kr__lq_len(kr__lq *q) {
    uint64_t h = kr__load_acquire(&q->head);
    uint32_t t = kr__load_acquire(&q->tail);
    return t - kr__lq_real(h);
}

/* Owner: free slots. */
static inline uint32_t kr__lq_remaining(kr__lq *q) {
    uint64_t h = kr__load_acquire(&q->head);
    uint32_t t = kr__load_relaxed(&q->tail); /* owner's own writes */
    return KR__LQ_CAP - (t - kr__lq_steal(h));
}

/* Owner: pushes a task known to fit (after kr__lq_remaining). */
void kr__lq_push_unchecked(kr__lq *q, kr__task *t);

#endif
