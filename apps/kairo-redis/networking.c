/*
 * networking.c: clients and their connection tasks.
 *
 * One kairo task per connection, a hand-written future (conn_poll) that
 * owns the stream and loops:
 *   read   into the query buffer (16 KB at a time, or the rest of a large
 *          bulk), until the socket is drained (a short read clears the
 *          readiness, so the next read future is PENDING without a
 *          syscall);
 *   run    every complete command in what was read, with server.lock
 *          held once for the whole batch; replies go to c->obuf;
 *   write  obuf, swapped (under the lock) into the task's own write
 *          buffer: one write(2) per batch of replies, never one per reply.
 * Other clients may append to c->obuf (PUBLISH, a push serving a blocked
 * pop) and wake the task with client_wake(); the task stores its waker
 * under the lock at the start of every poll so no wake-up is lost.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "networking.h"

#define READ_CHUNK   (16 * 1024) /* Redis's PROTO_IOBUF_LEN */
#define MAX_PREALLOC (64 * 1024 * 1024)

struct conn_task {
    kr_tcp_stream *s;
    client *c;
    kr_tcp_read rd;
    kr_tcp_write wr;
    kr_sleep timer;
    bool rd_active, wr_active, timer_active;
    rbuf wbuf; /* what is being written; owned by the task */
    size_t wpos;
    kr_waker waker; /* guarded by server.lock */
};

typedef struct conn_future {
    kr_future base;
    struct conn_task *t;
} conn_future;

/* ------------------------------------------------------------------------ */
/* Clients                                                                  */
/* ------------------------------------------------------------------------ */

static client *client_new(void) {
    client *c = zcalloc(sizeof(*c));
    c->id = ++server.next_client_id;
    c->resp = 2;
    c->db = &server.db[0];
    c->bulklen = -1;
    c->ctime_ms = c->last_interaction_ms = mstime();
    if (server.requirepass == NULL)
        c->flags |= CLIENT_AUTHENTICATED;
    return c;
}

static void client_link(client *c) {
    c->next_client = server.clients;
    c->prev_client = NULL;
    if (server.clients != NULL)
        server.clients->prev_client = c;
    server.clients = c;
    server.nclients++;
}

static void client_unlink(client *c) {
    if (c->prev_client != NULL)
        c->prev_client->next_client = c->next_client;
    else
        server.clients = c->next_client;
    if (c->next_client != NULL)
        c->next_client->prev_client = c->prev_client;
    server.nclients--;
}

/* Lock held. Family state first: they may still look at the client. */
static void client_release(client *c) {
    multi_free_client(c);
    pubsub_free_client(c);
    blocking_free_client(c);
    zfree(c->name);
    zfree(c->argv);
    zfree(c->qbuf);
    zfree(c->obuf.buf);
    zfree(c);
}

client *client_new_fake(bool keep_replies) {
    client *c = client_new();
    c->flags |= CLIENT_FAKE | CLIENT_AUTHENTICATED;
    if (!keep_replies)
        c->flags |= CLIENT_NO_REPLY;
    snprintf(c->addr, sizeof(c->addr), "fake");
    return c;
}

void client_free_fake(client *c) { client_release(c); }

void client_wake(client *c) {
    if (c->conn != NULL && c->conn->waker.vtable != NULL)
        kr_waker_wake_by_ref(&c->conn->waker);
}

void client_close_async(client *c) {
    c->flags |= CLIENT_CLOSE_ASAP;
    client_wake(c);
}

void block_client(client *c, int64_t timeout_ms, void (*on_timeout)(client *)) {
    c->flags |= CLIENT_BLOCKED;
    c->block_timeout_ms = timeout_ms;
    c->block_on_timeout = on_timeout;
}

void unblock_client(client *c) {
    c->flags &= ~(uint32_t)CLIENT_BLOCKED;
    c->block_timeout_ms = 0;
    c->block_on_timeout = NULL;
    client_wake(c);
}

