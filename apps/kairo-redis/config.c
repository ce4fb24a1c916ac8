/*
 * config.c: the parameters (defaults, a redis.conf-style file, --name value
 * on the command line) and CONFIG GET / SET / RESETSTAT / REWRITE.
 *
 * The file format is redis.conf's: one "name value..." per line, '#'
 * comments, values optionally in double quotes. Parameters kairo-redis
 * does not implement but redis.conf files commonly carry (save,
 * daemonize, protected-mode, ...) are accepted and ignored, so a stock
 * redis.conf loads; unknown names are an error, as in Redis.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

enum { T_INT, T_MEM, T_BOOL, T_STR, T_ENUM, T_IGNORED };

typedef struct config_param {
    const char *name;
    int type;
    void *ptr;
    long long min, max;
    const char *const *enums; /* T_ENUM: names, index = value */
    bool immutable;           /* CONFIG SET refuses it */
    char ignored_value[128];  /* T_IGNORED: what CONFIG GET shows */
} config_param;

static const char *const policy_names[] = {"noeviction", "allkeys-lru", NULL};
static const char *const fsync_names[] = {"no", "always", "everysec", NULL};
static const char *const loglevel_names[] = {"debug", "verbose", "notice",
                                             "warning", NULL};

static char requirepass_buf[512];
static char bind_buf[256];

static config_param params[] = {
    {"port", T_INT, &server.port, 0, 65535, NULL, true, ""},
    {"bind", T_STR, bind_buf, 0, sizeof(bind_buf), NULL, true, ""},
    {"requirepass", T_STR, requirepass_buf, 0, sizeof(requirepass_buf), NULL,
     false, ""},
    {"maxclients", T_INT, &server.maxclients, 1, UINT_MAX, NULL, false, ""},
    {"client-query-buffer-limit", T_MEM, &server.client_max_querybuf_len,
     1024 * 1024, LLONG_MAX, NULL, false, ""},
    {"proto-max-bulk-len", T_MEM, &server.proto_max_bulk_len, 1024 * 1024,
     LLONG_MAX, NULL, false, ""},
    {"timeout", T_INT, &server.timeout_s, 0, INT_MAX, NULL, false, ""},
    {"maxmemory", T_MEM, &server.maxmemory, 0, LLONG_MAX, NULL, false, ""},
    {"maxmemory-policy", T_ENUM, &server.maxmemory_policy, 0, 0, policy_names,
     false, ""},
    {"maxmemory-samples", T_INT, &server.maxmemory_samples, 1, 64, NULL, false,
     ""},
    {"hz", T_INT, &server.hz, 1, 500, NULL, false, ""},
    {"dir", T_STR, server.dir, 0, sizeof(server.dir), NULL, false, ""},
    {"appendonly", T_BOOL, &server.appendonly, 0, 0, NULL, false, ""},
    {"aof-load-truncated", T_BOOL, &server.aof_load_truncated, 0, 0, NULL,
     false, ""},
    {"appendfsync", T_ENUM, &server.appendfsync, 0, 0, fsync_names, false, ""},
    {"appendfilename", T_STR, server.appendfilename, 0,
     sizeof(server.appendfilename), NULL, true, ""},
    {"logfile", T_STR, server.logfile, 0, sizeof(server.logfile), NULL, true,
     ""},
    {"loglevel", T_ENUM, &server.loglevel, 0, 0, loglevel_names, false, ""},
    {"databases", T_INT, &server.databases, 16, 16, NULL, true, ""},
    /* Accepted and shown, not acted on. */
    {"save", T_IGNORED, NULL, 0, 0, NULL, false, ""},
    {"daemonize", T_IGNORED, NULL, 0, 0, NULL, true, "no"},
    {"protected-mode", T_IGNORED, NULL, 0, 0, NULL, false, "yes"},
    {"tcp-backlog", T_IGNORED, NULL, 0, 0, NULL, true, "511"},
    {"tcp-keepalive", T_IGNORED, NULL, 0, 0, NULL, false, "300"},
    {"io-threads", T_IGNORED, NULL, 0, 0, NULL, true, "1"},
    {"appendfsync-no-rewrite", T_IGNORED, NULL, 0, 0, NULL, false, "no"},
    {"supervised", T_IGNORED, NULL, 0, 0, NULL, true, "no"},
    {"pidfile", T_IGNORED, NULL, 0, 0, NULL, true, ""},
    {"dbfilename", T_IGNORED, NULL, 0, 0, NULL, false, "dump.rdb"},
    {"lazyfree-lazy-user-del", T_IGNORED, NULL, 0, 0, NULL, false, "no"},
    {"client-output-buffer-limit", T_IGNORED, NULL, 0, 0, NULL, false,
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"},
    {NULL, 0, NULL, 0, 0, NULL, false, ""},
};

static config_param *find_param(const char *name) {
    for (config_param *p = params; p->name != NULL; p++)
        if (strcasecmp(p->name, name) == 0)
            return p;
    return NULL;
}

void config_init_defaults(void) {
    server.port = 6379;
    snprintf(bind_buf, sizeof(bind_buf), "127.0.0.1");
    snprintf(server.bind, sizeof(server.bind), "127.0.0.1");
    server.workers = 0;
    server.requirepass = NULL;
    server.maxclients = 10000;
    server.client_max_querybuf_len = 1024ull * 1024 * 1024;
    server.proto_max_bulk_len = 512ll * 1024 * 1024;
    server.timeout_s = 0;
    server.maxmemory = 0;
    server.maxmemory_policy = MAXMEMORY_NOEVICTION;
    server.maxmemory_samples = 5;
    server.hz = 10;
    snprintf(server.dir, sizeof(server.dir), ".");
    server.appendonly = false;
    server.appendfsync = AOF_FSYNC_EVERYSEC;
    snprintf(server.appendfilename, sizeof(server.appendfilename),
             "appendonly.aof");
    server.loglevel = LL_NOTICE;
    server.databases = REDIS_DBNUM;
    server.pubsub_obuf_hard = 32ull * 1024 * 1024;
    server.pubsub_obuf_soft = 8ull * 1024 * 1024;
    server.pubsub_obuf_soft_s = 60;
    server.aof_load_truncated = true;
}

/* Redis's memtoull: a number with an optional unit, k/kb/m/mb/g/gb (the
 * "b" ones binary), case-insensitive. */
static bool parse_mem(const char *v, long long *out) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || n < 0)
        return false;
    long long mul = 1;
    if (strcasecmp(end, "") == 0 || strcasecmp(end, "b") == 0)
        mul = 1;
    else if (strcasecmp(end, "k") == 0)
        mul = 1000;
    else if (strcasecmp(end, "kb") == 0)
        mul = 1024;
    else if (strcasecmp(end, "m") == 0)
        mul = 1000 * 1000;
    else if (strcasecmp(end, "mb") == 0)
        mul = 1024 * 1024;
    else if (strcasecmp(end, "g") == 0)
        mul = 1000ll * 1000 * 1000;
    else if (strcasecmp(end, "gb") == 0)
        mul = 1024ll * 1024 * 1024;
    else
        return false;
    if (n > LLONG_MAX / mul)
        return false;
    *out = n * mul;
    return true;
}

