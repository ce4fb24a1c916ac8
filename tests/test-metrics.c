/*
 * Runtime metrics (kairo/observe.h): each counter against a workload that
 * makes a known number of polls, spawns, steals, parks and yields. Most
 * cases follow Tokio's tokio/tests/rt_metrics.rs and rt_unstable_metrics.rs
 * and carry their names. KR_TEST_FLAVORS: ct mt
 */
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#include "sched/local_queue.h"

static bool is_mt(void) { return test_flavor() == KR_RUNTIME_MULTI_THREAD; }

static kr_runtime *runtime_with(kr_runtime_config *c) {
    c->flavor = test_flavor();
    if (c->workers == 0)
        c->workers = 2;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(c, &rt), 0);
    return rt;
}

static kr_runtime_metrics metrics(kr_runtime *rt) {
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    return m;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns) {
    uint64_t end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

/* ---- futures ------------------------------------------------------------ */

/* Ready at once; optionally spins first and records what the runtime's
 * metrics said during its poll. */
typedef struct quick {
    kr_future base;
    kr_runtime *rt;
    uint64_t spin_ns;
    kr_runtime_metrics *seen;
} quick;

static kr_poll quick_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    quick *q = (quick *)f;
    if (q->spin_ns != 0)
        spin_ns(q->spin_ns);
    if (q->seen != NULL)
        *q->seen = metrics(q->rt);
    return KR_READY;
}
KR_FUTURE_VTABLE(quick_vt, quick, quick_poll, NULL, 0);

static quick quick_make(kr_runtime *rt, uint64_t spin, kr_runtime_metrics *s) {
    quick q = {{&quick_vt}, rt, spin, s};
    return q;
}

/* block_on: spawns n quick tasks one after another, awaiting each. */
typedef struct serial {
    kr_future base;
    int n, i, waiting;
    uint64_t spin_ns;
    kr_join_handle jh;
} serial;

static kr_poll serial_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    serial *s = (serial *)f;
    for (;;) {
        if (s->waiting) {
            if (kr_future_poll(&s->jh.base, cx, NULL) == KR_PENDING)
                return KR_PENDING;
            s->waiting = 0;
            s->i++;
        }
        if (s->i == s->n)
            return KR_READY;
        quick q = quick_make(NULL, s->spin_ns, NULL);
        assert_rc(kr_spawn(&q.base, &s->jh), 0);
        s->waiting = 1;
    }
}
static void serial_drop(kr_future *f) {
    serial *s = (serial *)f;
    if (s->waiting)
        kr_join_handle_drop(&s->jh);
}
KR_FUTURE_VTABLE(serial_vt, serial, serial_poll, serial_drop, 0);

static void run_serial(kr_runtime *rt, int n, uint64_t spin) {
    serial s = {{&serial_vt}, n, 0, 0, spin, {{NULL}, NULL, 0, 0}};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
}

/* A task that blocks its worker until `release` is set (or 20 s pass). */
typedef struct blocker {
    kr_future base;
    atomic_int *started, *release;
} blocker;

static kr_poll blocker_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    blocker *b = (blocker *)f;
    atomic_fetch_add(b->started, 1);
    uint64_t end = now_ns() + 20000000000ull;
    while (!atomic_load(b->release) && now_ns() < end)
        test_sleep_ms(1);
    return KR_READY;
}
KR_FUTURE_VTABLE(blocker_vt, blocker, blocker_poll, NULL, 0);

static bool wait_flag(atomic_int *flag, int target) {
    for (int i = 0; i < 20000; i++) {
        if (atomic_load(flag) >= target)
            return true;
        test_sleep_ms(1);
    }
    return false;
}

/* ---- Tokio: rt_metrics.rs --------------------------------------------- */

static void num_workers(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    assert_int_equal(metrics(rt).workers, is_mt() ? 2 : 1);
    kr_worker_metrics wm;
    assert_rc(kr_runtime_worker_metrics_get(rt, is_mt() ? 1 : 0, &wm), 0);
    assert_rc(kr_runtime_worker_metrics_get(rt, is_mt() ? 2 : 1, &wm),
              KR_EINVAL);
    assert_rc(kr_runtime_worker_metrics_get(NULL, 0, &wm), KR_EINVAL);
    assert_rc(kr_runtime_worker_metrics_get(rt, 0, NULL), KR_EINVAL);
    assert_rc(kr_runtime_metrics_get(rt, NULL), KR_EINVAL);
    test_runtime_free(rt);
}

/* Polls a quick task to completion from block_on. */
static void block_on_task(kr_runtime *rt, quick *q) {
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &q->base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
}

/* Tokio's num_alive_tasks and spawned_tasks_count (rt_unstable_metrics). */
static void num_alive_tasks(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    kr_runtime_metrics seen, m = metrics(rt);
    assert_int_equal(m.alive, 0);
    assert_int_equal(m.spawned, 0);
    quick q = quick_make(rt, 0, &seen);
    block_on_task(rt, &q);
    assert_int_equal(seen.alive, 1);
    assert_int_equal(seen.spawned, 1);
    /* The join handle's wake can come before the completion's count
     * (Tokio's test waits for it the same way). */
    for (int i = 0; i < 10000 && metrics(rt).alive != 0; i++)
        test_sleep_ms(1);
    m = metrics(rt);
    assert_int_equal(m.alive, 0);
    assert_int_equal(m.spawned, 1);
    assert_int_equal(m.completed, 1);
    test_runtime_free(rt);
}

static void spawned_tasks_count(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    run_serial(rt, 7, 0);
    assert_int_equal(metrics(rt).spawned, 7);
    test_runtime_free(rt);
}

