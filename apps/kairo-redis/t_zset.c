/*
 * t_zset.c: sorted set values (zset.h: a ranked skiplist plus a member
 * table) and their commands, with Redis 7.0's option parsing, checks in
 * its order and its error replies. Redis keeps small sorted sets in a
 * listpack; the replies do not depend on it (both are ordered by score,
 * then member bytes).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "t_scan.h"
#include "zset.h"

#define OBJ_ENC_SKIPLIST 40

static zset *zset_of(const robj *o) { return (zset *)o->ptr; }

static void zset_value_free(robj *o) { zset_free(zset_of(o)); }

static size_t zset_value_mem(const robj *o) {
    return sizeof(*o) + zset_bytes(zset_of(o));
}

/* ZADD key s1 m1 ... in batches of 64 pairs, scores as "%.17g". */
static void zset_rewrite(const robj *o, rslice key, rewrite_emit_fn emit,
                         void *ctx) {
    enum { BATCH = 64 };
    rslice argv[2 + 2 * BATCH];
    char scores[BATCH][32];
    char name[] = "ZADD";
    argv[0] = rslice_of(name, 4);
    argv[1] = key;
    int n = 0;
    for (zsl_node *x = zset_of(o)->zsl->header->level[0].forward; x != NULL;
         x = x->level[0].forward) {
        int len = format_double(scores[n], sizeof(scores[n]), x->score);
        argv[2 + 2 * n] = rslice_of(scores[n], (size_t)len);
        argv[3 + 2 * n] = rslice_of(x->ele->data, x->ele->len);
        if (++n == BATCH) {
            emit(ctx, 2 + 2 * n, argv);
            n = 0;
        }
    }
    if (n > 0)
        emit(ctx, 2 + 2 * n, argv);
}

const robj_type_ops zset_type_ops = {"zset", zset_value_free, zset_value_mem,
                                     zset_rewrite};

static robj *lookup_read(client *c, rslice key, bool *wrong) {
    robj *o = lookup_key_read(c->db, key);
    *wrong = check_type(c, o, OBJ_ZSET);
    return *wrong ? NULL : o;
}

/* ---- ZADD, ZINCRBY ------------------------------------------------------- */

static void zadd_generic(client *c, int flags) {
    int scoreidx = 2;
    bool ch = false;
    if (!(flags & ZADD_INCR)) {
        for (; scoreidx < c->argc; scoreidx++) {
            rslice o = c->argv[scoreidx];
            if (rslice_eqi(o, "nx"))
                flags |= ZADD_NX;
            else if (rslice_eqi(o, "xx"))
                flags |= ZADD_XX;
            else if (rslice_eqi(o, "ch"))
                ch = true;
            else if (rslice_eqi(o, "incr"))
                flags |= ZADD_INCR;
            else if (rslice_eqi(o, "gt"))
                flags |= ZADD_GT;
            else if (rslice_eqi(o, "lt"))
                flags |= ZADD_LT;
            else
                break;
        }
    }
    bool incr = (flags & ZADD_INCR) != 0;
    int elements = c->argc - scoreidx;
    if (elements % 2 != 0 || elements == 0) {
        add_reply_error_syntax(c);
        return;
    }
    elements /= 2;
    bool nx = flags & ZADD_NX, xx = flags & ZADD_XX, gt = flags & ZADD_GT,
         lt = flags & ZADD_LT;
    if (nx && xx) {
        add_reply_error(
            c, "XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        add_reply_error(
            c, "GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        add_reply_error(c, "INCR option supports a single increment-element "
                           "pair");
        return;
    }
    double *scores = zmalloc((size_t)elements * sizeof(double));
    for (int j = 0; j < elements; j++) {
        if (!get_double_or_reply(c, c->argv[scoreidx + j * 2], &scores[j],
                                 NULL)) {
            zfree(scores);
            return;
        }
    }
    int64_t added = 0, updated = 0, processed = 0;
    double score = 0;
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (check_type(c, o, OBJ_ZSET)) {
        zfree(scores);
        return;
    }
    if (o == NULL) {
        if (xx)
            goto reply;
        o = robj_new(OBJ_ZSET, OBJ_ENC_SKIPLIST, zset_new());
        db_add(c->db, c->argv[1], o);
    }
    for (int j = 0; j < elements; j++) {
        rslice m = c->argv[scoreidx + 1 + j * 2];
        int out;
        double newscore;
        zset_add(zset_of(o), scores[j], m.ptr, m.len, flags, &out, &newscore);
        if (out & ZADD_OUT_NAN) {
            add_reply_error(c, "resulting score is not a number (NaN)");
            goto cleanup;
        }
        if (out & ZADD_OUT_ADDED)
            added++;
        if (out & ZADD_OUT_UPDATED)
            updated++;
        if (!(out & ZADD_OUT_NOP)) {
            processed++;
            score = newscore;
        }
    }
    server.dirty += (uint64_t)(added + updated);
reply:
    if (incr) {
        if (processed)
            add_reply_double(c, score);
        else
            add_reply_null(c);
    } else {
        add_reply_long_long(c, ch ? added + updated : added);
    }
cleanup:
    zfree(scores);
    if (added || updated)
        signal_modified_key(c, c->db, c->argv[1]);
}

