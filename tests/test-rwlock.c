/*
 * RwLock: Tokio's tests/sync_rwlock.rs ported (same names), then kairo's
 * own: write preference by FIFO order, drops at every point, downgrade,
 * and a hammer of readers and writers from 8 plain threads and every
 * worker. KR_TEST_FLAVORS: ct mt
 *
 * Where the port differs: into_inner has no counterpart (the data lives
 * in the lock); zero_max_readers returns KR_EINVAL where Tokio panics;
 * downgrade_map/try_downgrade_map become kr_rwlock_downgrade (no map);
 * multithreaded uses a latch instead of a Barrier.
 */
#include <sched.h>

#include "mock.h"
#include "test.h"

static kr_rwlock *rw_new(size_t size, uint32_t max) {
    kr_rwlock *rw = NULL;
    assert_rc(max ? kr_rwlock_new_with_max_readers(size, max, &rw)
                  : kr_rwlock_new(size, &rw),
              0);
    return rw;
}

typedef struct slot {
    mock_task t;
    kr_rwlock_acquire f;
    kr_rwlock_guard g;
} slot;

static void rd(slot *s, kr_rwlock *rw) {
    mock_init(&s->t);
    s->f = kr_rwlock_read_future(rw);
    memset(&s->g, 0, sizeof(s->g));
}
static void wr(slot *s, kr_rwlock *rw) {
    mock_init(&s->t);
    s->f = kr_rwlock_write_future(rw);
    memset(&s->g, 0, sizeof(s->g));
}
static kr_poll pl(slot *s) { return mock_poll(&s->t, &s->f.base, &s->g); }
/* Drops the future and unlocks what it got. */
static void done(slot *s) {
    kr_future_drop(&s->f.base);
    kr_rwlock_unlock(&s->g);
    assert_int_equal(mock_refs(&s->t), 0);
}

#define P KR_PENDING
#define R KR_READY

static void read_shared(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(sizeof(int), 0);
    slot a, b;
    rd(&a, rw);
    rd(&b, rw);
    assert_int_equal(pl(&a), R);
    assert_int_equal(pl(&b), R);
    done(&a);
    done(&b);
    kr_rwlock_free(rw);
}

static void write_shared_pending(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    slot a, b;
    rd(&a, rw);
    wr(&b, rw);
    assert_int_equal(pl(&a), R);
    assert_int_equal(pl(&b), P);
    done(&b);
    done(&a);
    kr_rwlock_free(rw);
}

static void read_exclusive_pending(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    slot a, b;
    wr(&a, rw);
    rd(&b, rw);
    assert_int_equal(pl(&a), R);
    assert_int_equal(pl(&b), P);
    done(&b);
    done(&a);
    kr_rwlock_free(rw);
}

static void exhaust_reading(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 1024);
    static slot reads[1025];
    int n = 0;
    for (;;) {
        rd(&reads[n], rw);
        if (pl(&reads[n]) == P)
            break;
        n++;
    }
    assert_int_equal(n, 1024);
    slot t1;
    rd(&t1, rw);
    assert_int_equal(pl(&t1), P);
    done(&reads[n - 1]);
    /* reads[n] (pending) was first in line: it got the permit. */
    assert_true(mock_woken(&reads[n].t));
    assert_int_equal(pl(&reads[n]), R);
    done(&reads[n - 2]);
    assert_true(mock_woken(&t1.t));
    assert_int_equal(pl(&t1), R);
    done(&t1);
    done(&reads[n]);
    for (int i = 0; i < n - 2; i++)
        done(&reads[i]);
    kr_rwlock_free(rw);
}

static void zero_max_readers(void **state) {
    (void)state;
    kr_rwlock *rw;
    assert_rc(kr_rwlock_new_with_max_readers(0, 0, &rw), KR_EINVAL);
    assert_rc(kr_rwlock_new_with_max_readers(0, KR_RWLOCK_MAX_READS + 1, &rw),
              KR_EINVAL);
}

static void write_exclusive_pending(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    slot a, b;
    wr(&a, rw);
    wr(&b, rw);
    assert_int_equal(pl(&a), R);
    assert_int_equal(pl(&b), P);
    done(&b);
    done(&a);
    kr_rwlock_free(rw);
}

