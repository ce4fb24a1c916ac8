/*
 * keys_cmds.c: the generic key commands: DEL UNLINK EXISTS TYPE EXPIRE
 * PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST KEYS
 * SCAN RENAME RENAMENX RANDOMKEY.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

static rslice lit(const char *s) { return rslice_of(s, strlen(s)); }

static void del_generic(client *c) {
    int64_t n = 0;
    for (int i = 1; i < c->argc; i++) {
        expire_if_needed(c->db, c->argv[i]);
        if (db_delete(c->db, c->argv[i])) {
            signal_modified_key(c, c->db, c->argv[i]);
            server.dirty++;
            n++;
        }
    }
    add_reply_long_long(c, n);
}

static void del_command(client *c) { del_generic(c); }
static void unlink_command(client *c) { del_generic(c); }

static void exists_command(client *c) {
    int64_t n = 0;
    for (int i = 1; i < c->argc; i++)
        if (lookup_key_read(c->db, c->argv[i]) != NULL)
            n++;
    add_reply_long_long(c, n);
}

static void type_command(client *c) {
    robj *o = lookup_key_read(c->db, c->argv[1]);
    add_reply_status(c, o == NULL ? "none" : robj_ops(o)->name);
}

/* ------------------------------------------------------------------------ */
/* Expiry                                                                   */
/* ------------------------------------------------------------------------ */

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

static void reply_expire_error(client *c) {
    add_reply_error_fmt(c, "invalid expire time in '%s' command", c->cmd->name);
}

static void expire_generic(client *c, int64_t basetime, bool seconds) {
    rslice key = c->argv[1];
    int flags = 0;
    for (int j = 3; j < c->argc; j++) {
        rslice o = c->argv[j];
        if (rslice_eqi(o, "nx"))
            flags |= EXP_NX;
        else if (rslice_eqi(o, "xx"))
            flags |= EXP_XX;
        else if (rslice_eqi(o, "gt"))
            flags |= EXP_GT;
        else if (rslice_eqi(o, "lt"))
            flags |= EXP_LT;
        else {
            add_reply_error_fmt(c, "Unsupported option %s", o.ptr);
            return;
        }
    }
    if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
        add_reply_error(c, "NX and XX, GT or LT options at the same time are "
                           "not compatible");
        return;
    }
    if ((flags & EXP_GT) && (flags & EXP_LT)) {
        add_reply_error(c, "GT and LT options at the same time are not "
                           "compatible");
        return;
    }
    int64_t when;
    if (!get_long_long_or_reply(c, c->argv[2], &when, NULL))
        return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            reply_expire_error(c);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        reply_expire_error(c);
        return;
    }
    when += basetime;
    if (lookup_key_write(c->db, key) == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (flags) {
        int64_t cur = get_expire(c->db, key);
        if (((flags & EXP_NX) && cur != -1) ||
            ((flags & EXP_XX) && cur == -1) ||
            ((flags & EXP_GT) && (when <= cur || cur == -1)) ||
            ((flags & EXP_LT) && cur != -1 && when >= cur)) {
            add_reply_long_long(c, 0);
            return;
        }
    }
    if (when <= command_time_ms() && !server.loading) {
        db_delete(c->db, key);
        server.dirty++;
        rslice argv[2] = {lit("DEL"), key};
        propagate_command(c, 2, argv);
        signal_modified_key(c, c->db, key);
        add_reply_long_long(c, 1);
        return;
    }
    set_expire(c, c->db, key, when);
    add_reply_long_long(c, 1);
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", (long long)when);
    rslice argv[3] = {lit("PEXPIREAT"), key, rslice_of(buf, (size_t)n)};
    propagate_command(c, 3, argv);
    signal_modified_key(c, c->db, key);
    server.dirty++;
}

static void expire_command(client *c) {
    expire_generic(c, command_time_ms(), true);
}
static void pexpire_command(client *c) {
    expire_generic(c, command_time_ms(), false);
}
static void expireat_command(client *c) { expire_generic(c, 0, true); }
static void pexpireat_command(client *c) { expire_generic(c, 0, false); }

static void ttl_generic(client *c, bool ms, bool absolute) {
    /* No hit/miss counting, as Redis's LOOKUP_NOTOUCH. */
    if (lookup_key_write(c->db, c->argv[1]) == NULL) {
        add_reply_long_long(c, -2);
        return;
    }
    int64_t expire = get_expire(c->db, c->argv[1]);
    if (expire == -1) {
        add_reply_long_long(c, -1);
        return;
    }
    int64_t ttl = absolute ? expire : expire - mstime();
    if (ttl < 0)
        ttl = 0;
    add_reply_long_long(c, ms ? ttl : (ttl + 500) / 1000);
}

static void ttl_command(client *c) { ttl_generic(c, false, false); }
static void pttl_command(client *c) { ttl_generic(c, true, false); }
static void expiretime_command(client *c) { ttl_generic(c, false, true); }
static void pexpiretime_command(client *c) { ttl_generic(c, true, true); }

