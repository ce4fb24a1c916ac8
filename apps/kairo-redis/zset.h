/*
 * zset.h: the sorted set value of kairo-redis: a ranked skiplist ordered
 * by (score, member) plus a hash table from member to its skiplist node
 * (Redis's skiplist encoding; there is no small listpack encoding).
 */
#ifndef KAIRO_REDIS_ZSET_H
#define KAIRO_REDIS_ZSET_H

#include "dict.h"
#include "zskiplist.h"

typedef struct zset {
    zsl *zsl;
    dict *dict; /* member -> zsl_node* (val.ptr) */
} zset;

/* ZADD's input flags and its outcome (Redis's ZADD_IN_* / ZADD_OUT_*). */
enum {
    ZADD_NX = 1 << 0,
    ZADD_XX = 1 << 1,
    ZADD_GT = 1 << 2,
    ZADD_LT = 1 << 3,
    ZADD_INCR = 1 << 4,
};
enum {
    ZADD_OUT_NOP = 1 << 0,
    ZADD_OUT_NAN = 1 << 1,
    ZADD_OUT_ADDED = 1 << 2,
    ZADD_OUT_UPDATED = 1 << 3,
};

zset *zset_new(void);
void zset_free(zset *z);
static inline size_t zset_len(const zset *z) { return z->zsl->length; }

/* Adds or updates member ele with score under flags; *out gets the
 * outcome bits and *newscore (if not NULL) the resulting score. Returns 0,
 * or -1 when out of memory. */
int zset_add(zset *z, double score, const char *p, size_t n, int flags,
             int *out, double *newscore);
/* Removes a member; true if it was there. */
bool zset_del(zset *z, const char *p, size_t n);
/* The member's score; false if absent. */
bool zset_score(const zset *z, const char *p, size_t n, double *score);
/* The member's 0-based rank from the lowest (reverse: from the highest);
 * false if absent. */
bool zset_rank(const zset *z, const char *p, size_t n, bool reverse,
               size_t *rank);
/* Approximate bytes used (MEMORY / maxmemory accounting). */
size_t zset_bytes(const zset *z);

/* Redis's strict double parse (no spaces, no trailing bytes, no NaN, no
 * overflow); "inf", "+inf", "-inf" are accepted. */
bool zset_parse_double(const char *p, size_t n, double *out);
/* ZRANGEBYSCORE's bounds ("(1.5", "-inf"); false: not a float. */
bool zset_parse_range(const char *minp, size_t minn, const char *maxp,
                      size_t maxn, zrange *r);
/* ZRANGEBYLEX's bounds ("[a", "(a", "-", "+"); false: invalid. The range
 * borrows the argument bytes. */
bool zset_parse_lex(const char *minp, size_t minn, const char *maxp,
                    size_t maxn, zlexrange *r);
/* Formats a score as Redis 7.0 does in replies (%.17g, "inf"/"-inf");
 * returns the length written into buf (at least 32 bytes). */
int zset_format_score(double d, char *buf, size_t cap);

#endif
