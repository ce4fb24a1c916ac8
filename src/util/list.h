/*
 * util/list.h: the one intrusive doubly-linked list.
 *
 * A list is a sentinel node whose next/prev point at itself when empty;
 * elements embed a kr__list node and are found again with KR__CONTAINER_OF.
 * Every operation is O(1) and allocation-free. No locking: whoever owns the
 * list (a lock, a single thread) says so where the list lives.
 *
 * A node that is on no list is "unlinked" (both pointers NULL, after
 * kr__list_node_init or kr__list_remove), so a drop path can ask
 * kr__list_linked() instead of keeping a separate flag.
 */
#ifndef KR_UTIL_LIST_H
#define KR_UTIL_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/debug.h"

/* Defined once for the public futures that embed a node too
 * (include/kairo/waiter.h, which shares the guard). */
#ifndef KR__LIST_DEFINED
#define KR__LIST_DEFINED
typedef struct kr__list {
    struct kr__list *next;
    struct kr__list *prev;
} kr__list;
#endif

#define KR__CONTAINER_OF(ptr, type, member)                                    \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* The sentinel of an empty list. */
static inline void kr__list_init(kr__list *head) {
    head->next = head;
    head->prev = head;
}

/* An element's node, before it is on any list. */
static inline void kr__list_node_init(kr__list *node) {
    node->next = NULL;
    node->prev = NULL;
}

static inline bool kr__list_empty(const kr__list *head) {
    return head->next == head;
}

static inline bool kr__list_linked(const kr__list *node) {
    return node->next != NULL;
}

static inline void kr__list_insert_between(kr__list *node, kr__list *prev,
                                           kr__list *next) {
    KR__REQUIRE(!kr__list_linked(node), "node %p is already on a list",
                (void *)node);
    node->prev = prev;
    node->next = next;
    prev->next = node;
    next->prev = node;
}

/* Appends at the tail (FIFO order with kr__list_pop_front). */
static inline void kr__list_push_back(kr__list *head, kr__list *node) {
    kr__list_insert_between(node, head->prev, head);
}

static inline void kr__list_push_front(kr__list *head, kr__list *node) {
    kr__list_insert_between(node, head, head->next);
}

/* Requires: node is on a list. Leaves it unlinked. */
static inline void kr__list_remove(kr__list *node) {
    KR__REQUIRE(kr__list_linked(node), "node %p is on no list", (void *)node);
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->next = NULL;
    node->prev = NULL;
}

/* The first node, or NULL when empty. */
static inline kr__list *kr__list_front(const kr__list *head) {
    return kr__list_empty(head) ? NULL : head->next;
}

static inline kr__list *kr__list_back(const kr__list *head) {
    return kr__list_empty(head) ? NULL : head->prev;
}

/* Unlinks and returns the first node, or NULL when empty. */
static inline kr__list *kr__list_pop_front(kr__list *head) {
    kr__list *n = kr__list_front(head);
    if (n != NULL)
        kr__list_remove(n);
    return n;
}

/* Moves every node of `from` to the tail of `to`, leaving `from` empty. */
static inline void kr__list_splice_back(kr__list *to, kr__list *from) {
    if (kr__list_empty(from))
        return;
    from->next->prev = to->prev;
    to->prev->next = from->next;
    from->prev->next = to;
    to->prev = from->prev;
    kr__list_init(from);
}

/* Iterates; the body may remove `it` (the next node is read first). */
#define KR__LIST_FOR_EACH(it, tmp, head)                                       \
    for (kr__list *it = (head)->next, *tmp = it->next; it != (head);           \
         it = tmp, tmp = it->next)

#endif /* KR_UTIL_LIST_H */
