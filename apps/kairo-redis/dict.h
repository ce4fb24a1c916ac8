/*
 * dict.h: the hash table of kairo-redis (the keyspace, the expires table;
 * families may use it for hashes and sets).
 *
 * Chained buckets, a power-of-two table, keys copied into the entry (one
 * allocation per entry: the key bytes follow the entry, NUL-terminated).
 * The table doubles when it is full (used == size) and shrinks only when
 * dict_shrink_if_needed is called (the server cron), so deleting during an
 * iteration is safe. Resizing rehashes everything at once (no incremental
 * rehash: a 1 M key table rehashes in a few ms). dict_scan uses Redis's
 * reverse-binary cursor, so a SCAN started before a resize still returns
 * every key present all along.
 *
 * Not thread-safe: kairo-redis calls it with server.lock held.
 */
#ifndef KAIRO_REDIS_DICT_H
#define KAIRO_REDIS_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef union dict_val {
    void *ptr;
    int64_t s64;
    double d;
} dict_val;

typedef struct dict_entry {
    struct dict_entry *next;
    dict_val val;
    uint64_t hash;
    size_t keylen;
    char key[]; /* keylen bytes, then a NUL */
} dict_entry;

typedef struct dict {
    dict_entry **table;
    size_t size; /* buckets: 0 or a power of two */
    size_t used; /* entries */
} dict;

/* Seeds the hash function (once, at startup). */
void dict_set_hash_seed(uint64_t seed);
uint64_t dict_hash(const char *key, size_t len);

dict *dict_new(void);
/* Frees every entry (calling free_val on each first, if not NULL) and the
 * dict. NULL is ignored. */
void dict_free(dict *d, void (*free_val)(dict_entry *e));
/* Removes every entry (as dict_free) but keeps the dict. */
void dict_clear(dict *d, void (*free_val)(dict_entry *e));

dict_entry *dict_find(const dict *d, const char *key, size_t len);
/* Finds or adds the key. *existed says which; a new entry's val is zero. */
dict_entry *dict_add_or_find(dict *d, const char *key, size_t len,
                             bool *existed);
/* Removes the key; its old value goes to *old (may be NULL). The entry is
 * freed (not the value). Returns true if it was there. */
bool dict_delete(dict *d, const char *key, size_t len, dict_val *old);
static inline size_t dict_size(const dict *d) { return d ? d->used : 0; }
/* A random entry (roughly uniform), NULL if empty. */
dict_entry *dict_random(const dict *d);
/* Calls fn for the entries of one or more buckets starting at cursor;
 * returns the next cursor (0 when the scan is done). fn must not add to or
 * delete from the dict. */
uint64_t dict_scan(const dict *d, uint64_t cursor,
                   void (*fn)(void *ctx, const dict_entry *e), void *ctx);
/* Shrinks the table when it is under 1/8 full (call it outside
 * iterations). */
void dict_shrink_if_needed(dict *d);

/* Iteration. The current entry may be deleted (dict_delete) during the
 * loop; nothing may be added. */
typedef struct dict_iter {
    const dict *d;
    size_t bucket;
    dict_entry *next;
} dict_iter;
void dict_iter_init(dict_iter *it, const dict *d);
dict_entry *dict_iter_next(dict_iter *it);

/* Approximate memory of the table itself (not the values). */
size_t dict_mem(const dict *d);

#endif /* KAIRO_REDIS_DICT_H */
