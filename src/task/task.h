/*
 * task/task.h: the task cell, its state word and the rules for touching it.
 *
 * A task is one allocation (a "cell") holding a spawned future, its output
 * and the bookkeeping that lets wakers, join handles and schedulers share it.
 *
 * Layout (offsets for a 64-bit build; the future starts at 64):
 *
 *   +-----------------------------------------------+  0
 *   | header                                        |
 *   |   state        _Atomic u64  flags, id's high  |
 *   |                half, refcount                 |
 *   |   next         queue link (run/inject queues) |
 *   |   id_lo u32, home_off u16, owner u8, flags    |
 *   |   owned        owner's list of live tasks    |
 *   |   join_waker   the JoinHandle's waker         |
 *   |   site         innermost pending await        |
 *   +-----------------------------------------------+  64
 *   | future         vtable->size bytes             |
 *   +-----------------------------------------------+  64 + size, 16-aligned
 *   | output slot    vtable->output_size bytes      |
 *   +-----------------------------------------------+  8-aligned
 *   | meta (only if id_lo has KR__TASK_NAMED):      |
 *   |                spawn file, line, name bytes   |
 *   +-----------------------------------------------+
 *
 * The id is 62 bits, so that it is never reused in the life of a process
 * (Tokio's task::Id; 32 bits wrap after 2^32 spawns, minutes for a busy
 * server). It lives in the header, split: its high 32 bits in the state
 * word (bits 6..37, written at the spawn and preserved by every
 * transition: they are neither flags nor count, and a transition only
 * sets or clears flags and adds or subtracts multiples of REF_ONE), its
 * low 30 bits in `id_lo`, above the NAMED and TRACKED bits. The meta (kr__task_meta)
 * is there only for a task spawned through a builder (kr_task_spawn); a
 * plain kr_spawn's cell is the header, the future and the output, no
 * more: 64 bytes beside the future for a task with no output.
 *
 * The cell comes from a slab of cells of its size class (task/cache.h),
 * with no allocator header of its own. What the cell does not hold it
 * finds in its home, 16 x `home_off` bytes before it (the slab's header,
 * or a loose cell's prefix): its scheduler and its cache. The offsets of
 * the output slot and of the meta follow from the future's sizes, read
 * from the future's vtable, which stays in place after the future is
 * dropped (a drop must not clear or change `vtable`).
 *
 * References. The refcount (state >> 38) counts:
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
 *   4    JOIN_WAKER     the header's join_waker is owned by the runtime
 *   5    CANCELLED      cancel at the next opportunity
 *   6-37 id's high half fixed at the spawn (kr__task_id)
 *   38.. refcount       in units of REF_ONE = 2^38: 26 bits, and
 *                       kr__ref_inc aborts at 2^24 references
 *
 * The count is in the top bits so that kr__refs is one shift and a count
 * taken below zero (a bug the debug build reports) wraps without touching
 * the id.
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
 *   - owned: the scheduler's list of live tasks, under its rules
 *     (sched/owned.h); unlinked while the task is on no list (not yet
 *     bound, or released).
 *   - site: written by the poller after each poll; read by dumps.
 *   - flags (HELD, CANCELLED): only the holder of RUNNING; CANCELLED is
 *     read by the join handle after COMPLETE.
 *   - id_lo, home_off, the meta, the id bits of the state: written at
 *     creation, read-only after; owner: written once by the scheduler
 *     before the task can complete.
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
#include "task/cache.h"
#include "util/atomic.h"
#include "util/debug.h"
#include "util/list.h"

typedef struct kr__task kr__task;

/*
 * What a task needs from its scheduler. The task knows nothing else about
 * it (DESIGN §1).
 */