void process_input(client *c) {
    while (c->qpos < c->qlen) {
        if (c->flags &
            (CLIENT_BLOCKED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP))
            break;
        int r = parse_command(c);
        if (r <= 0)
            break;
        if (c->argc > 0)
            process_command(c);
        c->argc = 0;
    }
}

/* ------------------------------------------------------------------------ */
/* The connection task                                                      */
/* ------------------------------------------------------------------------ */

/* Moves the argument pointers of a partly parsed command by delta. */
static void fix_argv(client *c, char *old, char *now) {
    for (int i = 0; i < c->argc; i++)
        c->argv[i].ptr = now + (c->argv[i].ptr - old);
}

/* Makes room to read into. (The query buffer limit is checked after each
 * read, under the lock.) Returns true. */
static bool prepare_read(client *c) {
    if (c->reqtype == 0 && c->qpos == c->qlen) {
        c->qpos = c->qlen = 0;
    } else {
        size_t start = c->reqtype ? c->cmd_start : c->qpos;
        if (start > 0 && c->qcap - c->qlen < READ_CHUNK) {
            memmove(c->qbuf, c->qbuf + start, c->qlen - start);
            fix_argv(c, c->qbuf + start, c->qbuf);
            c->qlen -= start;
            c->qpos -= start;
            c->cmd_start -= c->reqtype ? start : 0;
            if (!c->reqtype)
                c->cmd_start = 0;
        }
    }
    /* Room for the rest of a large bulk in one allocation, but at most
     * 64 MiB ahead of what has arrived: a header alone ("$536870912")
     * does not make the server reserve half a gigabyte. */
    size_t want = parse_bytes_wanted(c);
    if (want > MAX_PREALLOC)
        want = MAX_PREALLOC;
    if (want < READ_CHUNK)
        want = READ_CHUNK;
    if (c->qcap - c->qlen < want) {
        size_t cap = c->qlen + want;
        char *old = c->qbuf;
        c->qbuf = zrealloc(c->qbuf, cap + 1);
        c->qcap = cap;
        if (old != NULL)
            fix_argv(c, old, c->qbuf);
    }
    return true;
}

static void conn_close(struct conn_task *t) {
    if (t->rd_active)
        kr_future_drop(&t->rd.base);
    if (t->wr_active)
        kr_future_drop(&t->wr.base);
    if (t->timer_active)
        kr_future_drop(&t->timer.base);
    t->rd_active = t->wr_active = t->timer_active = false;
    server_lock();
    client_unlink(t->c);
    kr_waker_reset(&t->waker);
    t->c->conn = NULL;
    client_release(t->c);
    server_unlock();
    kr_tcp_stream_free(t->s);
    zfree(t->wbuf.buf);
    zfree(t);
}

/* Lock held: moves pending replies to the write buffer if it is empty. */
static void take_output(struct conn_task *t) {
    client *c = t->c;
    if (t->wpos == t->wbuf.len && c->obuf.len > 0) {
        rbuf tmp = t->wbuf;
        server.stat_net_output_bytes += c->obuf.len;
        t->wbuf = c->obuf;
        t->wpos = 0;
        /* appendfsync always: these replies wait for the AOF (aof.c). */
        c->aof_offset = aof_reply_offset();
        tmp.len = 0;
        /* A buffer grown by one huge reply is not kept for ever. */
        if (tmp.cap > 1024 * 1024) {
            zfree(tmp.buf);
            tmp.buf = NULL;
            tmp.cap = 0;
        }
        c->obuf = tmp;
    }
    c->wpending = t->wbuf.len - t->wpos;
}

