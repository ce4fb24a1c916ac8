/*
 * server.h: kairo-redis's internal API, shared by every file of the server.
 *
 * kairo-redis is a Redis-compatible server built on kairo's public API only
 * (include/kairo/). This header is the contract between the files:
 *
 *   server.c      main(), the listener, the cron task, shutdown
 *   config.c      the redis.conf-style file, CONFIG GET/SET
 *   networking.c  clients: reading, RESP2/inline/RESP3 parsing, the reply
 *                 buffer, batched writes, the connection task
 *   commands.c    the command table (built from the per-family tables),
 *                 lookup, call(), COMMAND
 *   server_cmds.c PING, ECHO, HELLO, AUTH, SELECT, CLIENT, INFO, ...
 *   db.c          the keyspace (16 databases), expiry, key commands
 *   dict.c/.h     the hash table used for the keyspace (and by families)
 *   object.c      values (robj), string values, argument parsing helpers
 *   t_string.c    strings                       (redis-core)
 *   t_list.c      lists + blocking pops         (redis-types)
 *   t_hash.c      hashes                        (redis-types)
 *   t_set.c       sets                          (redis-types)
 *   t_zset.c      sorted sets                   (redis-types)
 *   pubsub.c      pub/sub                       (redis-ops)
 *   multi.c       MULTI/EXEC/WATCH              (redis-ops)
 *   aof.c         append-only file              (redis-ops)
 *
 * Registering commands. Each family file defines one table, e.g.
 *
 *     const redis_command list_commands[] = {
 *         {"lpush", lpush_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST,
 *          1, 1, 1},
 *         ...
 *         {0} // terminator: name NULL
 *     };
 *
 * and commands.c concatenates the tables named below (command_tables[]).
 * So a family adds commands by editing only its own file.
 *
 * Threads and the keyspace. Redis runs every command on one thread. Here
 * the connection tasks may run on several kairo workers (--workers N), so
 * all server state (the databases, every client's reply buffer `obuf`,
 * pub/sub and blocking registries, `server` counters) is guarded by one
 * mutex, server.lock. A connection task takes it once per batch: it parses
 * and runs every complete command in what it read, appends the replies to
 * its obuf, then moves obuf to its private write buffer and drops the lock
 * before writing (one write(2)/writev per batch, no syscall under the lock).
 * Command handlers therefore always run with the lock held and may touch
 * any client's obuf (PUBLISH, a push that serves a blocked client) and then
 * call client_wake(other) so that client's task flushes it. With
 * --current-thread the lock is never contended.
 *
 * Argument vectors. c->argv[i] are slices pointing into the client's read
 * buffer (parsed in place, no copy): valid only during the call. Anything a
 * handler keeps (a key, a value) it must copy (robj constructors do).
 */
#ifndef KAIRO_REDIS_SERVER_H
#define KAIRO_REDIS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>

#include "kairo.h"
#include "dict.h"

#define KAIRO_REDIS_VERSION "7.0.15" /* the Redis version we imitate */

/* ------------------------------------------------------------------------ */
/* Memory accounting (INFO used_memory, maxmemory)                          */
/* ------------------------------------------------------------------------ */

/* malloc/realloc/free that count the bytes in use (malloc_usable_size).
 * Abort on out-of-memory, as Redis does. Use them for everything stored in
 * the keyspace so maxmemory sees it. */
void *zmalloc(size_t size);
void *zcalloc(size_t size);
void *zrealloc(void *ptr, size_t size);
void zfree(void *ptr);
char *zstrndup(const char *s, size_t len); /* NUL-terminated copy */
size_t zmalloc_used_memory(void);

/* ------------------------------------------------------------------------ */
/* Byte strings                                                             */
/* ------------------------------------------------------------------------ */

/* A borrowed byte string (an argument, a key). Not NUL-terminated in
 * general: argv slices are, by the parser (a NUL is written over the CR
 * after each argument), so strtod and friends may read them; other slices
 * may not be. */
