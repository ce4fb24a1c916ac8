/*
 * t_set.c: set values and their commands, with Redis 7.0's arity,
 * argument order and error replies.
 *
 * A set is a dict (dict.h) of members with no values. Redis keeps small
 * all-integer sets in a sorted intset (SMEMBERS then comes sorted); here
 * every set is a table, so member order is the table's (clients must not
 * rely on either). SPOP and SRANDMEMBER draw with dict_random.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "t_scan.h"

#define OBJ_ENC_SETTABLE 30

static dict *set_of(const robj *o) { return (dict *)o->ptr; }

static void set_free(robj *o) { dict_free(set_of(o), NULL); }

static size_t set_mem(const robj *o) {
    const dict *d = set_of(o);
    return sizeof(*o) + dict_mem(d) + dict_size(d) * (sizeof(dict_entry) + 8);
}

static void set_rewrite(const robj *o, rslice key, rewrite_emit_fn emit,
                        void *ctx) {
    enum { BATCH = 64 };
    rslice argv[2 + BATCH];
    char name[] = "SADD";
    argv[0] = rslice_of(name, 4);
    argv[1] = key;
    int n = 0;
    dict_iter it;
    dict_iter_init(&it, set_of(o));
    for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;) {
        argv[2 + n++] = rslice_of(e->key, e->keylen);
        if (n == BATCH) {
            emit(ctx, 2 + n, argv);
            n = 0;
        }
    }
    if (n > 0)
        emit(ctx, 2 + n, argv);
}

const robj_type_ops set_type_ops = {"set", set_free, set_mem, set_rewrite};

static robj *set_value_new(void) {
    return robj_new(OBJ_SET, OBJ_ENC_SETTABLE, dict_new());
}

static bool set_add(robj *o, rslice m) {
    bool existed;
    dict_add_or_find(set_of(o), m.ptr, m.len, &existed);
    return !existed;
}

static bool set_has(const robj *o, rslice m) {
    return dict_find(set_of(o), m.ptr, m.len) != NULL;
}

static void sadd_command(client *c) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (check_type(c, o, OBJ_SET))
        return;
    if (o == NULL) {
        o = set_value_new();
        db_add(c->db, c->argv[1], o);
    }
    int64_t added = 0;
    for (int j = 2; j < c->argc; j++)
        added += set_add(o, c->argv[j]);
    if (added > 0)
        signal_modified_key(c, c->db, c->argv[1]);
    server.dirty += (uint64_t)added;
    add_reply_long_long(c, added);
}

static void srem_command(client *c) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_SET))
        return;
    int64_t deleted = 0;
    bool keyremoved = false;
    for (int j = 2; j < c->argc; j++) {
        if (dict_delete(set_of(o), c->argv[j].ptr, c->argv[j].len, NULL)) {
            deleted++;
            if (dict_size(set_of(o)) == 0) {
                db_delete(c->db, c->argv[1]);
                keyremoved = true;
                break;
            }
        }
    }
    if (deleted > 0) {
        if (!keyremoved)
            dict_shrink_if_needed(set_of(o));
        signal_modified_key(c, c->db, c->argv[1]);
        server.dirty += (uint64_t)deleted;
    }
    add_reply_long_long(c, deleted);
}

static void smove_command(client *c) {
    robj *src = lookup_key_write(c->db, c->argv[1]);
    robj *dst = lookup_key_write(c->db, c->argv[2]);
    rslice m = c->argv[3];
    if (src == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, src, OBJ_SET) || check_type(c, dst, OBJ_SET))
        return;
    if (src == dst) {
        add_reply_long_long(c, set_has(src, m) ? 1 : 0);
        return;
    }
    if (!dict_delete(set_of(src), m.ptr, m.len, NULL)) {
        add_reply_long_long(c, 0);
        return;
    }
    if (dict_size(set_of(src)) == 0)
        db_delete(c->db, c->argv[1]);
    if (dst == NULL) {
        dst = set_value_new();
        db_add(c->db, c->argv[2], dst);
    }
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
    if (set_add(dst, m)) {
        server.dirty++;
        signal_modified_key(c, c->db, c->argv[2]);
    }
    add_reply_long_long(c, 1);
}

static robj *lookup_read(client *c, rslice key, bool *wrong) {
    robj *o = lookup_key_read(c->db, key);
    *wrong = check_type(c, o, OBJ_SET);
    return *wrong ? NULL : o;
}

static void sismember_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (!wrong)
        add_reply_long_long(c, o && set_has(o, c->argv[2]) ? 1 : 0);
}

static void smismember_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    add_reply_array_len(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++)
        add_reply_long_long(c, o && set_has(o, c->argv[j]) ? 1 : 0);
}

static void scard_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (!wrong)
        add_reply_long_long(c, o ? (int64_t)dict_size(set_of(o)) : 0);
}

static void reply_members(client *c, const robj *o) {
    add_reply_set_len(c, o ? (int64_t)dict_size(set_of(o)) : 0);
    if (o == NULL)
        return;
    dict_iter it;
    dict_iter_init(&it, set_of(o));
    for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;)
        add_reply_bulk(c, e->key, e->keylen);
}

static void smembers_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (!wrong)
        reply_members(c, o);
}

/* ---- random members ------------------------------------------------------ */

