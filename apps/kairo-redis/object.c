/*
 * object.c: memory accounting, values (robj), string values, and the
 * argument parsers with Redis's error replies.
 */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glob.h"
#include "server.h"

/* ------------------------------------------------------------------------ */
/* zmalloc                                                                  */
/* ------------------------------------------------------------------------ */

/* Relaxed: a statistic and a threshold, read by INFO and the maxmemory
 * check; reply buffers are allocated outside the lock. */
static _Atomic size_t used_memory;

static void oom(size_t size) {
    fprintf(stderr, "kairo-redis: out of memory allocating %zu bytes\n", size);
    abort();
}

void *zmalloc(size_t size) {
    void *p = malloc(size == 0 ? 1 : size);
    if (p == NULL)
        oom(size);
    atomic_fetch_add_explicit(&used_memory, malloc_usable_size(p),
                              memory_order_relaxed);
    return p;
}

void *zcalloc(size_t size) {
    void *p = calloc(1, size == 0 ? 1 : size);
    if (p == NULL)
        oom(size);
    atomic_fetch_add_explicit(&used_memory, malloc_usable_size(p),
                              memory_order_relaxed);
    return p;
}

void *zrealloc(void *ptr, size_t size) {
    if (ptr == NULL)
        return zmalloc(size);
    size_t old = malloc_usable_size(ptr);
    void *p = realloc(ptr, size == 0 ? 1 : size);
    if (p == NULL)
        oom(size);
    size_t now = malloc_usable_size(p);
    if (now >= old)
        atomic_fetch_add_explicit(&used_memory, now - old,
                                  memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&used_memory, old - now,
                                  memory_order_relaxed);
    return p;
}

void zfree(void *ptr) {
    if (ptr == NULL)
        return;
    atomic_fetch_sub_explicit(&used_memory, malloc_usable_size(ptr),
                              memory_order_relaxed);
    free(ptr);
}

