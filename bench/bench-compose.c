/*
 * bench/bench-compose.c: the cost of composing futures inside one task
 * (kairo/combinators.h, kairo/join_set.h), with the Tokio peer's select!,
 * join! and JoinSet doing the same work (bench/peers/tokio/src/compose.rs).
 * Every row is one block_on on a current-thread runtime made once, running
 * COMPOSE_OPS operations; the figure is per iteration (divide by 1000 for
 * one select or join).
 *
 *   compose/select2_biased  a biased select of (ready value, never-ready):
 *                           the first wins, the second is dropped
 *   compose/select2_fair    the same, fair (Tokio: select! without biased;,
 *                           a random start)
 *   compose/select2_yield   a fair select of (yield once then ready,
 *                           never-ready): two polls of the select
 *   compose/join4           a join of four ready values, each to its place
 *   compose/join4_yield     a join of four futures yielding once each
 *   compose/join_set_1000   1000 ready tasks spawned into a set, joined in
 *                           completion order (one op = the whole set; the
 *                           figure is for 1000 tasks)
 */
#include "bench.h"

#define COMPOSE_OPS 1000

/* Ready at the first poll with its value (std::future::ready). */
typedef struct {
    kr_future base;
    uint64_t v;
} ready_val;
static kr_poll ready_poll(kr_future *f, kr_context *cx, void *out) {
    (void)cx;
    *(uint64_t *)out = ((ready_val *)f)->v;
    return KR_READY;
}
static const kr_future_vtable ready_vt = {ready_poll, NULL, sizeof(ready_val),
                                          sizeof(uint64_t), "ready"};

/* Never ready, never wakes (std::future::pending). */
typedef struct {
    kr_future base;
} never;
static kr_poll never_poll(kr_future *f, kr_context *cx, void *out) {
    (void)f;
    (void)cx;
    (void)out;
    return KR_PENDING;
}
static const kr_future_vtable never_vt = {never_poll, NULL, sizeof(never),
                                          sizeof(uint64_t), "never"};

/* Yields once (waking itself), then ready with its value. */
typedef struct {
    kr_future base;
    uint64_t v;
    int yielded;
} yield_val;
static kr_poll yield_val_poll(kr_future *f, kr_context *cx, void *out) {
    yield_val *y = (yield_val *)f;
    if (!y->yielded) {
        y->yielded = 1;
        kr_waker_wake_by_ref(kr_context_waker(cx));
        return KR_PENDING;
    }
    *(uint64_t *)out = y->v;
    return KR_READY;
}
static const kr_future_vtable yield_val_vt = {
    yield_val_poll, NULL, sizeof(yield_val), sizeof(uint64_t), "yield_val"};

/* ---- the loops --------------------------------------------------------- */

enum { SELECT2, SELECT2_FAIR, SELECT2_YIELD, JOIN4, JOIN4_YIELD };

typedef struct {
    kr_future base;
    kr_coro co;
    int kind;
    uint64_t i, sum, o[4];
    ready_val r[4];
    yield_val y[4];
    never nv;
    kr_branch br[4];
    kr_select_fut sel;
    kr_join_fut join;
    int which;
} compose_loop;

static kr_poll loop_poll(kr_future *f, kr_context *cx, void *out) {
    compose_loop *l = (compose_loop *)f;
    KR_ASYNC_BEGIN(&l->co);
    for (l->i = 0; l->i < COMPOSE_OPS; l->i++) {
        if (l->kind <= SELECT2_YIELD) {
            if (l->kind == SELECT2_YIELD) {
                l->y[0] = (yield_val){{&yield_val_vt}, l->i, 0};
                KR_BRANCH_SET(&l->br[0], &l->y[0], l->o[0]);
            } else {
                l->r[0] = (ready_val){{&ready_vt}, l->i};
                KR_BRANCH_SET(&l->br[0], &l->r[0], l->o[0]);
            }
            l->nv = (never){{&never_vt}};
            KR_BRANCH_SET(&l->br[1], &l->nv, l->o[1]);
            l->sel = kr_select(
                l->br, 2, l->kind == SELECT2 ? KR_POLL_BIASED : KR_POLL_FAIR);
            KR_AWAIT_INTO(&l->co, &l->sel, cx, l->which);
            l->sum += l->o[l->which];
        } else {
            for (int k = 0; k < 4; k++) {
                if (l->kind == JOIN4_YIELD) {
                    l->y[k] = (yield_val){{&yield_val_vt}, l->i + k, 0};
                    KR_BRANCH_SET(&l->br[k], &l->y[k], l->o[k]);
                } else {
                    l->r[k] = (ready_val){{&ready_vt}, l->i + k};
                    KR_BRANCH_SET(&l->br[k], &l->r[k], l->o[k]);
                }
            }
            l->join = kr_join(l->br, 4, KR_POLL_FAIR);
            KR_AWAIT(&l->co, &l->join.base, cx, NULL);
            l->sum += l->o[0] + l->o[1] + l->o[2] + l->o[3];
        }
    }
    KR_RETURN(&l->co, out, uint64_t, l->sum);
    KR_ASYNC_END(&l->co);
}
static const kr_future_vtable loop_vt = {loop_poll, NULL, sizeof(compose_loop),
                                         sizeof(uint64_t), "compose_loop"};

