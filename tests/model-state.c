/*
 * tests/model-state.c: an exhaustive model check of the task state word.
 *
 * What runs. The real transitions of src/task/state.h, compiled against a
 * model of util/atomic.h in which every atomic operation on the word is one
 * scheduling point. Around them, two or three model threads replay what the
 * callers do (task/harness.c, task/join.c, task/waker.c): a poller that runs
 * the task (poll, self-wake, park, re-queue, complete, cancel, and at the
 * end the runtime's shutdown, with the task queued or not), waker holders
 * that wake by value, wake by reference or just drop their clone, a join
 * handle that reads the output (polled again spuriously or not), drops
 * itself (with or without polling first) or aborts, and an abort handle.
 *
 * How. A thread inside a transition is described by the results of the
 * atomic operations it has done so far in that call. To take its next step
 * the checker calls the transition again from the start, feeding it those
 * results (the transitions are pure functions of what they read), lets it
 * do one new operation on the simulated word, and stops it (longjmp) when
 * it reaches the operation after that, or lets it return. So a CAS loop's
 * load and its CAS are separate steps, and a failed CAS and its retry are
 * explored too. The global state (word, every thread's position and
 * replay log, and the ghost facts below) is hashed; a depth-first search
 * visits every reachable state once and counts the interleavings (paths
 * from the start to a final state) it stands for.
 *
 * Checked at every step: no access to the word after the cell was freed;
 * the cell freed only at refcount zero; the future polled only by the
 * holder of RUNNING and never after it was dropped; the future dropped at
 * most once; the join waker slot touched only by its owner (task.h), never
 * overwritten while holding a waker, and woken only while holding one; at
 * most one queue entry (one NOTIFIED reference); the id's high half in the
 * word left as the spawn wrote it, and the count never below zero; every
 * "Requires:" line of state.h (KR__REQUIRE, checked here whatever the
 * build).
 * Checked when everything is quiet, before the runtime's shutdown: no lost
 * wake (a wake, self-wake or abort after the last poll began, yet nothing
 * queued and the future still alive).
 * Checked at every final state: the reference count reached zero exactly
 * once and the cell was freed exactly once, the future dropped exactly
 * once, the output read at most once (and only after it was stored), no
 * waker left in the join slot, no thread stuck (a join handle waiting for
 * a wake that never comes).
 *
 * Not modelled: memory orderings (the model is sequentially consistent;
 * TSan and the stress tests cover orderings), spurious failures of weak
 * CAS, a second poller (the NOTIFIED reference is unique, which the model
 * checks), shutdown racing with wakers (the runtime's gate excludes it).
 *
 * KR_MODEL_BREAK=N (see state.h) compiles a deliberately broken transition;
 * the ctest cases model/state-broken-N pass only if the checker reports
 * the violation that break must cause (tests/CMakeLists.txt lists them). Exit status: 0 all states good, 1 a violation (the
 * trace leading to it is printed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the model's util/atomic.h and util/debug.h ------------------------ */

#define KR_UTIL_ATOMIC_H
#define KR_UTIL_DEBUG_H
#define KR__CACHELINE  64
#define KR__ALIGNED_CL __attribute__((aligned(KR__CACHELINE)))

enum { OP_LOAD, OP_ADD, OP_SUB, OP_AND, OP_OR, OP_XOR, OP_CAS };
static uint64_t m_op(int op, _Atomic uint64_t *p, uint64_t arg,
                     uint64_t *expected, const char *fn);