typedef struct kr__sched_ops {
    /* The task became runnable through a wake; the caller passes its
     * NOTIFIED reference. Any thread. */
    void (*schedule)(kr__sched *s, kr__task *t);
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
    /* The id's low 30 bits, shifted left by two; bit 0 is
     * KR__TASK_NAMED (a kr__task_meta follows the output), bit 1
     * KR__TASK_TRACKED (a kr__task_track ends the cell). */
    uint32_t id_lo;
    /* Distance back from the cell to its home (task/cache.h), in units of
     * 16 bytes. */
    uint16_t home_off;
    /* The scheduler's: which list of live tasks holds it; KR__NO_OWNER
     * while none does. */
    uint8_t owner;
    uint8_t flags;  /* KR__TASK_HELD, KR__TASK_CANCELLED */
    kr__list owned; /* on the scheduler's list of live tasks */
    kr_waker join_waker;
    /* Innermost pending await after the last poll: written (relaxed) by
     * the poller after each poll, read by task dumps on any thread. */
    _Atomic(const kr_await_site *) site;
};

#define KR__NO_OWNER       0xff
/* HELD: the task is queued still holding RUNNING (it woke itself during
 * its poll; see kr__task_run). Written by the poller before the queue
 * push, read by whoever pops it (the queue orders the two). */
#define KR__TASK_HELD      1u
/* The task was cancelled: its join handle reads KR_ECANCELED. Written
 * before COMPLETE. */
#define KR__TASK_CANCELLED 2u

/* The future starts right after the header. */
#define KR__TASK_HEADER_SIZE 64
_Static_assert(sizeof(kr__task) == KR__TASK_HEADER_SIZE, "task header grew");

static inline kr_future *kr__task_future(kr__task *t) {
    return (kr_future *)((char *)t + KR__TASK_HEADER_SIZE);
}
static inline size_t kr__task_out_off(size_t future_size) {
    return KR__TASK_HEADER_SIZE + ((future_size + 15) & ~(size_t)15);
}
static inline void *kr__task_output(kr__task *t) {
    return (char *)t + kr__task_out_off(kr__task_future(t)->vtable->size);
}
/* The state word's fields beside the flags (state.h has the flags). */
#define KR__ID_SHIFT     6
#define KR__ID_HI        ((uint64_t)0xffffffff << KR__ID_SHIFT)
#define KR__REF_SHIFT    38
/* id_lo's bit 0: a builder spawned it, a kr__task_meta follows the output. */
#define KR__TASK_NAMED   1u
/* id_lo's bit 1: the cell ends in a kr__task_track (every task of a
 * runtime with track_tasks, or the sampled ones of a schedule-latency
 * histogram: sched/stats.h). Written at creation, read-only after, so
 * any thread may test it; the poll and wake paths test it to time a
 * sampled task without a lookup. */
#define KR__TASK_TRACKED 2u
#define KR__ID_LO_SHIFT  2
/* A new task's id, split: the bits it adds to the state word and its
 * id_lo (NAMED and TRACKED clear). Requires: id < 2^62. */
static inline uint64_t kr__task_id_hi_bits(uint64_t id) {
    return id >> (32 - KR__ID_LO_SHIFT) << KR__ID_SHIFT & KR__ID_HI;
}
static inline uint32_t kr__task_id_lo(uint64_t id) {
    return (uint32_t)id << KR__ID_LO_SHIFT;
}
/* The task's id (kr_task_id): unique in the process, never 0, < 2^62. */
static inline uint64_t kr__task_id(const kr__task *t) {
    /* Relaxed: the id bits never change after the spawn. */
    uint64_t s = kr__load_relaxed(&((kr__task *)(uintptr_t)t)->state);
    return ((s & KR__ID_HI) >> KR__ID_SHIFT) << (32 - KR__ID_LO_SHIFT) |
           t->id_lo >> KR__ID_LO_SHIFT;
}
static inline bool kr__task_tracked(const kr__task *t) {
    return (t->id_lo & KR__TASK_TRACKED) != 0;
}
/* Offset of a named task's meta: past the output slot, 8-aligned. */
static inline size_t kr__task_meta_off(size_t future_size, size_t out_size) {
    return (kr__task_out_off(future_size) + out_size + 7) & ~(size_t)7;
}
/* A builder's spawn: where and under what name (kr_task_builder). */
typedef struct kr__task_meta {
    const char *file; /* static, or NULL */
    int line;
    uint32_t name_len; /* bytes of `name`, without its NUL; 0: unnamed */
    char name[];       /* copied from the builder, NUL-terminated */
} kr__task_meta;
static inline const kr__task_meta *kr__task_meta_of(const kr__task *t) {
    if (!(t->id_lo & KR__TASK_NAMED))
        return NULL;
    const kr_future_vtable *vt =
        kr__task_future((kr__task *)(uintptr_t)t)->vtable;
    return (
        const kr__task_meta *)(const void *)((const char *)t +
                                             kr__task_meta_off(
                                                 vt->size, vt->output_size));
}
/* The task's name: the builder's, or NULL. */
static inline const char *kr__task_name(const kr__task *t) {
    const kr__task_meta *m = kr__task_meta_of(t);
    return m != NULL && m->name_len != 0 ? m->name : NULL;
}

