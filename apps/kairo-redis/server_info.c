/*
 * server_info.c: CLIENT (ID GETNAME SETNAME LIST INFO KILL), COMMAND
 * (COUNT DOCS INFO LIST) and INFO.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server.h"

/* ------------------------------------------------------------------------ */
/* CLIENT                                                                   */
/* ------------------------------------------------------------------------ */

/* A growable text buffer for CLIENT LIST and INFO. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void text_printf(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void text_printf(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        t->cap = t->cap ? t->cap * 2 + (size_t)n : 1024 + (size_t)n;
        t->p = zrealloc(t->p, t->cap);
    }
}

static void client_info(text *t, const client *cl) {
    int64_t now = mstime();
    char flags[16];
    int f = 0;
    if (cl->flags & CLIENT_MULTI)
        flags[f++] = 'x';
    if (cl->flags & CLIENT_BLOCKED)
        flags[f++] = 'b';
    if (cl->flags & CLIENT_PUBSUB)
        flags[f++] = 'P';
    if (cl->flags & CLIENT_CLOSE_AFTER_REPLY)
        flags[f++] = 'c';
    if (cl->flags & CLIENT_CLOSE_ASAP)
        flags[f++] = 'A';
    if (f == 0)
        flags[f++] = 'N';
    flags[f] = '\0';
    text_printf(
        t,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld "
        "flags=%s db=%d sub=0 psub=0 ssub=0 multi=%d qbuf=%zu "
        "qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=%zu "
        "oll=0 omem=0 tot-mem=%zu events=r cmd=%s user=default "
        "redir=-1 resp=%d\n",
        (unsigned long long)cl->id, cl->addr, cl->laddr, -1,
        cl->name ? cl->name : "", (long long)((now - cl->ctime_ms) / 1000),
        (long long)((now - cl->last_interaction_ms) / 1000), flags, cl->db->id,
        (cl->flags & CLIENT_MULTI) ? 0 : -1, cl->qlen - cl->qpos,
        cl->qcap - cl->qlen, cl->qcap, cl->obuf.len, cl->qcap + cl->obuf.cap,
        cl->lastcmd ? cl->lastcmd->name : "NULL", cl->resp);
}

static bool valid_name(rslice n) {
    for (size_t i = 0; i < n.len; i++)
        if (n.ptr[i] < '!' || n.ptr[i] > '~')
            return false;
    return true;
}

static void client_id(client *c) { add_reply_long_long(c, (int64_t)c->id); }

static void client_getname(client *c) { add_reply_bulk_cstr(c, c->name); }

static void client_setname(client *c) {
    rslice n = c->argv[2];
    if (!valid_name(n)) {
        add_reply_error(c, "Client names cannot contain spaces, newlines or "
                           "special characters.");
        return;
    }
    zfree(c->name);
    c->name = n.len ? zstrndup(n.ptr, n.len) : NULL;
    add_reply_ok(c);
}

static void client_list(client *c) {
    text t = {NULL, 0, 0};
    for (client *cl = server.clients; cl != NULL; cl = cl->next_client)
        client_info(&t, cl);
    add_reply_verbatim(c, t.p ? t.p : "", t.len, "txt");
    zfree(t.p);
}

static void client_info_cmd(client *c) {
    text t = {NULL, 0, 0};
    client_info(&t, c);
    add_reply_verbatim(c, t.p, t.len, "txt");
    zfree(t.p);
}

static void client_kill(client *c) {
    const char *addr = NULL, *laddr = NULL;
    uint64_t id = 0;
    bool skipme = true;
    if (c->argc == 3) {
        addr = c->argv[2].ptr;
        skipme = false;
    } else {
        for (int i = 2; i < c->argc; i += 2) {
            bool more = c->argc > i + 1;
            rslice o = c->argv[i];
            if (rslice_eqi(o, "id") && more) {
                long v;
                if (!get_range_long_or_reply(
                        c, c->argv[i + 1], 1, 0x7fffffffffffffffL, &v,
                        "client-id should be greater than 0"))
                    return;
                id = (uint64_t)v;
            } else if (rslice_eqi(o, "addr") && more) {
                addr = c->argv[i + 1].ptr;
            } else if (rslice_eqi(o, "laddr") && more) {
                laddr = c->argv[i + 1].ptr;
            } else if (rslice_eqi(o, "type") && more) {
                rslice ty = c->argv[i + 1];
                if (!rslice_eqi(ty, "normal") && !rslice_eqi(ty, "pubsub") &&
                    !rslice_eqi(ty, "master") && !rslice_eqi(ty, "replica") &&
                    !rslice_eqi(ty, "slave")) {
                    add_reply_error_fmt(c, "Unknown client type '%s'", ty.ptr);
                    return;
                }
            } else if (rslice_eqi(o, "skipme") && more) {
                if (rslice_eqi(c->argv[i + 1], "yes"))
                    skipme = true;
                else if (rslice_eqi(c->argv[i + 1], "no"))
                    skipme = false;
                else {
                    add_reply_error_syntax(c);
                    return;
                }
            } else {
                add_reply_error_syntax(c);
                return;
            }
        }
    }
    int64_t killed = 0;
    bool close_self = false;
    for (client *cl = server.clients; cl != NULL; cl = cl->next_client) {
        if (addr && strcmp(cl->addr, addr) != 0)
            continue;
        if (laddr && strcmp(cl->laddr, laddr) != 0)
            continue;
        if (id != 0 && cl->id != id)
            continue;
        if (cl == c && skipme)
            continue;
        if (cl == c)
            close_self = true;
        else
            client_close_async(cl);
        killed++;
    }
    if (c->argc == 3) {
        if (killed == 0)
            add_reply_error(c, "No such client");
        else
            add_reply_ok(c);
    } else {
        add_reply_long_long(c, killed);
    }
    if (close_self)
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void client_help(client *c) {
    static const char *lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, SKIPME.",
        "LIST",
        "    Return information about client connections.",
        "SETNAME <name>",
        "    Assign the name <name> to the connection.",
        "HELP",
        "    Print this help."};
    size_t n = sizeof(lines) / sizeof(*lines);
    add_reply_array_len(c, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        add_reply_status(c, lines[i]);
}

static void client_noop_ok(client *c) { add_reply_ok(c); }

#define CL (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
const redis_command client_subcommands[] = {
    {"client|id", client_id, 2, CL, 0, 0, 0, "connection",
     "Returns the unique client ID of the connection.", "5.0.0", NULL, NULL},
    {"client|getname", client_getname, 2, CL, 0, 0, 0, "connection",
     "Returns the name of the connection.", "2.6.9", NULL, NULL},
    {"client|setname", client_setname, 3, CL, 0, 0, 0, "connection",
     "Sets the connection name.", "2.6.9", NULL, NULL},
    {"client|list", client_list, -2, CL, 0, 0, 0, "connection",
     "Lists open connections.", "2.4.0", NULL, NULL},
    {"client|info", client_info_cmd, 2, CL, 0, 0, 0, "connection",
     "Returns information about the connection.", "6.2.0", NULL, NULL},
    {"client|kill", client_kill, -3, CL, 0, 0, 0, "connection",
     "Terminates open connections.", "2.4.0", NULL, NULL},
    {"client|help", client_help, 2, CL, 0, 0, 0, "connection",
     "Returns helpful text about the different subcommands.", "5.0.0", NULL,
     NULL},
    {"client|no-evict", client_noop_ok, 3, CL, 0, 0, 0, "connection",
     "Sets the client eviction mode of the connection.", "7.0.0", NULL, NULL},
    {0},
};

void client_command(client *c) {
    /* Reached only without a subcommand match (the table dispatches). */
    add_reply_error_fmt(c, "unknown subcommand '%.128s'. Try CLIENT HELP.",
                        c->argv[1].ptr);
}

