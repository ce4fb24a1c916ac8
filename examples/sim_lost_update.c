/*
 * sim_lost_update: a planted ordering bug, found and replayed by the
 * deterministic simulation (kairo/sim.h, docs/simulation.md).
 *
 * Two tellers deposit into one account, three times each. A deposit reads
 * the balance, sometimes waits on a (simulated) slow audit service, then
 * writes balance + amount back: a read-modify-write across an await. When
 * the other teller runs inside that window, one deposit is lost. Whether
 * it does depends on the schedule, which the simulation draws from its
 * seed, so:
 *
 *   sim_lost_update                 try seeds 1..200, stop at the first
 *                                   failure and print its seed
 *   sim_lost_update --seeds N       try seeds 1..N
 *   KAIRO_SEED=S sim_lost_update    run seed S only (a replay: the same
 *                                   schedule, the same log, every time)
 *   sim_lost_update --fixed ...     the corrected deposit (no await inside
 *                                   the read-modify-write): never fails
 *   sim_lost_update --log ...       print each run's event log too
 *
 * Each run prints one line: the seed, the final balance, the event log's
 * hash. Exit status 1 when a run failed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kairo.h"

#define TELLERS  2
#define DEPOSITS 3
#define AMOUNT   100

static long balance;
static int fixed, show_log;

typedef struct teller {
    kr_future base;
    kr_coro co;
    int i;
    long seen;
    kr_yield audit;
} teller;

static kr_poll teller_poll(kr_future *f, kr_context *cx, void *out) {
    teller *t = (teller *)f;
    (void)out;
    KR_ASYNC_BEGIN(&t->co);
    for (t->i = 0; t->i < DEPOSITS; t->i++) {
        t->seen = balance; /* read */
        /* One deposit in forty asks the audit service first, which
         * takes a moment: the task yields to the scheduler. */
        if (kr_sim_random() % 40 == 0) {
            t->audit = kr_yield_now();
            KR_AWAIT(&t->co, &t->audit.base, cx, NULL);
        }
        if (fixed)
            balance += AMOUNT; /* modify-write with no await in between */
        else
            balance = t->seen + AMOUNT; /* the bug: `seen` may be stale */
    }
    KR_RETURN_VOID(&t->co);
    KR_ASYNC_END(&t->co);
}

static const kr_future_vtable teller_vt = {teller_poll, NULL, sizeof(teller), 0,
                                           "teller"};

typedef struct bank {
    kr_future base;
    kr_join_handle h[TELLERS];
    int started, n;
} bank;

static kr_poll bank_poll(kr_future *f, kr_context *cx, void *out) {
    bank *b = (bank *)f;
    (void)out;
    if (!b->started) {
        b->started = 1;
        for (int i = 0; i < TELLERS; i++) {
            teller t;
            memset(&t, 0, sizeof(t));
            t.base.vtable = &teller_vt;
            if (kr_spawn(&t.base, &b->h[i]) != 0)
                return KR_READY;
        }
    }
    for (; b->n < TELLERS; b->n++) {
        if (kr_future_poll(&b->h[b->n].base, cx, NULL) == KR_PENDING)
            return KR_PENDING;
        kr_future_drop(&b->h[b->n].base);
    }
    return KR_READY;
}

static const kr_future_vtable bank_vt = {bank_poll, NULL, sizeof(bank), 0,
                                         "bank"};

/* One run with `seed` (0: KAIRO_SEED). Returns 1 if the balance is wrong. */
static int run(uint64_t seed) {
    kr_runtime_config c = kr_runtime_config_default();
    c.flavor = KR_RUNTIME_SIMULATION;
    c.seed = seed;
    kr_runtime *rt;
    if (kr_runtime_new(&c, &rt) != 0)
        return 2;
    balance = 0;
    bank b;
    memset(&b, 0, sizeof(b));
    b.base.vtable = &bank_vt;
    int rc = kr_runtime_block_on(rt, &b.base, NULL);
    const char *log;
    size_t len;
    uint64_t hash;
    kr_sim_log(rt, &log, &len, &hash);
    kr_sim_seed(rt, &seed);
    long want = (long)TELLERS * DEPOSITS * AMOUNT;
    int bad = rc != 0 || balance != want;
    printf("seed %" PRIu64
           ": balance %ld of %ld, log %zu bytes, hash %016" PRIx64 "\n",
           seed, balance, want, len, hash);
    if (show_log)
        fwrite(log, 1, len, stdout);
    if (bad) {
        char what[96];
        snprintf(what, sizeof(what), "lost update: balance %ld, expected %ld",
                 balance, want);
        fflush(stdout);
        kr_sim_report(rt, 1, what);
    }
    kr_runtime_free(rt);
    return bad;
}

int main(int argc, char **argv) {
    long seeds = 200;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fixed") == 0)
            fixed = 1;
        else if (strcmp(argv[i], "--log") == 0)
            show_log = 1;
        else if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc)
            seeds = atol(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--fixed] [--log] [--seeds N]\n",
                    argv[0]);
            return 2;
        }
    }
    uint64_t s;
    if (kr_sim_env_seed(&s))
        return run(0) ? 1 : 0; /* a replay of KAIRO_SEED */
    for (long i = 1; i <= seeds; i++) {
        if (run((uint64_t)i)) {
            printf("found after %ld seeds\n", i);
            return 1;
        }
    }
    printf("no failure in %ld seeds\n", seeds);
    return 0;
}
