/*
 * multi.c: MULTI, EXEC, DISCARD, WATCH, UNWATCH (owned by redis-ops; a stub
 * from the skeleton).
 */
#include "server.h"

void multi_free_client(client *c) { (void)c; }

/* process_command calls it for a client in MULTI: copy c->argv (it points
 * into the read buffer), queue it, reply +QUEUED. */
void queue_multi_command(client *c) { add_reply_status(c, "QUEUED"); }

/* A command was rejected while queueing: EXEC must fail (EXECABORT). */
void flag_transaction(client *c) {
    if (c->flags & CLIENT_MULTI)
        c->flags |= CLIENT_DIRTY_EXEC;
}

void touch_watched_key(redis_db *db, rslice key) {
    (void)db;
    (void)key;
}

void touch_all_watched_keys_in_db(int dbid) { (void)dbid; }

const redis_command multi_commands[] = {
    {0},
};
