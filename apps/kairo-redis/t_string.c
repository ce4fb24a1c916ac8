/*
 * t_string.c: string values and their commands: GET SET SETNX SETEX
 * PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY DECRBY
 * INCRBYFLOAT APPEND STRLEN GETRANGE SUBSTR SETRANGE.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

static void string_free(robj *o) {
    if (o->encoding == OBJ_ENC_RAW)
        zfree(o->ptr);
}

static size_t string_mem(const robj *o) {
    return sizeof(*o) + (o->encoding == OBJ_ENC_RAW ? o->cap : 0);
}

static void string_rewrite(const robj *o, rslice key, rewrite_emit_fn emit,
                           void *ctx) {
    char buf[24];
    char name[] = "SET";
    rslice argv[3] = {{name, 3}, key, robj_string_bytes(o, buf)};
    emit(ctx, 3, argv);
}

const robj_type_ops string_type_ops = {"string", string_free, string_mem,
                                       string_rewrite};

static rslice lit(const char *s) { return rslice_of(s, strlen(s)); }

static bool check_string_length(client *c, uint64_t size, uint64_t append) {
    uint64_t total = size + append;
    if (total > (uint64_t)server.proto_max_bulk_len || total < size) {
        add_reply_error(c, "string exceeds maximum allowed size "
                           "(proto-max-bulk-len)");
        return false;
    }
    return true;
}

static void reply_expire_error(client *c) {
    add_reply_error_fmt(c, "invalid expire time in '%s' command", c->cmd->name);
}

/* ------------------------------------------------------------------------ */
/* SET and GETEX options                                                    */
/* ------------------------------------------------------------------------ */

enum {
    SET_NX = 1,
    SET_XX = 2,
    SET_GET = 4,
    SET_KEEPTTL = 8,
    SET_PERSIST = 16,
    SET_EX = 32,
    SET_PX = 64,
    SET_EXAT = 128,
    SET_PXAT = 256
};
#define SET_ANY_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* Redis's parseExtendedStringArgumentsOrReply: options from argv[first];
 * an expire option takes the next argument (*expire). */
static bool parse_options(client *c, int first, bool is_set, int *flags,
                          rslice *expire) {
    for (int j = first; j < c->argc; j++) {
        rslice o = c->argv[j];
        bool next = j < c->argc - 1;
        int f = *flags;
        if (rslice_eqi(o, "nx") && !(f & SET_XX) && is_set) {
            *flags |= SET_NX;
        } else if (rslice_eqi(o, "xx") && !(f & SET_NX) && is_set) {
            *flags |= SET_XX;
        } else if (rslice_eqi(o, "get") && is_set) {
            *flags |= SET_GET;
        } else if (rslice_eqi(o, "keepttl") && !(f & SET_PERSIST) &&
                   !(f & SET_ANY_EXPIRE) && is_set) {
            *flags |= SET_KEEPTTL;
        } else if (rslice_eqi(o, "persist") && !is_set &&
                   !(f & SET_ANY_EXPIRE) && !(f & SET_KEEPTTL)) {
            *flags |= SET_PERSIST;
        } else if (rslice_eqi(o, "ex") && !(f & (SET_KEEPTTL | SET_PERSIST)) &&
                   !(f & (SET_EXAT | SET_PX | SET_PXAT)) && next) {
            *flags |= SET_EX;
            *expire = c->argv[++j];
        } else if (rslice_eqi(o, "px") && !(f & (SET_KEEPTTL | SET_PERSIST)) &&
                   !(f & (SET_EX | SET_EXAT | SET_PXAT)) && next) {
            *flags |= SET_PX;
            *expire = c->argv[++j];
        } else if (rslice_eqi(o, "exat") &&
                   !(f & (SET_KEEPTTL | SET_PERSIST)) &&
                   !(f & (SET_EX | SET_PX | SET_PXAT)) && next) {
            *flags |= SET_EXAT;
            *expire = c->argv[++j];
        } else if (rslice_eqi(o, "pxat") &&
                   !(f & (SET_KEEPTTL | SET_PERSIST)) &&
                   !(f & (SET_EX | SET_PX | SET_EXAT)) && next) {
            *flags |= SET_PXAT;
            *expire = c->argv[++j];
        } else {
            add_reply_error_syntax(c);
            return false;
        }
    }
    return true;
}

