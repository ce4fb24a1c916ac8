/*
 * blocking.c: BLPOP, BRPOP, BLMOVE and BRPOPLPUSH waiting on empty keys
 * (Redis's blocked.c for lists, written anew).
 *
 * A client that blocks gets a place at the tail of one FIFO queue per key
 * (per database: blocking_keys[db], key -> bqueue), and the connection
 * stops running its commands (block_client, networking.c). When a key with
 * a queue is created (db_add calls signal_key_as_ready), the key is added
 * to the ready list once; after the command that created it has finished
 * (and after EXEC, for a push inside MULTI) process_command calls
 * handle_clients_blocked_on_keys, which pops an element for each queued
 * client in the order they blocked while the list has elements, writes the
 * reply into that client's output, propagates the pop as LPOP/RPOP/LMOVE,
 * and unblocks it (which wakes its task). A served BLMOVE may create its
 * destination key, which becomes ready in turn: the loop runs until no key
 * is ready.
 *
 * Everything here runs with server.lock held (server.h). A client that
 * times out (the connection task calls list_block_timeout) or disconnects
 * (blocking_free_client) leaves every queue it was in.
 */
#include <string.h>

#include "t_list.h"

typedef struct bqueue bqueue;

/* One client's place in one key's queue. */
typedef struct bwait {
    struct bwait *prev, *next;
    bqueue *q;
    client *c;
} bwait;

/* The clients blocked on one key, oldest first. */
struct bqueue {
    bwait *head, *tail;
    size_t keylen;
    char key[]; /* the key (its dict entry's copy is not reachable from a
                   place), NUL-terminated */
};

struct blocking_state {
    redis_db *db;
    int nkeys;
    bwait *waits; /* nkeys places, one per distinct key */
    int where;    /* the side to pop from */
    bool has_dst; /* BLMOVE/BRPOPLPUSH */
    bool brpoplpush;
    int whereto;
    char *dst; /* the destination key (zmalloc'd) */
    size_t dstlen;
};

/* A key whose queue may now be served. */
typedef struct ready_key {
    struct ready_key *next;
    redis_db *db;
    size_t len;
    char key[];
} ready_key;

static dict *blocking_keys[REDIS_DBNUM]; /* key -> bqueue* */
static dict *ready_set[REDIS_DBNUM];     /* keys now in the ready list */
static ready_key *ready_head, **ready_tail = &ready_head;
static size_t nblocked;

size_t blocking_clients_count(void) { return nblocked; }

static dict *db_dict(dict **table, redis_db *db) {
    if (table[db->id] == NULL)
        table[db->id] = dict_new();
    return table[db->id];
}

/* Leaves every queue; frees the state. */
static void blocking_remove(client *c) {
    blocking_state *b = c->bstate;
    if (b == NULL)
        return;
    dict *d = blocking_keys[b->db->id];
    for (int i = 0; i < b->nkeys; i++) {
        bwait *w = &b->waits[i];
        bqueue *q = w->q;
        if (w->prev != NULL)
            w->prev->next = w->next;
        else
            q->head = w->next;
        if (w->next != NULL)
            w->next->prev = w->prev;
        else
            q->tail = w->prev;
        if (q->head == NULL) {
            dict_delete(d, q->key, q->keylen, NULL);
            zfree(q);
        }
    }
    zfree(b->waits);
    zfree(b->dst);
    zfree(b);
    c->bstate = NULL;
    nblocked--;
}

static void list_block_timeout(client *c) {
    blocking_remove(c);
    add_reply_null_array(c);
    unblock_client(c);
}

void blocking_free_client(client *c) { blocking_remove(c); }