static void write_shared_drop(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    slot a, b;
    rd(&a, rw);
    wr(&b, rw);
    assert_int_equal(pl(&a), R);
    assert_int_equal(pl(&b), P);
    done(&a);
    assert_true(mock_woken(&b.t));
    assert_int_equal(pl(&b), R);
    done(&b);
    kr_rwlock_free(rw);
}

static void write_read_shared_pending(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    slot a, b, c, d;
    rd(&a, rw);
    rd(&b, rw);
    wr(&c, rw);
    rd(&d, rw);
    assert_int_equal(pl(&a), R);
    assert_int_equal(pl(&b), R);
    assert_int_equal(pl(&c), P);
    assert_int_equal(pl(&d), P);
    done(&d);
    done(&c);
    done(&a);
    done(&b);
    kr_rwlock_free(rw);
}

static void write_read_shared_drop_pending(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    slot a, b, c;
    rd(&a, rw);
    wr(&b, rw);
    rd(&c, rw);
    assert_int_equal(pl(&a), R);
    assert_int_equal(pl(&b), P);
    assert_int_equal(pl(&c), P);
    done(&b); /* gives back the permits it had gathered */
    assert_true(mock_woken(&c.t));
    assert_int_equal(pl(&c), R);
    done(&c);
    done(&a);
    kr_rwlock_free(rw);
}

static void read_uncontested(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_rwlock *rw = rw_new(sizeof(int), 0);
    kr_rwlock_guard g;
    assert_rc(kr_rwlock_try_write(rw, &g), 0);
    *(int *)g.data = 100;
    kr_rwlock_unlock(&g);
    kr_rwlock_acquire f = kr_rwlock_read_future(rw);
    assert_rc(kr_runtime_block_on(rt, &f.base, &g), 0);
    assert_int_equal(*(int *)g.data, 100);
    kr_rwlock_unlock(&g);
    test_runtime_free(rt);
    kr_rwlock_free(rw);
}

static void write_uncontested(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_rwlock *rw = rw_new(sizeof(int), 0);
    kr_rwlock_acquire f = kr_rwlock_write_future(rw);
    kr_rwlock_guard g;
    assert_rc(kr_runtime_block_on(rt, &f.base, &g), 0);
    *(int *)g.data += 150;
    assert_int_equal(*(int *)g.data, 150);
    kr_rwlock_unlock(&g);
    test_runtime_free(rt);
    kr_rwlock_free(rw);
}

/* Acquired in the order the futures are first polled, not made. */
static void write_order(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    slot f2, f1, holder;
    wr(&holder, rw);
    assert_int_equal(pl(&holder), R);
    wr(&f2, rw);
    wr(&f1, rw);
    assert_int_equal(pl(&f1), P);
    assert_int_equal(pl(&f2), P);
    done(&holder);
    assert_true(mock_woken(&f1.t));
    assert_false(mock_woken(&f2.t));
    assert_int_equal(pl(&f1), R);
    done(&f1);
    assert_int_equal(pl(&f2), R);
    done(&f2);
    kr_rwlock_free(rw);
}

typedef struct adder {
    kr_future base;
    kr_coro co;
    kr_rwlock *rw;
    unsigned add;
    test_latch *done;
    int i;
    kr_rwlock_acquire f;
    kr_rwlock_guard g;
} adder;

static kr_poll adder_poll(kr_future *fut, kr_context *cx, void *out) {
    adder *a = (adder *)fut;
    KR_ASYNC_BEGIN(&a->co);
    for (a->i = 0; a->i < 1000; a->i++) {
        a->f = kr_rwlock_write_future(a->rw);
        KR_AWAIT(&a->co, &a->f.base, cx, &a->g);
        *(unsigned *)a->g.data += a->add;
        kr_rwlock_unlock(&a->g);
    }
    test_latch_add(a->done, 1);
    KR_ASYNC_END(&a->co);
}
static void adder_drop(kr_future *f) { kr_coro_drop(&((adder *)f)->co); }
KR_FUTURE_VTABLE(adder_vt, adder, adder_poll, adder_drop, 0);

