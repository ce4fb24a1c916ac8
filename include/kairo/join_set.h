/*
 * kairo/join_set.h: a set of spawned tasks, joined in the order they finish
 * (Tokio's JoinSet).
 *
 * Structured concurrency: every task spawned into a set belongs to it until
 * it is joined. kr_join_set_free aborts every task still in the set (each
 * future is dropped, exactly once, on its runtime), so no task outlives its
 * set unless it was detached on purpose (kr_join_set_detach_all).
 *
 *     kr_join_set *set;
 *     kr_join_set_new(sizeof(int64_t), &set);
 *     for (i = 0; i < n; i++) kr_join_set_spawn(set, &job[i].base, NULL);
 *     ...
 *     for (;;) {
 *         c->next = kr_join_set_join_next(c->set, &c->result);
 *         KR_AWAIT_INTO(&c->co, &c->next, cx, c->rc);
 *         if (c->rc == KR_EEMPTY) break;        // every task joined
 *         if (c->rc == 0) total += c->result;   // else KR_ECANCELED
 *     }
 *     kr_join_set_free(c->set);
 *
 * join_next polls only the tasks that finished: each task's join waker is
 * the set's own, one per task, which moves it to a ready list when the
 * task completes (as Tokio's IdleNotifiedSet does), so joining N tasks
 * costs O(N), not O(N^2).
 *
 * Threads: a set is used by one task (or thread) at a time, as a join
 * handle is; the tasks in it may run and finish on any thread.
 */
#ifndef KAIRO_JOIN_SET_H
#define KAIRO_JOIN_SET_H

#include "core.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_join_set kr_join_set;

/*
 * Creates an empty set whose tasks all have outputs of `output_size`
 * bytes. Returns 0, KR_EINVAL (NULL `out`) or KR_ENOMEM.
 */
KR_API int kr_join_set_new(size_t output_size, kr_join_set **out);

/*
 * Spawns `future` (copied, as kr_spawn does) onto the runtime of the
 * calling thread, into the set. If `abort` is not NULL it receives an abort
 * handle for the task (kairo/runtime.h; release it with
 * kr_abort_handle_drop). Returns 0; KR_EINVAL (NULL set or future, an
 * output size other than the set's, or not inside a runtime);
 * KR_ESHUTDOWN; KR_ENOMEM. On failure nothing was spawned, and the future
 * was not dropped.
 */
KR_API int kr_join_set_spawn(kr_join_set *set, const kr_future *future,
                             kr_abort_handle **abort);

/* Spawns onto `rt` from any thread; otherwise as kr_join_set_spawn. */
KR_API int kr_join_set_spawn_on(kr_join_set *set, kr_runtime *rt,
                                const kr_future *future,
                                kr_abort_handle **abort);

/* The number of tasks in the set: spawned and not yet joined (finished
 * and aborted ones count until they are joined). */
KR_API size_t kr_join_set_len(const kr_join_set *set);

/* True when the set holds no task. */
static inline bool kr_join_set_is_empty(const kr_join_set *set) {
    return kr_join_set_len(set) == 0;
}

/*
 * Requests cancellation of every task in the set (kr_join_handle_abort);
 * they stay in it until joined, when they read KR_ECANCELED (or 0 for a
 * task that finished before the abort reached it).
 */
KR_API void kr_join_set_abort_all(kr_join_set *set);

/* Removes every task from the set without aborting it: they run on,
 * detached (their outputs are discarded). */
KR_API void kr_join_set_detach_all(kr_join_set *set);

/*
 * Aborts every task still in the set, lets go of them and frees the set.
 * Any thread that may use the set; NULL is ignored. The tasks' futures are
 * dropped on their runtime, at their next scheduling (before
 * kr_runtime_free returns, at the latest).
 */
KR_API void kr_join_set_free(kr_join_set *set);

/*
 * A future joining the next task of the set to finish. Output (an int): 0
 * (the task completed; its output was copied to `out` unless `out` is
 * NULL), KR_ECANCELED (it was aborted, or its runtime shut down; `out` is
 * zeroed), KR_EEMPTY (the set was empty when polled: nothing to wait for).
 * The joined task leaves the set. Cancel-safe: dropping the future before
 * READY loses no task. The set must outlive the future.
 */
typedef struct kr_join_next {
    kr_future base;
    kr_join_set *set_;
    void *out_;
} kr_join_next;

KR_API extern const kr_future_vtable kr__join_next_vtable;
static inline kr_join_next kr_join_set_join_next(kr_join_set *set, void *out) {
    kr_join_next j = {{&kr__join_next_vtable}, set, out};
    return j;
}

/*
 * Joins a task that has already finished, without waiting: as join_next's
 * output, or KR_EAGAIN when tasks are in the set but none has finished
 * (or been noticed finishing: a completion races this call), or when the
 * calling task's cooperative budget is spent (yield, then try again).
 */
KR_API int kr_join_set_try_join_next(kr_join_set *set, void *out);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_JOIN_SET_H */
