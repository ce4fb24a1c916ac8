/*
 * t_list.c: List values and their commands (owned by redis-types; a stub from
 * the skeleton).
 */
#include "server.h"

static void list_free(robj *o) { (void)o; }

const robj_type_ops list_type_ops = {"list", list_free, NULL, NULL};

/* Blocked pops (BLPOP, BRPOP, BLMOVE): a key was written; serve the
 * clients waiting on it, in FIFO order. */
void signal_key_as_ready(redis_db *db, rslice key) {
    (void)db;
    (void)key;
}

/* The client goes away: leave every wait queue. */
void blocking_free_client(client *c) { (void)c; }

const redis_command list_commands[] = {
    {0},
};
