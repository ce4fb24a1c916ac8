/*
 * test-rlist.c: kairo-redis's list encoding (rlist.h) against a plain
 * array model, through random pushes, pops, sets, inserts, deletes and
 * trims that cross node boundaries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlist.h"

/* The model: an array of ints, the list's elements are their decimal
 * strings. */
typedef struct model {
    long *v;
    size_t n, cap;
} model;

static void m_insert(model *m, size_t at, long x) {
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->v = realloc(m->v, m->cap * sizeof(long));
    }
    memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(long));
    m->v[at] = x;
    m->n++;
}
static void m_delete(model *m, size_t at) {
    memmove(&m->v[at], &m->v[at + 1], (m->n - at - 1) * sizeof(long));
    m->n--;
}

static long elem_val(const relem *e) { return strtol(e->data, NULL, 10); }

static void check(rlist *l, const model *m) {
    assert_int_equal(rlist_len(l), m->n);
    size_t bytes = 0;
    rlist_iter it;
    rlist_iter_at(l, 0, false, &it);
    for (size_t i = 0; i < m->n; i++) {
        relem *e = rlist_iter_next(&it);
        assert_non_null(e);
        assert_int_equal(elem_val(e), m->v[i]);
        bytes += e->len;
    }
    assert_null(rlist_iter_next(&it));
    assert_int_equal(bytes, l->bytes);
    if (m->n > 0) {
        rlist_iter_at(l, m->n - 1, true, &it);
        for (size_t i = m->n; i-- > 0;)
            assert_int_equal(elem_val(rlist_iter_next(&it)), m->v[i]);
        assert_null(rlist_iter_next(&it));
    }
}

static void push(rlist *l, int where, long x) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld", x);
    assert_int_equal(rlist_push(l, where, buf, (size_t)n), 0);
}

static void rlist_push_pop_both_ends(void **state) {
    (void)state;
    rlist *l = rlist_new();
    model m = {0};
    for (long i = 0; i < 1000; i++) {
        push(l, RLIST_HEAD, i);
        m_insert(&m, 0, i);
        push(l, RLIST_TAIL, -i);
        m_insert(&m, m.n, -i);
    }
    check(l, &m);
    for (int i = 0; i < 700; i++) {
        relem *e = rlist_pop(l, i % 3 == 0 ? RLIST_TAIL : RLIST_HEAD);
        size_t at = i % 3 == 0 ? m.n - 1 : 0;
        assert_int_equal(elem_val(e), m.v[at]);
        relem_free(e);
        m_delete(&m, at);
    }
    check(l, &m);
    while (m.n > 0) {
        relem_free(rlist_pop(l, RLIST_HEAD));
        m_delete(&m, 0);
    }
    assert_null(rlist_pop(l, RLIST_HEAD));
    assert_null(rlist_pop(l, RLIST_TAIL));
    assert_null(l->head);
    assert_null(l->tail);
    rlist_free(l);
    free(m.v);
}

static void rlist_index_negative_and_out_of_range(void **state) {
    (void)state;
    rlist *l = rlist_new();
    for (long i = 0; i < 300; i++)
        push(l, RLIST_TAIL, i);
    size_t idx;
    assert_true(rlist_norm_index(l, -1, &idx));
    assert_int_equal(idx, 299);
    assert_true(rlist_norm_index(l, -300, &idx));
    assert_int_equal(idx, 0);
    assert_false(rlist_norm_index(l, -301, &idx));
    assert_false(rlist_norm_index(l, 300, &idx));
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(elem_val(rlist_at(l, i)), (long)i);
    assert_null(rlist_at(l, 300));
    assert_int_equal(rlist_set(l, 150, "x", 1), 0);
    assert_string_equal(rlist_at(l, 150)->data, "x");
    assert_int_equal(rlist_set(l, 300, "x", 1), -1);
    rlist_free(l);
}