static void global_queue_depth(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    atomic_int started = 0, release = 0;
    int nblock = is_mt() ? 2 : 0;
    for (int i = 0; i < nblock; i++) {
        blocker b = {{&blocker_vt}, &started, &release};
        assert_rc(kr_runtime_spawn(rt, &b.base, NULL), 0);
    }
    assert_true(wait_flag(&started, nblock));
    /* Every worker is stuck (or, on current-thread, nothing drives the
     * runtime): remote spawns stay in the inject queue. */
    for (unsigned i = 0; i < 10; i++) {
        assert_int_equal(metrics(rt).inject_queue_depth, i);
        quick q = quick_make(NULL, 0, NULL);
        assert_rc(kr_runtime_spawn(rt, &q.base, NULL), 0);
    }
    atomic_store(&release, 1);
    run_serial(rt, 1, 0); /* current-thread: runs them */
    for (int i = 0; i < 10000 && metrics(rt).inject_queue_depth != 0; i++)
        test_sleep_ms(1);
    assert_int_equal(metrics(rt).inject_queue_depth, 0);
    test_runtime_free(rt);
}

/* The inject queue's depth is counted at both ends; the popping end must
 * count the batch it took, not how much its run queue grew, which a
 * stealer can shrink in the meantime. Released workers race: one pops a
 * batch while the other, finding the queue's lock taken, steals from it. */
static void global_queue_depth_with_stealing(void **state) {
    (void)state;
    if (!is_mt())
        skip();
    kr_runtime *rt = test_runtime(2);
    uint64_t total = 0;
    /* One pair of flags for every round, reset with atomic stores: the
     * last round's blockers read them up to their completion, which the
     * relaxed metrics below do not order before a plain re-initialisation
     * (a race in the test, which TSan began to report when the runtime's
     * wake-up path made fewer system calls: TSan takes an fd's write and
     * read for synchronisation). */
    atomic_int started = 0, release = 0;
    for (int round = 0; round < 200; round++) {
        atomic_store(&started, 0);
        atomic_store(&release, 0);
        for (int i = 0; i < 2; i++) {
            blocker b = {{&blocker_vt}, &started, &release};
            assert_rc(kr_runtime_spawn(rt, &b.base, NULL), 0);
        }
        assert_true(wait_flag(&started, 2));
        for (unsigned i = 0; i < 64; i++) {
            quick q = quick_make(NULL, 0, NULL);
            assert_rc(kr_runtime_spawn(rt, &q.base, NULL), 0);
        }
        total += 66;
        atomic_store(&release, 1);
        for (int i = 0; i < 10000 && metrics(rt).completed < total; i++)
            test_sleep_ms(1);
        kr_runtime_metrics m = metrics(rt);
        assert_int_equal(m.completed, total);
        if (m.inject_queue_depth != 0)
            fail_msg("round %d: %llu tasks left counted in the inject queue, "
                     "all of them done",
                     round, (unsigned long long)m.inject_queue_depth);
    }
    test_runtime_free(rt);
}

static void worker_total_busy_duration(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    run_serial(rt, 5, 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    for (unsigned i = 0; i < metrics(rt).workers; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, i, &wm), 0);
        assert_true(wm.busy_ns > 0);
    }
    test_runtime_free(rt);
}

typedef struct napper {
    kr_future base;
    kr_sleep nap;
} napper;

static kr_poll napper_poll(kr_future *f, kr_context *cx, void *out) {
    return kr_future_poll(&((napper *)f)->nap.base, cx, out);
}
static void napper_drop(kr_future *f) {
    kr_future_drop(&((napper *)f)->nap.base);
}
KR_FUTURE_VTABLE(napper_vt, napper, napper_poll, napper_drop, 0);

typedef struct park_watch {
    kr_runtime *rt;
    test_latch *latch;
} park_watch;

/* Bumps the latch once worker 0 has parked (or after 10 s, and then the
 * test's assertion fails), reading its metrics from this thread. */
static void *bump_after_park(void *arg) {
    park_watch *p = arg;
    for (int i = 0; i < 10000; i++) {
        kr_worker_metrics wm;
        if (kr_runtime_worker_metrics_get(p->rt, 0, &wm) == 0 && wm.parks >= 1)
            break;
        test_sleep_ms(1);
    }
    test_latch_add(p->latch, 1);
    return NULL;
}

static void worker_park_count(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    /* A task waiting on a latch that a thread bumps only once worker 0
     * has parked. (A 1 ms sleep, as this was, could expire before the
     * worker got to park: a TSan run at load failed so once.) */
    test_latch l;
    test_latch_init(&l);
    test_latch_wait w = test_latch_wait_for(&l, 1);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &w.base, &jh), 0);
    park_watch pw = {rt, &l};
    pthread_t th;
    pthread_create(&th, NULL, bump_after_park, &pw);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    pthread_join(th, NULL);
    test_latch_destroy(&l);
    if (is_mt()) /* the idle workers park at start-up */
        for (int i = 0; i < 10000; i++) {
            kr_worker_metrics a, b;
            kr_runtime_worker_metrics_get(rt, 0, &a);
            kr_runtime_worker_metrics_get(rt, 1, &b);
            if (a.parks >= 1 && b.parks >= 1)
                break;
            test_sleep_ms(1);
        }
    assert_rc(kr_runtime_shutdown(rt), 0);
    for (unsigned i = 0; i < metrics(rt).workers; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, i, &wm), 0);
        assert_true(wm.parks >= 1);
    }
    test_runtime_free(rt);
}

static void worker_park_unpark_count(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    run_serial(rt, 3, 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    /* Every park is followed by its unpark, shutdown included. */
    for (unsigned i = 0; i < metrics(rt).workers; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, i, &wm), 0);
        assert_int_equal(wm.parks, wm.unparks);
    }
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.parks, m.unparks);
    test_runtime_free(rt);
}

