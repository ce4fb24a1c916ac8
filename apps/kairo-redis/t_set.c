/*
 * t_set.c: Set values and their commands (owned by redis-types; a stub from
 * the skeleton).
 */
#include "server.h"

static void set_free(robj *o) { (void)o; }

const robj_type_ops set_type_ops = {"set", set_free, NULL, NULL};

const redis_command set_commands[] = {
    {0},
};
