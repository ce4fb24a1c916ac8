/*
 * zskiplist.h: the sorted set's ordered index, a skiplist with rank spans
 * (the structure of Redis's t_zset.c, written anew).
 *
 * Nodes are ordered by (score, element bytes); every forward link records
 * its span, the number of level-0 steps it jumps, so that the rank of a
 * node is the sum of the spans on the search path, and the node of a given
 * rank is found in O(log n). Level 0 is also linked backwards for reverse
 * ranges. A node owns its element (a relem), which the sorted set's hash
 * table borrows as its key.
 */
#ifndef KAIRO_REDIS_ZSKIPLIST_H
#define KAIRO_REDIS_ZSKIPLIST_H

#include "rlist.h" /* relem */

#include <stdbool.h>
#include <stddef.h>

/* 32 levels with P = 1/4 are enough for 2^64 elements. */
#define ZSL_MAXLEVEL 32
#define ZSL_P        0.25

typedef struct zsl_node {
    relem *ele;
    double score;
    struct zsl_node *backward;
    struct zsl_level {
        struct zsl_node *forward;
        size_t span;
    } level[];
} zsl_node;

typedef struct zsl {
    zsl_node *header, *tail;
    size_t length;
    int level;
} zsl;

/* A score interval; minex/maxex exclude the bound ("(1.5"). */
typedef struct zrange {
    double min, max;
    bool minex, maxex;
} zrange;

/* A lexical interval; a NULL bound with inf set is "-"/"+" (inf < 0 for
 * minus infinity, > 0 for plus infinity). */
typedef struct zlexbound {
    const char *p;
    size_t n;
    int inf;
    bool ex;
} zlexbound;
typedef struct zlexrange {
    zlexbound min, max;
} zlexrange;

zsl *zsl_new(void);
/* Frees every node and element. */
void zsl_free(zsl *z);

/* Inserts (score, ele), taking ownership of ele; the pair must not be in
 * the list (the caller checks its hash table). NULL if out of memory. */
zsl_node *zsl_insert(zsl *z, double score, relem *ele);
/* Removes the node with this score and element; returns its element (the
 * caller frees it) or NULL if absent. */
relem *zsl_delete(zsl *z, double score, const char *p, size_t n);
/* Moves the node (score cur, element ele) to newscore; returns the node
 * now holding ele (maybe the same one), NULL if out of memory (then the
 * node is unchanged). */
zsl_node *zsl_update_score(zsl *z, double cur, const relem *ele,
                           double newscore);
/* 1-based rank of (score, ele), 0 if absent. */
size_t zsl_rank(const zsl *z, double score, const char *p, size_t n);
/* Node of 1-based rank, NULL if out of range. */
zsl_node *zsl_by_rank(const zsl *z, size_t rank);

/* The first/last node inside the range, NULL if none; *rank (if not NULL)
 * receives its 1-based rank. */
zsl_node *zsl_first_in_range(const zsl *z, const zrange *r, size_t *rank);
zsl_node *zsl_last_in_range(const zsl *z, const zrange *r, size_t *rank);
bool zsl_value_gte_min(double v, const zrange *r);
bool zsl_value_lte_max(double v, const zrange *r);

zsl_node *zsl_first_in_lex(const zsl *z, const zlexrange *r, size_t *rank);
zsl_node *zsl_last_in_lex(const zsl *z, const zlexrange *r, size_t *rank);
bool zsl_lex_gte_min(const relem *e, const zlexrange *r);
bool zsl_lex_lte_max(const relem *e, const zlexrange *r);

/* memcmp order, a shorter prefix first. */
int zsl_cmp_bytes(const char *a, size_t an, const char *b, size_t bn);

#endif
