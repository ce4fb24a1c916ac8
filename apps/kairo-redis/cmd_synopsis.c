/*
 * cmd_synopsis.c: every command's argument synopsis, for COMMAND DOCS
 * (notation: cmd_args.c). Written from the commands' documented syntax;
 * the names are those Redis 7.0 gives its arguments, so that redis-cli's
 * hints read the same. tests/redis/cmddocs_test.py compares the trees
 * with redis-server's.
 */
#include <string.h>

#include "server.h"

#define EXPIRE_COND "condition=[NX|XX|GT|LT]"
#define SCAN_OPTS   "cursor:i [MATCH pattern:p] [COUNT count:i]"
#define LIMIT       "[LIMIT offset_count=(offset:i count:i)]"
#define WHERE       "wherefrom=(LEFT|RIGHT) whereto=(LEFT|RIGHT)"
#define EXP_OPTS                                                               \
    "EX seconds:i|PX milliseconds:i|EXAT unix-time-seconds:t|"                 \
    "PXAT unix-time-milliseconds:t"

static const struct {
    const char *name, *synopsis;
} synopses[] = {
    /* server, connection */
    {"bgsave", "[SCHEDULE]"},
    {"ping", "[message]"},
    {"echo", "message"},
    {"select", "index:i"},
    {"auth", "[username] password"},
    {"hello",
     "arguments=[protover:i [AUTH username_password=(username password)] "
     "[SETNAME clientname]]"},
    {"flushdb", "async=[ASYNC|SYNC]"},
    {"flushall", "async=[ASYNC|SYNC]"},
    {"shutdown", "nosave_save=[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]"},
    {"info", "[section ...]"},
    {"config|get", "parameter={parameter}..."},
    {"config|set", "parameter_value=(parameter value)..."},
    {"client|setname", "connection-name"},
    {"client|list",
     "[TYPE normal_master_replica_pubsub=(NORMAL|MASTER|REPLICA|PUBSUB)] "
     "[ID id={client-id:i ...}]"},
    {"client|kill",
     "filter=(ip:port|new-format=([ID client-id:i]|"
     "[TYPE normal_master_slave_pubsub=(NORMAL|MASTER|SLAVE|REPLICA|PUBSUB)]|"
     "[USER username]|[ADDR ip:port]|[LADDR ip:port]|"
     "[SKIPME yes/no])...)"},
    {"client|no-evict", "enabled=(ON|OFF)"},
    {"command|info", "[command-name ...]"},
    {"command|docs", "[command-name ...]"},
    {"command|list", "[FILTERBY filterby=(MODULE module-name|ACLCAT category|"
                     "PATTERN pattern:p)]"},
    /* keys */
    {"del", "key:k ..."},
    {"unlink", "key:k ..."},
    {"exists", "key:k ..."},
    {"type", "key:k"},
    {"expire", "key:k seconds:i " EXPIRE_COND},
    {"pexpire", "key:k milliseconds:i " EXPIRE_COND},
    {"expireat", "key:k unix-time-seconds:t " EXPIRE_COND},
    {"pexpireat", "key:k unix-time-milliseconds:t " EXPIRE_COND},
    {"ttl", "key:k"},
    {"pttl", "key:k"},
    {"expiretime", "key:k"},
    {"pexpiretime", "key:k"},
    {"persist", "key:k"},
    {"keys", "pattern:p"},
    {"scan", SCAN_OPTS " [TYPE type]"},
    {"rename", "key:k newkey:k"},
    {"renamenx", "key:k newkey:k"},
    /* transactions, pub/sub */
    {"watch", "key:k ..."},
    {"subscribe", "channel ..."},
    {"unsubscribe", "[channel ...]"},
    {"psubscribe", "pattern={pattern:p}..."},
    {"punsubscribe", "[pattern:p ...]"},
    {"publish", "channel message"},
    {"pubsub|channels", "[pattern:p]"},
    {"pubsub|numsub", "[channel ...]"},
    {"pubsub|shardchannels", "[pattern:p]"},
    {"pubsub|shardnumsub", "[shardchannel ...]"},
    /* hashes */
    {"hset", "key:k field_value=(field value)..."},
    {"hmset", "key:k field_value=(field value)..."},
    {"hsetnx", "key:k field value"},
    {"hget", "key:k field"},
    {"hmget", "key:k field ..."},
    {"hdel", "key:k field ..."},
    {"hlen", "key:k"},
    {"hstrlen", "key:k field"},
    {"hexists", "key:k field"},
    {"hgetall", "key:k"},
    {"hkeys", "key:k"},
    {"hvals", "key:k"},
    {"hincrby", "key:k field increment:i"},
    {"hincrbyfloat", "key:k field increment:d"},
    {"hscan", "key:k " SCAN_OPTS},
    /* lists */
    {"lpush", "key:k element ..."},
    {"rpush", "key:k element ..."},
    {"lpushx", "key:k element ..."},
    {"rpushx", "key:k element ..."},
    {"lpop", "key:k [count:i]"},
    {"rpop", "key:k [count:i]"},
    {"llen", "key:k"},
    {"lrange", "key:k start:i stop:i"},
    {"lindex", "key:k index:i"},
    {"lset", "key:k index:i element"},
    {"linsert", "key:k where=(BEFORE|AFTER) pivot element"},
    {"lrem", "key:k count:i element"},
    {"ltrim", "key:k start:i stop:i"},
    {"lmove", "source:k destination:k " WHERE},
    {"rpoplpush", "source:k destination:k"},
    {"blpop", "key:k ... timeout:d"},
    {"brpop", "key:k ... timeout:d"},
    {"blmove", "source:k destination:k " WHERE " timeout:d"},
    {"brpoplpush", "source:k destination:k timeout:d"},
    /* sets */
    {"sadd", "key:k member ..."},
    {"srem", "key:k member ..."},
    {"smove", "source:k destination:k member"},
    {"sismember", "key:k member"},
    {"smismember", "key:k member ..."},
    {"scard", "key:k"},
    {"smembers", "key:k"},
    {"spop", "key:k [count:i]"},
    {"srandmember", "key:k [count:i]"},
    {"sinter", "key:k ..."},
    {"sinterstore", "destination:k key:k ..."},
    {"sunion", "key:k ..."},
    {"sunionstore", "destination:k key:k ..."},
    {"sdiff", "key:k ..."},
    {"sdiffstore", "destination:k key:k ..."},
    {"sscan", "key:k " SCAN_OPTS},
    /* strings */
    {"get", "key:k"},
    {"set",
     "key:k value condition=[NX|XX] [GET] expiration=[" EXP_OPTS "|KEEPTTL]"},
    {"setnx", "key:k value"},
    {"setex", "key:k seconds:i value"},
    {"psetex", "key:k milliseconds:i value"},
    {"getset", "key:k value"},
    {"getdel", "key:k"},
    {"getex", "key:k expiration=[" EXP_OPTS "|PERSIST]"},
    {"mget", "key:k ..."},
    {"mset", "key_value=(key:k value)..."},
    {"msetnx", "key_value=(key:k value)..."},
    {"incr", "key:k"},
    {"decr", "key:k"},
    {"incrby", "key:k increment:i"},
    {"decrby", "key:k decrement:i"},
    {"incrbyfloat", "key:k increment:d"},
    {"append", "key:k value"},
    {"strlen", "key:k"},
    {"getrange", "key:k start:i end:i"},
    {"substr", "key:k start:i end:i"},
    {"setrange", "key:k offset:i value"},
    /* sorted sets */
    {"zadd", "key:k condition=[NX|XX] comparison=[GT|LT] [change=CH] "
             "[increment=INCR] score_member=(score:d member)..."},
    {"zincrby", "key:k increment:i member"},
    {"zrem", "key:k member ..."},
    {"zscore", "key:k member"},
    {"zmscore", "key:k member ..."},
    {"zcard", "key:k"},
    {"zcount", "key:k min:d max:d"},
    {"zlexcount", "key:k min max"},
    {"zrank", "key:k member"},
    {"zrevrank", "key:k member"},
    {"zrange",
     "key:k start stop sortby=[BYSCORE|BYLEX] [REV] " LIMIT " [WITHSCORES]"},
    {"zrevrange", "key:k start:i stop:i [WITHSCORES]"},
    {"zrangebyscore", "key:k min:d max:d [WITHSCORES] " LIMIT},
    {"zrevrangebyscore", "key:k max:d min:d [WITHSCORES] " LIMIT},
    {"zrangebylex", "key:k min max " LIMIT},
    {"zrevrangebylex", "key:k max min " LIMIT},
    {"zpopmin", "key:k [count:i]"},
    {"zpopmax", "key:k [count:i]"},
    {"zscan", "key:k " SCAN_OPTS},
};

const char *command_synopsis(const char *name) {
    for (size_t i = 0; i < sizeof(synopses) / sizeof(*synopses); i++)
        if (strcmp(synopses[i].name, name) == 0)
            return synopses[i].synopsis;
    return NULL;
}
