/*
 * sync/once_cell.c: the once-cell, Tokio's design: a `set` flag and a
 * one-permit semaphore (sync/sem.h) that serialises initialisers. Whoever
 * holds the permit may write the value; it then publishes `set` (release)
 * and closes the semaphore, which wakes every waiter with KR_ECLOSED: for
 * them "closed" means "the value is there" (acquire load of `set`). A
 * failed or cancelled initialiser releases the permit instead, handing the
 * turn to the next waiter in FIFO order.
 */
#include <string.h>

#include "kairo.h"
#include "sync/sem.h"
#include "util/abort.h"
#include "util/alloc.h"
#include "util/atomic.h"

#define MAX_VALUE ((size_t)1 << 20)

struct kr_once_cell {
    kr__sem sem;
    _Atomic int set;
    size_t size;
    _Alignas(16) unsigned char value[];
};

int kr_once_cell_new(size_t value_size, kr_once_cell **out) {
    if (out == NULL || value_size > MAX_VALUE)
        return KR_EINVAL;
    kr_once_cell *c = kr__malloc(sizeof(*c) + value_size);
    if (c == NULL)
        return KR_ENOMEM;
    kr__sem_init(&c->sem, 1);
    atomic_init(&c->set, 0);
    c->size = value_size;
    *out = c;
    return 0;
}

void kr_once_cell_free(kr_once_cell *c) {
    if (c == NULL)
        return;
    kr__sem_destroy(&c->sem, "kr_once_cell");
    kr__free(c);
}

bool kr_once_cell_initialized(const kr_once_cell *c) {
    /* Acquire: pairs with publish()'s release, so the value is visible. */
    return c != NULL && kr__load_acquire((_Atomic int *)&c->set);
}

const void *kr_once_cell_get(const kr_once_cell *c) {
    return kr_once_cell_initialized(c) ? c->value : NULL;
}

void *kr_once_cell_slot(kr_once_cell *c) { return c == NULL ? NULL : c->value; }

/* By the permit holder, after writing the value. */
static void publish(kr_once_cell *c) {
    kr__store_release(&c->set, 1);
    kr__sem_close(&c->sem); /* waiters read "closed" as "set" */
}

int kr_once_cell_set(kr_once_cell *c, const void *value) {
    if (c == NULL || (value == NULL && c->size != 0))
        return KR_EINVAL;
    int rc = kr__sem_try_acquire(&c->sem, 1);
    if (rc == KR_ECLOSED)
        return KR_EEXIST;
    if (rc != 0)
        return KR_EBUSY;
    if (c->size != 0)
        memcpy(c->value, value, c->size);
    publish(c);
    return 0;
}

static kr_poll init_poll(kr_future *f, kr_context *cx, void *out) {
    kr_once_cell_init *g = (kr_once_cell_init *)f;
    kr_once_cell *c = g->cell_;
    int rc = 0;
    if (g->a_.phase == 2 && !g->running_)
        kr__die("kr_once_cell_init polled after it returned READY");
    if (c == NULL || g->init_ == NULL ||
        g->init_->vtable->output_size != (g->try_ ? sizeof(int) : c->size)) {
        rc = KR_EINVAL;
        goto ready;
    }
    if (!g->running_) {
        if (kr_once_cell_initialized(c))
            goto ready;
        int arc;
        if (kr__acquire_poll(&c->sem, &g->a_, cx, &arc) == KR_PENDING)
            return KR_PENDING;
        if (arc == KR_ECLOSED)
            goto ready;  /* closed only once set */
        g->running_ = 1; /* our turn: the cell is unset (set closes) */
    }
    int irc = 0;
    if (kr_future_poll(g->init_, cx, g->try_ ? (void *)&irc : c->value) ==
        KR_PENDING)
        return KR_PENDING;
    kr_future_drop(g->init_); /* finished: dropped now, as KR_AWAIT does */
    g->init_ = NULL;
    g->running_ = 0;
    if (irc != 0) {
        kr__sem_release(&c->sem, 1); /* failed: the next waiter tries */
        rc = irc;
        goto ready;
    }
    publish(c);
ready:
    g->a_.phase = 2;
    if (rc == 0 && g->value_ != NULL)
        *g->value_ = c->value;
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

static void init_drop(kr_future *f) {
    kr_once_cell_init *g = (kr_once_cell_init *)f;
    if (g->cell_ != NULL) {
        if (g->running_)
            kr__sem_release(&g->cell_->sem, 1); /* cancelled initialiser */
        else
            kr__acquire_drop(&g->cell_->sem, &g->a_);
    }
    g->running_ = 0;
    if (g->init_ != NULL) {
        kr_future *init = g->init_;
        g->init_ = NULL;
        kr_future_drop(init);
    }
}

KR_FUTURE_VTABLE(init_vtable, kr_once_cell_init, init_poll, init_drop,
                 sizeof(int));

static kr_once_cell_init make(kr_once_cell *c, kr_future *init,
                              const void **value, int try_) {
    kr_once_cell_init g;
    g.base.vtable = &init_vtable;
    g.cell_ = c;
    g.init_ = init;
    g.value_ = value;
    g.try_ = try_;
    g.running_ = 0;
    kr__acquire_init(&g.a_, 1);
    return g;
}

kr_once_cell_init kr_once_cell_get_or_init(kr_once_cell *c, kr_future *init,
                                           const void **value) {
    return make(c, init, value, 0);
}

kr_once_cell_init kr_once_cell_get_or_try_init(kr_once_cell *c, kr_future *init,
                                               const void **value) {
    return make(c, init, value, 1);
}
