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

/*
 * The same list with a one-pointer head (Linux's hlist), for arrays of
 * heads where a sentinel's second pointer would double the array (the
 * timer wheel's 384 slots). Each node points at the pointer that points at
 * it (`pprev`: the head's `first` or the previous node's `next`), so
 * removal needs neither the head nor a branch on being first. Unordered
 * but for push_front/pop_front (LIFO); no O(1) tail.
 */
typedef struct kr__hnode {
    struct kr__hnode *next;
    struct kr__hnode **pprev; /* NULL: on no list */
} kr__hnode;

typedef struct kr__hlist {
    kr__hnode *first;
} kr__hlist;

static inline void kr__hlist_init(kr__hlist *h) { h->first = NULL; }

static inline void kr__hnode_init(kr__hnode *n) {
    n->next = NULL;
    n->pprev = NULL;
}

static inline bool kr__hlist_empty(const kr__hlist *h) {
    return h->first == NULL;
}

static inline bool kr__hnode_linked(const kr__hnode *n) {
    return n->pprev != NULL;
}

static inline void kr__hlist_push_front(kr__hlist *h, kr__hnode *n) {
    KR__REQUIRE(!kr__hnode_linked(n), "node %p is already on a list",
                (void *)n);
    n->next = h->first;
    if (n->next != NULL)
        n->next->pprev = &n->next;
    h->first = n;
    n->pprev = &h->first;
}

/* Requires: n is on a list. Leaves it unlinked. */
static inline void kr__hlist_remove(kr__hnode *n) {
    KR__REQUIRE(kr__hnode_linked(n), "node %p is on no list", (void *)n);
    *n->pprev = n->next;
    if (n->next != NULL)
        n->next->pprev = n->pprev;
    n->next = NULL;
    n->pprev = NULL;
}

/* Unlinks and returns the first node, or NULL when empty. */
static inline kr__hnode *kr__hlist_pop_front(kr__hlist *h) {
    kr__hnode *n = h->first;
    if (n != NULL)
        kr__hlist_remove(n);
    return n;
}

/* Moves every node of `from` to the empty `to`, leaving `from` empty. */
static inline void kr__hlist_move(kr__hlist *to, kr__hlist *from) {
    KR__REQUIRE(kr__hlist_empty(to), "moving a list onto a non-empty one");
    to->first = from->first;
    if (to->first != NULL)
        to->first->pprev = &to->first;
    from->first = NULL;
}

#endif /* KR_UTIL_LIST_H */
