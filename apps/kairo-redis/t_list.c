/*
 * t_list.c: list values (rlist.h, a chunked deque) and their commands, with
 * Redis 7.0's arity, argument order and error replies. The blocking pops
 * park in blocking.c.
 */
#include <string.h>

#include "t_list.h"

static void list_free(robj *o) { rlist_free(list_of(o)); }

static size_t list_mem(const robj *o) {
    const rlist *l = list_of(o);
    size_t nodes = l->len / (RLIST_NODE_CAP / 2) + 1;
    return sizeof(*o) + sizeof(*l) + nodes * sizeof(rlist_node) +
           l->len * (sizeof(relem) + 8) + l->bytes;
}

/* RPUSH key e1 ... in batches of 64 elements (Redis's AOF rewrite batch). */
static void list_rewrite(const robj *o, rslice key, rewrite_emit_fn emit,
                         void *ctx) {
    enum { BATCH = 64 };
    rslice argv[2 + BATCH];
    char name[] = "RPUSH";
    argv[0] = rslice_of(name, 5);
    argv[1] = key;
    int n = 0;
    rlist_iter it;
    rlist_iter_at(list_of(o), 0, false, &it);
    for (relem *e; (e = rlist_iter_next(&it)) != NULL;) {
        argv[2 + n++] = rslice_of(e->data, e->len);
        if (n == BATCH) {
            emit(ctx, 2 + n, argv);
            n = 0;
        }
    }
    if (n > 0)
        emit(ctx, 2 + n, argv);
}

const robj_type_ops list_type_ops = {"list", list_free, list_mem, list_rewrite};

robj *list_value_new(void) {
    return robj_new(OBJ_LIST, OBJ_ENC_RLIST, rlist_new());
}

void list_elements_removed(client *c, redis_db *db, rslice key, robj *o) {
    if (rlist_len(list_of(o)) == 0)
        db_delete(db, key);
    signal_modified_key(c, db, key);
    server.dirty++;
}

static bool parse_where(client *c, rslice arg, int *where) {
    if (rslice_eqi(arg, "right")) {
        *where = RLIST_TAIL;
    } else if (rslice_eqi(arg, "left")) {
        *where = RLIST_HEAD;
    } else {
        add_reply_error_syntax(c);
        return false;
    }
    return true;
}

/* ---- push ---------------------------------------------------------------- */

static void push_generic(client *c, int where, bool xx) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (check_type(c, o, OBJ_LIST))
        return;
    if (o == NULL) {
        if (xx) {
            add_reply_long_long(c, 0);
            return;
        }
        o = list_value_new();
        db_add(c->db, c->argv[1], o);
    }
    for (int j = 2; j < c->argc; j++) {
        rlist_push(list_of(o), where, c->argv[j].ptr, c->argv[j].len);
        server.dirty++;
    }
    add_reply_long_long(c, (int64_t)rlist_len(list_of(o)));
    signal_modified_key(c, c->db, c->argv[1]);
}

static void lpush_command(client *c) { push_generic(c, RLIST_HEAD, false); }
static void rpush_command(client *c) { push_generic(c, RLIST_TAIL, false); }
static void lpushx_command(client *c) { push_generic(c, RLIST_HEAD, true); }
static void rpushx_command(client *c) { push_generic(c, RLIST_TAIL, true); }

/* ---- pop ----------------------------------------------------------------- */

static void pop_generic(client *c, int where) {
    bool hascount = c->argc == 3;
    long count = 0;
    if (c->argc > 3) {
        add_reply_error_arity(c);
        return;
    }
    if (hascount && !get_positive_long_or_reply(c, c->argv[2], &count, NULL))
        return;
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        if (hascount)
            add_reply_null_array(c);
        else
            add_reply_null(c);
        return;
    }
    if (check_type(c, o, OBJ_LIST))
        return;
    if (hascount && count == 0) {
        add_reply_array_len(c, 0);
        return;
    }
    rlist *l = list_of(o);
    if (!hascount) {
        relem *e = rlist_pop(l, where);
        add_reply_bulk(c, e->data, e->len);
        relem_free(e);
    } else {
        size_t n = (size_t)count < rlist_len(l) ? (size_t)count : rlist_len(l);
        add_reply_array_len(c, (int64_t)n);
        for (size_t i = 0; i < n; i++) {
            relem *e = rlist_pop(l, where);
            add_reply_bulk(c, e->data, e->len);
            relem_free(e);
        }
    }
    list_elements_removed(c, c->db, c->argv[1], o);
}

static void lpop_command(client *c) { pop_generic(c, RLIST_HEAD); }
static void rpop_command(client *c) { pop_generic(c, RLIST_TAIL); }

/* ---- reading ------------------------------------------------------------- */

