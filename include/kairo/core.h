/*
 * kairo/core.h: the core contract. Poll results, wakers, the poll context and
 * the future base. Everything else in kairo is built on these few types, which
 * are the C spelling of Rust's `Poll`, `RawWaker`/`Waker`, `Context` and
 * `Future`.
 *
 * These structs are part of the ABI, and so are the few others kairo exposes:
 * the future structs of the other headers (a sleep, a join handle, a read),
 * exposed so a parent future can embed them as Rust lays a child out inside
 * its parent, with private fields (a trailing underscore), and the plain
 * value types (kr_instant, kr_sockaddr, kr_runtime_config, ...). Everything
 * else (runtimes, sockets, channels) is opaque.
 */
#ifndef KAIRO_CORE_H
#define KAIRO_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(KR_BUILDING_SHARED) || defined(KR_BUILDING)
#define KR_API __attribute__((visibility("default")))
#else
#define KR_API
#endif

#define KR_NODISCARD __attribute__((warn_unused_result))

/* ------------------------------------------------------------------------ */
/* Poll result                                                              */
/* ------------------------------------------------------------------------ */

typedef enum kr_poll {
    KR_PENDING = 0, /* not done; the context's waker will be woken */
    KR_READY = 1    /* done; the output has been written */
} kr_poll;

/* ------------------------------------------------------------------------ */
/* Wakers                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct kr_waker kr_waker;

/*
 * The four operations of a waker, each taking the waker's data pointer.
 *
 * Ownership: a kr_waker value *is* one reference to whatever `data` names.
 *   clone        returns a new waker holding a new reference; the caller keeps
 *                its own.
 *   wake         wakes the task and consumes the caller's reference: after it
 *                returns the waker must not be used, nor dropped.
 *   wake_by_ref  wakes the task; the caller keeps its reference.
 *   drop         releases the caller's reference without waking.
 * Every clone is balanced by exactly one wake or one drop.
 *
 * Threads: every slot may be called from any thread, at any time, unless the
 * maker of a waker documents otherwise. kairo's own wakers (task wakers,
 * block_on wakers, the noop waker) are all thread-safe.
 */
typedef struct kr_waker_vtable {
    kr_waker (*clone)(const void *data);
    void (*wake)(const void *data);
    void (*wake_by_ref)(const void *data);
    void (*drop)(const void *data);
} kr_waker_vtable;

/* Two words, copied by value. A waker whose vtable is NULL is "no waker". */
struct kr_waker {
    const void *data;
    const kr_waker_vtable *vtable;
};

/* Returns a new reference to the same task. */
static inline kr_waker kr_waker_clone(const kr_waker *w) {
    return w->vtable->clone(w->data);
}

/* Wakes the task and consumes `w`. */
static inline void kr_waker_wake(kr_waker w) { w.vtable->wake(w.data); }

/* Wakes the task; `w` stays valid and owned by the caller. */
static inline void kr_waker_wake_by_ref(const kr_waker *w) {
    w->vtable->wake_by_ref(w->data);
}

/* Releases `w` without waking. */
static inline void kr_waker_drop(kr_waker w) { w.vtable->drop(w.data); }

/*
 * True if waking `a` would wake the same task as waking `b`: both have the
 * same data pointer and vtable. A future that stores a waker uses it to skip
 * a clone when it is polled again by the same task.
 */
static inline bool kr_waker_will_wake(const kr_waker *a, const kr_waker *b) {
    return a->data == b->data && a->vtable == b->vtable;
}

/* A waker that does nothing; cloning and dropping it are free. */
KR_API kr_waker kr_waker_noop(void);

/*
 * A stored-waker slot, as futures keep them. `slot` holds either no waker
 * (vtable NULL) or one owned reference. Replaces it with a clone of `w`
 * unless it already wakes the same task (then nothing is done: no refcount
 * traffic on repeated polls).
 */
