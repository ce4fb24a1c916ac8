/*
 * aof.c: kairo-redis's persistence, on top of the AOF file module
 * (aof_file.h): loading at start, feeding the writes, holding replies back
 * until their writes are durable under `appendfsync always`, the rewrite
 * (BGREWRITEAOF, and SAVE/BGSAVE: see below), INFO's persistence fields,
 * and the flush at shutdown.
 *
 * Everything here runs with server.lock held (the hooks of server.h), so
 * the order in which commands are fed is the order in which they ran.
 *
 * Durability (`always`): a connection moves a batch of replies from obuf
 * to its write buffer under the lock (take_output in networking.c) and
 * records aof_reply_offset() then: the AOF offset after every write that
 * batch can have observed, its own or another client's. It writes the
 * buffer only once aof_reply_ready() says that offset is durable, so a
 * client never sees a reply to, or the effect of, a write that kill -9
 * could still take away. The writer's fsync covers every client fed in the
 * meantime (group commit), so the cost is one fsync per round, not per
 * client.
 *
 * SAVE and BGSAVE: kairo-redis has no RDB file; its only persistence is the
 * AOF. With appendonly yes, BGSAVE starts an AOF rewrite (as BGREWRITEAOF)
 * and SAVE runs one to its end before replying (it blocks this client's
 * worker while the child writes, as Redis's SAVE blocks the server). With
 * appendonly no both reply an error saying so, and so does BGREWRITEAOF
 * (Redis 7 would write an AOF anyway; here there is nothing to load it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aof_file.h"
#include "server.h"

/* The open AOF, NULL when appendonly is off. Files stopped by CONFIG SET
 * appendonly no stay allocated (retired) until exit: connection tasks may
 * still hold waiters on them (aof_file.h, rd_aof_stop). */
static rd_aof *aof;
#define MAX_RETIRED 64
static rd_aof *retired[MAX_RETIRED];
static int nretired;

/* EXEC wraps the writes it propagates in MULTI ... EXEC (multi.c). */
static bool exec_open, exec_multi_fed;

static rd_fsync policy_of(int appendfsync) {
    switch (appendfsync) {
    case AOF_FSYNC_ALWAYS:
        return RD_FSYNC_ALWAYS;
    case AOF_FSYNC_NO:
        return RD_FSYNC_NO;
    default:
        return RD_FSYNC_EVERYSEC;
    }
}

static void aof_log(int level, const char *msg) {
    server_log(level, "%s", msg);
}

static void aof_path(char *buf, size_t n) {
    if (server.appendfilename[0] == '/' || server.dir[0] == '\0')
        snprintf(buf, n, "%s", server.appendfilename);
    else
        snprintf(buf, n, "%s/%s", server.dir, server.appendfilename);
}

/* ---- feeding ---------------------------------------------------------------- */

static void feed(int dbid, int argc, const rslice *argv) {
    const char *ptrs[16] = {0};
    size_t lens[16] = {0};
    const char **pp = ptrs;
    size_t *lp = lens;
    if (argc > 16) {
        pp = zmalloc(sizeof(*pp) * (size_t)argc);
        lp = zmalloc(sizeof(*lp) * (size_t)argc);
    }
    for (int i = 0; i < argc; i++) {
        pp[i] = argv[i].ptr;
        lp[i] = argv[i].len;
    }
    rd_aof_feed(aof, dbid, argc, pp, lp);
    if (argc > 16) {
        zfree(pp);
        zfree(lp);
    }
}

void aof_feed_command(int dbid, int argc, const rslice *argv) {
    if (aof == NULL || server.loading)
        return;
    if (exec_open && !exec_multi_fed) {
        char m[] = "MULTI";
        rslice v = {m, 5};
        feed(dbid, 1, &v);
        exec_multi_fed = true;
    }
    feed(dbid, argc, argv);
}

void aof_exec_begin(void) {
    exec_open = true;
    exec_multi_fed = false;
}

void aof_exec_end(int dbid) {
    if (exec_open && exec_multi_fed && aof != NULL) {
        char e[] = "EXEC";
        rslice v = {e, 4};
        feed(dbid, 1, &v);
    }
    exec_open = exec_multi_fed = false;
}

/* ---- replies wait for durability -------------------------------------------- */

