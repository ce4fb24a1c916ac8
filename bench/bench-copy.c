/*
 * bench/bench-copy.c: Tokio's benches/copy.rs (reference/tokio.md
 * §7.15) on kairo: a current-thread runtime, kr_io_copy of SOURCE_SIZE
 * (256 KiB) bytes per iteration, run by block_on.
 *
 *   copy/mem_to_mem         a source of zeroes (repeat(0).take(256K))
 *                           into a growing in-memory sink (a Vec).
 *   copy/chunk_to_mem       ChunkReader: each read takes a tick of a 1 ms
 *                           interval (MissedTickBehavior::Burst) and gives
 *                           at most 2 KiB.
 *   copy/mem_to_slow_hdd    the sink is SlowHddWriter: a 40 KiB buffer
 *                           drained on each tick of a 20 ms interval
 *                           (Delay); between ticks a write waits with
 *                           probability 0.1, and a write into a full
 *                           buffer waits.
 *   copy/chunk_to_slow_hdd  both.
 *
 * Tokio's SlowHddWriter draws its 10% from ChaCha20 seeded 0; the peer and
 * this file draw it from the same splitmix64 stream instead (seed 0), so
 * both pend on the same writes. The three timed rows are dominated by
 * their intervals (their floor is the ticks they wait for); mem_to_mem
 * measures the copy itself.
 *
 * chunk_to_slow_hdd: a write that pends on the 10% draw waits for the
 * HDD's next 20 ms tick here (14 ticks, 10 such waits, 118 writes per
 * iteration: 280 ms). Tokio's row is about half that; our reading (not
 * verified by counting on the Tokio side) is that its task is woken
 * meanwhile, e.g. by the ChunkReader's 1 ms interval (Interval::poll_tick
 * resets its Sleep, which may keep a waker registered by an earlier
 * pending poll), so the pending write is retried and redrawn and usually
 * goes through. Either way the difference is in when the sink is polled,
 * not in the copy.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define SOURCE_SIZE (256 * 1024)
#define CHUNK_SIZE  (2 * 1024)
#define HDD_BUF     (40 * 1024)

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- sources ------------------------------------------------------------ */

typedef struct zero_src {
    size_t left;
    bool chunked;
    kr_interval iv;
    kr_interval_tick tick;
    bool ticking;
} zero_src;

/* repeat(0).take(SOURCE_SIZE), or ChunkReader(...).take(SOURCE_SIZE):
 * one tick of its interval per read, at most CHUNK_SIZE bytes. */
static kr_poll zero_read(void *o, kr_context *cx, void *buf, size_t len,
                         int64_t *res) {
    zero_src *z = o;
    if (z->left == 0) {
        *res = 0;
        return KR_READY;
    }
    if (z->chunked) {
        if (!z->ticking) {
            z->tick = kr_interval_tick_future(&z->iv);
            z->ticking = true;
        }
        kr_instant at;
        if (kr_future_poll(&z->tick.base, cx, &at) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&z->tick.base);
        z->ticking = false;
        if (len > CHUNK_SIZE)
            len = CHUNK_SIZE;
    }
    if (len > z->left)
        len = z->left;
    memset(buf, 0, len);
    z->left -= len;
    *res = (int64_t)len;
    return KR_READY;
}

static const kr_io_stream_ops zero_ops = {zero_read, NULL, NULL, NULL, "zero"};

/* ---- sinks -------------------------------------------------------------- */

typedef struct mem_sink {
    char *p;
    size_t len, cap;
} mem_sink;

static kr_poll mem_write(void *o, kr_context *cx, const void *buf, size_t len,
                         int64_t *res) {
    mem_sink *m = o;
    (void)cx;
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8192;
        while (cap < m->len + len)
            cap *= 2;
        m->p = realloc(m->p, cap);
        if (m->p == NULL)
            bench_fail("copy: out of memory");
        m->cap = cap;
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    *res = (int64_t)len;
    return KR_READY;
}

static const kr_io_stream_ops mem_ops = {NULL, mem_write, NULL, NULL, "vec"};

typedef struct hdd_sink {
    size_t fill; /* bytes in the 40 KiB buffer */
    uint64_t rng;
    kr_interval iv;
    kr_interval_tick tick;
    bool ticking;
    size_t total;
} hdd_sink;

