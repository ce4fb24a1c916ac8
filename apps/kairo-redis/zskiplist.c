/* zskiplist.c: the ranked skiplist of zskiplist.h. */
#include "zskiplist.h"

#include "ds_alloc.h"

#include <stdlib.h>
#include <string.h>

int zsl_cmp_bytes(const char *a, size_t an, const char *b, size_t bn) {
    size_t m = an < bn ? an : bn;
    int c = m > 0 ? memcmp(a, b, m) : 0;
    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

static zsl_node *node_new(int level, double score, relem *ele) {
    zsl_node *n =
        zmalloc(sizeof(*n) + (size_t)level * sizeof(struct zsl_level));
    if (n == NULL)
        return NULL;
    n->score = score;
    n->ele = ele;
    n->backward = NULL;
    return n;
}

zsl *zsl_new(void) {
    zsl *z = zmalloc(sizeof(*z));
    if (z == NULL)
        return NULL;
    z->header = node_new(ZSL_MAXLEVEL, 0, NULL);
    if (z->header == NULL) {
        zfree(z);
        return NULL;
    }
    for (int i = 0; i < ZSL_MAXLEVEL; i++) {
        z->header->level[i].forward = NULL;
        z->header->level[i].span = 0;
    }
    z->tail = NULL;
    z->length = 0;
    z->level = 1;
    return z;
}

void zsl_free(zsl *z) {
    if (z == NULL)
        return;
    zsl_node *n = z->header->level[0].forward;
    while (n != NULL) {
        zsl_node *next = n->level[0].forward;
        relem_free(n->ele);
        zfree(n);
        n = next;
    }
    zfree(z->header);
    zfree(z);
}

/* A geometric level: each further level with probability 1/4. The PRNG is
 * a per-thread xorshift, seeded from the address of a local: the levels
 * need no quality, only independence from the data. */
static int random_level(void) {
    static _Thread_local unsigned long long s;
    if (s == 0)
        s = (unsigned long long)(size_t)&s ^ 0x9E3779B97F4A7C15ULL;
    int level = 1;
    for (;;) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if ((s & 0xFFFF) >= (unsigned long long)(ZSL_P * 0x10000) ||
            level >= ZSL_MAXLEVEL)
            break;
        level++;
    }
    return level;
}

/* Does x come before (score, p, n)? */
static bool before(const zsl_node *x, double score, const char *p, size_t n) {
    return x->score < score ||
           (x->score == score &&
            zsl_cmp_bytes(x->ele->data, x->ele->len, p, n) < 0);
}

/* Links a fresh node n of the given level into its place. */
static void link_node(zsl *z, zsl_node *n, int level) {
    double score = n->score;
    relem *ele = n->ele;
    zsl_node *update[ZSL_MAXLEVEL];
    size_t rank[ZSL_MAXLEVEL];
    zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        rank[i] = i == z->level - 1 ? 0 : rank[i + 1];
        while (x->level[i].forward != NULL &&
               before(x->level[i].forward, score, ele->data, ele->len)) {
            rank[i] += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    if (level > z->level) {
        for (int i = z->level; i < level; i++) {
            rank[i] = 0;
            update[i] = z->header;
            update[i]->level[i].span = z->length;
        }
        z->level = level;
    }
    for (int i = 0; i < level; i++) {
        n->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = n;
        /* update[i]'s old span is split around n at rank[0] + 1. */
        n->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < z->level; i++)
        update[i]->level[i].span++;
    n->backward = update[0] == z->header ? NULL : update[0];
    if (n->level[0].forward != NULL)
        n->level[0].forward->backward = n;
    else
        z->tail = n;
    z->length++;
}

zsl_node *zsl_insert(zsl *z, double score, relem *ele) {
    int level = random_level();
    zsl_node *n = node_new(level, score, ele);
    if (n == NULL)
        return NULL;
    link_node(z, n, level);
    return n;
}

static void delete_node(zsl *z, zsl_node *x, zsl_node **update) {
    for (int i = 0; i < z->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span--;
        }
    }
    if (x->level[0].forward != NULL)
        x->level[0].forward->backward = x->backward;
    else
        z->tail = x->backward;
    while (z->level > 1 && z->header->level[z->level - 1].forward == NULL)
        z->level--;
    z->length--;
}

/* Fills update[] for (score, p, n); returns the candidate node after it. */
static zsl_node *find_update(zsl *z, double score, const char *p, size_t n,
                             zsl_node **update) {
    zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL &&
               before(x->level[i].forward, score, p, n))
            x = x->level[i].forward;
        update[i] = x;
    }
    return x->level[0].forward;
}

relem *zsl_delete(zsl *z, double score, const char *p, size_t n) {
    zsl_node *update[ZSL_MAXLEVEL];
    zsl_node *x = find_update(z, score, p, n, update);
    if (x == NULL || x->score != score ||
        zsl_cmp_bytes(x->ele->data, x->ele->len, p, n) != 0)
        return NULL;
    delete_node(z, x, update);
    relem *e = x->ele;
    zfree(x);
    return e;
}

