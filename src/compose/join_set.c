/*
 * compose/join_set.c: kr_join_set (kairo/join_set.h).
 *
 * Each task of a set has an entry: its join handle, a node on one of the
 * set's two lists (idle: nothing to look at; notified: polled by the next
 * join_next), and a reference count. The entry is the data of the join
 * waker its handle registers, so the task's completion moves the entry to
 * the notified list and wakes whoever waits in join_next: join_next polls
 * only notified entries.
 *
 * Protocol (every `where` and list operation under set->lock):
 *   IDLE      on the idle list. A wake moves it to notified and takes the
 *             set's waiter to wake (after unlocking).
 *   NOTIFIED  on the notified list. A wake does nothing more.
 *   POLLING   on no list: join_next took it and polls its handle without
 *             the lock. A wake marks it WOKEN, so the poll, if PENDING,
 *             puts it back on notified instead of idle (no lost wake).
 *   REMOVED   joined or detached: on no list, never again. Wakes do
 *             nothing; the entry lives on only while wakers reference it.
 *
 * Lifetimes: an entry holds one reference while it is in the set and one
 * per clone of its waker (the task's join-waker slot holds one, which the
 * runtime may drop after the set is gone). Every entry holds a reference
 * on the set's memory, and so does the set's owner: the struct is freed
 * by whichever of kr_join_set_free and the last entry goes last.
 */
#include <string.h>

#include "core/context.h"
#include "core/coop.h"
#include "kairo/error.h"
#include "kairo/join_set.h"
#include "kairo/runtime.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/list.h"
#include "util/spinlock.h"

enum { IDLE, NOTIFIED, POLLING, WOKEN, REMOVED };

typedef struct entry {
    kr_join_handle jh;
    kr__list link;
    kr_join_set *set;
    _Atomic size_t refs;
    int where;
} entry;

struct kr_join_set {
    kr__spinlock lock;
    kr__list idle, notified; /* under lock */
    kr_waker waiter;         /* under lock: the task in join_next */
    size_t len;              /* the owner's */
    size_t output_size;
    _Atomic size_t refs; /* the owner's and one per entry */
};

static void set_unref(kr_join_set *s) {
    if (kr__fetch_sub_acqrel(&s->refs, 1) == 1)
        kr__free(s);
}

static void entry_unref(entry *e) {
    if (kr__fetch_sub_acqrel(&e->refs, 1) == 1) {
        kr_join_set *s = e->set;
        kr__free(e);
        set_unref(s);
    }
}

/* ---- the entry's waker -------------------------------------------------- */

static const kr_waker_vtable entry_waker_vt;

static kr_waker entry_clone(const void *data) {
    entry *e = (entry *)data;
    kr__fetch_add_relaxed(&e->refs, 1);
    kr_waker w = {e, &entry_waker_vt};
    return w;
}

static void entry_wake_by_ref(const void *data) {
    entry *e = (entry *)data;
    kr_join_set *s = e->set;
    kr_waker w = {NULL, NULL};
    kr__spin_lock(&s->lock);
    if (e->where == IDLE) {
        kr__list_remove(&e->link);
        kr__list_push_back(&s->notified, &e->link);
        e->where = NOTIFIED;
        w = s->waiter;
        s->waiter.vtable = NULL;
        s->waiter.data = NULL;
    } else if (e->where == POLLING) {
        e->where = WOKEN;
    }
    kr__spin_unlock(&s->lock);
    if (w.vtable != NULL)
        kr_waker_wake(w);
}

static void entry_drop_waker(const void *data) { entry_unref((entry *)data); }

static void entry_wake(const void *data) {
    entry_wake_by_ref(data);
    entry_drop_waker(data);
}

static const kr_waker_vtable entry_waker_vt = {
    entry_clone, entry_wake, entry_wake_by_ref, entry_drop_waker};

/* ---- the set ------------------------------------------------------------- */

int kr_join_set_new(size_t output_size, kr_join_set **out) {
    if (out == NULL)
        return KR_EINVAL;
    kr_join_set *s = kr__malloc(sizeof(*s));
    if (s == NULL)
        return KR_ENOMEM;
    kr__spin_init(&s->lock);
    kr__list_init(&s->idle);
    kr__list_init(&s->notified);
    s->waiter.data = NULL;
    s->waiter.vtable = NULL;
    s->len = 0;
    s->output_size = output_size;
    atomic_init(&s->refs, 1);
    *out = s;
    return 0;
}

static int spawn_into(kr_join_set *s, kr_runtime *rt, const kr_future *f,
                      kr_abort_handle **abort) {
    if (abort != NULL)
        *abort = NULL;
    if (s == NULL || f == NULL || f->vtable == NULL ||
        f->vtable->output_size != s->output_size)
        return KR_EINVAL;
    entry *e = kr__malloc(sizeof(*e));
    if (e == NULL)
        return KR_ENOMEM;
    int rc = rt != NULL ? kr_runtime_spawn(rt, f, &e->jh) : kr_spawn(f, &e->jh);
    if (rc == 0 && abort != NULL) {
        rc = kr_join_handle_abort_handle(&e->jh, abort);
        if (rc != 0) { /* no memory: take the task back */
            (void)kr_join_handle_abort(&e->jh);
            kr_join_handle_drop(&e->jh);
            rc = KR_ENOMEM;
        }
    }
    if (rc != 0) {
        kr__free(e);
        return rc;
    }
    e->set = s;
    kr__list_node_init(&e->link);
    atomic_init(&e->refs, 1);
    kr__fetch_add_relaxed(&s->refs, 1);
    /* Notified from the start: the first join_next polls its handle once,
     * which registers the entry's waker with the task. */
    kr__spin_lock(&s->lock);
    e->where = NOTIFIED;
    kr__list_push_back(&s->notified, &e->link);
    kr_waker w = s->waiter;
    s->waiter.vtable = NULL;
    s->waiter.data = NULL;
    kr__spin_unlock(&s->lock);
    s->len++;
    if (w.vtable != NULL)
        kr_waker_wake(w);
    return 0;
}