static void m_violation(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

#define kr__load_relaxed(p)         m_op(OP_LOAD, (p), 0, NULL, __func__)
#define kr__load_acquire(p)         m_op(OP_LOAD, (p), 0, NULL, __func__)
#define kr__fetch_add_relaxed(p, v) m_op(OP_ADD, (p), (v), NULL, __func__)
#define kr__fetch_add_acqrel(p, v)  m_op(OP_ADD, (p), (v), NULL, __func__)
#define kr__fetch_sub_acqrel(p, v)  m_op(OP_SUB, (p), (v), NULL, __func__)
#define kr__fetch_sub_release(p, v) m_op(OP_SUB, (p), (v), NULL, __func__)
#define kr__fetch_and_acqrel(p, v)  m_op(OP_AND, (p), (v), NULL, __func__)
#define kr__fetch_or_acqrel(p, v)   m_op(OP_OR, (p), (v), NULL, __func__)
#define kr__fetch_xor_acqrel(p, v)  m_op(OP_XOR, (p), (v), NULL, __func__)
#define kr__cas_acqrel(p, e, d)     (m_op(OP_CAS, (p), (d), (e), __func__) != 0)
#define kr__cas_weak_acqrel(p, e, d)                                           \
    (m_op(OP_CAS, (p), (d), (e), __func__) != 0)

#define KR__REQUIRE(cond, ...)                                                 \
    do {                                                                       \
        if (!(cond))                                                           \
            m_violation("requirement failed in %s: %s", __func__, #cond);      \
    } while (0)
#define KR__DEBUG_ONLY(...) __VA_ARGS__

#include "task/state.h"

/* ---- the world --------------------------------------------------------- */

enum { K_POLLER, K_WAKER, K_JOIN, K_ABORT };
enum { W_VAL, W_REF, W_DROP, W_NMODES };
enum { J_READ, J_POLL_DROP, J_DROP, J_ABORT_READ, J_ABORT_DROP, J_NMODES };

#define MAXTH  3
#define MAXLOG 16

/* One operation's result: the value read (RMW: the value before; CAS: the
 * value seen), and for a CAS whether it succeeded. */
typedef struct {
    uint8_t ok;
    uint8_t pad;
    uint16_t v;
} m_entry;

typedef struct {
    uint16_t kind, mode, pc, ret; /* ret: where complete() returns to */
    uint16_t refs;                /* complete()'s reference count */
    uint16_t val;                 /* a state word the program keeps (packed) */
    uint16_t choice;              /* the poll's outcome, for the steps after */
    uint16_t log_n;
    m_entry log[MAXLOG];
} m_thread;

typedef struct {
    uint16_t word; /* packed (m_pack) */
    uint16_t deallocs, fut_drops, out_stored, out_reads, polls;
    uint16_t wake_pending; /* a wake no poll has started after yet */
    uint16_t self_wakes, on_list, queued, queued_held, aborted;
    uint16_t zeros;         /* times the reference count reached zero */
    uint16_t jw_slot;       /* the join waker slot holds a waker */
    uint16_t join_notified; /* the join handle's own task was woken */
    uint16_t armed;         /* bit i: thread i got its waker clone */
    uint16_t n;
    m_thread th[MAXTH];
} m_world;

/* The step being taken. */
static m_world *W;
static m_thread *T;
static int m_alt;       /* the alternative the explorer chose */
static int m_stepped;   /* this step did its one operation */
static int m_pos;       /* replay position in T->log */
static jmp_buf m_jb;    /* where a step stops at its second operation */
static kr__task m_task; /* only its state word is used */

/* ---- the model's atomics ---------------------------------------------- */

/* The world keeps the word packed in 16 bits, the flags then the count.
 * The real word (task.h) also holds the id's high half between them: a
 * fixed pattern here, with bits set and clear, that every operation must
 * leave as it found it. */
#define M_FLAGS 0x3fu
#define M_ID_HI (((uint64_t)0xa5c3f00fu << KR__ID_SHIFT) & KR__ID_HI)
static uint64_t m_unpack(uint16_t w) {
    return (w & M_FLAGS) | M_ID_HI | (uint64_t)(w >> 6) << KR__REF_SHIFT;
}
static uint16_t m_pack(uint64_t s, const char *fn) {
    if ((s & KR__ID_HI) != M_ID_HI)
        m_violation("%s: the id's high half changed (word %#llx)", fn,
                    (unsigned long long)s);
    if (kr__refs(s) > 0x3ff)
        m_violation("%s: the reference count went below zero (word %#llx)", fn,
                    (unsigned long long)s);
    return (uint16_t)((s & M_FLAGS) | kr__refs(s) << 6);
}
static unsigned m_refs(uint16_t w) { return w >> 6; }

static uint64_t m_op(int op, _Atomic uint64_t *p, uint64_t arg,
                     uint64_t *expected, const char *fn) {
    if (p != &m_task.state)
        m_violation("%s: an atomic outside the state word", fn);
    if (m_pos < T->log_n) { /* replay */
        m_entry e = T->log[m_pos++];
        if (op == OP_CAS) {
            if (!e.ok)
                *expected = m_unpack(e.v);
            return e.ok;
        }
        return m_unpack(e.v);
    }
    if (m_stepped)
        longjmp(m_jb, 1); /* the next step starts here */
    m_stepped = 1;
    if (W->deallocs)
        m_violation("%s: the state word used after the cell was freed", fn);
    uint64_t cur = m_unpack(W->word), next = cur, r = cur;
    int ok = 0;
    switch (op) {
    case OP_LOAD:
        break;
    case OP_ADD:
        next = cur + arg;
        break;
    case OP_SUB:
        next = cur - arg;
        break;
    case OP_AND:
        next = cur & arg;
        break;
    case OP_OR:
        next = cur | arg;
        break;
    case OP_XOR:
        next = cur ^ arg;
        break;
    case OP_CAS:
        ok = cur == *expected;
        if (ok)
            next = arg;
        else
            *expected = cur;
        r = ok;
        break;
    }
    uint16_t packed = m_pack(next, fn);
    if (kr__refs(cur) != 0 && kr__refs(next) == 0 && W->zeros++)
        m_violation("%s: the reference count reached zero a second time", fn);
    if (T->log_n == MAXLOG)
        m_violation("%s: more than %d operations in one call", fn, MAXLOG);
    T->log[T->log_n].v = W->word;
    T->log[T->log_n].ok = (uint16_t)ok;
    T->log_n++;
    m_pos++;
    W->word = packed;
    atomic_store_explicit(&m_task.state, next, memory_order_relaxed);
    return r;
}

/* A call of a state.h transition (or one atomic) as part of a step. Each
 * program case starts with one CALL or POINT, so a step that stops there
 * resumes at the same case. */
#define CALL(stmt)                                                             \
    do {                                                                       \
        m_pos = 0;                                                             \
        if (setjmp(m_jb))                                                      \
            return;                                                            \
        atomic_store_explicit(&m_task.state, m_unpack(W->word),                \
                              memory_order_relaxed);                           \
        stmt;                                                                  \
        T->log_n = 0;                                                          \
        memset(T->log, 0, sizeof T->log);                                      \
    } while (0)
/* A scheduling point without an atomic: an access to the future, the output
 * or the join waker slot, or a decision made on what others did. */
#define POINT()                                                                \
    do {                                                                       \
        if (m_stepped)                                                         \
            return;                                                            \
        m_stepped = 1;                                                         \
    } while (0)

static void dealloc(void) {
    if (W->deallocs)
        m_violation("the cell was freed twice");
    if (m_refs(W->word) != 0)
        m_violation("the cell was freed with %u references left",
                    m_refs(W->word));
    W->deallocs = 1;
}

static void push(int held) {
    if (W->queued)
        m_violation("queued twice: two NOTIFIED references");
    W->queued = 1;
    W->queued_held = (uint16_t)held;
}

static void drop_future(void) {
    if (W->fut_drops)
        m_violation("the future was dropped twice");
    if (!(W->word & KR__RUNNING))
        m_violation("the future was dropped without RUNNING (word %#x)",
                    W->word);
    W->fut_drops = 1;
}

/* The join waker slot: the runtime may touch it while JOIN_WAKER is set,
 * or after completion once the handle is gone; the handle while it is
 * clear (task.h, "Who touches what"). */
static void slot_access(int runtime, const char *what) {
    uint16_t w = W->word;
    bool ok = runtime ? (w & KR__JOIN_WAKER) ||
                            ((w & KR__COMPLETE) && !(w & KR__JOIN_INTEREST))
                      : !(w & KR__JOIN_WAKER);
    if (!ok)
        m_violation("the join waker slot %s by the %s, who does not own it "
                    "(word %#x)",
                    what, runtime ? "runtime" : "join handle", w);
}

/* ---- the poller (harness.c: kr__task_run, complete, shutdown) ---------- */

enum {
    P_IDLE,
    P_HELD_LOAD,
    P_TO_RUNNING,
    P_POLL,
    P_CLONE,
    P_AFTER_POLL,
    P_TO_IDLE,
    P_CANCEL,
    P_COMPLETE,
    P_TO_COMPLETE,
    P_JW_WAKE,
    P_JW_UNSET,
    P_JW_RESET,
    P_TERMINAL,
    P_SHUT_TO,
    P_SHUT_DROP,
    P_DRAIN,
    P_DRAIN_DROP,
    P_DONE
};
/* Poll outcomes (the explorer tries each). */
enum { POLL_PENDING, POLL_READY, POLL_SELF_WAKE };

static int others_armed_pending(void) {
    for (int i = 0; i < W->n; i++)
        if (W->th[i].kind == K_WAKER && !(W->armed & (1u << i)))
            return i;
    return -1;
}

static void poller_step(void) {
    for (;;) {
        switch (T->pc) {
        case P_IDLE: /* alternative 1: shut down with the task still queued */
            POINT();
            if (W->queued && m_alt == 0) {
                W->queued = 0;
                T->pc = W->queued_held ? P_HELD_LOAD : P_TO_RUNNING;
                W->queued_held = 0;
                break;
            }
            /* Nobody else can move: quiet. With nothing queued, every
             * wake must have been seen by a poll. */
            if (!W->queued && W->wake_pending && !W->fut_drops)
                m_violation("lost wake: woken after the last poll began, "
                            "yet idle and not queued (word %#x)",
                            W->word);
            if (!W->queued && W->aborted && !W->fut_drops)
                m_violation("lost abort: aborted, yet idle and not queued "
                            "(word %#x)",
                            W->word);
            /* The runtime shuts down (drain in current_thread.c): the
             * task leaves the owned list (kr__task_shutdown gets the OWNED
             * reference), then the run queue is emptied. */
            if (W->on_list) {
                W->on_list = 0;
                T->pc = P_SHUT_TO;
            } else {
                T->pc = P_DRAIN;
            }
            break;
        case P_HELD_LOAD: {
            uint64_t s;
            CALL(s = kr__load_acquire(&m_task.state));
            T->pc = (s & KR__CANCELLED) ? P_CANCEL : P_POLL;
            T->ret = P_IDLE;
            break;
        }
        case P_TO_RUNNING: {
            kr__to_running r;
            CALL(r = kr__state_to_running(&m_task));
            T->ret = P_IDLE;
            switch (r) {
            case KR__RUN_SUCCESS:
                T->pc = P_POLL;
                break;
            case KR__RUN_CANCELLED:
                T->pc = P_CANCEL;
                break;
            case KR__RUN_FAILED:
                T->pc = P_IDLE;
                break;
            case KR__RUN_DEALLOC:
                dealloc();
                T->pc = P_IDLE;
                break;
            }
            break;
        }
        case P_POLL:
            POINT();
            if (!(W->word & KR__RUNNING))
                m_violation("polled without RUNNING (word %#x)", W->word);
            if (W->fut_drops)
                m_violation("polled after the future was dropped");
            W->wake_pending = 0; /* this poll sees every earlier wake */
            T->choice = (uint16_t)m_alt;
            /* The first poll hands a clone of its waker to each waker
             * thread (kr_waker_clone: a reference each). */
            T->pc = W->polls++ == 0 && others_armed_pending() >= 0
                        ? P_CLONE
                        : P_AFTER_POLL;
            break;
        case P_CLONE:
            CALL(kr__ref_inc(&m_task));
            W->armed |= (uint16_t)(1u << others_armed_pending());
            if (others_armed_pending() < 0)
                T->pc = P_AFTER_POLL;
            break;
        case P_AFTER_POLL:
            POINT();
            if (T->choice == POLL_READY) {
                drop_future(); /* as in Rust, dropped at once */
                W->out_stored = 1;
                T->pc = P_COMPLETE;
            } else if (T->choice == POLL_SELF_WAKE) {
                /* Woke itself during the poll: re-queued still RUNNING
                 * ("Self-wakes" in task.h). */
                W->self_wakes++;
                W->wake_pending = 1;
                push(1);
                T->pc = P_IDLE;
            } else {
                T->pc = P_TO_IDLE;
            }
            break;
        case P_TO_IDLE: {
            kr__to_idle r;
            CALL(r = kr__state_to_idle(&m_task));
            switch (r) {
            case KR__IDLE_OK:
                T->pc = P_IDLE;
                break;
            case KR__IDLE_OK_DEALLOC:
                dealloc();
                T->pc = P_IDLE;
                break;
            case KR__IDLE_NOTIFIED:
                push(0);
                T->pc = P_IDLE;
                break;
            case KR__IDLE_CANCELLED:
                T->pc = P_CANCEL;
                break;
            }
            break;
        }
        case P_CANCEL: /* cancel_task: drop the future, zero the output */
            POINT();
            drop_future();
            W->out_stored = 1;
            T->pc = P_COMPLETE;
            break;
        case P_COMPLETE: { /* complete(): the fast path first */
            bool ok, dealloc_it = false;
            T->refs = W->on_list ? 2 : 1; /* the same on every replay */
            CALL(ok = kr__state_complete_fast(&m_task, T->refs, &dealloc_it));
            W->on_list = 0; /* release(): off the owned list */
            if (ok) {
                if (dealloc_it)
                    dealloc();
                T->pc = T->ret;
            } else {
                T->pc = P_TO_COMPLETE;
            }
            break;
        }
        case P_TO_COMPLETE: {
            uint64_t prev;
            CALL(prev = kr__state_to_complete(&m_task));
            T->pc = (prev & KR__JOIN_INTEREST) && (prev & KR__JOIN_WAKER)
                        ? P_JW_WAKE
                        : P_TERMINAL;
            break;
        }
        case P_JW_WAKE:
            POINT();
            slot_access(1, "woken");
            if (!W->jw_slot)
                m_violation("the join waker woken while the slot is empty");
            W->join_notified = 1;
            T->pc = P_JW_UNSET;
            break;
        case P_JW_UNSET: {
            uint64_t after;
            CALL(after = kr__state_unset_waker_after_complete(&m_task));
            T->pc = !(after & KR__JOIN_INTEREST) ? P_JW_RESET : P_TERMINAL;
            break;
        }
        case P_JW_RESET:
            POINT();
            slot_access(1, "emptied");
            W->jw_slot = 0;
            T->pc = P_TERMINAL;
            break;
        case P_TERMINAL: {
            bool d;
            CALL(d = kr__state_to_terminal(&m_task, T->refs));
            if (d)
                dealloc();
            T->pc = T->ret;
            break;
        }
        case P_SHUT_TO: {
            bool idle;
            CALL(idle = kr__state_to_shutdown(&m_task));
            T->ret = P_DRAIN;
            T->pc = idle ? P_CANCEL : P_SHUT_DROP;
            break;
        }
        case P_SHUT_DROP: {
            bool d;
            CALL(d = kr__ref_dec(&m_task));
            if (d)
                dealloc();
            T->pc = P_DRAIN;
            break;
        }
        case P_DRAIN: /* kr__task_drop_queued */
            POINT();
            if (!W->queued) {
                T->pc = P_DONE;
                break;
            }
            W->queued = 0;
            T->ret = P_DONE;
            /* A held task: the queue holds RUNNING; cancel it. */
            T->pc = W->queued_held ? P_CANCEL : P_DRAIN_DROP;
            W->queued_held = 0;
            break;
        case P_DRAIN_DROP: {
            bool d;
            CALL(d = kr__ref_dec(&m_task));
            if (d)
                dealloc();
            T->pc = P_DONE;
            break;
        }
        case P_DONE:
            return;
        }
    }
}

/* ---- a waker holder (waker.c) ------------------------------------------ */

enum { WK_WAIT, WK_WAKE_VAL, WK_WAKE_REF, WK_DROP, WK_DONE };

static void waker_step(void) {
    for (;;) {
        switch (T->pc) {
        case WK_WAIT: /* enabled once the first poll gave us a clone */
            T->pc = T->mode == W_VAL   ? WK_WAKE_VAL
                    : T->mode == W_REF ? WK_WAKE_REF
                                       : WK_DROP;
            break;
        case WK_WAKE_VAL: {
            kr__to_notified r;
            CALL(r = kr__state_notified_by_val(&m_task));
            W->wake_pending = 1;
            if (r == KR__NOTIFY_SUBMIT)
                push(0);
            else if (r == KR__NOTIFY_DEALLOC)
                dealloc();
            T->pc = WK_DONE;
            break;
        }
        case WK_WAKE_REF: {
            kr__to_notified r;
            CALL(r = kr__state_notified_by_ref(&m_task));
            W->wake_pending = 1;
            if (r == KR__NOTIFY_SUBMIT)
                push(0);
            else if (r == KR__NOTIFY_DEALLOC)
                m_violation("wake by reference freed the cell");
            T->pc = WK_DROP;
            break;
        }
        case WK_DROP: {
            bool d;
            CALL(d = kr__ref_dec(&m_task));
            if (d)
                dealloc();
            T->pc = WK_DONE;
            break;
        }
        case WK_DONE:
            return;
        }
    }
}

/* ---- the join handle (join.c) and an abort handle ---------------------- */

enum {
    JH_START,
    JH_ABORT,
    JH_LOAD,
    JH_REG,
    JH_UNSET,
    JH_UNSET_RESET,
    JH_CLONE,
    JH_SET,
    JH_SET_FAILED,
    JH_PENDING,
    JH_WAIT,
    JH_READ,
    JH_DROP_COMPLETE,
    JH_AFTER_READ,
    JH_RELEASE,
    JH_RELEASE_RESET,
    JH_RELEASE_DROP,
    JH_DONE
};

static void join_step(void) {
    for (;;) {
        switch (T->pc) {
        case JH_START:
            T->pc = (T->mode == J_ABORT_READ || T->mode == J_ABORT_DROP)
                        ? JH_ABORT
                    : T->mode == J_DROP ? JH_RELEASE
                                        : JH_LOAD;
            break;
        case JH_ABORT: { /* kr_join_handle_abort, kr_abort_handle_abort */
            bool submit;
            CALL(submit = kr__state_notified_and_cancel(&m_task));
            W->aborted = 1;
            if (submit)
                push(0);
            T->pc = T->kind == K_ABORT        ? JH_RELEASE_DROP
                    : T->mode == J_ABORT_DROP ? JH_RELEASE
                                              : JH_LOAD;
            break;
        }
        case JH_LOAD: { /* join_poll */
            uint64_t s;
            CALL(s = kr__load_acquire(&m_task.state));
            T->val = m_pack(s, "join_poll");
            T->pc = (s & KR__COMPLETE) ? JH_READ : JH_REG;
            break;
        }
        case JH_REG: /* register_waker; alternative 1: a new waker */
            POINT();
            if (T->val & KR__JOIN_WAKER) {
                /* will_wake reads the slot: safe while we hold
                 * JOIN_INTEREST, whoever owns it (join.c). */
                if (!W->jw_slot)
                    m_violation("JOIN_WAKER set with an empty slot");
                T->pc = m_alt == 0 ? JH_PENDING : JH_UNSET;
            } else {
                T->pc = JH_CLONE;
            }
            break;
        case JH_UNSET: {
            bool ok;
            CALL(ok = kr__state_unset_join_waker(&m_task));
            T->pc = ok ? JH_UNSET_RESET : JH_READ;
            break;
        }
        case JH_UNSET_RESET:
            POINT();
            slot_access(0, "emptied");
            W->jw_slot = 0;
            T->pc = JH_CLONE;
            break;
        case JH_CLONE:
            POINT();
            slot_access(0, "written");
            if (W->jw_slot)
                m_violation("the join waker slot overwritten: a waker leaks");
            W->jw_slot = 1;
            T->pc = JH_SET;
            break;
        case JH_SET: {
            bool ok;
            CALL(ok = kr__state_set_join_waker(&m_task));
            T->pc = ok ? JH_PENDING : JH_SET_FAILED;
            break;
        }
        case JH_SET_FAILED:
            POINT();
            slot_access(0, "emptied");
            W->jw_slot = 0;
            T->pc = JH_READ;
            break;
        case JH_PENDING: /* alternative 1: polled again before any wake */
            POINT();
            if (m_alt == 1) {
                T->choice = 1; /* once per run */
                T->pc = JH_LOAD;
            } else {
                T->pc = T->mode == J_POLL_DROP ? JH_RELEASE : JH_WAIT;
            }
            break;
        case JH_WAIT: /* enabled once the runtime woke the join waker */
            POINT();
            W->join_notified = 0;
            T->pc = JH_LOAD;
            break;
        case JH_READ:
            POINT();
            if (!W->out_stored)
                m_violation("the output read before it was stored");
            if (W->out_reads)
                m_violation("the output read twice");
            W->out_reads = 1;
            T->pc = JH_DROP_COMPLETE;
            break;
        case JH_DROP_COMPLETE: {
            uint64_t prev;
            CALL(prev = kr__state_drop_join_complete(&m_task));
            T->val = m_pack(prev, "drop_join_complete");
            T->pc = JH_AFTER_READ;
            break;
        }
        case JH_AFTER_READ:
            POINT();
            if (!(T->val & KR__JOIN_WAKER)) {
                slot_access(0, "emptied");
                W->jw_slot = 0;
            }
            if (m_refs(T->val) == 1)
                dealloc();
            T->pc = JH_DONE;
            break;
        case JH_RELEASE: { /* release_task */
            uint64_t after;
            CALL(after = kr__state_drop_join(&m_task));
            T->val = m_pack(after, "drop_join");
            T->pc = JH_RELEASE_RESET;
            break;
        }
        case JH_RELEASE_RESET:
            POINT();
            if (!(T->val & KR__JOIN_WAKER)) {
                slot_access(0, "emptied");
                W->jw_slot = 0;
            }
            T->pc = JH_RELEASE_DROP;
            break;
        case JH_RELEASE_DROP: {
            bool d;
            CALL(d = kr__ref_dec(&m_task));
            if (d)
                dealloc();
            T->pc = JH_DONE;
            break;
        }
        case JH_DONE:
            return;
        }
    }
}

/* ---- the explorer ------------------------------------------------------ */

static int done(const m_thread *t) {
    switch (t->kind) {
    case K_POLLER:
        return t->pc == P_DONE;
    case K_WAKER:
        return t->pc == WK_DONE;
    default:
        return t->pc == JH_DONE;
    }
}

static int enabled_local(const m_world *w, int i) {
    const m_thread *t = &w->th[i];
    if (done(t))
        return 0;
    if (t->kind == K_WAKER && t->pc == WK_WAIT)
        return (w->armed >> i) & 1;
    if ((t->kind == K_JOIN || t->kind == K_ABORT) && t->pc == JH_WAIT)
        return w->join_notified;
    return 1;
}

static int enabled(const m_world *w, int i) {
    const m_thread *t = &w->th[i];
    if (t->kind == K_POLLER && t->pc == P_IDLE && !w->queued) {
        /* Quiet only when nobody else can move. */
        for (int j = 0; j < w->n; j++)
            if (j != i && enabled_local(w, j))
                return 0;
        return 1;
    }
    return enabled_local(w, i);
}

static int alternatives(const m_world *w, int i) {
    const m_thread *t = &w->th[i];
    if (t->kind == K_POLLER && t->pc == P_POLL)
        return w->self_wakes ? 2 : 3; /* at most one self-wake per run */
    if (t->kind == K_POLLER && t->pc == P_IDLE && w->queued) {
        /* Run it, or (when nobody else can move) shut down instead. */
        for (int j = 0; j < w->n; j++)
            if (j != i && enabled_local(w, j))
                return 1;
        return 2;
    }
    if (t->kind == K_JOIN && t->pc == JH_REG && (t->val & KR__JOIN_WAKER))
        return 2;
    if (t->kind == K_JOIN && t->pc == JH_PENDING && t->mode != J_POLL_DROP &&
        !t->choice)
        return 2; /* a spurious poll (a select re-polling the handle) */
    return 1;
}

/* The trace of the current path, printed with a violation. */
typedef struct {
    int th, kind, alt, pc;
    uint16_t before;
} m_step_rec;
static m_step_rec m_trace[4096];
static int m_depth;
static const char *m_scenario;

static const char *kind_name(int k) {
    static const char *n[] = {"poller", "waker", "join", "abort"};
    return n[k];
}

static const char *pc_name(int kind, int pc) {
    static const char *p[] = {
        "idle",       "held_load", "to_running", "poll",     "clone",
        "after_poll", "to_idle",   "cancel",     "complete", "to_complete",
        "jw_wake",    "jw_unset",  "jw_reset",   "terminal", "shut_to",
        "shut_drop",  "drain",     "drain_drop", "done"};
    static const char *w[] = {"wait", "wake_val", "wake_ref", "drop", "done"};
    static const char *j[] = {"start",         "abort",        "load",
                              "reg",           "unset",        "unset_reset",
                              "clone",         "set",          "set_failed",
                              "pending",       "wait",         "read",
                              "drop_complete", "after_read",   "release",
                              "release_reset", "release_drop", "done"};
    return kind == K_POLLER ? p[pc] : kind == K_WAKER ? w[pc] : j[pc];
}

static void print_word(uint16_t s) {
    static const char *bits[] = {"RUNNING",       "COMPLETE",   "NOTIFIED",
                                 "JOIN_INTEREST", "JOIN_WAKER", "CANCELLED"};
    printf("refs %u", m_refs(s));
    for (int b = 0; b < 6; b++)
        if (s & (1u << b))
            printf(" %s", bits[b]);
}

static void m_violation(const char *fmt, ...) {
    printf("model: VIOLATION in scenario %s: ", m_scenario);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\nmodel: the steps that led to it (thread: where it was, its "
           "choice; the word before the step):\n");
    for (int i = 0; i <= m_depth && i < 4096; i++) {
        const m_step_rec *r = &m_trace[i];
        if (r->th < 0)
            printf("  %3d  (final state)  ", i);
        else
            printf("  %3d  %d %-6s %-13s alt %d  ", i, r->th,
                   kind_name(r->kind), pc_name(r->kind, r->pc), r->alt);
        print_word(r->before);
        putchar('\n');
    }
    printf("  now: ");
    print_word(W->word);
    putchar('\n');
    fflush(stdout);
    exit(1);
}

/* Visited states, by a 64-bit hash of the world (hash compaction, as in
 * SPIN): with about a million states the chance that two of them collide,
 * and one goes unexplored, is below 1e-7. Open addressing; 0 is empty. */
typedef struct {
    uint64_t h;
    double paths; /* interleavings from here to a final state */
} m_node;
static m_node *m_table;
static size_t m_cap, m_states;
static uint64_t m_edges, m_finals;

static uint64_t hash(const m_world *w) {
    const unsigned char *p = (const unsigned char *)w;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof *w; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    /* splitmix64's finaliser spreads FNV's weak high bits. */
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h ? h : 1;
}

static m_node *slot_of(uint64_t h) {
    size_t i = h & (m_cap - 1);
    while (m_table[i].h && m_table[i].h != h)
        i = (i + 1) & (m_cap - 1);
    return &m_table[i];
}

static void table_grow(void) {
    m_node *old = m_table;
    size_t oldcap = m_cap;
    m_cap = m_cap ? m_cap * 2 : 1 << 16;
    m_table = calloc(m_cap, sizeof *m_table);
    if (m_table == NULL)
        abort();
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].h)
            *slot_of(old[i].h) = old[i];
    free(old);
}

