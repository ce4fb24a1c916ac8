/*
 * server.c: main(), the clocks, logging, the cron task and shutdown.
 *
 *   kairo-redis [config-file] [--port N] [--bind ADDR]
 *               [--workers N | --current-thread] [--config FILE]
 *               [--<any config parameter> <value>]
 *
 * The default is --current-thread: one thread runs every connection, as
 * redis-server does. --workers N runs them on N kairo workers, sharing the
 * keyspace under server.lock (server.h, "Threads and the keyspace").
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

redis_server server;

/* ------------------------------------------------------------------------ */
/* Clocks                                                                   */
/* ------------------------------------------------------------------------ */

static int64_t cached_ms;

int64_t ustime(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mstime(void) { return ustime() / 1000; }

void update_cached_time(void) { cached_ms = mstime(); }

int64_t command_time_ms(void) { return cached_ms; }

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

void server_log(int level, const char *fmt, ...) {
    if (level < server.loglevel)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t n = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03d", (int)(tv.tv_usec / 1000));
    static const char marks[] = ".-*#";
    fprintf(stderr, "%d:M %s %c %s\n", (int)getpid(), when, marks[level & 3],
            msg);
}

/* ------------------------------------------------------------------------ */
/* The cron task (server.hz times a second)                                 */
/* ------------------------------------------------------------------------ */

static void clients_cron(void) {
    if (server.timeout_s <= 0)
        return;
    int64_t now = mstime();
    for (client *c = server.clients; c != NULL; c = c->next_client) {
        if (c->flags & (CLIENT_BLOCKED | CLIENT_PUBSUB | CLIENT_FAKE))
            continue;
        if (now - c->last_interaction_ms > (int64_t)server.timeout_s * 1000) {
            server_log(LL_VERBOSE, "Closing idle client");
            client_close_async(c);
        }
    }
}

static void server_cron(void) {
    update_cached_time();
    server.lruclock = (uint32_t)(mstime() / 1000);
    active_expire_cycle();
    clients_cron();
    aof_cron();
}

typedef struct cron_future {
    kr_future base;
    kr_interval iv;
    kr_interval_tick tick;
    bool active;
} cron_future;

static kr_poll cron_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    cron_future *cf = (cron_future *)f;
    for (;;) {
        if (!cf->active) {
            cf->tick = kr_interval_tick_future(&cf->iv);
            cf->active = true;
        }
        if (kr_future_poll(&cf->tick.base, cx, NULL) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&cf->tick.base);
        cf->active = false;
        server_lock();
        server_cron();
        server_unlock();
    }
}

static void cron_drop(kr_future *f) {
    cron_future *cf = (cron_future *)f;
    if (cf->active)
        kr_future_drop(&cf->tick.base);
    kr_interval_drop(&cf->iv);
}

static const kr_future_vtable cron_vtable = {
    cron_poll, cron_drop, sizeof(cron_future), 0, "kairo-redis cron"};

/* ------------------------------------------------------------------------ */
/* Shutdown: SIGINT, SIGTERM or SHUTDOWN                                    */
/* ------------------------------------------------------------------------ */

static kr_waker shutdown_waker; /* guarded by server.lock */

void server_request_shutdown(void) {
    server.shutdown_asap = true;
    if (shutdown_waker.vtable != NULL)
        kr_waker_wake_by_ref(&shutdown_waker);
}

typedef struct main_future {
    kr_future base;
    kr_signal_listener *sigint, *sigterm;
    kr_signal_recv rint, rterm;
    bool started;
} main_future;

static kr_poll main_poll(kr_future *f, kr_context *cx, void *out) {
    (void)out;
    main_future *m = (main_future *)f;
    if (!m->started) {
        m->rint = kr_signal_listener_recv(m->sigint);
        m->rterm = kr_signal_listener_recv(m->sigterm);
        m->started = true;
    }
    int sig = 0;
    if (kr_future_poll(&m->rint.base, cx, &sig) == KR_READY) {
        server_log(LL_WARNING, "Received SIGINT scheduling shutdown...");
        return KR_READY;
    }
    if (kr_future_poll(&m->rterm.base, cx, &sig) == KR_READY) {
        server_log(LL_WARNING, "Received SIGTERM scheduling shutdown...");
        return KR_READY;
    }
    server_lock();
    kr_waker_set(&shutdown_waker, cx->waker);
    bool asap = server.shutdown_asap;
    server_unlock();
    return asap ? KR_READY : KR_PENDING;
}

static void main_drop(kr_future *f) {
    main_future *m = (main_future *)f;
    if (m->started) {
        kr_future_drop(&m->rint.base);
        kr_future_drop(&m->rterm.base);
    }
}