static void llen_command(client *c) {
    robj *o = lookup_key_read(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_LIST))
        return;
    add_reply_long_long(c, (int64_t)rlist_len(list_of(o)));
}

static void lrange_command(client *c) {
    long start, end;
    if (!get_long_or_reply(c, c->argv[2], &start, NULL) ||
        !get_long_or_reply(c, c->argv[3], &end, NULL))
        return;
    robj *o = lookup_key_read(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_array_len(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_LIST))
        return;
    rlist *l = list_of(o);
    long llen = (long)rlist_len(l);
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        add_reply_array_len(c, 0);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    add_reply_array_len(c, end - start + 1);
    rlist_iter it;
    rlist_iter_at(l, (size_t)start, false, &it);
    for (long i = start; i <= end; i++) {
        relem *e = rlist_iter_next(&it);
        add_reply_bulk(c, e->data, e->len);
    }
}

static void lindex_command(client *c) {
    robj *o = lookup_key_read_or_reply_null(c, c->argv[1]);
    if (o == NULL || check_type(c, o, OBJ_LIST))
        return;
    long index;
    if (!get_long_or_reply(c, c->argv[2], &index, NULL))
        return;
    size_t idx;
    if (!rlist_norm_index(list_of(o), index, &idx)) {
        add_reply_null(c);
        return;
    }
    relem *e = rlist_at(list_of(o), idx);
    add_reply_bulk(c, e->data, e->len);
}

/* ---- writing in place ---------------------------------------------------- */

static void lset_command(client *c) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_error(c, "no such key");
        return;
    }
    if (check_type(c, o, OBJ_LIST))
        return;
    long index;
    if (!get_long_or_reply(c, c->argv[2], &index, NULL))
        return;
    size_t idx;
    if (!rlist_norm_index(list_of(o), index, &idx)) {
        add_reply_error(c, "index out of range");
        return;
    }
    rlist_set(list_of(o), idx, c->argv[3].ptr, c->argv[3].len);
    add_reply_ok(c);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
}

static bool elem_eq(const relem *e, rslice s) {
    return e->len == s.len &&
           (s.len == 0 || memcmp(e->data, s.ptr, s.len) == 0);
}

static void linsert_command(client *c) {
    bool after;
    if (rslice_eqi(c->argv[2], "after")) {
        after = true;
    } else if (rslice_eqi(c->argv[2], "before")) {
        after = false;
    } else {
        add_reply_error_syntax(c);
        return;
    }
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_LIST))
        return;
    rlist *l = list_of(o);
    rlist_iter it;
    rlist_iter_at(l, 0, false, &it);
    for (relem *e; (e = rlist_iter_next(&it)) != NULL;) {
        if (elem_eq(e, c->argv[3])) {
            rlist_iter_insert(&it, after, c->argv[4].ptr, c->argv[4].len);
            signal_modified_key(c, c->db, c->argv[1]);
            server.dirty++;
            add_reply_long_long(c, (int64_t)rlist_len(l));
            return;
        }
    }
    add_reply_long_long(c, -1);
}

static void lrem_command(client *c) {
    long toremove;
    if (!get_long_or_reply(c, c->argv[2], &toremove, NULL))
        return;
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_LIST))
        return;
    rlist *l = list_of(o);
    bool reverse = toremove < 0;
    unsigned long limit =
        reverse ? 0UL - (unsigned long)toremove : (unsigned long)toremove;
    unsigned long removed = 0;
    rlist_iter it;
    rlist_iter_at(l, reverse ? rlist_len(l) - 1 : 0, reverse, &it);
    for (relem *e; (e = rlist_iter_next(&it)) != NULL;) {
        if (elem_eq(e, c->argv[3])) {
            rlist_iter_del_prev(&it);
            server.dirty++;
            if (++removed == limit)
                break;
        }
    }
    if (removed > 0)
        signal_modified_key(c, c->db, c->argv[1]);
    if (rlist_len(l) == 0)
        db_delete(c->db, c->argv[1]);
    add_reply_long_long(c, (int64_t)removed);
}

static void ltrim_command(client *c) {
    long start, end;
    if (!get_long_or_reply(c, c->argv[2], &start, NULL) ||
        !get_long_or_reply(c, c->argv[3], &end, NULL))
        return;
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_ok(c);
        return;
    }
    if (check_type(c, o, OBJ_LIST))
        return;
    rlist *l = list_of(o);
    long llen = (long)rlist_len(l), ltrim, rtrim;
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        ltrim = llen;
        rtrim = 0;
    } else {
        if (end >= llen)
            end = llen - 1;
        ltrim = start;
        rtrim = llen - end - 1;
    }
    rlist_trim(l, (size_t)ltrim, (size_t)rtrim);
    if (rlist_len(l) == 0)
        db_delete(c->db, c->argv[1]);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty += (uint64_t)(ltrim + rtrim);
    add_reply_ok(c);
}