static void zadd_command(client *c) { zadd_generic(c, 0); }
static void zincrby_command(client *c) { zadd_generic(c, ZADD_INCR); }

/* ---- removal, point reads ------------------------------------------------ */

static void zrem_command(client *c) {
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_ZSET))
        return;
    int64_t deleted = 0;
    for (int j = 2; j < c->argc; j++) {
        if (zset_del(zset_of(o), c->argv[j].ptr, c->argv[j].len)) {
            deleted++;
            if (zset_len(zset_of(o)) == 0) {
                db_delete(c->db, c->argv[1]);
                break;
            }
        }
    }
    if (deleted > 0) {
        signal_modified_key(c, c->db, c->argv[1]);
        server.dirty += (uint64_t)deleted;
    }
    add_reply_long_long(c, deleted);
}

static void zscore_command(client *c) {
    robj *o = lookup_key_read_or_reply_null(c, c->argv[1]);
    if (o == NULL || check_type(c, o, OBJ_ZSET))
        return;
    double s;
    if (zset_score(zset_of(o), c->argv[2].ptr, c->argv[2].len, &s))
        add_reply_double(c, s);
    else
        add_reply_null(c);
}

static void zmscore_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    add_reply_array_len(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        double s;
        if (o != NULL &&
            zset_score(zset_of(o), c->argv[j].ptr, c->argv[j].len, &s))
            add_reply_double(c, s);
        else
            add_reply_null(c);
    }
}

static void zcard_command(client *c) {
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (!wrong)
        add_reply_long_long(c, o ? (int64_t)zset_len(zset_of(o)) : 0);
}

static void zrank_generic(client *c, bool reverse) {
    robj *o = lookup_key_read_or_reply_null(c, c->argv[1]);
    if (o == NULL || check_type(c, o, OBJ_ZSET))
        return;
    size_t rank;
    if (zset_rank(zset_of(o), c->argv[2].ptr, c->argv[2].len, reverse, &rank))
        add_reply_long_long(c, (int64_t)rank);
    else
        add_reply_null(c);
}

static void zrank_command(client *c) { zrank_generic(c, false); }
static void zrevrank_command(client *c) { zrank_generic(c, true); }

