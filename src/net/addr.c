/*
 * net/addr.c: kr_sockaddr: parsing and formatting IPv4, IPv6 and Unix
 * addresses.
 *
 * The grammar is Rust's SocketAddr's: "a.b.c.d:port" or "[v6]:port", with
 * an optional "%scope" inside the brackets, nothing around them. The
 * address parts go to inet_pton, which rejects the sloppy forms
 * inet_aton would take ("1.2.3", "0x7f.1", leading zeros).
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "net/sock.h"

/* Decimal digits only, 1 to 5 of them, at most 65535. */
static int parse_port(const char *p, size_t n) {
    if (n == 0 || n > 5)
        return KR_EINVAL;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return KR_EINVAL;
        v = v * 10 + (p[i] - '0');
    }
    return v <= 65535 ? v : KR_EINVAL;
}

/* A scope: an interface index or name. */
static int parse_scope(const char *s, uint32_t *out) {
    if (*s == '\0')
        return KR_EINVAL;
    if (s[0] >= '0' && s[0] <= '9') {
        uint64_t v = 0;
        for (const char *p = s; *p; p++) {
            if (*p < '0' || *p > '9' || v > UINT32_MAX / 10)
                return KR_EINVAL;
            v = v * 10 + (uint64_t)(*p - '0');
        }
        if (v > UINT32_MAX)
            return KR_EINVAL;
        *out = (uint32_t)v;
        return 0;
    }
    unsigned idx = if_nametoindex(s);
    if (idx == 0)
        return KR_EINVAL;
    *out = idx;
    return 0;
}

/* An IP literal of n bytes (no brackets) and a port. */
static int from_ip(const char *ip, size_t n, int port, kr_sockaddr *out) {
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (n == 0 || n >= sizeof(buf) || memchr(ip, '\0', n) != NULL)
        return KR_EINVAL;
    memcpy(buf, ip, n);
    buf[n] = '\0';
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->storage;
    if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        out->len = sizeof(*v4);
        return 0;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->storage;
    char *pct = strchr(buf, '%');
    if (pct != NULL) {
        *pct = '\0';
        if (parse_scope(pct + 1, &v6->sin6_scope_id) < 0)
            goto bad;
    }
    if (inet_pton(AF_INET6, buf, &v6->sin6_addr) != 1)
        goto bad;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    out->len = sizeof(*v6);
    return 0;
bad:
    memset(out, 0, sizeof(*out));
    return KR_EINVAL;
}

int kr_sockaddr_from_ip(const char *ip, int port, kr_sockaddr *out) {
    if (out == NULL)
        return KR_EINVAL;
    memset(out, 0, sizeof(*out));
    if (ip == NULL || port < 0 || port > 65535)
        return KR_EINVAL;
    return from_ip(ip, strlen(ip), port, out);
}

int kr_sockaddr_parse(const char *text, kr_sockaddr *out) {
    if (out == NULL)
        return KR_EINVAL;
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        return KR_EINVAL;
    const char *host, *colon;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return KR_EINVAL;
        host = text + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
        /* Brackets are for IPv6 only. */
        if (memchr(host, ':', hlen) == NULL)
            return KR_EINVAL;
    } else {
        colon = strchr(text, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL)
            return KR_EINVAL; /* no port, or IPv6 without brackets */
        host = text;
        hlen = (size_t)(colon - text);
        /* Only IPv4 without brackets (and no scope). */
        if (memchr(host, '%', hlen) != NULL)
            return KR_EINVAL;
    }
    int port = parse_port(colon + 1, strlen(colon + 1));
    if (port < 0)
        return port;
    int r = from_ip(host, hlen, port, out);
    if (r == 0 && text[0] == '[' && out->storage.family != AF_INET6) {
        memset(out, 0, sizeof(*out));
        return KR_EINVAL;
    }
    return r;
}