struct aof_client {
    rd_aof_wait wait;
    bool active;
};

uint64_t aof_reply_offset(void) {
    if (aof == NULL || rd_aof_policy(aof) != RD_FSYNC_ALWAYS)
        return 0;
    return rd_aof_offset(aof);
}

bool aof_reply_ready(client *c, uint64_t offset, kr_context *cx) {
    if (offset == 0)
        return true;
    server_lock();
    rd_aof *a = aof;
    if (a == NULL || rd_aof_durable(a) >= offset) {
        if (c->aofw != NULL && c->aofw->active) {
            kr_future_drop(&c->aofw->wait.base);
            c->aofw->active = false;
        }
        server_unlock();
        return true;
    }
    if (c->aofw == NULL)
        c->aofw = zcalloc(sizeof(*c->aofw));
    struct aof_client *w = c->aofw;
    /* A waiter for another file or offset is replaced (never changed in
     * place: the writer reads a linked waiter's offset under its mutex). */
    if (w->active && (w->wait.aof_ != a || w->wait.offset_ != offset)) {
        kr_future_drop(&w->wait.base);
        w->active = false;
    }
    if (!w->active) {
        rd_aof_wait_init(&w->wait, a, offset);
        w->active = true;
    }
    bool ready = kr_future_poll(&w->wait.base, cx, NULL) == KR_READY;
    if (ready) {
        kr_future_drop(&w->wait.base);
        w->active = false;
    }
    server_unlock();
    return ready;
}

void aof_free_client(client *c) {
    if (c->aofw == NULL)
        return;
    if (c->aofw->active)
        kr_future_drop(&c->aofw->wait.base);
    zfree(c->aofw);
    c->aofw = NULL;
}

/* ---- loading ---------------------------------------------------------------- */

typedef struct loader {
    client *fake;
    const char *path;
} loader;

static int load_one(void *ud, int argc, char **argv, size_t *lens) {
    loader *l = ud;
    client *c = l->fake;
    if (lookup_command(rslice_of(argv[0], lens[0])) == NULL) {
        server_log(LL_WARNING,
                   "Unknown command '%.64s' reading the append only file %s",
                   argv[0], l->path);
        return KR_EINVAL;
    }
    if (argc > c->argv_cap) {
        c->argv = zrealloc(c->argv, sizeof(rslice) * (size_t)argc);
        c->argv_cap = argc;
    }
    for (int i = 0; i < argc; i++)
        c->argv[i] = rslice_of(argv[i], lens[i]);
    c->argc = argc;
    process_command(c);
    c->argc = 0;
    c->obuf.len = 0;
    return 0;
}

int aof_init(kr_runtime *rt) {
    rd_aof_set_log(aof_log);
    if (!server.appendonly)
        return 0;
    char path[2048];
    aof_path(path, sizeof(path));
    int64_t t0 = ustime();
    loader l = {client_new_fake(false), path};
    rd_aof_load_info info;
    server_lock();
    int rc = rd_aof_load(path, server.aof_load_truncated, load_one, &l, &info);
    client_free_fake(l.fake);
    server_unlock();
    if (rc != 0) {
        server_log(LL_WARNING, "Loading the append only file %s failed: %s",
                   path, kr_strerror(rc));
        return -1;
    }
    if (info.size > 0)
        server_log(LL_NOTICE,
                   "DB loaded from append only file: %.3f seconds "
                   "(%llu commands)",
                   (double)(ustime() - t0) / 1e6,
                   (unsigned long long)info.commands);
    rc = rd_aof_open(path, policy_of(server.appendfsync), rt, &aof);
    if (rc != 0) {
        server_log(LL_WARNING, "Can't open the append-only file %s: %s", path,
                   kr_strerror(rc));
        return -1;
    }
    return 0;
}

static void stop_aof(void) {
    if (aof == NULL)
        return;
    int rc = rd_aof_stop(aof);
    if (rc != 0)
        server_log(LL_WARNING, "Error flushing the AOF at stop: %s",
                   kr_strerror(rc));
    if (nretired < MAX_RETIRED)
        retired[nretired++] = aof;
    aof = NULL;
}

void aof_shutdown(void) {
    if (aof != NULL)
        server_log(LL_NOTICE, "Calling fsync() on the AOF file.");
    stop_aof();
}

