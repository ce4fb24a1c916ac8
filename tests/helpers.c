/* tests/helpers.c: shared test helpers (test.h). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

kr_runtime_flavor test_flavor(void) {
    const char *f = getenv("KR_TEST_FLAVOR");
    if (f != NULL && strcmp(f, "mt") == 0)
        return KR_RUNTIME_MULTI_THREAD;
    if (f != NULL && strcmp(f, "sim") == 0)
        return KR_RUNTIME_SIMULATION; /* kairo/sim.h; seed: KAIRO_SEED */
    return KR_RUNTIME_CURRENT_THREAD;
}

kr_runtime *test_runtime(unsigned workers) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = workers ? workers : 2;
    kr_runtime *rt = NULL;
    assert_rc(kr_runtime_new(&c, &rt), 0);
    assert_non_null(rt);
    return rt;
}

void test_runtime_free(kr_runtime *rt) {
    assert_rc(kr_runtime_shutdown(rt), 0);
    kr_runtime_metrics m;
    assert_rc(kr_runtime_metrics_get(rt, &m), 0);
    assert_int_equal(m.alive, 0);
    kr_runtime_free(rt);
}

long test_scale(long n) {
    const char *s = getenv("KR_TEST_SCALE");
    if (s == NULL)
        return n;
    double f = atof(s);
    long r = (long)(n * f);
    return r > 0 ? r : 1;
}

static atomic_long live;
static atomic_long fail_after = -1;

static void *count_malloc(size_t n) {
    long f = atomic_load(&fail_after);
    if (f >= 0) {
        if (f == 0)
            return NULL;
        atomic_fetch_sub(&fail_after, 1);
    }
    void *p = malloc(n);
    if (p != NULL)
        atomic_fetch_add(&live, 1);
    return p;
}

static void *count_realloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (p == NULL && q != NULL)
        atomic_fetch_add(&live, 1);
    return q;
}

static void count_free(void *p) {
    if (p != NULL)
        atomic_fetch_sub(&live, 1);
    free(p);
}

void test_alloc_install(void) {
    kr_allocator a = {count_malloc, count_realloc, count_free};
    atomic_store(&live, 0);
    atomic_store(&fail_after, -1);
    assert_rc(kr_set_allocator(&a), 0);
}

void test_alloc_uninstall(void) { assert_rc(kr_set_allocator(NULL), 0); }
long test_alloc_live(void) { return atomic_load(&live); }
void test_alloc_fail_after(long n) { atomic_store(&fail_after, n); }

/* ---- latch ------------------------------------------------------------ */

void test_latch_init(test_latch *l) {
    pthread_mutex_init(&l->mu, NULL);
    l->count = 0;
    l->waiter.data = NULL;
    l->waiter.vtable = NULL;
}

void test_latch_destroy(test_latch *l) {
    kr_waker_reset(&l->waiter);
    pthread_mutex_destroy(&l->mu);
}

void test_latch_add(test_latch *l, long n) {
    pthread_mutex_lock(&l->mu);
    l->count += n;
    kr_waker w = l->waiter;
    l->waiter.data = NULL;
    l->waiter.vtable = NULL;
    pthread_mutex_unlock(&l->mu);
    /* Woken outside the lock: a wake may run arbitrary scheduler code. */
    if (w.vtable != NULL)
        kr_waker_wake(w);
}

long test_latch_get(test_latch *l) {
    pthread_mutex_lock(&l->mu);
    long n = l->count;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static kr_poll latch_wait_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    test_latch_wait *w = (test_latch_wait *)f;
    pthread_mutex_lock(&w->l->mu);
    bool done = w->l->count >= w->target;
    if (!done)
        kr_waker_set(&w->l->waiter, kr_context_waker(cx));
    pthread_mutex_unlock(&w->l->mu);
    return done ? KR_READY : KR_PENDING;
}

static void latch_wait_drop(kr_future *f) {
    test_latch_wait *w = (test_latch_wait *)f;
    pthread_mutex_lock(&w->l->mu);
    kr_waker_reset(&w->l->waiter);
    pthread_mutex_unlock(&w->l->mu);
}

static const kr_future_vtable latch_wait_vt = {latch_wait_poll, latch_wait_drop,
                                               sizeof(test_latch_wait), 0,
                                               "test_latch_wait"};

test_latch_wait test_latch_wait_for(test_latch *l, long target) {
    test_latch_wait w = {{&latch_wait_vt}, l, target};
    return w;
}

/* ---- pending forever ---------------------------------------------------- */

static kr_poll pending_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    (void)out;
    test_pending *p = (test_pending *)f;
    if (p->c != NULL)
        atomic_fetch_add(&p->c->polls, 1);
    if (!p->polled_) {
        p->polled_ = 1;
        if (p->started != NULL)
            test_latch_add(p->started, 1);
    }
    return KR_PENDING;
}

static void pending_drop(kr_future *f) {
    test_pending *p = (test_pending *)f;
    if (p->c != NULL)
        atomic_fetch_add(&p->c->drops, 1);
}

static const kr_future_vtable pending_vt = {
    pending_poll, pending_drop, sizeof(test_pending), 0, "test_pending"};

test_pending test_pending_make(test_counts *c, test_latch *started) {
    test_pending p = {{&pending_vt}, c, started, 0};
    return p;
}

/* ---- ready value -------------------------------------------------------- */