/* ------------------------------------------------------------------------ */
/* COMMAND                                                                  */
/* ------------------------------------------------------------------------ */

static void reply_flags(client *c, const redis_command *cmd) {
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{CMD_WRITE, "write"},
                 {CMD_READONLY, "readonly"},
                 {CMD_DENYOOM, "denyoom"},
                 {CMD_ADMIN, "admin"},
                 {CMD_PUBSUB, "pubsub"},
                 {CMD_NOSCRIPT, "noscript"},
                 {CMD_BLOCKING, "blocking"},
                 {CMD_LOADING, "loading"},
                 {CMD_STALE, "stale"},
                 {CMD_FAST, "fast"},
                 {CMD_NO_AUTH, "no_auth"},
                 {CMD_NO_MULTI, "no_multi"},
                 {CMD_MOVABLE_KEYS, "movablekeys"}};
    int n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (cmd->flags & names[i].bit)
            n++;
    add_reply_set_len(c, n);
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (cmd->flags & names[i].bit)
            add_reply_status(c, names[i].name);
}

static void reply_command_info(client *c, const redis_command *cmd) {
    if (cmd == NULL) {
        add_reply_null(c); /* Redis 7.0: a null bulk */
        return;
    }
    add_reply_array_len(c, 10);
    add_reply_bulk_cstr(c, cmd->name);
    add_reply_long_long(c, cmd->arity);
    reply_flags(c, cmd);
    add_reply_long_long(c, cmd->firstkey);
    add_reply_long_long(c, cmd->lastkey);
    add_reply_long_long(c, cmd->step);
    add_reply_set_len(c, 1);
    char cat[64];
    snprintf(cat, sizeof(cat), "@%s", cmd->group ? cmd->group : "generic");
    add_reply_status(c, cat);
    add_reply_set_len(c, 0);   /* tips */
    add_reply_array_len(c, 0); /* key specs */
    int nsub = 0;
    if (cmd->subcommands)
        for (const redis_command *s = cmd->subcommands; s->name; s++)
            nsub++;
    add_reply_array_len(c, nsub);
    if (cmd->subcommands)
        for (const redis_command *s = cmd->subcommands; s->name; s++)
            reply_command_info(c, s);
}