static void persist_command(client *c) {
    if (lookup_key_write(c->db, c->argv[1]) == NULL ||
        !remove_expire(c->db, c->argv[1])) {
        add_reply_long_long(c, 0);
        return;
    }
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
    add_reply_long_long(c, 1);
}

/* ------------------------------------------------------------------------ */
/* KEYS, SCAN, RANDOMKEY                                                    */
/* ------------------------------------------------------------------------ */

static bool expired_entry(redis_db *db, const dict_entry *e) {
    if (dict_size(db->expires) == 0)
        return false;
    dict_entry *x = dict_find(db->expires, e->key, e->keylen);
    return x != NULL && x->val.s64 <= command_time_ms();
}

static void keys_command(client *c) {
    rslice pat = c->argv[1];
    bool all = pat.len == 1 && pat.ptr[0] == '*';
    size_t h = add_reply_deferred_len(c);
    int64_t n = 0;
    dict_iter it;
    dict_iter_init(&it, c->db->keys);
    dict_entry *e;
    while ((e = dict_iter_next(&it)) != NULL) {
        if (!all && !string_match(pat.ptr, pat.len, e->key, e->keylen, false))
            continue;
        if (expired_entry(c->db, e))
            continue;
        add_reply_bulk(c, e->key, e->keylen);
        n++;
    }
    set_deferred_array_len(c, h, n);
}

bool parse_scan_cursor_or_reply(client *c, rslice arg, uint64_t *cursor) {
    errno = 0;
    char *end;
    unsigned long v = strtoul(arg.ptr, &end, 10);
    if (arg.len == 0 || isspace((unsigned char)arg.ptr[0]) ||
        end != arg.ptr + arg.len || errno == ERANGE) {
        add_reply_error(c, "invalid cursor");
        return false;
    }
    *cursor = v;
    return true;
}

typedef struct scan_acc {
    rslice *keys;
    size_t n, cap;
} scan_acc;

static void scan_collect(void *ctx, const dict_entry *e) {
    scan_acc *a = ctx;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->keys = zrealloc(a->keys, a->cap * sizeof(rslice));
    }
    a->keys[a->n++] = rslice_of(e->key, e->keylen);
}

static void scan_command(client *c) {
    uint64_t cursor;
    if (!parse_scan_cursor_or_reply(c, c->argv[1], &cursor))
        return;
    long count = 10;
    rslice pat = {NULL, 0}, type = {NULL, 0};
    for (int i = 2; i < c->argc;) {
        int j = c->argc - i;
        if (rslice_eqi(c->argv[i], "count") && j >= 2) {
            if (!get_long_or_reply(c, c->argv[i + 1], &count, NULL))
                return;
            if (count < 1) {
                add_reply_error_syntax(c);
                return;
            }
            i += 2;
        } else if (rslice_eqi(c->argv[i], "match") && j >= 2) {
            pat = c->argv[i + 1];
            i += 2;
        } else if (rslice_eqi(c->argv[i], "type") && j >= 2) {
            type = c->argv[i + 1];
            i += 2;
        } else {
            add_reply_error_syntax(c);
            return;
        }
    }
    bool all = pat.ptr == NULL || (pat.len == 1 && pat.ptr[0] == '*');
    scan_acc acc = {NULL, 0, 0};
    /* As Redis: at most count*10 empty buckets per call. */
    long budget = count * 10;
    do {
        cursor = dict_scan(c->db->keys, cursor, scan_collect, &acc);
    } while (cursor != 0 && budget-- > 0 && acc.n < (size_t)count);
    /* Filter, then reply; the keys point into the dict's entries, which
     * expire_if_needed may free: so copy each key before that check. */
    char cbuf[24];
    int cn = snprintf(cbuf, sizeof(cbuf), "%llu", (unsigned long long)cursor);
    add_reply_array_len(c, 2);
    add_reply_bulk(c, cbuf, (size_t)cn);
    size_t h = add_reply_deferred_len(c);
    int64_t n = 0;
    for (size_t i = 0; i < acc.n; i++) {
        rslice k = acc.keys[i];
        if (!all && !string_match(pat.ptr, pat.len, k.ptr, k.len, false))
            continue;
        dict_entry *e = dict_find(c->db->keys, k.ptr, k.len);
        if (e == NULL || expired_entry(c->db, e))
            continue;
        if (type.ptr != NULL &&
            strcasecmp(robj_ops(e->val.ptr)->name, type.ptr) != 0)
            continue;
        add_reply_bulk(c, k.ptr, k.len);
        n++;
    }
    set_deferred_array_len(c, h, n);
    zfree(acc.keys);
}

static void randomkey_command(client *c) {
    for (int tries = 0; tries < 100; tries++) {
        dict_entry *e = dict_random(c->db->keys);
        if (e == NULL)
            break;
        if (expired_entry(c->db, e)) {
            char *k = zstrndup(e->key, e->keylen);
            expire_if_needed(c->db, rslice_of(k, e->keylen));
            zfree(k);
            continue;
        }
        add_reply_bulk(c, e->key, e->keylen);
        return;
    }
    if (dict_size(c->db->keys) > 0) {
        /* Everything sampled was volatile and expired: Redis returns one
         * such key rather than looping. */
        dict_entry *e = dict_random(c->db->keys);
        add_reply_bulk(c, e->key, e->keylen);
        return;
    }
    add_reply_null(c);
}

