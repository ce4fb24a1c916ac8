/*
 * commands.c: the command table (the families' tables concatenated),
 * command lookup, process_command (Redis's checks, in Redis's order) and
 * call() (stats, propagation to the AOF).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

/* The order only matters for COMMAND's listing. */
static const redis_command *const command_tables[] = {
    server_commands, key_commands, string_commands, list_commands,
    hash_commands,   set_commands, zset_commands,   pubsub_commands,
    multi_commands,  aof_commands,
};

/* Open addressing over lowercase names; a power of two well above the
 * number of commands so probes stay short. */
#define LOOKUP_SIZE 1024
static const redis_command *lookup_table[LOOKUP_SIZE];
static size_t ncommands;

static uint32_t name_hash(const char *p, size_t len) {
    uint32_t h = 2166136261u; /* FNV-1a over the lowercased name */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint32_t)tolower((unsigned char)p[i]);
        h *= 16777619u;
    }
    return h;
}

void commands_init(void) {
    for (size_t t = 0; t < sizeof(command_tables) / sizeof(*command_tables);
         t++) {
        for (const redis_command *c = command_tables[t]; c->name != NULL; c++) {
            size_t n = strlen(c->name);
            uint32_t h = name_hash(c->name, n) & (LOOKUP_SIZE - 1);
            while (lookup_table[h] != NULL) {
                if (strcmp(lookup_table[h]->name, c->name) == 0) {
                    server_log(LL_WARNING, "duplicate command '%s'", c->name);
                    break;
                }
                h = (h + 1) & (LOOKUP_SIZE - 1);
            }
            if (lookup_table[h] == NULL) {
                lookup_table[h] = c;
                ncommands++;
            }
        }
    }
}

const redis_command *lookup_command(rslice name) {
    if (name.len == 0 || name.len > 64)
        return NULL;
    uint32_t h = name_hash(name.ptr, name.len) & (LOOKUP_SIZE - 1);
    while (lookup_table[h] != NULL) {
        const redis_command *c = lookup_table[h];
        if (strlen(c->name) == name.len &&
            strncasecmp(c->name, name.ptr, name.len) == 0)
            return c;
        h = (h + 1) & (LOOKUP_SIZE - 1);
    }
    return NULL;
}

size_t command_count(void) { return ncommands; }

void command_table_foreach(void (*fn)(void *ctx, const redis_command *c),
                           void *ctx) {
    for (size_t t = 0; t < sizeof(command_tables) / sizeof(*command_tables);
         t++)
        for (const redis_command *c = command_tables[t]; c->name != NULL; c++)
            fn(ctx, c);
}

static bool arity_ok(const redis_command *cmd, int argc) {
    return (cmd->arity > 0 && cmd->arity == argc) ||
           (cmd->arity < 0 && argc >= -cmd->arity);
}

/* A rejected command inside MULTI fails the whole transaction. */
static void reject(client *c, const char *msg) {
    if (c->flags & CLIENT_MULTI)
        flag_transaction(c);
    /* A rejected EXEC ends the transaction (Redis's execCommandAbort),
     * and says EXECABORT even outside MULTI, as Redis does. */
    if (c->cmd != NULL && strcmp(c->cmd->name, "exec") == 0) {
        exec_abort(c, msg);
        return;
    }
    add_reply_error(c, msg);
}

static void reject_unknown(client *c) {
    char args[160];
    size_t n = 0;
    args[0] = '\0';
    for (int i = 1; i < c->argc && n < 128; i++) {
        int room = 128 - (int)n;
        int w = snprintf(args + n, sizeof(args) - n, "'%.*s' ",
                         (int)(c->argv[i].len < (size_t)room ? c->argv[i].len
                                                             : (size_t)room),
                         c->argv[i].ptr);
        if (w < 0)
            break;
        n += (size_t)w;
        if (n >= sizeof(args))
            n = sizeof(args) - 1;
    }
    char msg[512];
    snprintf(msg, sizeof(msg),
             "unknown command '%.128s', with args beginning with: %s",
             c->argv[0].ptr, args);
    reject(c, msg);
}

static bool is_container(const redis_command *cmd) {
    return cmd != NULL && cmd->subcommands != NULL;
}

