/*
 * db.c: the keyspace (16 databases), expiry (lazy and active), eviction,
 * and the key commands: DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT
 * PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST KEYS SCAN RENAME
 * RENAMENX RANDOMKEY DBSIZE FLUSHDB FLUSHALL.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static void free_val(dict_entry *e) { robj_free(e->val.ptr); }

/* ------------------------------------------------------------------------ */
/* Keyspace                                                                 */
/* ------------------------------------------------------------------------ */

static bool key_is_expired(redis_db *db, rslice key) {
    if (dict_size(db->expires) == 0 || server.loading)
        return false;
    dict_entry *e = dict_find(db->expires, key.ptr, key.len);
    return e != NULL && e->val.s64 <= command_time_ms();
}

/* Deletes an expired key and sends a DEL to the AOF, as Redis's
 * deleteExpiredKeyAndPropagate. */
static void delete_expired(redis_db *db, rslice key) {
    char name[] = "DEL";
    rslice argv[2] = {{name, 3}, key};
    db_delete(db, key);
    server.stat_expiredkeys++;
    signal_modified_key(NULL, db, key);
    aof_feed_command(db->id, 2, argv);
}

bool expire_if_needed(redis_db *db, rslice key) {
    if (!key_is_expired(db, key))
        return false;
    delete_expired(db, key);
    return true;
}

static robj *lookup(redis_db *db, rslice key) {
    dict_entry *e = dict_find(db->keys, key.ptr, key.len);
    if (e == NULL)
        return NULL;
    if (key_is_expired(db, key)) {
        delete_expired(db, key);
        return NULL;
    }
    robj *o = e->val.ptr;
    o->lru = server.lruclock;
    return o;
}

robj *lookup_key_read(redis_db *db, rslice key) {
    robj *o = lookup(db, key);
    if (o == NULL)
        server.stat_keyspace_misses++;
    else
        server.stat_keyspace_hits++;
    return o;
}

robj *lookup_key_write(redis_db *db, rslice key) { return lookup(db, key); }

robj *lookup_key_read_or_reply_null(client *c, rslice key) {
    robj *o = lookup_key_read(c->db, key);
    if (o == NULL)
        add_reply_null(c);
    return o;
}

bool check_type(client *c, const robj *o, int type) {
    if (o != NULL && o->type != type) {
        add_reply_wrongtype(c);
        return true;
    }
    return false;
}

void db_add(redis_db *db, rslice key, robj *val) {
    bool existed;
    dict_entry *e = dict_add_or_find(db->keys, key.ptr, key.len, &existed);
    if (existed)
        robj_free(e->val.ptr);
    e->val.ptr = val;
    signal_key_as_ready(db, key);
}

void db_overwrite(redis_db *db, rslice key, robj *val) {
    dict_entry *e = dict_find(db->keys, key.ptr, key.len);
    if (e == NULL) {
        db_add(db, key, val);
        return;
    }
    robj_free(e->val.ptr);
    e->val.ptr = val;
}

void set_key(client *c, redis_db *db, rslice key, robj *val, bool keepttl) {
    bool existed;
    dict_entry *e = dict_add_or_find(db->keys, key.ptr, key.len, &existed);
    if (existed) {
        robj_free(e->val.ptr);
        e->val.ptr = val;
        if (!keepttl)
            remove_expire(db, key);
    } else {
        e->val.ptr = val;
        signal_key_as_ready(db, key);
    }
    signal_modified_key(c, db, key);
}

bool db_delete(redis_db *db, rslice key) {
    dict_val v;
    if (!dict_delete(db->keys, key.ptr, key.len, &v))
        return false;
    if (dict_size(db->expires) > 0)
        dict_delete(db->expires, key.ptr, key.len, NULL);
    robj_free(v.ptr);
    return true;
}

robj *db_unlink_value(redis_db *db, rslice key) {
    dict_val v;
    if (!dict_delete(db->keys, key.ptr, key.len, &v))
        return NULL;
    if (dict_size(db->expires) > 0)
        dict_delete(db->expires, key.ptr, key.len, NULL);
    return v.ptr;
}

bool db_exists(redis_db *db, rslice key) {
    return lookup_key_write(db, key) != NULL;
}

size_t db_size(const redis_db *db) { return dict_size(db->keys); }