void block_for_list_keys(client *c, const rslice *keys, int n, int where,
                         const rslice *dst, int whereto, int64_t timeout_ms,
                         bool brpoplpush) {
    blocking_state *b = zmalloc(sizeof(*b));
    b->db = c->db;
    b->nkeys = 0;
    b->waits = zmalloc((size_t)n * sizeof(bwait));
    b->where = where;
    b->has_dst = dst != NULL;
    b->brpoplpush = brpoplpush;
    b->whereto = whereto;
    b->dst = dst != NULL ? zstrndup(dst->ptr, dst->len) : NULL;
    b->dstlen = dst != NULL ? dst->len : 0;
    dict *d = db_dict(blocking_keys, c->db);
    for (int i = 0; i < n; i++) {
        bool dup = false;
        for (int j = 0; j < i && !dup; j++)
            dup = rslice_eq(keys[i], keys[j]);
        if (dup)
            continue;
        bool existed;
        dict_entry *e = dict_add_or_find(d, keys[i].ptr, keys[i].len, &existed);
        if (!existed) {
            bqueue *q = zmalloc(sizeof(*q) + keys[i].len + 1);
            q->head = q->tail = NULL;
            q->keylen = keys[i].len;
            memcpy(q->key, keys[i].ptr, keys[i].len);
            q->key[keys[i].len] = '\0';
            e->val.ptr = q;
        }
        bqueue *q = e->val.ptr;
        bwait *w = &b->waits[b->nkeys++];
        w->q = q;
        w->c = c;
        w->next = NULL;
        w->prev = q->tail;
        if (q->tail != NULL)
            q->tail->next = w;
        else
            q->head = w;
        q->tail = w;
    }
    c->bstate = b;
    nblocked++;
    block_client(c, timeout_ms, list_block_timeout);
}

void signal_key_as_ready(redis_db *db, rslice key) {
    dict *d = blocking_keys[db->id];
    if (d == NULL || dict_find(d, key.ptr, key.len) == NULL)
        return;
    bool existed;
    dict_add_or_find(db_dict(ready_set, db), key.ptr, key.len, &existed);
    if (existed)
        return;
    ready_key *r = zmalloc(sizeof(*r) + key.len + 1);
    r->next = NULL;
    r->db = db;
    r->len = key.len;
    memcpy(r->key, key.ptr, key.len);
    r->key[key.len] = '\0';
    *ready_tail = r;
    ready_tail = &r->next;
}

/* Pops for receiver r from the list o under key, as its command would
 * have done had the element been there, and unblocks it. */
static void serve_client(client *r, redis_db *db, rslice key, robj *o) {
    blocking_state *b = r->bstate;
    char from[6], to[6];
    strcpy(from, b->where == RLIST_HEAD ? "LEFT" : "RIGHT");
    strcpy(to, b->whereto == RLIST_HEAD ? "LEFT" : "RIGHT");
    if (!b->has_dst) {
        relem *e = rlist_pop(list_of(o), b->where);
        add_reply_array_len(r, 2);
        add_reply_bulk(r, key.ptr, key.len);
        add_reply_bulk(r, e->data, e->len);
        relem_free(e);
        char name[5];
        memcpy(name, b->where == RLIST_HEAD ? "LPOP" : "RPOP", 5);
        rslice argv[2] = {rslice_of(name, 4), key};
        if (!server.loading)
            aof_feed_command(db->id, 2, argv);
    } else {
        rslice dstkey = rslice_of(b->dst, b->dstlen);
        robj *dst = lookup_key_write(db, dstkey);
        if (dst != NULL && dst->type != OBJ_LIST) {
            add_reply_wrongtype(r);
        } else {
            relem *e = rlist_pop(list_of(o), b->where);
            list_move_push(r, db, dstkey, dst, e, b->whereto);
            char lm[] = "LMOVE", rl[] = "RPOPLPUSH";
            rslice argv[5] = {b->brpoplpush ? rslice_of(rl, 9)
                                            : rslice_of(lm, 5),
                              key, dstkey, rslice_of(from, strlen(from)),
                              rslice_of(to, strlen(to))};
            if (!server.loading)
                aof_feed_command(db->id, b->brpoplpush ? 3 : 5, argv);
        }
    }
    server.dirty++;
    if (rlist_len(list_of(o)) == 0)
        db_delete(db, key);
    blocking_remove(r);
    unblock_client(r);
}

void handle_clients_blocked_on_keys(void) {
    while (ready_head != NULL) {
        /* Take the list: serving a BLMOVE may make more keys ready. */
        ready_key *l = ready_head;
        ready_head = NULL;
        ready_tail = &ready_head;
        while (l != NULL) {
            ready_key *next = l->next;
            redis_db *db = l->db;
            rslice key = rslice_of(l->key, l->len);
            dict_delete(ready_set[db->id], key.ptr, key.len, NULL);
            for (;;) {
                dict *d = blocking_keys[db->id];
                dict_entry *e =
                    d != NULL ? dict_find(d, key.ptr, key.len) : NULL;
                if (e == NULL)
                    break;
                robj *o = lookup_key_write(db, key);
                if (o == NULL || o->type != OBJ_LIST ||
                    rlist_len(list_of(o)) == 0)
                    break;
                bqueue *q = e->val.ptr;
                serve_client(q->head->c, db, key, o);
            }
            zfree(l);
            l = next;
        }
    }
}
