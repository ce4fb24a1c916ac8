/* rdict.c: the chained hash table of rdict.h. */
#include "rdict.h"

#include <stdlib.h>
#include <string.h>

/* A seed fixed per process from the address space layout and the clock
 * would stop an attacker from precomputing collisions only if secret; the
 * hash below is not cryptographic either. It is fast (8 bytes a step) and
 * mixes well; hash flooding is left to the query limits. */
static uint64_t load64(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t rdict_hash(const char *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0x100000001b3ULL);
    while (n >= 8) {
        h = (h ^ mix(load64(p))) * 0x9E3779B97F4A7C15ULL;
        h = (h << 31) | (h >> 33);
        p += 8;
        n -= 8;
    }
    uint64_t t = 0;
    for (size_t i = 0; i < n; i++)
        t |= (uint64_t)(unsigned char)p[i] << (8 * i);
    h ^= mix(t ^ 0x5bd1e995);
    return mix(h);
}

void rdict_init(rdict *d) { memset(d, 0, sizeof(*d)); }

void rdict_clear(rdict *d, void (*free_val)(void *)) {
    if (d->buckets != NULL) {
        for (size_t i = 0; i <= d->mask; i++) {
            rdict_entry *e = d->buckets[i];
            while (e != NULL) {
                rdict_entry *next = e->next;
                if (free_val != NULL)
                    free_val(e->val);
                free(e);
                e = next;
            }
        }
        free(d->buckets);
    }
    rdict_init(d);
}

static bool resize(rdict *d, size_t nb) {
    rdict_entry **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return false;
    if (d->buckets != NULL) {
        for (size_t i = 0; i <= d->mask; i++) {
            rdict_entry *e = d->buckets[i];
            while (e != NULL) {
                rdict_entry *next = e->next;
                size_t j = e->hash & (nb - 1);
                e->next = b[j];
                b[j] = e;
                e = next;
            }
        }
        free(d->buckets);
    }
    d->buckets = b;
    d->mask = nb - 1;
    return true;
}

rdict_entry *rdict_find(const rdict *d, const char *k, size_t n) {
    if (d->buckets == NULL)
        return NULL;
    uint64_t h = rdict_hash(k, n);
    for (rdict_entry *e = d->buckets[h & d->mask]; e != NULL; e = e->next)
        if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0)
            return e;
    return NULL;
}

rdict_entry *rdict_add(rdict *d, const char *k, size_t n, bool *existed) {
    rdict_entry *e = rdict_find(d, k, n);
    if (e != NULL) {
        *existed = true;
        return e;
    }
    *existed = false;
    if (d->buckets == NULL || d->used >= d->mask + 1) {
        size_t nb = d->buckets == NULL ? 4 : (d->mask + 1) * 2;
        /* A failed grow only lengthens chains; a missing array is fatal. */
        if (!resize(d, nb) && d->buckets == NULL)
            return NULL;
    }
    e = malloc(sizeof(*e) + n + 1);
    if (e == NULL)
        return NULL;
    e->hash = rdict_hash(k, n);
    e->val = NULL;
    e->klen = n;
    if (n > 0)
        memcpy(e->key, k, n);
    e->key[n] = '\0';
    size_t i = e->hash & d->mask;
    e->next = d->buckets[i];
    d->buckets[i] = e;
    d->used++;
    d->key_bytes += n;
    return e;
}

rdict_entry *rdict_unlink(rdict *d, const char *k, size_t n) {
    if (d->buckets == NULL)
        return NULL;
    uint64_t h = rdict_hash(k, n);
    for (rdict_entry **pp = &d->buckets[h & d->mask]; *pp != NULL;
         pp = &(*pp)->next) {
        rdict_entry *e = *pp;
        if (e->hash == h && e->klen == n && memcmp(e->key, k, n) == 0) {
            *pp = e->next;
            d->used--;
            d->key_bytes -= n;
            return e;
        }
    }
    return NULL;
}

void rdict_shrink(rdict *d) {
    size_t nb = d->mask + 1;
    if (d->buckets == NULL || nb <= 4 || d->used * 8 >= nb)
        return;
    size_t want = 4;
    while (want < d->used)
        want *= 2;
    resize(d, want);
}

rdict_entry *rdict_random(const rdict *d, uint64_t (*rnd)(void)) {
    if (d->used == 0)
        return NULL;
    rdict_entry *e;
    do {
        e = d->buckets[rnd() & d->mask];
    } while (e == NULL);
    size_t len = 0;
    for (rdict_entry *x = e; x != NULL; x = x->next)
        len++;
    for (size_t i = rnd() % len; i > 0; i--)
        e = e->next;
    return e;
}

static size_t rev(size_t v) {
    size_t s = sizeof(v) * 8, mask = ~(size_t)0;
    while ((s >>= 1) > 0) {
        mask ^= mask << s;
        v = ((v >> s) & mask) | ((v << s) & ~mask);
    }
    return v;
}

size_t rdict_scan(const rdict *d, size_t cursor,
                  void (*fn)(void *arg, const rdict_entry *e), void *arg) {
    if (d->used == 0 || d->buckets == NULL)
        return 0;
    size_t m = d->mask;
    for (const rdict_entry *e = d->buckets[cursor & m]; e != NULL; e = e->next)
        fn(arg, e);
    /* Increment the reversed cursor's unmasked high bits: the next bucket
     * in reverse-binary order, which visits a bucket's images in a
     * larger or smaller table together. */
    cursor |= ~m;
    cursor = rev(cursor);
    cursor++;
    cursor = rev(cursor);
    return cursor;
}

rdict_entry *rdict_next(const rdict *d, rdict_iter *it) {
    if (it->e != NULL && it->e->next != NULL) {
        it->e = it->e->next;
        return it->e;
    }
    if (d->buckets == NULL)
        return NULL;
    size_t b = it->e == NULL ? it->bucket : it->bucket + 1;
    for (; b <= d->mask; b++) {
        if (d->buckets[b] != NULL) {
            it->bucket = b;
            it->e = d->buckets[b];
            return it->e;
        }
    }
    it->bucket = d->mask + 1;
    it->e = NULL;
    return NULL;
}
