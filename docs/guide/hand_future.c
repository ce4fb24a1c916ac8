/*
 * Guide §1: a future written by hand. A gate that another thread opens:
 * poll checks the flag and, if it is closed, leaves a waker to be woken
 * when it opens. Run by ctest (guide/hand_future).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "kairo.h"

// [gate]
typedef struct {
    pthread_mutex_t mu;
    bool open;
    kr_waker waiter; /* no waker (vtable NULL), or one owned reference */
} gate;

typedef struct {
    kr_future base; /* first: the vtable */
    gate *g;
} gate_wait;

static kr_poll gate_wait_poll(kr_future *f, kr_context *cx, void *out) {
    gate *g = ((gate_wait *)f)->g;
    (void)out; /* no output */
    pthread_mutex_lock(&g->mu);
    bool open = g->open;
    if (!open) /* keep (a clone of) the waker; skip it if it is the same */
        kr_waker_set(&g->waiter, kr_context_waker(cx));
    pthread_mutex_unlock(&g->mu);
    return open ? KR_READY : KR_PENDING;
}

/* Dropped early (cancelled): nothing of ours is registered anywhere but
 * the gate's slot, which the gate's owner empties. */
KR_FUTURE_VTABLE(gate_wait_vt, gate_wait, gate_wait_poll, NULL, 0);

static void gate_open(gate *g) { /* any thread */
    pthread_mutex_lock(&g->mu);
    g->open = true;
    kr_waker w = g->waiter;
    g->waiter = (kr_waker){NULL, NULL};
    pthread_mutex_unlock(&g->mu);
    if (w.vtable != NULL)
        kr_waker_wake(w); /* consumes our reference; outside the lock */
}
// [/gate]

static void *opener(void *arg) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    gate_open(arg);
    return NULL;
}

int main(void) {
    gate g = {PTHREAD_MUTEX_INITIALIZER, false, {NULL, NULL}};
    kr_runtime *rt;
    if (kr_runtime_new(NULL, &rt) != 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, opener, &g);
    // [use]
    gate_wait w = {{&gate_wait_vt}, &g};
    int rc = kr_runtime_block_on(rt, &w.base, NULL); /* parks until opened */
    // [/use]
    pthread_join(t, NULL);
    kr_waker_reset(&g.waiter);
    kr_runtime_free(rt);
    return rc == 0 && g.open ? 0 : 1;
}