/*
 * A tracked task's record (kr_runtime_config.track_tasks: every task; a
 * schedule-latency histogram: the sampled tasks, sched/stats.h): the last
 * words of the cell, past the output and the meta, only in the cells that
 * have KR__TASK_TRACKED, so an untracked task's cell is as small as ever.
 *   polls, last_poll: written by the poller before each poll (relaxed; one
 *     poller at a time, ordered by the RUNNING transitions), read by dumps
 *     on any thread (relaxed, a snapshot for humans).
 *   woken: the clock when the wake that queued it happened (spawn, wake,
 *     yield), stored by the waker before the queue push and read by the
 *     poller after the pop (the queue orders the two); only while a
 *     schedule-latency histogram is on (0 until the first stamp).
 *   parent: the spawning task's id (0: spawned from outside a task);
 *     written at creation, read-only after.
 */
typedef struct kr__task_track {
    _Atomic uint64_t polls;
    _Atomic uint64_t last_poll; /* kr__ticks() its last poll began; 0 */
    _Atomic uint64_t woken;
    uint64_t parent;
} kr__task_track;
/* Offset of the tracking record: where the cell would end untracked,
 * 8-aligned. Requires: the cell was made with KR__NEW_TRACK
 * (kr__task_tracked). */
static inline size_t kr__task_track_off(const kr__task *t) {
    const kr_future_vtable *vt =
        kr__task_future((kr__task *)(uintptr_t)t)->vtable;
    size_t off = kr__task_meta_off(vt->size, vt->output_size);
    if (t->id_lo & KR__TASK_NAMED) {
        const kr__task_meta *m =
            (const kr__task_meta *)(const void *)((const char *)t + off);
        off = (off + sizeof(kr__task_meta) + m->name_len + 1 + 7) & ~(size_t)7;
    }
    return off;
}
static inline kr__task_track *kr__task_track_of(kr__task *t) {
    return (kr__task_track *)(void *)((char *)t + kr__task_track_off(t));
}

static inline uint32_t kr__task_home_off(const kr__task *t) {
    return (uint32_t)t->home_off << 4;
}
static inline kr__cell_home *kr__task_home(kr__task *t) {
    return kr__cell_home_of(t, kr__task_home_off(t));
}
/* The task's scheduler: the hooks a wake and a completion call. */
static inline kr__sched *kr__task_sched(kr__task *t) {
    return kr__task_home(t)->sched;
}

/* ------------------------------------------------------------------------ */
/* Lifecycle (harness.c, waker.c, cache.c)                                  */
/* ------------------------------------------------------------------------ */

/* kr__task_new's `how`: a join handle will exist; the cell gets a
 * kr__task_track (the runtime tracks its tasks). */
#define KR__NEW_JOIN  1u
#define KR__NEW_TRACK 2u

/*
 * Allocates and fills a cell for `f` owned by `sched`, from `cache` (NULL:
 * the general allocator). State: NOTIFIED, refs OWNED + NOTIFIED (+ JOIN if
 * `how` has KR__NEW_JOIN; a bool true is KR__NEW_JOIN). With KR__NEW_TRACK
 * the cell ends in a zeroed kr__task_track whose parent is the task being
 * polled on this thread, if any. Returns NULL on allocation failure.
 */
