/*
 * aof_load.c: RESP encoding for the AOF and the loader that replays it
 * (aof_file.h). The loader reads the file in chunks, parses one command at a
 * time out of a buffer it compacts as it goes, and knows where the last
 * complete command ended, so a torn tail is cut there, as
 * redis-check-aof --fix cuts it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "aof_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- logging ------------------------------------------------------------- */

static void log_stderr(int level, const char *msg) {
    /* Redis's format: pid:role day month year time.ms level-char message. */
    static const char marks[] = ".-*#";
    struct timeval tv;
    struct tm tm;
    char when[64];
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
    fprintf(stderr, "%d:M %s.%03d %c %s\n", (int)getpid(), when,
            (int)(tv.tv_usec / 1000), marks[level & 3], msg);
}

static rd_aof_log_fn log_fn = log_stderr;

void rd_aof_set_log(rd_aof_log_fn fn) { log_fn = fn ? fn : log_stderr; }

void rd__aof_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rd__aof_log(int level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_fn(level, msg);
}

int rd_fsync_parse(const char *s) {
    if (strcasecmp(s, "always") == 0)
        return RD_FSYNC_ALWAYS;
    if (strcasecmp(s, "everysec") == 0)
        return RD_FSYNC_EVERYSEC;
    if (strcasecmp(s, "no") == 0)
        return RD_FSYNC_NO;
    return -1;
}

const char *rd_fsync_name(rd_fsync f) {
    switch (f) {
    case RD_FSYNC_ALWAYS:
        return "always";
    case RD_FSYNC_EVERYSEC:
        return "everysec";
    default:
        return "no";
    }
}

/* ---- encoding ------------------------------------------------------------ */

static int buf_reserve(rd_buf *b, size_t extra) {
    if (b->cap - b->len >= extra)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2)
            return KR_ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return KR_ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int rd_buf_put(rd_buf *b, const void *bytes, size_t len) {
    if (buf_reserve(b, len) != 0)
        return KR_ENOMEM;
    if (len)
        memcpy(b->p + b->len, bytes, len);
    b->len += len;
    return 0;
}

int rd_buf_put_cmd(rd_buf *b, int argc, const char *const *argv,
                   const size_t *lens) {
    /* Size it first, so a failure leaves the buffer untouched. */
    size_t need = 24;
    for (int i = 0; i < argc; i++)
        need += lens[i] + 26;
    if (buf_reserve(b, need) != 0)
        return KR_ENOMEM;
    b->len += (size_t)sprintf(b->p + b->len, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        b->len += (size_t)sprintf(b->p + b->len, "$%zu\r\n", lens[i]);
        memcpy(b->p + b->len, argv[i], lens[i]);
        b->len += lens[i];
        b->p[b->len++] = '\r';
        b->p[b->len++] = '\n';
    }
    return 0;
}

int rd_buf_put_cmdv(rd_buf *b, int argc, ...) {
    const char *argv[16];
    size_t lens[16];
    va_list ap;
    if (argc < 1 || argc > 16)
        return KR_EINVAL;
    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        argv[i] = va_arg(ap, const char *);
        lens[i] = strlen(argv[i]);
    }
    va_end(ap);
    return rd_buf_put_cmd(b, argc, argv, lens);
}

void rd_buf_free(rd_buf *b) {
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---- parsing ------------------------------------------------------------- */

/* Redis's limits on what a record may declare: no more arguments than
 * fit an int, no bulk longer than proto-max-bulk-len's ceiling (Redis
 * accepts any size the file holds; a length beyond the file is a torn
 * tail and is found as one). */
#define AOF_MAX_ARGC (1024 * 1024 * 1024)

enum { PARSE_NEED_MORE = 0, PARSE_BAD = -1 };

/* Reads "<c><digits>\r\n" at p (up to end) into *val; returns the bytes
 * it took, PARSE_NEED_MORE, or PARSE_BAD. */
static long parse_line(const char *p, const char *end, char c, long long *val) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL)
        return (end - p) > 32 ? PARSE_BAD : PARSE_NEED_MORE;
    if (p[0] != c || nl - p < 3 || nl[-1] != '\r')
        return PARSE_BAD;
    long long v = 0;
    for (const char *q = p + 1; q < nl - 1; q++) {
        if (*q < '0' || *q > '9' || v > (1LL << 50))
            return PARSE_BAD;
        v = v * 10 + (*q - '0');
    }
    *val = v;
    return nl + 1 - p;
}