static void final_checks(const m_world *w) {
    for (int i = 0; i < w->n; i++) {
        const m_thread *t = &w->th[i];
        if (done(t))
            continue;
        if (t->kind == K_WAKER && t->pc == WK_WAIT && w->polls == 0)
            continue; /* cancelled before its first poll: never armed */
        m_violation("thread %d (%s) is stuck at pc %d%s", i, kind_name(t->kind),
                    t->pc, t->pc == JH_WAIT ? ": a lost join wake" : "");
    }
    if (!w->deallocs)
        m_violation("the cell was never freed: %llu references left "
                    "(word %#x)",
                    (unsigned long long)m_refs(w->word), w->word);
    if (w->zeros != 1)
        m_violation("the reference count reached zero %u times", w->zeros);
    if (w->fut_drops != 1)
        m_violation("the future was never dropped");
    if (w->out_reads > 1)
        m_violation("the output was read twice");
    if (w->jw_slot)
        m_violation("a waker was left in the join waker slot");
    if (w->queued)
        m_violation("a queue entry outlived the task");
}

static double explore(const m_world *w) {
    uint64_t h = hash(w);
    m_node *seen = slot_of(h);
    if (seen->h)
        return seen->paths;
    if (m_depth >= 4095)
        m_violation("a path longer than 4095 steps");

    double paths = 0;
    int any = 0;
    for (int i = 0; i < w->n; i++) {
        if (!enabled(w, i))
            continue;
        int alts = alternatives(w, i);
        for (int a = 0; a < alts; a++) {
            m_world next;
            memcpy(&next, w, sizeof next);
            W = &next;
            T = &next.th[i];
            m_alt = a;
            m_stepped = 0;
            m_trace[m_depth] = (m_step_rec){i, T->kind, a, T->pc, w->word};
            switch (T->kind) {
            case K_POLLER:
                poller_step();
                break;
            case K_WAKER:
                waker_step();
                break;
            default:
                join_step();
                break;
            }
            if (!m_stepped)
                m_violation("thread %d took a step that did nothing", i);
            any = 1;
            m_edges++;
            m_depth++;
            paths += explore(&next);
            m_depth--;
        }
    }
    if (!any) {
        m_trace[m_depth] = (m_step_rec){-1, 0, 0, 0, w->word};
        W = (m_world *)w;
        final_checks(w);
        m_finals++;
        paths = 1;
    }
    /* Insert after the children (the table may have grown meanwhile). */
    if (m_states * 2 >= m_cap)
        table_grow();
    m_node *n = slot_of(h);
    n->h = h;
    n->paths = paths;
    m_states++;
    return paths;
}