kr__task *kr__task_new(kr__sched *sched, kr__cache *cache, const kr_future *f,
                       unsigned how);

/*
 * Spawn in place (kr_spawn_in_place). The schedulers' spawn takes a
 * future to copy; an in-place spawn hands them this record instead, and
 * kr__task_new, seeing its vtable, sizes the cell by `vt` and has `init`
 * build the future there. An init failure frees the cell, leaves its code
 * in `err` and makes kr__task_new return NULL (the scheduler's KR_ENOMEM,
 * which the caller replaces by `err`). The record's own vtable is never
 * polled.
 */
typedef struct kr__in_place {
    kr_future base; /* &kr__in_place_vtable */
    const kr_future_vtable *vt;
    /* NULL: copy `arg`, a future of `vt` (a builder's kr_task_spawn). */
    int (*init)(kr_future *f, void *arg);
    void *arg;
    int err;
    /* A builder's (kairo/runtime.h, kr_task_builder), or NULL: the task
     * gets a kr__task_meta after its output. */
    const kr_task_builder *builder;
} kr__in_place;
extern const kr_future_vtable kr__in_place_vtable;

/* Runs one poll of `t`; consumes the caller's NOTIFIED reference.
 * Returns true if the task was woken during the poll (a yield: it woke
 * itself, or another thread woke it): the caller, the scheduler that
 * polled it, queues it behind the others after its next look at I/O, and
 * the NOTIFIED reference passes to that queue. (Returned rather than
 * called back: the caller knows its scheduler without looking up the
 * task's home.) */
__attribute__((warn_unused_result)) bool kr__task_run(kr__task *t);

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

/*
 * A task dump in progress (task/dump.c): text lines or JSON objects
 * gathered in a buffer while the scheduler holds its list locks, written
 * to `fd` by kr__dump_flush after.
 */
typedef struct kr__dump {
    int fd;
    int json;
    int count; /* tasks so far */
    int err;   /* 0, KR_ENOMEM or KR_EIO: the first failure */
    /* The runtime counts its tasks' polls (track_tasks): a tracked
     * task's record is shown. (The sampled tasks of a schedule-latency
     * histogram have a record too, with no polls counted in it.) */
    int track;
    uint64_t now;       /* kr__now_ns() when the dump began */
    uint64_t now_ticks; /* kr__ticks() then (util/ticks.h) */
    /* The scheduler's: the worker polling `t` right now, or -1. */
    int (*worker_of)(void *arg, const kr__task *t);
    void *arg;
    char *buf;
    size_t len, cap;
} kr__dump;

void kr__dump_init(kr__dump *d, int fd, int json, uint64_t now);
/* Appends `text` as it is (the JSON document's frame). */
void kr__dump_raw(kr__dump *d, const char *text);
/* Adds one task. Requires: t stays allocated (its list's lock is held). */
void kr__task_dump(kr__dump *d, kr__task *t);
/* Writes the buffer out and frees it. Returns 0, KR_ENOMEM or KR_EIO. */
int kr__dump_flush(kr__dump *d);

/* Describes a task for an error message (task/dump.c): `task 12 "name"
 * (future, spawned at file:line)`, as much as is known. Returns `buf`. */
const char *kr__task_describe(const kr__task *t, char *buf, size_t n);

/* The join handles' vtable (task/join.c), for telling a handle apart. */
extern const kr_future_vtable kr__join_vtable;
/* Makes `h` the handle of task `task` (join.c). */
void kr__join_init(kr_join_handle *h, void *task);
/* kr__join_init(h, task) for `h` already kr__join_init(h, NULL)'s: the
 * other fields are as they should be (a spawn's handle: core/runtime.h).
 * Requires: h is such an empty handle. */
static inline void kr__join_bind(kr_join_handle *h, kr__task *task) {
    KR__REQUIRE(h->base.vtable == &kr__join_vtable && h->task_ == NULL &&
                    h->err_ == KR_EAGAIN && h->done_ == 0,
                "a spawn's join handle %p was not made empty first", (void *)h);
    h->task_ = task;
}

#endif /* KR_TASK_TASK_H */
