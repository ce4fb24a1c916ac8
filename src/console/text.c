/*
 * console/text.c: the console's text buffer (text.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "console/text.h"
#include "util/alloc.h"

bool kr__text_reserve(kr__text *t, size_t n) {
    if (t->failed)
        return false;
    if (t->cap - t->len > n)
        return true;
    size_t cap = t->cap != 0 ? t->cap : 1024;
    while (cap - t->len <= n)
        cap *= 2;
    char *nb = kr__malloc(cap);
    if (nb == NULL) {
        t->failed = true;
        return false;
    }
    if (t->len != 0)
        memcpy(nb, t->buf, t->len);
    kr__free(t->buf);
    t->buf = nb;
    t->cap = cap;
    return true;
}

void kr__text_put(kr__text *t, const char *s, size_t n) {
    if (!kr__text_reserve(t, n))
        return;
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void kr__text_puts(kr__text *t, const char *s) {
    kr__text_put(t, s, strlen(s));
}

void kr__text_printf(kr__text *t, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        kr__text_put(t, small, (size_t)n);
        return;
    }
    if (!kr__text_reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

void kr__text_json_str(kr__text *t, const char *s) {
    if (s == NULL) {
        kr__text_puts(t, "null");
        return;
    }
    kr__text_put(t, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            kr__text_put(t, e, 2);
        } else if (*p < 0x20 || *p == 0x7f) {
            kr__text_printf(t, "\\u%04x", *p);
        } else {
            kr__text_put(t, (const char *)p, 1);
        }
    }
    kr__text_put(t, "\"", 1);
}

void kr__text_json_u64(kr__text *t, bool first, const char *key, uint64_t v) {
    kr__text_printf(t, "%s\"%s\": %" PRIu64, first ? "" : ", ", key, v);
}

void kr__text_free(kr__text *t) {
    kr__free(t->buf);
    t->buf = NULL;
    t->len = t->cap = 0;
    t->failed = false;
}
