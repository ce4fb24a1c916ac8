/*
 * core/context.h: what a thread knows about the runtime it is running.
 *
 * One thread-local record, set by a scheduler while the thread drives it
 * (block_on, a worker loop, a shutdown) and cleared after. Everything else
 * reads it: kr_spawn finds its runtime here, the task harness its cache and
 * budget. The initial-exec TLS model makes each access a single
 * %fs-relative load even in the shared library (the library must then be
 * loaded at program start or by a dlopen with spare static TLS, which glibc
 * reserves for this).
 */
#ifndef KR_CORE_CONTEXT_H
#define KR_CORE_CONTEXT_H

#include <stdint.h>

/* Forward declarations only: this file sits below every layer that reads it. */
struct kr_runtime;
struct kr__cache;
struct kr__task;
struct kr__handle;
union kr__timers;
struct kr_await_site;
struct kr__vclock;
struct kr_waker_vtable;
struct kr__io_ring;

/* The budget outside any task: unlimited. */
#define KR__BUDGET_UNLIMITED UINT32_MAX
/* Tokio's per-poll budget: 128 "felt good" on its workloads
 * (reference/tokio.md §2.8). */
#define KR__BUDGET_DEFAULT   128

typedef struct kr__ctx_t {
    struct kr_runtime *rt;   /* the runtime this thread drives, or NULL */
    struct kr__cache *cache; /* task cell cache this thread owns, or NULL */
    /* A second cache this thread owns for now, by holding its pool slot's
     * lock (task/cache_pool.h: the current-thread core holds slot 0 while
     * it holds the core), or NULL. Only frees use it: a cell of it freed
     * here goes back as the owner's, not through the remote stack. */
    struct kr__cache *held_cache;
    void *worker; /* scheduler-private per-thread state */
    struct kr__task
        *current;            /* the task being polled on this thread, or NULL */
    union kr__timers *wheel; /* sleeps polled here register on this wheel */
    struct kr__task *job;    /* the blocking job this pool thread runs */
    /* The runtime this thread entered (kr_runtime_enter, or a blocking
     * pool's thread): kr_spawn's runtime when `rt` is NULL. */
    struct kr__handle *entered;
    /* The runtime's pausable clock (core/vclock.h), or NULL: the time
     * layer reads the monotonic clock then. */
    struct kr__vclock *clock;
    /* The I/O ring this thread turns (io/reactor.c: a multi-thread
     * worker's own, on io_uring), or NULL: its registrations and
     * completion operations go there. */
    struct kr__io_ring *io_ring;
    uint32_t budget;     /* coop units left in the current poll */
    uint32_t self_woken; /* `current` woke itself during this poll */
    /* The await the last poll on this thread stopped at (NULL: none, or
     * the task completed): for the slow-poll report (sched/stats.c). */
    const struct kr_await_site *poll_site;
} kr__ctx_t;

extern __thread kr__ctx_t kr__ctx __attribute__((tls_model("initial-exec")));

/* The task layer's waker vtable (task/waker.c registers it at load time):
 * a waker with it and `current` as its data is the polled task's own, so
 * that a wake of it during the poll is a self-wake (task.h), which this
 * layer can recognise without a call (kr_yield_now, core/coop.c). */
extern const struct kr_waker_vtable *kr__self_wake_vtable;

#endif /* KR_CORE_CONTEXT_H */