/* ---- Tokio: rt_unstable_metrics.rs ------------------------------------ */

/* Waits on a latch a plain thread bumps: one wake from outside. */
static void *bump_later(void *arg) {
    test_sleep_ms(20);
    test_latch_add(arg, 1);
    return NULL;
}

static void remote_schedule_count(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    test_latch l;
    test_latch_init(&l);
    test_latch_wait w = test_latch_wait_for(&l, 1);
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &w.base, &jh), 0);
    pthread_t th;
    pthread_create(&th, NULL, bump_later, &l);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    pthread_join(th, NULL);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.remote_spawns, 1);
    /* The latch's wake, unless the task had not parked yet by then. */
    assert_true(m.remote_schedules <= 1);
    test_latch_destroy(&l);
    test_runtime_free(rt);
}

static void worker_poll_count_and_time(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    run_serial(rt, 5, 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.polls, 5); /* block_on's future is not a task */
    uint64_t sum = 0;
    for (unsigned i = 0; i < m.workers; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, i, &wm), 0);
        sum += wm.polls;
        /* Off unless configured. */
        assert_int_equal(wm.poll_time.buckets, 0);
    }
    assert_int_equal(sum, 5);
    assert_int_equal(m.poll_time.buckets, 0);
    test_runtime_free(rt);
}

static void log_histogram(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.poll_histogram.buckets = 3;
    c.poll_histogram.sample = 1; /* exact */
    c.poll_histogram.scale = KR_HISTOGRAM_LOG2;
    c.poll_histogram.width_ns = 50000000; /* 50 ms, 100 ms, above */
    kr_runtime *rt = runtime_with(&c);
    run_serial(rt, 20, 0); /* quick polls: all in bucket 0 */
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.poll_time.buckets, 3);
    uint64_t sum = 0;
    for (unsigned i = 0; i < 3; i++)
        sum += m.poll_time.count[i];
    assert_int_equal(sum, 20);
    /* No quick poll reaches 50 ms unless the machine stalls it: most are
     * in bucket 0. */
    assert_true(m.poll_time.count[0] >= 15);
    uint64_t lo, hi;
    assert_rc(kr_histogram_bucket_range(&c.poll_histogram, 0, &lo, &hi), 0);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 50000000);
    assert_rc(kr_histogram_bucket_range(&c.poll_histogram, 1, &lo, &hi), 0);
    assert_int_equal(lo, 50000000);
    assert_int_equal(hi, 100000000);
    assert_rc(kr_histogram_bucket_range(&c.poll_histogram, 2, &lo, &hi), 0);
    assert_int_equal(lo, 100000000);
    assert_true(hi == UINT64_MAX);
    assert_rc(kr_histogram_bucket_range(&c.poll_histogram, 3, &lo, &hi),
              KR_EINVAL);
    test_runtime_free(rt);
}

static void worker_poll_count_histogram(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.poll_histogram.buckets = 3;
    c.poll_histogram.sample = 1; /* exact */
    c.poll_histogram.scale = KR_HISTOGRAM_LINEAR;
    c.poll_histogram.width_ns = 20000000; /* 0-20 ms, 20-40 ms, above */
    kr_runtime *rt = runtime_with(&c);
    run_serial(rt, 5, 0);
    run_serial(rt, 2, 60000000); /* two polls of 60 ms: the last bucket */
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    uint64_t sum = 0;
    for (unsigned i = 0; i < 3; i++)
        sum += m.poll_time.count[i];
    assert_int_equal(sum, 7);
    assert_int_equal(m.poll_time.count[2], 2);
    uint64_t lo, hi;
    assert_rc(kr_histogram_bucket_range(&c.poll_histogram, 1, &lo, &hi), 0);
    assert_int_equal(lo, 20000000);
    assert_int_equal(hi, 40000000);
    test_runtime_free(rt);
}

static void
worker_poll_count_histogram_disabled_without_explicit_enable(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.poll_histogram.width_ns = 1000; /* buckets 0: still off */
    kr_runtime *rt = runtime_with(&c);
    run_serial(rt, 3, 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.poll_time.buckets, 0);
    for (unsigned i = 0; i < KR_HISTOGRAM_MAX_BUCKETS; i++)
        assert_int_equal(m.poll_time.count[i], 0);
    test_runtime_free(rt);
}

/* A task that uses up its budget once, then completes. */
typedef struct greedy {
    kr_future base;
    int yielded;
} greedy;

static kr_poll greedy_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    greedy *g = (greedy *)f;
    if (g->yielded)
        return KR_READY;
    while (kr_coop_proceed(cx)) {
    }
    g->yielded = 1;
    return KR_PENDING; /* kr_coop_proceed woke us */
}
KR_FUTURE_VTABLE(greedy_vt, greedy, greedy_poll, NULL, 0);

/* Tokio counts the block_on future's forced yields too; kairo counts
 * tasks' (a block_on future is not polled by a worker). */
static void budget_exhaustion_yield(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    assert_int_equal(metrics(rt).budget_yields, 0);
    greedy g = {{&greedy_vt}, 0};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &g.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.budget_yields, 1);
    assert_int_equal(m.polls, 2);
    test_runtime_free(rt);
}

/* A task spawning 300 tasks while the other worker is blocked: its queue
 * (256) overflows into the inject queue once. */
typedef struct spawner {
    kr_future base;
    int n;
    atomic_int *started;
    int need_started;
} spawner;

static kr_poll spawner_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    spawner *s = (spawner *)f;
    if (s->need_started)
        assert_true(wait_flag(s->started, s->need_started));
    for (int i = 0; i < s->n; i++) {
        quick q = quick_make(NULL, 0, NULL);
        assert_rc(kr_spawn(&q.base, NULL), 0);
    }
    return KR_READY;
}
KR_FUTURE_VTABLE(spawner_vt, spawner, spawner_poll, NULL, 0);