static inline void kr_waker_set(kr_waker *slot, const kr_waker *w) {
    if (slot->vtable != NULL) {
        if (kr_waker_will_wake(slot, w))
            return;
        kr_waker_drop(*slot);
    }
    *slot = kr_waker_clone(w);
}

/* Takes the waker out of `slot` (leaving "no waker") and wakes it, if any. */
static inline void kr_waker_take_wake(kr_waker *slot) {
    kr_waker w = *slot;
    slot->vtable = NULL;
    slot->data = NULL;
    if (w.vtable != NULL)
        kr_waker_wake(w);
}

/* Drops the waker in `slot`, if any, leaving "no waker". */
static inline void kr_waker_reset(kr_waker *slot) {
    kr_waker w = *slot;
    slot->vtable = NULL;
    slot->data = NULL;
    if (w.vtable != NULL)
        kr_waker_drop(w);
}

/* ------------------------------------------------------------------------ */
/* Poll context                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Where a task is suspended. The async/await macros keep one static site per
 * await expression and store its address into the context before polling the
 * awaited future, so after a PENDING poll the task's slot names the innermost
 * await that is waiting. Task dumps print it.
 */
typedef struct kr_await_site {
    const char *file;
    const char *func;
    int line;
} kr_await_site;

/*
 * What a poll gets besides the future: the waker of the task being polled,
 * and the task's await-site slot. A context is only valid during the poll it
 * was passed to; the waker it carries is *borrowed* (clone it to keep it).
 */
typedef struct kr_context {
    const kr_waker *waker;
    const kr_await_site **site; /* NULL when not polled by a kairo task */
    void *reserved_[2];
} kr_context;

/* The waker of the task being polled (borrowed; clone to keep it). */
static inline const kr_waker *kr_context_waker(const kr_context *cx) {
    return cx->waker;
}

/* A context for polling a future by hand with the given waker. */
static inline kr_context kr_context_from_waker(const kr_waker *w) {
    kr_context cx = {w, NULL, {NULL, NULL}};
    return cx;
}

/* ------------------------------------------------------------------------ */
/* Futures                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct kr_future kr_future;

/*
 * The operations and shape of one kind of future.
 *
 *   poll         advances the future. Returns KR_READY exactly once, after
 *                writing `output_size` bytes to `out` (if `out` is not NULL;
 *                a NULL `out` discards the output). Returns KR_PENDING after
 *                arranging for the context's waker (or a clone of it) to be
 *                woken when progress is possible. Polling again after READY is
 *                a contract violation; kairo's own futures abort with a
 *                message naming the future. Called by one thread at a time.
 *   drop         releases every resource the future holds (registered
 *                wakers, timers, memory). Before READY this is cancellation;
 *                after READY it releases what the result left behind. Every
 *                future is dropped exactly once: a task's by the runtime
 *                (after READY or on cancellation), an awaited one by
 *                KR_AWAIT (after READY) or its parent's drop (before); one
 *                polled by hand, by its owner. NULL if there is nothing to
 *                release. Never called concurrently with poll.
 *   size         bytes of the concrete future struct; kr_spawn copies this
 *                many bytes into the task.
 *   output_size  bytes written to *out on READY (0 for none).
 *   name         a static name for task dumps and error messages.
 *
 * Moving: a future may be copied (moved) before its first poll and never
 * after it, like a pinned Rust future. It must not hold pointers into itself
 * until it has been polled.
 */
typedef struct kr_future_vtable {
    kr_poll (*poll)(kr_future *self, kr_context *cx, void *out);
    void (*drop)(kr_future *self);
    size_t size;
    size_t output_size;
    const char *name;
} kr_future_vtable;

/* The first member of every future. */
struct kr_future {
    const kr_future_vtable *vtable;
};

static inline kr_poll kr_future_poll(kr_future *f, kr_context *cx, void *out) {
    return f->vtable->poll(f, cx, out);
}

static inline void kr_future_drop(kr_future *f) {
    if (f->vtable->drop != NULL)
        f->vtable->drop(f);
}

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_CORE_H */
