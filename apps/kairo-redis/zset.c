/* zset.c: the sorted set of zset.h. */
#include "zset.h"
#include "ds_alloc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

zset *zset_new(void) {
    zset *z = zmalloc(sizeof(*z));
    if (z == NULL)
        return NULL;
    z->zsl = zsl_new();
    if (z->zsl == NULL) {
        zfree(z);
        return NULL;
    }
    z->dict = dict_new();
    return z;
}

void zset_free(zset *z) {
    if (z == NULL)
        return;
    dict_free(z->dict, NULL);
    zsl_free(z->zsl);
    zfree(z);
}

int zset_add(zset *z, double score, const char *p, size_t n, int flags,
             int *out, double *newscore) {
    *out = 0;
    /* -0 is stored as 0: Redis's small (listpack) sorted sets keep scores
     * as text and "-0" reads back as the integer 0; it replies "0". */
    if (score == 0)
        score = 0.0;
    dict_entry *e = dict_find(z->dict, p, n);
    if (e != NULL) {
        zsl_node *x = e->val.ptr;
        double cur = x->score;
        if (flags & ZADD_NX) {
            *out |= ZADD_OUT_NOP;
            return 0;
        }
        if (flags & ZADD_INCR) {
            score += cur;
            if (isnan(score)) {
                *out |= ZADD_OUT_NAN;
                return 0;
            }
            if (score == 0)
                score = 0.0;
        }
        if (((flags & ZADD_LT) && score >= cur) ||
            ((flags & ZADD_GT) && score <= cur)) {
            *out |= ZADD_OUT_NOP;
            return 0;
        }
        if (newscore != NULL)
            *newscore = score;
        if (score != cur) {
            zsl_node *y = zsl_update_score(z->zsl, cur, x->ele, score);
            if (y == NULL)
                return -1;
            e->val.ptr = y;
            *out |= ZADD_OUT_UPDATED;
        }
        return 0;
    }
    if (flags & ZADD_XX) {
        *out |= ZADD_OUT_NOP;
        return 0;
    }
    bool existed;
    e = dict_add_or_find(z->dict, p, n, &existed);
    if (e == NULL)
        return -1;
    relem *ele = relem_new(p, n);
    zsl_node *x = ele != NULL ? zsl_insert(z->zsl, score, ele) : NULL;
    if (x == NULL) {
        zfree(ele);
        dict_delete(z->dict, p, n, NULL);
        return -1;
    }
    e->val.ptr = x;
    *out |= ZADD_OUT_ADDED;
    if (newscore != NULL)
        *newscore = score;
    return 0;
}

bool zset_del(zset *z, const char *p, size_t n) {
    dict_val v;
    if (!dict_delete(z->dict, p, n, &v))
        return false;
    zsl_node *x = v.ptr;
    relem_free(zsl_delete(z->zsl, x->score, p, n));
    return true;
}

bool zset_score(const zset *z, const char *p, size_t n, double *score) {
    dict_entry *e = dict_find(z->dict, p, n);
    if (e == NULL)
        return false;
    *score = ((zsl_node *)e->val.ptr)->score;
    return true;
}

bool zset_rank(const zset *z, const char *p, size_t n, bool reverse,
               size_t *rank) {
    double s;
    if (!zset_score(z, p, n, &s))
        return false;
    size_t r = zsl_rank(z->zsl, s, p, n);
    *rank = reverse ? z->zsl->length - r : r - 1;
    return true;
}

size_t zset_bytes(const zset *z) {
    /* Per member: a node (about two levels on average), a relem, a dict
     * entry and its bucket pointer, plus both copies of the bytes. */
    size_t per = sizeof(zsl_node) + 2 * sizeof(struct zsl_level) +
                 sizeof(relem) + sizeof(dict_entry) + sizeof(void *) + 2;
    return sizeof(*z) + dict_mem(z->dict) + zset_len(z) * per;
}

bool zset_parse_double(const char *p, size_t n, double *out) {
    char buf[128];
    if (n == 0 || n >= sizeof(buf) || isspace((unsigned char)p[0]))
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if ((size_t)(end - buf) != n ||
        (errno == ERANGE &&
         (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return false;
    *out = v;
    return true;
}

/* As Redis's zslParseRange: strtod over the whole item (leading spaces
 * and an empty number after '(' pass, as they do there), NaN refused. */
static bool parse_bound(const char *p, size_t n, double *v, bool *ex) {
    char buf[128];
    *ex = false;
    if (n > 0 && p[0] == '(') {
        *ex = true;
        p++;
        n--;
    }
    if (n >= sizeof(buf) || memchr(p, '\0', n) != NULL)
        return false;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    *v = strtod(buf, &end);
    return *end == '\0' && !isnan(*v);
}

bool zset_parse_range(const char *minp, size_t minn, const char *maxp,
                      size_t maxn, zrange *r) {
    return parse_bound(minp, minn, &r->min, &r->minex) &&
           parse_bound(maxp, maxn, &r->max, &r->maxex);
}

static bool parse_lex_item(const char *p, size_t n, zlexbound *b) {
    b->p = NULL;
    b->n = 0;
    b->inf = 0;
    b->ex = false;
    if (n == 0)
        return false;
    switch (p[0]) {
    case '+':
    case '-':
        if (n != 1)
            return false;
        b->inf = p[0] == '+' ? 1 : -1;
        return true;
    case '(':
    case '[':
        b->ex = p[0] == '(';
        b->p = p + 1;
        b->n = n - 1;
        return true;
    default:
        return false;
    }
}

bool zset_parse_lex(const char *minp, size_t minn, const char *maxp,
                    size_t maxn, zlexrange *r) {
    return parse_lex_item(minp, minn, &r->min) &&
           parse_lex_item(maxp, maxn, &r->max);
}

int zset_format_score(double d, char *buf, size_t cap) {
    if (isinf(d))
        return snprintf(buf, cap, "%s", d > 0 ? "inf" : "-inf");
    return snprintf(buf, cap, "%.17g", d);
}