static void worker_overflow_count(void **state) {
    (void)state;
    if (!is_mt())
        skip(); /* the current-thread queue is unbounded */
    kr_runtime *rt = test_runtime(2);
    atomic_int started = 0, release = 0;
    spawner s = {{&spawner_vt}, 300, &started, 1};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &s.base, &jh), 0);
    /* Remote, so a worker other than the spawner's takes it. */
    for (int i = 0; i < 1000 && metrics(rt).polls == 0; i++)
        test_sleep_ms(1);
    blocker b = {{&blocker_vt}, &started, &release};
    assert_rc(kr_runtime_spawn(rt, &b.base, NULL), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    atomic_store(&release, 1);
    kr_runtime_metrics m = metrics(rt);
    /* 300 spawns overflow a 256-slot queue once (Tokio's figure); the
     * torture build's 4-slot queue overflows on most of them. */
    if (KR__LQ_CAP == 256)
        assert_int_equal(m.overflows, 1);
    else
        assert_true(m.overflows > 1);
    test_runtime_free(rt);
}

/* block_on (current-thread): spawns n tasks, then reads the depth. */
typedef struct fill {
    kr_future base;
    kr_runtime *rt;
    int n;
    unsigned depth;
} fill;

static kr_poll fill_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    fill *s = (fill *)f;
    for (int i = 0; i < s->n; i++) {
        quick q = quick_make(NULL, 0, NULL);
        assert_rc(kr_spawn(&q.base, NULL), 0);
    }
    kr_worker_metrics wm;
    assert_rc(kr_runtime_worker_metrics_get(s->rt, 0, &wm), 0);
    s->depth = wm.local_queue_depth;
    return KR_READY;
}
KR_FUTURE_VTABLE(fill_vt, fill, fill_poll, NULL, 0);

static void worker_local_queue_depth(void **state) {
    (void)state;
    if (is_mt())
        skip(); /* block_on's spawns are remote there; see overflow_count */
    kr_runtime *rt = test_runtime(2);
    /* From block_on, on the current-thread runtime, spawns are local. */
    fill s = {{&fill_vt}, rt, 100, 0};
    assert_rc(kr_runtime_block_on(rt, &s.base, NULL), 0);
    assert_int_equal(s.depth, 100);
    run_serial(rt, 1, 0); /* runs them */
    kr_worker_metrics wm;
    assert_rc(kr_runtime_worker_metrics_get(rt, 0, &wm), 0);
    assert_int_equal(wm.local_queue_depth, 0);
    test_runtime_free(rt);
}

/* A task whose worker steals: the spawner blocks its worker until the
 * child ran elsewhere (the monitor wakes a peer to steal it). */
typedef struct steal_parent {
    kr_future base;
    atomic_int *child_ran;
} steal_parent;

typedef struct steal_child {
    kr_future base;
    atomic_int *ran;
} steal_child;

static kr_poll steal_child_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    atomic_store(((steal_child *)f)->ran, 1);
    return KR_READY;
}
KR_FUTURE_VTABLE(steal_child_vt, steal_child, steal_child_poll, NULL, 0);

static kr_poll steal_parent_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    steal_parent *p = (steal_parent *)f;
    steal_child c = {{&steal_child_vt}, p->child_ran};
    assert_rc(kr_spawn(&c.base, NULL), 0);
    assert_true(wait_flag(p->child_ran, 1));
    return KR_READY;
}
KR_FUTURE_VTABLE(steal_parent_vt, steal_parent, steal_parent_poll, NULL, 0);

static void worker_steal_count(void **state) {
    (void)state;
    if (!is_mt())
        skip();
    kr_runtime *rt = test_runtime(2);
    atomic_int ran = 0;
    steal_parent p = {{&steal_parent_vt}, &ran};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &p.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_true(m.steal_ops >= 1);
    assert_true(m.stolen_tasks >= m.steal_ops);
    test_runtime_free(rt);
}

/* ---- Tokio: the blocking pool (rt_unstable_metrics.rs) ----------------- */

static void *noop_job(void *arg) { return arg; }

static void num_blocking_threads(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    assert_int_equal(metrics(rt).blocking_threads, 0);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, noop_job, NULL, &h), 0);
    assert_rc(kr_runtime_block_on(rt, &h.base, NULL), 0);
    assert_int_equal(metrics(rt).blocking_threads, 1);
    test_runtime_free(rt);
}

/* Tokio sleeps 5 ms, then 1 s, before it looks; here the look repeats
 * (up to 20 s) until the thread has gone idle. */
static void num_idle_blocking_threads(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    assert_int_equal(metrics(rt).blocking_idle, 0);
    kr_join_handle h;
    assert_rc(kr_runtime_spawn_blocking(rt, noop_job, NULL, &h), 0);
    assert_rc(kr_runtime_block_on(rt, &h.base, NULL), 0);
    for (int i = 0; i < 20000 && metrics(rt).blocking_idle == 0; i++)
        test_sleep_ms(1);
    assert_int_equal(metrics(rt).blocking_idle, 1);
    assert_int_equal(metrics(rt).blocking_busy, 0);
    test_runtime_free(rt);
}

static void *wait_gate(void *arg) {
    atomic_int *gate = arg;
    for (int i = 0; i < 20000 && !atomic_load(gate); i++)
        test_sleep_ms(1);
    return NULL;
}

