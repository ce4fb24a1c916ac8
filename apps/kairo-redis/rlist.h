/*
 * rlist.h: kairo-redis's list encoding, a chunked deque (the idea of
 * Redis's quicklist, without its packed nodes).
 *
 * A doubly linked list of nodes, each an array of up to RLIST_NODE_CAP
 * element pointers kept in one contiguous window [start, start+count) of
 * the array. A push at the head fills a head node's window downwards, a
 * push at the tail fills the tail node's upwards, so both are O(1); an
 * index walks nodes (not elements) from the nearer end, O(n / CAP). An
 * insert into a full node splits it in two halves.
 *
 * Elements are owned byte strings (relem), copied in on push.
 */
#ifndef KAIRO_REDIS_RLIST_H
#define KAIRO_REDIS_RLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ds_alloc.h"

/* 128 pointers = 1 KiB per node: few nodes to walk for LINDEX, and a
 * memmove inside a node (LINSERT, LREM) stays within two cache lines'
 * worth of a page. */
#define RLIST_NODE_CAP 128

typedef struct relem {
    size_t len;
    char data[]; /* NUL-terminated after len, for strtod and friends */
} relem;

relem *relem_new(const char *p, size_t n);
static inline void relem_free(relem *e) { zfree(e); }

typedef struct rlist_node {
    struct rlist_node *prev, *next;
    uint32_t start, count;
    relem *items[RLIST_NODE_CAP];
} rlist_node;

typedef struct rlist {
    rlist_node *head, *tail;
    size_t len;
    size_t bytes; /* sum of element lengths, for memory accounting */
} rlist;

enum { RLIST_HEAD = 0, RLIST_TAIL = 1 };

/* A position: node and offset (0-based inside the window). */
typedef struct rlist_iter {
    rlist *l;
    rlist_node *node; /* the next element's, NULL at the end */
    uint32_t off;
    rlist_node *last; /* the element last returned */
    uint32_t last_off;
    bool reverse;
} rlist_iter;

rlist *rlist_new(void);
void rlist_free(rlist *l);
static inline size_t rlist_len(const rlist *l) { return l->len; }

/* 0, or -1 when out of memory (the list is unchanged). */
int rlist_push(rlist *l, int where, const char *p, size_t n);
/* Pushes an existing element, taking ownership. */
int rlist_push_elem(rlist *l, int where, relem *e);
/* The removed element (caller frees it), or NULL if empty. */
relem *rlist_pop(rlist *l, int where);

/* Normalizes Redis's index (negative counts from the tail); false if out
 * of range. */
bool rlist_norm_index(const rlist *l, long long idx, size_t *out);
/* The element at a normalized index, or NULL. */
relem *rlist_at(rlist *l, size_t idx);
/* Replaces the element at a normalized index; -1 out of memory. */
int rlist_set(rlist *l, size_t idx, const char *p, size_t n);

/* Iterator at normalized index idx (idx < len) moving towards the tail,
 * or towards the head when reverse. */
void rlist_iter_at(rlist *l, size_t idx, bool reverse, rlist_iter *it);
/* The element under the iterator, advancing it; NULL at the end. */
relem *rlist_iter_next(rlist_iter *it);
/* Deletes the element that the last rlist_iter_next returned; the
 * iterator then continues with the element that would have followed. */
void rlist_iter_del_prev(rlist_iter *it);
/* Inserts before (after == false) or after the element the last
 * rlist_iter_next returned. The iterator is invalid afterwards.
 * Returns -1 when out of memory. */
int rlist_iter_insert(rlist_iter *it, bool after, const char *p, size_t n);

/* Removes n elements from the head and m from the tail (clamped). */
void rlist_trim(rlist *l, size_t n, size_t m);

#endif