/* The absolute expiry in ms from an EX/PX/EXAT/PXAT argument, as Redis's
 * getExpireMillisecondsOrReply. */
static bool expire_ms(client *c, rslice arg, int flags, int64_t *ms) {
    if (!get_long_long_or_reply(c, arg, ms, NULL))
        return false;
    bool seconds = (flags & (SET_EX | SET_EXAT)) != 0;
    if (*ms <= 0 || (seconds && *ms > LLONG_MAX / 1000)) {
        reply_expire_error(c);
        return false;
    }
    if (seconds)
        *ms *= 1000;
    if (flags & (SET_EX | SET_PX)) {
        int64_t now = command_time_ms();
        if (*ms > INT64_MAX - now) {
            reply_expire_error(c);
            return false;
        }
        *ms += now;
    }
    return true;
}

/* GET's body: false if it replied an error (WRONGTYPE). */
static bool get_generic(client *c) {
    robj *o = lookup_key_read(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_null(c);
        return true;
    }
    if (o->type != OBJ_STRING) {
        add_reply_wrongtype(c);
        return false;
    }
    add_reply_bulk_obj(c, o);
    return true;
}

static void propagate_set_pxat(client *c, rslice key, rslice val,
                               int64_t when) {
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", (long long)when);
    rslice argv[5] = {lit("SET"), key, val, lit("PXAT"),
                      rslice_of(buf, (size_t)n)};
    propagate_command(c, 5, argv);
}

static void set_generic(client *c, int flags, rslice key, rslice val,
                        rslice *expire, bool reply_int) {
    int64_t when = 0;
    if (expire != NULL && !expire_ms(c, *expire, flags, &when))
        return;
    if ((flags & SET_GET) && !get_generic(c))
        return;
    bool found = lookup_key_write(c->db, key) != NULL;
    if (((flags & SET_NX) && found) || ((flags & SET_XX) && !found)) {
        if (!(flags & SET_GET)) {
            if (reply_int)
                add_reply_long_long(c, 0);
            else
                add_reply_null(c);
        }
        return;
    }
    set_key(c, c->db, key, robj_new_string(val.ptr, val.len),
            (flags & SET_KEEPTTL) != 0);
    server.dirty++;
    if (expire != NULL) {
        set_expire(c, c->db, key, when);
        propagate_set_pxat(c, key, val, when);
    } else if (flags & SET_GET) {
        /* Without GET, the AOF gets "SET key value [NX|XX] [KEEPTTL]". */
        rslice argv[8];
        int n = 0;
        for (int j = 0; j < c->argc && n < 8; j++)
            if (j < 3 || !rslice_eqi(c->argv[j], "get"))
                argv[n++] = c->argv[j];
        propagate_command(c, n, argv);
    }
    if (!(flags & SET_GET)) {
        if (reply_int)
            add_reply_long_long(c, 1);
        else
            add_reply_ok(c);
    }
}

static void set_command(client *c) {
    int flags = 0;
    rslice expire;
    if (!parse_options(c, 3, true, &flags, &expire))
        return;
    set_generic(c, flags, c->argv[1], c->argv[2],
                (flags & SET_ANY_EXPIRE) ? &expire : NULL, false);
}

static void setnx_command(client *c) {
    set_generic(c, SET_NX, c->argv[1], c->argv[2], NULL, true);
}

static void setex_command(client *c) {
    set_generic(c, SET_EX, c->argv[1], c->argv[3], &c->argv[2], false);
}

static void psetex_command(client *c) {
    set_generic(c, SET_PX, c->argv[1], c->argv[3], &c->argv[2], false);
}

static void get_command(client *c) { get_generic(c); }

static void getset_command(client *c) {
    if (!get_generic(c))
        return;
    set_key(c, c->db, c->argv[1],
            robj_new_string(c->argv[2].ptr, c->argv[2].len), false);
    server.dirty++;
    rslice argv[3] = {lit("SET"), c->argv[1], c->argv[2]};
    propagate_command(c, 3, argv);
}

static void getdel_command(client *c) {
    if (!get_generic(c))
        return;
    if (db_delete(c->db, c->argv[1])) {
        signal_modified_key(c, c->db, c->argv[1]);
        server.dirty++;
        rslice argv[2] = {lit("DEL"), c->argv[1]};
        propagate_command(c, 2, argv);
    }
}

