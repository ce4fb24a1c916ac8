/* util/list.h: the intrusive list every other list in kairo is built on. */
#include "test.h"

#include "util/list.h"

typedef struct {
    int v;
    kr__list node;
} item;

static int values(kr__list *head, int *out, int max) {
    int n = 0;
    KR__LIST_FOR_EACH(it, tmp, head) {
        if (n < max)
            out[n] = KR__CONTAINER_OF(it, item, node)->v;
        n++;
    }
    return n;
}

static void list_push_pop_fifo_order(void **state) {
    (void)state;
    kr__list head;
    kr__list_init(&head);
    assert_true(kr__list_empty(&head));
    assert_null(kr__list_pop_front(&head));
    item it[4];
    for (int i = 0; i < 4; i++) {
        it[i].v = i;
        kr__list_node_init(&it[i].node);
        assert_false(kr__list_linked(&it[i].node));
        kr__list_push_back(&head, &it[i].node);
        assert_true(kr__list_linked(&it[i].node));
    }
    for (int i = 0; i < 4; i++) {
        kr__list *n = kr__list_pop_front(&head);
        assert_non_null(n);
        assert_int_equal(KR__CONTAINER_OF(n, item, node)->v, i);
        assert_false(kr__list_linked(n));
    }
    assert_true(kr__list_empty(&head));
}

static void list_remove_while_iterating(void **state) {
    (void)state;
    kr__list head;
    kr__list_init(&head);
    item it[6];
    for (int i = 0; i < 6; i++) {
        it[i].v = i;
        kr__list_node_init(&it[i].node);
        kr__list_push_back(&head, &it[i].node);
    }
    KR__LIST_FOR_EACH(n, tmp, &head) {
        if (KR__CONTAINER_OF(n, item, node)->v % 2 == 0)
            kr__list_remove(n);
    }
    int got[6];
    assert_int_equal(values(&head, got, 6), 3);
    assert_int_equal(got[0], 1);
    assert_int_equal(got[1], 3);
    assert_int_equal(got[2], 5);
    kr__list_push_front(&head, &it[0].node);
    assert_int_equal(KR__CONTAINER_OF(kr__list_front(&head), item, node)->v, 0);
    assert_int_equal(KR__CONTAINER_OF(kr__list_back(&head), item, node)->v, 5);
}

static void list_splice_moves_everything(void **state) {
    (void)state;
    kr__list a, b;
    kr__list_init(&a);
    kr__list_init(&b);
    item it[5];
    for (int i = 0; i < 5; i++) {
        it[i].v = i;
        kr__list_node_init(&it[i].node);
        kr__list_push_back(i < 2 ? &a : &b, &it[i].node);
    }
    kr__list_splice_back(&a, &b);
    assert_true(kr__list_empty(&b));
    int got[5];
    assert_int_equal(values(&a, got, 5), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(got[i], i);
    kr__list_splice_back(&a, &b); /* empty: a unchanged */
    assert_int_equal(values(&a, got, 5), 5);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(list_push_pop_fifo_order),
    cmocka_unit_test(list_remove_while_iterating),
    cmocka_unit_test(list_splice_moves_everything),
};
KR_TEST_MAIN(tests)
