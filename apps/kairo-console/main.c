/*
 * kairo-console: a live view of a kairo runtime that serves its console
 * (kr_runtime_config.console_path or KAIRO_CONSOLE=/path; see
 * docs/observability.md, "The live console").
 *
 *   kairo-console [options] SOCKET     full-screen, refreshed each second
 *   kairo-console --once SOCKET        one text frame on stdout, then exit
 *
 * Keys: p sorts tasks by polls, i by time since their last poll, q quits.
 * It asks the runtime for a snapshot (one JSON line) per refresh over the
 * console's line protocol, and draws with ANSI escape codes: no curses.
 * libc only: the protocol is the interface, so the view needs no part
 * of the library and works against any process that serves a console.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "view.h"

static volatile sig_atomic_t quit_flag, resized;

static void on_signal(int sig) {
    if (sig == SIGWINCH)
        resized = 1;
    else
        quit_flag = 1;
}

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the connection ---------------------------------------------------- */

static int conn_open(const char *path, char *err, size_t errlen) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a.sun_path)) {
        snprintf(err, errlen, "socket path too long (%zu bytes, at most %zu)",
                 strlen(path), sizeof(a.sun_path) - 1);
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        snprintf(err, errlen, "cannot connect to %s: %s", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Sends `cmd` and reads one reply line into *out (malloc'd, NUL-ended).
 * 0, or -1 with a message (the connection is then of no more use). */
static int conn_request(int fd, const char *cmd, char **out, size_t *outlen,
                        char *err, size_t errlen) {
    size_t n = strlen(cmd), off = 0;
    while (off < n) {
        ssize_t k = send(fd, cmd + off, n - off, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            snprintf(err, errlen, "send: %s", strerror(errno));
            return -1;
        }
        off += (size_t)k;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uint64_t deadline = now_ms() + 10000;
    for (;;) {
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        uint64_t t = now_ms();
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = t < deadline ? poll(&pf, 1, (int)(deadline - t)) : 0;
        if (pr < 0 && errno == EINTR) {
            if (quit_flag)
                break;
            continue;
        }
        if (pr <= 0) {
            free(buf);
            snprintf(err, errlen, "no reply within 10 s");
            return -1;
        }
        ssize_t k = recv(fd, buf + len, cap - 1 - len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            free(buf);
            snprintf(err, errlen, "the runtime closed the connection");
            return -1;
        }
        char *nl = memchr(buf + len, '\n', (size_t)k);
        len += (size_t)k;
        if (nl != NULL) {
            /* One command, one line: nothing can follow it. */
            len = (size_t)(nl - buf);
            buf[len] = '\0';
            *out = buf;
            *outlen = len;
            return 0;
        }
    }
    free(buf);
    snprintf(err, errlen, "interrupted");
    return -1;
}

/* A snapshot, parsed. 0, or -1 with a message. */
static int fetch(int fd, json *snap, char *err, size_t errlen) {
    char *text;
    size_t len;
    if (conn_request(fd, "snapshot\n", &text, &len, err, errlen) != 0)
        return -1;
    char perr[128];
    int rc = json_parse(text, len, snap, perr, sizeof(perr));
    free(text);
    if (rc != 0) {
        json_free(snap);
        snprintf(err, errlen, "bad reply: %s", perr);
        return -1;
    }
    const char *e = json_get_str(snap, "error");
    if (e != NULL) {
        snprintf(err, errlen, "the runtime says: %s", e);
        json_free(snap);
        return -1;
    }
    return 0;
}

/* ---- the terminal ------------------------------------------------------ */

static struct termios saved_tio;
static int tio_saved;

static void term_restore(void) {
    static const char leave[] = "\033[?25h\033[?1049l";
    ssize_t w = write(STDOUT_FILENO, leave, sizeof(leave) - 1);
    (void)w;
    if (tio_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    tio_saved = 0;
}

static void term_enter(void) {
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
        struct termios t = saved_tio;
        t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
        tio_saved = 1;
    }
    static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
    ssize_t w = write(STDOUT_FILENO, enter, sizeof(enter) - 1);
    (void)w;
}

static void term_size(unsigned *w, unsigned *h) {
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
        *w = ws.ws_col;
        *h = ws.ws_row;
    } else {
        *w = 100;
        *h = 40;
    }
}

/* Draws the frame from the top left, each line cleared to its end. */
static void draw(const frame *f, unsigned height) {
    size_t cap = 64;
    for (size_t i = 0; i < f->n; i++)
        cap += strlen(f->line[i]) + 8;
    char *out = malloc(cap);
    if (out == NULL)
        return;
    size_t len = 0;
    memcpy(out, "\033[H", 3);
    len = 3;
    for (size_t i = 0; i < f->n && i < height; i++) {
        size_t k = strlen(f->line[i]);
        memcpy(out + len, f->line[i], k);
        len += k;
        memcpy(out + len, "\033[K", 3);
        len += 3;
        if (i + 1 < f->n && i + 1 < height)
            out[len++] = '\r', out[len++] = '\n';
    }
    memcpy(out + len, "\033[J", 3);
    len += 3;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(STDOUT_FILENO, out + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(out);
}

/* ---- the modes --------------------------------------------------------- */

typedef struct options {
    const char *path;
    bool once;
    unsigned interval_ms;
    unsigned width, tasks;
    view_sort sort;
} options;

static void sleep_ms(unsigned ms) {
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&d, &d) != 0 && errno == EINTR && !quit_flag) {
    }
}

static int run_once(const options *op) {
    char err[256];
    int fd = conn_open(op->path, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "kairo-console: %s\n", err);
        return 1;
    }
    json a, b;
    if (fetch(fd, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "kairo-console: %s\n", err);
        close(fd);
        return 1;
    }
    sleep_ms(op->interval_ms);
    if (fetch(fd, &b, err, sizeof(err)) != 0) {
        fprintf(stderr, "kairo-console: %s\n", err);
        json_free(&a);
        close(fd);
        return 1;
    }
    close(fd);
    view_opts vo = {.path = op->path,
                    .width = op->width ? op->width : 120,
                    .height = 0,
                    .max_tasks = op->tasks ? op->tasks : 20,
                    .sort = op->sort,
                    .seen_seq =
                        json_get_u64(json_get(&a, "warnings"), "seq", 0),
                    .status = NULL};
    frame f = {0};
    view_render(&f, &b, &a, &vo);
    for (size_t i = 0; i < f.n; i++)
        printf("%s\n", f.line[i]);
    frame_free(&f);
    json_free(&a);
    json_free(&b);
    return fflush(stdout) == 0 ? 0 : 1;
}

static int run_live(const options *op) {
    json snap[2];
    int have =
        0; /* snapshots held: snap[0] the latest, snap[1] the one before */
    uint64_t seen = 0, shown_seq = 0;
    char status[300] = "";
    int fd = -1;
    view_sort sort = op->sort;
    term_enter();
    atexit(term_restore);
    uint64_t next = 0;
    while (!quit_flag) {
        uint64_t t = now_ms();
        if (t >= next) {
            next = t + op->interval_ms;
            char err[256];
            if (fd < 0) {
                fd = conn_open(op->path, err, sizeof(err));
                if (fd < 0)
                    snprintf(status, sizeof(status),
                             "not connected: %s "
                             "(retrying each second)",
                             err);
            }
            if (fd >= 0) {
                json s;
                if (fetch(fd, &s, err, sizeof(err)) == 0) {
                    if (have == 2)
                        json_free(&snap[1]);
                    if (have >= 1)
                        snap[1] = snap[0];
                    snap[0] = s;
                    have = have < 2 ? have + 1 : 2;
                    seen = shown_seq;
                    shown_seq =
                        json_get_u64(json_get(&snap[0], "warnings"), "seq", 0);
                    status[0] = '\0';
                } else {
                    close(fd);
                    fd = -1;
                    snprintf(status, sizeof(status),
                             "lost the runtime: %s "
                             "(retrying each second)",
                             err);
                }
            }
            resized = 1;
        }
        if (resized) {
            resized = 0;
            unsigned w, h;
            term_size(&w, &h);
            frame f = {0};
            if (have != 0) {
                view_opts vo = {.path = op->path,
                                .width = w,
                                .height = h,
                                .sort = sort,
                                .seen_seq = seen,
                                .status = status[0] ? status : NULL};
                view_render(&f, &snap[0], have == 2 ? &snap[1] : NULL, &vo);
            } else {
                f.width = w;
                f.line = malloc(2 * sizeof(char *));
                if (f.line != NULL) {
                    f.cap = 2;
                    f.line[f.n++] = strdup("kairo-console");
                    f.line[f.n++] = strdup(status);
                    for (size_t i = 0; i < f.n; i++)
                        if (f.line[i] != NULL && strlen(f.line[i]) > w)
                            f.line[i][w] = '\0';
                }
            }
            draw(&f, h);
            frame_free(&f);
        }
        uint64_t now = now_ms();
        int wait = next > now ? (int)(next - now) : 0;
        struct pollfd pf = {STDIN_FILENO, POLLIN, 0};
        int pr = poll(&pf, 1, wait);
        if (pr > 0 && (pf.revents & POLLIN)) {
            char keys[32];
            ssize_t k = read(STDIN_FILENO, keys, sizeof(keys));
            if (k == 0)
                pf.fd = -1; /* stdin closed: refresh only */
            for (ssize_t i = 0; i < k; i++) {
                if (keys[i] == 'q' || keys[i] == 'Q')
                    quit_flag = 1;
                else if (keys[i] == 'p' || keys[i] == 'P')
                    sort = SORT_POLLS, resized = 1;
                else if (keys[i] == 'i' || keys[i] == 'I')
                    sort = SORT_IDLE, resized = 1;
            }
        } else if (pr > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL))) {
            sleep_ms((unsigned)wait); /* no keyboard: just refresh */
        }
    }
    term_restore();
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < have; i++)
        json_free(&snap[i]);
    return 0;
}

