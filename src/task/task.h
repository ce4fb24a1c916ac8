/*
 * task/task.h: the task cell, its state word and the rules for touching it.
 *
 * A task is one allocation (a "cell") holding a spawned future, its output
 * and the bookkeeping that lets wakers, join handles and schedulers share it.
 *
 * Layout (offsets for a 64-bit build; the future starts at 64):
 *
 *   +-----------------------------------------------+  0
 *   | header (hot)                                  |
 *   |   state        _Atomic u64  flags + refcount  |
 *   |   next         queue link (run/inject queues) |
 *   |   sched        owning scheduler (its hooks)   |
 *   |   owned_prev/next  owner's list of live tasks |
 *   |   out_off, trailer_off, held   u32 each       |
 *   |   site         innermost pending await        |
 *   +-----------------------------------------------+  64
 *   | future         vtable->size bytes             |
 *   +-----------------------------------------------+  out_off (16-aligned)
 *   | output slot    vtable->output_size bytes      |
 *   +-----------------------------------------------+  trailer_off (16-aligned)
 *   | trailer (cold)                                |
 *   |   join_waker   the JoinHandle's waker         |
 *   |   cache, cls   where the cell returns to      |
 *   |   id, result   task id; 0 or KR_ECANCELED      |
 *   +-----------------------------------------------+
 *
 * References. The refcount (state >> 6) counts:
 *   - the OWNED reference: held by the scheduler's list of live tasks from
 *     spawn until the task completes (released in kr__task_complete);
 *   - the NOTIFIED reference: held by whoever will run the task next (a run
 *     queue, an inject queue, the caller of a Submit transition). There is
 *     at most one, and it exists exactly while NOTIFIED is set and the task
 *     is not running; while RUNNING it belongs to the poller;
 *   - the JOIN reference: held by the join handle (JOIN_INTEREST set);
 *   - one per waker clone outside a poll.
 * The waker lent to a poll (kr__task_waker_ref) holds no reference: the
 * poller's reference keeps the task alive for the duration of the poll.
 *
 * Self-wakes. A wake of the task being polled, made on the polling thread
 * during the poll (kr_yield_now, an exhausted budget, a future waking its
 * own waker), only sets kr__ctx.self_woken: no atomic operation. When the
 * poll returns PENDING with it set, the poller queues the task *still
 * RUNNING*, marked `held`, with the poller's reference as its NOTIFIED
 * one; whoever pops it polls it without the to_running transition. While
 * held, other threads see RUNNING: a wake sets NOTIFIED (the next to_idle
 * re-queues it: a spurious poll at worst), an abort sets CANCELLED (seen
 * before the next poll), a shutdown leaves it to the drain, which cancels
 * held tasks it pops (kr__task_drop_queued).
 * The cell is freed when the count reaches zero, by whoever dropped it.
 *
 * State bits:
 *
 *   bit  name           meaning
 *   0    RUNNING        the future is being polled or dropped; the holder
 *                       owns the future and output slot
 *   1    COMPLETE       the output is stored (or the task was cancelled);
 *                       set once, never together with RUNNING
 *   2    NOTIFIED       the task is queued (or about to be); see above
 *   3    JOIN_INTEREST  a join handle exists
 *   4    JOIN_WAKER     the trailer's join_waker is owned by the runtime
 *   5    CANCELLED      cancel at the next opportunity
 *   6..  refcount       in units of REF_ONE = 64
 *
 * Who touches what:
 *   - future, output slot: only the holder of RUNNING, except that after
 *     COMPLETE the join handle reads the output slot (once) and result.
 *   - join_waker: the join handle while JOIN_WAKER is clear and the task is
 *     not COMPLETE; the runtime while JOIN_WAKER is set (it wakes it on
 *     completion). After completion the runtime clears JOIN_WAKER; if the
 *     handle is gone by then the runtime drops the waker, otherwise the
 *     handle owns (and eventually drops) it.
 *   - next: the queue the task is in (only while NOTIFIED).
 *   - owned_prev/next: the scheduler that owns the list, under its rules;
 *     owned_prev is NULL while the task is on no list (not yet bound, or
 *     released).
 *   - site: written by the poller after each poll; read by dumps.
 *
 * Every transition is one atomic read-modify-write (or CAS loop) in
 * state.h, and returns what the caller must do next; the results are
 * warn_unused_result so that no caller can ignore one.
 */
#ifndef KR_TASK_TASK_H
#define KR_TASK_TASK_H

#include <stdatomic.h>
#include <stdint.h>

#include "kairo.h"
#include "util/atomic.h"

