/*
 * console_demo: a workload to watch with kairo-console.
 *
 *   console_demo [SOCKET] [--seconds N]
 *   kairo-console SOCKET            (in another terminal)
 *
 * A two-worker runtime serves its live console on SOCKET (default
 * /tmp/kairo-console-demo.sock; docs/observability.md, "The live
 * console") and runs named tasks:
 *   ticker     wakes every 100 ms and goes back to sleep
 *   cruncher   computes 2 ms, sleeps 8 ms: a fifth of a worker
 *   yielder    computes 20 us and yields, 50 times, then sleeps 10 ms
 *   idler-N    three tasks asleep for an hour (never polled again)
 *   slowpoke   every 1.5 s, one poll that spins 60 ms: a slow poll,
 *              reported on the console's warning list
 *   spawner    starts a short-lived "child" task every 250 ms
 * and stops after N seconds (default: on SIGINT or SIGTERM).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kairo.h"

static volatile sig_atomic_t stop;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burns the CPU for `ns`: work the scheduler cannot interrupt. */
static void spin(uint64_t ns) {
    uint64_t end = now_ns() + ns;
    while (now_ns() < end) {
    }
}

/* ---- a task that sleeps `period` between bursts of `work` ------------ */
typedef struct pacer {
    kr_future base;
    kr_coro co;
    kr_sleep nap;
    uint64_t work_ns;
    kr_duration period;
    unsigned rounds; /* 0: forever */
    unsigned done;
} pacer;

static kr_poll pacer_poll(kr_future *f, kr_context *cx, void *out) {
    pacer *p = (pacer *)f;
    (void)out;
    KR_ASYNC_BEGIN(&p->co);
    while (p->rounds == 0 || p->done++ < p->rounds) {
        if (p->work_ns != 0)
            spin(p->work_ns);
        p->nap = kr_sleep_for(p->period);
        KR_AWAIT(&p->co, &p->nap.base, cx, NULL);
    }
    KR_ASYNC_END(&p->co);
}
static void pacer_drop(kr_future *f) { kr_coro_drop(&((pacer *)f)->co); }
KR_FUTURE_VTABLE(pacer_vt, pacer, pacer_poll, pacer_drop, 0);

static pacer make_pacer(uint64_t work_ns, kr_duration period, unsigned rounds) {
    pacer p;
    memset(&p, 0, sizeof(p));
    p.base.vtable = &pacer_vt;
    p.work_ns = work_ns;
    p.period = period;
    p.rounds = rounds;
    return p;
}

/* ---- a task that works a little and yields, over and over ----------- */
typedef struct yielder {
    kr_future base;
    kr_coro co;
    unsigned n;
    kr_sleep nap;
} yielder;

static kr_poll yielder_poll(kr_future *f, kr_context *cx, void *out) {
    yielder *y = (yielder *)f;
    (void)out;
    KR_ASYNC_BEGIN(&y->co);
    for (;;) {
        for (y->n = 0; y->n < 50; y->n++) {
            spin(20 * 1000);
            KR_YIELD(&y->co, cx);
        }
        y->nap = kr_sleep_for(kr_ms(10));
        KR_AWAIT(&y->co, &y->nap.base, cx, NULL);
    }
    KR_ASYNC_END(&y->co);
}
static void yielder_drop(kr_future *f) { kr_coro_drop(&((yielder *)f)->co); }
KR_FUTURE_VTABLE(yielder_vt, yielder, yielder_poll, yielder_drop, 0);

/* ---- spawner: a child every 250 ms ------------------------------------ */
typedef struct spawner {
    kr_future base;
    kr_coro co;
    kr_sleep nap;
    unsigned n;
} spawner;