static void blocking_queue_depth(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.max_blocking_threads = 1;
    kr_runtime *rt = runtime_with(&c);
    assert_int_equal(metrics(rt).blocking_queued, 0);
    atomic_int gate = 0;
    kr_join_handle h1, h2;
    assert_rc(kr_runtime_spawn_blocking(rt, wait_gate, &gate, &h1), 0);
    assert_rc(kr_runtime_spawn_blocking(rt, wait_gate, &gate, &h2), 0);
    /* One thread at most: the second job waits (the first may not have
     * been taken yet either). */
    assert_true(metrics(rt).blocking_queued > 0);
    atomic_store(&gate, 1);
    assert_rc(kr_runtime_block_on(rt, &h1.base, NULL), 0);
    assert_rc(kr_runtime_block_on(rt, &h2.base, NULL), 0);
    assert_int_equal(metrics(rt).blocking_queued, 0);
    test_runtime_free(rt);
}

/* Tokio's legacy log configuration rounds the width up to a power of two
 * (50 us -> 65.536 us); kairo's LOG2 buckets start at the width itself. */
static void worker_poll_count_histogram_range(void **state) {
    (void)state;
    kr_histogram_config lin = {3, KR_HISTOGRAM_LINEAR, 50000, 1};
    uint64_t lo, hi;
    assert_rc(kr_histogram_bucket_range(&lin, 0, &lo, &hi), 0);
    assert_true(lo == 0 && hi == 50000);
    assert_rc(kr_histogram_bucket_range(&lin, 1, &lo, &hi), 0);
    assert_true(lo == 50000 && hi == 100000);
    assert_rc(kr_histogram_bucket_range(&lin, 2, &lo, &hi), 0);
    assert_true(lo == 100000 && hi == UINT64_MAX);
    kr_histogram_config log = {3, KR_HISTOGRAM_LOG2, 50000, 1};
    assert_rc(kr_histogram_bucket_range(&log, 0, &lo, &hi), 0);
    assert_true(lo == 0 && hi == 50000);
    assert_rc(kr_histogram_bucket_range(&log, 1, &lo, &hi), 0);
    assert_true(lo == 50000 && hi == 100000);
    assert_rc(kr_histogram_bucket_range(&log, 2, &lo, &hi), 0);
    assert_true(lo == 100000 && hi == UINT64_MAX);
    /* And a runtime made with them reports that many buckets. */
    kr_runtime_config c = kr_runtime_config_default();
    c.poll_histogram = log;
    c.sched_latency_histogram = lin;
    kr_runtime *rt = runtime_with(&c);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.poll_time.buckets, 3);
    assert_int_equal(m.sched_latency.buckets, 3);
    test_runtime_free(rt);
}

/* ---- Tokio: schedule latency (rt_unstable_metrics.rs) ------------------ */

static uint64_t hist_total(const kr_histogram *h) {
    uint64_t n = 0;
    for (unsigned i = 0; i < h->buckets; i++)
        n += h->count[i];
    return n;
}

static void schedule_latency_counts(void **state) {
    (void)state;
    enum { N = 50 };
    kr_runtime_config c = kr_runtime_config_default();
    c.sched_latency_histogram.buckets = 3;
    c.sched_latency_histogram.sample = 1; /* exact */
    c.sched_latency_histogram.scale = KR_HISTOGRAM_LINEAR;
    c.sched_latency_histogram.width_ns = 50000000; /* 50 ms */
    kr_runtime *rt = runtime_with(&c);
    run_serial(rt, N, 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.sched_latency.buckets, 3);
    assert_int_equal(hist_total(&m.sched_latency), N);
    uint64_t sum = 0;
    for (unsigned i = 0; i < m.workers; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, i, &wm), 0);
        assert_int_equal(wm.sched_latency.buckets, 3);
        sum += hist_total(&wm.sched_latency);
    }
    assert_int_equal(sum, N);
    test_runtime_free(rt);
}

/* Spawns a child (into the LIFO slot on multi-thread) and then keeps the
 * worker 50 ms: the child waits behind it. The child's handle goes to
 * `child`, so that the test waits for its poll too: without it, a
 * shutdown right after the parent (the LIFO slot off: the child queued
 * behind) could drop the child unpolled. */
typedef struct lifo_parent {
    kr_future base;
    kr_join_handle *child;
} lifo_parent;

static kr_poll lifo_parent_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    lifo_parent *p = (lifo_parent *)f;
    quick q = quick_make(NULL, 0, NULL);
    assert_rc(kr_spawn(&q.base, p->child), 0);
    spin_ns(50000000);
    return KR_READY;
}
KR_FUTURE_VTABLE(lifo_parent_vt, lifo_parent, lifo_parent_poll, NULL, 0);

/* Tokio's asserts one poll on the worker (its LIFO poll is counted apart);
 * kairo counts both polls, each with its own latency and poll time. */
static void
schedule_latency_lifo_polls_are_recorded_individually(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.workers = 1;
    c.sched_latency_histogram.buckets = 3;
    c.sched_latency_histogram.sample = 1; /* exact */
    c.sched_latency_histogram.scale = KR_HISTOGRAM_LINEAR;
    c.sched_latency_histogram.width_ns = 10000000; /* 10 ms */
    c.poll_histogram.buckets = 3;
    c.poll_histogram.sample = 1; /* exact */
    kr_runtime *rt = runtime_with(&c);
    kr_join_handle jh, child;
    lifo_parent p = {{&lifo_parent_vt}, &child};
    assert_rc(kr_runtime_spawn(rt, &p.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_runtime_block_on(rt, &child.base, NULL), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_worker_metrics wm;
    assert_rc(kr_runtime_worker_metrics_get(rt, 0, &wm), 0);
    assert_int_equal(hist_total(&wm.sched_latency), 2);
    /* The child waited the parent's 50 ms: the last bucket (>= 20 ms). */
    assert_true(wm.sched_latency.count[2] >= 1);
    assert_int_equal(wm.polls, 2);
    assert_int_equal(hist_total(&wm.poll_time), 2);
    test_runtime_free(rt);
}

/* ---- kairo's own -------------------------------------------------------- */

/* Waits for the latch after noting its first poll. */
typedef struct sleeper {
    kr_future base;
    atomic_int *polled;
    test_latch_wait w;
} sleeper;

static kr_poll sleeper_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    sleeper *s = (sleeper *)f;
    atomic_fetch_add(s->polled, 1);
    return kr_future_poll(&s->w.base, cx, NULL);
}
KR_FUTURE_VTABLE(sleeper_vt, sleeper, sleeper_poll, NULL, 0);

/* Wakes the sleeper from its worker, then keeps that worker 60 ms. */
typedef struct busy_waker {
    kr_future base;
    test_latch *l;
} busy_waker;

static kr_poll busy_waker_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx, (void)out;
    test_latch_add(((busy_waker *)f)->l, 1);
    spin_ns(60000000);
    return KR_READY;
}
KR_FUTURE_VTABLE(busy_waker_vt, busy_waker, busy_waker_poll, NULL, 0);