size_t db_empty(int dbnum) {
    size_t removed = 0;
    for (int i = 0; i < REDIS_DBNUM; i++) {
        if (dbnum != -1 && dbnum != i)
            continue;
        removed += dict_size(server.db[i].keys);
        dict_clear(server.db[i].keys, free_val);
        dict_clear(server.db[i].expires, NULL);
        server.db[i].avg_ttl = 0;
        server.db[i].expires_cursor = 0;
    }
    return removed;
}

void set_expire(client *c, redis_db *db, rslice key, int64_t when_ms) {
    (void)c;
    bool existed;
    dict_entry *e = dict_add_or_find(db->expires, key.ptr, key.len, &existed);
    e->val.s64 = when_ms;
}

int64_t get_expire(redis_db *db, rslice key) {
    if (dict_size(db->expires) == 0)
        return -1;
    dict_entry *e = dict_find(db->expires, key.ptr, key.len);
    return e == NULL ? -1 : e->val.s64;
}

bool remove_expire(redis_db *db, rslice key) {
    if (dict_size(db->expires) == 0)
        return false;
    return dict_delete(db->expires, key.ptr, key.len, NULL);
}

void signal_modified_key(client *c, redis_db *db, rslice key) {
    (void)c;
    touch_watched_key(db, key);
}

void signal_flushed_db(int dbid) { touch_all_watched_keys_in_db(dbid); }

/* ------------------------------------------------------------------------ */
/* Active expiry and eviction                                               */
/* ------------------------------------------------------------------------ */

/*
 * Redis's active expiry, simplified: each run (10 per second) samples 20
 * keys with a TTL in each db and deletes the expired ones, and repeats
 * while more than a quarter of a sample was expired, within a time budget
 * of 25 ms per run (Redis's 25% of a 100 ms cycle).
 */
#define EXPIRE_SAMPLE    20
#define EXPIRE_BUDGET_US 25000

void active_expire_cycle(void) {
    int64_t start = ustime();
    for (int i = 0; i < REDIS_DBNUM; i++) {
        redis_db *db = &server.db[i];
        for (;;) {
            size_t n = dict_size(db->expires);
            if (n == 0)
                break;
            int sampled = 0, expired = 0;
            for (int k = 0; k < EXPIRE_SAMPLE && (size_t)k < n; k++) {
                dict_entry *e = dict_random(db->expires);
                if (e == NULL)
                    break;
                sampled++;
                if (e->val.s64 <= command_time_ms()) {
                    /* Copy the key: the entry goes with the delete. */
                    char stack[128];
                    char *kp =
                        e->keylen < sizeof(stack) ? stack : zmalloc(e->keylen);
                    memcpy(kp, e->key, e->keylen);
                    rslice key = rslice_of(kp, e->keylen);
                    delete_expired(db, key);
                    if (kp != stack)
                        zfree(kp);
                    expired++;
                }
            }
            if (expired * 4 <= sampled || ustime() - start > EXPIRE_BUDGET_US)
                break;
        }
        dict_shrink_if_needed(db->keys);
        dict_shrink_if_needed(db->expires);
        if (ustime() - start > EXPIRE_BUDGET_US)
            break;
    }
}

/* allkeys-lru: Redis's approximation. Sample maxmemory-samples keys across
 * the dbs, evict the least recently used, until under the limit. */
void free_memory_if_needed_lru(void) {
    int guard = 0;
    while (zmalloc_used_memory() > server.maxmemory && guard++ < 10000) {
        redis_db *best_db = NULL;
        dict_entry *best = NULL;
        for (int i = 0; i < REDIS_DBNUM; i++) {
            redis_db *db = &server.db[i];
            if (dict_size(db->keys) == 0)
                continue;
            for (int k = 0; k < server.maxmemory_samples; k++) {
                dict_entry *e = dict_random(db->keys);
                robj *o = e->val.ptr;
                if (best == NULL || o->lru < ((robj *)best->val.ptr)->lru) {
                    best = e;
                    best_db = db;
                }
            }
        }
        if (best == NULL)
            return; /* nothing left to evict */
        char stack[128];
        char *kp = best->keylen < sizeof(stack) ? stack : zmalloc(best->keylen);
        memcpy(kp, best->key, best->keylen);
        rslice key = rslice_of(kp, best->keylen);
        char name[] = "DEL";
        rslice argv[2] = {{name, 3}, key};
        db_delete(best_db, key);
        signal_modified_key(NULL, best_db, key);
        aof_feed_command(best_db->id, 2, argv);
        server.stat_evictedkeys++;
        if (kp != stack)
            zfree(kp);
    }
}
