/*
 * multi.c: MULTI, EXEC, DISCARD, WATCH, UNWATCH, as Redis 7.0's multi.c.
 *
 * A client in MULTI has its commands copied (process_command calls
 * queue_multi_command) and answered +QUEUED; a command rejected while
 * queueing (unknown, wrong arity, OOM, ...) flags the transaction
 * (CLIENT_DIRTY_EXEC) and EXEC then answers EXECABORT. EXEC runs the queue
 * with call(), inside one hold of server.lock, so no other client's
 * command comes between; its writes go to the AOF between MULTI and EXEC.
 *
 * WATCH: each database has a table key -> the clients watching it; each
 * client a list of (db, key, expired-when-watched). Every write calls
 * touch_watched_key (signal_modified_key in db.c: commands, expiry,
 * eviction), FLUSHDB/FLUSHALL touch_all_watched_keys_in_db; a touched
 * client's EXEC answers a null array. As in Redis, a watched key that
 * expires before EXEC also fails it, unless it was already expired when
 * watched.
 */
#include <stdio.h>
#include <string.h>

#include "server.h"

typedef struct queued_cmd {
    const redis_command *cmd;
    int argc;
    rslice *argv; /* each argument zmalloc'd, NUL-terminated */
} queued_cmd;

typedef struct watched_key {
    int dbid;
    bool expired; /* already logically expired when watched */
    size_t len;
    char *key;
} watched_key;

struct multi_state {
    queued_cmd *cmds;
    int count, cap;
    watched_key *watched;
    int nwatched, capwatched;
};

/* Per database: key -> watchers (val.ptr: a client_vec). */
typedef struct client_vec {
    client **v;
    int n, cap;
} client_vec;

static dict *watched_keys[REDIS_DBNUM];

static multi_state *mstate_of(client *c) {
    if (c->mstate == NULL)
        c->mstate = zcalloc(sizeof(multi_state));
    return c->mstate;
}

/* ---- the queue -------------------------------------------------------------- */

static void free_queue(multi_state *ms) {
    for (int i = 0; i < ms->count; i++) {
        for (int j = 0; j < ms->cmds[i].argc; j++)
            zfree(ms->cmds[i].argv[j].ptr);
        zfree(ms->cmds[i].argv);
    }
    zfree(ms->cmds);
    ms->cmds = NULL;
    ms->count = ms->cap = 0;
}

void queue_multi_command(client *c) {
    /* No point keeping commands of a transaction that will abort anyway
     * (Redis does the same). */
    if (!(c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC))) {
        multi_state *ms = mstate_of(c);
        if (ms->count == ms->cap) {
            ms->cap = ms->cap ? ms->cap * 2 : 4;
            ms->cmds = zrealloc(ms->cmds, sizeof(queued_cmd) * (size_t)ms->cap);
        }
        queued_cmd *q = &ms->cmds[ms->count++];
        q->cmd = c->cmd;
        q->argc = c->argc;
        q->argv = zmalloc(sizeof(rslice) * (size_t)c->argc);
        for (int i = 0; i < c->argc; i++) {
            q->argv[i].ptr = zstrndup(c->argv[i].ptr, c->argv[i].len);
            q->argv[i].len = c->argv[i].len;
        }
    }
    add_reply_status(c, "QUEUED");
}

void flag_transaction(client *c) {
    if (c->flags & CLIENT_MULTI)
        c->flags |= CLIENT_DIRTY_EXEC;
}

/* ---- WATCH ------------------------------------------------------------------ */

static bool key_logically_expired(redis_db *db, const char *key, size_t len) {
    if (dict_find(db->keys, key, len) == NULL)
        return false;
    int64_t when = get_expire(db, rslice_of(key, len));
    return when != -1 && when <= command_time_ms();
}

static void watch_key(client *c, rslice key) {
    multi_state *ms = mstate_of(c);
    int dbid = c->db->id;
    for (int i = 0; i < ms->nwatched; i++) {
        watched_key *w = &ms->watched[i];
        if (w->dbid == dbid && w->len == key.len &&
            memcmp(w->key, key.ptr, key.len) == 0)
            return; /* already watched */
    }
    if (watched_keys[dbid] == NULL)
        watched_keys[dbid] = dict_new();
    bool existed;
    dict_entry *e =
        dict_add_or_find(watched_keys[dbid], key.ptr, key.len, &existed);
    if (!existed)
        e->val.ptr = zcalloc(sizeof(client_vec));
    client_vec *cv = e->val.ptr;
    if (cv->n == cv->cap) {
        cv->cap = cv->cap ? cv->cap * 2 : 2;
        cv->v = zrealloc(cv->v, sizeof(client *) * (size_t)cv->cap);
    }
    cv->v[cv->n++] = c;
    if (ms->nwatched == ms->capwatched) {
        ms->capwatched = ms->capwatched ? ms->capwatched * 2 : 4;
        ms->watched =
            zrealloc(ms->watched, sizeof(watched_key) * (size_t)ms->capwatched);
    }
    watched_key *w = &ms->watched[ms->nwatched++];
    w->dbid = dbid;
    w->len = key.len;
    w->key = zstrndup(key.ptr, key.len);
    w->expired = key_logically_expired(c->db, key.ptr, key.len);
}

