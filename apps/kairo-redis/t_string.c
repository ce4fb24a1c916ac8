/*
 * t_string.c: string values and their commands.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

static void string_free(robj *o) {
    if (o->encoding == OBJ_ENC_RAW)
        zfree(o->ptr);
}

static size_t string_mem(const robj *o) {
    return sizeof(*o) + (o->encoding == OBJ_ENC_RAW ? o->cap : 0);
}

static void string_rewrite(const robj *o, rslice key, rewrite_emit_fn emit,
                           void *ctx) {
    char buf[24];
    char name[] = "SET";
    rslice argv[3] = {{name, 3}, key, robj_string_bytes(o, buf)};
    emit(ctx, 3, argv);
}

const robj_type_ops string_type_ops = {"string", string_free, string_mem,
                                       string_rewrite};

static void get_command(client *c) {
    robj *o = lookup_key_read_or_reply_null(c, c->argv[1]);
    if (o == NULL)
        return;
    if (check_type(c, o, OBJ_STRING))
        return;
    add_reply_bulk_obj(c, o);
}

static void set_command(client *c) {
    set_key(c, c->db, c->argv[1],
            robj_new_string(c->argv[2].ptr, c->argv[2].len), false);
    server.dirty++;
    add_reply_ok(c);
}

const redis_command string_commands[] = {
    {"get", get_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string",
     "Returns the string value of a key.", "1.0.0", NULL, NULL},
    {"set", set_command, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string",
     "Sets the string value of a key, ignoring its type. The key is created "
     "if it doesn't exist.",
     "1.0.0", NULL, NULL},
    {0},
};