static const kr_future_vtable main_vtable = {
    main_poll, main_drop, sizeof(main_future), 0, "kairo-redis main"};

/* ------------------------------------------------------------------------ */
/* main                                                                     */
/* ------------------------------------------------------------------------ */

static void usage(void) {
    fprintf(stderr,
            "Usage: kairo-redis [config-file] [--port N] [--bind ADDR]\n"
            "                   [--workers N | --current-thread] "
            "[--config FILE]\n"
            "                   [--<config parameter> <value>]...\n");
}

static int parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            exit(0);
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            printf("kairo-redis v=%s (kairo)\n", KAIRO_REDIS_VERSION);
            exit(0);
        }
        if (strcmp(a, "--current-thread") == 0) {
            server.workers = 0;
            continue;
        }
        if (a[0] != '-' || a[1] != '-') {
            if (i == 1) { /* redis-server's positional config file */
                if (config_load_file(a) != 0)
                    return -1;
                continue;
            }
            fprintf(stderr, "kairo-redis: unexpected argument '%s'\n", a);
            usage();
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kairo-redis: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--config") == 0) {
            if (config_load_file(v) != 0)
                return -1;
            continue;
        }
        if (strcmp(a, "--workers") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end != '\0' || n < 1 || n > 1024) {
                fprintf(stderr, "kairo-redis: bad --workers '%s'\n", v);
                return -1;
            }
            server.workers = (unsigned)n;
            continue;
        }
        /* Redis accepts "--save ''": an empty value. */
        const char *err = config_set(a + 2, v);
        if (err != NULL) {
            fprintf(stderr, "kairo-redis: --%s %s: %s\n", a + 2, v, err);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    config_init_defaults();
    if (parse_args(argc, argv) != 0)
        return 1;

    dict_set_hash_seed((uint64_t)ustime() ^ ((uint64_t)getpid() << 32));
    pthread_mutex_init(&server.lock, NULL);
    for (int i = 0; i < REDIS_DBNUM; i++) {
        server.db[i].keys = dict_new();
        server.db[i].expires = dict_new();
        server.db[i].id = i;
    }
    server.start_ms = mstime();
    update_cached_time();
    server.lruclock = (uint32_t)(mstime() / 1000);
    commands_init();

    kr_runtime_config cfg = kr_runtime_config_default();
    if (server.workers > 0) {
        cfg.flavor = KR_RUNTIME_MULTI_THREAD;
        cfg.workers = server.workers;
        server.threaded = true;
    }
    kr_runtime *rt;
    int r = kr_runtime_new(&cfg, &rt);
    if (r != 0) {
        server_log(LL_WARNING, "Cannot start the runtime: %s", kr_strerror(r));
        return 1;
    }
    server.rt = rt;
    server_log(
        LL_NOTICE, "kairo-redis %s starting (%s, pid %d)", KAIRO_REDIS_VERSION,
        server.workers ? "multi-thread" : "current-thread", (int)getpid());

    main_future m;
    memset(&m, 0, sizeof(m));
    m.base.vtable = &main_vtable;
    if ((r = kr_signal_listen(SIGINT, &m.sigint)) != 0 ||
        (r = kr_signal_listen(SIGTERM, &m.sigterm)) != 0) {
        server_log(LL_WARNING, "Cannot listen for signals: %s", kr_strerror(r));
        return 1;
    }
    server.loading = true;
    if (aof_init(rt) != 0)
        return 1;
    server.loading = false;
    if (server_listen_and_serve(rt) != 0)
        return 1;
    cron_future cf;
    memset(&cf, 0, sizeof(cf));
    cf.base.vtable = &cron_vtable;
    cf.iv = kr_interval_new(kr_ms(1000 / (server.hz > 0 ? server.hz : 10)),
                            KR_MISSED_TICK_SKIP);
    kr_runtime_spawn(rt, &cf.base, NULL);
    server_log(LL_NOTICE, "Ready to accept connections on %s:%d%s", server.bind,
               server.port, server.workers ? "" : " (current-thread)");
    if (server.workers)
        server_log(LL_NOTICE, "%u workers", server.workers);

    kr_runtime_block_on(rt, &m.base, NULL);

    server_log(LL_WARNING, "Shutting down...");
    server_lock();
    aof_shutdown();
    server_unlock();
    kr_signal_listener_free(m.sigint);
    kr_signal_listener_free(m.sigterm);
    kr_runtime_free(rt);
    server_close_listener();
    server_log(LL_WARNING, "kairo-redis is now ready to exit, bye bye...");
    return 0;
}
