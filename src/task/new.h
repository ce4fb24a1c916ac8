/*
 * task/new.h: kr__task_new's fast path, inline, for the spawn paths that
 * should not pay for a call (sched/current_thread.c's local spawn).
 *
 * kr__task_new_fast handles the common spawn alone: a plain future (not
 * in place) of at most 128 bytes in whole words (tracked or not: the
 * record is filled inline), into a cell its cache has ready, with an id left in this thread's block. It calls
 * nothing (kr__cache_alloc_fast is inlined under LTO), so a caller that
 * also calls nothing on its own fast path stays a leaf with no register
 * saves. Anything else returns NULL with nothing changed: the caller then
 * calls kr__task_new, which does everything (its own first step is this
 * function). The cell is filled exactly as kr__task_new fills it
 * (task.h's contract for the state, the references and the header).
 */
#ifndef KR_TASK_NEW_H
#define KR_TASK_NEW_H

#include "core/context.h"
#include "task/state.h"

/* This thread's block of task ids, [kr__id_next, kr__id_end)
 * (harness.c). Initial-exec, as kr__ctx: a general-dynamic access is a
 * call to __tls_get_addr as far as the compiler knows, which would cost
 * the fast path its leaf status. */
extern __thread uint64_t kr__id_next __attribute__((tls_model("initial-exec")));
extern __thread uint64_t kr__id_end __attribute__((tls_model("initial-exec")));

/* Fills the header of a new cell with id `id` (task.h). */
static inline void kr__task_init_header(kr__task *t, uint64_t id,
                                        uint32_t home_off, bool join) {
    atomic_init(&t->state, KR__INITIAL_STATE(join) | kr__task_id_hi_bits(id));
    atomic_init(&t->next, NULL);
    t->id_lo = kr__task_id_lo(id);
    t->home_off = (uint16_t)(home_off >> 4);
    t->owner = KR__NO_OWNER;
    t->flags = 0;
    kr__list_node_init(&t->owned);
    t->join_waker.data = NULL;
    t->join_waker.vtable = NULL;
    atomic_init(&t->site, NULL);
}

/* A new tracked cell's record: nothing yet, and the task polled on this
 * thread, if any, as its parent. No call: the fast path stays a leaf. */
static inline void kr__task_track_init(kr__task_track *tr) {
    atomic_init(&tr->polls, 0);
    atomic_init(&tr->last_poll, 0);
    atomic_init(&tr->woken, 0);
    kr__task *cur = kr__ctx.current;
    tr->parent = cur != NULL ? kr__task_id(cur) : 0;
}

/* kr__task_new for the common case, or NULL with nothing changed (see
 * the file comment). Requires `f` valid (kr_spawn's checks). */
static inline __attribute__((always_inline)) kr__task *
kr__task_new_fast(kr__sched *sched, kr__cache *cache, const kr_future *f,
                  unsigned how) {
    const kr_future_vtable *vt = f->vtable;
    size_t fsize = vt->size;
    if (__builtin_expect(vt == &kr__in_place_vtable || cache == NULL ||
                             fsize > 128 || fsize % 8 != 0 ||
                             kr__id_next == kr__id_end,
                         0))
        return NULL;
    size_t size = kr__task_out_off(fsize) + vt->output_size;
    if (__builtin_expect((how & KR__NEW_TRACK) != 0, 0))
        size = ((size + 7) & ~(size_t)7) + sizeof(kr__task_track);
    uint32_t home_off;
    kr__task *t = kr__cache_alloc_fast(cache, size, sched, &home_off);
    if (__builtin_expect(t == NULL, 0))
        return NULL;
    kr__task_init_header(t, kr__id_next++, home_off, (how & KR__NEW_JOIN) != 0);
    if (__builtin_expect((how & KR__NEW_TRACK) != 0, 0)) {
        kr__task_track_init((kr__task_track *)(void *)((char *)t + size -
                                                       sizeof(kr__task_track)));
        t->id_lo |= KR__TASK_TRACKED;
    }
    /* Most futures are a few words (a coroutine's, a few more): copied
     * inline rather than by memcpy through the PLT, one case per size,
     * each a run of 16-byte moves (callgrind: ct/ping_pong's 72- and
     * 80-byte futures, 28 instructions of a call to memcpy -> 10). */
    char *dst = (char *)kr__task_future(t);
    const char *src = (const char *)f;
    switch (fsize / 8) {
#define KR__COPY_WORDS(n)                                                      \
    case n:                                                                    \
        __builtin_memcpy(dst, src, 8 * (n));                                   \
        return t;
        KR__COPY_WORDS(1)
        KR__COPY_WORDS(2)
        KR__COPY_WORDS(3)
        KR__COPY_WORDS(4)
        KR__COPY_WORDS(5)
        KR__COPY_WORDS(6)
        KR__COPY_WORDS(7)
        KR__COPY_WORDS(8)
        KR__COPY_WORDS(9)
        KR__COPY_WORDS(10)
        KR__COPY_WORDS(11)
        KR__COPY_WORDS(12)
        KR__COPY_WORDS(13)
        KR__COPY_WORDS(14)
        KR__COPY_WORDS(15)
        KR__COPY_WORDS(16)
#undef KR__COPY_WORDS
    case 0: /* not a future (kr__future_valid): nothing to copy */
        return t;
    default: /* fsize <= 128, checked above: no range check */
        __builtin_unreachable();
    }
}

#endif /* KR_TASK_NEW_H */
