/*
 * Guide §5: kr_join runs two futures of different types at once, each
 * output to its own field; kr_try_join stops at the first failure and
 * drops the rest. Run by ctest (guide/join).
 */
#include <stdio.h>

#include "kairo.h"

typedef struct {
    KR_ASYNC_FIELDS;
    kr_oneshot_rx *rx_a, *rx_b;
    // [join]
    kr_sleep nap;         /* no output */
    kr_oneshot_recv recv; /* output: an int, 0 or KR_ECLOSED */
    int value, recv_rc;
    kr_branch br[2];
    kr_join_fut join;
    kr_try_join_fut try_join;
    int rc;
    // [/join]
} both;
KR_ASYNC_FN(both, int);
KR_ASYNC_NO_DROP(both); /* the pending join drops its branches */

KR_ASYNC_POLL(both, b, cx) {
    // [join_body]
    kr_sleep_init(&b->nap, kr_ms(2));
    b->recv = kr_oneshot_recv_future(b->rx_a, &b->value);
    KR_BRANCH_SET_VOID(&b->br[0], &b->nap);
    KR_BRANCH_SET(&b->br[1], &b->recv, b->recv_rc); /* size-checked */
    KR_FN_CALL_VOID(b->join, kr_join(b->br, 2, KR_POLL_FAIR));
    printf("both done: value %d (rc %d)\n", b->value, b->recv_rc);

    /* The second sender is gone: the receive fails, and the try-join
     * drops the sleep at once instead of waiting for it. */
    kr_sleep_init(&b->nap, kr_ms(60000));
    b->recv = kr_oneshot_recv_future(b->rx_b, &b->value);
    KR_BRANCH_SET_VOID(&b->br[0], &b->nap);
    KR_BRANCH_SET(&b->br[1], &b->recv, b->recv_rc);
    KR_FN_CALL(b->try_join, kr_try_join(b->br, 2, KR_POLL_FAIR), b->rc);
    printf("try_join: %s (branch %d)\n", kr_err_name(b->rc),
           kr_try_join_failed(&b->try_join));
    // [/join_body]
    KR_FN_RETURN(b->rc == KR_ECLOSED && b->value == 42 ? 0 : 1);
}
KR_ASYNC_POLL_END

int main(void) {
    kr_runtime *rt;
    kr_oneshot_tx *ta, *tb;
    kr_oneshot_rx *ra, *rb;
    if (kr_runtime_new(NULL, &rt) != 0 ||
        kr_oneshot_new(sizeof(int), &ta, &ra) != 0 ||
        kr_oneshot_new(sizeof(int), &tb, &rb) != 0)
        return 1;
    int v = 42;
    kr_oneshot_send(ta, &v);
    kr_oneshot_tx_drop(tb);
    both b = {KR_ASYNC_INIT(both), .rx_a = ra, .rx_b = rb};
    int failed = 1;
    int rc = kr_runtime_block_on(rt, &b.base, &failed);
    kr_oneshot_rx_drop(ra);
    kr_oneshot_rx_drop(rb);
    kr_runtime_free(rt);
    return rc == 0 && failed == 0 ? 0 : 1;
}