static kr_poll value_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    test_value *v = (test_value *)f;
    if (v->c != NULL)
        atomic_fetch_add(&v->c->polls, 1);
    if (out != NULL)
        memcpy(out, &v->v, sizeof(v->v));
    return KR_READY;
}

static void value_drop(kr_future *f) {
    test_value *v = (test_value *)f;
    if (v->c != NULL)
        atomic_fetch_add(&v->c->drops, 1);
}

static const kr_future_vtable value_vt = {
    value_poll, value_drop, sizeof(test_value), sizeof(uint64_t), "test_value"};

test_value test_value_make(uint64_t v, test_counts *c) {
    test_value f = {{&value_vt}, v, c};
    return f;
}

/* ---- timer woken from a plain thread ---------------------------------- */

static void *timer_thread(void *arg) {
    test_timer *t = arg;
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += t->delay_ms / 1000;
    dl.tv_nsec += (long)(t->delay_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->mu_);
    while (!t->cancel_) {
        if (pthread_cond_timedwait(&t->cv_, &t->mu_, &dl) == ETIMEDOUT)
            break;
    }
    if (t->cancel_) {
        pthread_mutex_unlock(&t->mu_);
        return NULL;
    }
    t->completed_ = 1;
    kr_waker w = t->waker_;
    t->waker_.data = NULL;
    t->waker_.vtable = NULL;
    pthread_mutex_unlock(&t->mu_);
    if (w.vtable != NULL)
        kr_waker_wake(w);
    return NULL;
}

/* Joins the thread and releases what the first poll made. */
static void timer_release(test_timer *t) {
    pthread_join(t->thread_, NULL);
    kr_waker_reset(&t->waker_);
    pthread_mutex_destroy(&t->mu_);
    pthread_cond_destroy(&t->cv_);
    t->joined_ = 1;
}

static kr_poll timer_poll(kr_future *f, kr_context *cx, void *out) {
    test_timer *t = (test_timer *)f;
    if (t->c != NULL)
        atomic_fetch_add(&t->c->polls, 1);
    if (!t->started_) {
        /* Pinned from here on: the thread gets a pointer to us. */
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&t->cv_, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_init(&t->mu_, NULL);
        t->waker_.data = NULL;
        t->waker_.vtable = NULL;
        t->completed_ = t->cancel_ = t->joined_ = 0;
        t->started_ = 1;
        kr_waker_set(&t->waker_, kr_context_waker(cx));
        assert_int_equal(pthread_create(&t->thread_, NULL, timer_thread, t), 0);
        return KR_PENDING;
    }
    pthread_mutex_lock(&t->mu_);
    if (t->completed_) {
        pthread_mutex_unlock(&t->mu_);
        timer_release(t);
        if (out != NULL)
            *(int *)out = 1;
        return KR_READY;
    }
    kr_waker_set(&t->waker_, kr_context_waker(cx));
    pthread_mutex_unlock(&t->mu_);
    return KR_PENDING;
}

static void timer_drop(kr_future *f) {
    test_timer *t = (test_timer *)f;
    if (t->c != NULL)
        atomic_fetch_add(&t->c->drops, 1);
    if (!t->started_ || t->joined_)
        return;
    pthread_mutex_lock(&t->mu_);
    t->cancel_ = 1;
    pthread_cond_signal(&t->cv_);
    pthread_mutex_unlock(&t->mu_);
    timer_release(t);
}

static const kr_future_vtable timer_vt = {
    timer_poll, timer_drop, sizeof(test_timer), sizeof(int), "test_timer"};

test_timer test_timer_make(int delay_ms, test_counts *c) {
    test_timer t;
    memset(&t, 0, sizeof(t));
    t.base.vtable = &timer_vt;
    t.delay_ms = delay_ms;
    t.c = c;
    return t;
}

/* ---- bytes and time ----------------------------------------------------- */

static unsigned char pattern_byte(size_t i, unsigned seed) {
    return (unsigned char)((seed * 131u + i * 7u + (i >> 8) * 13u) | 1u);
}

void test_pattern_fill(void *p, size_t n, unsigned seed) {
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte(i, seed);
}

bool test_pattern_check(const void *p, size_t n, unsigned seed) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(i, seed))
            return false;
    return true;
}

bool test_all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

void test_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

void test_expect_abort(void (*fn)(void), const char *needle) {
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGABRT, SIG_DFL);
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        fn();
        _exit(0); /* it did not abort */
    }
    close(pfd[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof(buf) - 1 &&
           (r = read(pfd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(pfd[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
        fail_msg("child did not abort (status %#x); stderr: %s", st, buf);
    if (strstr(buf, needle) == NULL)
        fail_msg("stderr lacks \"%s\": %s", needle, buf);
}

static const kr_waker_vtable wcount_vt;
static kr_waker wcount_clone(const void *d) {
    atomic_fetch_add(&((test_wcount *)d)->clones, 1);
    kr_waker w = {d, &wcount_vt};
    return w;
}
static void wcount_wake(const void *d) {
    atomic_fetch_add(&((test_wcount *)d)->wakes, 1);
}
static void wcount_by_ref(const void *d) {
    atomic_fetch_add(&((test_wcount *)d)->by_ref, 1);
}
static void wcount_drop(const void *d) {
    atomic_fetch_add(&((test_wcount *)d)->drops, 1);
}
static const kr_waker_vtable wcount_vt = {wcount_clone, wcount_wake,
                                          wcount_by_ref, wcount_drop};

kr_waker test_wcount_waker(test_wcount *c) {
    kr_waker w = {c, &wcount_vt};
    return w;
}