static void getex_command(client *c) {
    int flags = 0;
    rslice expire;
    if (!parse_options(c, 2, false, &flags, &expire))
        return;
    robj *o = lookup_key_read_or_reply_null(c, c->argv[1]);
    if (o == NULL || check_type(c, o, OBJ_STRING))
        return;
    int64_t when = 0;
    if ((flags & SET_ANY_EXPIRE) && !expire_ms(c, expire, flags, &when))
        return;
    add_reply_bulk_obj(c, o);
    rslice key = c->argv[1];
    if ((flags & (SET_EXAT | SET_PXAT)) && when <= command_time_ms()) {
        db_delete(c->db, key);
        signal_modified_key(c, c->db, key);
        server.dirty++;
        rslice argv[2] = {lit("DEL"), key};
        propagate_command(c, 2, argv);
    } else if (flags & SET_ANY_EXPIRE) {
        set_expire(c, c->db, key, when);
        signal_modified_key(c, c->db, key);
        server.dirty++;
        char buf[24];
        int n = snprintf(buf, sizeof(buf), "%lld", (long long)when);
        rslice argv[3] = {lit("PEXPIREAT"), key, rslice_of(buf, (size_t)n)};
        propagate_command(c, 3, argv);
    } else if (flags & SET_PERSIST) {
        if (remove_expire(c->db, key)) {
            signal_modified_key(c, c->db, key);
            server.dirty++;
            rslice argv[2] = {lit("PERSIST"), key};
            propagate_command(c, 2, argv);
        }
    }
}

static void mget_command(client *c) {
    add_reply_array_len(c, c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        robj *o = lookup_key_read(c->db, c->argv[j]);
        if (o == NULL || o->type != OBJ_STRING)
            add_reply_null(c);
        else
            add_reply_bulk_obj(c, o);
    }
}

static void mset_generic(client *c, bool nx) {
    if (c->argc % 2 == 0) {
        add_reply_error_arity(c);
        return;
    }
    if (nx) {
        for (int j = 1; j < c->argc; j += 2)
            if (lookup_key_write(c->db, c->argv[j]) != NULL) {
                add_reply_long_long(c, 0);
                return;
            }
    }
    for (int j = 1; j < c->argc; j += 2)
        set_key(c, c->db, c->argv[j],
                robj_new_string(c->argv[j + 1].ptr, c->argv[j + 1].len), false);
    server.dirty += (uint64_t)(c->argc - 1) / 2;
    if (nx)
        add_reply_long_long(c, 1);
    else
        add_reply_ok(c);
}

static void mset_command(client *c) { mset_generic(c, false); }
static void msetnx_command(client *c) { mset_generic(c, true); }

static void incr_decr(client *c, int64_t incr) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (check_type(c, o, OBJ_STRING))
        return;
    int64_t value = 0;
    if (o != NULL && !robj_get_long_long(o, &value)) {
        add_reply_error(c, "value is not an integer or out of range");
        return;
    }
    if ((incr < 0 && value < 0 && incr < INT64_MIN - value) ||
        (incr > 0 && value > 0 && incr > INT64_MAX - value)) {
        add_reply_error(c, "increment or decrement would overflow");
        return;
    }
    value += incr;
    if (o != NULL && o->encoding == OBJ_ENC_INT) {
        o->ival = value; /* in place: the TTL stays */
    } else if (o != NULL) {
        db_overwrite(c->db, c->argv[1], robj_new_int(value));
    } else {
        db_add(c->db, c->argv[1], robj_new_int(value));
    }
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
    add_reply_long_long(c, value);
}

static void incr_command(client *c) { incr_decr(c, 1); }
static void decr_command(client *c) { incr_decr(c, -1); }

static void incrby_command(client *c) {
    int64_t incr;
    if (get_long_long_or_reply(c, c->argv[2], &incr, NULL))
        incr_decr(c, incr);
}

static void decrby_command(client *c) {
    int64_t incr;
    if (!get_long_long_or_reply(c, c->argv[2], &incr, NULL))
        return;
    if (incr == INT64_MIN) {
        add_reply_error(c, "decrement would overflow");
        return;
    }
    incr_decr(c, -incr);
}