zsl_node *zsl_update_score(zsl *z, double cur, const relem *ele,
                           double newscore) {
    zsl_node *update[ZSL_MAXLEVEL];
    zsl_node *x = find_update(z, cur, ele->data, ele->len, update);
    /* The node stays where it is when its neighbours still bracket the new
     * score: no relinking, as Redis does. */
    if ((x->backward == NULL || x->backward->score < newscore) &&
        (x->level[0].forward == NULL ||
         x->level[0].forward->score > newscore)) {
        x->score = newscore;
        return x;
    }
    /* Make the new node first, so that failing leaves x in place. */
    int level = random_level();
    zsl_node *n = node_new(level, newscore, x->ele);
    if (n == NULL)
        return NULL;
    delete_node(z, x, update);
    zfree(x);
    link_node(z, n, level);
    return n;
}

size_t zsl_rank(const zsl *z, double score, const char *p, size_t n) {
    size_t rank = 0;
    const zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL &&
               (before(x->level[i].forward, score, p, n) ||
                (x->level[i].forward->score == score &&
                 zsl_cmp_bytes(x->level[i].forward->ele->data,
                               x->level[i].forward->ele->len, p, n) == 0))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x->ele != NULL && x->score == score &&
            zsl_cmp_bytes(x->ele->data, x->ele->len, p, n) == 0)
            return rank;
    }
    return 0;
}

zsl_node *zsl_by_rank(const zsl *z, size_t rank) {
    if (rank == 0 || rank > z->length)
        return NULL;
    size_t traversed = 0;
    zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL &&
               traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank)
            return x;
    }
    return NULL;
}

bool zsl_value_gte_min(double v, const zrange *r) {
    return r->minex ? v > r->min : v >= r->min;
}
bool zsl_value_lte_max(double v, const zrange *r) {
    return r->maxex ? v < r->max : v <= r->max;
}

static bool range_empty(const zrange *r) {
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

zsl_node *zsl_first_in_range(const zsl *z, const zrange *r, size_t *rank) {
    if (range_empty(r))
        return NULL;
    size_t rk = 0;
    zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL &&
               !zsl_value_gte_min(x->level[i].forward->score, r)) {
            rk += x->level[i].span;
            x = x->level[i].forward;
        }
    }
    x = x->level[0].forward;
    if (x == NULL || !zsl_value_lte_max(x->score, r))
        return NULL;
    if (rank != NULL)
        *rank = rk + 1;
    return x;
}

zsl_node *zsl_last_in_range(const zsl *z, const zrange *r, size_t *rank) {
    if (range_empty(r))
        return NULL;
    size_t rk = 0;
    zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL &&
               zsl_value_lte_max(x->level[i].forward->score, r)) {
            rk += x->level[i].span;
            x = x->level[i].forward;
        }
    }
    if (x == z->header || !zsl_value_gte_min(x->score, r))
        return NULL;
    if (rank != NULL)
        *rank = rk;
    return x;
}

static int lex_cmp(const relem *e, const zlexbound *b) {
    if (b->inf != 0)
        return -b->inf; /* e > -inf, e < +inf */
    return zsl_cmp_bytes(e->data, e->len, b->p, b->n);
}

bool zsl_lex_gte_min(const relem *e, const zlexrange *r) {
    int c = lex_cmp(e, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}
bool zsl_lex_lte_max(const relem *e, const zlexrange *r) {
    int c = lex_cmp(e, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

static bool lex_empty(const zlexrange *r) {
    const zlexbound *a = &r->min, *b = &r->max;
    if (a->inf > 0 || b->inf < 0)
        return true;
    if (a->inf < 0 || b->inf > 0)
        return false;
    int c = zsl_cmp_bytes(a->p, a->n, b->p, b->n);
    return c > 0 || (c == 0 && (a->ex || b->ex));
}

zsl_node *zsl_first_in_lex(const zsl *z, const zlexrange *r, size_t *rank) {
    if (lex_empty(r))
        return NULL;
    size_t rk = 0;
    zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL &&
               !zsl_lex_gte_min(x->level[i].forward->ele, r)) {
            rk += x->level[i].span;
            x = x->level[i].forward;
        }
    }
    x = x->level[0].forward;
    if (x == NULL || !zsl_lex_lte_max(x->ele, r))
        return NULL;
    if (rank != NULL)
        *rank = rk + 1;
    return x;
}

zsl_node *zsl_last_in_lex(const zsl *z, const zlexrange *r, size_t *rank) {
    if (lex_empty(r))
        return NULL;
    size_t rk = 0;
    zsl_node *x = z->header;
    for (int i = z->level - 1; i >= 0; i--) {
        while (x->level[i].forward != NULL &&
               zsl_lex_lte_max(x->level[i].forward->ele, r)) {
            rk += x->level[i].span;
            x = x->level[i].forward;
        }
    }
    if (x == z->header || !zsl_lex_gte_min(x->ele, r))
        return NULL;
    if (rank != NULL)
        *rank = rk;
    return x;
}
