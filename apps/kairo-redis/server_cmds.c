/*
 * server_cmds.c: connection and server commands: PING ECHO QUIT SELECT
 * AUTH HELLO DBSIZE TIME FLUSHDB FLUSHALL SHUTDOWN CONFIG, and the
 * table that also names CLIENT, COMMAND and INFO (server_info.c).
 */
#include <stdio.h>
#include <string.h>

#include "server.h"

static void ping_command(client *c) {
    if (c->argc > 2) {
        add_reply_error_arity(c);
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) {
        add_reply_array_len(c, 2);
        add_reply_bulk(c, "pong", 4);
        if (c->argc == 1)
            add_reply_bulk(c, "", 0);
        else
            add_reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
        return;
    }
    if (c->argc == 1)
        add_reply_raw(c, "+PONG\r\n", 7);
    else
        add_reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
}

static void echo_command(client *c) {
    add_reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
}

static void quit_command(client *c) {
    add_reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void select_command(client *c) {
    long id;
    if (!get_long_or_reply(c, c->argv[1], &id, NULL))
        return;
    if (id < 0 || id >= REDIS_DBNUM) {
        add_reply_error(c, "DB index is out of range");
        return;
    }
    c->db = &server.db[id];
    add_reply_ok(c);
}

static bool check_password(rslice pass) {
    return server.requirepass != NULL &&
           strlen(server.requirepass) == pass.len &&
           memcmp(server.requirepass, pass.ptr, pass.len) == 0;
}

static void auth_command(client *c) {
    if (c->argc > 3) {
        add_reply_error_syntax(c);
        return;
    }
    rslice pass = c->argv[c->argc - 1];
    if (c->argc == 3 && !rslice_eqi(c->argv[1], "default")) {
        add_reply_error(c, "-WRONGPASS invalid username-password pair or "
                           "user is disabled.");
        return;
    }
    if (server.requirepass == NULL) {
        if (c->argc == 2) {
            add_reply_error(c, "AUTH <password> called without any password "
                               "configured for the default user. Are you "
                               "sure your configuration is correct?");
            return;
        }
        /* AUTH default <anything> with no password: nopass user. */
        c->flags |= CLIENT_AUTHENTICATED;
        add_reply_ok(c);
        return;
    }
    if (check_password(pass)) {
        c->flags |= CLIENT_AUTHENTICATED;
        add_reply_ok(c);
    } else {
        add_reply_error(c, "-WRONGPASS invalid username-password pair or "
                           "user is disabled.");
    }
}

static void hello_command(client *c) {
    long ver = 0;
    int next = 1;
    if (c->argc >= 2) {
        int64_t v;
        if (!string_to_ll(c->argv[1].ptr, c->argv[1].len, &v)) {
            add_reply_error(c, "Protocol version is not an integer or out "
                               "of range");
            return;
        }
        ver = (long)v;
        next = 2;
        if (ver < 2 || ver > 3) {
            add_reply_error(c, "-NOPROTO unsupported protocol version");
            return;
        }
    }
    bool authed = false;
    const char *name = NULL;
    size_t namelen = 0;
    for (int j = next; j < c->argc; j++) {
        int more = c->argc - j - 1;
        if (rslice_eqi(c->argv[j], "AUTH") && more >= 2) {
            rslice user = c->argv[j + 1], pass = c->argv[j + 2];
            j += 2;
            if (!rslice_eqi(user, "default") ||
                (server.requirepass != NULL && !check_password(pass))) {
                add_reply_error(c, "-WRONGPASS invalid username-password "
                                   "pair or user is disabled.");
                return;
            }
            authed = true;
        } else if (rslice_eqi(c->argv[j], "SETNAME") && more >= 1) {
            name = c->argv[j + 1].ptr;
            namelen = c->argv[j + 1].len;
            for (size_t k = 0; k < namelen; k++)
                if (name[k] < '!' || name[k] > '~') {
                    add_reply_error(c, "Client names cannot contain spaces, "
                                       "newlines or special characters.");
                    return;
                }
            j++;
        } else {
            add_reply_error_fmt(c, "Syntax error in HELLO option '%.128s'",
                                c->argv[j].ptr);
            return;
        }
    }
    if (authed)
        c->flags |= CLIENT_AUTHENTICATED;
    if (server.requirepass != NULL && !(c->flags & CLIENT_AUTHENTICATED)) {
        add_reply_error(c, "-NOAUTH HELLO must be called with the client "
                           "already authenticated, otherwise the HELLO "
                           "AUTH <user> <pass> option can be used to "
                           "authenticate the client and select the RESP "
                           "protocol version at the same time");
        return;
    }
    if (name != NULL) {
        zfree(c->name);
        c->name = namelen ? zstrndup(name, namelen) : NULL;
    }
    if (ver != 0)
        c->resp = (int)ver;
    add_reply_map_len(c, 7);
    add_reply_bulk_cstr(c, "server");
    add_reply_bulk_cstr(c, "redis");
    add_reply_bulk_cstr(c, "version");
    add_reply_bulk_cstr(c, KAIRO_REDIS_VERSION);
    add_reply_bulk_cstr(c, "proto");
    add_reply_long_long(c, c->resp);
    add_reply_bulk_cstr(c, "id");
    add_reply_long_long(c, (int64_t)c->id);
    add_reply_bulk_cstr(c, "mode");
    add_reply_bulk_cstr(c, "standalone");
    add_reply_bulk_cstr(c, "role");
    add_reply_bulk_cstr(c, "master");
    add_reply_bulk_cstr(c, "modules");
    add_reply_array_len(c, 0);
}

static void dbsize_command(client *c) {
    add_reply_long_long(c, (int64_t)db_size(c->db));
}

static void time_command(client *c) {
    int64_t us = ustime();
    add_reply_array_len(c, 2);
    add_reply_bulk_long_long(c, us / 1000000);
    add_reply_bulk_long_long(c, us % 1000000);
}

/* FLUSHDB/FLUSHALL [ASYNC|SYNC]: both run synchronously here. */
static bool flush_flags_ok(client *c) {
    if (c->argc > 2) {
        add_reply_error_syntax(c);
        return false;
    }
    if (c->argc == 2 && !rslice_eqi(c->argv[1], "sync") &&
        !rslice_eqi(c->argv[1], "async")) {
        add_reply_error_syntax(c);
        return false;
    }
    return true;
}

static void flushdb_command(client *c) {
    if (!flush_flags_ok(c))
        return;
    signal_flushed_db(c->db->id);
    server.dirty += db_empty(c->db->id) + 1;
    add_reply_ok(c);
}

static void flushall_command(client *c) {
    if (!flush_flags_ok(c))
        return;
    signal_flushed_db(-1);
    server.dirty += db_empty(-1) + 1;
    add_reply_ok(c);
}

static void shutdown_command(client *c) {
    for (int i = 1; i < c->argc; i++) {
        if (!rslice_eqi(c->argv[i], "nosave") &&
            !rslice_eqi(c->argv[i], "save") && !rslice_eqi(c->argv[i], "now") &&
            !rslice_eqi(c->argv[i], "force") &&
            !rslice_eqi(c->argv[i], "abort")) {
            add_reply_error_syntax(c);
            return;
        }
    }
    server_request_shutdown();
    /* Redis closes the connection without a reply. */
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

const redis_command server_commands[] = {
    {"ping", ping_command, -1, CMD_FAST | CMD_ALLOW_PUBSUB | CMD_NO_PROPAGATE,
     0, 0, 0, "connection", "Returns the server's liveliness response.",
     "1.0.0", NULL, NULL},
    {"echo", echo_command, 2, CMD_FAST, 0, 0, 0, "connection",
     "Returns the given string.", "1.0.0", NULL, NULL},
    {"quit", quit_command, -1,
     CMD_ALLOW_PUBSUB | CMD_NO_AUTH | CMD_FAST | CMD_NOSCRIPT, 0, 0, 0,
     "connection", "Closes the connection.", "1.0.0", NULL, NULL},
    {"select", select_command, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "connection", "Changes the selected database.", "1.0.0", NULL, NULL},
    {"auth", auth_command, -2,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH, 0, 0, 0,
     "connection", "Authenticates the connection.", "1.0.0", NULL, NULL},
    {"hello", hello_command, -1,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NO_AUTH |
         CMD_ALLOW_PUBSUB,
     0, 0, 0, "connection", "Handshakes with the Redis server.", "6.0.0", NULL,
     NULL},
    {"dbsize", dbsize_command, 1, CMD_READONLY | CMD_FAST, 0, 0, 0, "server",
     "Returns the number of keys in the database.", "1.0.0", NULL, NULL},
    {"time", time_command, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "server", "Returns the server time.", "2.6.0", NULL, NULL},
    {"flushdb", flushdb_command, -1, CMD_WRITE, 0, 0, 0, "server",
     "Remove all keys from the current database.", "1.0.0", NULL, NULL},
    {"flushall", flushall_command, -1, CMD_WRITE, 0, 0, 0, "server",
     "Removes all keys from all databases.", "1.0.0", NULL, NULL},
    {"shutdown", shutdown_command, -1,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI |
         CMD_ALLOW_BUSY,
     0, 0, 0, "server",
     "Synchronously saves the database(s) to disk and shuts down the Redis "
     "server.",
     "1.0.0", NULL, NULL},
    {"config", config_command, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING, 0, 0,
     0, "server", "A container for server configuration commands.", "2.0.0",
     config_subcommands, NULL},
    {"client", client_command, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING, 0, 0,
     0, "connection", "A container for client connection commands.", "2.4.0",
     client_subcommands, NULL},
    {"command", command_command, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Returns detailed information about all commands.", "2.8.13",
     command_subcommands, NULL},
    {"info", info_command, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "server",
     "Returns information and statistics about the server.", "1.0.0", NULL,
     NULL},
    {0},
};