int kr_sockaddr_unix(const char *path, kr_sockaddr *out) {
    if (out == NULL)
        return KR_EINVAL;
    memset(out, 0, sizeof(*out));
    if (path == NULL || path[0] == '\0')
        return KR_EINVAL;
    struct sockaddr_un *un = (struct sockaddr_un *)&out->storage;
    size_t n = strlen(path);
    /* A pathname needs its NUL inside sun_path; an abstract name is
     * length-delimited ('@' becomes the leading NUL). */
    if (n >= sizeof(un->sun_path) + (path[0] == '@'))
        return KR_ENAMETOOLONG;
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n);
    if (path[0] == '@') {
        un->sun_path[0] = '\0';
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

bool kr__sockaddr_is_ip(const kr_sockaddr *a) {
    if (a == NULL)
        return false;
    switch (a->storage.family) {
    case AF_INET:
        return a->len == sizeof(struct sockaddr_in);
    case AF_INET6:
        return a->len == sizeof(struct sockaddr_in6);
    default:
        return false;
    }
}

int kr_sockaddr_family(const kr_sockaddr *a) {
    if (a == NULL || a->len < sizeof(sa_family_t) ||
        a->len > sizeof(a->storage))
        return KR_EINVAL;
    return a->storage.family;
}

int kr_sockaddr_port(const kr_sockaddr *a) {
    if (!kr__sockaddr_is_ip(a))
        return KR_EINVAL;
    if (a->storage.family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->storage)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&a->storage)->sin6_port);
}

int kr_sockaddr_set_port(kr_sockaddr *a, int port) {
    if (!kr__sockaddr_is_ip(a) || port < 0 || port > 65535)
        return KR_EINVAL;
    if (a->storage.family == AF_INET)
        ((struct sockaddr_in *)&a->storage)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&a->storage)->sin6_port = htons((uint16_t)port);
    return 0;
}

static int put(char *buf, size_t size, int n) {
    if (n < 0 || (size_t)n >= size) {
        buf[0] = '\0';
        return KR_ERANGE;
    }
    return n;
}

int kr_sockaddr_format(const kr_sockaddr *a, char *buf, size_t size) {
    if (a == NULL || buf == NULL || size == 0)
        return KR_EINVAL;
    buf[0] = '\0';
    char ip[INET6_ADDRSTRLEN];
    if (kr__sockaddr_is_ip(a) && a->storage.family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&a->storage;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
        return put(buf, size,
                   snprintf(buf, size, "%s:%u", ip, ntohs(v4->sin_port)));
    }
    if (kr__sockaddr_is_ip(a)) {
        const struct sockaddr_in6 *v6 =
            (const struct sockaddr_in6 *)&a->storage;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
        if (v6->sin6_scope_id != 0)
            return put(buf, size,
                       snprintf(buf, size, "[%s%%%u]:%u", ip,
                                (unsigned)v6->sin6_scope_id,
                                ntohs(v6->sin6_port)));
        return put(buf, size,
                   snprintf(buf, size, "[%s]:%u", ip, ntohs(v6->sin6_port)));
    }
    size_t base = offsetof(struct sockaddr_un, sun_path);
    if (a->storage.family != AF_UNIX || a->len < base ||
        a->len > sizeof(struct sockaddr_un))
        return KR_EINVAL;
    const struct sockaddr_un *un = (const struct sockaddr_un *)&a->storage;
    size_t n = a->len - base;
    if (n == 0)
        return 0;                /* unnamed */
    if (un->sun_path[0] == '\0') /* abstract: length-delimited */
        return put(
            buf, size,
            snprintf(buf, size, "@%.*s", (int)(n - 1), un->sun_path + 1));
    return put(buf, size,
               snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, n),
                        un->sun_path));
}

bool kr_sockaddr_equal(const kr_sockaddr *a, const kr_sockaddr *b) {
    if (a == NULL || b == NULL)
        return a == b;
    if (a->len != b->len)
        return false;
    if (a->len == 0)
        return true;
    /* A length past the storage is no address (the other functions reject
     * it too); comparing that many bytes would read past the struct. */
    if (a->len > sizeof(a->storage))
        return false;
    if (a->storage.family != b->storage.family)
        return false;
    switch (a->storage.family) {
    case AF_INET: {
        const struct sockaddr_in *x = (const void *)&a->storage,
                                 *y = (const void *)&b->storage;
        return x->sin_port == y->sin_port &&
               x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *x = (const void *)&a->storage,
                                  *y = (const void *)&b->storage;
        return x->sin6_port == y->sin6_port &&
               x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    default:
        return memcmp(&a->storage, &b->storage, a->len) == 0;
    }
}
