/*
 * dict.c: the chained hash table (see dict.h).
 */
#include <string.h>

#include "dict.h"
#include "server.h"

static uint64_t hash_seed = 0x9e3779b97f4a7c15ull;

void dict_set_hash_seed(uint64_t seed) { hash_seed = seed | 1; }

static inline uint64_t mix(uint64_t a, uint64_t b) {
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A wyhash-style hash: 64-bit multiply-mix over 8-byte words. Seeded at
 * startup so that colliding keys cannot be precomputed. */
uint64_t dict_hash(const char *key, size_t len) {
    const unsigned char *p = (const unsigned char *)key;
    uint64_t h = hash_seed ^ (len * 0xa0761d6478bd642full);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix(h ^ w, 0xe7037ed1a0b428dbull);
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < len; i++)
        w |= (uint64_t)p[i] << (8 * i);
    h = mix(h ^ w ^ 0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull);
    return mix(h, 0x1d8e4e27c47d124full);
}

dict *dict_new(void) { return zcalloc(sizeof(dict)); }

void dict_clear(dict *d, void (*free_val)(dict_entry *e)) {
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->size; i++) {
        dict_entry *e = d->table[i];
        while (e != NULL) {
            dict_entry *next = e->next;
            if (free_val != NULL)
                free_val(e);
            zfree(e);
            e = next;
        }
    }
    zfree(d->table);
    d->table = NULL;
    d->size = 0;
    d->used = 0;
}

void dict_free(dict *d, void (*free_val)(dict_entry *e)) {
    if (d == NULL)
        return;
    dict_clear(d, free_val);
    zfree(d);
}

static void resize(dict *d, size_t size) {
    dict_entry **t = zcalloc(size * sizeof(*t));
    for (size_t i = 0; i < d->size; i++) {
        dict_entry *e = d->table[i];
        while (e != NULL) {
            dict_entry *next = e->next;
            size_t b = e->hash & (size - 1);
            e->next = t[b];
            t[b] = e;
            e = next;
        }
    }
    zfree(d->table);
    d->table = t;
    d->size = size;
}

dict_entry *dict_find(const dict *d, const char *key, size_t len) {
    if (d == NULL || d->size == 0)
        return NULL;
    uint64_t h = dict_hash(key, len);
    for (dict_entry *e = d->table[h & (d->size - 1)]; e != NULL; e = e->next)
        if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

dict_entry *dict_add_or_find(dict *d, const char *key, size_t len,
                             bool *existed) {
    uint64_t h = dict_hash(key, len);
    if (d->size != 0) {
        for (dict_entry *e = d->table[h & (d->size - 1)]; e != NULL;
             e = e->next)
            if (e->hash == h && e->keylen == len &&
                memcmp(e->key, key, len) == 0) {
                *existed = true;
                return e;
            }
    }
    *existed = false;
    if (d->used >= d->size)
        resize(d, d->size == 0 ? 4 : d->size * 2);
    dict_entry *e = zmalloc(sizeof(*e) + len + 1);
    e->val.s64 = 0;
    e->hash = h;
    e->keylen = len;
    if (len > 0)
        memcpy(e->key, key, len);
    e->key[len] = '\0';
    size_t b = h & (d->size - 1);
    e->next = d->table[b];
    d->table[b] = e;
    d->used++;
    return e;
}

bool dict_delete(dict *d, const char *key, size_t len, dict_val *old) {
    if (d == NULL || d->size == 0)
        return false;
    uint64_t h = dict_hash(key, len);
    dict_entry **pp = &d->table[h & (d->size - 1)];
    for (dict_entry *e = *pp; e != NULL; pp = &e->next, e = e->next) {
        if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0) {
            *pp = e->next;
            if (old != NULL)
                *old = e->val;
            zfree(e);
            d->used--;
            return true;
        }
    }
    return false;
}

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint64_t rng(void) {
    /* splitmix64: a random key for RANDOMKEY, eviction and expiry
     * sampling; the lock serialises callers. */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

dict_entry *dict_random(const dict *d) {
    if (d == NULL || d->used == 0)
        return NULL;
    dict_entry *e;
    do {
        e = d->table[rng() & (d->size - 1)];
    } while (e == NULL);
    size_t n = 0;
    for (dict_entry *x = e; x != NULL; x = x->next)
        n++;
    size_t k = (size_t)(rng() % n);
    while (k-- > 0)
        e = e->next;
    return e;
}

/* Reverse-binary cursor increment (Redis's dictScan): the cursor's high
 * bits advance first, so buckets that split or merge on a resize are
 * visited in an order that covers every key present for the whole scan. */
static uint64_t rev(uint64_t v) {
    uint64_t r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

uint64_t dict_scan(const dict *d, uint64_t cursor,
                   void (*fn)(void *ctx, const dict_entry *e), void *ctx) {
    if (d == NULL || d->used == 0)
        return 0;
    uint64_t mask = d->size - 1;
    for (const dict_entry *e = d->table[cursor & mask]; e != NULL; e = e->next)
        fn(ctx, e);
    cursor |= ~mask;
    cursor = rev(cursor);
    cursor++;
    cursor = rev(cursor);
    return cursor;
}

void dict_shrink_if_needed(dict *d) {
    if (d == NULL || d->size <= 4 || d->used * 8 >= d->size)
        return;
    size_t size = 4;
    while (size < d->used)
        size *= 2;
    resize(d, size);
}

void dict_iter_init(dict_iter *it, const dict *d) {
    it->d = d;
    it->bucket = 0;
    it->next = NULL;
}

dict_entry *dict_iter_next(dict_iter *it) {
    const dict *d = it->d;
    if (d == NULL)
        return NULL;
    while (it->next == NULL) {
        if (it->bucket >= d->size)
            return NULL;
        it->next = d->table[it->bucket++];
    }
    dict_entry *e = it->next;
    it->next = e->next;
    return e;
}

size_t dict_mem(const dict *d) {
    return d == NULL ? 0 : sizeof(*d) + d->size * sizeof(dict_entry *);
}