static void incrbyfloat_command(client *c) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (check_type(c, o, OBJ_STRING))
        return;
    long double value = 0, incr;
    if (o != NULL) {
        char buf[24];
        rslice s = robj_string_bytes(o, buf);
        if (!string_to_ld(s.ptr, s.len, &value)) {
            add_reply_error(c, "value is not a valid float");
            return;
        }
    }
    if (!get_long_double_or_reply(c, c->argv[2], &incr, NULL))
        return;
    value += incr;
    if (isnan(value) || isinf(value)) {
        add_reply_error(c, "increment would produce NaN or Infinity");
        return;
    }
    char buf[5200];
    int n = format_long_double_human(buf, sizeof(buf), value);
    robj *nv = robj_new_string(buf, (size_t)n);
    if (o != NULL)
        db_overwrite(c->db, c->argv[1], nv);
    else
        db_add(c->db, c->argv[1], nv);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
    add_reply_bulk(c, buf, (size_t)n);
    rslice argv[4] = {lit("SET"), c->argv[1], rslice_of(buf, (size_t)n),
                      lit("KEEPTTL")};
    propagate_command(c, 4, argv);
}

static void append_command(client *c) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    rslice add = c->argv[2];
    size_t total;
    if (o == NULL) {
        db_add(c->db, c->argv[1], robj_new_string(add.ptr, add.len));
        total = add.len;
    } else {
        if (check_type(c, o, OBJ_STRING))
            return;
        size_t len = robj_string_len(o);
        if (!check_string_length(c, len, add.len))
            return;
        robj_string_make_raw(o, len + add.len);
        memcpy((char *)o->ptr + o->len, add.ptr, add.len);
        o->len += add.len;
        ((char *)o->ptr)[o->len] = '\0';
        total = o->len;
    }
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
    add_reply_long_long(c, (int64_t)total);
}

static void strlen_command(client *c) {
    robj *o = lookup_key_read(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_STRING))
        return;
    add_reply_long_long(c, (int64_t)robj_string_len(o));
}

static void getrange_command(client *c) {
    int64_t start, end;
    if (!get_long_long_or_reply(c, c->argv[2], &start, NULL) ||
        !get_long_long_or_reply(c, c->argv[3], &end, NULL))
        return;
    robj *o = lookup_key_read(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_bulk(c, "", 0);
        return;
    }
    if (check_type(c, o, OBJ_STRING))
        return;
    char buf[24];
    rslice s = robj_string_bytes(o, buf);
    int64_t len = (int64_t)s.len;
    if (start < 0 && end < 0 && start > end) {
        add_reply_bulk(c, "", 0);
        return;
    }
    if (start < 0)
        start = len + start;
    if (end < 0)
        end = len + end;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (start > end || len == 0)
        add_reply_bulk(c, "", 0);
    else
        add_reply_bulk(c, s.ptr + start, (size_t)(end - start + 1));
}

static void setrange_command(client *c) {
    long offset;
    rslice value = c->argv[3];
    if (!get_long_or_reply(c, c->argv[2], &offset, NULL))
        return;
    if (offset < 0) {
        add_reply_error(c, "offset is out of range");
        return;
    }
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        if (value.len == 0) {
            add_reply_long_long(c, 0);
            return;
        }
        if (!check_string_length(c, (uint64_t)offset, value.len))
            return;
        o = robj_new_string_raw("", 0);
        db_add(c->db, c->argv[1], o);
    } else {
        if (check_type(c, o, OBJ_STRING))
            return;
        size_t olen = robj_string_len(o);
        if (value.len == 0) {
            add_reply_long_long(c, (int64_t)olen);
            return;
        }
        if (!check_string_length(c, (uint64_t)offset, value.len))
            return;
    }
    size_t need = (size_t)offset + value.len;
    robj_string_make_raw(o, need > o->len ? need : o->len);
    if (need > o->len) {
        memset((char *)o->ptr + o->len, 0, need - o->len);
        o->len = need;
        ((char *)o->ptr)[o->len] = '\0';
    }
    memcpy((char *)o->ptr + offset, value.ptr, value.len);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
    add_reply_long_long(c, (int64_t)o->len);
}

