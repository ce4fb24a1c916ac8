/*
 * t_hash.c: hash values and their commands, with Redis 7.0's arity,
 * argument order and error replies.
 *
 * A hash is a dict (dict.h) from field to a relem holding the value. Redis
 * keeps small hashes in a listpack, in insertion order; here every hash is
 * a table, so HGETALL/HKEYS/HVALS come in table order (clients must not
 * rely on either).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rlist.h" /* relem */
#include "server.h"
#include "t_scan.h"

#define OBJ_ENC_HASHTABLE 20

static dict *hash_of(const robj *o) { return (dict *)o->ptr; }

static void free_field(dict_entry *e) { relem_free(e->val.ptr); }

static void hash_free(robj *o) { dict_free(hash_of(o), free_field); }

static size_t hash_mem(const robj *o) {
    size_t n = sizeof(*o) + dict_mem(hash_of(o));
    dict_iter it;
    dict_iter_init(&it, hash_of(o));
    for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;)
        n += sizeof(*e) + e->keylen + 1 + sizeof(relem) +
             ((relem *)e->val.ptr)->len + 1;
    return n;
}

/* HSET key f1 v1 ... in batches of 64 pairs. */
static void hash_rewrite(const robj *o, rslice key, rewrite_emit_fn emit,
                         void *ctx) {
    enum { BATCH = 64 };
    rslice argv[2 + 2 * BATCH];
    char name[] = "HSET";
    argv[0] = rslice_of(name, 4);
    argv[1] = key;
    int n = 0;
    dict_iter it;
    dict_iter_init(&it, hash_of(o));
    for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;) {
        relem *v = e->val.ptr;
        argv[2 + 2 * n] = rslice_of(e->key, e->keylen);
        argv[3 + 2 * n] = rslice_of(v->data, v->len);
        if (++n == BATCH) {
            emit(ctx, 2 + 2 * n, argv);
            n = 0;
        }
    }
    if (n > 0)
        emit(ctx, 2 + 2 * n, argv);
}

const robj_type_ops hash_type_ops = {"hash", hash_free, hash_mem, hash_rewrite};

/* The hash under key for writing, created if missing; NULL after a
 * WRONGTYPE reply. */
static robj *lookup_write_or_create(client *c, rslice key) {
    robj *o = lookup_key_write(c->db, key);
    if (check_type(c, o, OBJ_HASH))
        return NULL;
    if (o == NULL) {
        o = robj_new(OBJ_HASH, OBJ_ENC_HASHTABLE, dict_new());
        db_add(c->db, key, o);
    }
    return o;
}

/* Sets field to value; true if the field is new. */
static bool hash_set(robj *o, rslice f, const char *p, size_t n) {
    bool existed;
    dict_entry *e = dict_add_or_find(hash_of(o), f.ptr, f.len, &existed);
    if (existed)
        relem_free(e->val.ptr);
    e->val.ptr = relem_new(p, n);
    return !existed;
}

static relem *hash_get(const robj *o, rslice f) {
    dict_entry *e = dict_find(hash_of(o), f.ptr, f.len);
    return e != NULL ? e->val.ptr : NULL;
}

/* Read lookups: NULL for a missing key; *wrong after a WRONGTYPE reply. */
static robj *lookup_read(client *c, rslice key, bool *wrong) {
    robj *o = lookup_key_read(c->db, key);
    *wrong = check_type(c, o, OBJ_HASH);
    return *wrong ? NULL : o;
}

static void hset_command(client *c) {
    if (c->argc % 2 == 1) {
        add_reply_error_arity(c);
        return;
    }
    robj *o = lookup_write_or_create(c, c->argv[1]);
    if (o == NULL)
        return;
    int64_t created = 0;
    for (int j = 2; j < c->argc; j += 2)
        created +=
            hash_set(o, c->argv[j], c->argv[j + 1].ptr, c->argv[j + 1].len);
    /* HMSET (deprecated) replies +OK, HSET the count of new fields. */
    if (c->cmd != NULL && c->cmd->name[1] == 'm')
        add_reply_ok(c);
    else
        add_reply_long_long(c, created);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty += (uint64_t)(c->argc - 2) / 2;
}

