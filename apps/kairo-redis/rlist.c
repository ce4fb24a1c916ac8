/* rlist.c: the chunked deque of rlist.h. */
#include "rlist.h"

#include <string.h>

relem *relem_new(const char *p, size_t n) {
    relem *e = zmalloc(sizeof(*e) + n + 1);
    if (e == NULL)
        return NULL;
    e->len = n;
    if (n > 0)
        memcpy(e->data, p, n);
    e->data[n] = '\0';
    return e;
}

rlist *rlist_new(void) {
    rlist *l = zmalloc(sizeof(rlist));
    if (l != NULL)
        memset(l, 0, sizeof(*l));
    return l;
}

void rlist_free(rlist *l) {
    if (l == NULL)
        return;
    rlist_node *n = l->head;
    while (n != NULL) {
        rlist_node *next = n->next;
        for (uint32_t i = 0; i < n->count; i++)
            relem_free(n->items[n->start + i]);
        zfree(n);
        n = next;
    }
    zfree(l);
}

static rlist_node *node_new(uint32_t start) {
    rlist_node *n = zmalloc(sizeof(*n));
    if (n == NULL)
        return NULL;
    n->prev = n->next = NULL;
    n->start = start;
    n->count = 0;
    return n;
}

static void unlink_node(rlist *l, rlist_node *n) {
    if (n->prev != NULL)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next != NULL)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    zfree(n);
}

/* Links fresh node n after node at (NULL: as the new head). */
static void link_after(rlist *l, rlist_node *at, rlist_node *n) {
    n->prev = at;
    n->next = at != NULL ? at->next : l->head;
    if (n->next != NULL)
        n->next->prev = n;
    else
        l->tail = n;
    if (at != NULL)
        at->next = n;
    else
        l->head = n;
}

int rlist_push_elem(rlist *l, int where, relem *e) {
    if (where == RLIST_HEAD) {
        rlist_node *h = l->head;
        if (h != NULL && h->start == 0 && h->count < RLIST_NODE_CAP) {
            /* Recentre the window at the array's end. */
            uint32_t shift = RLIST_NODE_CAP - h->count;
            memmove(&h->items[shift], &h->items[0],
                    h->count * sizeof(h->items[0]));
            h->start = shift;
        }
        if (h == NULL || h->start == 0) {
            h = node_new(RLIST_NODE_CAP);
            if (h == NULL)
                return -1;
            link_after(l, NULL, h);
        }
        h->items[--h->start] = e;
        h->count++;
    } else {
        rlist_node *t = l->tail;
        if (t != NULL && t->start + t->count == RLIST_NODE_CAP &&
            t->count < RLIST_NODE_CAP) {
            memmove(&t->items[0], &t->items[t->start],
                    t->count * sizeof(t->items[0]));
            t->start = 0;
        }
        if (t == NULL || t->start + t->count == RLIST_NODE_CAP) {
            t = node_new(0);
            if (t == NULL)
                return -1;
            link_after(l, l->tail, t);
        }
        t->items[t->start + t->count++] = e;
    }
    l->len++;
    l->bytes += e->len;
    return 0;
}

int rlist_push(rlist *l, int where, const char *p, size_t n) {
    relem *e = relem_new(p, n);
    if (e == NULL)
        return -1;
    if (rlist_push_elem(l, where, e) < 0) {
        relem_free(e);
        return -1;
    }
    return 0;
}

relem *rlist_pop(rlist *l, int where) {
    rlist_node *n = where == RLIST_HEAD ? l->head : l->tail;
    if (n == NULL)
        return NULL;
    relem *e;
    if (where == RLIST_HEAD) {
        e = n->items[n->start++];
    } else {
        e = n->items[n->start + n->count - 1];
    }
    n->count--;
    if (n->count == 0)
        unlink_node(l, n);
    l->len--;
    l->bytes -= e->len;
    return e;
}

bool rlist_norm_index(const rlist *l, long long idx, size_t *out) {
    if (idx < 0)
        idx += (long long)l->len;
    if (idx < 0 || (unsigned long long)idx >= l->len)
        return false;
    *out = (size_t)idx;
    return true;
}

/* The node holding normalized index idx, and the offset in it. */
static rlist_node *locate(rlist *l, size_t idx, uint32_t *off) {
    if (idx < l->len / 2) {
        rlist_node *n = l->head;
        while (idx >= n->count) {
            idx -= n->count;
            n = n->next;
        }
        *off = (uint32_t)idx;
        return n;
    }
    size_t back = l->len - 1 - idx; /* elements after idx */
    rlist_node *n = l->tail;
    while (back >= n->count) {
        back -= n->count;
        n = n->prev;
    }
    *off = (uint32_t)(n->count - 1 - back);
    return n;
}