static void usage(FILE *to) {
    fprintf(to, "usage: kairo-console [--once] [--interval MS] [--width N] "
                "[--tasks N] [--sort polls|idle] [SOCKET]\n"
                "  SOCKET: the runtime's console socket (default: "
                "$KAIRO_CONSOLE)\n"
                "  --once: print one frame (two snapshots --interval apart, "
                "default 1000 ms) and exit\n"
                "  keys: p sort tasks by polls, i by time since last poll, q "
                "quit\n");
}

int main(int argc, char **argv) {
    options op = {.path = NULL,
                  .once = false,
                  .interval_ms = 1000,
                  .width = 0,
                  .tasks = 0,
                  .sort = SORT_POLLS};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--once") == 0) {
            op.once = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((strcmp(a, "--interval") == 0 || strcmp(a, "--width") == 0 ||
                    strcmp(a, "--tasks") == 0) &&
                   v != NULL) {
            char *end;
            unsigned long x = strtoul(v, &end, 10);
            if (*end != '\0' || x == 0 || x > 3600000) {
                fprintf(stderr, "kairo-console: bad value for %s: %s\n", a, v);
                return 2;
            }
            if (a[2] == 'i')
                op.interval_ms = (unsigned)x;
            else if (a[2] == 'w')
                op.width = (unsigned)x;
            else
                op.tasks = (unsigned)x;
            i++;
        } else if (strcmp(a, "--sort") == 0 && v != NULL) {
            if (strcmp(v, "polls") == 0)
                op.sort = SORT_POLLS;
            else if (strcmp(v, "idle") == 0)
                op.sort = SORT_IDLE;
            else {
                fprintf(stderr, "kairo-console: --sort polls or idle\n");
                return 2;
            }
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "kairo-console: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (op.path == NULL) {
            op.path = a;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (op.path == NULL)
        op.path = getenv("KAIRO_CONSOLE");
    if (op.path == NULL || op.path[0] == '\0') {
        usage(stderr);
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return op.once ? run_once(&op) : run_live(&op);
}