static void hsetnx_command(client *c) {
    robj *o = lookup_write_or_create(c, c->argv[1]);
    if (o == NULL)
        return;
    if (hash_get(o, c->argv[2]) != NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    hash_set(o, c->argv[2], c->argv[3].ptr, c->argv[3].len);
    add_reply_long_long(c, 1);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
}

static void hget_command(client *c) {
    robj *o = lookup_key_read_or_reply_null(c, c->argv[1]);
    if (o == NULL || check_type(c, o, OBJ_HASH))
        return;
    relem *v = hash_get(o, c->argv[2]);
    if (v == NULL)
        add_reply_null(c);
    else
        add_reply_bulk(c, v->data, v->len);
}

static void hmget_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    add_reply_array_len(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        relem *v = o != NULL ? hash_get(o, c->argv[j]) : NULL;
        if (v == NULL)
            add_reply_null(c);
        else
            add_reply_bulk(c, v->data, v->len);
    }
}

static void hdel_command(client *c) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_HASH))
        return;
    int64_t deleted = 0;
    bool keyremoved = false;
    for (int j = 2; j < c->argc; j++) {
        dict_val v;
        if (dict_delete(hash_of(o), c->argv[j].ptr, c->argv[j].len, &v)) {
            relem_free(v.ptr);
            deleted++;
            if (dict_size(hash_of(o)) == 0) {
                db_delete(c->db, c->argv[1]);
                keyremoved = true;
                break;
            }
        }
    }
    if (deleted > 0) {
        if (!keyremoved)
            dict_shrink_if_needed(hash_of(o));
        signal_modified_key(c, c->db, c->argv[1]);
        server.dirty += (uint64_t)deleted;
    }
    add_reply_long_long(c, deleted);
}

static void hlen_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (!wrong)
        add_reply_long_long(c, o ? (int64_t)dict_size(hash_of(o)) : 0);
}

static void hstrlen_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    relem *v = o != NULL ? hash_get(o, c->argv[2]) : NULL;
    add_reply_long_long(c, v ? (int64_t)v->len : 0);
}

static void hexists_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (!wrong)
        add_reply_long_long(c, o && hash_get(o, c->argv[2]) ? 1 : 0);
}

enum { GET_KEYS = 1, GET_VALS = 2 };

static void getall_generic(client *c, int flags) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    size_t n = o != NULL ? dict_size(hash_of(o)) : 0;
    if (flags == (GET_KEYS | GET_VALS))
        add_reply_map_len(c, (int64_t)n);
    else
        add_reply_array_len(c, (int64_t)n);
    if (o == NULL)
        return;
    dict_iter it;
    dict_iter_init(&it, hash_of(o));
    for (dict_entry *e; (e = dict_iter_next(&it)) != NULL;) {
        if (flags & GET_KEYS)
            add_reply_bulk(c, e->key, e->keylen);
        if (flags & GET_VALS) {
            relem *v = e->val.ptr;
            add_reply_bulk(c, v->data, v->len);
        }
    }
}

static void hgetall_command(client *c) {
    getall_generic(c, GET_KEYS | GET_VALS);
}
static void hkeys_command(client *c) { getall_generic(c, GET_KEYS); }
static void hvals_command(client *c) { getall_generic(c, GET_VALS); }

static void hincrby_command(client *c) {
    int64_t incr, value = 0;
    if (!get_long_long_or_reply(c, c->argv[3], &incr, NULL))
        return;
    robj *o = lookup_write_or_create(c, c->argv[1]);
    if (o == NULL)
        return;
    relem *cur = hash_get(o, c->argv[2]);
    if (cur != NULL && !string_to_ll(cur->data, cur->len, &value)) {
        add_reply_error(c, "hash value is not an integer");
        return;
    }
    if ((incr < 0 && value < 0 && incr < INT64_MIN - value) ||
        (incr > 0 && value > 0 && incr > INT64_MAX - value)) {
        add_reply_error(c, "increment or decrement would overflow");
        return;
    }
    value += incr;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%lld", (long long)value);
    hash_set(o, c->argv[2], buf, (size_t)n);
    add_reply_long_long(c, value);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
}