/* ---- scenarios --------------------------------------------------------- */

static void add_thread(m_world *w, int kind, int mode) {
    m_thread *t = &w->th[w->n++];
    t->kind = (uint16_t)kind;
    t->mode = (uint16_t)mode;
    t->pc = kind == K_POLLER  ? P_IDLE
            : kind == K_WAKER ? WK_WAIT
            : kind == K_ABORT ? JH_ABORT
                              : JH_START;
}

/* A spawned task, queued (the NOTIFIED reference is the queue's), on the
 * owned list, and the threads given. */
static double run(const char *name, int k1, int m1, int k2, int m2) {
    m_world w;
    memset(&w, 0, sizeof w);
    int join = k1 == K_JOIN || k2 == K_JOIN;
    uint64_t s = KR__INITIAL_STATE(join);
    if (k1 == K_ABORT || k2 == K_ABORT)
        s += KR__REF_ONE; /* the abort handle's reference */
    W = &w;               /* m_pack may report */
    w.word = m_pack(s | M_ID_HI, "spawn");
    w.queued = 1;
    w.on_list = 1;
    add_thread(&w, K_POLLER, 0);
    if (k1 >= 0)
        add_thread(&w, k1, m1);
    if (k2 >= 0)
        add_thread(&w, k2, m2);
    m_scenario = name;
    m_depth = 0;
    if (m_cap == 0)
        table_grow();
    return explore(&w);
}

