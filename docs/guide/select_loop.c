/*
 * Guide §8, select loops: a consumer that takes messages from a channel,
 * counts ticks of an interval meanwhile, and stops when a token is
 * cancelled. KR_SELECT_KEEP keeps the branches that did not fire, so a
 * pending receive is never made again (made again, a receive would be
 * harmless here, but a read would lose its buffer and a sleep its
 * deadline). Run by ctest (guide/select_loop).
 */
#include <stdio.h>

#include "kairo.h"

typedef struct {
    KR_ASYNC_FIELDS;
    kr_mpsc_tx *tx;
    int i, rc;
    kr_mpsc_send sd;
    kr_sleep nap;
} producer;
KR_ASYNC_FN_VOID(producer);
KR_ASYNC_DROP(producer, p) { kr_mpsc_tx_drop(p->tx); }

KR_ASYNC_POLL(producer, p, cx) {
    for (p->i = 1; p->i <= 10; p->i++) {
        KR_FN_CALL(p->sd, kr_mpsc_send_future(p->tx, &p->i), p->rc);
        KR_FN_CALL_VOID(p->nap, kr_sleep_for(kr_ms(1)));
    }
}
KR_ASYNC_POLL_END

// [consumer]
typedef struct {
    KR_ASYNC_FIELDS;
    kr_mpsc_rx *rx;
    kr_cancel_token *stop;
    kr_interval iv;
    kr_branch br[3]; /* 0: a message, 1: a tick, 2: stop */
    kr_mpsc_recv rv;
    kr_interval_tick tick;
    kr_cancelled cancelled;
    kr_instant at;
    int msg, rc, which;
    kr_select_fut sel;
    long sum, ticks;
} consumer;
KR_ASYNC_FN(consumer, long);

KR_ASYNC_DROP(consumer, c) {    /* after the pending child (the select) */
    kr_branches_drop(c->br, 3); /* KEEP: the branches are ours */
    kr_interval_drop(&c->iv);
}

KR_ASYNC_POLL(consumer, c, cx) {
    c->iv = kr_interval_new(kr_ms(2), KR_MISSED_TICK_SKIP);
    c->cancelled = kr_cancel_token_cancelled(c->stop);
    KR_BRANCH_SET_VOID(&c->br[2], &c->cancelled);
    for (;;) {
        if (!kr_branch_live(&c->br[0])) { /* refill only what fired */
            c->rv = kr_mpsc_recv_future(c->rx, &c->msg);
            KR_BRANCH_SET(&c->br[0], &c->rv, c->rc);
        }
        if (!kr_branch_live(&c->br[1])) {
            c->tick = kr_interval_tick_future(&c->iv);
            KR_BRANCH_SET(&c->br[1], &c->tick, c->at);
        }
        c->sel = kr_select(c->br, 3, KR_POLL_FAIR | KR_SELECT_KEEP);
        KR_FN_AWAIT_INTO(&c->sel, c->which);
        if (c->which == 2 || (c->which == 0 && c->rc != 0))
            break; /* stopped, or the channel closed */
        if (c->which == 0)
            c->sum += c->msg;
        else
            c->ticks++;
    }
    KR_FN_RETURN(c->sum);
}
KR_ASYNC_POLL_END
// [/consumer]

int main(void) {
    kr_runtime *rt;
    kr_mpsc_tx *tx;
    kr_mpsc_rx *rx;
    kr_cancel_token *stop;
    if (kr_runtime_new(NULL, &rt) != 0 ||
        kr_mpsc_new(sizeof(int), 4, &tx, &rx) != 0 ||
        kr_cancel_token_new(&stop) != 0)
        return 1;
    producer p = {KR_ASYNC_INIT(producer), .tx = tx};
    consumer c = {KR_ASYNC_INIT(consumer), .rx = rx, .stop = stop};
    long sum = 0;
    int rc = kr_runtime_spawn(rt, &p.base, NULL);
    if (rc == 0)
        rc = kr_runtime_block_on(rt, &c.base, &sum); /* ends at the close */
    printf("sum %ld\n", sum);
    kr_cancel_token_drop(stop);
    kr_mpsc_rx_drop(rx);
    kr_runtime_free(rt);
    return rc == 0 && sum == 55 ? 0 : 1;
}