typedef struct {
    kr_runtime *rt;
    int kind;
} loop_arg;

static void loop_iter(void *p) {
    loop_arg *a = p;
    compose_loop l = {.base = {&loop_vt}, .co = KR_CORO_INIT, .kind = a->kind};
    uint64_t sum = 0;
    BENCH_OK(kr_runtime_block_on(a->rt, &l.base, &sum));
    uint64_t n = COMPOSE_OPS, want = n * (n - 1) / 2;
    if (a->kind >= JOIN4)
        want = 4 * want + 6 * n;
    BENCH_CHECK_EQ("compose sum", (long long)sum, (long long)want);
}

static kr_runtime *ct_runtime(void) {
    kr_runtime *rt;
    BENCH_OK(kr_runtime_new(NULL, &rt));
    return rt;
}

static void run_loop_bench(const bench_cfg *cfg, const char *name, int kind) {
    loop_arg a = {ct_runtime(), kind};
    bench_measure(cfg, name, loop_iter, &a);
    kr_runtime_free(a.rt);
}

void compose_select2_biased(const bench_cfg *cfg, const char *name) {
    run_loop_bench(cfg, name, SELECT2);
}
void compose_select2_fair(const bench_cfg *cfg, const char *name) {
    run_loop_bench(cfg, name, SELECT2_FAIR);
}
void compose_select2_yield(const bench_cfg *cfg, const char *name) {
    run_loop_bench(cfg, name, SELECT2_YIELD);
}
void compose_join4(const bench_cfg *cfg, const char *name) {
    run_loop_bench(cfg, name, JOIN4);
}
void compose_join4_yield(const bench_cfg *cfg, const char *name) {
    run_loop_bench(cfg, name, JOIN4_YIELD);
}

/* ---- join_set_1000 ------------------------------------------------------ */

typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_set *set;
    kr_join_next next;
    uint64_t i, v, sum;
    int rc;
} set_loop;

static kr_poll set_loop_poll(kr_future *f, kr_context *cx, void *out) {
    set_loop *s = (set_loop *)f;
    KR_ASYNC_BEGIN(&s->co);
    for (s->i = 0; s->i < COMPOSE_OPS; s->i++) {
        ready_val r = {{&ready_vt}, s->i};
        BENCH_OK(kr_join_set_spawn(s->set, &r.base, NULL));
    }
    for (;;) {
        s->next = kr_join_set_join_next(s->set, &s->v);
        KR_AWAIT_INTO(&s->co, &s->next, cx, s->rc);
        if (s->rc != 0)
            break;
        s->sum += s->v;
    }
    KR_RETURN(&s->co, out, uint64_t, s->sum);
    KR_ASYNC_END(&s->co);
}
static const kr_future_vtable set_loop_vt = {
    set_loop_poll, NULL, sizeof(set_loop), sizeof(uint64_t), "set_loop"};

typedef struct {
    kr_runtime *rt;
    kr_join_set *set;
} set_arg;

static void set_iter(void *p) {
    set_arg *a = p;
    set_loop s = {.base = {&set_loop_vt}, .co = KR_CORO_INIT, .set = a->set};
    uint64_t sum = 0;
    BENCH_OK(kr_runtime_block_on(a->rt, &s.base, &sum));
    BENCH_CHECK_EQ("join_set sum", (long long)sum,
                   (long long)COMPOSE_OPS * (COMPOSE_OPS - 1) / 2);
}

void compose_join_set_1000(const bench_cfg *cfg, const char *name) {
    set_arg a = {ct_runtime(), NULL};
    BENCH_OK(kr_join_set_new(sizeof(uint64_t), &a.set));
    bench_measure(cfg, name, set_iter, &a);
    kr_join_set_free(a.set);
    kr_runtime_free(a.rt);
}
