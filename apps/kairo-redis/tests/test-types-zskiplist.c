/*
 * test-zskiplist.c: the sorted set's ranked skiplist (zskiplist.h) against
 * a sorted-array model: random inserts, deletes and score updates, then
 * every rank, every rank lookup and random score and lex ranges compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zskiplist.h"

typedef struct item {
    double score;
    char ele[16];
} item;

static int item_cmp(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return zsl_cmp_bytes(x->ele, strlen(x->ele), y->ele, strlen(y->ele));
}

/* Checks spans: every level's spans add up to the level-0 distance. */
static void check_structure(const zsl *z, item *m, size_t n) {
    assert_int_equal(z->length, n);
    qsort(m, n, sizeof(item), item_cmp);
    size_t i = 0;
    const zsl_node *prev = NULL;
    for (const zsl_node *x = z->header->level[0].forward; x != NULL;
         x = x->level[0].forward, i++) {
        assert_true(i < n);
        assert_true(x->score == m[i].score);
        assert_string_equal(x->ele->data, m[i].ele);
        assert_ptr_equal(x->backward, prev);
        prev = x;
    }
    assert_ptr_equal(z->tail, prev);
    assert_int_equal(i, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(zsl_rank(z, m[i].score, m[i].ele, strlen(m[i].ele)),
                         i + 1);
        zsl_node *x = zsl_by_rank(z, i + 1);
        assert_non_null(x);
        assert_string_equal(x->ele->data, m[i].ele);
    }
    assert_null(zsl_by_rank(z, n + 1));
    assert_null(zsl_by_rank(z, 0));
}

static double rand_score(void) { return (double)(rand() % 50) / 2.0; }

static void check_ranges(const zsl *z, const item *m, size_t n) {
    for (int t = 0; t < 50; t++) {
        zrange r = {rand_score(), rand_score(), rand() % 2, rand() % 2};
        size_t first = 0, last = 0, count = 0;
        for (size_t i = 0; i < n; i++) {
            if (zsl_value_gte_min(m[i].score, &r) &&
                zsl_value_lte_max(m[i].score, &r)) {
                if (count++ == 0)
                    first = i + 1;
                last = i + 1;
            }
        }
        size_t rf = 0, rl = 0;
        zsl_node *f = zsl_first_in_range(z, &r, &rf);
        zsl_node *l = zsl_last_in_range(z, &r, &rl);
        if (count == 0) {
            assert_null(f);
            assert_null(l);
        } else {
            assert_non_null(f);
            assert_non_null(l);
            assert_int_equal(rf, first);
            assert_int_equal(rl, last);
            assert_string_equal(f->ele->data, m[first - 1].ele);
            assert_string_equal(l->ele->data, m[last - 1].ele);
        }
    }
}

static void zsl_random_against_model(void **state) {
    (void)state;
    srand(777);
    zsl *z = zsl_new();
    item *m = calloc(4000, sizeof(item));
    size_t n = 0;
    for (int round = 0; round < 6000; round++) {
        int op = rand() % 4;
        if (op <= 1 && n < 4000) {
            item it;
            it.score = rand_score();
            snprintf(it.ele, sizeof(it.ele), "e%d", rand() % 5000);
            bool dup = false;
            for (size_t i = 0; i < n; i++)
                dup = dup || strcmp(m[i].ele, it.ele) == 0;
            if (dup)
                continue;
            relem *e = relem_new(it.ele, strlen(it.ele));
            assert_non_null(zsl_insert(z, it.score, e));
            m[n++] = it;
        } else if (op == 2 && n > 0) {
            size_t i = (size_t)rand() % n;
            relem *e = zsl_delete(z, m[i].score, m[i].ele, strlen(m[i].ele));
            assert_non_null(e);
            assert_string_equal(e->data, m[i].ele);
            relem_free(e);
            assert_null(zsl_delete(z, m[i].score, m[i].ele, strlen(m[i].ele)));
            m[i] = m[--n];
        } else if (op == 3 && n > 0) {
            size_t i = (size_t)rand() % n;
            relem *key = relem_new(m[i].ele, strlen(m[i].ele));
            double ns = rand() % 3 == 0 ? m[i].score : rand_score();
            zsl_node *x = zsl_update_score(z, m[i].score, key, ns);
            assert_non_null(x);
            assert_true(x->score == ns);
            assert_string_equal(x->ele->data, m[i].ele);
            relem_free(key);
            m[i].score = ns;
        }
        if (round % 300 == 0) {
            check_structure(z, m, n);
            check_ranges(z, m, n);
        }
    }
    check_structure(z, m, n);
    check_ranges(z, m, n);
    zsl_free(z);
    free(m);
}

static void zsl_lex_ranges(void **state) {
    (void)state;
    zsl *z = zsl_new();
    const char *w[] = {"a", "aa", "ab", "b", "ba", "c"};
    for (int i = 0; i < 6; i++)
        zsl_insert(z, 0, relem_new(w[i], strlen(w[i])));
    zlexrange r = {{NULL, 0, -1, false}, {NULL, 0, 1, false}};
    size_t rk;
    assert_string_equal(zsl_first_in_lex(z, &r, &rk)->ele->data, "a");
    assert_int_equal(rk, 1);
    assert_string_equal(zsl_last_in_lex(z, &r, &rk)->ele->data, "c");
    assert_int_equal(rk, 6);
    zlexrange r2 = {{"aa", 2, 0, true}, {"b", 1, 0, false}};
    assert_string_equal(zsl_first_in_lex(z, &r2, &rk)->ele->data, "ab");
    assert_int_equal(rk, 3);
    assert_string_equal(zsl_last_in_lex(z, &r2, &rk)->ele->data, "b");
    assert_int_equal(rk, 4);
    zlexrange r3 = {{"b", 1, 0, true}, {"b", 1, 0, false}};
    assert_null(zsl_first_in_lex(z, &r3, NULL));
    zlexrange r4 = {{NULL, 0, 1, false}, {NULL, 0, -1, false}};
    assert_null(zsl_first_in_lex(z, &r4, NULL));
    zsl_free(z);
}

int main(int argc, char **argv) {
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zsl_random_against_model),
        cmocka_unit_test(zsl_lex_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
