/*
 * console/server.c: the console's thread, its socket and its clients
 * (console.h; the protocol is in docs/observability.md, "Protocol").
 *
 * One thread, plain POSIX: a non-blocking listening socket, non-blocking
 * client sockets, an eventfd to be told to stop, and poll(2) over all of
 * them. It runs no task and never waits for the runtime: what it reads,
 * it reads through calls that any thread may make while the workers run
 * (or are stuck), so it answers while every worker is inside a long poll.
 *
 * A client sends lines; each line is one command, answered by one JSON
 * document on one line. Replies are queued per client and written as the
 * socket takes them; a client that stops reading is cut off once
 * KR__CONSOLE_MAX_OUT bytes wait for it, a client that vanishes (EPIPE,
 * ECONNRESET, a hang-up) is closed, a line longer than KR__CONSOLE_MAX_LINE
 * gets an error and is closed; at most KR__CONSOLE_CLIENTS are served at
 * once (one more is told so and closed).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "console/console.h"
#include "console/ring.h"
#include "console/snapshot.h"
#include "console/text.h"
#include "util/alloc.h"
#include "util/atomic.h"
#include "util/clock.h"
#include "util/thread.h"

#define KR__CONSOLE_CLIENTS  32
#define KR__CONSOLE_MAX_LINE 1024
#define KR__CONSOLE_MAX_OUT  (64u << 20)

typedef struct client {
    int fd;   /* -1: a free slot */
    bool eof; /* the peer shut its side: answer what came, then close */
    size_t in_len;
    char in[KR__CONSOLE_MAX_LINE + 1];
    kr__text out;
    size_t out_off; /* bytes of `out` already sent */
} client;

struct kr__console {
    char *path;
    dev_t dev;
    ino_t ino;
    int listen_fd;
    int wake_fd; /* eventfd: serve or stop */
    pthread_t thread;
    _Atomic(kr_runtime *) rt; /* NULL until kr__console_serve */
    _Atomic int stop;
    bool stopped; /* kr__console_stop ran (the caller's) */
    kr__snap_src src;
    /* The reporter the configuration named (NULL: kr_poll_report_stderr)
     * and which kinds to pass on to it: those whose threshold the
     * configuration set itself, not the console's defaults. */
    kr_poll_report_fn user_report;
    void *user_arg;
    bool pass_slow, pass_blocked;
    kr__ring ring;
    client clients[KR__CONSOLE_CLIENTS];
};

/* ---- the reporter ------------------------------------------------------ */

static void console_report(const kr_poll_report *r, void *arg) {
    kr__console *con = arg;
    kr__ring_push(&con->ring, r);
    bool pass = r->kind == KR_REPORT_WORKER_BLOCKED ? con->pass_blocked
                                                    : con->pass_slow;
    if (pass) {
        if (con->user_report != NULL)
            con->user_report(r, con->user_arg);
        else
            kr_poll_report_stderr(r, NULL);
    }
}

/* ---- clients ----------------------------------------------------------- */

static void client_close(client *c) {
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->eof = false;
    c->in_len = 0;
    c->out_off = 0;
    kr__text_free(&c->out);
}

/* Writes what the socket takes; false if the client is gone. */
static bool client_flush(client *c) {
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.buf + c->out_off,
                         c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        return false; /* EPIPE, ECONNRESET: it vanished */
    }
    c->out.len = c->out_off = 0;
    return true;
}

static const char help_reply[] =
    "{\"commands\": [\"snapshot\", \"metrics\", \"tasks\", \"warnings\", "
    "\"ping\", \"help\"]}\n";