static void spop_with_count(client *c) {
    long l;
    if (!get_positive_long_or_reply(c, c->argv[2], &l, NULL))
        return;
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_set_len(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_SET))
        return;
    if (l == 0) {
        add_reply_set_len(c, 0);
        return;
    }
    dict *d = set_of(o);
    size_t size = dict_size(d), count = (size_t)l;
    if (count >= size) {
        /* The whole set: reply it, delete the key, propagate a DEL. */
        reply_members(c, o);
        db_delete(c->db, c->argv[1]);
        char name[] = "DEL";
        rslice argv[2] = {rslice_of(name, 3), c->argv[1]};
        propagate_command(c, 2, argv);
    } else {
        add_reply_set_len(c, (int64_t)count);
        /* Propagated as SREM key m1 m2 ..., in batches. */
        enum { BATCH = 64 };
        rslice argv[2 + BATCH];
        char *owned[BATCH];
        char name[] = "SREM";
        argv[0] = rslice_of(name, 4);
        argv[1] = c->argv[1];
        int n = 0;
        while (count-- > 0) {
            dict_entry *e = dict_random(d);
            add_reply_bulk(c, e->key, e->keylen);
            owned[n] = zstrndup(e->key, e->keylen);
            argv[2 + n] = rslice_of(owned[n], e->keylen);
            n++;
            dict_delete(d, e->key, e->keylen, NULL);
            if (n == BATCH || count == 0) {
                propagate_command(c, 2 + n, argv);
                for (int i = 0; i < n; i++)
                    zfree(owned[i]);
                n = 0;
            }
        }
        dict_shrink_if_needed(d);
    }
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
}

static void spop_command(client *c) {
    if (c->argc == 3) {
        spop_with_count(c);
        return;
    }
    if (c->argc > 3) {
        add_reply_error_syntax(c);
        return;
    }
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_null(c);
        return;
    }
    if (check_type(c, o, OBJ_SET))
        return;
    dict *d = set_of(o);
    dict_entry *e = dict_random(d);
    char *m = zstrndup(e->key, e->keylen);
    size_t mlen = e->keylen;
    dict_delete(d, m, mlen, NULL);
    char name[] = "SREM";
    rslice argv[3] = {rslice_of(name, 4), c->argv[1], rslice_of(m, mlen)};
    propagate_command(c, 3, argv);
    add_reply_bulk(c, m, mlen);
    zfree(m);
    if (dict_size(d) == 0)
        db_delete(c->db, c->argv[1]);
    else
        dict_shrink_if_needed(d);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
}

static int cmp_ptr(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return x < y ? -1 : x > y;
}

static void srandmember_with_count(client *c) {
    long l;
    if (!get_range_long_or_reply(c, c->argv[2], -LONG_MAX, LONG_MAX, &l, NULL))
        return;
    bool uniq = l >= 0;
    size_t count = uniq ? (size_t)l : (size_t)(-l);
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    if (o == NULL || count == 0) {
        add_reply_array_len(c, 0);
        return;
    }
    dict *d = set_of(o);
    size_t size = dict_size(d);
    if (!uniq || count == 1) {
        add_reply_array_len(c, (int64_t)count);
        while (count-- > 0) {
            dict_entry *e = dict_random(d);
            add_reply_bulk(c, e->key, e->keylen);
        }
        return;
    }
    if (count >= size) {
        add_reply_array_len(c, (int64_t)size);
        dict_iter it;
        dict_iter_init(&it, d);
        for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;)
            add_reply_bulk(c, e->key, e->keylen);
        return;
    }
    /* Distinct draws: pick random entries, dropping repeats (sorting the
     * picks by address), until count distinct ones. When count is close to
     * size, pick the ones to leave out instead. */
    bool invert = count * 2 > size;
    size_t want = invert ? size - count : count;
    dict_entry **pick = zmalloc(want * sizeof(*pick));
    size_t n = 0;
    while (n < want) {
        while (n < want)
            pick[n++] = dict_random(d);
        qsort(pick, n, sizeof(*pick), cmp_ptr);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (k == 0 || pick[k - 1] != pick[i])
                pick[k++] = pick[i];
        n = k;
    }
    add_reply_array_len(c, (int64_t)count);
    if (!invert) {
        for (size_t i = 0; i < n; i++)
            add_reply_bulk(c, pick[i]->key, pick[i]->keylen);
    } else {
        dict_iter it;
        dict_iter_init(&it, d);
        for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;) {
            if (bsearch(&e, pick, n, sizeof(*pick), cmp_ptr) == NULL)
                add_reply_bulk(c, e->key, e->keylen);
        }
    }
    zfree(pick);
}

