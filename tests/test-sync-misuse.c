/*
 * Contract violations of the waiting primitives, each in a forked child
 * (tests/helpers.c): freeing a primitive while a future waits on it aborts
 * in the debug build naming the primitive; polling a finished wait future
 * aborts in every build naming the future. KR_TEST_FLAVORS: ct mt
 */
#include <unistd.h>

#include "mock.h"
#include "test.h"

#if defined(KR_DEBUG) && KR_DEBUG
#define DEBUG_ONLY()
#else
#define DEBUG_ONLY() skip() /* release builds keep no such check */
#endif

static mock_task mt_;

static void child_semaphore(void) {
    kr_semaphore *s;
    TEST_CHILD_CHECK(kr_semaphore_new(0, &s) == 0);
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 1);
    TEST_CHILD_CHECK(mock_poll(&mt_, &a.base, NULL) == KR_PENDING);
    kr_semaphore_free(s);
}
static void child_notify(void) {
    kr_notify *n;
    TEST_CHILD_CHECK(kr_notify_new(&n) == 0);
    kr_notified f = kr_notify_notified(n);
    TEST_CHILD_CHECK(!kr_notified_enable(&f));
    kr_notify_free(n);
}
static void child_mutex(void) {
    kr_mutex *m;
    kr_mutex_guard g;
    TEST_CHILD_CHECK(kr_mutex_new(0, &m) == 0);
    TEST_CHILD_CHECK(kr_mutex_try_lock(m, &g) == 0);
    kr_mutex_lock l = kr_mutex_lock_future(m);
    TEST_CHILD_CHECK(mock_poll(&mt_, &l.base, NULL) == KR_PENDING);
    kr_mutex_free(m);
}
static void child_rwlock(void) {
    kr_rwlock *rw;
    kr_rwlock_guard g;
    TEST_CHILD_CHECK(kr_rwlock_new(0, &rw) == 0);
    TEST_CHILD_CHECK(kr_rwlock_try_read(rw, &g) == 0);
    kr_rwlock_acquire w = kr_rwlock_write_future(rw);
    TEST_CHILD_CHECK(mock_poll(&mt_, &w.base, NULL) == KR_PENDING);
    kr_rwlock_free(rw);
}
static void child_barrier(void) {
    kr_barrier *b;
    TEST_CHILD_CHECK(kr_barrier_new(2, &b) == 0);
    kr_barrier_wait w = kr_barrier_wait_future(b);
    TEST_CHILD_CHECK(mock_poll(&mt_, &w.base, NULL) == KR_PENDING);
    kr_barrier_free(b);
}
static void child_cancel(void) {
    kr_cancel_token *t;
    TEST_CHILD_CHECK(kr_cancel_token_new(&t) == 0);
    kr_cancelled c = kr_cancel_token_cancelled(t);
    TEST_CHILD_CHECK(mock_poll(&mt_, &c.base, NULL) == KR_PENDING);
    kr_cancel_token_drop(t);
}

static void freed_while_waiting_names_the_primitive(void **state) {
    (void)state;
    DEBUG_ONLY();
    test_expect_abort(child_semaphore,
                      "kr_semaphore freed while futures wait on it");
    test_expect_abort(child_notify, "kr_notify freed while futures wait");
    test_expect_abort(child_mutex, "kr_mutex freed while futures wait");
    test_expect_abort(child_rwlock, "kr_rwlock freed while futures wait");
    test_expect_abort(child_barrier, "kr_barrier freed while futures wait");
    test_expect_abort(child_cancel, "kr_cancel_token freed while futures wait");
}

static void child_sem_again(void) {
    kr_semaphore *s;
    TEST_CHILD_CHECK(kr_semaphore_new(1, &s) == 0);
    kr_semaphore_acquire a = kr_semaphore_acquire_future(s, 1);
    TEST_CHILD_CHECK(mock_poll(&mt_, &a.base, NULL) == KR_READY);
    mock_poll(&mt_, &a.base, NULL);
}
static void child_notified_again(void) {
    kr_notify *n;
    TEST_CHILD_CHECK(kr_notify_new(&n) == 0);
    kr_notify_one(n);
    kr_notified f = kr_notify_notified(n);
    TEST_CHILD_CHECK(mock_poll(&mt_, &f.base, NULL) == KR_READY);
    mock_poll(&mt_, &f.base, NULL);
}
static void child_lock_again(void) {
    kr_mutex *m;
    kr_mutex_guard g;
    TEST_CHILD_CHECK(kr_mutex_new(0, &m) == 0);
    kr_mutex_lock l = kr_mutex_lock_future(m);
    TEST_CHILD_CHECK(mock_poll(&mt_, &l.base, &g) == KR_READY);
    mock_poll(&mt_, &l.base, &g);
}
static void child_write_again(void) {
    kr_rwlock *rw;
    kr_rwlock_guard g;
    TEST_CHILD_CHECK(kr_rwlock_new(0, &rw) == 0);
    kr_rwlock_acquire w = kr_rwlock_write_future(rw);
    TEST_CHILD_CHECK(mock_poll(&mt_, &w.base, &g) == KR_READY);
    mock_poll(&mt_, &w.base, &g);
}
static void child_barrier_again(void) {
    kr_barrier *b;
    bool l;
    TEST_CHILD_CHECK(kr_barrier_new(1, &b) == 0);
    kr_barrier_wait w = kr_barrier_wait_future(b);
    TEST_CHILD_CHECK(mock_poll(&mt_, &w.base, &l) == KR_READY);
    mock_poll(&mt_, &w.base, &l);
}
static void child_cancelled_again(void) {
    kr_cancel_token *t;
    TEST_CHILD_CHECK(kr_cancel_token_new(&t) == 0);
    kr_cancel_token_cancel(t);
    kr_cancelled c = kr_cancel_token_cancelled(t);
    TEST_CHILD_CHECK(mock_poll(&mt_, &c.base, NULL) == KR_READY);
    mock_poll(&mt_, &c.base, NULL);
}
static void child_once_again(void) {
    kr_once_cell *c;
    uint32_t v = 1;
    int rc;
    TEST_CHILD_CHECK(kr_once_cell_new(sizeof(v), &c) == 0);
    TEST_CHILD_CHECK(kr_once_cell_set(c, &v) == 0);
    kr_future dummy = {NULL};
    static const kr_future_vtable vt = {NULL, NULL, sizeof(kr_future),
                                        sizeof(uint32_t), "dummy"};
    dummy.vtable = &vt;
    kr_once_cell_init g = kr_once_cell_get_or_init(c, &dummy, NULL);
    TEST_CHILD_CHECK(mock_poll(&mt_, &g.base, &rc) == KR_READY);
    mock_poll(&mt_, &g.base, &rc);
}

static void wait_polled_after_ready_names_the_future(void **state) {
    (void)state;
    test_expect_abort(child_sem_again, "kr_semaphore_acquire polled after");
    test_expect_abort(child_notified_again, "kr_notified polled after");
    test_expect_abort(child_lock_again, "kr_mutex_lock polled after");
    test_expect_abort(child_write_again, "kr_rwlock_write polled after");
    test_expect_abort(child_barrier_again, "kr_barrier_wait polled after");
    test_expect_abort(child_cancelled_again, "kr_cancelled polled after");
    test_expect_abort(child_once_again, "kr_once_cell_init polled after");
}

int main(int argc, char **argv) {
    mock_init(&mt_);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freed_while_waiting_names_the_primitive),
        cmocka_unit_test(wait_polled_after_ready_names_the_future),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