static void multithreaded(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    kr_rwlock *rw = rw_new(sizeof(unsigned), 0);
    test_latch l;
    test_latch_init(&l);
    unsigned adds[4] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++) {
        adder a = {.base = {&adder_vt},
                   .co = KR_CORO_INIT,
                   .rw = rw,
                   .add = adds[i],
                   .done = &l};
        assert_rc(kr_runtime_spawn(rt, &a.base, NULL), 0);
    }
    test_latch_wait w = test_latch_wait_for(&l, 4);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    kr_rwlock_guard g;
    assert_rc(kr_rwlock_try_read(rw, &g), 0);
    assert_int_equal(*(unsigned *)g.data, 17000);
    kr_rwlock_unlock(&g);
    test_runtime_free(rt);
    test_latch_destroy(&l);
    kr_rwlock_free(rw);
}

static void try_write(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 0);
    kr_rwlock_guard r, w;
    assert_rc(kr_rwlock_try_read(rw, &r), 0);
    assert_rc(kr_rwlock_try_write(rw, &w), KR_EBUSY);
    kr_rwlock_unlock(&r);
    assert_rc(kr_rwlock_try_write(rw, &w), 0);
    kr_rwlock_unlock(&w);
    kr_rwlock_free(rw);
}

static void try_read_try_write(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(sizeof(int), 0);
    kr_rwlock_guard r1, r2, w;
    assert_rc(kr_rwlock_try_write(rw, &w), 0);
    *(int *)w.data = 15;
    kr_rwlock_unlock(&w);
    assert_rc(kr_rwlock_try_read(rw, &r1), 0);
    assert_int_equal(*(int *)r1.data, 15);
    assert_rc(kr_rwlock_try_write(rw, &w), KR_EBUSY);
    assert_rc(kr_rwlock_try_read(rw, &r2), 0);
    kr_rwlock_unlock(&r1);
    kr_rwlock_unlock(&r2);
    assert_rc(kr_rwlock_try_write(rw, &w), 0);
    *(int *)w.data = 1515;
    assert_rc(kr_rwlock_try_read(rw, &r1), KR_EBUSY);
    kr_rwlock_unlock(&w);
    assert_rc(kr_rwlock_try_read(rw, &r1), 0);
    assert_int_equal(*(int *)r1.data, 1515);
    kr_rwlock_unlock(&r1);
    kr_rwlock_free(rw);
}

static void downgrade_map(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(sizeof(int), 0);
    kr_rwlock_guard w;
    assert_rc(kr_rwlock_try_write(rw, &w), 0);
    slot r;
    rd(&r, rw);
    assert_int_equal(pl(&r), P);
    assert_rc(kr_rwlock_downgrade(&w), 0);
    assert_true(mock_woken(&r.t));
    assert_int_equal(pl(&r), R);
    assert_ptr_equal(r.g.data, w.data);
    /* Still a read lock: no writer gets in. */
    kr_rwlock_guard w2;
    assert_rc(kr_rwlock_try_write(rw, &w2), KR_EBUSY);
    assert_rc(kr_rwlock_downgrade(&w), KR_EINVAL); /* now a read guard */
    done(&r);
    kr_rwlock_unlock(&w);
    assert_rc(kr_rwlock_try_write(rw, &w2), 0);
    kr_rwlock_unlock(&w2);
    kr_rwlock_free(rw);
}

/* ---- kairo ------------------------------------------------------------- */

/* Dropping a queued writer that had gathered part of the read permits at
 * every point: readers behind it get in, no permit is lost. */
static void rwlock_drop_at_every_point_loses_nothing(void **state) {
    (void)state;
    kr_rwlock *rw = rw_new(0, 4);
    for (int point = 0; point < 4; point++) {
        slot r1, r2, w, r3;
        rd(&r1, rw);
        rd(&r2, rw);
        wr(&w, rw);
        rd(&r3, rw);
        assert_int_equal(pl(&r1), R);
        assert_int_equal(pl(&r2), R); /* 2 of 4 left */
        if (point >= 1)
            assert_int_equal(pl(&w), P); /* gathers 2 */
        if (point >= 2)
            assert_int_equal(pl(&r3), P); /* behind the writer */
        if (point >= 3)
            done(&r1); /* writer gathers a third */
        kr_future_drop(&w.f.base);
        if (point >= 2)
            assert_true(mock_woken(&r3.t));
        assert_int_equal(pl(&r3), R);
        done(&r3);
        if (point < 3)
            done(&r1);
        done(&r2);
        kr_rwlock_guard g;
        assert_rc(kr_rwlock_try_write(rw, &g), 0); /* all 4 back */
        kr_rwlock_unlock(&g);
    }
    kr_rwlock_free(rw);
}