static void unwatch_all(client *c) {
    multi_state *ms = c->mstate;
    if (ms == NULL || ms->nwatched == 0)
        return;
    for (int i = 0; i < ms->nwatched; i++) {
        watched_key *w = &ms->watched[i];
        dict *d = watched_keys[w->dbid];
        dict_entry *e = d ? dict_find(d, w->key, w->len) : NULL;
        if (e != NULL) {
            client_vec *cv = e->val.ptr;
            for (int j = 0; j < cv->n; j++) {
                if (cv->v[j] == c) {
                    memmove(&cv->v[j], &cv->v[j + 1],
                            sizeof(client *) * (size_t)(cv->n - j - 1));
                    cv->n--;
                    break;
                }
            }
            if (cv->n == 0) {
                zfree(cv->v);
                zfree(cv);
                dict_delete(d, w->key, w->len, NULL);
            }
        }
        zfree(w->key);
    }
    ms->nwatched = 0;
}

static watched_key *find_watched(client *c, int dbid, rslice key) {
    multi_state *ms = c->mstate;
    for (int i = 0; ms != NULL && i < ms->nwatched; i++) {
        watched_key *w = &ms->watched[i];
        if (w->dbid == dbid && w->len == key.len &&
            memcmp(w->key, key.ptr, key.len) == 0)
            return w;
    }
    return NULL;
}

void touch_watched_key(redis_db *db, rslice key) {
    dict *d = watched_keys[db->id];
    if (dict_size(d) == 0)
        return;
    dict_entry *e = dict_find(d, key.ptr, key.len);
    if (e == NULL)
        return;
    client_vec *cv = e->val.ptr;
    for (int i = 0; i < cv->n; i++) {
        client *c = cv->v[i];
        watched_key *w = find_watched(c, db->id, key);
        if (w != NULL && w->expired) {
            /* Watched when already expired, and now deleted: logically
             * nothing changed (it did not exist, and still does not). */
            if (dict_find(db->keys, key.ptr, key.len) == NULL) {
                w->expired = false;
                continue;
            }
        }
        c->flags |= CLIENT_DIRTY_CAS;
    }
}

void touch_all_watched_keys_in_db(int dbid) {
    for (int i = 0; i < REDIS_DBNUM; i++) {
        if (dbid != -1 && dbid != i)
            continue;
        dict *d = watched_keys[i];
        if (dict_size(d) == 0)
            continue;
        redis_db *db = &server.db[i];
        dict_iter it;
        dict_iter_init(&it, d);
        dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL) {
            /* Only keys that exist are changed by the flush. */
            if (dict_find(db->keys, e->key, e->keylen) == NULL)
                continue;
            client_vec *cv = e->val.ptr;
            rslice key = rslice_of(e->key, e->keylen);
            for (int j = 0; j < cv->n; j++) {
                watched_key *w = find_watched(cv->v[j], i, key);
                if (w != NULL && w->expired) {
                    w->expired = false;
                    continue;
                }
                cv->v[j]->flags |= CLIENT_DIRTY_CAS;
            }
        }
    }
}

/* A watched key that expired since WATCH fails the EXEC. */
static bool watched_key_expired(client *c) {
    multi_state *ms = c->mstate;
    for (int i = 0; ms != NULL && i < ms->nwatched; i++) {
        watched_key *w = &ms->watched[i];
        if (!w->expired &&
            key_logically_expired(&server.db[w->dbid], w->key, w->len))
            return true;
    }
    return false;
}

/* ---- commands ----------------------------------------------------------------- */

