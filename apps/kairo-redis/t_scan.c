/* t_scan.c: the per-key SCAN family of t_scan.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlist.h"
#include "t_scan.h"
#include "zskiplist.h"

bool scan_parse_cursor(client *c, rslice arg, uint64_t *cursor) {
    char buf[64];
    if (arg.len >= sizeof(buf)) {
        add_reply_error(c, "invalid cursor");
        return false;
    }
    memcpy(buf, arg.ptr, arg.len);
    buf[arg.len] = '\0';
    char *end;
    errno = 0;
    unsigned long v = strtoul(buf, &end, 10);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || errno == ERANGE) {
        add_reply_error(c, "invalid cursor");
        return false;
    }
    *cursor = v;
    return true;
}

typedef struct scan_acc {
    const dict_entry **e;
    size_t n, cap;
} scan_acc;

static void collect(void *ctx, const dict_entry *e) {
    scan_acc *a = ctx;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->e = zrealloc(a->e, a->cap * sizeof(*a->e));
    }
    a->e[a->n++] = e;
}

void scan_dict_command(client *c, const dict *d, uint64_t cursor, int kind) {
    long count = 10;
    rslice pat = {NULL, 0};
    bool use_pattern = false;
    for (int i = 3; i < c->argc;) {
        int left = c->argc - i;
        if (rslice_eqi(c->argv[i], "count") && left >= 2) {
            if (!get_long_or_reply(c, c->argv[i + 1], &count, NULL))
                return;
            if (count < 1) {
                add_reply_error_syntax(c);
                return;
            }
            i += 2;
        } else if (rslice_eqi(c->argv[i], "match") && left >= 2) {
            pat = c->argv[i + 1];
            use_pattern = !(pat.len == 1 && pat.ptr[0] == '*');
            i += 2;
        } else {
            add_reply_error_syntax(c);
            return;
        }
    }
    scan_acc a = {NULL, 0, 0};
    if (d != NULL && dict_size(d) > 0) {
        long maxiter = count * 10;
        do {
            cursor = dict_scan(d, cursor, collect, &a);
        } while (cursor != 0 && maxiter-- > 0 && a.n < (size_t)count);
    } else {
        cursor = 0;
    }
    size_t keep = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (!use_pattern ||
            string_match(pat.ptr, pat.len, a.e[i]->key, a.e[i]->keylen, false))
            a.e[keep++] = a.e[i];
    }
    add_reply_array_len(c, 2);
    add_reply_bulk_long_long(c, (int64_t)cursor);
    add_reply_array_len(c, (int64_t)(kind == SCAN_KEYS ? keep : 2 * keep));
    for (size_t i = 0; i < keep; i++) {
        const dict_entry *e = a.e[i];
        add_reply_bulk(c, e->key, e->keylen);
        if (kind == SCAN_HASH) {
            const relem *v = e->val.ptr;
            add_reply_bulk(c, v->data, v->len);
        } else if (kind == SCAN_ZSET) {
            /* Redis formats ZSCAN's scores as "%.17Lg". */
            char buf[64];
            const zsl_node *x = e->val.ptr;
            int n = snprintf(buf, sizeof(buf), "%.17Lg", (long double)x->score);
            add_reply_bulk(c, buf, (size_t)n);
        }
    }
    zfree(a.e);
}