typedef struct cmd_vec {
    int argc, cap;
    char **argv;
    size_t *lens;
} cmd_vec;

static int vec_fit(cmd_vec *v, int argc) {
    if (argc <= v->cap)
        return 0;
    int cap = v->cap ? v->cap : 8;
    while (cap < argc)
        cap *= 2;
    char **a = realloc(v->argv, sizeof(*a) * (size_t)cap);
    if (a == NULL)
        return KR_ENOMEM;
    v->argv = a;
    size_t *l = realloc(v->lens, sizeof(*l) * (size_t)cap);
    if (l == NULL)
        return KR_ENOMEM;
    v->lens = l;
    v->cap = cap;
    return 0;
}

/* Parses one command at p; on success argv points into the buffer (each
 * argument is followed by its CRLF, whose CR is overwritten by a NUL).
 * Returns the bytes taken, PARSE_NEED_MORE, PARSE_BAD, or KR_ENOMEM. */
static long parse_cmd(char *p, char *end, cmd_vec *v) {
    long long argc, len;
    long n = parse_line(p, end, '*', &argc);
    if (n <= 0)
        return n;
    if (argc < 1 || argc > AOF_MAX_ARGC)
        return PARSE_BAD;
    if (vec_fit(v, (int)argc) != 0)
        return KR_ENOMEM;
    char *q = p + n;
    for (int i = 0; i < argc; i++) {
        n = parse_line(q, end, '$', &len);
        if (n <= 0)
            return n;
        q += n;
        if ((long long)(end - q) < len + 2)
            return PARSE_NEED_MORE;
        if (q[len] != '\r' || q[len + 1] != '\n')
            return PARSE_BAD;
        v->argv[i] = q;
        v->lens[i] = (size_t)len;
        q += len + 2;
    }
    /* Complete: only now terminate the arguments, since a command found
     * incomplete is parsed again from its start once more bytes came. */
    for (int i = 0; i < argc; i++)
        v->argv[i][v->lens[i]] = '\0';
    v->argc = (int)argc;
    return q - p;
}

/* The commands of an open transaction, copied out of the read buffer. */
typedef struct pending {
    int n, cap;
    cmd_vec *cmds;
} pending;

static int pending_add(pending *t, const cmd_vec *c) {
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 8;
        cmd_vec *n = realloc(t->cmds, sizeof(*n) * (size_t)cap);
        if (n == NULL)
            return KR_ENOMEM;
        t->cmds = n;
        t->cap = cap;
    }
    cmd_vec *d = &t->cmds[t->n];
    memset(d, 0, sizeof(*d));
    if (vec_fit(d, c->argc) != 0)
        goto nomem;
    for (int i = 0; i < c->argc; i++) {
        d->argv[i] = malloc(c->lens[i] + 1);
        if (d->argv[i] == NULL) {
            d->argc = i;
            goto nomem;
        }
        memcpy(d->argv[i], c->argv[i], c->lens[i] + 1);
        d->lens[i] = c->lens[i];
    }
    d->argc = c->argc;
    t->n++;
    return 0;
nomem:
    for (int i = 0; i < d->argc; i++)
        free(d->argv[i]);
    free(d->argv);
    free(d->lens);
    return KR_ENOMEM;
}

static void pending_clear(pending *t) {
    for (int j = 0; j < t->n; j++) {
        for (int i = 0; i < t->cmds[j].argc; i++)
            free(t->cmds[j].argv[i]);
        free(t->cmds[j].argv);
        free(t->cmds[j].lens);
    }
    t->n = 0;
}

static bool is_cmd(const cmd_vec *c, const char *name) {
    return c->argc == 1 && strcasecmp(c->argv[0], name) == 0;
}

/* How much is read at a time: big enough that a large file loads in few
 * system calls, small enough to be no burden on a small server. */
#define LOAD_CHUNK (1 << 20)

