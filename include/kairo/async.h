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
 * Outputs: KR_AWAIT(co, fut, cx, out) writes the child's output_size
 * bytes to the untyped `out`, so an output written into a smaller variable
 * (an int for a read's int64_t) overwrites whatever follows it, silently.
 * Prefer KR_AWAIT_INTO(co, fut, cx, lvalue), which takes the variable
 * itself and checks its size against the child's output:
 *
 *     c->rd = kr_tcp_stream_read(c->s, c->buf, sizeof(c->buf));
 *     KR_AWAIT_INTO(&c->co, &c->rd, cx, c->n);       // c->n: int64_t
 *
 * `fut` points at the child: a future struct (one whose first member is
 * `kr_future base`) or a plain kr_future *. Where its type is one of
 * kairo's futures with a fixed output (kr_tcp_read, kr_tcp_accept,
 * kr_sleep, kr_timeout, ...: KR__OUTPUT_SIZE below), a mismatch is a
 * compile-time error. Elsewhere (your own futures, join handles, whose
 * output is their task's, a kr_future *) it is checked when the await
 * starts, once, in debug builds: where KR_DEBUG is defined non-zero
 * (cmake -DKR_DEBUG=ON defines it for everything it builds; define it in
 * your own debug builds too). A mismatch aborts with a message naming the
 * await and both sizes. Release builds compile that check away. Use
 * KR_AWAIT with NULL for a future without output, or to discard it.
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
/* The future types KR_AWAIT_INTO knows the outputs of, at compile time. */
#include "bufio.h"
#include "combinators.h"
#include "fs.h"
#include "io.h"
#include "net.h"
#include "runtime.h"
#include "sync.h"
#include "time.h"

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

/*
 * Awaits `fut` (a future struct pointer or a kr_future *), writing its
 * output into `lvalue`, whose size must be the output's: checked at
 * compile time for kairo's futures, at run time (debug builds) for the
 * rest. See "Outputs" above.
 */
#define KR_AWAIT_INTO(co, fut, cx, lvalue)                                     \
    do {                                                                       \
        _Static_assert(KR__OUTPUT_SIZE(fut) == KR__OUTPUT_UNKNOWN ||           \
                           KR__OUTPUT_SIZE(fut) == sizeof(lvalue),             \
                       "KR_AWAIT_INTO: the variable's size is not the size "   \
                       "of the future's output");                              \
        (co)->resume_ = __LINE__;                                              \
        (co)->child_ = KR__AS_FUTURE(fut);                                     \
        KR__AWAIT_CHECK((co)->child_, sizeof(lvalue));                         \
        __attribute__((fallthrough));                                          \
    case __LINE__:                                                             \
        KR__SITE(cx);                                                          \
        if (kr_future_poll((co)->child_, (cx), &(lvalue)) == KR_PENDING)       \
            return KR_PENDING;                                                 \
        kr_future_drop((co)->child_); /* finished: dropped, as in Rust */      \
        (co)->child_ = NULL;                                                   \
    } while (0)

/* The kr_future * of `fut`: itself if it is one, else &fut->base (which
 * must be a kr_future). The inner selection gives the outer's unchosen
 * branch something with a `base` to name when `fut` is a kr_future *. */
struct kr__some_future {
    kr_future base;
};
/* clang-format off */
#define KR__AS_FUTURE(fut)                                                     \
    _Generic((fut),                                                            \
        kr_future *: (fut),                                                    \
        default: &_Generic((fut),                                              \
                      kr_future *: (struct kr__some_future *)0,                \
                      default: (fut))->base)
/* clang-format on */

/* The output size of kairo's futures with a fixed output, by the type
 * `fut` points to; KR__OUTPUT_UNKNOWN for the rest. Each entry must match
 * the vtable in src/ (tests/test-await-into.c checks every one). */
#define KR__OUTPUT_UNKNOWN ((size_t)-1)
/* clang-format off */
#define KR__OUTPUT_SIZE(fut)                                                   \
    _Generic((fut),                                                            \
        kr_fs_op *: sizeof(int64_t),                                           \
        kr_buf_op *: sizeof(int64_t),                                          \
        kr_io_op *: sizeof(int64_t),                                           \
        kr_io_copy_future *: sizeof(int64_t),                                  \
        kr_io_copy_bidi *: sizeof(int),                                        \
        kr_net_io *: sizeof(int64_t),                                          \
        kr_net_writev *: sizeof(int64_t),                                      \
        kr_udp_send_to *: sizeof(int64_t),                                     \
        kr_udp_recv_from *: sizeof(int64_t),                                   \
        kr_net_accept *: sizeof(int),                                          \
        kr_net_connect *: sizeof(int),                                         \
        kr_resolution *: sizeof(int),                                          \
        kr_readiness *: sizeof(int),                                           \
        kr_timeout *: sizeof(int),                                             \
        kr_oneshot_recv *: sizeof(int),                                        \
        kr_interval_tick *: sizeof(kr_instant),                                \
        kr_sleep *: (size_t)0,                                                 \
        kr_oneshot_closed *: (size_t)0,                                        \
        kr_yield *: (size_t)0,                                                 \
        kr_select_fut *: sizeof(int),                                          \
        kr_try_join_fut *: sizeof(int),                                        \
        kr_join_fut *: (size_t)0,                                              \
        default: KR__OUTPUT_UNKNOWN)
/* clang-format on */

/* Aborts with a message unless `child` writes `size` bytes (a join
 * handle: its task's output size). The check's slow half: reached only
 * when the vtable's output_size differs. */
KR_API void kr__await_output_check(const kr_future *child, size_t size,
                                   const char *func, const char *file,
                                   int line);
#if defined(KR_DEBUG) && KR_DEBUG
#define KR__AWAIT_CHECK(child, size)                                           \
    do {                                                                       \
        if ((child)->vtable->output_size != (size))                            \
            kr__await_output_check((child), (size), __func__, __FILE__,        \
                                   __LINE__);                                  \
    } while (0)
#else
#define KR__AWAIT_CHECK(child, size) ((void)0)
#endif

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