static void discard_transaction(client *c) {
    if (c->mstate != NULL)
        free_queue(c->mstate);
    c->flags &=
        ~(uint32_t)(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    unwatch_all(c);
}

void exec_abort(client *c, const char *msg) {
    discard_transaction(c);
    if (msg[0] == '-') {
        /* "-CODE text": keep the code, as Redis's "%s" of the error. */
        msg++;
    }
    char buf[512];
    snprintf(buf, sizeof(buf),
             "-EXECABORT Transaction discarded because of: %s", msg);
    add_reply_error(c, buf);
}

static void multi_command(client *c) {
    if (c->flags & CLIENT_MULTI) {
        add_reply_error(c, "MULTI calls can not be nested");
        return;
    }
    c->flags |= CLIENT_MULTI;
    add_reply_ok(c);
}

static void discard_command(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        add_reply_error(c, "DISCARD without MULTI");
        return;
    }
    discard_transaction(c);
    add_reply_ok(c);
}

static void exec_command(client *c) {
    if (!(c->flags & CLIENT_MULTI)) {
        add_reply_error(c, "EXEC without MULTI");
        return;
    }
    if (watched_key_expired(c))
        c->flags |= CLIENT_DIRTY_CAS;
    if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC)) {
        if (c->flags & CLIENT_DIRTY_EXEC)
            add_reply_error(c, "-EXECABORT Transaction discarded because of "
                               "previous errors.");
        else
            add_reply_null_array(c);
        discard_transaction(c);
        return;
    }
    multi_state *ms = mstate_of(c);
    unwatch_all(c);
    /* The queue is taken out of the client first: a queued MULTI-free
     * command cannot add to it, but a queued command must not see it. */
    queued_cmd *cmds = ms->cmds;
    int count = ms->count;
    ms->cmds = NULL;
    ms->count = ms->cap = 0;
    c->flags &= ~(uint32_t)CLIENT_MULTI;
    c->flags |= CLIENT_EXECUTING;

    rslice *orig_argv = c->argv;
    int orig_argc = c->argc, orig_cap = c->argv_cap;
    const redis_command *orig_cmd = c->cmd;
    add_reply_array_len(c, count);
    aof_exec_begin();
    for (int i = 0; i < count; i++) {
        c->argv = cmds[i].argv;
        c->argc = cmds[i].argc;
        c->argv_cap = cmds[i].argc;
        c->cmd = cmds[i].cmd;
        call(c, cmds[i].cmd);
        /* A command may have grown the vector (it is the client's for the
         * call): keep whatever it left, for freeing. */
        cmds[i].argv = c->argv;
        cmds[i].argc = c->argc;
    }
    aof_exec_end(c->db->id);
    c->argv = orig_argv;
    c->argc = orig_argc;
    c->argv_cap = orig_cap;
    c->cmd = orig_cmd;
    c->flags &= ~(uint32_t)(CLIENT_EXECUTING | CLIENT_DIRTY_CAS |
                            CLIENT_DIRTY_EXEC | CLIENT_MULTI);
    ms->cmds = cmds;
    ms->count = count;
    ms->cap = count;
    free_queue(ms);
}

static void watch_command(client *c) {
    if (c->flags & CLIENT_MULTI) {
        add_reply_error(c, "WATCH inside MULTI is not allowed");
        return;
    }
    /* No point watching once dirty: EXEC fails anyway. */
    if (!(c->flags & CLIENT_DIRTY_CAS))
        for (int i = 1; i < c->argc; i++)
            watch_key(c, c->argv[i]);
    add_reply_ok(c);
}

static void unwatch_command(client *c) {
    unwatch_all(c);
    c->flags &= ~(uint32_t)CLIENT_DIRTY_CAS;
    add_reply_ok(c);
}

void multi_free_client(client *c) {
    aof_free_client(c);
    if (c->mstate == NULL)
        return;
    free_queue(c->mstate);
    unwatch_all(c);
    zfree(c->mstate->watched);
    zfree(c->mstate);
    c->mstate = NULL;
}

const redis_command multi_commands[] = {
    {"multi", multi_command, 1,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY |
         CMD_NO_PROPAGATE,
     0, 0, 0, "transactions", "Starts a transaction.", "1.2.0", NULL, NULL},
    {"exec", exec_command, 1,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_PROPAGATE, 0, 0, 0,
     "transactions", "Executes all commands in a transaction.", "1.2.0", NULL,
     NULL},
    {"discard", discard_command, 1,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY |
         CMD_NO_PROPAGATE,
     0, 0, 0, "transactions", "Discards a transaction.", "2.0.0", NULL, NULL},
    {"watch", watch_command, -2,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY |
         CMD_NO_PROPAGATE,
     1, -1, 1, "transactions",
     "Monitors changes to keys to determine the execution of a transaction.",
     "2.2.0", NULL, NULL},
    {"unwatch", unwatch_command, 1,
     CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY |
         CMD_NO_PROPAGATE,
     0, 0, 0, "transactions", "Forgets about watched keys of a transaction.",
     "2.2.0", NULL, NULL},
    {0},
};