/* Random operations against the model. */
static void rlist_random_against_model(void **state) {
    (void)state;
    srand(12345);
    rlist *l = rlist_new();
    model m = {0};
    long next = 0;
    for (int round = 0; round < 20000; round++) {
        int op = rand() % 10;
        if (op <= 2) {
            int where = rand() % 2;
            push(l, where, next);
            m_insert(&m, where == RLIST_HEAD ? 0 : m.n, next);
            next++;
        } else if (op == 3 && m.n > 0) {
            int where = rand() % 2;
            relem *e = rlist_pop(l, where);
            size_t at = where == RLIST_HEAD ? 0 : m.n - 1;
            assert_int_equal(elem_val(e), m.v[at]);
            relem_free(e);
            m_delete(&m, at);
        } else if (op == 4 && m.n > 0) {
            size_t at = (size_t)rand() % m.n;
            char buf[32];
            int n = snprintf(buf, sizeof(buf), "%ld", next);
            assert_int_equal(rlist_set(l, at, buf, (size_t)n), 0);
            m.v[at] = next++;
        } else if ((op == 5 || op == 6) && m.n > 0) {
            /* LINSERT-like: before or after a random element, found by
             * iterating in a random direction. */
            size_t at = (size_t)rand() % m.n;
            bool rev = rand() % 2, after = rand() % 2;
            rlist_iter it;
            rlist_iter_at(l, at, rev, &it);
            relem *e = rlist_iter_next(&it);
            assert_int_equal(elem_val(e), m.v[at]);
            char buf[32];
            int n = snprintf(buf, sizeof(buf), "%ld", next);
            assert_int_equal(rlist_iter_insert(&it, after, buf, (size_t)n), 0);
            m_insert(&m, at + (after ? 1 : 0), next++);
        } else if (op == 7 && m.n > 0) {
            /* LREM-like: delete every element divisible by k in a random
             * direction, up to a random count. */
            long k = 2 + rand() % 5;
            bool rev = rand() % 2;
            size_t limit = (size_t)(rand() % 4);
            size_t removed = 0;
            rlist_iter it;
            rlist_iter_at(l, rev ? m.n - 1 : 0, rev, &it);
            relem *e;
            while ((e = rlist_iter_next(&it)) != NULL) {
                if (elem_val(e) % k == 0) {
                    rlist_iter_del_prev(&it);
                    if (++removed == limit)
                        break;
                }
            }
            size_t done = 0;
            if (!rev) {
                for (size_t i = 0; i < m.n && (limit == 0 || done < limit);) {
                    if (m.v[i] % k == 0) {
                        m_delete(&m, i);
                        done++;
                    } else {
                        i++;
                    }
                }
            } else {
                for (size_t i = m.n; i-- > 0 && (limit == 0 || done < limit);) {
                    if (m.v[i] % k == 0) {
                        m_delete(&m, i);
                        done++;
                    }
                }
            }
            assert_int_equal(done, removed);
        } else if (op == 8 && m.n > 0 && rand() % 20 == 0) {
            size_t a = (size_t)rand() % (m.n + 1),
                   b = (size_t)rand() % (m.n + 1);
            rlist_trim(l, a, b);
            if (a + b >= m.n) {
                m.n = 0;
            } else {
                memmove(m.v, m.v + a, (m.n - a - b) * sizeof(long));
                m.n -= a + b;
            }
        } else if (op == 9 && m.n > 0) {
            size_t at = (size_t)rand() % m.n;
            assert_int_equal(elem_val(rlist_at(l, at)), m.v[at]);
        }
        if (round % 500 == 0)
            check(l, &m);
    }
    check(l, &m);
    rlist_free(l);
    free(m.v);
}

int main(int argc, char **argv) {
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rlist_push_pop_both_ends),
        cmocka_unit_test(rlist_index_negative_and_out_of_range),
        cmocka_unit_test(rlist_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