static void apply_side_effects(config_param *p) {
    if (p->ptr == requirepass_buf)
        server.requirepass = requirepass_buf[0] ? requirepass_buf : NULL;
    else if (p->ptr == bind_buf) {
        /* Redis takes several addresses; kairo-redis binds the first. */
        char first[256];
        snprintf(first, sizeof(first), "%s", bind_buf);
        char *sp = strchr(first, ' ');
        if (sp != NULL)
            *sp = '\0';
        snprintf(server.bind, sizeof(server.bind), "%s", first);
    } else if (p->ptr == &server.appendonly || p->ptr == &server.appendfsync)
        aof_config_changed();
}

/* "class hard soft seconds" groups (normal, replica/slave, pubsub); the
 * pubsub class is what kairo-redis enforces (pubsub.c). */
static const char *set_obuf_limits(config_param *p, const char *v) {
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", v);
    char *words[64];
    int n = 0;
    for (char *t = strtok(buf, " "); t != NULL && n < 64; t = strtok(NULL, " "))
        words[n++] = t;
    if (n == 0 || n % 4 != 0)
        return "Wrong number of arguments in buffer limit configuration.";
    long long vals[16][3];
    for (int i = 0; i < n; i += 4) {
        const char *cls = words[i];
        if (strcasecmp(cls, "normal") != 0 && strcasecmp(cls, "slave") != 0 &&
            strcasecmp(cls, "replica") != 0 && strcasecmp(cls, "pubsub") != 0)
            return "Invalid client class specified in buffer limit "
                   "configuration.";
        char *end;
        if (!parse_mem(words[i + 1], &vals[i / 4][0]) ||
            !parse_mem(words[i + 2], &vals[i / 4][1]))
            return "Error in hard, soft or soft_seconds setting in buffer "
                   "limit configuration.";
        vals[i / 4][2] = strtoll(words[i + 3], &end, 10);
        if (*end != '\0' || vals[i / 4][2] < 0)
            return "Error in hard, soft or soft_seconds setting in buffer "
                   "limit configuration.";
    }
    for (int i = 0; i < n; i += 4) {
        if (strcasecmp(words[i], "pubsub") == 0) {
            server.pubsub_obuf_hard = (size_t)vals[i / 4][0];
            server.pubsub_obuf_soft = (size_t)vals[i / 4][1];
            server.pubsub_obuf_soft_s = (int)vals[i / 4][2];
        }
    }
    snprintf(p->ignored_value, sizeof(p->ignored_value),
             "normal 0 0 0 slave 268435456 67108864 60 pubsub %zu %zu %d",
             server.pubsub_obuf_hard, server.pubsub_obuf_soft,
             server.pubsub_obuf_soft_s);
    return NULL;
}

