/*
 * kairo-load: a closed-loop TCP echo load generator (plain C, raw epoll, one
 * thread; no kairo), the client of bench/echo/run.sh.
 *
 *   kairo-load --port P [--conns N] [--size BYTES] [--seconds S]
 *              [--warmup W] [--pid PID]
 *   kairo-load --pingpong --port P [--seconds S] [--pid PID]
 *
 * Opens N connections to 127.0.0.1:P. Each runs a closed loop: send one
 * message of --size bytes (default 64), wait until all of it has come back,
 * record the round trip, send the next. After --warmup seconds (default 1)
 * the counters are reset and the next --seconds (default 5) are measured:
 * messages completed in the window, their latency (a log-linear histogram:
 * 64 sub-buckets per power of two, i.e. within 1.6%; no allocation per
 * message) and, with --pid, the server's CPU time (utime + stime of
 * /proc/PID/stat, all its threads, clock ticks) across the window divided
 * by the messages echoed in it.
 *
 * --pingpong is libuv's ping_pongs (benchmark-ping-pongs.c): one
 * connection, the 5-byte message "PING\n" (unless --size is given), round
 * trips per second.
 *
 * Output: one line on stdout, key=value fields separated by spaces:
 *
 *   mode=echo conns=16 size=64 seconds=5.000 msgs=812345 msgs_per_s=162469
 *   p50_us=97.2 p99_us=151.0 cpu_ns_per_msg=5120
 *
 * (mode=pingpong for --pingpong; cpu_ns_per_msg=- without --pid). Each
 * message carries its connection's sequence number, checked on return.
 * Errors (refused connection, server gone, wrong echo) go to stderr with
 * exit status 1. The whole run is bounded: an alarm ends it 30 s after it
 * should have finished. The file-descriptor limit is raised to fit N.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS         512
#define MAX_SIZE           (1 << 20)
#define CONNECT_TIMEOUT_MS 5000

/* ---- latency histogram ---------------------------------------------------- */

/* Values in ns. Below 128: one bucket per ns. From 128 up: 64 buckets per
 * power of two, bucket (shift + 1) * 64 + mantissa. */
#define HIST_SUB     64
#define HIST_BUCKETS ((64 - 6) * HIST_SUB + HIST_SUB)

static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_count;

static unsigned hist_index(uint64_t v) {
    if (v < 2 * HIST_SUB)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - 6;
    return (shift + 1) * HIST_SUB + (unsigned)((v >> shift) & (HIST_SUB - 1));
}

/* The middle of bucket i's range. */
static double hist_value(unsigned i) {
    if (i < 2 * HIST_SUB)
        return (double)i;
    unsigned shift = i / HIST_SUB - 1, m = i % HIST_SUB;
    double lo = (double)((uint64_t)(HIST_SUB + m) << shift);
    return lo + (double)((uint64_t)1 << shift) / 2.0;
}

static void hist_add(uint64_t ns) {
    hist[hist_index(ns)]++;
    hist_count++;
}

/* The smallest recorded value v such that a fraction q of the samples is
 * <= v (bucket resolution). */
static double hist_quantile(double q) {
    if (hist_count == 0)
        return 0.0;
    uint64_t rank = (uint64_t)(q * (double)hist_count);
    if (rank >= hist_count)
        rank = hist_count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen > rank)
            return hist_value(i);
    }
    return hist_value(HIST_BUCKETS - 1);
}

/* ---- connections ------------------------------------------------------- */

typedef struct conn {
    int fd;
    int sending;       /* 1: writing the message, 0: reading the echo */
    size_t done;       /* bytes written or read of the current message */
    uint64_t seq;      /* sequence number of the current message */
    uint64_t t_send;   /* when the current message started */
    unsigned char *tx; /* the message */
    unsigned char *rx; /* the echo */
} conn;

