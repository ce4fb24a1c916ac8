/*
 * Guide §2: an async function with the macros of kairo/async_fn.h, and
 * the same function written with the coroutine macros alone. Both sleep
 * three times and output how many times they slept. Run by ctest
 * (guide/async_fn).
 */
#include <stdio.h>

#include "kairo.h"

// [macros]
typedef struct {
    KR_ASYNC_FIELDS; /* kr_future base; kr_coro co; */
    int i;           /* everything that lives across an await */
    kr_sleep nap;
} napper;
KR_ASYNC_FN(napper, int); /* poll, drop and vtable; output: an int */
KR_ASYNC_NO_DROP(napper); /* dropping it drops the pending sleep only */

KR_ASYNC_POLL(napper, n, cx) {
    for (n->i = 0; n->i < 3; n->i++)
        KR_FN_CALL_VOID(n->nap, kr_sleep_for(kr_ms(1)));
    KR_FN_RETURN(n->i);
}
KR_ASYNC_POLL_END
// [/macros]

// [by_hand]
typedef struct {
    kr_future base;
    kr_coro co;
    int i;
    kr_sleep nap;
} napper2;

static kr_poll napper2_poll(kr_future *f, kr_context *cx, void *out) {
    napper2 *n = (napper2 *)f;
    KR_ASYNC_BEGIN(&n->co);
    for (n->i = 0; n->i < 3; n->i++) {
        n->nap = kr_sleep_for(kr_ms(1));
        KR_AWAIT(&n->co, &n->nap.base, cx, NULL);
    }
    KR_RETURN(&n->co, out, int, n->i);
    KR_ASYNC_END(&n->co);
}
static void napper2_drop(kr_future *f) { kr_coro_drop(&((napper2 *)f)->co); }
KR_FUTURE_VTABLE(napper2_vt, napper2, napper2_poll, napper2_drop, sizeof(int));
// [/by_hand]

int main(void) {
    kr_runtime *rt;
    if (kr_runtime_new(NULL, &rt) != 0)
        return 1;
    // [run]
    napper a = {KR_ASYNC_INIT(napper)};
    napper2 b = {.base = {&napper2_vt}, .co = KR_CORO_INIT};
    int x = 0, y = 0;
    int rc = kr_runtime_block_on(rt, &a.base, &x);
    if (rc == 0)
        rc = kr_runtime_block_on(rt, &b.base, &y);
    // [/run]
    kr_runtime_free(rt);
    printf("slept %d and %d times\n", x, y);
    return rc == 0 && x == 3 && y == 3 ? 0 : 1;
}
