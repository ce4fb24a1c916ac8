/*
 * t_list.h: what the list family shares between its files (t_list.c, the
 * commands; blocking.c, the wait queues of BLPOP/BRPOP/BLMOVE).
 */
#ifndef KAIRO_REDIS_T_LIST_H
#define KAIRO_REDIS_T_LIST_H

#include "rlist.h"
#include "server.h"

/* The list encoding number of OBJ_LIST values: the chunked deque. */
#define OBJ_ENC_RLIST 10

static inline rlist *list_of(const robj *o) { return (rlist *)o->ptr; }

/* A new empty list value. */
robj *list_value_new(void);
/* Pushes value onto the list under dstkey in db (creating the key), for
 * LMOVE and a served BLMOVE. Replies the value to c. */
void list_move_push(client *c, redis_db *db, rslice dstkey, robj *dst,
                    relem *value, int where);
/* After elements were removed from key's list o: deletes the key if the
 * list is empty, signals the modification, counts a write. */
void list_elements_removed(client *c, redis_db *db, rslice key, robj *o);

/* blocking.c: park c on keys[0..n) (BLPOP, BRPOP: dst NULL; BLMOVE: dst
 * and whereto). where is the side to pop from. */
void block_for_list_keys(client *c, const rslice *keys, int n, int where,
                         const rslice *dst, int whereto, int64_t timeout_ms,
                         bool brpoplpush);

#endif
