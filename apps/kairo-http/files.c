/*
 * files.c: path safety, MIME types, ETags and ranges (files.h).
 */
#include "files.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int files_safe_path(const char *url, size_t url_len, char *out, size_t cap) {
    if (cap == 0 || url_len == 0 || url[0] != '/')
        return -1;
    size_t o = 0;
    size_t i = 0;
    /* segment by segment: decode, then judge the decoded segment */
    while (i < url_len && url[i] != '?' && url[i] != '#') {
        while (i < url_len && url[i] == '/')
            i++;
        char seg[256];
        size_t sl = 0;
        while (i < url_len && url[i] != '/' && url[i] != '?' && url[i] != '#') {
            int c = (unsigned char)url[i];
            if (c == '%') {
                if (i + 2 >= url_len)
                    return -1;
                int hi = hexval(url[i + 1]), lo = hexval(url[i + 2]);
                if (hi < 0 || lo < 0)
                    return -1;
                c = hi * 16 + lo;
                i += 3;
            } else {
                i++;
            }
            /* an encoded '/' or '\', a NUL or a control byte: refused */
            if (c == 0 || c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
                return -1;
            if (sl + 1 >= sizeof(seg))
                return -1;
            seg[sl++] = (char)c;
        }
        if (sl == 0 || (sl == 1 && seg[0] == '.'))
            continue;
        if (sl == 2 && seg[0] == '.' && seg[1] == '.')
            return -1;
        if (o + (o ? 1 : 0) + sl + 1 > cap)
            return -1;
        if (o)
            out[o++] = '/';
        memcpy(out + o, seg, sl);
        o += sl;
    }
    out[o] = 0;
    return 0;
}

static const struct {
    const char *ext, *type;
} mimes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"woff2", "font/woff2"},
    {"mp4", "video/mp4"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"zip", "application/zip"},
    {"md", "text/markdown; charset=utf-8"},
    {"c", "text/plain; charset=utf-8"},
    {"h", "text/plain; charset=utf-8"},
};

const char *files_mime(const char *name) {
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        for (size_t i = 0; i < sizeof(mimes) / sizeof(mimes[0]); i++)
            if (strcasecmp(dot + 1, mimes[i].ext) == 0)
                return mimes[i].type;
    return "application/octet-stream";
}

void files_etag(uint64_t size, int64_t mtime_ns, char *out, size_t cap) {
    snprintf(out, cap, "\"%llx-%llx\"", (unsigned long long)size,
             (unsigned long long)mtime_ns);
}

bool files_etag_match(const char *inm, const char *etag) {
    size_t el = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *e = p;
        if (*e == '"') {
            e = strchr(p + 1, '"');
            if (!e)
                return false;
            e++;
        } else {
            while (*e && *e != ',')
                e++;
        }
        if ((size_t)(e - p) == el && memcmp(p, etag, el) == 0)
            return true;
        p = e;
    }
    return false;
}

/* Digits into *v; returns the characters read (0: none, or overflow). */
static size_t digits(const char *s, uint64_t *v) {
    size_t i = 0;
    uint64_t x = 0;
    while (s[i] >= '0' && s[i] <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return 0;
        x = x * 10 + (uint64_t)(s[i] - '0');
        i++;
    }
    *v = x;
    return i;
}

int files_range(const char *range, uint64_t size, uint64_t *first,
                uint64_t *last) {
    if (strncasecmp(range, "bytes=", 6) != 0)
        return 0;
    const char *p = range + 6;
    while (*p == ' ')
        p++;
    if (strchr(p, ','))
        return 0; /* several ranges: the whole file (no multipart) */
    uint64_t a = 0, b = 0;
    size_t na = digits(p, &a);
    if (p[na] != '-')
        return 0;
    const char *q = p + na + 1;
    size_t nb = digits(q, &b);
    while (q[nb] == ' ')
        nb++;
    if (q[nb] != 0)
        return 0;
    if (na == 0) { /* suffix: the last b bytes */
        if (nb == 0)
            return 0;
        if (b == 0 || size == 0)
            return -1;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return 1;
    }
    if (a >= size)
        return -1;
    if (nb == 0 || b >= size)
        b = size - 1;
    if (b < a)
        return 0; /* last before first: invalid, ignored (RFC 9110 14.1.1) */
    *first = a;
    *last = b;
    return 1;
}

void files_http_date(int64_t secs, char *out, size_t cap) {
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}
