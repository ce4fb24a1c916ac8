/*
 * sync/mpsc_weak.c: weak senders of an mpsc channel (Tokio's
 * WeakSender): they keep the channel's memory, not the stream, alive, and
 * upgrade to a sender while a sender or a permit still exists.
 */
#include "sync/mpsc_chan.h"
#include "util/abort.h"

kr_mpsc_weak_tx *kr_mpsc_tx_downgrade(kr_mpsc_tx *tx) {
    if (tx == NULL)
        return NULL;
    chan *c = of_tx(tx);
    kr__wait_lock(&c->wl);
    c->weak++;
    c->refs++;
    kr__wait_unlock(&c->wl);
    return (kr_mpsc_weak_tx *)c;
}

kr_mpsc_weak_tx *kr_mpsc_weak_clone(kr_mpsc_weak_tx *w) {
    return w == NULL ? NULL : kr_mpsc_tx_downgrade((kr_mpsc_tx *)w);
}

kr_mpsc_tx *kr_mpsc_weak_upgrade(kr_mpsc_weak_tx *w) {
    if (w == NULL)
        return NULL;
    chan *c = (chan *)w;
    kr__wait_lock(&c->wl);
    /* A permit is a sender too (Tokio's OwnedPermit holds one): while one
     * is out the stream has not ended, and upgrading may revive it. */
    bool alive = c->senders > 0 || c->reserved > 0;
    if (alive) {
        c->senders++;
        c->refs++;
    }
    kr__wait_unlock(&c->wl);
    return alive ? (kr_mpsc_tx *)c : NULL;
}

void kr_mpsc_weak_drop(kr_mpsc_weak_tx *w) {
    if (w == NULL)
        return;
    chan *c = (chan *)w;
    kr__wake_batch b;
    kr__wake_batch_init(&b);
    kr__wait_lock(&c->wl);
    KR__REQUIRE(c->weak > 0, "kr_mpsc weak sender dropped once too often");
    c->weak--;
    kr__mpsc_unref_unlock(c, &b);
}

size_t kr_mpsc_tx_weak_count(const kr_mpsc_tx *tx) {
    if (tx == NULL)
        return 0;
    QUERY(tx, c_->weak);
}
size_t kr_mpsc_weak_count(const kr_mpsc_weak_tx *w) {
    return kr_mpsc_tx_weak_count((const kr_mpsc_tx *)w);
}
size_t kr_mpsc_weak_strong_count(const kr_mpsc_weak_tx *w) {
    return kr_mpsc_tx_count((const kr_mpsc_tx *)w);
}

size_t kr_mpsc_rx_weak_count(const kr_mpsc_rx *rx) {
    if (rx == NULL)
        return 0;
    QUERY(rx, c_->weak);
}