/* ---- the rewrite -------------------------------------------------------------- */

/* The child's output: commands gathered in a buffer, written in 64 KiB
 * pieces. */
typedef struct snap {
    int fd;
    rd_buf b;
    int rc;
} snap;

static void snap_flush(snap *s, bool force) {
    if (s->rc == 0 && (force || s->b.len >= (64u << 10))) {
        s->rc = rd_aof_write_all(s->fd, s->b.p, s->b.len);
        s->b.len = 0;
    }
}

static void snap_emit(void *ctx, int argc, const rslice *argv) {
    snap *s = ctx;
    const char *ptrs[70];
    size_t lens[70];
    if (argc > 70) {
        /* Families batch 64 items per command (Redis's
         * AOF_REWRITE_ITEMS_PER_CMD); more is a bug, not data to lose. */
        s->rc = KR_EINVAL;
        return;
    }
    for (int i = 0; i < argc; i++) {
        ptrs[i] = argv[i].ptr;
        lens[i] = argv[i].len;
    }
    if (rd_buf_put_cmd(&s->b, argc, ptrs, lens) != 0)
        s->rc = KR_ENOMEM;
    snap_flush(s, false);
}

/* Runs in the forked child: the whole dataset as commands. */
static int snapshot(void *ud, int fd) {
    (void)ud;
    snap s = {fd, {NULL, 0, 0}, 0};
    int64_t now = mstime();
    for (int i = 0; i < REDIS_DBNUM && s.rc == 0; i++) {
        redis_db *db = &server.db[i];
        if (dict_size(db->keys) == 0)
            continue;
        char n[8];
        snprintf(n, sizeof(n), "%d", i);
        rd_buf_put_cmdv(&s.b, 2, "SELECT", n);
        dict_iter it;
        dict_iter_init(&it, db->keys);
        dict_entry *e;
        while ((e = dict_iter_next(&it)) != NULL && s.rc == 0) {
            rslice key = rslice_of(e->key, e->keylen);
            int64_t when = get_expire(db, key);
            if (when != -1 && when <= now)
                continue; /* expired: would only be deleted on load */
            const robj *o = e->val.ptr;
            const robj_type_ops *ops = robj_ops(o);
            if (ops->rewrite == NULL) {
                fprintf(stderr, "AOF rewrite: no rewrite for type %s\n",
                        ops->name);
                s.rc = KR_EINVAL;
                break;
            }
            ops->rewrite(o, key, snap_emit, &s);
            if (when != -1) {
                char ms[32];
                int k = snprintf(ms, sizeof(ms), "%lld", (long long)when);
                rslice argv[3] = {
                    {(char *)"PEXPIREAT", 9}, key, {ms, (size_t)k}};
                snap_emit(&s, 3, argv);
            }
        }
    }
    snap_flush(&s, true);
    rd_buf_free(&s.b);
    return s.rc;
}

static bool rewrite_in_progress(void) {
    if (aof == NULL)
        return false;
    rd_aof_stats st;
    rd_aof_get_stats(aof, &st);
    return st.rewrite_in_progress;
}

static int start_rewrite(void) {
    if (aof == NULL)
        return KR_EINVAL;
    return rd_aof_rewrite_start(aof, snapshot, NULL);
}

static const char no_aof_msg[] =
    "kairo-redis persists only through the append-only file: "
    "CONFIG SET appendonly yes first";

static void bgrewriteaof_command(client *c) {
    if (aof == NULL) {
        add_reply_error(c, no_aof_msg);
        return;
    }
    if (rewrite_in_progress()) {
        add_reply_error(c, "Background append only file rewriting already "
                           "in progress");
        return;
    }
    int rc = start_rewrite();
    if (rc != 0) {
        add_reply_error_fmt(c,
                            "Can't execute an AOF background rewriting: "
                            "%s",
                            kr_strerror(rc));
        return;
    }
    add_reply_status(c, "Background append only file rewriting started");
}

static void bgsave_command(client *c) {
    if (aof == NULL) {
        add_reply_error(c, no_aof_msg);
        return;
    }
    if (rewrite_in_progress()) {
        add_reply_error(c, "Background save already in progress");
        return;
    }
    int rc = start_rewrite();
    if (rc != 0) {
        add_reply_error_fmt(c, "Background save failed: %s", kr_strerror(rc));
        return;
    }
    add_reply_status(c, "Background saving started");
}