static kr_poll conn_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    conn_future *cf = (conn_future *)f;
    struct conn_task *t = cf->t;
    client *c = t->c;
    const uint32_t closing = CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP;
    bool first = true;

    for (;;) {
        bool progress = false;

        /* A snapshot of what other clients may change, under the lock. */
        server_lock();
        if (first)
            kr_waker_set(&t->waker, cx->waker);
        first = false;
        take_output(t);
        uint32_t flags = c->flags;
        int64_t block_deadline = c->block_timeout_ms;
        bool obuf_empty = c->obuf.len == 0;
        server_unlock();

        if (flags & CLIENT_CLOSE_ASAP)
            goto close;
        if ((flags & CLIENT_CLOSE_AFTER_REPLY) && !t->wr_active &&
            t->wpos == t->wbuf.len && obuf_empty)
            goto close;

        if (!(flags & (CLIENT_BLOCKED | closing)) && c->qpos < c->qlen &&
            c->reqtype == 0) {
            /* Unblocked, with commands waiting in the buffer. */
            server_lock();
            update_cached_time();
            process_input(c);
            take_output(t);
            server_unlock();
            progress = true;
        }

        /* Read and run. */
        if (!t->rd_active && !(flags & closing)) {
            if (!prepare_read(c))
                goto close;
            t->rd =
                kr_tcp_stream_read(t->s, c->qbuf + c->qlen, c->qcap - c->qlen);
            t->rd_active = true;
        }
        if (t->rd_active) {
            int64_t n = 0;
            if (kr_future_poll(&t->rd.base, cx, &n) == KR_READY) {
                kr_future_drop(&t->rd.base);
                t->rd_active = false;
                if (n <= 0)
                    goto close; /* EOF or error: Redis frees at once */
                c->qlen += (size_t)n;
                server_lock();
                if (c->qlen - (c->reqtype ? c->cmd_start : c->qpos) >
                    server.client_max_querybuf_len) {
                    server_log(LL_WARNING,
                               "Closing client that reached max query buffer "
                               "length: id=%llu addr=%s qbuf=%zu",
                               (unsigned long long)c->id, c->addr, c->qlen);
                    server_unlock();
                    goto close;
                }
                server.stat_net_input_bytes += (uint64_t)n;
                update_cached_time();
                c->last_interaction_ms = command_time_ms();
                process_input(c);
                take_output(t);
                flags = c->flags;
                block_deadline = c->block_timeout_ms;
                server_unlock();
                progress = true;
            }
        }

        /* Blocked: its timeout. */
        if ((flags & CLIENT_BLOCKED) && block_deadline != 0) {
            if (!t->timer_active) {
                int64_t wait = block_deadline - mstime();
                t->timer = kr_sleep_for(kr_ms(wait > 0 ? wait : 0));
                t->timer_active = true;
            }
            if (kr_future_poll(&t->timer.base, cx, NULL) == KR_READY) {
                kr_future_drop(&t->timer.base);
                t->timer_active = false;
                server_lock();
                update_cached_time();
                if ((c->flags & CLIENT_BLOCKED) && c->block_timeout_ms != 0 &&
                    c->block_timeout_ms <= mstime() &&
                    c->block_on_timeout != NULL)
                    c->block_on_timeout(c);
                take_output(t);
                server_unlock();
                progress = true;
            }
        } else if (t->timer_active) {
            kr_future_drop(&t->timer.base);
            t->timer_active = false;
        }

        /* Write (once the writes these replies report are durable). */
        if (!t->wr_active && t->wpos < t->wbuf.len &&
            aof_reply_ready(c, c->aof_offset, cx)) {
            t->wr = kr_tcp_stream_write(t->s, t->wbuf.buf + t->wpos,
                                        t->wbuf.len - t->wpos);
            t->wr_active = true;
        }
        if (t->wr_active) {
            int64_t n = 0;
            if (kr_future_poll(&t->wr.base, cx, &n) == KR_READY) {
                kr_future_drop(&t->wr.base);
                t->wr_active = false;
                if (n < 0)
                    goto close;
                t->wpos += (size_t)n;
                if (t->wpos == t->wbuf.len)
                    t->wpos = t->wbuf.len = 0;
                progress = true;
            }
        }

        if (!progress)
            return KR_PENDING;
    }
close:
    conn_close(t);
    cf->t = NULL;
    return KR_READY;
}

static void conn_drop(kr_future *f) {
    conn_future *cf = (conn_future *)f;
    if (cf->t != NULL) {
        conn_close(cf->t);
        cf->t = NULL;
    }
}

static const kr_future_vtable conn_vtable = {
    conn_poll, conn_drop, sizeof(conn_future), 0, "kairo-redis connection"};