#define RO (CMD_READONLY | CMD_FAST)
#define WR (CMD_WRITE | CMD_DENYOOM)
const redis_command string_commands[] = {
    {"get", get_command, 2, RO, 1, 1, 1, "string",
     "Returns the string value of a key.", "1.0.0", NULL, NULL},
    {"set", set_command, -3, WR, 1, 1, 1, "string",
     "Sets the string value of a key, ignoring its type. The key is created "
     "if it doesn't exist.",
     "1.0.0", NULL, NULL},
    {"setnx", setnx_command, 3, WR | CMD_FAST, 1, 1, 1, "string",
     "Set the string value of a key only when the key doesn't exist.", "1.0.0",
     NULL, NULL},
    {"setex", setex_command, 4, WR, 1, 1, 1, "string",
     "Sets the string value and expiration time of a key. Creates the key if "
     "it doesn't exist.",
     "2.0.0", NULL, NULL},
    {"psetex", psetex_command, 4, WR, 1, 1, 1, "string",
     "Sets both string value and expiration time in milliseconds of a key. "
     "The key is created if it doesn't exist.",
     "2.6.0", NULL, NULL},
    {"getset", getset_command, 3, WR | CMD_FAST, 1, 1, 1, "string",
     "Returns the previous string value of a key after setting it to a new "
     "value.",
     "1.0.0", NULL, NULL},
    {"getdel", getdel_command, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string",
     "Returns the string value of a key after deleting the key.", "6.2.0", NULL,
     NULL},
    {"getex", getex_command, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string",
     "Returns the string value of a key after setting its expiration time.",
     "6.2.0", NULL, NULL},
    {"mget", mget_command, -2, RO, 1, -1, 1, "string",
     "Atomically returns the string values of one or more keys.", "1.0.0", NULL,
     NULL},
    {"mset", mset_command, -3, WR, 1, -1, 2, "string",
     "Atomically creates or modifies the string values of one or more keys.",
     "1.0.1", NULL, NULL},
    {"msetnx", msetnx_command, -3, WR, 1, -1, 2, "string",
     "Atomically modifies the string values of one or more keys only when "
     "all keys don't exist.",
     "1.0.1", NULL, NULL},
    {"incr", incr_command, 2, WR | CMD_FAST, 1, 1, 1, "string",
     "Increments the integer value of a key by one. Uses 0 as initial value "
     "if the key doesn't exist.",
     "1.0.0", NULL, NULL},
    {"decr", decr_command, 2, WR | CMD_FAST, 1, 1, 1, "string",
     "Decrements the integer value of a key by one. Uses 0 as initial value "
     "if the key doesn't exist.",
     "1.0.0", NULL, NULL},
    {"incrby", incrby_command, 3, WR | CMD_FAST, 1, 1, 1, "string",
     "Increments the integer value of a key by a number. Uses 0 as initial "
     "value if the key doesn't exist.",
     "1.0.0", NULL, NULL},
    {"decrby", decrby_command, 3, WR | CMD_FAST, 1, 1, 1, "string",
     "Decrements a number from the integer value of a key. Uses 0 as "
     "initial value if the key doesn't exist.",
     "1.0.0", NULL, NULL},
    {"incrbyfloat", incrbyfloat_command, 3, WR | CMD_FAST, 1, 1, 1, "string",
     "Increment the floating point value of a key by a number. Uses 0 as "
     "initial value if the key doesn't exist.",
     "2.6.0", NULL, NULL},
    {"append", append_command, 3, WR | CMD_FAST, 1, 1, 1, "string",
     "Appends a string to the value of a key. Creates the key if it doesn't "
     "exist.",
     "2.0.0", NULL, NULL},
    {"strlen", strlen_command, 2, RO, 1, 1, 1, "string",
     "Returns the length of a string value.", "2.2.0", NULL, NULL},
    {"getrange", getrange_command, 4, CMD_READONLY, 1, 1, 1, "string",
     "Returns a substring of the string stored at a key.", "2.4.0", NULL, NULL},
    {"substr", getrange_command, 4, CMD_READONLY, 1, 1, 1, "string",
     "Returns a substring from a string value.", "1.0.0", NULL, NULL},
    {"setrange", setrange_command, 4, WR, 1, 1, 1, "string",
     "Overwrites a part of a string value with another by an offset. "
     "Creates the key if it doesn't exist.",
     "2.2.0", NULL, NULL},
    {0},
};