static size_t msg_size = 64;
static int epfd;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(const char *fmt, const char *arg) {
    fprintf(stderr, "kairo-load: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static void fail_errno(const char *what) {
    fprintf(stderr, "kairo-load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "kairo-load: time limit exceeded\n";
    ssize_t rc = write(2, msg, sizeof(msg) - 1);
    (void)rc;
    _exit(1);
}

/* Sequence number into the first bytes of the message (as many as fit). */
static void stamp(unsigned char *p, uint64_t seq) {
    size_t n = msg_size < sizeof(seq) ? msg_size : sizeof(seq);
    memcpy(p, &seq, n);
}

static void set_events(conn *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        perror("kairo-load: epoll_ctl");
        exit(1);
    }
}

/* Starts the next message. */
static void start_message(conn *c) {
    c->seq++;
    stamp(c->tx, c->seq);
    c->sending = 1;
    c->done = 0;
    c->t_send = now_ns();
}

/* Writes what is left of the message. Returns 1 when it is all out, 0 when
 * the socket is full (EPOLLOUT is then awaited). */
static int write_some(conn *c) {
    while (c->done < msg_size) {
        ssize_t n =
            send(c->fd, c->tx + c->done, msg_size - c->done, MSG_NOSIGNAL);
        if (n > 0) {
            c->done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_events(c, EPOLLOUT);
            return 0;
        } else {
            fail("send: %s", n < 0 ? strerror(errno) : "wrote nothing");
        }
    }
    c->sending = 0;
    c->done = 0;
    return 1;
}

/* ---- main -------------------------------------------------------------- */

static void usage(const char *msg) {
    fprintf(stderr,
            "kairo-load: %s\nusage: kairo-load --port P [--conns N] "
            "[--size BYTES] [--seconds S] [--warmup W] [--pid PID]\n"
            "       kairo-load --pingpong --port P [--seconds S] "
            "[--pid PID]\n",
            msg);
    exit(2);
}

static double parse_num(const char *opt, const char *v, double lo, double hi) {
    char *end;
    errno = 0;
    double d = v != NULL ? strtod(v, &end) : 0.0;
    if (v == NULL || errno != 0 || *end != '\0' || d < lo || d > hi) {
        fprintf(stderr, "kairo-load: %s: bad value %s\n", opt,
                v != NULL ? v : "(missing)");
        usage("bad argument");
    }
    return d;
}

/* utime + stime of a process, in clock ticks; -1 if unreadable. */
static long long proc_cpu_ticks(long pid) {
    char path[64], text[4096];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* The command name may hold spaces and parentheses: fields resume
     * after the last ')'. Then field 3 (state) ... 14 utime, 15 stime. */
    char *p = strrchr(text, ')');
    if (p == NULL)
        return -1;
    p++;
    unsigned long long utime = 0, stime = 0;
    int field = 2;
    char *save = NULL;
    for (char *tok = strtok_r(p, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        field++;
        if (field == 14)
            utime = strtoull(tok, NULL, 10);
        else if (field == 15) {
            stime = strtoull(tok, NULL, 10);
            return (long long)(utime + stime);
        }
    }
    return -1;
}

static int connect_one(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("kairo-load: socket");
        exit(1);
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        if (errno != EINPROGRESS)
            fail("connect: %s", strerror(errno));
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int rc = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
        if (rc == 0)
            fail("connect: %s", "timed out");
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (rc < 0 || err != 0)
            fail("connect: %s", strerror(rc < 0 ? errno : err));
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int main(int argc, char **argv) {
    int port = 0, pingpong = 0, size_given = 0;
    long conns = 1, pid = 0;
    double seconds = 5.0, warmup = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--port") == 0) {
            port = (int)parse_num(a, v, 1, 65535), i++;
        } else if (strcmp(a, "--conns") == 0) {
            conns = (long)parse_num(a, v, 1, 100000), i++;
        } else if (strcmp(a, "--size") == 0) {
            msg_size = (size_t)parse_num(a, v, 1, MAX_SIZE), i++;
            size_given = 1;
        } else if (strcmp(a, "--seconds") == 0) {
            seconds = parse_num(a, v, 0.001, 3600), i++;
        } else if (strcmp(a, "--warmup") == 0) {
            warmup = parse_num(a, v, 0, 3600), i++;
        } else if (strcmp(a, "--pid") == 0) {
            pid = (long)parse_num(a, v, 1, 1e9), i++;
        } else if (strcmp(a, "--pingpong") == 0) {
            pingpong = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage("help");
        } else {
            usage("unknown argument");
        }
    }
    if (port == 0)
        usage("--port is required");
    if (pingpong) {
        conns = 1;
        if (!size_given)
            msg_size = 5; /* "PING\n" */
    }

    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)(warmup + seconds) + 30u +
          (unsigned)(conns * CONNECT_TIMEOUT_MS / 1000 / 100));

    /* Room for the connections, the epoll fd and stdio. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)conns + 64) {
        rl.rlim_cur = (rlim_t)conns + 64;
        if (rl.rlim_max < rl.rlim_cur)
            rl.rlim_max = rl.rlim_cur; /* needs privilege */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fail("cannot raise the file-descriptor limit: %s", strerror(errno));
    }

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        fail_errno("epoll_create1");
    conn *cs = calloc((size_t)conns, sizeof(conn));
    unsigned char *bufs = malloc(2 * msg_size * (size_t)conns);
    if (cs == NULL || bufs == NULL)
        fail("%s", "out of memory");
    for (long i = 0; i < conns; i++) {
        conn *c = &cs[i];
        c->tx = bufs + 2 * msg_size * (size_t)i;
        c->rx = c->tx + msg_size;
        if (pingpong && !size_given)
            memcpy(c->tx, "PING\n", 5);
        else
            for (size_t b = 0; b < msg_size; b++)
                c->tx[b] = (unsigned char)('a' + (b + (size_t)i) % 26);
        c->seq = (uint64_t)i << 40;
        c->fd = connect_one(port);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            fail_errno("epoll_ctl");
    }
    /* "PING\n" carries no sequence number. */
    int check_seq = !(pingpong && !size_given);

    uint64_t t0 = now_ns();
    uint64_t t_measure = t0 + (uint64_t)(warmup * 1e9);
    uint64_t t_end = t_measure + (uint64_t)(seconds * 1e9);
    int measuring = warmup <= 0;
    uint64_t msgs = 0, t_start = t0;
    long long cpu_start = measuring && pid ? proc_cpu_ticks(pid) : 0;

    for (long i = 0; i < conns; i++) {
        start_message(&cs[i]);
        if (!check_seq)
            memcpy(cs[i].tx, "PING\n", 5);
        write_some(&cs[i]);
    }

    struct epoll_event events[MAX_EVENTS];
    uint64_t now = t0;
    for (;;) {
        int timeout_ms =
            (int)(((measuring ? t_end : t_measure) - now) / 1000000u) + 1;
        int n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail_errno("epoll_wait");
        }
        now = now_ns();
        if (!measuring && now >= t_measure) {
            measuring = 1;
            memset(hist, 0, sizeof(hist));
            hist_count = 0;
            msgs = 0;
            t_start = now;
            if (pid)
                cpu_start = proc_cpu_ticks(pid);
        }
        if (measuring && now >= t_end)
            break;
        for (int e = 0; e < n; e++) {
            conn *c = events[e].data.ptr;
            if (c->sending) { /* EPOLLOUT after a full send buffer */
                if (write_some(c))
                    set_events(c, EPOLLIN);
                continue;
            }
            for (;;) {
                ssize_t r = recv(c->fd, c->rx + c->done, msg_size - c->done, 0);
                if (r == 0)
                    fail("%s", "the server closed a connection");
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    if (errno == EAGAIN || errno == EWOULDBLOCK)
                        break;
                    fail("recv: %s", strerror(errno));
                }
                c->done += (size_t)r;
                if (c->done < msg_size)
                    continue;
                /* The whole echo is back. */
                uint64_t t = now_ns();
                if (memcmp(c->rx, c->tx, msg_size) != 0)
                    fail("%s", check_seq ? "wrong echo (sequence or bytes)"
                                         : "wrong echo");
                if (measuring) {
                    hist_add(t - c->t_send);
                    msgs++;
                }
                start_message(c);
                if (!check_seq)
                    memcpy(c->tx, "PING\n", 5);
                write_some(c);
                break; /* closed loop: nothing more can be there */
            }
        }
    }
    uint64_t t_stop = now_ns();
    long long cpu_end = pid ? proc_cpu_ticks(pid) : 0;
    double elapsed = (double)(t_stop - t_start) / 1e9;

    char cpu[64] = "-";
    if (pid) {
        if (cpu_start < 0 || cpu_end < 0)
            fprintf(stderr, "kairo-load: cannot read /proc/%ld/stat\n", pid);
        else if (msgs > 0)
            snprintf(cpu, sizeof(cpu), "%.0f",
                     (double)(cpu_end - cpu_start) * 1e9 /
                         (double)sysconf(_SC_CLK_TCK) / (double)msgs);
    }
    printf("mode=%s conns=%ld size=%zu seconds=%.3f msgs=%llu "
           "msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f cpu_ns_per_msg=%s\n",
           pingpong ? "pingpong" : "echo", conns, msg_size, elapsed,
           (unsigned long long)msgs, (double)msgs / elapsed,
           hist_quantile(0.50) / 1e3, hist_quantile(0.99) / 1e3, cpu);
    fflush(stdout);
    for (long i = 0; i < conns; i++)
        close(cs[i].fd);
    free(cs);
    free(bufs);
    return msgs > 0 ? 0 : 1;
}
