/*
 * Guide §8, timeouts: a deadline on one future (kr_timeout), and a
 * deadline as one branch of a select. Both wait on a channel nobody sends
 * on. Run by ctest (guide/timeout).
 */
#include <stdio.h>

#include "kairo.h"

typedef struct {
    KR_ASYNC_FIELDS;
    kr_mpsc_rx *rx;
    int msg, rc, got;
    // [fields]
    kr_mpsc_recv rv;
    kr_timeout to;
    kr_sleep deadline;
    kr_branch br[2];
    kr_select_fut sel;
    int which;
    // [/fields]
} waiter;
KR_ASYNC_FN(waiter, int);
KR_ASYNC_NO_DROP(waiter);

KR_ASYNC_POLL(waiter, w, cx) {
    // [timeout]
    /* One future, one deadline: the timeout owns the receive and drops it
     * (cancels it) when the deadline passes first. */
    w->rv = kr_mpsc_recv_future(w->rx, &w->msg);
    KR_FN_CALL(w->to, kr_timeout_new(&w->rv.base, kr_ms(5), &w->got), w->rc);
    if (w->rc == KR_ELAPSED)
        printf("no message within 5 ms\n");
    // [/timeout]
    if (w->rc != KR_ELAPSED)
        KR_FN_RETURN(1);
    // [select]
    /* The same with a select: the deadline is just another branch, and
     * the receive (cancel-safe) is dropped with the select. */
    w->rv = kr_mpsc_recv_future(w->rx, &w->msg);
    kr_sleep_init(&w->deadline, kr_ms(5));
    KR_BRANCH_SET(&w->br[0], &w->rv, w->got);
    KR_BRANCH_SET_VOID(&w->br[1], &w->deadline);
    w->sel = kr_select(w->br, 2, KR_POLL_BIASED);
    KR_FN_AWAIT_INTO(&w->sel, w->which);
    if (w->which == 1)
        printf("no message within 5 ms, again\n");
    // [/select]
    KR_FN_RETURN(w->which == 1 ? 0 : 1);
}
KR_ASYNC_POLL_END

int main(void) {
    kr_runtime *rt;
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    if (kr_runtime_new(NULL, &rt) != 0 ||
        kr_mpsc_new(sizeof(int), 1, &tx, &rx) != 0)
        return 1;
    waiter w = {KR_ASYNC_INIT(waiter), .rx = rx};
    int failed = 1;
    int rc = kr_runtime_block_on(rt, &w.base, &failed);
    kr_mpsc_tx_drop(tx);
    kr_mpsc_rx_drop(rx);
    kr_runtime_free(rt);
    return rc == 0 && failed == 0 ? 0 : 1;
}
