/*
 * util/atomic.h: every atomic operation in kairo goes through these names,
 * so each access states its ordering and a torture or model-checking build
 * can swap the implementation in one place.
 *
 * Naming: kr__<op>_<order>. Orders are the C11 ones; no implicit seq_cst.
 * A relaxed access needs a comment at its call site saying why it is
 * enough; an acquire or release one names what it pairs with.
 */
#ifndef KR_UTIL_ATOMIC_H
#define KR_UTIL_ATOMIC_H

#include <stdatomic.h>

#define kr__load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define kr__load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define kr__load_seqcst(p)  atomic_load_explicit((p), memory_order_seq_cst)

#define kr__store_relaxed(p, v)                                                \
    atomic_store_explicit((p), (v), memory_order_relaxed)
#define kr__store_release(p, v)                                                \
    atomic_store_explicit((p), (v), memory_order_release)
#define kr__store_seqcst(p, v)                                                 \
    atomic_store_explicit((p), (v), memory_order_seq_cst)

#define kr__swap_acqrel(p, v)                                                  \
    atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define kr__swap_acquire(p, v)                                                 \
    atomic_exchange_explicit((p), (v), memory_order_acquire)
#define kr__swap_release(p, v)                                                 \
    atomic_exchange_explicit((p), (v), memory_order_release)
#define kr__swap_seqcst(p, v)                                                  \
    atomic_exchange_explicit((p), (v), memory_order_seq_cst)

#define kr__fetch_add_relaxed(p, v)                                            \
    atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define kr__fetch_add_acqrel(p, v)                                             \
    atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define kr__fetch_add_seqcst(p, v)                                             \
    atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define kr__fetch_sub_relaxed(p, v)                                            \
    atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define kr__fetch_sub_acqrel(p, v)                                             \
    atomic_fetch_sub_explicit((p), (v), memory_order_acq_rel)
#define kr__fetch_sub_release(p, v)                                            \
    atomic_fetch_sub_explicit((p), (v), memory_order_release)
#define kr__fetch_sub_seqcst(p, v)                                             \
    atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
#define kr__fetch_or_acqrel(p, v)                                              \
    atomic_fetch_or_explicit((p), (v), memory_order_acq_rel)
#define kr__fetch_or_seqcst(p, v)                                              \
    atomic_fetch_or_explicit((p), (v), memory_order_seq_cst)
#define kr__fetch_and_relaxed(p, v)                                            \
    atomic_fetch_and_explicit((p), (v), memory_order_relaxed)
#define kr__fetch_and_acqrel(p, v)                                             \
    atomic_fetch_and_explicit((p), (v), memory_order_acq_rel)
#define kr__fetch_xor_acqrel(p, v)                                             \
    atomic_fetch_xor_explicit((p), (v), memory_order_acq_rel)

/* Strong CAS; on failure *expected receives the current value. */
#define kr__cas_acqrel(p, expected, desired)                                   \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired),        \
                                            memory_order_acq_rel,              \
                                            memory_order_acquire)
#define kr__cas_acquire(p, expected, desired)                                  \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired),        \
                                            memory_order_acquire,              \
                                            memory_order_acquire)
/* Seq_cst on success (a CAS that must be ordered against other seq_cst
 * accesses, not just paired); relaxed on failure, which reads nothing. */
#define kr__cas_seqcst(p, expected, desired)                                   \
    atomic_compare_exchange_strong_explicit((p), (expected), (desired),        \
                                            memory_order_seq_cst,              \
                                            memory_order_relaxed)
/* Weak CAS for retry loops. */
#define kr__cas_weak_acqrel(p, expected, desired)                              \
    atomic_compare_exchange_weak_explicit((p), (expected), (desired),          \
                                          memory_order_acq_rel,                \
                                          memory_order_acquire)
#define kr__cas_weak_release(p, expected, desired)                             \
    atomic_compare_exchange_weak_explicit((p), (expected), (desired),          \
                                          memory_order_release,                \
                                          memory_order_relaxed)

/* Spin-wait hint. */
static inline void kr__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#define KR__CACHELINE  64
#define KR__ALIGNED_CL __attribute__((aligned(KR__CACHELINE)))

#endif /* KR_UTIL_ATOMIC_H */