/* Every poll has one latency, counted once; a task woken and then kept
 * waiting behind a busy task lands in the top bucket. One worker, so the
 * woken task cannot be stolen. */
static void sched_latency_woken_behind_busy_task(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.workers = 1;
    c.sched_latency_histogram.buckets = 4;
    c.sched_latency_histogram.sample = 1; /* exact */
    c.sched_latency_histogram.scale = KR_HISTOGRAM_LINEAR;
    c.sched_latency_histogram.width_ns = 15000000; /* 15 ms; top >= 45 ms */
    kr_runtime *rt = runtime_with(&c);
    test_latch l;
    test_latch_init(&l);
    atomic_int polled = 0;
    sleeper s = {{&sleeper_vt}, &polled, test_latch_wait_for(&l, 1)};
    kr_join_handle sj, bj;
    assert_rc(kr_runtime_spawn(rt, &s.base, &sj), 0);
    for (int i = 0; i < 20000 && atomic_load(&polled) == 0; i++)
        run_serial(rt, 1, 0); /* drives the current-thread runtime */
    assert_int_equal(atomic_load(&polled), 1);
    kr_runtime_metrics before = metrics(rt);
    uint64_t top_before = before.sched_latency.count[3];
    busy_waker b = {{&busy_waker_vt}, &l};
    assert_rc(kr_runtime_spawn(rt, &b.base, &bj), 0);
    assert_rc(kr_runtime_block_on(rt, &sj.base, NULL), 0);
    assert_rc(kr_runtime_block_on(rt, &bj.base, NULL), 0);
    assert_int_equal(atomic_load(&polled), 2);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(hist_total(&m.sched_latency), m.polls);
    assert_true(m.sched_latency.count[3] >= top_before + 1);
    uint64_t lo, hi;
    assert_rc(
        kr_histogram_bucket_range(&c.sched_latency_histogram, 3, &lo, &hi), 0);
    assert_int_equal(lo, 45000000);
    test_latch_destroy(&l);
    test_runtime_free(rt);
}

/* Yields are wakes too: a task yielding k times has k + 1 latencies. */
static void sched_latency_counts_yields(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.sched_latency_histogram.buckets = 8;
    c.sched_latency_histogram.sample = 1; /* exact */
    kr_runtime *rt = runtime_with(&c);
    greedy g = {{&greedy_vt}, 0};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &g.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.polls, 2);
    assert_int_equal(hist_total(&m.sched_latency), 2);
    test_runtime_free(rt);
}

/* Yields `left` times (a wake by reference each), then is ready. */
typedef struct yielder {
    kr_future base;
    int left;
} yielder;

static kr_poll yielder_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    yielder *y = (yielder *)f;
    if (y->left-- == 0)
        return KR_READY;
    kr_waker_wake_by_ref(kr_context_waker(cx));
    return KR_PENDING;
}
KR_FUTURE_VTABLE(yielder_vt, yielder, yielder_poll, NULL, 0);

/* Whether every bucket of `h` is a multiple of `w`. */
static bool hist_multiples(const kr_histogram *h, uint64_t w) {
    for (unsigned i = 0; i < h->buckets; i++)
        if (h->count[i] % w != 0)
            return false;
    return true;
}

/* kairo only (Tokio's histograms do not sample): by default one poll in
 * 64 is timed and counts 64, so the buckets are multiples of 64 and
 * their sum estimates the polls. The intervals are uniform in [1, 127]:
 * over 64,001 polls (~1000 samples) the sum's spread is ~2 %; the test
 * allows 10 %. */
static void poll_histogram_sampled_estimates_the_polls(void **state) {
    (void)state;
    enum { YIELDS = 64000 };
    kr_runtime_config c = kr_runtime_config_default();
    c.poll_histogram.buckets = 8; /* sample 0: the default, 64 */
    kr_runtime *rt = runtime_with(&c);
    yielder y = {{&yielder_vt}, YIELDS};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &y.base, &jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.polls, YIELDS + 1);
    uint64_t n = hist_total(&m.poll_time);
    assert_true(hist_multiples(&m.poll_time, KR_HISTOGRAM_SAMPLE_DEFAULT));
    assert_in_range(n, (YIELDS + 1) * 9 / 10, (YIELDS + 1) * 11 / 10);
    /* Each worker's own histogram is sampled and weighted the same way. */
    uint64_t sum = 0;
    for (unsigned i = 0; i < m.workers; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, i, &wm), 0);
        assert_true(hist_multiples(&wm.poll_time, KR_HISTOGRAM_SAMPLE_DEFAULT));
        sum += hist_total(&wm.poll_time);
    }
    assert_int_equal(sum, n);
    test_runtime_free(rt);
}