static kr_poll spawner_poll(kr_future *f, kr_context *cx, void *out) {
    spawner *s = (spawner *)f;
    (void)out;
    KR_ASYNC_BEGIN(&s->co);
    for (;;) {
        {
            /* Three rounds of 0.2 ms work, 50 ms apart, then done. */
            pacer child = make_pacer(200 * 1000, kr_ms(50), 3);
            char name[32];
            snprintf(name, sizeof(name), "child-%u", ++s->n % 1000);
            kr_task_builder b = KR_TASK_BUILDER(.name = name);
            (void)kr_task_spawn(&b, &child.base, NULL); /* detached */
        }
        s->nap = kr_sleep_for(kr_ms(250));
        KR_AWAIT(&s->co, &s->nap.base, cx, NULL);
    }
    KR_ASYNC_END(&s->co);
}
static void spawner_drop(kr_future *f) { kr_coro_drop(&((spawner *)f)->co); }
KR_FUTURE_VTABLE(spawner_vt, spawner, spawner_poll, spawner_drop, 0);

/* ---- main: until a signal or the deadline ---------------------------- */
typedef struct waiter {
    kr_future base;
    kr_coro co;
    kr_sleep nap;
    uint64_t deadline;
} waiter;

static kr_poll waiter_poll(kr_future *f, kr_context *cx, void *out) {
    waiter *w = (waiter *)f;
    (void)out;
    KR_ASYNC_BEGIN(&w->co);
    while (!stop && (w->deadline == 0 || now_ns() < w->deadline)) {
        w->nap = kr_sleep_for(kr_ms(100));
        KR_AWAIT(&w->co, &w->nap.base, cx, NULL);
    }
    KR_ASYNC_END(&w->co);
}
static void waiter_drop(kr_future *f) { kr_coro_drop(&((waiter *)f)->co); }
KR_FUTURE_VTABLE(waiter_vt, waiter, waiter_poll, waiter_drop, 0);

static void spawn_named(kr_runtime *rt, const char *name, const kr_future *f) {
    kr_task_builder b = KR_TASK_BUILDER(.name = name, .runtime = rt);
    int rc = kr_task_spawn(&b, f, NULL);
    if (rc != 0) {
        fprintf(stderr, "console_demo: spawn %s: %s\n", name, kr_strerror(rc));
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *path = "/tmp/kairo-console-demo.sock";
    unsigned seconds = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = (unsigned)strtoul(argv[++i], NULL, 10);
        else
            path = argv[i];
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_MULTI_THREAD;
    c.workers = 2;
    c.console_path = path;
    /* The console would pick these itself; set here, the slow polls also
     * go to stderr (the default reporter). */
    c.slow_poll_ns =
        40 * 1000 * 1000; /* slowpoke's 60 ms, not a preempted 2 ms */
    kr_runtime *rt;
    int rc = kr_runtime_new(&c, &rt);
    if (rc != 0) {
        fprintf(stderr, "console_demo: %s\n", kr_strerror(rc));
        return 1;
    }
    printf("console_demo: serving the console on %s (kairo-console %s)\n", path,
           path);
    fflush(stdout);

    pacer ticker = make_pacer(0, kr_ms(100), 0);
    pacer cruncher = make_pacer(2000000, kr_ms(8), 0);
    pacer slowpoke = make_pacer(60000000, kr_ms(1500), 0);
    pacer idler = make_pacer(0, kr_secs(3600), 0);
    yielder y;
    memset(&y, 0, sizeof(y));
    y.base.vtable = &yielder_vt;
    spawner sp;
    memset(&sp, 0, sizeof(sp));
    sp.base.vtable = &spawner_vt;
    spawn_named(rt, "ticker", &ticker.base);
    spawn_named(rt, "cruncher", &cruncher.base);
    spawn_named(rt, "yielder", &y.base);
    spawn_named(rt, "slowpoke", &slowpoke.base);
    spawn_named(rt, "spawner", &sp.base);
    for (int i = 1; i <= 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "idler-%d", i);
        spawn_named(rt, name, &idler.base);
    }

    waiter w;
    memset(&w, 0, sizeof(w));
    w.base.vtable = &waiter_vt;
    w.deadline = seconds ? now_ns() + (uint64_t)seconds * 1000000000u : 0;
    rc = kr_runtime_block_on(rt, &w.base, NULL);
    kr_runtime_free(rt);
    return rc == 0 ? 0 : 1;
}
