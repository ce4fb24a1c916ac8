/*
 * kairo/async.h: stackless async/await for C.
 *
 * An async function is a future struct plus a poll function written between
 * KR_ASYNC_BEGIN and KR_ASYNC_END. This is the C analogue of the state
 * machine Rust generates for an `async fn`: the resume point lives in a
 * kr_coro field and every local that lives across an await must be a field
 * of the struct too (child futures included, exactly as Rust lays them out
 * inside the parent).
 *
 *     typedef struct {
 *         kr_future base;
 *         kr_coro   co;
 *         kr_yield  y;
 *         int       i;
 *     } counter;
 *
 *     static kr_poll counter_poll(kr_future *f, kr_context *cx, void *out) {
 *         counter *c = (counter *)f;
 *         KR_ASYNC_BEGIN(&c->co);
 *         for (c->i = 0; c->i < 3; c->i++) {
 *             c->y = kr_yield_now();
 *             KR_AWAIT(&c->co, &c->y.base, cx, NULL);
 *         }
 *         KR_RETURN(&c->co, out, int, c->i);
 *         KR_ASYNC_END(&c->co);
 *     }
 *
 * Limits (the price of doing this with a switch, as protothreads do):
 *   - Locals do not survive an await; keep them in the struct. (The compiler
 *     warns about some uses of uninitialised locals, not all.)
 *   - No await inside a `switch` statement of your own between BEGIN and END:
 *     its case labels would capture the resume points. The compiler rejects
 *     the common mistakes (duplicate case values), not all of them.
 *   - At most one KR_AWAIT / KR_YIELD per source line (the line number is
 *     the resume label; two on one line fail to compile: duplicate case).
 *   - No KR_AWAIT in a macro expanded more than once per line.
 *   - Return only through KR_RETURN / KR_RETURN_VOID / KR_ASYNC_END (or
 *     `return KR_PENDING` after arranging a wake-up yourself).
 *
 * Drops: KR_AWAIT drops the child as soon as it returns READY (as Rust
 * drops an awaited future), so a child's drop runs exactly once either way.
 * Cancellation: the coroutine records the child it is awaiting; the
 * future's drop function calls kr_coro_drop(&co) to drop that child, then
 * releases whatever else the struct owns.
 *
 * Task dumps: each await stores the address of a static kr_await_site
 * (file, function, line) in the context before polling the child, so the
 * innermost pending await of a task is what its dump shows.
 */
#ifndef KAIRO_ASYNC_H
#define KAIRO_ASYNC_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_coro {
    int resume_;       /* 0: not started; -1: returned; else a line */
    kr_future *child_; /* the future being awaited, for kr_coro_drop */
} kr_coro;

#define KR_CORO_INIT                                                           \
    { 0, NULL }

/* Aborts with a message: the coroutine was polled after returning READY. */
KR_API void kr__coro_poll_after_ready(const char *func, const char *file)
    __attribute__((noreturn));
/* Aborts with a message: the resume point is corrupt. */
KR_API void kr__coro_corrupt(const char *func, int resume)
    __attribute__((noreturn));

/* Drops the child being awaited, if any. For the future's drop function. */
static inline void kr_coro_drop(kr_coro *co) {
    kr_future *c = co->child_;
    co->child_ = NULL;
    if (c != NULL)
        kr_future_drop(c);
}

/* True once the coroutine has returned. */
static inline bool kr_coro_done(const kr_coro *co) { return co->resume_ == -1; }

#define KR__SITE(cx)                                                           \
    do {                                                                       \
        static const kr_await_site kr__site_ = {__FILE__, __func__, __LINE__}; \
        if ((cx)->site != NULL)                                                \
            *(cx)->site = &kr__site_;                                          \
    } while (0)

#define KR_ASYNC_BEGIN(co)                                                     \
    switch ((co)->resume_) {                                                   \
    default:                                                                   \
        kr__coro_corrupt(__func__, (co)->resume_);                             \
    case -1:                                                                   \
        kr__coro_poll_after_ready(__func__, __FILE__);                         \
    case 0:

/*
 * Awaits `fut` (a kr_future *), writing its output to `out` (NULL discards).
 * Suspends (returns KR_PENDING) while the child is pending.
 */
#define KR_AWAIT(co, fut, cx, out)                                             \
    do {                                                                       \
        (co)->resume_ = __LINE__;                                              \
        (co)->child_ = (fut);                                                  \
        __attribute__((fallthrough));                                          \
    case __LINE__:                                                             \
        KR__SITE(cx);                                                          \
        if (kr_future_poll((co)->child_, (cx), (out)) == KR_PENDING)           \
            return KR_PENDING;                                                 \
        kr_future_drop((co)->child_); /* finished: dropped, as in Rust */      \
        (co)->child_ = NULL;                                                   \
    } while (0)

/* Yields once: wakes the task and suspends; the task goes to the back of its
 * run queue after the next look at I/O. (Same effect as awaiting
 * kr_yield_now(), without a field.) */
#define KR_YIELD(co, cx)                                                       \
    do {                                                                       \
        (co)->resume_ = __LINE__;                                              \
        KR__SITE(cx);                                                          \
        kr_waker_wake_by_ref(kr_context_waker(cx));                            \
        return KR_PENDING;                                                     \
    case __LINE__:;                                                            \
    } while (0)

/* Completes, writing `value` (of `type`) to `out` unless `out` is NULL. */
#define KR_RETURN(co, out, type, value)                                        \
    do {                                                                       \
        if ((out) != NULL)                                                     \
            *(type *)(out) = (value);                                          \
        (co)->resume_ = -1;                                                    \
        return KR_READY;                                                       \
    } while (0)

/* Completes without output. */
#define KR_RETURN_VOID(co)                                                     \
    do {                                                                       \
        (co)->resume_ = -1;                                                    \
        return KR_READY;                                                       \
    } while (0)

/* Ends the body; falling off the end completes without output. */
#define KR_ASYNC_END(co)                                                       \
    }                                                                          \
    (co)->resume_ = -1;                                                        \
    return KR_READY

/*
 * Defines a `static const kr_future_vtable NAME` for future struct TYPE with
 * the given poll and drop functions (drop may be NULL) and output type size.
 */
#define KR_FUTURE_VTABLE(name, type, poll_fn, drop_fn, output_size_)           \
    static const kr_future_vtable name = {(poll_fn), (drop_fn), sizeof(type),  \
                                          (output_size_), #type}

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_ASYNC_H */
