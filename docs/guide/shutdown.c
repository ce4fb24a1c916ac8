/*
 * Guide §8, graceful shutdown: workers that loop until a cancellation
 * token fires, each finishing the step it is in; the main task cancels,
 * then joins them with a deadline, and whatever is still running at the
 * deadline is aborted by freeing the set. Run by ctest (guide/shutdown).
 */
#include <stdio.h>

#include "kairo.h"

// [worker]
typedef struct {
    KR_ASYNC_FIELDS;
    kr_cancel_token *stop; /* this worker's reference */
    kr_cancelled cancelled;
    kr_sleep step;
    kr_branch br[2];
    kr_select_fut sel;
    int which;
    long steps;
} worker;
KR_ASYNC_FN(worker, long);
KR_ASYNC_DROP(worker, w) {
    kr_branches_drop(w->br, 2);
    kr_cancel_token_drop(w->stop);
}

KR_ASYNC_POLL(worker, w, cx) {
    w->cancelled = kr_cancel_token_cancelled(w->stop);
    KR_BRANCH_SET_VOID(&w->br[0], &w->cancelled);
    for (;;) {
        kr_sleep_init(&w->step, kr_ms(1)); /* one unit of work */
        KR_BRANCH_SET_VOID(&w->br[1], &w->step);
        w->sel = kr_select(w->br, 2, KR_POLL_BIASED | KR_SELECT_KEEP);
        KR_FN_AWAIT_INTO(&w->sel, w->which);
        if (w->which == 0)
            break; /* asked to stop: the step in progress is dropped */
        w->steps++;
    }
    KR_FN_RETURN(w->steps);
}
KR_ASYNC_POLL_END
// [/worker]

// [main]
typedef struct {
    KR_ASYNC_FIELDS;
    kr_cancel_token *stop;
    kr_join_set *set;
    kr_sleep run_for, deadline;
    kr_join_next next;
    kr_branch br[2];
    kr_select_fut sel;
    long steps;
    int i, rc, which, stopped;
} supervisor;
KR_ASYNC_FN(supervisor, int);
KR_ASYNC_DROP(supervisor, s) {
    kr_branches_drop(s->br, 2);
    kr_join_set_free(s->set); /* aborts whatever is left */
}

KR_ASYNC_POLL(supervisor, s, cx) {
    if (kr_join_set_new(sizeof(long), &s->set) != 0)
        KR_FN_RETURN(-1);
    for (s->i = 0; s->i < 8; s->i++) {
        worker w = {KR_ASYNC_INIT(worker),
                    .stop = kr_cancel_token_clone(s->stop)};
        if (kr_join_set_spawn(s->set, &w.base, NULL) != 0) {
            kr_cancel_token_drop(w.stop);
            KR_FN_RETURN(-1);
        }
    }
    KR_FN_CALL_VOID(s->run_for, kr_sleep_for(kr_ms(20)));
    kr_cancel_token_cancel(s->stop); /* every worker sees it */
    kr_sleep_init(&s->deadline, kr_ms(2000));
    KR_BRANCH_SET_VOID(&s->br[1], &s->deadline);
    while (!kr_join_set_is_empty(s->set)) {
        s->next = kr_join_set_join_next(s->set, &s->steps);
        KR_BRANCH_SET(&s->br[0], &s->next, s->rc);
        s->sel = kr_select(s->br, 2, KR_POLL_BIASED | KR_SELECT_KEEP);
        KR_FN_AWAIT_INTO(&s->sel, s->which);
        if (s->which == 1)
            break; /* the deadline: the rest are aborted by the drop */
        s->stopped += s->rc == 0;
    }
    KR_FN_RETURN(s->stopped);
}
KR_ASYNC_POLL_END
// [/main]

int main(void) {
    kr_runtime_config cfg = kr_runtime_config_default();
    cfg.flavor = KR_RUNTIME_MULTI_THREAD;
    cfg.workers = 2;
    kr_runtime *rt;
    kr_cancel_token *stop;
    if (kr_runtime_new(&cfg, &rt) != 0 || kr_cancel_token_new(&stop) != 0)
        return 1;
    supervisor s = {KR_ASYNC_INIT(supervisor), .stop = stop};
    int stopped = -1;
    int rc = kr_runtime_block_on(rt, &s.base, &stopped);
    kr_runtime_free(rt);
    kr_cancel_token_drop(stop);
    printf("%d workers stopped cleanly\n", stopped);
    return rc == 0 && stopped == 8 ? 0 : 1;
}