static void new_connection(kr_tcp_stream *s, const kr_sockaddr *peer) {
    kr_tcp_stream_set_nodelay(s, true);
    server_lock();
    if (server.nclients >= server.maxclients) {
        server.stat_rejected_conn++;
        server_unlock();
        static const char msg[] = "-ERR max number of clients reached\r\n";
        /* Best effort, as Redis: the socket is new, its buffer empty. */
        ssize_t w = send(kr_tcp_stream_fd(s), msg, sizeof(msg) - 1,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;
        kr_tcp_stream_free(s);
        return;
    }
    client *c = client_new();
    kr_sockaddr_format(peer, c->addr, sizeof(c->addr));
    kr_sockaddr local;
    if (kr_tcp_stream_local_addr(s, &local) == 0)
        kr_sockaddr_format(&local, c->laddr, sizeof(c->laddr));
    struct conn_task *t = zcalloc(sizeof(*t));
    t->s = s;
    t->c = c;
    c->conn = t;
    client_link(c);
    server.stat_numconnections++;
    server_unlock();
    conn_future cf = {{&conn_vtable}, t};
    if (kr_spawn(&cf.base, NULL) != 0) {
        server_lock();
        client_unlink(c);
        c->conn = NULL;
        client_release(c);
        server_unlock();
        kr_tcp_stream_free(s);
        zfree(t);
    }
}

/* ------------------------------------------------------------------------ */
/* The accept loop                                                          */
/* ------------------------------------------------------------------------ */

typedef struct accept_future {
    kr_future base;
    kr_tcp_listener *l;
    kr_tcp_accept acc;
    bool active;
    kr_tcp_stream *s;
    kr_sockaddr peer;
} accept_future;

static kr_poll accept_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    accept_future *a = (accept_future *)f;
    for (;;) {
        if (!a->active) {
            a->acc = kr_tcp_listener_accept(a->l, &a->s, &a->peer);
            a->active = true;
        }
        int r = 0;
        if (kr_future_poll(&a->acc.base, cx, &r) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&a->acc.base);
        a->active = false;
        if (r == KR_ESHUTDOWN || r == KR_EBADF)
            return KR_READY;
        if (r < 0) {
            server_log(LL_WARNING, "Accepting client connection: %s",
                       kr_strerror(r));
            continue;
        }
        new_connection(a->s, &a->peer);
    }
}

static void accept_drop(kr_future *f) {
    accept_future *a = (accept_future *)f;
    if (a->active)
        kr_future_drop(&a->acc.base);
    a->active = false;
}

static const kr_future_vtable accept_vtable = {
    accept_poll, accept_drop, sizeof(accept_future), 0, "kairo-redis accept"};

static kr_tcp_listener *listener; /* freed by server_close_listener */

void server_close_listener(void) {
    kr_tcp_listener_free(listener);
    listener = NULL;
}

int server_listen_and_serve(kr_runtime *rt) {
    kr_sockaddr addr;
    int r = kr_sockaddr_from_ip(server.bind, server.port, &addr);
    if (r != 0) {
        server_log(LL_WARNING, "Invalid bind address '%s'", server.bind);
        return r;
    }
    kr_tcp_listen_options opts = {511, false}; /* Redis's tcp-backlog */
    kr_tcp_listener *l;
    r = kr_tcp_listener_bind(rt, &addr, &opts, &l);
    if (r != 0) {
        server_log(LL_WARNING,
                   "Could not create server TCP listening "
                   "socket %s:%d: %s",
                   server.bind, server.port, kr_strerror(r));
        return r;
    }
    if (server.port == 0) {
        kr_sockaddr bound;
        kr_tcp_listener_local_addr(l, &bound);
        server.port = kr_sockaddr_port(&bound);
    }
    accept_future a;
    memset(&a, 0, sizeof(a));
    a.base.vtable = &accept_vtable;
    a.l = l;
    r = kr_runtime_spawn(rt, &a.base, NULL);
    if (r != 0) {
        kr_tcp_listener_free(l);
        return r;
    }
    listener = l;
    return 0;
}