static void reply_command_docs(client *c, const redis_command *cmd) {
    int fields = 1 + (cmd->summary != NULL) + (cmd->since != NULL);
    int nsub = 0;
    if (cmd->subcommands)
        for (const redis_command *s = cmd->subcommands; s->name; s++)
            nsub++;
    const char *synopsis = command_synopsis(cmd->name);
    add_reply_map_len(c, fields + (synopsis != NULL) + (nsub > 0));
    if (cmd->summary) {
        add_reply_bulk_cstr(c, "summary");
        add_reply_bulk_cstr(c, cmd->summary);
    }
    if (cmd->since) {
        add_reply_bulk_cstr(c, "since");
        add_reply_bulk_cstr(c, cmd->since);
    }
    add_reply_bulk_cstr(c, "group");
    add_reply_bulk_cstr(c, cmd->group ? cmd->group : "generic");
    if (synopsis != NULL) {
        add_reply_bulk_cstr(c, "arguments");
        reply_command_args(c, synopsis);
    }
    if (nsub > 0) {
        add_reply_bulk_cstr(c, "subcommands");
        add_reply_map_len(c, nsub);
        for (const redis_command *s = cmd->subcommands; s->name; s++) {
            add_reply_bulk_cstr(c, s->name);
            reply_command_docs(c, s);
        }
    }
}

typedef struct cmd_walk {
    client *c;
    int64_t n;
    int mode; /* 0 count, 1 info, 2 docs, 3 list */
} cmd_walk;

static void walk_fn(void *ctx, const redis_command *cmd) {
    cmd_walk *w = ctx;
    w->n++;
    if (w->mode == 1)
        reply_command_info(w->c, cmd);
    else if (w->mode == 2) {
        add_reply_bulk_cstr(w->c, cmd->name);
        reply_command_docs(w->c, cmd);
    } else if (w->mode == 3)
        add_reply_bulk_cstr(w->c, cmd->name);
}

static void command_all(client *c, int mode) {
    cmd_walk w = {c, 0, 0};
    command_table_foreach(walk_fn, &w);
    int64_t n = w.n;
    if (mode == 2)
        add_reply_map_len(c, n);
    else
        add_reply_array_len(c, n);
    w.mode = mode;
    w.n = 0;
    command_table_foreach(walk_fn, &w);
}

static void command_count_cmd(client *c) {
    add_reply_long_long(c, (int64_t)command_count());
}