/* Polls the interval: on a tick the buffer is drained. READY (ticked) or
 * PENDING. */
static kr_poll hdd_tick(hdd_sink *h, kr_context *cx) {
    if (!h->ticking) {
        h->tick = kr_interval_tick_future(&h->iv);
        h->ticking = true;
    }
    kr_instant at;
    if (kr_future_poll(&h->tick.base, cx, &at) == KR_PENDING)
        return KR_PENDING;
    kr_future_drop(&h->tick.base);
    h->ticking = false;
    h->fill = 0;
    return KR_READY;
}

/* SlowHddWriter::write_bytes: each write polls the service interval (a
 * tick drains the buffer); while it is pending, one write in ten waits,
 * and so does a write into a full buffer. */
static kr_poll hdd_write(void *o, kr_context *cx, const void *buf, size_t len,
                         int64_t *res) {
    hdd_sink *h = o;
    (void)buf;
    kr_poll svc = hdd_tick(h, cx);
    if (svc == KR_PENDING &&
        (double)(splitmix(&h->rng) >> 11) / 9007199254740992.0 < 0.1)
        return KR_PENDING;
    size_t room = HDD_BUF - h->fill;
    if (room == 0)
        return KR_PENDING;
    if (len > room)
        len = room;
    h->fill += len;
    h->total += len;
    *res = (int64_t)len;
    return KR_READY;
}

static const kr_io_stream_ops hdd_ops = {NULL, hdd_write, NULL, NULL, "hdd"};

/* ---- the runs ------------------------------------------------------------- */

typedef struct copy_bench {
    kr_runtime *rt;
    bool chunked, hdd;
} copy_bench;

static mem_sink sink; /* kept across iterations, as Tokio's Vec is not:
                         reset to empty, capacity kept after the first */

static void copy_iter(void *arg) {
    copy_bench *b = arg;
    zero_src z;
    memset(&z, 0, sizeof(z));
    z.left = SOURCE_SIZE;
    z.chunked = b->chunked;
    hdd_sink h;
    memset(&h, 0, sizeof(h));
    if (b->chunked)
        z.iv = kr_interval_new(kr_ms(1), KR_MISSED_TICK_BURST);
    if (b->hdd)
        h.iv = kr_interval_new(kr_ms(20), KR_MISSED_TICK_DELAY);
    kr_io_stream from = {&z, &zero_ops};
    kr_io_stream to =
        b->hdd ? (kr_io_stream){&h, &hdd_ops} : (kr_io_stream){&sink, &mem_ops};
    free(sink.p); /* Tokio's Vec::new() each iteration */
    sink.p = NULL;
    sink.len = sink.cap = 0;
    kr_io_copy_future c = kr_io_copy(from, to);
    int64_t n = 0;
    BENCH_OK(kr_runtime_block_on(b->rt, &c.base, &n));
    if (n != SOURCE_SIZE)
        bench_fail("copy: copied %lld bytes", (long long)n);
    if (z.ticking)
        kr_future_drop(&z.tick.base);
    if (h.ticking)
        kr_future_drop(&h.tick.base);
    if (b->chunked)
        kr_interval_drop(&z.iv);
    if (b->hdd)
        kr_interval_drop(&h.iv);
}

static void copy_run(const bench_cfg *cfg, const char *name, bool chunked,
                     bool hdd) {
    kr_runtime_config c = kr_runtime_config_default();
    copy_bench b = {NULL, chunked, hdd};
    BENCH_OK(kr_runtime_new(&c, &b.rt));
    bench_measure(cfg, name, copy_iter, &b);
    BENCH_OK(kr_runtime_free(b.rt));
    free(sink.p);
    sink.p = NULL;
    sink.len = sink.cap = 0;
}

void copy_mem_to_mem(const bench_cfg *cfg, const char *name) {
    copy_run(cfg, name, false, false);
}
void copy_chunk_to_mem(const bench_cfg *cfg, const char *name) {
    copy_run(cfg, name, true, false);
}
void copy_mem_to_slow_hdd(const bench_cfg *cfg, const char *name) {
    copy_run(cfg, name, false, true);
}
void copy_chunk_to_slow_hdd(const bench_cfg *cfg, const char *name) {
    copy_run(cfg, name, true, true);
}