#define THREADS 8
#define TASKS   8

typedef struct rham {
    kr_rwlock *rw;
    atomic_int readers, writers;
    atomic_long bad;
    long iters;
} rham;

static void reader_in(rham *h) {
    atomic_fetch_add(&h->readers, 1);
    if (atomic_load(&h->writers) != 0)
        atomic_fetch_add(&h->bad, 1);
    atomic_fetch_sub(&h->readers, 1);
}

static void writer_in(rham *h, long *v) {
    if (atomic_fetch_add(&h->writers, 1) != 0 || atomic_load(&h->readers))
        atomic_fetch_add(&h->bad, 1);
    (*v)++;
    atomic_fetch_sub(&h->writers, 1);
}

typedef struct rham_task {
    kr_future base;
    kr_coro co;
    rham *h;
    test_latch *done;
    long i;
    kr_rwlock_acquire f;
    kr_rwlock_guard g;
} rham_task;

static kr_poll rham_poll(kr_future *fut, kr_context *cx, void *out) {
    rham_task *t = (rham_task *)fut;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < t->h->iters; t->i++) {
        t->f = t->i % 4 == 0 ? kr_rwlock_write_future(t->h->rw)
                             : kr_rwlock_read_future(t->h->rw);
        KR_AWAIT(&t->co, &t->f.base, cx, &t->g);
        if (t->i % 4 == 0)
            writer_in(t->h, t->g.data);
        else
            reader_in(t->h);
        kr_rwlock_unlock(&t->g);
    }
    test_latch_add(t->done, 1);
    KR_ASYNC_END(&t->co);
}
static void rham_drop(kr_future *f) { kr_coro_drop(&((rham_task *)f)->co); }
KR_FUTURE_VTABLE(rham_vt, rham_task, rham_poll, rham_drop, 0);

static void *rham_thread(void *arg) {
    rham *h = arg;
    for (long i = 0; i < h->iters; i++) {
        kr_rwlock_acquire f = i % 4 == 1 ? kr_rwlock_write_future(h->rw)
                                         : kr_rwlock_read_future(h->rw);
        kr_rwlock_guard g;
        thread_block_on(&f.base, &g);
        if (i % 4 == 1)
            writer_in(h, g.data);
        else
            reader_in(h);
        if (i % 64 == 0)
            sched_yield();
        kr_rwlock_unlock(&g);
    }
    return NULL;
}

static void rwlock_hammer_readers_writers_exact(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    rham h = {.rw = rw_new(sizeof(long), 0), .iters = test_scale(8000)};
    test_latch done;
    test_latch_init(&done);
    for (int i = 0; i < TASKS; i++) {
        rham_task t = {
            .base = {&rham_vt}, .co = KR_CORO_INIT, .h = &h, .done = &done};
        assert_rc(kr_runtime_spawn(rt, &t.base, NULL), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, rham_thread, &h), 0);
    test_latch_wait w = test_latch_wait_for(&done, TASKS);
    assert_rc(kr_runtime_block_on(rt, &w.base, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&h.bad), 0);
    kr_rwlock_guard g;
    assert_rc(kr_rwlock_try_write(h.rw, &g), 0);
    assert_int_equal(*(long *)g.data, (TASKS + THREADS) * (h.iters / 4));
    kr_rwlock_unlock(&g);
    test_runtime_free(rt);
    test_latch_destroy(&done);
    kr_rwlock_free(h.rw);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_shared),
        cmocka_unit_test(write_shared_pending),
        cmocka_unit_test(read_exclusive_pending),
        cmocka_unit_test(exhaust_reading),
        cmocka_unit_test(zero_max_readers),
        cmocka_unit_test(write_exclusive_pending),
        cmocka_unit_test(write_shared_drop),
        cmocka_unit_test(write_read_shared_pending),
        cmocka_unit_test(write_read_shared_drop_pending),
        cmocka_unit_test(read_uncontested),
        cmocka_unit_test(write_uncontested),
        cmocka_unit_test(write_order),
        cmocka_unit_test(multithreaded),
        cmocka_unit_test(try_write),
        cmocka_unit_test(try_read_try_write),
        cmocka_unit_test(downgrade_map),
        cmocka_unit_test(rwlock_drop_at_every_point_loses_nothing),
        cmocka_unit_test(rwlock_hammer_readers_writers_exact),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