int main(void) {
    static const char *wm[] = {"wake", "wake_by_ref+drop", "drop"};
    static const char *jm[] = {"read", "poll+drop", "drop", "abort+read",
                               "abort+drop"};
    char name[128];
    double paths = 0;
    int scenarios = 0;
    for (int a = 0; a < W_NMODES; a++) {
        snprintf(name, sizeof name, "poller + waker(%s)", wm[a]);
        paths += run(name, K_WAKER, a, -1, 0);
        scenarios++;
        for (int b = a; b < W_NMODES; b++) {
            snprintf(name, sizeof name, "poller + waker(%s) + waker(%s)", wm[a],
                     wm[b]);
            paths += run(name, K_WAKER, a, K_WAKER, b);
            scenarios++;
        }
    }
    for (int j = 0; j < J_NMODES; j++) {
        snprintf(name, sizeof name, "poller + join(%s)", jm[j]);
        paths += run(name, K_JOIN, j, -1, 0);
        scenarios++;
        for (int a = 0; a < W_NMODES; a++) {
            snprintf(name, sizeof name, "poller + join(%s) + waker(%s)", jm[j],
                     wm[a]);
            paths += run(name, K_JOIN, j, K_WAKER, a);
            scenarios++;
        }
        snprintf(name, sizeof name, "poller + join(%s) + abort handle", jm[j]);
        paths += run(name, K_JOIN, j, K_ABORT, 0);
        scenarios++;
    }
    printf("model: %d scenarios, %zu states, %llu transitions, %llu final "
           "states, %.4g interleavings: every one good\n",
           scenarios, m_states, (unsigned long long)m_edges,
           (unsigned long long)m_finals, paths);
    free(m_table);
    return 0;
}