static void save_command(client *c) {
    if (aof == NULL) {
        add_reply_error(c, no_aof_msg);
        return;
    }
    if (rewrite_in_progress()) {
        add_reply_error(c, "Background save already in progress");
        return;
    }
    int rc = start_rewrite();
    if (rc == 0)
        rc = rd_aof_rewrite_wait(aof);
    if (rc != 0) {
        add_reply_error_fmt(c, "Save failed: %s", kr_strerror(rc));
        return;
    }
    add_reply_ok(c);
}

void aof_config_changed(void) {
    /* From the config file or the command line: aof_init does it. */
    if (server.rt == NULL || server.loading)
        return;
    if (server.appendonly && aof == NULL) {
        /* Turned on at run time: the file is made from the dataset by a
         * rewrite, as Redis's startAppendOnly. */
        char path[2048];
        aof_path(path, sizeof(path));
        int rc =
            rd_aof_open(path, policy_of(server.appendfsync), server.rt, &aof);
        if (rc != 0) {
            server_log(LL_WARNING, "Can't open the append-only file %s: %s",
                       path, kr_strerror(rc));
            server.appendonly = false;
            return;
        }
        rc = start_rewrite();
        if (rc != 0)
            server_log(LL_WARNING, "Can't rewrite the new AOF: %s",
                       kr_strerror(rc));
    } else if (!server.appendonly && aof != NULL) {
        stop_aof();
    } else if (aof != NULL) {
        rd_aof_set_policy(aof, policy_of(server.appendfsync));
    }
}

void aof_cron(void) {}

/* INFO's persistence section (the AOF part), appended to buf. */
size_t aof_info(char *buf, size_t cap) {
    rd_aof_stats st = {0};
    if (aof != NULL)
        rd_aof_get_stats(aof, &st);
    int n = snprintf(
        buf, cap,
        "loading:%d\r\n"
        "aof_enabled:%d\r\n"
        "aof_rewrite_in_progress:%d\r\n"
        "aof_rewrite_scheduled:0\r\n"
        "aof_last_rewrite_time_sec:%lld\r\n"
        "aof_last_bgrewrite_status:%s\r\n"
        "aof_rewrites:%llu\r\n"
        "aof_last_write_status:%s\r\n",
        server.loading ? 1 : 0, aof != NULL ? 1 : 0,
        st.rewrite_in_progress ? 1 : 0,
        st.last_rewrite_ms < 0 ? -1LL : (long long)(st.last_rewrite_ms / 1000),
        st.last_rewrite_status == 0 ? "ok" : "err",
        (unsigned long long)st.rewrites,
        aof != NULL && rd_aof_write_error(aof) != 0 ? "err" : "ok");
    if (n < 0)
        return 0;
    size_t len = (size_t)n < cap ? (size_t)n : cap;
    if (aof != NULL && len < cap) {
        n = snprintf(buf + len, cap - len,
                     "aof_current_size:%llu\r\n"
                     "aof_base_size:%llu\r\n"
                     "aof_buffer_length:0\r\n",
                     (unsigned long long)rd_aof_size(aof),
                     (unsigned long long)st.base_size);
        if (n > 0)
            len += (size_t)n < cap - len ? (size_t)n : cap - len;
    }
    return len;
}

const redis_command aof_commands[] = {
    {"bgrewriteaof", bgrewriteaof_command, 1,
     CMD_NOSCRIPT | CMD_ADMIN | CMD_NO_PROPAGATE, 0, 0, 0, "server",
     "Asynchronously rewrites the append-only file to disk.", "1.0.0", NULL,
     NULL},
    {"bgsave", bgsave_command, -1, CMD_NOSCRIPT | CMD_ADMIN | CMD_NO_PROPAGATE,
     0, 0, 0, "server", "Asynchronously saves the database(s) to disk.",
     "1.0.0", NULL, NULL},
    {"save", save_command, 1,
     CMD_NOSCRIPT | CMD_ADMIN | CMD_NO_MULTI | CMD_NO_PROPAGATE, 0, 0, 0,
     "server", "Synchronously saves the database(s) to disk.", "1.0.0", NULL,
     NULL},
    {0},
};