int kr_join_set_spawn(kr_join_set *s, const kr_future *f,
                      kr_abort_handle **abort) {
    return spawn_into(s, NULL, f, abort);
}

int kr_join_set_spawn_on(kr_join_set *s, kr_runtime *rt, const kr_future *f,
                         kr_abort_handle **abort) {
    if (rt == NULL) {
        if (abort != NULL)
            *abort = NULL;
        return KR_EINVAL;
    }
    return spawn_into(s, rt, f, abort);
}

size_t kr_join_set_len(const kr_join_set *s) { return s == NULL ? 0 : s->len; }

void kr_join_set_abort_all(kr_join_set *s) {
    if (s == NULL)
        return;
    /* Entries stay on the lists (abort only schedules the task), and the
     * lock keeps wakes from moving them while we walk. */
    kr__spin_lock(&s->lock);
    kr__list *heads[2] = {&s->idle, &s->notified};
    for (int h = 0; h < 2; h++) {
        KR__LIST_FOR_EACH(it, tmp, heads[h]) {
            entry *e = KR__CONTAINER_OF(it, entry, link);
            (void)kr_join_handle_abort(&e->jh);
        }
    }
    kr__spin_unlock(&s->lock);
}

void kr_join_set_detach_all(kr_join_set *s) {
    if (s == NULL)
        return;
    kr__list all;
    kr__list_init(&all);
    kr__spin_lock(&s->lock);
    kr__list_splice_back(&all, &s->idle);
    kr__list_splice_back(&all, &s->notified);
    KR__LIST_FOR_EACH(it, tmp, &all) {
        KR__CONTAINER_OF(it, entry, link)->where = REMOVED;
    }
    kr__spin_unlock(&s->lock);
    /* REMOVED: no wake touches these links any more. */
    while (!kr__list_empty(&all)) {
        entry *e = KR__CONTAINER_OF(kr__list_pop_front(&all), entry, link);
        kr_join_handle_drop(&e->jh);
        entry_unref(e);
    }
    s->len = 0;
}

void kr_join_set_free(kr_join_set *s) {
    if (s == NULL)
        return;
    kr_join_set_abort_all(s);
    kr_join_set_detach_all(s);
    kr__spin_lock(&s->lock);
    kr_waker w = s->waiter;
    s->waiter.vtable = NULL;
    s->waiter.data = NULL;
    kr__spin_unlock(&s->lock);
    if (w.vtable != NULL)
        kr_waker_drop(w);
    set_unref(s);
}

/* ---- joining ------------------------------------------------------------- */

/* Polls notified entries until one is READY (true, *rc its result) or none
 * is left (false). `park`: the waker to leave for the next completion
 * (join_next's), or NULL (try_join_next). */
static bool next_ready(kr_join_set *s, const kr_waker *park,
                       const kr_await_site **site, void *out, int *rc) {
    for (;;) {
        kr__spin_lock(&s->lock);
        if (kr__list_empty(&s->notified)) {
            if (park != NULL)
                kr_waker_set(&s->waiter, park);
            kr__spin_unlock(&s->lock);
            return false;
        }
        entry *e =
            KR__CONTAINER_OF(kr__list_pop_front(&s->notified), entry, link);
        e->where = POLLING;
        kr__spin_unlock(&s->lock);

        kr_waker w = {e, &entry_waker_vt};
        kr_context ecx = {&w, site, {NULL, NULL}};
        if (kr_future_poll(&e->jh.base, &ecx, out) == KR_READY) {
            *rc = kr_join_handle_error(&e->jh);
            kr__spin_lock(&s->lock);
            e->where = REMOVED;
            kr__spin_unlock(&s->lock);
            s->len--;
            entry_unref(e);
            return true;
        }
        kr__spin_lock(&s->lock);
        kr__list_push_back(e->where == WOKEN ? &s->notified : &s->idle,
                           &e->link);
        e->where = e->where == WOKEN ? NOTIFIED : IDLE;
        kr__spin_unlock(&s->lock);
    }
}

static kr_poll join_next_poll(kr_future *f, kr_context *cx, void *out) {
    kr_join_next *j = (kr_join_next *)f;
    kr_join_set *s = j->set_;
    int rc = KR_EEMPTY;
    if (s->len != 0) {
        /* A handle polled with the budget spent would wake the entry's
         * waker, not the task's: check it here first (and spend only what
         * the READY handle spends). */
        if (!kr_coop_proceed(cx))
            return KR_PENDING;
        kr__coop_refund();
        if (!next_ready(s, cx->waker, cx->site, j->out_, &rc))
            return KR_PENDING;
    }
    if (out != NULL)
        *(int *)out = rc;
    return KR_READY;
}

const kr_future_vtable kr__join_next_vtable = {
    join_next_poll, NULL, sizeof(kr_join_next), sizeof(int), "kr_join_next"};

int kr_join_set_try_join_next(kr_join_set *s, void *out) {
    if (s == NULL)
        return KR_EINVAL;
    if (s->len == 0)
        return KR_EEMPTY;
    /* With the task's budget spent a handle can only say PENDING (and
     * wake its entry, which would send us round again): report "nothing
     * now", and the caller yields. */
    if (kr__ctx.budget == 0)
        return KR_EAGAIN;
    int rc;
    return next_ready(s, NULL, NULL, out, &rc) ? rc : KR_EAGAIN;
}