static void srandmember_command(client *c) {
    if (c->argc == 3) {
        srandmember_with_count(c);
        return;
    }
    if (c->argc > 3) {
        add_reply_error_syntax(c);
        return;
    }
    robj *o = lookup_key_read_or_reply_null(c, c->argv[1]);
    if (o == NULL || check_type(c, o, OBJ_SET))
        return;
    dict_entry *e = dict_random(set_of(o));
    add_reply_bulk(c, e->key, e->keylen);
}

/* ---- algebra ------------------------------------------------------------- */

/* The sets of keys[0..n): NULL entries for missing keys; false after a
 * WRONGTYPE reply. */
static bool lookup_sets(client *c, const rslice *keys, int n, robj **sets,
                        int *missing) {
    *missing = 0;
    for (int j = 0; j < n; j++) {
        sets[j] = lookup_key_read(c->db, keys[j]);
        if (sets[j] == NULL) {
            (*missing)++;
            continue;
        }
        if (check_type(c, sets[j], OBJ_SET))
            return false;
    }
    return true;
}

/* Stores result (maybe empty) under dstkey and replies its size. */
static void store_result(client *c, rslice dstkey, robj *result) {
    size_t n = dict_size(set_of(result));
    if (n > 0) {
        set_key(c, c->db, dstkey, result, false);
        server.dirty++;
    } else {
        robj_free(result);
        if (db_delete(c->db, dstkey)) {
            signal_modified_key(c, c->db, dstkey);
            server.dirty++;
        }
    }
    add_reply_long_long(c, (int64_t)n);
}

static int cmp_card(const void *a, const void *b) {
    size_t x = dict_size(set_of(*(robj *const *)a));
    size_t y = dict_size(set_of(*(robj *const *)b));
    return x < y ? -1 : x > y;
}

static void sinter_generic(client *c, const rslice *keys, int n,
                           const rslice *dstkey) {
    robj **sets = zmalloc((size_t)n * sizeof(*sets));
    int missing;
    if (!lookup_sets(c, keys, n, sets, &missing)) {
        zfree(sets);
        return;
    }
    if (missing > 0) {
        zfree(sets);
        if (dstkey != NULL) {
            if (db_delete(c->db, *dstkey)) {
                signal_modified_key(c, c->db, *dstkey);
                server.dirty++;
            }
            add_reply_long_long(c, 0);
        } else {
            add_reply_set_len(c, 0);
        }
        return;
    }
    qsort(sets, (size_t)n, sizeof(*sets), cmp_card);
    robj *dst = dstkey != NULL ? set_value_new() : NULL;
    size_t handle = 0, card = 0;
    if (dst == NULL)
        handle = add_reply_deferred_len(c);
    dict_iter it;
    dict_iter_init(&it, set_of(sets[0]));
    for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;) {
        rslice m = rslice_of(e->key, e->keylen);
        int j;
        for (j = 1; j < n; j++)
            if (sets[j] != sets[0] && !set_has(sets[j], m))
                break;
        if (j < n)
            continue;
        if (dst != NULL)
            set_add(dst, m);
        else
            add_reply_bulk(c, m.ptr, m.len);
        card++;
    }
    zfree(sets);
    if (dst != NULL)
        store_result(c, *dstkey, dst);
    else
        set_deferred_set_len(c, handle, (int64_t)card);
}

enum { SET_OP_UNION, SET_OP_DIFF };