static void zcount_command(client *c) {
    zrange r;
    if (!zset_parse_range(c->argv[2].ptr, c->argv[2].len, c->argv[3].ptr,
                          c->argv[3].len, &r)) {
        add_reply_error(c, "min or max is not a float");
        return;
    }
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    size_t first, last;
    if (o == NULL || zsl_first_in_range(zset_of(o)->zsl, &r, &first) == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    zsl_last_in_range(zset_of(o)->zsl, &r, &last);
    add_reply_long_long(c, (int64_t)(last - first + 1));
}

static void zlexcount_command(client *c) {
    zlexrange r;
    if (!zset_parse_lex(c->argv[2].ptr, c->argv[2].len, c->argv[3].ptr,
                        c->argv[3].len, &r)) {
        add_reply_error(c, "min or max not valid string range item");
        return;
    }
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    size_t first, last;
    if (o == NULL || zsl_first_in_lex(zset_of(o)->zsl, &r, &first) == NULL) {
        add_reply_long_long(c, 0);
        return;
    }
    zsl_last_in_lex(zset_of(o)->zsl, &r, &last);
    add_reply_long_long(c, (int64_t)(last - first + 1));
}

/* ---- ranges -------------------------------------------------------------- */

enum { RANGE_AUTO, RANGE_RANK, RANGE_SCORE, RANGE_LEX };
enum { DIR_AUTO, DIR_FORWARD, DIR_REVERSE };

/* The reply of a range: RESP2 flat (member, score, ...); RESP3 pairs. */
typedef struct emitter {
    client *c;
    bool withscores;
    size_t handle;
    int64_t n;
} emitter;

static void emit_begin(emitter *e) {
    e->handle = add_reply_deferred_len(e->c);
    e->n = 0;
}

static void emit_node(emitter *e, const zsl_node *x) {
    if (e->withscores && e->c->resp > 2)
        add_reply_array_len(e->c, 2);
    add_reply_bulk(e->c, x->ele->data, x->ele->len);
    if (e->withscores)
        add_reply_double(e->c, x->score);
    e->n++;
}

static void emit_end(emitter *e) {
    int64_t n = e->n;
    if (e->withscores && e->c->resp == 2)
        n *= 2;
    set_deferred_array_len(e->c, e->handle, n);
}

static void range_by_rank(emitter *e, const zset *z, long start, long end,
                          bool reverse) {
    long llen = (long)zset_len(z);
    if (start < 0)
        start += llen;
    if (end < 0)
        end += llen;
    if (start < 0)
        start = 0;
    emit_begin(e);
    if (start > end || start >= llen) {
        emit_end(e);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    long n = end - start + 1;
    const zsl *zl = z->zsl;
    const zsl_node *x;
    if (reverse)
        x = start > 0 ? zsl_by_rank(zl, (size_t)(llen - start)) : zl->tail;
    else
        x = start > 0 ? zsl_by_rank(zl, (size_t)start + 1)
                      : zl->header->level[0].forward;
    while (n-- > 0) {
        emit_node(e, x);
        x = reverse ? x->backward : x->level[0].forward;
    }
    emit_end(e);
}

/* Score and lex ranges: the first node in range from the chosen end, then
 * offset skipped, then up to limit (negative: no limit) nodes while in
 * range. A negative offset gives nothing, as in Redis. */
static void range_by_bounds(emitter *e, const zset *z, const zrange *sr,
                            const zlexrange *lr, bool reverse, long offset,
                            long limit) {
    emit_begin(e);
    if (offset < 0 || (offset > 0 && (size_t)offset >= zset_len(z))) {
        emit_end(e);
        return;
    }
    const zsl *zl = z->zsl;
    const zsl_node *x;
    if (sr != NULL)
        x = reverse ? zsl_last_in_range(zl, sr, NULL)
                    : zsl_first_in_range(zl, sr, NULL);
    else
        x = reverse ? zsl_last_in_lex(zl, lr, NULL)
                    : zsl_first_in_lex(zl, lr, NULL);
    while (x != NULL && offset-- > 0)
        x = reverse ? x->backward : x->level[0].forward;
    while (x != NULL && limit-- != 0) {
        bool in;
        if (sr != NULL)
            in = reverse ? zsl_value_gte_min(x->score, sr)
                         : zsl_value_lte_max(x->score, sr);
        else
            in = reverse ? zsl_lex_gte_min(x->ele, lr)
                         : zsl_lex_lte_max(x->ele, lr);
        if (!in)
            break;
        emit_node(e, x);
        x = reverse ? x->backward : x->level[0].forward;
    }
    emit_end(e);
}

/* Redis's zrangeGenericCommand for ZRANGE and its older spellings:
 * rangetype/direction fixed by the command or RANGE_AUTO/DIR_AUTO (ZRANGE,
 * which takes BYSCORE/BYLEX/REV as options). */
static void zrange_generic(client *c, int rangetype, int direction) {
    int minidx = 2, maxidx = 3;
    bool withscores = false;
    long offset = 0, limit = -1;
    bool has_limit = false;
    for (int j = 4; j < c->argc; j++) {
        int left = c->argc - j - 1;
        rslice a = c->argv[j];
        if (rslice_eqi(a, "withscores")) {
            withscores = true;
        } else if (rslice_eqi(a, "limit") && left >= 2) {
            if (!get_long_or_reply(c, c->argv[j + 1], &offset, NULL) ||
                !get_long_or_reply(c, c->argv[j + 2], &limit, NULL))
                return;
            has_limit = true;
            j += 2;
        } else if (direction == DIR_AUTO && rslice_eqi(a, "rev")) {
            direction = DIR_REVERSE;
        } else if (rangetype == RANGE_AUTO && rslice_eqi(a, "bylex")) {
            rangetype = RANGE_LEX;
        } else if (rangetype == RANGE_AUTO && rslice_eqi(a, "byscore")) {
            rangetype = RANGE_SCORE;
        } else {
            add_reply_error_syntax(c);
            return;
        }
    }
    if (direction == DIR_AUTO)
        direction = DIR_FORWARD;
    if (rangetype == RANGE_AUTO)
        rangetype = RANGE_RANK;
    if (has_limit && rangetype == RANGE_RANK) {
        add_reply_error(c, "syntax error, LIMIT is only supported in "
                           "combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && rangetype == RANGE_LEX) {
        add_reply_error(c, "syntax error, WITHSCORES not supported in "
                           "combination with BYLEX");
        return;
    }
    bool reverse = direction == DIR_REVERSE;
    if (reverse && rangetype != RANGE_RANK) {
        minidx = 3;
        maxidx = 2;
    }
    long start = 0, end = 0;
    zrange sr;
    zlexrange lr;
    rslice mn = c->argv[minidx], mx = c->argv[maxidx];
    switch (rangetype) {
    case RANGE_RANK:
        if (!get_long_or_reply(c, mn, &start, NULL) ||
            !get_long_or_reply(c, mx, &end, NULL))
            return;
        break;
    case RANGE_SCORE:
        if (!zset_parse_range(mn.ptr, mn.len, mx.ptr, mx.len, &sr)) {
            add_reply_error(c, "min or max is not a float");
            return;
        }
        break;
    default:
        if (!zset_parse_lex(mn.ptr, mn.len, mx.ptr, mx.len, &lr)) {
            add_reply_error(c, "min or max not valid string range item");
            return;
        }
        break;
    }
    robj *o = lookup_key_read(c->db, c->argv[1]);
    if (o == NULL) {
        add_reply_array_len(c, 0);
        return;
    }
    if (check_type(c, o, OBJ_ZSET))
        return;
    emitter e = {c, withscores, 0, 0};
    if (rangetype == RANGE_RANK)
        range_by_rank(&e, zset_of(o), start, end, reverse);
    else if (rangetype == RANGE_SCORE)
        range_by_bounds(&e, zset_of(o), &sr, NULL, reverse, offset, limit);
    else
        range_by_bounds(&e, zset_of(o), NULL, &lr, reverse, offset, limit);
}

static void zrange_command(client *c) {
    zrange_generic(c, RANGE_AUTO, DIR_AUTO);
}
static void zrevrange_command(client *c) {
    zrange_generic(c, RANGE_RANK, DIR_REVERSE);
}
static void zrangebyscore_command(client *c) {
    zrange_generic(c, RANGE_SCORE, DIR_FORWARD);
}
static void zrevrangebyscore_command(client *c) {
    zrange_generic(c, RANGE_SCORE, DIR_REVERSE);
}
static void zrangebylex_command(client *c) {
    zrange_generic(c, RANGE_LEX, DIR_FORWARD);
}
static void zrevrangebylex_command(client *c) {
    zrange_generic(c, RANGE_LEX, DIR_REVERSE);
}

/* ---- pops ---------------------------------------------------------------- */

static void zpop_generic(client *c, bool max) {
    if (c->argc > 3) {
        add_reply_error_syntax(c);
        return;
    }
    long count = -1;
    if (c->argc == 3 &&
        !get_positive_long_or_reply(c, c->argv[2], &count, NULL))
        return;
    bool nested = c->resp > 2 && count != -1;
    robj *o = lookup_key_write(c->db, c->argv[1]);
    if (check_type(c, o, OBJ_ZSET))
        return;
    if (o == NULL || count == 0) {
        add_reply_array_len(c, 0);
        return;
    }
    if (count == -1)
        count = 1;
    zset *z = zset_of(o);
    long n = count < (long)zset_len(z) ? count : (long)zset_len(z);
    add_reply_array_len(c, nested ? n : 2 * n);
    while (n-- > 0) {
        zsl_node *x = max ? z->zsl->tail : z->zsl->header->level[0].forward;
        if (nested)
            add_reply_array_len(c, 2);
        add_reply_bulk(c, x->ele->data, x->ele->len);
        add_reply_double(c, x->score);
        /* zset_del frees the node: its element is copied first. */
        relem *ele = relem_new(x->ele->data, x->ele->len);
        zset_del(z, ele->data, ele->len);
        relem_free(ele);
        server.dirty++;
    }
    signal_modified_key(c, c->db, c->argv[1]);
    if (zset_len(z) == 0)
        db_delete(c->db, c->argv[1]);
}

static void zpopmin_command(client *c) { zpop_generic(c, false); }
static void zpopmax_command(client *c) { zpop_generic(c, true); }

static void zscan_command(client *c) {
    uint64_t cursor;
    if (!scan_parse_cursor(c, c->argv[2], &cursor))
        return;
    bool wrong;
    robj *o = lookup_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    scan_dict_command(c, o ? zset_of(o)->dict : NULL, cursor, SCAN_ZSET);
}

#define W  (CMD_WRITE)
#define WD (CMD_WRITE | CMD_DENYOOM)
#define R  (CMD_READONLY)
#define F  (CMD_FAST)

const redis_command zset_commands[] = {
    {"zadd", zadd_command, -4, WD | F, 1, 1, 1, "sorted_set",
     "Adds one or more members to a sorted set, or updates their scores. "
     "Creates the key if it doesn't exist.",
     "1.2.0", NULL, NULL},
    {"zincrby", zincrby_command, 4, WD | F, 1, 1, 1, "sorted_set",
     "Increments the score of a member in a sorted set.", "1.2.0", NULL, NULL},
    {"zrem", zrem_command, -3, W | F, 1, 1, 1, "sorted_set",
     "Removes one or more members from a sorted set. Deletes the sorted set "
     "if all members were removed.",
     "1.2.0", NULL, NULL},
    {"zscore", zscore_command, 3, R | F, 1, 1, 1, "sorted_set",
     "Returns the score of a member in a sorted set.", "1.2.0", NULL, NULL},
    {"zmscore", zmscore_command, -3, R | F, 1, 1, 1, "sorted_set",
     "Returns the score of one or more members in a sorted set.", "6.2.0", NULL,
     NULL},
    {"zcard", zcard_command, 2, R | F, 1, 1, 1, "sorted_set",
     "Returns the number of members in a sorted set.", "1.2.0", NULL, NULL},
    {"zcount", zcount_command, 4, R | F, 1, 1, 1, "sorted_set",
     "Returns the count of members in a sorted set that have scores within a "
     "range.",
     "2.0.0", NULL, NULL},
    {"zlexcount", zlexcount_command, 4, R | F, 1, 1, 1, "sorted_set",
     "Returns the number of members in a sorted set within a lexicographical "
     "range.",
     "2.8.9", NULL, NULL},
    {"zrank", zrank_command, 3, R | F, 1, 1, 1, "sorted_set",
     "Returns the index of a member in a sorted set ordered by ascending "
     "scores.",
     "2.0.0", NULL, NULL},
    {"zrevrank", zrevrank_command, 3, R | F, 1, 1, 1, "sorted_set",
     "Returns the index of a member in a sorted set ordered by descending "
     "scores.",
     "2.0.0", NULL, NULL},
    {"zrange", zrange_command, -4, R, 1, 1, 1, "sorted_set",
     "Returns members in a sorted set within a range of indexes.", "1.2.0",
     NULL, NULL},
    {"zrevrange", zrevrange_command, -4, R, 1, 1, 1, "sorted_set",
     "Returns members in a sorted set within a range of indexes in reverse "
     "order.",
     "1.2.0", NULL, NULL},
    {"zrangebyscore", zrangebyscore_command, -4, R, 1, 1, 1, "sorted_set",
     "Returns members in a sorted set within a range of scores.", "1.0.5", NULL,
     NULL},
    {"zrevrangebyscore", zrevrangebyscore_command, -4, R, 1, 1, 1, "sorted_set",
     "Returns members in a sorted set within a range of scores in reverse "
     "order.",
     "2.2.0", NULL, NULL},
    {"zrangebylex", zrangebylex_command, -4, R, 1, 1, 1, "sorted_set",
     "Returns members in a sorted set within a lexicographical range.", "2.8.9",
     NULL, NULL},
    {"zrevrangebylex", zrevrangebylex_command, -4, R, 1, 1, 1, "sorted_set",
     "Returns members in a sorted set within a lexicographical range in "
     "reverse order.",
     "2.8.9", NULL, NULL},
    {"zpopmin", zpopmin_command, -2, W | F, 1, 1, 1, "sorted_set",
     "Returns the lowest-scoring members from a sorted set after removing "
     "them. Deletes the sorted set if the last member was popped.",
     "5.0.0", NULL, NULL},
    {"zpopmax", zpopmax_command, -2, W | F, 1, 1, 1, "sorted_set",
     "Returns the highest-scoring members from a sorted set after removing "
     "them. Deletes the sorted set if the last member was popped.",
     "5.0.0", NULL, NULL},
    {"zscan", zscan_command, -3, R, 1, 1, 1, "sorted_set",
     "Iterates over members and scores of a sorted set.", "2.8.0", NULL, NULL},
    {0},
};
