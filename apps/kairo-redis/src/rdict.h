/*
 * rdict.h: a hash table from byte-string keys to a pointer, for the hash,
 * set and sorted-set types of kairo-redis.
 *
 * Separate chaining in a power-of-two bucket array; the key bytes live in
 * the entry itself (one allocation per entry). The table doubles when it
 * holds as many entries as buckets and halves below one in eight, all at
 * once (no incremental rehash: a resize of n entries costs O(n) in one
 * step, which is the price of the simplicity).
 *
 * rdict_scan is Redis's reverse-binary cursor: a full scan (cursor 0 back
 * to 0) returns every entry that was present throughout it at least once,
 * even if the table grew or shrank between calls; some may come twice.
 */
#ifndef KAIRO_REDIS_RDICT_H
#define KAIRO_REDIS_RDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rdict_entry {
    struct rdict_entry *next;
    uint64_t hash;
    void *val;
    size_t klen;
    char key[]; /* NUL-terminated after klen */
} rdict_entry;

typedef struct rdict {
    rdict_entry **buckets;
    size_t mask; /* buckets - 1; 0 with no array yet */
    size_t used;
    size_t key_bytes; /* sum of key lengths, for memory accounting */
} rdict;

uint64_t rdict_hash(const char *p, size_t n);

void rdict_init(rdict *d);
/* Frees every entry; free_val (if not NULL) is called on each value. */
void rdict_clear(rdict *d, void (*free_val)(void *));
static inline size_t rdict_size(const rdict *d) { return d->used; }

rdict_entry *rdict_find(const rdict *d, const char *k, size_t n);
/* Adds key k, or finds it: *existed tells which. NULL if out of memory.
 * A new entry's val is NULL. */
rdict_entry *rdict_add(rdict *d, const char *k, size_t n, bool *existed);
/* Unlinks the entry of key k and returns it (the caller frees it with
 * free(), after its value), or NULL if absent. */
rdict_entry *rdict_unlink(rdict *d, const char *k, size_t n);
/* Shrinks the table if it became sparse; call after deletions (not during
 * an iteration). */
void rdict_shrink(rdict *d);

/* A uniformly chosen bucket's random entry: close to uniform over entries
 * when chains are short (they are: load factor at most 1). NULL if
 * empty. rnd is a 64-bit random source. */
rdict_entry *rdict_random(const rdict *d, uint64_t (*rnd)(void));

/* Calls fn on every entry of the buckets the cursor visits; returns the
 * next cursor (0: done). fn must not change the table. */
size_t rdict_scan(const rdict *d, size_t cursor,
                  void (*fn)(void *arg, const rdict_entry *e), void *arg);

/* Plain iteration: rdict_next(d, &it) until NULL; the table must not
 * change meanwhile. */
typedef struct rdict_iter {
    size_t bucket;
    rdict_entry *e;
} rdict_iter;
static inline void rdict_iter_init(rdict_iter *it) {
    it->bucket = 0;
    it->e = NULL;
}
rdict_entry *rdict_next(const rdict *d, rdict_iter *it);

#endif