typedef struct rslice {
    char *ptr;
    size_t len;
} rslice;

static inline rslice rslice_of(const char *p, size_t len) {
    rslice s = {(char *)p, len};
    return s;
}
static inline bool rslice_eq(rslice a, rslice b) {
    return a.len == b.len &&
           (a.len == 0 || __builtin_memcmp(a.ptr, b.ptr, a.len) == 0);
}
/* Case-insensitive comparison with a C string (option names: "EX", "NX"). */
bool rslice_eqi(rslice a, const char *lit);

/* Glob-style match (KEYS, SCAN MATCH, PSUBSCRIBE), Redis's stringmatchlen
 * semantics: * ? [abc] [^a] [a-z] \x. */
bool string_match(const char *pat, size_t plen, const char *s, size_t slen,
                  bool nocase);

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

enum { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4 };
#define OBJ_TYPE_COUNT 5

/* String encodings (object.c). Other families define their own encoding
 * numbers for their type (e.g. OBJ_ENC_LISTPACK ... in their file); the
 * encoding field is theirs to interpret. */
enum {
    OBJ_ENC_RAW = 0, /* ptr: zmalloc'd bytes, len/cap */
    OBJ_ENC_INT = 1  /* ival holds the value; ptr NULL */
};

/*
 * A value in the keyspace. `type` selects the family; `encoding` is the
 * family's representation; `ptr` is the family's structure (a string's
 * bytes for OBJ_STRING/RAW). `lru` is the server clock (seconds) of the
 * last access, for allkeys-lru. Values are owned by exactly one key: there
 * is no sharing or reference count; rename moves the pointer.
 */
typedef struct robj {
    uint8_t type;
    uint8_t encoding;
    uint32_t lru;
    size_t len; /* strings: bytes; families may use it (e.g. element count) */
    size_t cap; /* strings: bytes allocated at ptr */
    void *ptr;
    int64_t ival; /* strings, OBJ_ENC_INT */
} robj;

/* A family's operations on its values, dispatched by type. */
typedef void (*rewrite_emit_fn)(void *ctx, int argc, const rslice *argv);
typedef struct robj_type_ops {
    const char *name; /* what TYPE replies: "string", "list", ... */
    /* Frees o->ptr and whatever it owns (not the robj itself). */
    void (*free)(robj *o);
    /* Approximate bytes used (MEMORY USAGE; optional, may be NULL). */
    size_t (*mem)(const robj *o);
    /* AOF rewrite: calls emit() with commands that recreate the value under
     * `key` (e.g. RPUSH key a b c ...), in batches. May be NULL until the
     * family implements it. */
    void (*rewrite)(const robj *o, rslice key, rewrite_emit_fn emit, void *ctx);
} robj_type_ops;

/* Defined by each family file. */
extern const robj_type_ops string_type_ops; /* t_string.c */
extern const robj_type_ops list_type_ops;   /* t_list.c */
extern const robj_type_ops set_type_ops;    /* t_set.c */
extern const robj_type_ops zset_type_ops;   /* t_zset.c */
extern const robj_type_ops hash_type_ops;   /* t_hash.c */
const robj_type_ops *robj_ops(const robj *o);

/* A new value of `type`/`encoding` holding `ptr` (the family's structure). */
robj *robj_new(int type, int encoding, void *ptr);
/* Frees a value: the family's free, then the robj. NULL is ignored. */
void robj_free(robj *o);

/* String values (object.c). create_string tries the integer encoding for
 * canonical integers ("123", not "0123" or "+1"), as Redis does. */
robj *robj_new_string(const char *p, size_t len);
robj *robj_new_string_raw(const char *p, size_t len); /* never INT */
robj *robj_new_int(int64_t v);
/* The bytes of a string value: for INT the digits are written to
 * buf (at least 21 bytes). */