/* ---- moves --------------------------------------------------------------- */

void list_move_push(client *c, redis_db *db, rslice dstkey, robj *dst,
                    relem *value, int where) {
    if (dst == NULL) {
        dst = list_value_new();
        db_add(db, dstkey, dst);
    }
    signal_modified_key(c, db, dstkey);
    add_reply_bulk(c, value->data, value->len);
    rlist_push_elem(list_of(dst), where, value);
}

static void lmove_generic(client *c, int wherefrom, int whereto) {
    robj *src = lookup_key_write(c->db, c->argv[1]);
    if (src == NULL) {
        add_reply_null(c);
        return;
    }
    if (check_type(c, src, OBJ_LIST))
        return;
    robj *dst = lookup_key_write(c->db, c->argv[2]);
    if (check_type(c, dst, OBJ_LIST))
        return;
    /* Copy the key first: when src == dst, deleting the emptied source
     * must not touch the element just pushed (it cannot happen: the push
     * refills it). */
    relem *value = rlist_pop(list_of(src), wherefrom);
    list_move_push(c, c->db, c->argv[2], dst, value, whereto);
    if (rlist_len(list_of(src)) == 0)
        db_delete(c->db, c->argv[1]);
    signal_modified_key(c, c->db, c->argv[1]);
    server.dirty++;
}

static void lmove_command(client *c) {
    int from, to;
    if (!parse_where(c, c->argv[3], &from) || !parse_where(c, c->argv[4], &to))
        return;
    lmove_generic(c, from, to);
}

static void rpoplpush_command(client *c) {
    lmove_generic(c, RLIST_TAIL, RLIST_HEAD);
}

/* ---- blocking ------------------------------------------------------------ */

/* A client that must not block (inside MULTI/EXEC, or a fake one) gets the
 * timeout reply at once, as Redis's CLIENT_DENY_BLOCKING. */
static bool deny_blocking(const client *c) {
    return (c->flags & (CLIENT_MULTI | CLIENT_EXECUTING | CLIENT_FAKE)) != 0;
}

static void bpop_generic(client *c, int where) {
    int64_t timeout;
    if (!get_timeout_or_reply(c, c->argv[c->argc - 1], &timeout))
        return;
    for (int j = 1; j < c->argc - 1; j++) {
        rslice key = c->argv[j];
        robj *o = lookup_key_write(c->db, key);
        if (o == NULL)
            continue;
        if (check_type(c, o, OBJ_LIST))
            return;
        relem *e = rlist_pop(list_of(o), where);
        add_reply_array_len(c, 2);
        add_reply_bulk(c, key.ptr, key.len);
        add_reply_bulk(c, e->data, e->len);
        relem_free(e);
        list_elements_removed(c, c->db, key, o);
        char name[5];
        memcpy(name, where == RLIST_HEAD ? "LPOP" : "RPOP", 5);
        rslice argv[2] = {rslice_of(name, 4), key};
        propagate_command(c, 2, argv);
        return;
    }
    if (deny_blocking(c)) {
        add_reply_null_array(c);
        return;
    }
    block_for_list_keys(c, c->argv + 1, c->argc - 2, where, NULL, 0, timeout,
                        false);
}

static void blpop_command(client *c) { bpop_generic(c, RLIST_HEAD); }
static void brpop_command(client *c) { bpop_generic(c, RLIST_TAIL); }

static void bmove_generic(client *c, int from, int to, int64_t timeout,
                          bool brpoplpush) {
    robj *src = lookup_key_write(c->db, c->argv[1]);
    if (check_type(c, src, OBJ_LIST))
        return;
    if (src != NULL) {
        uint64_t dirty = server.dirty;
        lmove_generic(c, from, to);
        if (server.dirty != dirty) {
            char lm[] = "LMOVE", rl[] = "RPOPLPUSH";
            char f[6], t[6];
            strcpy(f, from == RLIST_HEAD ? "LEFT" : "RIGHT");
            strcpy(t, to == RLIST_HEAD ? "LEFT" : "RIGHT");
            rslice argv[5] = {brpoplpush ? rslice_of(rl, 9) : rslice_of(lm, 5),
                              c->argv[1], c->argv[2], rslice_of(f, strlen(f)),
                              rslice_of(t, strlen(t))};
            propagate_command(c, brpoplpush ? 3 : 5, argv);
        }
        return;
    }
    if (deny_blocking(c)) {
        add_reply_null(c);
        return;
    }
    block_for_list_keys(c, c->argv + 1, 1, from, &c->argv[2], to, timeout,
                        brpoplpush);
}

