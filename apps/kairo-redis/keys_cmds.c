/*
 * keys_cmds.c: the generic key commands.
 */
#include <stdio.h>
#include <string.h>

#include "server.h"

static void del_command(client *c) {
    int64_t n = 0;
    for (int i = 1; i < c->argc; i++) {
        expire_if_needed(c->db, c->argv[i]);
        if (db_delete(c->db, c->argv[i])) {
            signal_modified_key(c, c->db, c->argv[i]);
            server.dirty++;
            n++;
        }
    }
    add_reply_long_long(c, n);
}

const redis_command key_commands[] = {
    {"del", del_command, -2, CMD_WRITE, 1, -1, 1, "generic",
     "Deletes one or more keys.", "1.0.0", NULL, NULL},
    {0},
};
