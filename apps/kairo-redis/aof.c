/*
 * aof.c: the append-only file (owned by redis-ops; a stub from the
 * skeleton).
 */
#include "server.h"

void aof_feed_command(int dbid, int argc, const rslice *argv) {
    (void)dbid;
    (void)argc;
    (void)argv;
}

int aof_init(kr_runtime *rt) {
    (void)rt;
    return 0;
}

void aof_shutdown(void) {}

void aof_config_changed(void) {}

void aof_cron(void) {}

const redis_command aof_commands[] = {
    {0},
};