/* kairo only: with a schedule-latency sample of 8, one task in 8 is
 * followed (chosen at spawn) and one poll in 8 timed, so a sample counts
 * 64. 4096 tasks waking 9 times each make 36,864 latencies, ~576
 * samples (spread ~6 %: the tracked share and the timed share); the
 * test allows 30 %. A sample of 1 is exact (the tests above). */
static void sched_latency_sampled_estimates_the_wakes(void **state) {
    (void)state;
    enum { TASKS = 4096, YIELDS = 8, SAMPLE = 8 };
    kr_runtime_config c = kr_runtime_config_default();
    c.sched_latency_histogram.buckets = 8;
    c.sched_latency_histogram.sample = SAMPLE;
    kr_runtime *rt = runtime_with(&c);
    yielder *ys = calloc(TASKS, sizeof(*ys));
    kr_join_handle *jhs = calloc(TASKS, sizeof(*jhs));
    assert_non_null(ys);
    assert_non_null(jhs);
    for (int i = 0; i < TASKS; i++) {
        ys[i] = (yielder){{&yielder_vt}, YIELDS};
        assert_rc(kr_runtime_spawn(rt, &ys[i].base, &jhs[i]), 0);
    }
    for (int i = 0; i < TASKS; i++)
        assert_rc(kr_runtime_block_on(rt, &jhs[i].base, NULL), 0);
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    uint64_t wakes = (uint64_t)TASKS * (YIELDS + 1);
    assert_int_equal(m.polls, wakes);
    uint64_t n = hist_total(&m.sched_latency);
    assert_true(hist_multiples(&m.sched_latency, SAMPLE * SAMPLE));
    assert_in_range(n, wakes * 7 / 10, wakes * 13 / 10);
    free(ys);
    free(jhs);
    test_runtime_free(rt);
}

/* A sample above KR_HISTOGRAM_SAMPLE_MAX is refused, not truncated. */
static void histogram_sample_out_of_range_is_einval(void **state) {
    (void)state;
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.poll_histogram.buckets = 4;
    c.poll_histogram.sample = KR_HISTOGRAM_SAMPLE_MAX + 1;
    kr_runtime *rt = (kr_runtime *)&c; /* must come back NULL */
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    assert_null(rt);
    c.poll_histogram.sample = KR_HISTOGRAM_SAMPLE_MAX;
    c.sched_latency_histogram.buckets = 4;
    c.sched_latency_histogram.sample = UINT32_MAX;
    assert_rc(kr_runtime_new(&c, &rt), KR_EINVAL);
    c.sched_latency_histogram.sample = KR_HISTOGRAM_SAMPLE_MAX;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    test_runtime_free(rt);
}

static void sched_latency_off_by_default(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    run_serial(rt, 3, 0);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.sched_latency.buckets, 0);
    for (unsigned i = 0; i < KR_HISTOGRAM_MAX_BUCKETS; i++)
        assert_int_equal(m.sched_latency.count[i], 0);
    test_runtime_free(rt);
}

static void timer_entries_count_sleeps(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    napper n = {{&napper_vt}, kr_sleep_for(kr_ms(60000))};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &n.base, &jh), 0);
    run_serial(rt, 1, 0); /* drives the current-thread runtime a little */
    for (int i = 0; i < 10000 && metrics(rt).timer_entries != 1; i++) {
        run_serial(rt, 1, 0);
        test_sleep_ms(1);
    }
    assert_int_equal(metrics(rt).timer_entries, 1);
    assert_rc(kr_join_handle_abort(&jh), 0);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    assert_int_equal(metrics(rt).timer_entries, 0);
    test_runtime_free(rt);
}

typedef struct reader {
    kr_future base;
    kr_readiness r;
} reader;

static kr_poll reader_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    int bits;
    return kr_future_poll(&((reader *)f)->r.base, cx, &bits);
}
KR_FUTURE_VTABLE(reader_vt, reader, reader_poll, NULL, 0);

static void *write_later(void *arg) {
    test_sleep_ms(20);
    ssize_t n = write(*(int *)arg, "x", 1);
    (void)n;
    return NULL;
}

/* Tokio's io_driver_ready_count, on a socket pair instead of google.com. */
static void io_driver_ready_count(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    reader r = {{&reader_vt}, kr_async_fd_ready(afd, KR_READABLE)};
    kr_join_handle jh;
    assert_rc(kr_runtime_spawn(rt, &r.base, &jh), 0);
    pthread_t th;
    pthread_create(&th, NULL, write_later, &sv[1]);
    assert_rc(kr_runtime_block_on(rt, &jh.base, NULL), 0);
    pthread_join(th, NULL);
    kr_runtime_metrics m = metrics(rt);
    assert_true(m.io_events >= 1);
    assert_true(m.io_ready <= m.io_events);
    kr_async_fd_free(afd);
    close(sv[0]);
    close(sv[1]);
    test_runtime_free(rt);
}

/* Tokio's worker_noop_count: a worker that starts (or wakes) and parks
 * without polling anything counts a noop; block_on of a sleep makes one on
 * every worker (the idle workers park at start-up). */
static void worker_noop_count(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    kr_sleep nap = kr_sleep_for(kr_ms(1));
    assert_rc(kr_runtime_block_on(rt, &nap.base, NULL), 0);
    if (is_mt()) /* the idle workers park at start-up */
        for (int i = 0; i < 10000; i++) {
            kr_worker_metrics a, b;
            kr_runtime_worker_metrics_get(rt, 0, &a);
            kr_runtime_worker_metrics_get(rt, 1, &b);
            if (a.parks >= 1 && b.parks >= 1)
                break;
            test_sleep_ms(1);
        }
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m = metrics(rt);
    for (unsigned i = 0; i < m.workers; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, i, &wm), 0);
        assert_true(wm.noops >= 1);
        assert_true(wm.noops <= wm.parks + wm.unparks + 1000);
    }
    test_runtime_free(rt);
}

