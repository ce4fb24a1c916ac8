/*
 * t_hash.c: Hash values and their commands (owned by redis-types; a stub from
 * the skeleton).
 */
#include "server.h"

static void hash_free(robj *o) { (void)o; }

const robj_type_ops hash_type_ops = {"hash", hash_free, NULL, NULL};

const redis_command hash_commands[] = {
    {0},
};