rslice robj_string_bytes(const robj *o, char *buf);
size_t robj_string_len(const robj *o);
/* Makes a string value RAW (for APPEND, SETRANGE) with room for `need`
 * bytes in all. */
void robj_string_make_raw(robj *o, size_t need);

/* ------------------------------------------------------------------------ */
/* Databases and the keyspace (db.c)                                        */
/* ------------------------------------------------------------------------ */

#define REDIS_DBNUM 16

typedef struct redis_db {
    dict *keys;    /* key -> robj* (entry val.ptr) */
    dict *expires; /* key -> absolute unix ms (entry val.s64) */
    int id;
    int64_t avg_ttl;
    uint64_t expires_cursor; /* active expiry's scan position */
} redis_db;

/* Unix time in milliseconds (the command's time: cached per batch so a
 * MULTI or a pipeline sees one clock, as Redis's mstime caching). */
int64_t mstime(void);
int64_t ustime(void);
/* Refreshes the cached clock (done by the connection before each batch). */
void update_cached_time(void);
int64_t command_time_ms(void); /* the cached clock */

typedef struct client client;

/* Looks a key up for reading: NULL if missing or expired (an expired key is
 * deleted then: lazy expiry). Counts keyspace hits/misses and touches lru. */
robj *lookup_key_read(redis_db *db, rslice key);
/* The same for writing (no hit/miss counting). */
robj *lookup_key_write(redis_db *db, rslice key);
/* The same, replying NULL (RESP2 $-1 / RESP3 _) when missing. */
robj *lookup_key_read_or_reply_null(client *c, rslice key);
/* True and replies WRONGTYPE if o is not NULL and not of `type`. */
bool check_type(client *c, const robj *o, int type);

/* Adds a key that must not exist (the caller checked). The db owns val. */
void db_add(redis_db *db, rslice key, robj *val);
/* Replaces the value of an existing key (the old value is freed; its TTL is
 * kept). */
void db_overwrite(redis_db *db, rslice key, robj *val);
/* SET semantics: add or overwrite; the TTL is removed unless keepttl.
 * Calls signal_modified_key. */
void set_key(client *c, redis_db *db, rslice key, robj *val, bool keepttl);
/* Deletes a key (and its TTL). Returns true if it existed. */
bool db_delete(redis_db *db, rslice key);
/* Removes the key's value from the db without freeing it and returns it
 * (RENAME, LMOVE-style moves); NULL if missing. */
robj *db_unlink_value(redis_db *db, rslice key);
bool db_exists(redis_db *db, rslice key); /* after lazy expiry */
size_t db_size(const redis_db *db);
/* Empties one db (dbnum >= 0) or all (-1). Returns keys removed. */
size_t db_empty(int dbnum);

/* Expiry: absolute unix ms; -1 when the key has none. */
void set_expire(client *c, redis_db *db, rslice key, int64_t when_ms);
int64_t get_expire(redis_db *db, rslice key);
bool remove_expire(redis_db *db, rslice key);
/* Deletes the key if its TTL has passed; true if it did (or it was
 * already expired). */
bool expire_if_needed(redis_db *db, rslice key);
/* The background task's sampling pass (server cron). */
void active_expire_cycle(void);

/* Hooks every write must call: WATCH invalidation (multi.c) and, for keys
 * that became lists, the blocked-client wake-up (t_list.c). */
void signal_modified_key(client *c, redis_db *db, rslice key);
/* Calls touch_watched_keys_db for flushes. */
void signal_flushed_db(int dbid);

/* ------------------------------------------------------------------------ */
/* Clients (networking.c)                                                   */
/* ------------------------------------------------------------------------ */