relem *rlist_at(rlist *l, size_t idx) {
    if (idx >= l->len)
        return NULL;
    uint32_t off;
    rlist_node *n = locate(l, idx, &off);
    return n->items[n->start + off];
}

int rlist_set(rlist *l, size_t idx, const char *p, size_t len) {
    if (idx >= l->len)
        return -1;
    relem *e = relem_new(p, len);
    if (e == NULL)
        return -1;
    uint32_t off;
    rlist_node *n = locate(l, idx, &off);
    relem **slot = &n->items[n->start + off];
    l->bytes = l->bytes - (*slot)->len + len;
    relem_free(*slot);
    *slot = e;
    return 0;
}

void rlist_iter_at(rlist *l, size_t idx, bool reverse, rlist_iter *it) {
    it->l = l;
    it->reverse = reverse;
    it->last = NULL;
    it->last_off = 0;
    if (idx >= l->len) {
        it->node = NULL;
        it->off = 0;
        return;
    }
    it->node = locate(l, idx, &it->off);
}

relem *rlist_iter_next(rlist_iter *it) {
    rlist_node *n = it->node;
    if (n == NULL)
        return NULL;
    relem *e = n->items[n->start + it->off];
    it->last = n;
    it->last_off = it->off;
    if (!it->reverse) {
        if (++it->off >= n->count) {
            it->node = n->next;
            it->off = 0;
        }
    } else if (it->off == 0) {
        it->node = n->prev;
        it->off = it->node != NULL ? it->node->count - 1 : 0;
    } else {
        it->off--;
    }
    return e;
}

void rlist_iter_del_prev(rlist_iter *it) {
    rlist *l = it->l;
    rlist_node *n = it->last;
    uint32_t po = it->last_off;
    relem **base = &n->items[n->start];
    l->len--;
    l->bytes -= base[po]->len;
    relem_free(base[po]);
    /* Only the elements above po move: a reverse iterator's next position
     * (below po, or in an earlier node) stays valid as it is. */
    memmove(&base[po], &base[po + 1], (n->count - po - 1) * sizeof(*base));
    n->count--;
    it->last = NULL;
    if (n->count == 0) {
        rlist_node *next = n->next;
        unlink_node(l, n);
        if (!it->reverse) {
            it->node = next;
            it->off = 0;
        }
        return;
    }
    if (!it->reverse) {
        if (po < n->count) {
            it->node = n;
            it->off = po;
        } else {
            it->node = n->next;
            it->off = 0;
        }
    }
}

int rlist_iter_insert(rlist_iter *it, bool after, const char *p, size_t len) {
    rlist *l = it->l;
    rlist_node *n = it->last;
    uint32_t pos = it->last_off + (after ? 1 : 0); /* 0..count */
    relem *e = relem_new(p, len);
    if (e == NULL)
        return -1;
    if (n->count == RLIST_NODE_CAP) {
        /* Split: the upper half moves to a new node after n. */
        rlist_node *m = node_new(0);
        if (m == NULL) {
            relem_free(e);
            return -1;
        }
        uint32_t keep = RLIST_NODE_CAP / 2;
        m->count = n->count - keep;
        memcpy(&m->items[0], &n->items[n->start + keep],
               m->count * sizeof(m->items[0]));
        n->count = keep;
        link_after(l, n, m);
        if (pos > keep) {
            pos -= keep;
            n = m;
        }
    }
    if (n->start + n->count < RLIST_NODE_CAP) {
        relem **base = &n->items[n->start];
        memmove(&base[pos + 1], &base[pos], (n->count - pos) * sizeof(*base));
        base[pos] = e;
    } else {
        /* The window touches the top: grow it downwards. */
        relem **base = &n->items[n->start - 1];
        memmove(&base[0], &base[1], pos * sizeof(*base));
        base[pos] = e;
        n->start--;
    }
    n->count++;
    l->len++;
    l->bytes += len;
    it->last = NULL;
    it->node = NULL;
    return 0;
}

void rlist_trim(rlist *l, size_t n, size_t m) {
    if (n + m >= l->len) {
        n = l->len;
        m = 0;
    }
    while (n-- > 0)
        relem_free(rlist_pop(l, RLIST_HEAD));
    while (m-- > 0)
        relem_free(rlist_pop(l, RLIST_TAIL));
}
