/* tests/helpers.c: shared test helpers (test.h). */
#include <stdatomic.h>
#include <string.h>

#include "test.h"

kr_runtime_flavor test_flavor(void) {
    const char *f = getenv("KR_TEST_FLAVOR");
    return (f != NULL && strcmp(f, "mt") == 0) ? KR_RUNTIME_MULTI_THREAD
                                               : KR_RUNTIME_CURRENT_THREAD;
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
