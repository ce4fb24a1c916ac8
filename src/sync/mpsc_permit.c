/*
 * sync/mpsc_permit.c: permits of an mpsc channel (Tokio's Permit and
 * OwnedPermit): a slot reserved now and sent into later without waiting,
 * by kr_mpsc_try_reserve or the reserve future. A permit holds a channel
 * reference and counts in `reserved` (sync/mpsc.c has the protocol).
 */
#include "core/coop.h"
#include "sync/mpsc_chan.h"
#include "util/abort.h"

int kr_mpsc_try_reserve(kr_mpsc_tx *tx, kr_mpsc_permit *permit) {
    if (tx == NULL || permit == NULL)
        return KR_EINVAL;
    chan *c = of_tx(tx);
    int rc = 0;
    kr__wait_lock(&c->wl);
    if (c->closed) {
        rc = KR_ECLOSED;
    } else if (c->bounded && c->permits == 0) {
        rc = KR_EFULL;
    } else {
        if (c->bounded)
            c->permits--;
        c->reserved++;
        c->refs++;
        permit->chan_ = c;
    }
    kr__wait_unlock(&c->wl);
    return rc;
}

static kr_poll reserve_poll(kr_future *f, kr_context *cx, void *out) {
    kr_mpsc_reserve *r = (kr_mpsc_reserve *)f;
    if (r->phase_ == 2)
        kr__die("kr_mpsc_reserve polled after it returned READY");
    int rc;
    chan *c = of_tx(r->tx_);
    if (c == NULL || r->permit_ == NULL) {
        rc = KR_EINVAL;
    } else {
        if (!kr__coop_proceed(cx))
            return KR_PENDING;
        kr__wake_batch b;
        kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
        kr__wait_lock(&c->wl);
        rc = kr__mpsc_acquire_fast(c, &r->w_, &r->phase_, cx, &b);
        if (rc == 0) {
            kr__wait_unlock(&c->wl);
            kr__coop_refund();
            return KR_PENDING;
        }
        if (rc == 1) {
            c->refs++;
            r->permit_->chan_ = c;
            rc = 0;
        }
        kr__wait_unlock(&c->wl);
        kr__wake_batch_wake(&b);
    }
    r->phase_ = 2;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void reserve_drop(kr_future *f) {
    kr_mpsc_reserve *r = (kr_mpsc_reserve *)f;
    if (r->phase_ == 1)
        kr__mpsc_acquire_drop(of_tx(r->tx_), &r->w_);
}

const kr_future_vtable kr__mpsc_reserve_vtable = {
    reserve_poll, reserve_drop, sizeof(kr_mpsc_reserve), sizeof(int),
    "kr_mpsc_reserve"};

int kr_mpsc_permit_send(kr_mpsc_permit *permit, const void *msg) {
    if (permit == NULL || permit->chan_ == NULL)
        return KR_EINVAL;
    chan *c = permit->chan_;
    permit->chan_ = NULL;
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    int rc;
    kr__wait_lock(&c->wl);
    c->reserved--;
    if (msg == NULL && c->msg_size != 0) {
        rc = KR_EINVAL;
        kr__mpsc_release_slot(c, &b);
    } else if (!c->rx_alive) {
        rc = KR_ECLOSED;
    } else {
        rc = kr__mpsc_enqueue(c, msg, &b);
        if (rc < 0)
            kr__mpsc_release_slot(c, &b);
    }
    if (kr__mpsc_ended(c))
        kr__mpsc_rx_wake(c, &b);
    kr__mpsc_unref_unlock(c, &b);
    return rc;
}

void kr_mpsc_permit_drop(kr_mpsc_permit *permit) {
    if (permit == NULL || permit->chan_ == NULL)
        return;
    chan *c = permit->chan_;
    permit->chan_ = NULL;
    kr__wake_batch b;
    kr__wake_batch_init(&b); /* not = {0}: that zeroes 32 wakers */
    kr__wait_lock(&c->wl);
    c->reserved--;
    kr__mpsc_release_slot(c, &b);
    if (kr__mpsc_ended(c))
        kr__mpsc_rx_wake(c, &b);
    kr__mpsc_unref_unlock(c, &b);
}