/* c->flags */
enum {
    CLIENT_CLOSE_AFTER_REPLY = 1u << 0, /* QUIT, protocol error */
    CLIENT_CLOSE_ASAP = 1u << 1,        /* killed, output limit: no reply */
    CLIENT_MULTI = 1u << 2,             /* inside MULTI (multi.c) */
    CLIENT_DIRTY_CAS = 1u << 3,         /* a watched key changed */
    CLIENT_DIRTY_EXEC = 1u << 4,        /* an error while queueing */
    CLIENT_PUBSUB = 1u << 5,            /* subscribed to something */
    CLIENT_BLOCKED = 1u << 6,           /* waiting (BLPOP...) */
    CLIENT_FAKE = 1u << 7,              /* AOF loading: no connection */
    CLIENT_EXECUTING = 1u << 8,         /* inside EXEC (multi.c) */
    CLIENT_NO_REPLY = 1u << 9,          /* replies discarded */
    CLIENT_AUTHENTICATED = 1u << 10
};

/* A growable byte buffer (reply buffers). */
typedef struct rbuf {
    char *buf;
    size_t len;
    size_t cap;
} rbuf;

struct redis_command;
struct conn_task;

/* Per-family client state, owned by that family. */
typedef struct multi_state multi_state;       /* multi.c */
typedef struct pubsub_state pubsub_state;     /* pubsub.c */
typedef struct blocking_state blocking_state; /* t_list.c */

struct client {
    uint64_t id;
    uint32_t flags;
    int resp; /* 2 or 3 (HELLO) */
    redis_db *db;
    char *name;    /* CLIENT SETNAME; NULL if none (zmalloc'd) */
    char addr[64]; /* "ip:port" */
    char laddr[64];

    /* The command being run. */
    int argc;
    rslice *argv;
    int argv_cap;
    const struct redis_command *cmd;
    const struct redis_command *lastcmd;

    /* Replies. Guarded by server.lock: any handler may append to any
     * client's obuf, then call client_wake. */
    rbuf obuf;

    /* Reading (owned by the connection task). */
    char *qbuf;
    size_t qlen; /* bytes in qbuf */
    size_t qpos; /* parse position (start of the unparsed command) */
    size_t qcap;
    /* Parser state across reads (networking.c). */
    int reqtype;          /* 0 none yet, 1 multibulk, 2 inline */
    int64_t multibulklen; /* arguments still to read */
    int64_t bulklen;      /* the current bulk's length, -1 if unknown */
    size_t cmd_start;     /* where the command being parsed starts */
    size_t wpending;      /* bytes moved to the write buffer, unsent */
    int64_t ctime_ms;     /* connected at */
    int64_t last_interaction_ms;

    /* Blocking (BLPOP...): set by block_client. */
    int64_t block_timeout_ms; /* absolute unix ms, 0 = forever */
    void (*block_on_timeout)(client *c);

    /* Per-family state, NULL until the family makes it. */
    multi_state *mstate;
    pubsub_state *pubsub;
    blocking_state *bstate;

    /* Propagation override (see propagate_*). */
    bool prevent_propagate;

    /* appendfsync always (aof.c): the AOF offset the replies in the
     * connection's write buffer wait for, and the waiter doing it. */
    uint64_t aof_offset;
    struct aof_client *aofw;

    struct conn_task *conn;                   /* NULL for fake clients */
    struct client *next_client, *prev_client; /* server.clients list */
};

/* Creates a client with no connection (AOF loading, tests): replies are
 * discarded unless `keep_replies`. */
client *client_new_fake(bool keep_replies);
void client_free_fake(client *c);
/* Asks the client's task to run again (to flush obuf, to notice it was
 * unblocked or killed). Call with server.lock held. No-op for fakes. */
void client_wake(client *c);
/* Closes the client as soon as its task runs: nothing more is written. */
void client_close_async(client *c);

/* Blocking (for BLPOP & co.). block_client marks c blocked: the connection
 * stops running its further commands (but keeps reading) until
 * unblock_client. timeout_ms is absolute unix ms (0: forever); when it
 * passes, the connection task calls on_timeout(c) under the lock, which
 * must reply (e.g. a null array) and call unblock_client. */
