/*
 * Guide §8, fan-out / fan-in: spawn a task per item into a kr_join_set and
 * take the results in the order they finish. Freeing the set aborts any
 * task still in it, so no task outlives the function that made them. Run
 * by ctest (guide/fan_out).
 */
#include <stdint.h>
#include <stdio.h>

#include "kairo.h"

typedef struct {
    KR_ASYNC_FIELDS;
    uint64_t n;
    kr_sleep nap;
} square;
KR_ASYNC_FN(square, uint64_t);
KR_ASYNC_NO_DROP(square);

KR_ASYNC_POLL(square, s, cx) {
    KR_FN_CALL_VOID(s->nap, kr_sleep_for(kr_ms((int64_t)(s->n % 3))));
    KR_FN_RETURN(s->n * s->n);
}
KR_ASYNC_POLL_END

// [fan]
typedef struct {
    KR_ASYNC_FIELDS;
    kr_join_set *set;
    kr_join_next next;
    uint64_t i, v, total;
    int rc;
} sum_squares;
KR_ASYNC_FN(sum_squares, uint64_t);
KR_ASYNC_DROP(sum_squares, s) { kr_join_set_free(s->set); } /* aborts */

KR_ASYNC_POLL(sum_squares, s, cx) {
    if (kr_join_set_new(sizeof(uint64_t), &s->set) != 0)
        KR_FN_RETURN(0);
    for (s->i = 1; s->i <= 100; s->i++) { /* fan out */
        square sq = {KR_ASYNC_INIT(square), .n = s->i};
        if (kr_join_set_spawn(s->set, &sq.base, NULL) != 0)
            KR_FN_RETURN(0);
    }
    for (;;) { /* fan in, in completion order */
        KR_FN_CALL(s->next, kr_join_set_join_next(s->set, &s->v), s->rc);
        if (s->rc == KR_EEMPTY)
            break;      /* every task joined */
        if (s->rc == 0) /* else KR_ECANCELED: aborted */
            s->total += s->v;
    }
    KR_FN_RETURN(s->total);
}
KR_ASYNC_POLL_END
// [/fan]

int main(void) {
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    cfg.workers = 2;
    kr_runtime *rt;
    if (kr_runtime_new(&cfg, &rt) != 0)
        return 1;
    sum_squares s = {KR_ASYNC_INIT(sum_squares)};
    uint64_t total = 0;
    int rc = kr_runtime_block_on(rt, &s.base, &total);
    kr_runtime_free(rt);
    printf("sum of squares 1..100: %llu\n", (unsigned long long)total);
    return rc == 0 && total == 338350 ? 0 : 1;
}