typedef struct kr__task kr__task;
typedef struct kr__sched kr__sched;
typedef struct kr__cache kr__cache;

/*
 * What a task needs from its scheduler. The task knows nothing else about
 * it (DESIGN §1).
 */
typedef struct kr__sched_ops {
    /* The task became runnable through a wake; the caller passes its
     * NOTIFIED reference. Any thread. */
    void (*schedule)(kr__sched *s, kr__task *t);
    /* The task woke itself while running (a yield): queue it behind the
     * others after the next look at I/O (its NOTIFIED reference passes).
     * Called on the thread that polled it. */
    void (*yield)(kr__sched *s, kr__task *t);
    /* The task completed: take it off the list of live tasks. Returns true
     * if the list held it (the caller then drops the OWNED reference too). */
    bool (*release)(kr__sched *s, kr__task *t);
    /* A cell allocated outside any cache pinned the scheduler's memory
     * (kr__task_new with a NULL cache); it has been freed. Any thread. */
    void (*unpin)(kr__sched *s);
} kr__sched_ops;

struct kr__sched {
    const kr__sched_ops *ops;
};

struct kr__task {
    _Atomic uint64_t state;
    _Atomic(kr__task *) next;
    kr__sched *sched;
    kr__task *owned_prev;
    kr__task *owned_next;
    uint32_t out_off;
    uint32_t trailer_off;
    /* HELD: the task is queued still holding RUNNING (it woke itself
     * during its poll; see kr__task_run). Written by the poller before the
     * queue push, read by whoever pops it (the queue orders the two). */
    uint32_t held;
    /* Innermost pending await after the last poll: written (relaxed) by
     * the poller after each poll, read by task dumps on any thread. In the
     * header because the poller writes it every poll. */
    _Atomic(const kr_await_site *) site;
};

/* One cache line: the future starts on the next. */
#define KR__TASK_HEADER_SIZE 64
_Static_assert(sizeof(kr__task) <= KR__TASK_HEADER_SIZE, "task header grew");

typedef struct kr__trailer {
    kr_waker join_waker;
    kr__cache *cache;
    uint64_t id;
    uint32_t cls;
    int32_t result; /* 0, or KR_ECANCELED; written before COMPLETE */
    int32_t owner;  /* scheduler's: which list holds it; -1 none yet */
} kr__trailer;

static inline kr_future *kr__task_future(kr__task *t) {
    return (kr_future *)((char *)t + KR__TASK_HEADER_SIZE);
}
static inline void *kr__task_output(kr__task *t) {
    return (char *)t + t->out_off;
}
static inline kr__trailer *kr__task_trailer(kr__task *t) {
    return (kr__trailer *)((char *)t + t->trailer_off);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle (harness.c, waker.c, cache.c)                                  */
/* ------------------------------------------------------------------------ */

/*
 * Allocates and fills a cell for `f` owned by `sched`, from `cache` (NULL:
 * the general allocator). State: NOTIFIED, refs OWNED + NOTIFIED (+ JOIN if
 * `join`). Returns NULL on allocation failure.
 */
kr__task *kr__task_new(kr__sched *sched, kr__cache *cache, const kr_future *f,
                       bool join);

/* Runs one poll of `t`; consumes the caller's NOTIFIED reference. */
void kr__task_run(kr__task *t);

/*
 * Shutdown: the caller holds the OWNED reference (it has taken the task off
 * its list). Cancels the task if it is idle, then drops that reference.
 */
void kr__task_shutdown(kr__task *t);

/* A drain found `t` in a run queue: releases what the queue held (the
 * NOTIFIED reference, or for a held task the RUNNING right: it is
 * cancelled and completed). */
void kr__task_drop_queued(kr__task *t);

/* Drops one reference; frees the cell at zero. */
void kr__task_drop_ref(kr__task *t);

/* Frees the cell (refcount reached zero). */
void kr__task_dealloc(kr__task *t);

/* The waker vtable of task wakers: data is the task. */
extern const kr_waker_vtable kr__task_waker_vtable;

/* The waker lent to a poll: no reference is taken. */
static inline kr_waker kr__task_waker_ref(kr__task *t) {
    kr_waker w = {t, &kr__task_waker_vtable};
    return w;
}

/* Writes one task's dump line (task/dump.c). Returns 0 or KR_EIO. */
int kr__task_dump_line(int fd, void *task);

/* Makes `h` the handle of task `task` (join.c). */
void kr__join_init(kr_join_handle *h, void *task);
/* The join handles' vtable (task/join.c), for telling a handle apart. */
extern const kr_future_vtable kr__join_vtable;

#endif /* KR_TASK_TASK_H */