static void blmove_command(client *c) {
    int from, to;
    int64_t timeout;
    if (!parse_where(c, c->argv[3], &from) ||
        !parse_where(c, c->argv[4], &to) ||
        !get_timeout_or_reply(c, c->argv[5], &timeout))
        return;
    bmove_generic(c, from, to, timeout, false);
}

static void brpoplpush_command(client *c) {
    int64_t timeout;
    if (!get_timeout_or_reply(c, c->argv[3], &timeout))
        return;
    bmove_generic(c, RLIST_TAIL, RLIST_HEAD, timeout, true);
}

#define W  (CMD_WRITE)
#define WD (CMD_WRITE | CMD_DENYOOM)
#define R  (CMD_READONLY)
#define F  (CMD_FAST)

const redis_command list_commands[] = {
    {"lpush", lpush_command, -3, WD | F, 1, 1, 1, "list",
     "Prepends one or more elements to a list. Creates the key if it doesn't "
     "exist.",
     "1.0.0", NULL, NULL},
    {"rpush", rpush_command, -3, WD | F, 1, 1, 1, "list",
     "Appends one or more elements to a list. Creates the key if it doesn't "
     "exist.",
     "1.0.0", NULL, NULL},
    {"lpushx", lpushx_command, -3, WD | F, 1, 1, 1, "list",
     "Prepends one or more elements to a list only when the list exists.",
     "2.2.0", NULL, NULL},
    {"rpushx", rpushx_command, -3, WD | F, 1, 1, 1, "list",
     "Appends an element to a list only when the list exists.", "2.2.0", NULL,
     NULL},
    {"lpop", lpop_command, -2, W | F, 1, 1, 1, "list",
     "Returns the first elements in a list after removing it. Deletes the "
     "list if the last element was popped.",
     "1.0.0", NULL, NULL},
    {"rpop", rpop_command, -2, W | F, 1, 1, 1, "list",
     "Returns and removes the last elements of a list. Deletes the list if "
     "the last element was popped.",
     "1.0.0", NULL, NULL},
    {"llen", llen_command, 2, R | F, 1, 1, 1, "list",
     "Returns the length of a list.", "1.0.0", NULL, NULL},
    {"lrange", lrange_command, 4, R, 1, 1, 1, "list",
     "Returns a range of elements from a list.", "1.0.0", NULL, NULL},
    {"lindex", lindex_command, 3, R, 1, 1, 1, "list",
     "Returns an element from a list by its index.", "1.0.0", NULL, NULL},
    {"lset", lset_command, 4, WD, 1, 1, 1, "list",
     "Sets the value of an element in a list by its index.", "1.0.0", NULL,
     NULL},
    {"linsert", linsert_command, 5, WD, 1, 1, 1, "list",
     "Inserts an element before or after another element in a list.", "2.2.0",
     NULL, NULL},
    {"lrem", lrem_command, 4, W, 1, 1, 1, "list",
     "Removes elements from a list. Deletes the list if the last element was "
     "removed.",
     "1.0.0", NULL, NULL},
    {"ltrim", ltrim_command, 4, W, 1, 1, 1, "list",
     "Removes elements from both ends a list. Deletes the list if all "
     "elements were trimmed.",
     "1.0.0", NULL, NULL},
    {"lmove", lmove_command, 5, WD, 1, 2, 1, "list",
     "Returns an element after popping it from one list and pushing it to "
     "another. Deletes the list if the last element was moved.",
     "6.2.0", NULL, NULL},
    {"rpoplpush", rpoplpush_command, 3, WD, 1, 2, 1, "list",
     "Returns the last element of a list after removing and pushing it to "
     "another list. Deletes the list if the last element was popped.",
     "1.2.0", NULL, NULL},
    {"blpop", blpop_command, -3, W | CMD_BLOCKING, 1, -2, 1, "list",
     "Removes and returns the first element in a list. Blocks until an "
     "element is available otherwise. Deletes the list if the last element "
     "was popped.",
     "2.0.0", NULL, NULL},
    {"brpop", brpop_command, -3, W | CMD_BLOCKING, 1, -2, 1, "list",
     "Removes and returns the last element in a list. Blocks until an "
     "element is available otherwise. Deletes the list if the last element "
     "was popped.",
     "2.0.0", NULL, NULL},
    {"blmove", blmove_command, 6, WD | CMD_BLOCKING, 1, 2, 1, "list",
     "Pops an element from a list, pushes it to another list and returns it. "
     "Blocks until an element is available otherwise. Deletes the list if "
     "the last element was moved.",
     "6.2.0", NULL, NULL},
    {"brpoplpush", brpoplpush_command, 4, WD | CMD_BLOCKING, 1, 2, 1, "list",
     "Pops an element from a list, pushes it to another list and returns it. "
     "Block until an element is available otherwise. Deletes the list if the "
     "last element was popped.",
     "2.2.0", NULL, NULL},
    {0},
};
