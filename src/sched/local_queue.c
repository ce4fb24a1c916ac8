/* sched/local_queue.c: the worker run queue (protocol in local_queue.h). */
#include "sched/local_queue.h"
#include "util/debug.h"

/* The index order every snapshot must show: steal <= real <= tail, at most
 * a queue's worth apart (wrapping differences). */
#define REQUIRE_ORDER(q, steal, real, tail)                                    \
    KR__REQUIRE(                                                               \
        (uint32_t)((tail) - (steal)) <= KR__LQ_CAP &&                          \
            (uint32_t)((real) - (steal)) <= (uint32_t)((tail) - (steal)),      \
        "run queue %p: indices out of order: steal %u real %u "                \
        "tail %u",                                                             \
        (void *)(q), (unsigned)(steal), (unsigned)(real), (unsigned)(tail))

void kr__lq_init(kr__lq *q) {
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    for (uint32_t i = 0; i < KR__LQ_CAP; i++)
        atomic_init(&q->buf[i], NULL);
}

void kr__lq_push_unchecked(kr__lq *q, kr__task *t) {
    uint32_t tail = kr__load_relaxed(&q->tail); /* owner's own writes */
    /* Room: the caller checked kr__lq_remaining (stealers only add room). */
    KR__REQUIRE(t != NULL && tail - kr__lq_steal(kr__load_acquire(&q->head)) <
                                 KR__LQ_CAP,
                "run queue %p: push_unchecked of %p without room (tail %u)",
                (void *)q, (void *)t, (unsigned)tail);
    /* Relaxed: published by the release store of tail. */
    kr__store_relaxed(&q->buf[tail & KR__LQ_MASK], t);
    kr__store_release(&q->tail, tail + 1);
}

bool kr__lq_push(kr__lq *q, kr__task *t, kr__task **bh, kr__task **bt,
                 uint32_t *bn) {
    for (;;) {
        /* Acquire pairs with the stealers' head CASes: their slot reads are
         * done before we overwrite the slots they freed. */
        uint64_t head = kr__load_acquire(&q->head);
        uint32_t steal = kr__lq_steal(head), real = kr__lq_real(head);
        uint32_t tail = kr__load_relaxed(&q->tail); /* owner's own writes */
        REQUIRE_ORDER(q, steal, real, tail);
        KR__REQUIRE(t != NULL, "run queue %p: NULL pushed", (void *)q);
        if (tail - steal < KR__LQ_CAP) {
            kr__store_relaxed(&q->buf[tail & KR__LQ_MASK], t);
            kr__store_release(&q->tail, tail + 1);
            return true;
        }
        kr__store_relaxed(&t->next, NULL); /* a private list from here */
        if (steal != real) {
            /* A stealer is about to free space; don't wait for it. */
            *bh = *bt = t;
            *bn = 1;
            return false;
        }
        /* Full: claim the oldest half in one CAS, then link it. */
        uint32_t n = KR__LQ_CAP / 2;
        uint64_t want = kr__lq_pack(real + n, real + n);
        if (!kr__cas_acqrel(&q->head, &head, want))
            continue; /* a stealer took some meanwhile: there is room now */
        kr__task *first = kr__load_relaxed(&q->buf[real & KR__LQ_MASK]);
        kr__task *prev = first;
        for (uint32_t i = 1; i < n; i++) {
            kr__task *cur = kr__load_relaxed(&q->buf[(real + i) & KR__LQ_MASK]);
            kr__store_relaxed(&prev->next, cur);
            prev = cur;
        }
        kr__store_relaxed(&prev->next, t);
        *bh = first;
        *bt = t;
        *bn = n + 1;
        return false;
    }
}

kr__task *kr__lq_pop(kr__lq *q) {
    uint64_t head = kr__load_acquire(&q->head);
    for (;;) {
        uint32_t steal = kr__lq_steal(head), real = kr__lq_real(head);
        uint32_t tail = kr__load_relaxed(&q->tail); /* owner's own writes */
        REQUIRE_ORDER(q, steal, real, tail);
        if (real == tail)
            return NULL;
        uint64_t next = steal == real ? kr__lq_pack(real + 1, real + 1)
                                      : kr__lq_pack(steal, real + 1);
        /* Acq_rel against stealers claiming the same slot. */
        if (kr__cas_acqrel(&q->head, &head, next)) {
            kr__task *t = kr__load_relaxed(&q->buf[real & KR__LQ_MASK]);
            KR__REQUIRE(t != NULL, "run queue %p: slot %u empty", (void *)q,
                        (unsigned)real);
            return t;
        }
    }
}

/* Claims up to half of src, copies it into dst from dst_tail on, returns
 * how many (0: nothing, or another stealer is active). */
static uint32_t steal_into2(kr__lq *src, kr__lq *dst, uint32_t dst_tail) {
    uint64_t prev = kr__load_acquire(&src->head);
    uint64_t next;
    uint32_t n, first;
    for (;;) {
        uint32_t steal = kr__lq_steal(prev), real = kr__lq_real(prev);
        if (steal != real)
            return 0; /* one stealer at a time */
        /* Acquire pairs with the owner's release of tail: the slots below
         * it are filled. */
        uint32_t src_tail = kr__load_acquire(&src->tail);
        /* `prev` may be stale by now (the owner popped and pushed since):
         * then n is meaningless, but the CAS below fails and we retry. The
         * order is only required of a snapshot the CAS proved current. */
        n = src_tail - real;
        n -= n / 2;
        if (n == 0)
            return 0;
        next = kr__lq_pack(steal, real + n);
        if (kr__cas_acqrel(&src->head, &prev, next)) {
            REQUIRE_ORDER(src, steal, real, src_tail);
            first = real;
            break;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        kr__task *t = kr__load_relaxed(&src->buf[(first + i) & KR__LQ_MASK]);
        kr__store_relaxed(&dst->buf[(dst_tail + i) & KR__LQ_MASK], t);
    }
    /* Done copying: let steal catch up with real. The owner may have popped
     * meanwhile (real moved), so retry with what we see. */
    prev = next;
    for (;;) {
        uint32_t real = kr__lq_real(prev);
        if (kr__cas_acqrel(&src->head, &prev, kr__lq_pack(real, real)))
            return n;
    }
}

kr__task *kr__lq_steal_into(kr__lq *src, kr__lq *dst) {
    uint32_t dst_tail = kr__load_relaxed(&dst->tail); /* our own queue */
    uint64_t dh = kr__load_acquire(&dst->head);
    /* Don't steal into a queue that is already half full. */
    if (dst_tail - kr__lq_steal(dh) > KR__LQ_CAP / 2)
        return NULL;
    KR__REQUIRE(src != dst, "run queue %p: stealing from itself", (void *)src);
    uint32_t n = steal_into2(src, dst, dst_tail);
    if (n == 0)
        return NULL;
    /* Only the owner (us) moves dst's tail; stealers only free room. */
    KR__REQUIRE(dst_tail + n - kr__lq_steal(dh) <= KR__LQ_CAP,
                "run queue %p: stole %u into it past capacity (tail %u, "
                "steal %u)",
                (void *)dst, (unsigned)n, (unsigned)dst_tail,
                (unsigned)kr__lq_steal(dh));
    n--;
    kr__task *ret = kr__load_relaxed(&dst->buf[(dst_tail + n) & KR__LQ_MASK]);
    if (n > 0)
        kr__store_release(&dst->tail, dst_tail + n); /* publish the rest */
    return ret;
}