/* Waits (a bounded while) until worker 0 is inside a park. */
static void wait_parked(kr_runtime *rt, uint64_t min_polls) {
    for (int i = 0; i < 20000; i++) {
        kr_worker_metrics wm;
        assert_rc(kr_runtime_worker_metrics_get(rt, 0, &wm), 0);
        if (wm.polls >= min_polls && wm.parks > wm.unparks)
            return;
        test_sleep_ms(1);
    }
    fail_msg("worker 0 never parked");
}

/* One readiness event waking several tasks at once on a worker parked in
 * the driver: the worker runs them itself, and its turn's wakes must not
 * notify the worker itself (still on the sleeper stack during the turn):
 * that unparked its own driver (an eventfd write), and the next park came
 * straight back out of epoll_wait for nothing, one noop per such turn
 * (kairo-http on 2 workers: 0.06 driver wake-ups per request, Tokio
 * 0.005). One worker, so the sleeper stack holds only the worker itself. */
static void io_wakes_in_a_park_do_not_wake_the_parked_worker(void **state) {
    (void)state;
    if (!is_mt())
        return; /* the current-thread loop has no sleeper stack */
#ifdef KR_TORTURE
    /* The torture build sends every wake down the remote path (the inject
     * queue and a notify: sched/worker.h), which cannot tell the waking
     * thread from any other, so the local path this case is about is never
     * taken there. */
    skip();
#endif
    kr_runtime_config c = kr_runtime_config_default();
    c.workers = 1;
    kr_runtime *rt = runtime_with(&c);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    kr_async_fd *afd;
    assert_rc(kr_runtime_async_fd_new(rt, sv[0], &afd), 0);
    enum { K = 4, ROUNDS = 3 };
    uint64_t polls = 0;
    for (int round = 0; round < ROUNDS; round++) {
        reader r[K];
        kr_join_handle jh[K];
        for (int i = 0; i < K; i++) {
            r[i] = (reader){{&reader_vt}, kr_async_fd_ready(afd, KR_READABLE)};
            assert_rc(kr_runtime_spawn(rt, &r[i].base, &jh[i]), 0);
        }
        polls += K;
        wait_parked(rt, polls); /* all K wait on the fd, the worker sleeps */
        kr_worker_metrics before;
        assert_rc(kr_runtime_worker_metrics_get(rt, 0, &before), 0);
        assert_int_equal(write(sv[1], "x", 1), 1);
        for (int i = 0; i < K; i++)
            assert_rc(kr_runtime_block_on(rt, &jh[i].base, NULL), 0);
        polls += K;
        wait_parked(rt, polls);
        /* A wake-up its own turn caused comes straight after the park:
         * give it time to show (generous; the pass needs none). */
        test_sleep_ms(50);
        kr_worker_metrics after;
        assert_rc(kr_runtime_worker_metrics_get(rt, 0, &after), 0);
        assert_int_equal(after.noops - before.noops, 0);
        char b;
        assert_int_equal(read(sv[0], &b, 1), 1);
        kr_ready_event ev;
        if (kr_async_fd_readiness(afd, KR_READABLE, &ev) > 0)
            kr_async_fd_clear_ready(afd, ev);
    }
    kr_async_fd_free(afd);
    close(sv[0]);
    close(sv[1]);
    test_runtime_free(rt);
}

static void blocking_busy_threads(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(2);
    kr_runtime_metrics m = metrics(rt);
    assert_int_equal(m.blocking_busy, 0);
    assert_int_equal(m.blocking_threads, 0);
    test_runtime_free(rt);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(num_workers),
        cmocka_unit_test(num_alive_tasks),
        cmocka_unit_test(spawned_tasks_count),
        cmocka_unit_test(global_queue_depth),
        cmocka_unit_test(global_queue_depth_with_stealing),
        cmocka_unit_test(worker_total_busy_duration),
        cmocka_unit_test(worker_park_count),
        cmocka_unit_test(worker_park_unpark_count),
        cmocka_unit_test(remote_schedule_count),
        cmocka_unit_test(worker_poll_count_and_time),
        cmocka_unit_test(log_histogram),
        cmocka_unit_test(worker_poll_count_histogram),
        cmocka_unit_test(
            worker_poll_count_histogram_disabled_without_explicit_enable),
        cmocka_unit_test(budget_exhaustion_yield),
        cmocka_unit_test(worker_overflow_count),
        cmocka_unit_test(worker_local_queue_depth),
        cmocka_unit_test(worker_steal_count),
        cmocka_unit_test(timer_entries_count_sleeps),
        cmocka_unit_test(io_driver_ready_count),
        cmocka_unit_test(worker_noop_count),
        cmocka_unit_test(io_wakes_in_a_park_do_not_wake_the_parked_worker),
        cmocka_unit_test(blocking_busy_threads),
        cmocka_unit_test(num_blocking_threads),
        cmocka_unit_test(num_idle_blocking_threads),
        cmocka_unit_test(blocking_queue_depth),
        cmocka_unit_test(worker_poll_count_histogram_range),
        cmocka_unit_test(schedule_latency_counts),
        cmocka_unit_test(schedule_latency_lifo_polls_are_recorded_individually),
        cmocka_unit_test(sched_latency_woken_behind_busy_task),
        cmocka_unit_test(sched_latency_counts_yields),
        cmocka_unit_test(sched_latency_off_by_default),
        cmocka_unit_test(poll_histogram_sampled_estimates_the_polls),
        cmocka_unit_test(sched_latency_sampled_estimates_the_wakes),
        cmocka_unit_test(histogram_sample_out_of_range_is_einval),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