static const char *set_param(config_param *p, const char *v) {
    switch (p->type) {
    case T_INT: {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
            return "argument couldn't be parsed into an integer";
        if (n < p->min || n > p->max)
            return "argument must be between the limits";
        if (p->ptr == &server.maxclients)
            *(unsigned *)p->ptr = (unsigned)n;
        else
            *(int *)p->ptr = (int)n;
        break;
    }
    case T_MEM: {
        long long n;
        if (!parse_mem(v, &n))
            return "argument must be a memory value";
        if (n < p->min)
            return "argument must be a memory value";
        if (p->ptr == &server.proto_max_bulk_len)
            *(int64_t *)p->ptr = n;
        else
            *(size_t *)p->ptr = (size_t)n;
        break;
    }
    case T_BOOL:
        if (strcasecmp(v, "yes") == 0)
            *(bool *)p->ptr = true;
        else if (strcasecmp(v, "no") == 0)
            *(bool *)p->ptr = false;
        else
            return "argument must be 'yes' or 'no'";
        break;
    case T_STR:
        if (strlen(v) >= (size_t)p->max)
            return "argument too long";
        snprintf(p->ptr, (size_t)p->max, "%s", v);
        break;
    case T_ENUM: {
        for (int i = 0; p->enums[i] != NULL; i++) {
            if (strcasecmp(p->enums[i], v) == 0) {
                *(int *)p->ptr = i;
                return NULL;
            }
        }
        return "argument(s) must be one of the following";
    }
    case T_IGNORED:
        if (strcmp(p->name, "client-output-buffer-limit") == 0)
            return set_obuf_limits(p, v);
        snprintf(p->ignored_value, sizeof(p->ignored_value), "%s", v);
        break;
    }
    apply_side_effects(p);
    return NULL;
}

static int get_param(const config_param *p, char *buf, size_t size) {
    switch (p->type) {
    case T_INT:
        if (p->ptr == &server.maxclients)
            return snprintf(buf, size, "%u", *(unsigned *)p->ptr);
        return snprintf(buf, size, "%d", *(int *)p->ptr);
    case T_MEM:
        if (p->ptr == &server.proto_max_bulk_len)
            return snprintf(buf, size, "%lld", (long long)*(int64_t *)p->ptr);
        return snprintf(buf, size, "%zu", *(size_t *)p->ptr);
    case T_BOOL:
        return snprintf(buf, size, "%s", *(bool *)p->ptr ? "yes" : "no");
    case T_STR:
        return snprintf(buf, size, "%s", (const char *)p->ptr);
    case T_ENUM:
        return snprintf(buf, size, "%s", p->enums[*(int *)p->ptr]);
    default:
        return snprintf(buf, size, "%s", p->ignored_value);
    }
}

const char *config_set(const char *name, const char *value) {
    config_param *p = find_param(name);
    if (p == NULL)
        return "Bad directive or wrong number of arguments";
    if (p->type == T_STR && p->ptr == bind_buf) {
        /* bind takes several words on one line */
    }
    return set_param(p, value);
}

/* Splits a config line into words (double quotes group, \" escapes). */
static int split_words(char *line, char **words, int max) {
    int n = 0;
    char *p = line;
    while (*p != '\0' && n < max) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#')
            break;
        char *w = p, *o = p;
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p != '\0' && *p != q) {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                *o++ = *p++;
            }
            if (*p == q)
                p++;
        } else {
            while (*p != '\0' && !isspace((unsigned char)*p))
                *o++ = *p++;
        }
        if (*p != '\0')
            p++;
        *o = '\0';
        words[n++] = w;
    }
    return n;
}