static void command_info(client *c) {
    if (c->argc == 2) {
        command_all(c, 1);
        return;
    }
    add_reply_array_len(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_command_info(c, lookup_command(c->argv[i]));
}

static void command_docs(client *c) {
    if (c->argc == 2) {
        command_all(c, 2);
        return;
    }
    int n = 0;
    for (int i = 2; i < c->argc; i++)
        if (lookup_command(c->argv[i]) != NULL)
            n++;
    add_reply_map_len(c, n);
    for (int i = 2; i < c->argc; i++) {
        const redis_command *cmd = lookup_command(c->argv[i]);
        if (cmd == NULL)
            continue;
        add_reply_bulk_cstr(c, cmd->name);
        reply_command_docs(c, cmd);
    }
}

static void command_list(client *c) { command_all(c, 3); }

static void command_help(client *c) {
    static const char *lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "HELP",
        "    Print this help."};
    size_t n = sizeof(lines) / sizeof(*lines);
    add_reply_array_len(c, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        add_reply_status(c, lines[i]);
}

#define CO (CMD_LOADING | CMD_STALE)
const redis_command command_subcommands[] = {
    {"command|count", command_count_cmd, 2, CO, 0, 0, 0, "server",
     "Returns a count of commands.", "2.8.13", NULL, NULL},
    {"command|info", command_info, -2, CO, 0, 0, 0, "server",
     "Returns information about one, multiple or all commands.", "2.8.13", NULL,
     NULL},
    {"command|docs", command_docs, -2, CO, 0, 0, 0, "server",
     "Returns documentary information about one, multiple or all commands.",
     "7.0.0", NULL, NULL},
    {"command|list", command_list, -2, CO, 0, 0, 0, "server",
     "Returns a list of command names.", "7.0.0", NULL, NULL},
    {"command|help", command_help, 2, CO, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "5.0.0", NULL,
     NULL},
    {0},
};

void command_command(client *c) {
    if (c->argc == 1) {
        command_all(c, 1);
        return;
    }
    add_reply_error_fmt(c, "unknown subcommand '%.128s'. Try COMMAND HELP.",
                        c->argv[1].ptr);
}

/* ------------------------------------------------------------------------ */
/* INFO                                                                     */
/* ------------------------------------------------------------------------ */

static bool want(int argc, rslice *argv, const char *section, bool dflt) {
    if (argc <= 1)
        return dflt;
    for (int i = 1; i < argc; i++) {
        if (rslice_eqi(argv[i], section) || rslice_eqi(argv[i], "all") ||
            rslice_eqi(argv[i], "everything"))
            return true;
        if (rslice_eqi(argv[i], "default") && dflt)
            return true;
    }
    return false;
}

static void human_bytes(char *buf, size_t size, double n) {
    if (n < 1024)
        snprintf(buf, size, "%.0fB", n);
    else if (n < 1024.0 * 1024)
        snprintf(buf, size, "%.2fK", n / 1024);
    else if (n < 1024.0 * 1024 * 1024)
        snprintf(buf, size, "%.2fM", n / (1024.0 * 1024));
    else
        snprintf(buf, size, "%.2fG", n / (1024.0 * 1024 * 1024));
}

void info_command(client *c) {
    text t = {NULL, 0, 0};
    int argc = c->argc;
    rslice *argv = c->argv;
    int64_t now = mstime();
    bool first = true;
#define SECTION(name)                                                          \
    do {                                                                       \
        text_printf(&t, "%s# %s\r\n", first ? "" : "\r\n", name);              \
        first = false;                                                         \
    } while (0)
    if (want(argc, argv, "server", true)) {
        SECTION("Server");
        text_printf(&t,
                    "redis_version:%s\r\nredis_git_sha1:00000000\r\n"
                    "redis_git_dirty:0\r\nredis_mode:standalone\r\n"
                    "implementation:kairo-redis\r\nos:Linux\r\n"
                    "arch_bits:64\r\nmultiplexing_api:epoll (kairo)\r\n"
                    "process_id:%d\r\ntcp_port:%d\r\n"
                    "uptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
                    "hz:%d\r\nexecutable:kairo-redis\r\nconfig_file:%s\r\n",
                    KAIRO_REDIS_VERSION, (int)getpid(), server.port,
                    (long long)((now - server.start_ms) / 1000),
                    (long long)((now - server.start_ms) / 86400000), server.hz,
                    server.config_file);
    }
    if (want(argc, argv, "clients", true)) {
        SECTION("Clients");
        unsigned blocked = 0, pubsub = 0;
        for (client *cl = server.clients; cl; cl = cl->next_client) {
            if (cl->flags & CLIENT_BLOCKED)
                blocked++;
            if (cl->flags & CLIENT_PUBSUB)
                pubsub++;
        }
        text_printf(&t,
                    "connected_clients:%u\r\nmaxclients:%u\r\n"
                    "blocked_clients:%u\r\npubsub_clients:%u\r\n",
                    server.nclients, server.maxclients, blocked, pubsub);
    }
    if (want(argc, argv, "memory", true)) {
        SECTION("Memory");
        size_t used = zmalloc_used_memory();
        char h[32], hm[32];
        human_bytes(h, sizeof(h), (double)used);
        human_bytes(hm, sizeof(hm), (double)server.maxmemory);
        static const char *const pol[] = {"noeviction", "allkeys-lru"};
        text_printf(&t,
                    "used_memory:%zu\r\nused_memory_human:%s\r\n"
                    "maxmemory:%zu\r\nmaxmemory_human:%s\r\n"
                    "maxmemory_policy:%s\r\nmem_allocator:libc\r\n",
                    used, h, server.maxmemory, hm,
                    pol[server.maxmemory_policy & 1]);
    }
    if (want(argc, argv, "persistence", true)) {
        SECTION("Persistence");
        char abuf[1024];
        size_t an = aof_info(abuf, sizeof(abuf));
        text_printf(&t, "rdb_changes_since_last_save:%llu\r\n%.*s",
                    (unsigned long long)server.dirty, (int)an, abuf);
    }
    if (want(argc, argv, "stats", true)) {
        SECTION("Stats");
        text_printf(
            &t,
            "total_connections_received:%llu\r\n"
            "total_commands_processed:%llu\r\n"
            "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
            "rejected_connections:%llu\r\nexpired_keys:%llu\r\n"
            "evicted_keys:%llu\r\nkeyspace_hits:%llu\r\n"
            "keyspace_misses:%llu\r\ntotal_error_replies:%llu\r\n",
            (unsigned long long)server.stat_numconnections,
            (unsigned long long)server.stat_numcommands,
            (unsigned long long)server.stat_net_input_bytes,
            (unsigned long long)server.stat_net_output_bytes,
            (unsigned long long)server.stat_rejected_conn,
            (unsigned long long)server.stat_expiredkeys,
            (unsigned long long)server.stat_evictedkeys,
            (unsigned long long)server.stat_keyspace_hits,
            (unsigned long long)server.stat_keyspace_misses,
            (unsigned long long)server.stat_total_error_replies);
    }
    if (want(argc, argv, "replication", true)) {
        SECTION("Replication");
        text_printf(&t, "role:master\r\nconnected_slaves:0\r\n");
    }
    if (want(argc, argv, "cpu", true)) {
        SECTION("CPU");
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        text_printf(&t, "used_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n",
                    (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec,
                    (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
    }
    if (want(argc, argv, "kairo", true)) {
        SECTION("Kairo");
        kr_runtime_metrics m;
        if (kr_runtime_metrics_get(server.rt, &m) == 0)
            text_printf(&t,
                        "kairo_flavor:%s\r\nkairo_workers:%u\r\n"
                        "kairo_tasks_spawned:%llu\r\nkairo_tasks_alive:%llu\r\n"
                        "kairo_task_polls:%llu\r\n"
                        "kairo_remote_spawns:%llu\r\n"
                        "kairo_blocking_threads:%u\r\n"
                        "kairo_blocking_queued:%u\r\n",
                        server.workers ? "multi-thread" : "current-thread",
                        m.workers, (unsigned long long)m.spawned,
                        (unsigned long long)m.alive,
                        (unsigned long long)m.polls,
                        (unsigned long long)m.remote_spawns, m.blocking_threads,
                        m.blocking_queued);
    }
    if (want(argc, argv, "keyspace", true)) {
        SECTION("Keyspace");
        for (int i = 0; i < REDIS_DBNUM; i++) {
            size_t keys = db_size(&server.db[i]);
            if (keys == 0)
                continue;
            text_printf(&t, "db%d:keys=%zu,expires=%zu,avg_ttl=0\r\n", i, keys,
                        dict_size(server.db[i].expires));
        }
    }
#undef SECTION
    add_reply_verbatim(c, t.p ? t.p : "", t.len, "txt");
    zfree(t.p);
}
