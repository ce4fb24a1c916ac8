/*
 * pipeline: a producer, CPU-heavy workers on the blocking pool with
 * bounded concurrency, and a consumer printing results in input order.
 *
 *     pipeline [--jobs N] [--workers W] [--work K] [--current-thread]
 *
 * The producer sends N job numbers into a bounded mpsc (capacity W, so it
 * runs at most W jobs ahead). A dispatcher takes each job, first reserves
 * a slot on a second bounded channel of capacity W (a reserved permit is a
 * semaphore permit: at most W are out at once), then runs the job with
 * kr_spawn_blocking and hands the permit to a small task that awaits the
 * job, sends its result to the consumer and drops the permit, which lets
 * the dispatcher start the next job. The consumer (block_on) receives
 * results as they finish and prints them in input order:
 *
 *     job 0: input 1000 -> 168 primes
 *
 * then "max concurrency: C (limit W)". The work: counting the primes below
 * K * (input + 1) by trial division, deliberately slow.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kairo.h"

static long jobs = 32, workers = 4, work = 20000;
static atomic_int running, max_running;

typedef struct {
    long seq;
    long input;
} job;

typedef struct {
    long seq;
    long input;
    long primes;
} result;

/* ---- the CPU-heavy part (on a blocking-pool thread) --------------------- */

typedef struct {
    job j;
    long primes;
} work_item;

static void *count_primes(void *arg) {
    work_item *w = arg;
    int now = atomic_fetch_add(&running, 1) + 1;
    int seen = atomic_load(&max_running);
    while (now > seen &&
           !atomic_compare_exchange_weak(&max_running, &seen, now)) {
    }
    long limit = work * (w->j.input + 1), n = 0;
    for (long x = 2; x < limit; x++) {
        long d = 2;
        while (d * d <= x && x % d != 0)
            d++;
        n += d * d > x;
    }
    w->primes = n;
    atomic_fetch_sub(&running, 1);
    return w;
}

/* ---- the producer ----------------------------------------------------- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_mpsc_tx *tx;
    kr_mpsc_send s;
    job j;
    int rc;
} producer;
KR_ASYNC_FN_VOID(producer);

KR_ASYNC_POLL(producer, p, cx) {
    for (p->j.seq = 0; p->j.seq < jobs; p->j.seq++) {
        p->j.input = (p->j.seq * 7919) % 10; /* uneven sizes: out of order */
        KR_FN_CALL(p->s, kr_mpsc_send_future(p->tx, &p->j), p->rc);
        if (p->rc != 0)
            break;
    }
    kr_mpsc_tx_drop(p->tx); /* the dispatcher sees the end */
    p->tx = NULL;
}
KR_ASYNC_POLL_END
KR_ASYNC_DROP(producer, p) { kr_mpsc_tx_drop(p->tx); }

/* ---- one job: await the blocking work, report, release the slot -------- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_join_handle h;
    kr_mpsc_permit slot;
    kr_mpsc_tx *results;
    work_item *w;
    result r;
} finisher;
KR_ASYNC_FN_VOID(finisher);

KR_ASYNC_POLL(finisher, t, cx) {
    KR_FN_AWAIT(&t->h.base);
    t->r = (result){t->w->j.seq, t->w->j.input, t->w->primes};
    (void)kr_mpsc_try_send(t->results, &t->r); /* unbounded: never full */
}
KR_ASYNC_POLL_END
KR_ASYNC_DROP(finisher, t) {
    free(t->w);
    kr_mpsc_permit_drop(&t->slot); /* the next job may start */
    kr_mpsc_tx_drop(t->results);
}

