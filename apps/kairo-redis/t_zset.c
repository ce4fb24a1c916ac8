/*
 * t_zset.c: Sorted-set values and their commands (owned by redis-types; a stub from
 * the skeleton).
 */
#include "server.h"

static void zset_free(robj *o) { (void)o; }

const robj_type_ops zset_type_ops = {"zset", zset_free, NULL, NULL};

const redis_command zset_commands[] = {
    {0},
};
