/*
 * Error codes as a user reads them: both runtime flavors report the same
 * cause of a failed kr_runtime_new with the same code, the codes of
 * block_on, success and an elapsed kr_timeout have names of their own.
 * KR_TEST_FLAVORS: ct mt
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test.h"

/* The lowest descriptor number not in use. */
static int lowest_free_fd(void) {
    int fd = dup(0);
    if (fd < 0)
        fd = open("/dev/null", 0);
    assert_true(fd >= 0);
    close(fd);
    return fd;
}

/* With no descriptor left for the I/O driver's epoll instance, both
 * flavors say so (KR_EMFILE), rather than one of them calling it memory. */
static void runtime_new_reports_descriptor_exhaustion(void **state) {
    (void)state;
    test_alloc_install();
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    struct rlimit tight = old;
    tight.rlim_cur = (rlim_t)lowest_free_fd();
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = test_flavor();
    c.workers = 2;
    kr_runtime *rt = (kr_runtime *)&c; /* not NULL: must be reset */
    int rc = kr_runtime_new(&c, &rt);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_rc(rc, KR_EMFILE);
    assert_null(rt);
    assert_int_equal(test_alloc_live(), 0);
    test_alloc_uninstall();
}

/* The one allocation block_on may make (multi-thread: its wake-up
 * signal) failing: KR_ENOMEM, the future untouched, as documented. */
static void block_on_out_of_memory_leaves_future_untouched(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    test_alloc_install();
    test_counts c = {0};
    test_value v = test_value_make(5, &c);
    uint64_t out = 0;
    test_alloc_fail_after(0);
    int rc = kr_runtime_block_on(rt, &v.base, &out);
    test_alloc_fail_after(-1);
    if (test_flavor() == KR_RUNTIME_MULTI_THREAD) {
        assert_rc(rc, KR_ENOMEM);
        assert_int_equal(c.polls, 0);
        assert_int_equal(c.drops, 0);
        assert_rc(kr_runtime_block_on(rt, &v.base, &out), 0); /* still ours */
    } else {
        assert_rc(rc, 0); /* current-thread block_on allocates nothing */
    }
    assert_int_equal(out, 5);
    assert_int_equal(c.drops, 1);
    test_alloc_uninstall();
    test_runtime_free(rt);
}

static void err_name_of_success(void **state) {
    (void)state;
    assert_string_equal(kr_err_name(0), "OK");
    assert_string_equal(kr_err_name(3), "OK"); /* counts, as kr_strerror */
    assert_string_equal(kr_strerror(0), "success");
    assert_string_equal(kr_err_name(-4090), "UNKNOWN");
}

/* A never-ready future under a timeout. */
typedef struct {
    kr_future base;
} never;
static kr_poll never_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    (void)out;
    return KR_PENDING;
}
KR_FUTURE_VTABLE(never_vt, never, never_poll, NULL, 0);

/* An elapsed kr_timeout is KR_ELAPSED, not the kernel's "connection timed
 * out": a connect that the kernel gave up on stays KR_ETIMEDOUT, and the
 * two can be told apart. */
static void timeout_elapsed_has_its_own_code(void **state) {
    (void)state;
    kr_runtime *rt = test_runtime(0);
    never nv = {{&never_vt}};
    kr_timeout to = kr_timeout_new(&nv.base, kr_ms(5), NULL);
    int rc = 1;
    assert_rc(kr_runtime_block_on(rt, &to.base, &rc), 0);
    assert_rc(rc, KR_ELAPSED);
    assert_int_not_equal(KR_ELAPSED, KR_ETIMEDOUT);
    assert_string_equal(kr_err_name(KR_ELAPSED), "ELAPSED");
    assert_string_equal(kr_strerror(KR_ELAPSED), "deadline elapsed");
    test_runtime_free(rt);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(runtime_new_reports_descriptor_exhaustion),
    cmocka_unit_test(block_on_out_of_memory_leaves_future_untouched),
    cmocka_unit_test(err_name_of_success),
    cmocka_unit_test(timeout_elapsed_has_its_own_code),
};
KR_TEST_MAIN(tests)