static void hincrbyfloat_command(client *c) {
    long double incr, value = 0;
    if (!get_long_double_or_reply(c, c->argv[3], &incr, NULL))
        return;
    if (isnan(incr) || isinf(incr)) {
        add_reply_error(c, "value is NaN or Infinity");
        return;
    }
    robj *o = lookup_write_or_create(c, c->argv[1]);
    if (o == NULL)
        return;
    relem *cur = hash_get(o, c->argv[2]);
    if (cur != NULL && !string_to_ld(cur->data, cur->len, &value)) {
        add_reply_error(c, "hash value is not a float");
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        add_reply_error(c, "increment would produce NaN or Infinity");
        return;
    }
    char buf[5120];
    int n = format_long_double_human(buf, sizeof(buf), value);
    hash_set(o, c->argv[2], buf, (size_t)n);
    add_reply_bulk(c, buf, (size_t)n);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
    /* Propagate the result, not the increment: replaying it must give the
     * same bytes whatever the float rounding of the replayer. */
    char name[] = "HSET";
    rslice argv[4] = {rslice_of(name, 4), c->argv[1], c->argv[2],
                      rslice_of(buf, (size_t)n)};
    propagate_command(c, 4, argv);
}

static void hscan_command(client *c) {
    uint64_t cursor;
    if (!scan_parse_cursor(c, c->argv[2], &cursor))
        return;
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    scan_dict_command(c, o ? hash_of(o) : NULL, cursor, SCAN_HASH);
}

#define W  (CMD_WRITE)
#define WD (CMD_WRITE | CMD_DENYOOM)
#define R  (CMD_READONLY)
#define F  (CMD_FAST)

const redis_command hash_commands[] = {
    {"hset", hset_command, -4, WD | F, 1, 1, 1, "hash",
     "Creates or modifies the value of a field in a hash.", "2.0.0", NULL,
     NULL},
    {"hmset", hset_command, -4, WD | F, 1, 1, 1, "hash",
     "Sets the values of multiple fields.", "2.0.0", NULL, NULL},
    {"hsetnx", hsetnx_command, 4, WD | F, 1, 1, 1, "hash",
     "Sets the value of a field in a hash only when the field doesn't exist.",
     "2.0.0", NULL, NULL},
    {"hget", hget_command, 3, R | F, 1, 1, 1, "hash",
     "Returns the value of a field in a hash.", "2.0.0", NULL, NULL},
    {"hmget", hmget_command, -3, R | F, 1, 1, 1, "hash",
     "Returns the values of all fields in a hash.", "2.0.0", NULL, NULL},
    {"hdel", hdel_command, -3, W | F, 1, 1, 1, "hash",
     "Deletes one or more fields and their values from a hash. Deletes the "
     "hash if no fields remain.",
     "2.0.0", NULL, NULL},
    {"hlen", hlen_command, 2, R | F, 1, 1, 1, "hash",
     "Returns the number of fields in a hash.", "2.0.0", NULL, NULL},
    {"hstrlen", hstrlen_command, 3, R | F, 1, 1, 1, "hash",
     "Returns the length of the value of a field.", "3.2.0", NULL, NULL},
    {"hexists", hexists_command, 3, R | F, 1, 1, 1, "hash",
     "Determines whether a field exists in a hash.", "2.0.0", NULL, NULL},
    {"hgetall", hgetall_command, 2, R, 1, 1, 1, "hash",
     "Returns all fields and values in a hash.", "2.0.0", NULL, NULL},
    {"hkeys", hkeys_command, 2, R, 1, 1, 1, "hash",
     "Returns all fields in a hash.", "2.0.0", NULL, NULL},
    {"hvals", hvals_command, 2, R, 1, 1, 1, "hash",
     "Returns all values in a hash.", "2.0.0", NULL, NULL},
    {"hincrby", hincrby_command, 4, WD | F, 1, 1, 1, "hash",
     "Increments the integer value of a field in a hash by a number. Uses 0 "
     "as initial value if the field doesn't exist.",
     "2.0.0", NULL, NULL},
    {"hincrbyfloat", hincrbyfloat_command, 4, WD | F, 1, 1, 1, "hash",
     "Increments the floating point value of a field by a number. Uses 0 as "
     "initial value if the field doesn't exist.",
     "2.6.0", NULL, NULL},
    {"hscan", hscan_command, -3, R, 1, 1, 1, "hash",
     "Iterates over fields and values of a hash.", "2.8.0", NULL, NULL},
    {0},
};