static void sunion_diff_generic(client *c, const rslice *keys, int n,
                                const rslice *dstkey, int op) {
    robj **sets = zmalloc((size_t)n * sizeof(*sets));
    int missing;
    if (!lookup_sets(c, keys, n, sets, &missing)) {
        zfree(sets);
        return;
    }
    robj *dst = set_value_new();
    if (op == SET_OP_UNION) {
        for (int j = 0; j < n; j++) {
            if (sets[j] == NULL)
                continue;
            dict_iter it;
            dict_iter_init(&it, set_of(sets[j]));
            for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;)
                set_add(dst, rslice_of(e->key, e->keylen));
        }
    } else if (sets[0] != NULL) {
        dict_iter it;
        dict_iter_init(&it, set_of(sets[0]));
        for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;) {
            rslice m = rslice_of(e->key, e->keylen);
            int j;
            for (j = 1; j < n; j++)
                if (sets[j] != NULL &&
                    (sets[j] == sets[0] || set_has(sets[j], m)))
                    break;
            if (j == n)
                set_add(dst, m);
        }
    }
    zfree(sets);
    if (dstkey != NULL) {
        store_result(c, *dstkey, dst);
    } else {
        reply_members(c, dst);
        robj_free(dst);
    }
}

static void sinter_command(client *c) {
    sinter_generic(c, c->argv + 1, c->argc - 1, NULL);
}
static void sinterstore_command(client *c) {
    sinter_generic(c, c->argv + 2, c->argc - 2, &c->argv[1]);
}
static void sunion_command(client *c) {
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, SET_OP_UNION);
}
static void sunionstore_command(client *c) {
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], SET_OP_UNION);
}
static void sdiff_command(client *c) {
    sunion_diff_generic(c, c->argv + 1, c->argc - 1, NULL, SET_OP_DIFF);
}
static void sdiffstore_command(client *c) {
    sunion_diff_generic(c, c->argv + 2, c->argc - 2, &c->argv[1], SET_OP_DIFF);
}

static void sscan_command(client *c) {
    uint64_t cursor;
    if (!scan_parse_cursor(c, c->argv[2], &cursor))
        return;
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    scan_dict_command(c, o ? set_of(o) : NULL, cursor, SCAN_KEYS);
}

#define W  (CMD_WRITE)
#define WD (CMD_WRITE | CMD_DENYOOM)
#define R  (CMD_READONLY)
#define F  (CMD_FAST)

const redis_command set_commands[] = {
    {"sadd", sadd_command, -3, WD | F, 1, 1, 1, "set",
     "Adds one or more members to a set. Creates the key if it doesn't "
     "exist.",
     "1.0.0", NULL, NULL},
    {"srem", srem_command, -3, W | F, 1, 1, 1, "set",
     "Removes one or more members from a set. Deletes the set if the last "
     "member was removed.",
     "1.0.0", NULL, NULL},
    {"smove", smove_command, 4, W | F, 1, 2, 1, "set",
     "Moves a member from one set to another.", "1.0.0", NULL, NULL},
    {"sismember", sismember_command, 3, R | F, 1, 1, 1, "set",
     "Determines whether a member belongs to a set.", "1.0.0", NULL, NULL},
    {"smismember", smismember_command, -3, R | F, 1, 1, 1, "set",
     "Determines whether multiple members belong to a set.", "6.2.0", NULL,
     NULL},
    {"scard", scard_command, 2, R | F, 1, 1, 1, "set",
     "Returns the number of members in a set.", "1.0.0", NULL, NULL},
    {"smembers", smembers_command, 2, R, 1, 1, 1, "set",
     "Returns all members of a set.", "1.0.0", NULL, NULL},
    {"spop", spop_command, -2, W | F, 1, 1, 1, "set",
     "Returns one or more random members from a set after removing them. "
     "Deletes the set if the last member was popped.",
     "1.0.0", NULL, NULL},
    {"srandmember", srandmember_command, -2, R, 1, 1, 1, "set",
     "Get one or multiple random members from a set", "1.0.0", NULL, NULL},
    {"sinter", sinter_command, -2, R, 1, -1, 1, "set",
     "Returns the intersect of multiple sets.", "1.0.0", NULL, NULL},
    {"sinterstore", sinterstore_command, -3, WD, 1, -1, 1, "set",
     "Stores the intersect of multiple sets in a key.", "1.0.0", NULL, NULL},
    {"sunion", sunion_command, -2, R, 1, -1, 1, "set",
     "Returns the union of multiple sets.", "1.0.0", NULL, NULL},
    {"sunionstore", sunionstore_command, -3, WD, 1, -1, 1, "set",
     "Stores the union of multiple sets in a key.", "1.0.0", NULL, NULL},
    {"sdiff", sdiff_command, -2, R, 1, -1, 1, "set",
     "Returns the difference of multiple sets.", "1.0.0", NULL, NULL},
    {"sdiffstore", sdiffstore_command, -3, WD, 1, -1, 1, "set",
     "Stores the difference of multiple sets in a key.", "1.0.0", NULL, NULL},
    {"sscan", sscan_command, -3, R, 1, 1, 1, "set",
     "Iterates over members of a set.", "2.8.0", NULL, NULL},
    {0},
};