int rd_aof_load(const char *path, bool load_truncated, rd_aof_cmd_fn fn,
                void *ud, rd_aof_load_info *info) {
    rd_aof_load_info dummy;
    if (info == NULL)
        info = &dummy;
    memset(info, 0, sizeof(*info));
    if (path == NULL || fn == NULL)
        return KR_EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        int e = -errno;
        rd__aof_log(3,
                    "Fatal error: can't open the append log file %s "
                    "for reading: %s",
                    path, strerror(-e));
        return e;
    }
    char *buf = NULL;
    size_t cap = 0, len = 0, pos = 0; /* parse position in buf */
    uint64_t base = 0;                /* file offset of buf[0] */
    uint64_t valid = 0, before_multi = 0;
    bool in_multi = false, eof = false;
    cmd_vec v = {0, 0, NULL, NULL};
    pending tx = {0, 0, NULL};
    int rc = 0;

    for (;;) {
        long n = PARSE_NEED_MORE;
        if (pos < len)
            n = parse_cmd(buf + pos, buf + len, &v);
        if (n == KR_ENOMEM) {
            rc = KR_ENOMEM;
            goto out;
        }
        if (n == PARSE_BAD) {
            rd__aof_log(3,
                        "Bad file format reading the append only file "
                        "%s: make a backup of your AOF file, then use "
                        "./redis-check-aof --fix <filename>",
                        path);
            rc = KR_EINVAL;
            goto out;
        }
        if (n > 0) {
            pos += (size_t)n;
            if (is_cmd(&v, "MULTI") && !in_multi) {
                in_multi = true;
                before_multi = valid;
            } else if (is_cmd(&v, "EXEC") && in_multi) {
                for (int j = 0; j < tx.n && rc == 0; j++) {
                    rc = fn(ud, tx.cmds[j].argc, tx.cmds[j].argv,
                            tx.cmds[j].lens);
                    info->commands++;
                }
                pending_clear(&tx);
                in_multi = false;
                if (rc != 0)
                    goto out;
            } else if (in_multi) {
                if ((rc = pending_add(&tx, &v)) != 0)
                    goto out;
            } else {
                if ((rc = fn(ud, v.argc, v.argv, v.lens)) != 0)
                    goto out;
                info->commands++;
            }
            valid = base + pos;
            continue;
        }
        /* Need more bytes: compact, grow, read. */
        if (eof)
            break;
        if (pos > 0) {
            memmove(buf, buf + pos, len - pos);
            base += pos;
            len -= pos;
            pos = 0;
        }
        if (cap - len < LOAD_CHUNK) {
            size_t ncap = cap ? cap : LOAD_CHUNK;
            while (ncap - len < LOAD_CHUNK)
                ncap *= 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                rc = KR_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            rd__aof_log(3,
                        "Unrecoverable error reading the append only "
                        "file %s: %s",
                        path, strerror(errno));
            goto out;
        }
        if (r == 0)
            eof = true;
        len += (size_t)r;
    }

    /* End of file. Anything after `valid` is a torn command; an open
     * transaction is cut back to before its MULTI. */
    uint64_t end = base + len;
    if (in_multi) {
        rd__aof_log(3,
                    "Revert incomplete MULTI/EXEC transaction in AOF "
                    "file %s",
                    path);
        valid = before_multi;
    }
    info->size = end;
    if (valid < end) {
        if (!load_truncated) {
            rd__aof_log(3,
                        "Unexpected end of file reading the append only "
                        "file %s. You can: 1) Make a backup of your AOF "
                        "file, then use ./redis-check-aof --fix "
                        "<filename>. 2) Alternatively you can set the "
                        "'aof-load-truncated' configuration option to "
                        "yes and restart the server.",
                        path);
            rc = KR_EINVAL;
            goto out;
        }
        rd__aof_log(3,
                    "!!! Warning: short read while loading the AOF file "
                    "%s!!!",
                    path);
        rd__aof_log(3, "!!! Truncating the AOF %s at offset %llu !!!", path,
                    (unsigned long long)valid);
        if (truncate(path, (off_t)valid) != 0) {
            rc = -errno;
            rd__aof_log(3, "Error truncating the AOF file %s: %s", path,
                        strerror(errno));
            goto out;
        }
        info->truncated = end - valid;
        info->size = valid;
        rd__aof_log(3,
                    "AOF %s loaded anyway because aof-load-truncated "
                    "is enabled",
                    path);
    }
out:
    pending_clear(&tx);
    free(tx.cmds);
    free(v.argv);
    free(v.lens);
    free(buf);
    close(fd);
    return rc;
}