char *zstrndup(const char *s, size_t len) {
    char *p = zmalloc(len + 1);
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t zmalloc_used_memory(void) {
    return atomic_load_explicit(&used_memory, memory_order_relaxed);
}

/* ------------------------------------------------------------------------ */
/* Byte strings                                                             */
/* ------------------------------------------------------------------------ */

bool rslice_eqi(rslice a, const char *lit) {
    size_t n = strlen(lit);
    return a.len == n && strncasecmp(a.ptr, lit, n) == 0;
}

/* glob.c's matcher: checked against Redis's stringmatchlen on millions of
 * random cases (an empty string matches only an empty pattern, ranges
 * compare signed chars, as Redis does). */
bool string_match(const char *pat, size_t plen, const char *s, size_t slen,
                  bool nocase) {
    return rd_glob_match(pat, plen, s, slen, nocase);
}

/* ------------------------------------------------------------------------ */
/* Values                                                                   */
/* ------------------------------------------------------------------------ */

const robj_type_ops *robj_ops(const robj *o) {
    switch (o->type) {
    case OBJ_STRING:
        return &string_type_ops;
    case OBJ_LIST:
        return &list_type_ops;
    case OBJ_SET:
        return &set_type_ops;
    case OBJ_ZSET:
        return &zset_type_ops;
    default:
        return &hash_type_ops;
    }
}

robj *robj_new(int type, int encoding, void *ptr) {
    robj *o = zmalloc(sizeof(*o));
    o->type = (uint8_t)type;
    o->encoding = (uint8_t)encoding;
    o->lru = server.lruclock;
    o->len = 0;
    o->cap = 0;
    o->ptr = ptr;
    o->ival = 0;
    return o;
}

void robj_free(robj *o) {
    if (o == NULL)
        return;
    const robj_type_ops *ops = robj_ops(o);
    if (ops->free != NULL)
        ops->free(o);
    zfree(o);
}

robj *robj_new_string_raw(const char *p, size_t len) {
    robj *o = robj_new(OBJ_STRING, OBJ_ENC_RAW, NULL);
    o->ptr = zmalloc(len + 1);
    o->cap = len + 1;
    o->len = len;
    if (len > 0)
        memcpy(o->ptr, p, len);
    ((char *)o->ptr)[len] = '\0';
    return o;
}

robj *robj_new_int(int64_t v) {
    robj *o = robj_new(OBJ_STRING, OBJ_ENC_INT, NULL);
    o->ival = v;
    return o;
}

robj *robj_new_string(const char *p, size_t len) {
    int64_t v;
    if (len <= 20 && string_to_ll(p, len, &v))
        return robj_new_int(v);
    return robj_new_string_raw(p, len);
}

static int ll_to_str(char *buf, int64_t v) {
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    int len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n > 0)
        buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

rslice robj_string_bytes(const robj *o, char *buf) {
    if (o->encoding == OBJ_ENC_INT) {
        int n = ll_to_str(buf, o->ival);
        return rslice_of(buf, (size_t)n);
    }
    return rslice_of(o->ptr, o->len);
}

size_t robj_string_len(const robj *o) {
    if (o->encoding == OBJ_ENC_INT) {
        char buf[24];
        return (size_t)ll_to_str(buf, o->ival);
    }
    return o->len;
}

void robj_string_make_raw(robj *o, size_t need) {
    if (o->encoding == OBJ_ENC_INT) {
        char buf[24];
        int n = ll_to_str(buf, o->ival);
        size_t cap = (size_t)n > need ? (size_t)n + 1 : need + 1;
        o->ptr = zmalloc(cap);
        memcpy(o->ptr, buf, (size_t)n + 1);
        o->len = (size_t)n;
        o->cap = cap;
        o->encoding = OBJ_ENC_RAW;
        o->ival = 0;
        return;
    }
    if (need + 1 > o->cap) {
        /* Grow geometrically, as sds does for APPEND-heavy workloads. */
        size_t cap = need < 1024 * 1024 ? (need + 1) * 2 : need + 1024 * 1024;
        o->ptr = zrealloc(o->ptr, cap);
        o->cap = cap;
    }
}

bool robj_get_long_long(const robj *o, int64_t *out) {
    if (o->encoding == OBJ_ENC_INT) {
        *out = o->ival;
        return true;
    }
    return string_to_ll(o->ptr, o->len, out);
}

/* ------------------------------------------------------------------------ */
/* Number parsing                                                           */
/* ------------------------------------------------------------------------ */

bool string_to_ll(const char *p, size_t len, int64_t *out) {
    if (len == 0 || len > 20)
        return false;
    size_t i = 0;
    bool neg = false;
    if (len == 1 && p[0] == '0') {
        *out = 0;
        return true;
    }
    if (p[0] == '-') {
        neg = true;
        i = 1;
        if (len == 1)
            return false;
    }
    if (p[i] < '1' || p[i] > '9')
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

/* Redis refuses long doubles longer than MAX_LONG_DOUBLE_CHARS (5 k). */
#define MAX_LD_CHARS 5120

bool string_to_ld(const char *p, size_t len, long double *out) {
    char buf[MAX_LD_CHARS];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, p, len);
    buf[len] = '\0';
    errno = 0;
    char *end;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' ||
        (size_t)(end - buf) != len ||
        (errno == ERANGE &&
         (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return false;
    *out = v;
    return true;
}

bool string_to_d(const char *p, size_t len, double *out) {
    char stack[128];
    char *buf = len < sizeof(stack) ? stack : zmalloc(len + 1);
    memcpy(buf, p, len);
    buf[len] = '\0';
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    bool ok = !(len == 0 || isspace((unsigned char)buf[0]) ||
                (size_t)(end - buf) != len ||
                (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL ||
                                     fpclassify(v) == FP_ZERO)) ||
                isnan(v));
    if (buf != stack)
        zfree(buf);
    if (ok)
        *out = v;
    return ok;
}

bool get_long_long_or_reply(client *c, rslice arg, int64_t *out,
                            const char *msg) {
    if (!string_to_ll(arg.ptr, arg.len, out)) {
        add_reply_error(c,
                        msg ? msg : "value is not an integer or out of range");
        return false;
    }
    return true;
}

bool get_long_or_reply(client *c, rslice arg, long *out, const char *msg) {
    int64_t v;
    if (!get_long_long_or_reply(c, arg, &v, msg))
        return false;
    *out = (long)v; /* long is 64-bit on the platforms kairo supports */
    return true;
}

bool get_range_long_or_reply(client *c, rslice arg, long min, long max,
                             long *out, const char *msg) {
    if (!get_long_or_reply(c, arg, out, msg))
        return false;
    if (*out < min || *out > max) {
        if (msg)
            add_reply_error(c, msg);
        else
            add_reply_error_fmt(
                c, "value is out of range, value must between %ld and %ld", min,
                max);
        return false;
    }
    return true;
}

bool get_positive_long_or_reply(client *c, rslice arg, long *out,
                                const char *msg) {
    return get_range_long_or_reply(
        c, arg, 0, LONG_MAX, out,
        msg ? msg : "value is out of range, must be positive");
}

bool get_double_or_reply(client *c, rslice arg, double *out, const char *msg) {
    if (!string_to_d(arg.ptr, arg.len, out)) {
        add_reply_error(c, msg ? msg : "value is not a valid float");
        return false;
    }
    return true;
}

bool get_long_double_or_reply(client *c, rslice arg, long double *out,
                              const char *msg) {
    if (!string_to_ld(arg.ptr, arg.len, out)) {
        add_reply_error(c, msg ? msg : "value is not a valid float");
        return false;
    }
    return true;
}

bool get_timeout_or_reply(client *c, rslice arg, int64_t *abs_ms) {
    long double ld;
    if (!string_to_ld(arg.ptr, arg.len, &ld) || !isfinite(ld)) {
        add_reply_error(c, "timeout is not a float or out of range");
        return false;
    }
    if (ld < 0) {
        add_reply_error(c, "timeout is negative");
        return false;
    }
    long double ms = ld * 1000.0L;
    if (ms > (long double)(INT64_MAX / 2)) {
        add_reply_error(c, "timeout is out of range");
        return false;
    }
    int64_t t = (int64_t)ceill(ms);
    *abs_ms = t == 0 ? 0 : t + command_time_ms();
    return true;
}

/* ------------------------------------------------------------------------ */
/* Number formatting                                                        */
/* ------------------------------------------------------------------------ */

int format_double(char *buf, size_t size, double d) {
    if (isinf(d))
        return snprintf(buf, size, "%s", d > 0 ? "inf" : "-inf");
    return snprintf(buf, size, "%.17g", d);
}

int format_long_double_human(char *buf, size_t size, long double d) {
    if (isinf(d))
        return snprintf(buf, size, "%s", d > 0 ? "inf" : "-inf");
    int l = snprintf(buf, size, "%.17Lf", d);
    if (l < 0 || (size_t)l + 1 > size)
        return 0;
    if (strchr(buf, '.') != NULL) {
        char *p = buf + l - 1;
        while (*p == '0') {
            p--;
            l--;
        }
        if (*p == '.')
            l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return l;
}