int config_load_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        server_log(LL_WARNING, "Fatal error, can't open config file '%s': %s",
                   path, strerror(errno));
        return -1;
    }
    snprintf(server.config_file, sizeof(server.config_file), "%s", path);
    char line[4096];
    int lineno = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        char *words[64];
        int n = split_words(line, words, 64);
        if (n == 0)
            continue;
        /* Multi-word values (bind a b, save 900 1, client-output-buffer-
         * limit ...) are joined with spaces. */
        char value[2048] = "";
        size_t len = 0;
        for (int i = 1; i < n; i++)
            len += (size_t)snprintf(value + len, sizeof(value) - len, "%s%s",
                                    i > 1 ? " " : "", words[i]);
        const char *err = config_set(words[0], value);
        if (err != NULL) {
            server_log(LL_WARNING,
                       "\n*** FATAL CONFIG FILE ERROR (kairo-redis) ***\n"
                       "Reading the configuration file, at line %d\n"
                       ">>> '%s'\n%s",
                       lineno, words[0], err);
            fclose(f);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* CONFIG                                                                   */
/* ------------------------------------------------------------------------ */

static void config_get(client *c) {
    bool seen[sizeof(params) / sizeof(*params)] = {false};
    int count = 0;
    for (int i = 2; i < c->argc; i++) {
        for (size_t k = 0; params[k].name != NULL; k++) {
            if (seen[k])
                continue;
            if (string_match(c->argv[i].ptr, c->argv[i].len, params[k].name,
                             strlen(params[k].name), true)) {
                seen[k] = true;
                count++;
            }
        }
    }
    add_reply_map_len(c, count);
    for (size_t k = 0; params[k].name != NULL; k++) {
        if (!seen[k])
            continue;
        char buf[1100];
        int n = get_param(&params[k], buf, sizeof(buf));
        add_reply_bulk_cstr(c, params[k].name);
        add_reply_bulk(c, buf, (size_t)(n < 0 ? 0 : n));
    }
}

static void config_set_cmd(client *c) {
    if (c->argc < 4 || (c->argc - 2) % 2 != 0) {
        add_reply_error_arity(c);
        return;
    }
    /* Validate every name first, as Redis does. */
    for (int i = 2; i < c->argc; i += 2) {
        config_param *p = find_param(c->argv[i].ptr);
        if (p == NULL) {
            add_reply_error_fmt(c,
                                "Unknown option or number of arguments for "
                                "CONFIG SET - '%s'",
                                c->argv[i].ptr);
            return;
        }
        if (p->immutable) {
            add_reply_error_fmt(c,
                                "CONFIG SET failed (possibly related to "
                                "argument '%s') - can't set immutable config",
                                p->name);
            return;
        }
        for (int j = 2; j < i; j += 2)
            if (strcasecmp(c->argv[j].ptr, c->argv[i].ptr) == 0) {
                add_reply_error_fmt(c,
                                    "CONFIG SET failed (possibly related to "
                                    "argument '%s') - duplicate parameter",
                                    c->argv[i].ptr);
                return;
            }
    }
    for (int i = 2; i < c->argc; i += 2) {
        config_param *p = find_param(c->argv[i].ptr);
        const char *err = set_param(p, c->argv[i + 1].ptr);
        if (err != NULL) {
            add_reply_error_fmt(c,
                                "CONFIG SET failed (possibly related to "
                                "argument '%s') - %s",
                                p->name, err);
            return;
        }
    }
    add_reply_ok(c);
}

static void config_resetstat(client *c) {
    server.stat_numcommands = server.stat_numconnections = 0;
    server.stat_expiredkeys = server.stat_evictedkeys = 0;
    server.stat_keyspace_hits = server.stat_keyspace_misses = 0;
    server.stat_net_input_bytes = server.stat_net_output_bytes = 0;
    server.stat_rejected_conn = server.stat_total_error_replies = 0;
    add_reply_ok(c);
}

static void config_rewrite(client *c) {
    add_reply_error(c, "The server is running without a config file");
}

static void config_help(client *c) {
    static const char *lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern>.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help."};
    size_t n = sizeof(lines) / sizeof(*lines);
    add_reply_array_len(c, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        add_reply_status(c, lines[i]);
}

void config_command(client *c) {
    add_reply_error_fmt(c, "unknown subcommand '%.128s'. Try CONFIG HELP.",
                        c->argv[1].ptr);
}

#define CF (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)
const redis_command config_subcommands[] = {
    {"config|get", config_get, -3, CF, 0, 0, 0, "server",
     "Returns the effective values of configuration parameters.", "2.0.0", NULL,
     NULL},
    {"config|set", config_set_cmd, -4, CF, 0, 0, 0, "server",
     "Sets configuration parameters in-flight.", "2.0.0", NULL, NULL},
    {"config|resetstat", config_resetstat, 2, CF, 0, 0, 0, "server",
     "Resets the server's statistics.", "2.0.0", NULL, NULL},
    {"config|rewrite", config_rewrite, 2, CF, 0, 0, 0, "server",
     "Persists the effective configuration to file.", "2.8.0", NULL, NULL},
    {"config|help", config_help, 2, CF, 0, 0, 0, "server",
     "Returns helpful text about the different subcommands.", "5.0.0", NULL,
     NULL},
    {0},
};