/* Answers one command line (without its newline). */
static void command(kr__console *con, client *c, char *line) {
    size_t n = strlen(line);
    while (n > 0 &&
           (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        line[--n] = '\0';
    while (*line == ' ' || *line == '\t')
        line++;
    if (*line == '\0')
        return; /* an empty line: nothing asked */
    unsigned parts = 0;
    if (strcmp(line, "snapshot") == 0)
        parts = KR__SNAP_ALL;
    else if (strcmp(line, "metrics") == 0)
        parts = KR__SNAP_METRICS;
    else if (strcmp(line, "tasks") == 0)
        parts = KR__SNAP_TASKS;
    else if (strcmp(line, "warnings") == 0)
        parts = KR__SNAP_WARNINGS;
    if (parts != 0) {
        kr__snapshot(&c->out, &con->src, parts);
        kr__text_puts(&c->out, "\n");
    } else if (strcmp(line, "ping") == 0) {
        kr__text_puts(&c->out, "{\"ok\": true}\n");
    } else if (strcmp(line, "help") == 0) {
        kr__text_puts(&c->out, help_reply);
    } else {
        char shown[65];
        snprintf(shown, sizeof(shown), "%s", line);
        kr__text_puts(&c->out, "{\"error\": \"unknown command\", "
                               "\"command\": ");
        kr__text_json_str(&c->out, shown);
        kr__text_puts(&c->out,
                      ", \"commands\": [\"snapshot\", \"metrics\", "
                      "\"tasks\", \"warnings\", \"ping\", \"help\"]}\n");
    }
}

/* Reads what came and answers each whole line; false: close the client. */
static bool client_read(kr__console *con, client *c) {
    for (;;) {
        size_t room = KR__CONSOLE_MAX_LINE - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            return false;
        if (n == 0) {
            c->eof = true;
            break;
        }
        c->in_len += (size_t)n;
        /* Whole lines: answer each, keep the rest. */
        size_t start = 0;
        for (size_t i = 0; i < c->in_len; i++) {
            if (c->in[i] != '\n')
                continue;
            c->in[i] = '\0';
            command(con, c, c->in + start);
            start = i + 1;
        }
        if (start != 0) {
            memmove(c->in, c->in + start, c->in_len - start);
            c->in_len -= start;
        }
        if (c->in_len == KR__CONSOLE_MAX_LINE) {
            kr__text_puts(&c->out, "{\"error\": \"line too long\", "
                                   "\"limit\": 1024}\n");
            (void)client_flush(c);
            return false;
        }
        if (c->out.failed) {
            return false; /* no memory for the reply: drop the client */
        }
        if (c->out.len - c->out_off > KR__CONSOLE_MAX_OUT)
            return false; /* it asks and never reads */
        /* Answer before reading more, so a client pipelining commands
         * cannot grow its queue while the socket is full. */
        if (c->out.len > c->out_off)
            break;
    }
    return true;
}

static void accept_all(kr__console *con) {
    for (;;) {
        int fd =
            accept4(con->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return; /* EAGAIN, or out of descriptors: try at the next wake */
        }
        client *c = NULL;
        for (unsigned i = 0; i < KR__CONSOLE_CLIENTS && c == NULL; i++)
            if (con->clients[i].fd < 0)
                c = &con->clients[i];
        if (c == NULL) {
            static const char full[] = "{\"error\": \"too many clients\"}\n";
            ssize_t w =
                send(fd, full, sizeof(full) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            close(fd);
            continue;
        }
        c->fd = fd;
    }
}

/* ---- the thread -------------------------------------------------------- */

static void *console_main(void *arg) {
    kr__console *con = arg;
    pthread_setname_np(pthread_self(), "kairo-console");
    struct pollfd pf[2 + KR__CONSOLE_CLIENTS];
    client *of[2 + KR__CONSOLE_CLIENTS];
    for (;;) {
        bool serving = kr__load_acquire(&con->rt) != NULL;
        nfds_t n = 0;
        pf[n++] = (struct pollfd){con->wake_fd, POLLIN, 0};
        if (serving)
            pf[n++] = (struct pollfd){con->listen_fd, POLLIN, 0};
        for (unsigned i = 0; i < KR__CONSOLE_CLIENTS; i++) {
            client *c = &con->clients[i];
            if (c->fd < 0)
                continue;
            short ev = c->out.len > c->out_off ? POLLOUT : 0;
            if (!c->eof && ev == 0)
                ev |= POLLIN;
            of[n] = c;
            pf[n++] = (struct pollfd){c->fd, ev, 0};
        }
        if (poll(pf, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break; /* cannot happen with valid descriptors */
        }
        if (pf[0].revents & POLLIN) {
            uint64_t v;
            ssize_t r = read(con->wake_fd, &v, sizeof(v));
            (void)r;
        }
        if (kr__load_acquire(&con->stop))
            break;
        if (serving && (pf[1].revents & POLLIN))
            accept_all(con);
        for (nfds_t k = serving ? 2 : 1; k < n; k++) {
            client *c = of[k];
            short re = pf[k].revents;
            if (re == 0)
                continue;
            bool ok = true;
            if (re & POLLNVAL)
                ok = false;
            if (ok && (re & (POLLIN | POLLHUP | POLLERR)) && !c->eof &&
                c->out.len == c->out_off)
                ok = client_read(con, c);
            if (ok)
                ok = client_flush(c);
            if (ok && (re & POLLERR))
                ok = false;
            /* Done with a client that shut its side once all is sent. */
            if (!ok || (c->eof && c->out.len == c->out_off))
                client_close(c);
        }
    }
    return NULL;
}

/* ---- opening and closing ----------------------------------------------- */

static void say(const char *path, const char *what) {
    fprintf(stderr, "kairo: console: %s: %s\n", path, what);
}

/* Binds `fd` at `path`, replacing a stale socket file (one nobody listens
 * on) but never anything else. */
static int bind_path(int fd, const char *path) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    memcpy(a.sun_path, path, strlen(path) + 1);
    for (int tries = 0; tries < 2; tries++) {
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
            return 0;
        int e = errno;
        if (e != EADDRINUSE || tries != 0)
            return -e;
        struct stat st;
        if (lstat(path, &st) != 0)
            continue; /* gone meanwhile: try again */
        if (!S_ISSOCK(st.st_mode)) {
            say(path, "exists and is not a socket; not replacing it");
            return KR_EEXIST;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe < 0)
            return -errno;
        int c = connect(probe, (struct sockaddr *)&a, sizeof(a));
        int ce = errno;
        close(probe);
        if (c == 0 || ce != ECONNREFUSED) {
            say(path, "another process serves a console there");
            return KR_EADDRINUSE;
        }
        if (unlink(path) != 0 && errno != ENOENT)
            return -errno;
    }
    return KR_EADDRINUSE;
}

static void console_free(kr__console *con) {
    if (con->listen_fd >= 0)
        close(con->listen_fd);
    if (con->wake_fd >= 0)
        close(con->wake_fd);
    if (con->src.memfd >= 0)
        close(con->src.memfd);
    kr__free(con->path);
    kr__free(con);
}

static int open_path(kr_runtime_config *c, const char *path,
                     kr__console **out) {
    size_t len = strlen(path);
    struct sockaddr_un a;
    if (len == 0) {
        say("(empty)", "a console needs a socket path");
        return KR_EINVAL;
    }
    if (len >= sizeof(a.sun_path)) {
        char msg[96];
        snprintf(msg, sizeof(msg),
                 "socket path is %zu bytes; a Unix socket allows %zu", len,
                 sizeof(a.sun_path) - 1);
        say(path, msg);
        return KR_EINVAL;
    }
    kr__console *con = kr__calloc(1, sizeof(*con));
    if (con == NULL)
        return KR_ENOMEM;
    con->listen_fd = con->wake_fd = con->src.memfd = -1;
    for (unsigned i = 0; i < KR__CONSOLE_CLIENTS; i++)
        con->clients[i].fd = -1;
    kr__ring_init(&con->ring);
    con->path = kr__malloc(len + 1);
    int rc = KR_ENOMEM;
    if (con->path == NULL)
        goto fail;
    memcpy(con->path, path, len + 1);
    con->listen_fd =
        socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    con->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    con->src.memfd = memfd_create("kairo-console", MFD_CLOEXEC);
    if (con->listen_fd < 0 || con->wake_fd < 0 || con->src.memfd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = bind_path(con->listen_fd, path);
    if (rc != 0)
        goto fail;
    struct stat st;
    if (listen(con->listen_fd, 64) != 0 || stat(path, &st) != 0) {
        rc = -errno;
        unlink(path);
        goto fail;
    }
    con->dev = st.st_dev;
    con->ino = st.st_ino;

    /* The configuration, as the runtime will run it. */
    con->user_report = c->on_poll_report;
    con->user_arg = c->on_poll_report_arg;
    con->pass_slow = c->slow_poll_ns != 0;
    con->pass_blocked = c->blocked_worker_ns != 0;
    if (c->slow_poll_ns == 0)
        c->slow_poll_ns = KR__CONSOLE_SLOW_POLL_NS;
    /* The simulation has no monitor; both other flavors have one (the
     * current-thread runtime starts a watchdog thread for it). */
    if (c->blocked_worker_ns == 0 && c->flavor != KR_RUNTIME_SIMULATION)
        c->blocked_worker_ns = KR__CONSOLE_BLOCKED_WORKER_NS;
    const kr_histogram_config hist = {.buckets = KR__CONSOLE_HIST_BUCKETS,
                                      .scale = KR_HISTOGRAM_LOG2,
                                      .width_ns = 1000};
    if (c->poll_histogram.buckets == 0)
        c->poll_histogram = hist;
    if (c->flavor != KR_RUNTIME_SIMULATION) {
        if (c->sched_latency_histogram.buckets == 0)
            c->sched_latency_histogram = hist;
        c->track_tasks = true; /* the dump's polls, since_poll_ns, parent */
    }
    c->on_poll_report = console_report;
    c->on_poll_report_arg = con;
    c->console_path = con->path;
    con->src.flavor = c->flavor;
    con->src.poll_hist = c->poll_histogram;
    con->src.sched_hist = c->sched_latency_histogram;
    con->src.slow_poll_ns = c->slow_poll_ns;
    con->src.blocked_worker_ns = c->blocked_worker_ns;
    con->src.ring = &con->ring;
    con->src.started_ns = kr__now_ns();

    /* The thread takes no signal: they are the application's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = kr__thread_start(&con->thread, NULL, console_main, con);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        rc = KR_EAGAIN;
        unlink(path);
        goto fail;
    }
    *out = con;
    return 0;
fail:
    console_free(con);
    return rc;
}

int kr__console_open(kr_runtime_config *c, kr__console **out) {
    *out = NULL;
    if (c->console_path != NULL)
        return open_path(c, c->console_path, out);
    const char *env = getenv("KAIRO_CONSOLE");
    if (env == NULL || env[0] == '\0')
        return 0;
    /* Asked for from outside the program: failing is no reason to refuse
     * the program its runtime. */
    kr_runtime_config saved = *c;
    int rc = open_path(c, env, out);
    if (rc != 0) {
        *c = saved;
        char msg[96];
        snprintf(msg, sizeof(msg), "KAIRO_CONSOLE: %s; running without one",
                 kr_strerror(rc));
        say(env, msg);
    }
    return 0;
}

static void wake(kr__console *con) {
    uint64_t one = 1;
    ssize_t w = write(con->wake_fd, &one, sizeof(one));
    (void)w;
}

void kr__console_serve(kr__console *con, kr_runtime *rt) {
    con->src.rt = rt;
    kr__store_release(&con->rt, rt);
    wake(con);
}

void kr__console_stop(kr__console *con) {
    if (con == NULL || con->stopped)
        return;
    con->stopped = true;
    kr__store_release(&con->stop, 1);
    wake(con);
    pthread_join(con->thread, NULL);
    for (unsigned i = 0; i < KR__CONSOLE_CLIENTS; i++)
        client_close(&con->clients[i]);
    /* Remove the socket file only if it is still ours: another process
     * may have replaced it meanwhile. */
    struct stat st;
    if (stat(con->path, &st) == 0 && st.st_dev == con->dev &&
        st.st_ino == con->ino)
        unlink(con->path);
}

void kr__console_free(kr__console *con) {
    if (con == NULL)
        return;
    kr__console_stop(con);
    console_free(con);
}