void block_client(client *c, int64_t timeout_ms, void (*on_timeout)(client *));
void unblock_client(client *c);

/* Hooks the core calls when a client goes away (with the lock held); each
 * family frees its state. */
void multi_free_client(client *c);    /* multi.c */
void pubsub_free_client(client *c);   /* pubsub.c */
void blocking_free_client(client *c); /* t_list.c: leave wait queues */

/* ------------------------------------------------------------------------ */
/* Replies (networking.c). Each adds one RESP value to c->obuf.             */
/* ------------------------------------------------------------------------ */

void add_reply_raw(client *c, const char *p, size_t len); /* verbatim */
void add_reply_status(client *c, const char *s);          /* +s */
void add_reply_ok(client *c);                             /* +OK */
/* "-ERR msg", or msg as given when it starts with '-' and its own code:
 * add_reply_error(c, "-WRONGTYPE Operation..."). CR/LF become spaces. */
void add_reply_error(client *c, const char *msg);
void add_reply_error_fmt(client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void add_reply_error_arity(client *c);  /* wrong number of arguments */
void add_reply_error_syntax(client *c); /* ERR syntax error */
void add_reply_wrongtype(client *c);
void add_reply_long_long(client *c, int64_t v); /* :v */
void add_reply_bulk(client *c, const char *p, size_t len);
void add_reply_bulk_cstr(client *c, const char *s);  /* NULL: null */
void add_reply_bulk_long_long(client *c, int64_t v); /* $n\r\n<digits> */
void add_reply_bulk_obj(client *c, const robj *o);   /* a string value */
void add_reply_null(client *c);                      /* $-1 / _ */
void add_reply_null_array(client *c);                /* *-1 / _ */
void add_reply_array_len(client *c, int64_t n);
void add_reply_map_len(client *c, int64_t n);  /* RESP2: *2n, RESP3: %n */
void add_reply_set_len(client *c, int64_t n);  /* RESP2: *n, RESP3: ~n */
void add_reply_push_len(client *c, int64_t n); /* RESP2: *n, RESP3: >n */
void add_reply_double(client *c, double d);    /* RESP2 bulk / RESP3 ,d */
/* A double as Redis prints scores when they are bulk strings in RESP2 and
 * RESP3 both (INCRBYFLOAT): "%.17Lg"-style humanized long double. */
void add_reply_human_long_double(client *c, long double d);
void add_reply_bool(client *c, bool b); /* RESP2 :1/:0, RESP3 #t/#f */
void add_reply_verbatim(client *c, const char *p, size_t len,
                        const char *ext); /* RESP3 =, RESP2 bulk */
/* Deferred lengths (KEYS, SCAN...): reserve, then set when known. */
size_t add_reply_deferred_len(client *c);
void set_deferred_array_len(client *c, size_t handle, int64_t n);
void set_deferred_map_len(client *c, size_t handle, int64_t n);
void set_deferred_set_len(client *c, size_t handle, int64_t n);

/* Formats a double as Redis does for replies/scores ("inf", "-inf", "%.17g"). */
int format_double(char *buf, size_t size, double d);
/* Formats a long double as Redis's ld2string humanized mode (INCRBYFLOAT). */
int format_long_double_human(char *buf, size_t size, long double d);

/* ------------------------------------------------------------------------ */
/* Argument parsing (object.c), with Redis's exact errors                   */
/* ------------------------------------------------------------------------ */

/* Strict parsing (no spaces, no "+", no leading zeros for ints, no
 * overflow). Return true on success. */
bool string_to_ll(const char *p, size_t len, int64_t *out);
bool string_to_ld(const char *p, size_t len, long double *out);
bool string_to_d(const char *p, size_t len, double *out);

/* Parse or reply the error and return false. Errors:
 *   "ERR value is not an integer or out of range"
 *   "ERR value is not a valid float"
 *   ranged: "ERR value is out of range, must be positive" etc. (msg given) */
bool get_long_long_or_reply(client *c, rslice arg, int64_t *out,
                            const char *msg /* NULL: default */);
bool get_long_or_reply(client *c, rslice arg, long *out, const char *msg);
bool get_range_long_or_reply(client *c, rslice arg, long min, long max,
                             long *out, const char *msg);
bool get_positive_long_or_reply(client *c, rslice arg, long *out,
                                const char *msg);
bool get_double_or_reply(client *c, rslice arg, double *out, const char *msg);
bool get_long_double_or_reply(client *c, rslice arg, long double *out,
                              const char *msg);
/* Timeouts for blocking commands ("ERR timeout is not a float or out of
 * range", "ERR timeout is negative"): absolute unix ms or 0 (forever). */
bool get_timeout_or_reply(client *c, rslice arg, int64_t *abs_ms);
/* The integer value of a string value (INCR): false if not an integer. */
bool robj_get_long_long(const robj *o, int64_t *out);

/* ------------------------------------------------------------------------ */
/* Commands (commands.c)                                                    */
/* ------------------------------------------------------------------------ */

enum {
    CMD_WRITE = 1u << 0,
    CMD_READONLY = 1u << 1,
    CMD_DENYOOM = 1u << 2, /* refused under maxmemory noeviction */
    CMD_ADMIN = 1u << 3,
    CMD_PUBSUB = 1u << 4,
    CMD_NOSCRIPT = 1u << 5,
    CMD_BLOCKING = 1u << 6,
    CMD_LOADING = 1u << 7,
    CMD_STALE = 1u << 8,
    CMD_FAST = 1u << 9,
    CMD_NO_AUTH = 1u << 10,  /* allowed before AUTH */
    CMD_NO_MULTI = 1u << 11, /* not queued inside MULTI */
    CMD_ALLOW_BUSY = 1u << 12,
    CMD_ALLOW_PUBSUB = 1u << 13, /* allowed in RESP2 subscribed context */
    CMD_MAY_REPLICATE = 1u << 14,
    CMD_SENTINEL = 1u << 15,
    CMD_NO_PROPAGATE = 1u << 16, /* never goes to the AOF */
    CMD_MOVABLE_KEYS = 1u << 17
};

typedef struct redis_command {
    const char *name; /* lowercase */
    void (*proc)(client *c);
    /* Redis's arity: N = exactly N args (name included), -N = at least N. */
    int arity;
    uint32_t flags;
    int firstkey, lastkey, step; /* as COMMAND INFO reports them */
    const char *group;           /* "string", "list", ... (COMMAND DOCS) */
    const char *summary;         /* COMMAND DOCS summary (may be NULL) */
    const char *since;           /* e.g. "1.0.0" (may be NULL) */
    /* Subcommands (CONFIG GET, CLIENT LIST): a table like the family's,
     * terminated by {0}, names "parent|sub" as Redis 7 spells them
     * ("config|get": error messages use it). NULL if none. */
    const struct redis_command *subcommands;
    /* Filled at startup: stats */
    uint64_t *calls_slot_;
} redis_command;

/* COMMAND DOCS "arguments": a command's synopsis (cmd_synopsis.c; NULL
 * if it takes none) and the reply built from it (cmd_args.c). */
const char *command_synopsis(const char *name);
void reply_command_args(client *c, const char *synopsis);

/* The family tables (each terminated by an entry with name NULL). */
extern const redis_command server_commands[]; /* server_cmds.c */
extern const redis_command key_commands[];    /* db.c */
extern const redis_command string_commands[]; /* t_string.c */
extern const redis_command list_commands[];   /* t_list.c */
extern const redis_command hash_commands[];   /* t_hash.c */
extern const redis_command set_commands[];    /* t_set.c */
extern const redis_command zset_commands[];   /* t_zset.c */
extern const redis_command pubsub_commands[]; /* pubsub.c */
extern const redis_command multi_commands[];  /* multi.c */
extern const redis_command aof_commands[];    /* aof.c */

void commands_init(void);
void command_table_foreach(void (*fn)(void *ctx, const redis_command *c),
                           void *ctx);
const redis_command *lookup_command(rslice name);
size_t command_count(void);
/* Runs c->argv as one command: lookup, arity, auth, pubsub context, OOM,
 * MULTI queueing (multi.c), then call(). Used by the connection and by AOF
 * loading (a fake client). */
void process_command(client *c);
/* Runs the handler with stats and propagation (used by EXEC too). */
void call(client *c, const redis_command *cmd);

/* MULTI hooks (multi.c): queue_multi_command is called by process_command
 * for a client in MULTI whose command is not EXEC/DISCARD/MULTI/WATCH/
 * QUIT/RESET; it must copy argv. flag_transaction marks a queueing error
 * (DIRTY_EXEC). touch_watched_key marks WATCHers dirty. */
void queue_multi_command(client *c);
/* EXEC itself was rejected (arity, NOAUTH, OOM...): discards the
 * transaction and replies "-EXECABORT Transaction discarded because of:
 * <msg>" (msg without its -ERR). */
void exec_abort(client *c, const char *msg);
void flag_transaction(client *c);
void touch_watched_key(redis_db *db, rslice key);
void touch_all_watched_keys_in_db(int dbid);

/* Blocked-list wake-up (t_list.c): a key was written. */
void signal_key_as_ready(redis_db *db, rslice key);
/* Serves the clients blocked on the keys made ready since the last call,
 * in the order they blocked (blocking.c). process_command calls it after
 * each command it ran (so after EXEC for pushes inside MULTI). */
void handle_clients_blocked_on_keys(void);
/* The number of blocked clients (INFO's blocked_clients). */
size_t blocking_clients_count(void);

/* Propagation (to the AOF). By default a write command that made the
 * server dirty (server.dirty grew during call()) is propagated as sent.
 * A handler may instead call propagate_command() with its own vector(s)
 * (SET EX -> SET PXAT, INCRBYFLOAT -> SET KEEPTTL, ...), which suppresses
 * the default for that call. */
void propagate_command(client *c, int argc, const rslice *argv);
/* Implemented by aof.c: append to the AOF (selecting dbid first). */
void aof_feed_command(int dbid, int argc, const rslice *argv);

/* ------------------------------------------------------------------------ */
/* AOF hooks (aof.c)                                                        */
/* ------------------------------------------------------------------------ */

/* At startup, after config and before accepting: load the AOF (using a
 * fake client and process_command) and spawn what it needs. Returns 0 or
 * -1 (startup fails with a log line). */
int aof_init(kr_runtime *rt);
/* At shutdown (SIGINT/SIGTERM/SHUTDOWN), with the lock held: flush and
 * fsync. */
void aof_shutdown(void);
/* CONFIG SET appendonly/appendfsync changed (lock held). */
void aof_config_changed(void);
/* Called from the server cron (every 100 ms, lock held). */
void aof_cron(void);
/* Replies wait for durability (appendfsync always). With the lock held,
 * when a batch of replies moves to the write buffer: the offset it must
 * wait for (0: none). Without the lock, before writing that buffer: true
 * if it may be written now, else the task is woken when it may. */
uint64_t aof_reply_offset(void);
bool aof_reply_ready(client *c, uint64_t offset, kr_context *cx);
/* The client goes away (lock held; called by multi_free_client). */
void aof_free_client(client *c);
/* EXEC's writes go to the AOF between MULTI and EXEC (multi.c). */
void aof_exec_begin(void);
void aof_exec_end(int dbid);
/* INFO persistence: the AOF's fields, written to buf; returns the length. */
size_t aof_info(char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/* The server                                                               */
/* ------------------------------------------------------------------------ */

enum { MAXMEMORY_NOEVICTION = 0, MAXMEMORY_ALLKEYS_LRU = 1 };
enum { AOF_FSYNC_NO = 0, AOF_FSYNC_ALWAYS = 1, AOF_FSYNC_EVERYSEC = 2 };

typedef struct redis_server {
    pthread_mutex_t lock; /* see "Threads and the keyspace" above */
    bool threaded;        /* --workers N: take the lock */
    kr_runtime *rt;
    redis_db db[REDIS_DBNUM];

    /* Config (config.c). */
    int port;
    char bind[256];
    unsigned workers;  /* 0 = current-thread */
    char *requirepass; /* NULL = none */
    unsigned maxclients;
    size_t client_max_querybuf_len;
    int64_t proto_max_bulk_len;
    int timeout_s; /* idle clients; 0 = never */
    size_t maxmemory;
    int maxmemory_policy;
    int maxmemory_samples;
    int hz;
    char dir[1024];
    bool appendonly;
    int appendfsync;
    char appendfilename[256];
    char logfile[256];
    int loglevel;
    int databases;
    /* pubsub output-buffer limits (bytes; 0 = none) */
    size_t pubsub_obuf_hard;
    size_t pubsub_obuf_soft;
    int pubsub_obuf_soft_s;
    bool aof_load_truncated; /* load an AOF with a torn tail (default yes) */
    char config_file[1024];

    /* State. */
    client *clients; /* list head */
    unsigned nclients;
    uint64_t next_client_id;
    uint64_t dirty; /* writes since start (propagation trigger) */
    int64_t start_ms;
    uint32_t lruclock; /* seconds, for robj.lru */
    bool shutdown_asap;
    bool loading;

    /* Stats. */
    uint64_t stat_numcommands;
    uint64_t stat_numconnections;
    uint64_t stat_rejected_conn;
    uint64_t stat_expiredkeys;
    uint64_t stat_evictedkeys;
    uint64_t stat_keyspace_hits;
    uint64_t stat_keyspace_misses;
    uint64_t stat_net_input_bytes;
    uint64_t stat_net_output_bytes;
    uint64_t stat_total_error_replies;
} redis_server;

extern redis_server server;

static inline void server_lock(void) {
    if (server.threaded)
        pthread_mutex_lock(&server.lock);
}
static inline void server_unlock(void) {
    if (server.threaded)
        pthread_mutex_unlock(&server.lock);
}

/* Logging to stderr (and logfile if set): levels as redis.conf. */
enum { LL_DEBUG = 0, LL_VERBOSE = 1, LL_NOTICE = 2, LL_WARNING = 3 };
void server_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Config (config.c). */
void config_init_defaults(void);
/* Loads a file; returns 0 or -1 after logging the line at fault. */
int config_load_file(const char *path);
/* Sets one parameter from text (the file, CONFIG SET, --name value).
 * Returns NULL or an error message (static). */
const char *config_set(const char *name, const char *value);
void config_command(client *c); /* CONFIG GET/SET/RESETSTAT/REWRITE */

/* Networking (networking.c). */
int server_listen_and_serve(kr_runtime *rt);
/* After the runtime is freed (the accept task is gone): frees the
 * listening socket. */
void server_close_listener(void);
void free_memory_if_needed_lru(void); /* allkeys-lru eviction (db.c) */
/* Requests a clean shutdown (SHUTDOWN, signals). */
void server_request_shutdown(void);

/* CLIENT, COMMAND, INFO (server_info.c) */
void info_command(client *c);
void client_command(client *c);
void command_command(client *c);
extern const redis_command client_subcommands[];
extern const redis_command command_subcommands[];
extern const redis_command config_subcommands[]; /* config.c */
/* SCAN's cursor ("ERR invalid cursor"), for HSCAN/SSCAN/ZSCAN too. */
bool parse_scan_cursor_or_reply(client *c, rslice arg, uint64_t *cursor);

#endif /* KAIRO_REDIS_SERVER_H */
