/*
 * kairo/async_fn.h: a shorter way to write an async function, over the
 * coroutine macros of kairo/async.h.
 */
#ifndef KAIRO_ASYNC_FN_H
#define KAIRO_ASYNC_FN_H

#include "async.h"

/* ------------------------------------------------------------------------ */
/* A shorter async function                                                 */
/* ------------------------------------------------------------------------ */

/*
 * The struct is written once, as a plain struct whose first member is
 * KR_ASYNC_FIELDS (the kr_future base and the kr_coro); one line then
 * declares the poll function's signature, the drop and the vtable; the
 * body is written once, with awaits that name no coroutine or context:
 *
 *     typedef struct {
 *         KR_ASYNC_FIELDS;
 *         int i;
 *         kr_yield y;
 *     } counter;
 *     KR_ASYNC_FN(counter, int);       // its output type
 *     KR_ASYNC_NO_DROP(counter);       // drop: the pending child only
 *
 *     KR_ASYNC_POLL(counter, c, cx) {  // c: counter *, cx: kr_context *
 *         for (c->i = 0; c->i < 3; c->i++)
 *             KR_FN_CALL_VOID(c->y, kr_yield_now());
 *         KR_FN_RETURN(c->i);
 *     }
 *     KR_ASYNC_POLL_END
 *
 *     counter c = {KR_ASYNC_INIT(counter), .i = 0};  // then block_on/spawn
 *
 * What it declares, for `name`: `name##_poll`; `name##_drop`, which drops
 * the child being awaited (kr_coro_drop) and then, with KR_ASYNC_DROP,
 * runs the cleanup body you write; the vtable `name##_vt` (size, output
 * size and name filled in). KR_ASYNC_INIT(name) initialises base and co in
 * a designated initializer. Forgetting the drop line is a compile error
 * ("used but never defined").
 *
 *     KR_ASYNC_DROP(client, c) {       // after the pending child's drop
 *         kr_branches_drop(c->br, 3);
 *         kr_tcp_stream_free(c->s);
 *     }
 *
 * The awaits are KR_AWAIT's and KR_AWAIT_INTO's (the same await-site
 * records, the same output size checks, the same "one per line" rule):
 *   KR_FN_AWAIT(fut)              awaits, discarding the output
 *   KR_FN_AWAIT_INTO(fut, lvalue) awaits into lvalue (size checked)
 *   KR_FN_CALL(slot, expr, lvalue) stores the future `expr` in the field
 *                                 `slot`, then awaits it into lvalue
 *   KR_FN_CALL_VOID(slot, expr)   the same, discarding the output
 *   KR_FN_YIELD()                 yields once
 *   KR_FN_RETURN(value)           completes with `value` (converted to
 *                                 the output type; KR_ASYNC_FN only)
 *   KR_FN_RETURN_VOID()           completes (KR_ASYNC_FN_VOID only)
 * Falling off the end of the body completes too (with no output written:
 * a typed function should KR_FN_RETURN).
 *
 * Everything in async.h's "Limits" still holds: fields, not locals, across
 * an await; no await inside a switch of your own; one await per line.
 */
#define KR_ASYNC_FIELDS                                                        \
    kr_future base;                                                            \
    kr_coro co

/* Declares the poll function, the drop and the vtable of the async
 * function `name` (a struct type opening with KR_ASYNC_FIELDS) whose
 * output is of type `out_type`. */
#define KR_ASYNC_FN(name, out_type)                                            \
    typedef out_type name##_output_t;                                          \
    KR__ASYNC_DECLS(name, sizeof(out_type))

/* As KR_ASYNC_FN, for a function without output. */
#define KR_ASYNC_FN_VOID(name)                                                 \
    typedef struct kr__no_output name##_output_t;                              \
    KR__ASYNC_DECLS(name, 0)

#define KR__ASYNC_DECLS(name, out_size)                                        \
    static kr_poll name##_poll(kr_future *kr__f, kr_context *kr__cx,           \
                               void *kr__out);                                 \
    static void name##_drop(kr_future *kr__f);                                 \
    static const kr_future_vtable name##_vt __attribute__((unused)) = {        \
        name##_poll, name##_drop, sizeof(name), (out_size), #name}

/* The designated initializers of base and co, for a `name` value. */
#define KR_ASYNC_INIT(name) .base = {&name##_vt}, .co = KR_CORO_INIT

/* The drop: the pending child, then the body that follows (self names the
 * struct). */
#define KR_ASYNC_DROP(name, self)                                              \
    static void name##_cleanup(name *self);                                    \
    static void name##_drop(kr_future *kr__f) {                                \
        kr_coro_drop(&((name *)kr__f)->co);                                    \
        name##_cleanup((name *)kr__f);                                         \
    }                                                                          \
    static void name##_cleanup(name *self)

/* The drop when nothing but the pending child needs releasing. */
#define KR_ASYNC_NO_DROP(name)                                                 \
    static void name##_drop(kr_future *kr__f) {                                \
        kr_coro_drop(&((name *)kr__f)->co);                                    \
    }                                                                          \
    typedef int name##_drop_defined_t

/* Opens the poll function: `self` is a `name *`, `cx` the context. The
 * body follows in braces, then KR_ASYNC_POLL_END. */
#define KR_ASYNC_POLL(name, self, cx)                                          \
    static kr_poll name##_poll(kr_future *kr__f, kr_context *cx,               \
                               void *kr__out) {                                \
        name *const self = (name *)kr__f;                                      \
        kr_coro *const kr__co = &self->co;                                     \
        kr_context *const kr__cx = (cx);                                       \
        typedef name##_output_t kr__out_t;                                     \
        (void)kr__out;                                                         \
        (void)kr__cx;                                                          \
        (void)sizeof(kr__out_t *);                                             \
        KR_ASYNC_BEGIN(kr__co);

#define KR_ASYNC_POLL_END                                                      \
    KR_ASYNC_END(kr__co);                                                      \
    }

#define KR_FN_AWAIT(fut)              KR_AWAIT(kr__co, KR__AS_FUTURE(fut), kr__cx, NULL)
#define KR_FN_AWAIT_INTO(fut, lvalue) KR_AWAIT_INTO(kr__co, fut, kr__cx, lvalue)
#define KR_FN_CALL(slot, expr, lvalue)                                         \
    (slot) = (expr);                                                           \
    KR_AWAIT_INTO(kr__co, &(slot), kr__cx, lvalue)
#define KR_FN_CALL_VOID(slot, expr)                                            \
    (slot) = (expr);                                                           \
    KR_AWAIT(kr__co, KR__AS_FUTURE(&(slot)), kr__cx, NULL)
#define KR_FN_YIELD()       KR_YIELD(kr__co, kr__cx)
#define KR_FN_RETURN(value) KR_RETURN(kr__co, kr__out, kr__out_t, (value))
#define KR_FN_RETURN_VOID() KR_RETURN_VOID(kr__co)

#endif /* KAIRO_ASYNC_FN_H */
