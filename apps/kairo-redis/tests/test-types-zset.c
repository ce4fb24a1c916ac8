/*
 * test-types-zset.c: the sorted set value (zset.h): ZADD's flag semantics
 * (Redis's zsetAdd), ranks in both directions, deletes keeping the member
 * table and the skiplist in step, and the argument parsers' edge cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "zset.h"

static int add(zset *z, double s, const char *m, int flags, double *ns) {
    int out;
    assert_int_equal(zset_add(z, s, m, strlen(m), flags, &out, ns), 0);
    return out;
}

static void zset_add_flags(void **state) {
    (void)state;
    zset *z = zset_new();
    double ns, s;
    assert_int_equal(add(z, 1, "a", 0, &ns), ZADD_OUT_ADDED);
    assert_int_equal(add(z, 1, "a", 0, &ns), 0); /* same score: no-op */
    assert_int_equal(add(z, 2, "a", 0, &ns), ZADD_OUT_UPDATED);
    assert_int_equal(add(z, 3, "a", ZADD_NX, &ns), ZADD_OUT_NOP);
    assert_int_equal(add(z, 3, "b", ZADD_XX, &ns), ZADD_OUT_NOP);
    assert_false(zset_score(z, "b", 1, &s));
    assert_int_equal(add(z, 1, "a", ZADD_GT, &ns), ZADD_OUT_NOP);
    assert_int_equal(add(z, 5, "a", ZADD_GT, &ns), ZADD_OUT_UPDATED);
    assert_int_equal(add(z, 6, "a", ZADD_LT, &ns), ZADD_OUT_NOP);
    assert_int_equal(add(z, 0.5, "a", ZADD_INCR, &ns), ZADD_OUT_UPDATED);
    assert_true(ns == 5.5);
    assert_int_equal(add(z, INFINITY, "i", 0, &ns), ZADD_OUT_ADDED);
    assert_int_equal(add(z, -INFINITY, "i", ZADD_INCR, &ns), ZADD_OUT_NAN);
    assert_true(zset_score(z, "i", 1, &s) && isinf(s));
    /* -0 is stored as 0. */
    assert_int_equal(add(z, -0.0, "n", 0, &ns), ZADD_OUT_ADDED);
    assert_true(zset_score(z, "n", 1, &s) && !signbit(s));
    size_t r;
    assert_true(zset_rank(z, "n", 1, false, &r));
    assert_int_equal(r, 0);
    assert_true(zset_rank(z, "i", 1, false, &r));
    assert_int_equal(r, 2);
    assert_true(zset_rank(z, "i", 1, true, &r));
    assert_int_equal(r, 0);
    assert_true(zset_del(z, "a", 1));
    assert_false(zset_del(z, "a", 1));
    assert_int_equal(zset_len(z), 2);
    assert_int_equal(dict_size(z->dict), 2);
    zset_free(z);
}

static void zset_many_members(void **state) {
    (void)state;
    zset *z = zset_new();
    char m[16];
    double ns;
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(m, sizeof(m), "m%d", i);
        int out;
        zset_add(z, (double)(i % 100), m, (size_t)n, 0, &out, &ns);
        assert_int_equal(out, ZADD_OUT_ADDED);
    }
    for (int i = 0; i < 2000; i += 2) {
        int n = snprintf(m, sizeof(m), "m%d", i);
        int out;
        zset_add(z, 1000.5 - i, m, (size_t)n, 0, &out, &ns);
        assert_int_equal(out, ZADD_OUT_UPDATED);
    }
    for (int i = 1; i < 2000; i += 4) {
        int n = snprintf(m, sizeof(m), "m%d", i);
        assert_true(zset_del(z, m, (size_t)n));
    }
    assert_int_equal(zset_len(z), 1500);
    assert_int_equal(dict_size(z->dict), 1500);
    /* Ordered by score, then bytes, and the table agrees with the list. */
    const zsl_node *prev = NULL;
    size_t rank = 0;
    for (const zsl_node *x = z->zsl->header->level[0].forward; x != NULL;
         x = x->level[0].forward) {
        if (prev != NULL)
            assert_true(prev->score < x->score ||
                        (prev->score == x->score &&
                         zsl_cmp_bytes(prev->ele->data, prev->ele->len,
                                       x->ele->data, x->ele->len) < 0));
        double s;
        assert_true(zset_score(z, x->ele->data, x->ele->len, &s));
        assert_true(s == x->score);
        size_t r;
        assert_true(zset_rank(z, x->ele->data, x->ele->len, false, &r));
        assert_int_equal(r, rank++);
        prev = x;
    }
    zset_free(z);
}

static void zset_parsers(void **state) {
    (void)state;
    double d;
    assert_true(zset_parse_double("1.5", 3, &d) && d == 1.5);
    assert_true(zset_parse_double("-inf", 4, &d) && isinf(d) && d < 0);
    assert_true(zset_parse_double("+inf", 4, &d) && isinf(d) && d > 0);
    assert_false(zset_parse_double("nan", 3, &d));
    assert_false(zset_parse_double(" 1", 2, &d));
    assert_false(zset_parse_double("1x", 2, &d));
    assert_false(zset_parse_double("", 0, &d));
    assert_false(zset_parse_double("1e400", 5, &d));
    zrange r;
    assert_true(zset_parse_range("(1", 2, "+inf", 4, &r));
    assert_true(r.minex && !r.maxex && r.min == 1 && isinf(r.max));
    assert_true(zset_parse_range("(", 1, "5", 1, &r)); /* as Redis: 0 */
    assert_true(r.min == 0 && r.minex);
    assert_false(zset_parse_range("a", 1, "1", 1, &r));
    assert_false(zset_parse_range("1", 1, "(nan", 4, &r));
    zlexrange l;
    assert_true(zset_parse_lex("-", 1, "+", 1, &l));
    assert_true(l.min.inf < 0 && l.max.inf > 0);
    assert_true(zset_parse_lex("[a", 2, "(b", 2, &l));
    assert_true(!l.min.ex && l.max.ex && l.min.n == 1 && l.max.n == 1);
    assert_false(zset_parse_lex("a", 1, "+", 1, &l));
    assert_false(zset_parse_lex("-x", 2, "+", 1, &l));
    assert_false(zset_parse_lex("", 0, "+", 1, &l));
    char buf[64];
    assert_int_equal(zset_format_score(INFINITY, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "inf");
    zset_format_score(0.1, buf, sizeof(buf));
    assert_string_equal(buf, "0.10000000000000001");
}

int main(int argc, char **argv) {
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zset_add_flags),
        cmocka_unit_test(zset_many_members),
        cmocka_unit_test(zset_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