/* ---- the dispatcher ---------------------------------------------------- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_mpsc_rx *jobs;
    kr_mpsc_tx *slots;
    kr_mpsc_tx *results;
    kr_mpsc_recv rv;
    kr_mpsc_reserve res;
    kr_mpsc_permit slot;
    job j;
    int rc;
} dispatcher;
KR_ASYNC_FN_VOID(dispatcher);

KR_ASYNC_POLL(dispatcher, d, cx) {
    for (;;) {
        KR_FN_CALL(d->rv, kr_mpsc_recv_future(d->jobs, &d->j), d->rc);
        if (d->rc != 0)
            break; /* the producer is done */
        KR_FN_CALL(d->res, kr_mpsc_reserve_future(d->slots, &d->slot),
                   d->rc); /* waits for a slot */
        if (d->rc != 0)
            break;
        finisher t = {KR_ASYNC_INIT(finisher)};
        t.w = malloc(sizeof(*t.w));
        t.w->j = d->j;
        t.slot = d->slot; /* the permit moves to the finisher */
        d->slot.chan_ = NULL;
        t.results = kr_mpsc_tx_clone(d->results);
        if (kr_spawn_blocking(count_primes, t.w, &t.h) != 0 ||
            kr_spawn(&t.base, NULL) != 0) {
            fprintf(stderr, "pipeline: could not start job %ld\n", d->j.seq);
            kr_mpsc_permit_drop(&t.slot);
            kr_mpsc_tx_drop(t.results);
            break;
        }
    }
}
KR_ASYNC_POLL_END
KR_ASYNC_DROP(dispatcher, d) {
    kr_mpsc_permit_drop(&d->slot);
    kr_mpsc_rx_drop(d->jobs);
    kr_mpsc_tx_drop(d->slots);
    kr_mpsc_tx_drop(d->results); /* with the finishers', the stream's end */
}

/* ---- the consumer: reorders and prints -------------------------------- */

typedef struct {
    KR_ASYNC_FIELDS;
    kr_mpsc_rx *results;
    kr_mpsc_recv rv;
    result r;
    result *pending; /* by seq */
    char *have;
    long next;
    int rc;
} consumer;
KR_ASYNC_FN(consumer, long);

KR_ASYNC_POLL(consumer, c, cx) {
    while (c->next < jobs) {
        KR_FN_CALL(c->rv, kr_mpsc_recv_future(c->results, &c->r), c->rc);
        if (c->rc != 0)
            break;
        c->pending[c->r.seq] = c->r;
        c->have[c->r.seq] = 1;
        for (; c->next < jobs && c->have[c->next]; c->next++) {
            result *r = &c->pending[c->next];
            printf("job %ld: input %ld -> %ld primes\n", r->seq, r->input,
                   r->primes);
        }
    }
    KR_FN_RETURN(c->next);
}
KR_ASYNC_POLL_END
KR_ASYNC_NO_DROP(consumer);

static void usage(void) {
    fprintf(stderr, "usage: pipeline [--jobs N] [--workers W] [--work K] "
                    "[--current-thread]\n");
    exit(2);
}

int main(int argc, char **argv) {
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
            jobs = atol(argv[++i]);
        else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
            workers = atol(argv[++i]);
        else if (strcmp(argv[i], "--work") == 0 && i + 1 < argc)
            work = atol(argv[++i]);
        else if (strcmp(argv[i], "--current-thread") == 0)
            cfg.flavor = KR_RUNTIME_CURRENT_THREAD;
        else
            usage();
    }
    if (jobs < 0 || workers < 1 || work < 1)
        usage();
    kr_runtime *rt;
    kr_mpsc_tx *job_tx, *slot_tx, *res_tx;
    kr_mpsc_rx *job_rx, *slot_rx, *res_rx;
    if (kr_runtime_new(&cfg, &rt) != 0 ||
        kr_mpsc_new(sizeof(job), (size_t)workers, &job_tx, &job_rx) != 0 ||
        kr_mpsc_new(0, (size_t)workers, &slot_tx, &slot_rx) != 0 ||
        kr_mpsc_unbounded_new(sizeof(result), &res_tx, &res_rx) != 0) {
        fprintf(stderr, "pipeline: out of memory\n");
        return 1;
    }
    producer p = {KR_ASYNC_INIT(producer), .tx = job_tx};
    dispatcher d = {KR_ASYNC_INIT(dispatcher)};
    d.jobs = job_rx;
    d.slots = slot_tx;
    d.results = res_tx;
    consumer c = {KR_ASYNC_INIT(consumer)};
    c.results = res_rx;
    c.pending = calloc((size_t)jobs + 1, sizeof(result));
    c.have = calloc((size_t)jobs + 1, 1);
    long printed = -1;
    if (kr_runtime_spawn(rt, &p.base, NULL) != 0 ||
        kr_runtime_spawn(rt, &d.base, NULL) != 0 ||
        kr_runtime_block_on(rt, &c.base, &printed) != 0) {
        fprintf(stderr, "pipeline: runtime failed\n");
        return 1;
    }
    printf("max concurrency: %d (limit %ld)\n", atomic_load(&max_running),
           workers);
    kr_mpsc_rx_drop(res_rx);
    kr_mpsc_rx_drop(slot_rx);
    kr_runtime_free(rt);
    free(c.pending);
    free(c.have);
    return printed == jobs && atomic_load(&max_running) <= workers ? 0 : 1;
}
