/*
 * Guide §8, bounded concurrency: 50 jobs, at most 4 running at once. The
 * set's length is the number in flight: at the limit, join one before
 * spawning the next. Run by ctest (guide/bounded).
 */
#include <stdatomic.h>
#include <stdio.h>

#include "kairo.h"

static atomic_int running, most;

typedef struct {
    KR_ASYNC_FIELDS;
    int id;
    kr_sleep nap;
} job;
KR_ASYNC_FN(job, int);
KR_ASYNC_NO_DROP(job);

static void count_in(void) {
    int now = atomic_fetch_add(&running, 1) + 1, seen = atomic_load(&most);
    while (now > seen && !atomic_compare_exchange_weak(&most, &seen, now)) {
    }
}

KR_ASYNC_POLL(job, j, cx) {
    count_in();
    KR_FN_CALL_VOID(j->nap, kr_sleep_for(kr_ms(1)));
    atomic_fetch_sub(&running, 1);
    KR_FN_RETURN(j->id);
}
KR_ASYNC_POLL_END

// [bounded]
#define JOBS  50
#define LIMIT 4

typedef struct {
    KR_ASYNC_FIELDS;
    kr_join_set *set;
    kr_join_next next;
    int i, v, rc, done;
} runner;
KR_ASYNC_FN(runner, int);
KR_ASYNC_DROP(runner, r) { kr_join_set_free(r->set); }

KR_ASYNC_POLL(runner, r, cx) {
    if (kr_join_set_new(sizeof(int), &r->set) != 0)
        KR_FN_RETURN(-1);
    for (r->i = 0; r->i < JOBS; r->i++) {
        if (kr_join_set_len(r->set) == LIMIT) { /* full: wait for one */
            KR_FN_CALL(r->next, kr_join_set_join_next(r->set, &r->v), r->rc);
            r->done += r->rc == 0;
        }
        job j = {KR_ASYNC_INIT(job), .id = r->i};
        if (kr_join_set_spawn(r->set, &j.base, NULL) != 0)
            KR_FN_RETURN(-1);
    }
    while (!kr_join_set_is_empty(r->set)) { /* the last ones */
        KR_FN_CALL(r->next, kr_join_set_join_next(r->set, &r->v), r->rc);
        r->done += r->rc == 0;
    }
    KR_FN_RETURN(r->done);
}
KR_ASYNC_POLL_END
// [/bounded]

int main(void) {
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    cfg.workers = 2;
    kr_runtime *rt;
    if (kr_runtime_new(&cfg, &rt) != 0)
        return 1;
    runner r = {KR_ASYNC_INIT(runner)};
    int done = 0;
    int rc = kr_runtime_block_on(rt, &r.base, &done);
    kr_runtime_free(rt);
    printf("%d jobs, at most %d at once\n", done, atomic_load(&most));
    return rc == 0 && done == JOBS && atomic_load(&most) <= LIMIT ? 0 : 1;
}