static const redis_command *lookup_sub(const redis_command *parent,
                                       rslice name) {
    for (const redis_command *s = parent->subcommands; s->name != NULL; s++) {
        const char *bar = strchr(s->name, '|');
        const char *sub = bar ? bar + 1 : s->name;
        if (strlen(sub) == name.len &&
            strncasecmp(sub, name.ptr, name.len) == 0)
            return s;
    }
    return NULL;
}

void process_command(client *c) {
    const redis_command *cmd = lookup_command(c->argv[0]);
    if (is_container(cmd) && c->argc >= 2) {
        const redis_command *sub = lookup_sub(cmd, c->argv[1]);
        if (sub == NULL) {
            char up[64];
            size_t n = strlen(cmd->name);
            if (n > sizeof(up) - 1)
                n = sizeof(up) - 1;
            for (size_t i = 0; i < n; i++)
                up[i] = (char)toupper((unsigned char)cmd->name[i]);
            up[n] = '\0';
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "unknown subcommand '%.128s'. Try %s HELP.",
                     c->argv[1].ptr, up);
            c->cmd = NULL;
            reject(c, msg);
            return;
        }
        cmd = sub;
    }
    c->cmd = c->lastcmd = cmd;
    if (cmd == NULL) {
        reject_unknown(c);
        return;
    }
    if (!arity_ok(cmd, c->argc)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "wrong number of arguments for '%s' command",
                 cmd->name);
        reject(c, msg);
        return;
    }
    if (server.requirepass != NULL && !(c->flags & CLIENT_AUTHENTICATED) &&
        !(cmd->flags & CMD_NO_AUTH)) {
        reject(c, "-NOAUTH Authentication required.");
        return;
    }
    if ((c->flags & CLIENT_MULTI) && (cmd->flags & CMD_NO_MULTI)) {
        reject(c, "Command not allowed inside a transaction");
        return;
    }
    if (server.maxmemory != 0) {
        bool oom = false;
        if (zmalloc_used_memory() > server.maxmemory) {
            if (server.maxmemory_policy == MAXMEMORY_ALLKEYS_LRU)
                free_memory_if_needed_lru();
            oom = zmalloc_used_memory() > server.maxmemory;
        }
        bool deny = (cmd->flags & CMD_DENYOOM) != 0;
        if ((c->flags & CLIENT_MULTI) && strcmp(cmd->name, "exec") != 0 &&
            strcmp(cmd->name, "discard") != 0 &&
            strcmp(cmd->name, "quit") != 0 && strcmp(cmd->name, "reset") != 0)
            deny = true;
        if (oom && deny) {
            reject(c, "-OOM command not allowed when used memory > "
                      "'maxmemory'.");
            return;
        }
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2 &&
        !(cmd->flags & CMD_ALLOW_PUBSUB)) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "Can't execute '%s': only (P|S)SUBSCRIBE / "
                 "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
                 "context",
                 cmd->name);
        reject(c, msg);
        return;
    }
    if ((c->flags & CLIENT_MULTI) && strcmp(cmd->name, "exec") != 0 &&
        strcmp(cmd->name, "discard") != 0 && strcmp(cmd->name, "multi") != 0 &&
        strcmp(cmd->name, "watch") != 0 && strcmp(cmd->name, "quit") != 0 &&
        strcmp(cmd->name, "reset") != 0) {
        queue_multi_command(c);
        return;
    }
    call(c, cmd);
    handle_clients_blocked_on_keys();
}

void call(client *c, const redis_command *cmd) {
    uint64_t dirty = server.dirty;
    c->prevent_propagate = false;
    const redis_command *saved = c->cmd;
    c->cmd = cmd;
    cmd->proc(c);
    c->cmd = saved;
    server.stat_numcommands++;
    if ((cmd->flags & CMD_WRITE) && server.dirty != dirty &&
        !c->prevent_propagate && !(cmd->flags & CMD_NO_PROPAGATE) &&
        !server.loading)
        aof_feed_command(c->db->id, c->argc, c->argv);
}

void propagate_command(client *c, int argc, const rslice *argv) {
    c->prevent_propagate = true;
    if (!server.loading)
        aof_feed_command(c->db->id, argc, argv);
}
