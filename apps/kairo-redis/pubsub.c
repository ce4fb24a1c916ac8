/*
 * pubsub.c: SUBSCRIBE, PSUBSCRIBE, PUBLISH, PUBSUB (owned by redis-ops; a
 * stub from the skeleton).
 */
#include "server.h"

/* The client goes away: unsubscribe it from everything. */
void pubsub_free_client(client *c) { (void)c; }

const redis_command pubsub_commands[] = {
    {0},
};
