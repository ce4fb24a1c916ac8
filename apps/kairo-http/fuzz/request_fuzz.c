/*
 * request_fuzz.c: a libFuzzer target for kairo-http's request parsing glue
 * (parse.c) and the parts of files.c a request reaches (the path check,
 * the Range header, If-None-Match).
 *
 * The input (after its first byte) is fed twice, as a connection sees it:
 * once whole, once cut into reads of 1..16 bytes (lengths from the first
 * byte), events handled as conn.c handles them. Both runs must report the
 * same events, the same statuses and the same request fields: the glue may
 * not depend on where reads end. Each request's URL goes through
 * files_safe_path, whose result must hold no ".." segment and no leading
 * '/'; its Range through files_range, whose range must lie in the file.
 *
 *   make fuzz                  libFuzzer, FUZZ_SECONDS (default 300)
 *   build/bin/kairo-http-fuzz-replay FILE...  the corpus once (a ctest
 *                              case: kairo-http/fuzz_corpus)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../files.h"
#include "../parse.h"

#define MAX_EV 64

typedef struct trace {
    int n;
    int ev[MAX_EV];
    int status[MAX_EV];
    unsigned long long hash[MAX_EV];
} trace;

static unsigned long long fnv(const void *p, size_t n, unsigned long long h) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void check_request(const hp *h) {
    const hp_request *r = &h->req;
    if (r->url_len > HP_URL_MAX || strlen(r->url) != r->url_len)
        abort();
    char rel[512];
    if (files_safe_path(r->url, r->url_len, rel, sizeof(rel)) == 0) {
        if (rel[0] == '/')
            abort();
        const char *p = rel;
        while (p) {
            if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == 0))
                abort();
            p = strchr(p, '/');
            if (p)
                p++;
        }
    }
    uint64_t size = r->url_len * 37u, first, last;
    if (files_range(r->range, size, &first, &last) == 1)
        if (first > last || last >= size)
            abort();
    (void)files_etag_match(r->if_none_match, "\"1-2\"");
}

static void record(trace *t, const hp *h, hp_event ev) {
    if (t->n >= MAX_EV)
        return;
    t->ev[t->n] = (int)ev;
    t->status[t->n] = ev == HP_EV_ERROR ? h->error_status : 0;
    unsigned long long x = 1469598103934665603ull;
    if (ev != HP_EV_ERROR) {
        const hp_request *r = &h->req;
        x = fnv(r->url, r->url_len, x);
        x = fnv(r->range, strlen(r->range), x);
        x = fnv(r->if_none_match, strlen(r->if_none_match), x);
        int flags = r->method | r->major << 8 | r->minor << 12 |
                    r->has_host << 16 | r->expect_continue << 17 |
                    r->expect_other << 18 | r->keep_alive << 19 |
                    r->chunked << 20 | r->has_length << 21;
        x = fnv(&flags, sizeof(flags), x);
        x = fnv(&r->content_length, sizeof(r->content_length), x);
        if (ev == HP_EV_MESSAGE) {
            x = fnv(h->body, h->body_len, x);
            x = fnv(&h->body_seen, sizeof(h->body_seen), x);
        }
    }
    t->hash[t->n++] = x;
}

static void run(const uint8_t *data, size_t len, unsigned seed, bool split,
                trace *t) {
    hp_limits lim = {512, 1024};
    hp h;
    hp_init(&h, &lim);
    memset(t, 0, sizeof(*t));
    size_t off = 0;
    unsigned s = seed | 1;
    while (off < len) {
        size_t chunk = len - off;
        if (split) {
            s = s * 1103515245u + 12345u;
            size_t c = 1 + (s >> 16) % 16;
            if (c < chunk)
                chunk = c;
        }
        /* one read: fed until consumed or an event to answer */
        size_t end = off + chunk;
        while (off < end) {
            hp_event ev;
            size_t k = hp_feed(&h, (const char *)data + off, end - off, &ev);
            if (k > end - off)
                abort();
            off += k;
            if (ev == HP_EV_NONE) {
                if (k == 0)
                    abort(); /* no progress: the caller would spin */
                continue;
            }
            record(t, &h, ev);
            if (ev == HP_EV_ERROR) {
                hp_free(&h);
                return; /* the connection closes */
            }
            if (ev == HP_EV_HEADERS)
                h.keep_body = (h.req.url_len & 1) != 0;
            if (ev == HP_EV_MESSAGE)
                check_request(&h);
            hp_resume(&h);
        }
    }
    hp_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    static trace a, b;
    run(data + 1, size - 1, data[0], false, &a);
    run(data + 1, size - 1, data[0], true, &b);
    /* The 431 limit is checked per feed, so a split run may stop at a
     * smaller overshoot than a whole one: the same status either way. */
    bool same = a.n == b.n;
    for (int i = 0; same && i < a.n; i++)
        same = a.ev[i] == b.ev[i] && a.status[i] == b.status[i] &&
               a.hash[i] == b.hash[i];
    if (!same) {
        for (int i = 0; i < a.n || i < b.n; i++)
            fprintf(stderr, "event %d: whole %d/%d/%llx, split %d/%d/%llx\n", i,
                    a.ev[i], a.status[i], a.hash[i], b.ev[i], b.status[i],
                    b.hash[i]);
        abort();
    }
    return 0;
}

#ifdef KR_FUZZ_REPLAY
/* Without libFuzzer: runs each file named on the command line once. */
int main(int argc, char **argv) {
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        static uint8_t data[1 << 20];
        size_t len = fread(data, 1, sizeof(data), f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, len);
        n++;
    }
    printf("replayed %d inputs\n", n);
    return 0;
}
#endif