/* ------------------------------------------------------------------------ */
/* RENAME                                                                   */
/* ------------------------------------------------------------------------ */

static void rename_generic(client *c, bool nx) {
    rslice src = c->argv[1], dst = c->argv[2];
    bool same = rslice_eq(src, dst);
    if (lookup_key_write(c->db, src) == NULL) {
        add_reply_error(c, "no such key");
        return;
    }
    if (same) {
        if (nx)
            add_reply_long_long(c, 0);
        else
            add_reply_ok(c);
        return;
    }
    int64_t expire = get_expire(c->db, src);
    if (lookup_key_write(c->db, dst) != NULL) {
        if (nx) {
            add_reply_long_long(c, 0);
            return;
        }
        db_delete(c->db, dst);
    }
    robj *o = db_unlink_value(c->db, src);
    db_add(c->db, dst, o);
    if (expire != -1)
        set_expire(c, c->db, dst, expire);
    signal_modified_key(c, c->db, src);
    signal_modified_key(c, c->db, dst);
    server.dirty++;
    if (nx)
        add_reply_long_long(c, 1);
    else
        add_reply_ok(c);
}

static void rename_command(client *c) { rename_generic(c, false); }
static void renamenx_command(client *c) { rename_generic(c, true); }

#define KW CMD_WRITE
#define KR (CMD_READONLY | CMD_FAST)
const redis_command key_commands[] = {
    {"del", del_command, -2, KW, 1, -1, 1, "generic",
     "Deletes one or more keys.", "1.0.0", NULL, NULL},
    {"unlink", unlink_command, -2, KW | CMD_FAST, 1, -1, 1, "generic",
     "Asynchronously deletes one or more keys.", "4.0.0", NULL, NULL},
    {"exists", exists_command, -2, KR, 1, -1, 1, "generic",
     "Determines whether one or more keys exist.", "1.0.0", NULL, NULL},
    {"type", type_command, 2, KR, 1, 1, 1, "generic",
     "Determines the type of value stored at a key.", "1.0.0", NULL, NULL},
    {"expire", expire_command, -3, KW | CMD_FAST, 1, 1, 1, "generic",
     "Sets the expiration time of a key in seconds.", "1.0.0", NULL, NULL},
    {"pexpire", pexpire_command, -3, KW | CMD_FAST, 1, 1, 1, "generic",
     "Sets the expiration time of a key in milliseconds.", "2.6.0", NULL, NULL},
    {"expireat", expireat_command, -3, KW | CMD_FAST, 1, 1, 1, "generic",
     "Sets the expiration time of a key to a Unix timestamp.", "1.2.0", NULL,
     NULL},
    {"pexpireat", pexpireat_command, -3, KW | CMD_FAST, 1, 1, 1, "generic",
     "Sets the expiration time of a key to a Unix milliseconds timestamp.",
     "2.6.0", NULL, NULL},
    {"ttl", ttl_command, 2, KR, 1, 1, 1, "generic",
     "Returns the expiration time in seconds of a key.", "1.0.0", NULL, NULL},
    {"pttl", pttl_command, 2, KR, 1, 1, 1, "generic",
     "Returns the expiration time in milliseconds of a key.", "2.6.0", NULL,
     NULL},
    {"expiretime", expiretime_command, 2, KR, 1, 1, 1, "generic",
     "Returns the expiration time of a key as a Unix timestamp.", "7.0.0", NULL,
     NULL},
    {"pexpiretime", pexpiretime_command, 2, KR, 1, 1, 1, "generic",
     "Returns the expiration time of a key as a Unix milliseconds "
     "timestamp.",
     "7.0.0", NULL, NULL},
    {"persist", persist_command, 2, KW | CMD_FAST, 1, 1, 1, "generic",
     "Removes the expiration time of a key.", "2.2.0", NULL, NULL},
    {"keys", keys_command, 2, CMD_READONLY, 0, 0, 0, "generic",
     "Returns all key names that match a pattern.", "1.0.0", NULL, NULL},
    {"scan", scan_command, -2, CMD_READONLY, 0, 0, 0, "generic",
     "Iterates over the key names in the database.", "2.8.0", NULL, NULL},
    {"randomkey", randomkey_command, 1, CMD_READONLY, 0, 0, 0, "generic",
     "Returns a random key name from the database.", "1.0.0", NULL, NULL},
    {"rename", rename_command, 3, KW, 1, 2, 1, "generic",
     "Renames a key and overwrites the destination.", "1.0.0", NULL, NULL},
    {"renamenx", renamenx_command, 3, KW | CMD_FAST, 1, 2, 1, "generic",
     "Renames a key only when the target key name doesn't exist.", "1.0.0",
     NULL, NULL},
    {0},
};
