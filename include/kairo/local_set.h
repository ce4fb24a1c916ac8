/*
 * kairo/local_set.h: local task sets (Tokio's LocalSet).
 *
 * A local task set holds tasks that must stay on one thread: the thread
 * that made the set (its owner). Use it for futures that touch thread-
 * affine state: thread-local caches, a library that is not thread-safe, an
 * object that must be freed where it was made. A local task never
 * migrates: it is polled only while the set is run on its owner thread,
 * and its future is dropped there too (when it completes, is aborted, or
 * when the set is freed).
 *
 * The set is not a runtime: it runs inside one. Awaiting
 * kr_local_set_run_until(set, f) (in kr_runtime_block_on, or in a task of
 * either runtime) polls `f` and, in the same poll, the set's ready tasks;
 * awaiting kr_local_set_wait(set) runs them until all have finished. Local
 * tasks see the surrounding runtime as usual: kr_spawn from one spawns
 * onto that runtime, sleeps register on its timers (and follow its paused
 * clock, kairo/time.h), sockets on its reactor.
 *
 * Wakes work from any thread: a wake on the owner thread while the set is
 * being run queues the task locally (no atomic beyond the task's own
 * state), any other wake goes through the set's remote queue (a lock-free
 * MPSC queue) and wakes whoever is running the set.
 *
 * Where kairo differs from Tokio. A LocalSet is !Send in Rust, so the
 * compiler keeps it on its thread; in C the set checks: polling one of its
 * futures on another thread aborts with a message, and kr_local_set_spawn
 * or kr_local_set_free there return KR_EPERM. On the multi-thread runtime
 * this means: await a set from the block_on future (or from a local task
 * of another set on the same thread), not from a worker's task, which may
 * be moved to another worker between polls. Local tasks are not listed by
 * kr_runtime_dump, and do not keep a runtime's shutdown from completing:
 * a shutdown drops the future running the set, and the set's tasks wait,
 * unpolled, until it is run again or freed.
 */
#ifndef KAIRO_LOCAL_SET_H
#define KAIRO_LOCAL_SET_H

#include "core.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_local_set kr_local_set;

/* Makes an empty set owned by the calling thread. Returns 0, KR_EINVAL
 * (NULL out) or KR_ENOMEM. */
KR_API int kr_local_set_new(kr_local_set **out);

/*
 * Frees the set: every task still in it has its future dropped, here and
 * now, on the owner thread (their join handles read KR_ECANCELED); wakes
 * that arrive later from other threads are dropped. Memory still
 * referenced by wakers or join handles is freed when the last goes.
 * Requires: no future of the set (run_until, wait) is outstanding: drop
 * them first. Returns 0 (also for NULL), KR_EPERM (not the owner thread:
 * nothing done), KR_EBUSY (called from inside the set's own run: a local
 * task or the run_until future; nothing done).
 */
KR_API int kr_local_set_free(kr_local_set *ls);

/*
 * Spawns `future` (copied, as kr_spawn) into the set; it runs the next
 * time the set is run. The owner thread, any time: inside the set or not,
 * inside a runtime or not (Tokio's LocalSet::spawn_local). Wakes whoever
 * is running the set. Returns 0, KR_EINVAL (NULL set or bad future),
 * KR_EPERM (not the owner thread), KR_ENOMEM.
 */
KR_API int kr_local_set_spawn(kr_local_set *ls, const kr_future *future,
                              kr_join_handle *join);

/*
 * Spawns `future` into the set being run on this thread: from a local task
 * or from the future a kr_local_set_run_until runs, or into the set a
 * kr_local_set_enter guard entered (Tokio's task::spawn_local). Returns 0, KR_EINVAL (bad future, or no set is being
 * run here: Tokio panics "spawn_local called from outside of a
 * task::LocalSet"), KR_ENOMEM.
 */
KR_API int kr_spawn_local(const kr_future *future, kr_join_handle *join);

/* True if a set is being run or entered on this thread (kr_spawn_local
 * would work). */
KR_API bool kr_local_set_is_entered(void);

/*
 * Enters the set on its thread without running it (Tokio's
 * LocalSet::enter): until kr_local_set_exit, kr_spawn_local spawns into
 * it, and the tasks run when the set is next run. Guards nest; exit them
 * in reverse order (checked in debug builds). A wake under a guard alone
 * wakes the set's runner as any wake from outside its run does. Returns
 * 0, KR_EINVAL (NULL), KR_EPERM (not the owner thread). kr_local_set_free
 * of an entered set returns KR_EBUSY.
 */
typedef struct kr_local_enter {
    kr_local_set *set_, *prev_;
} kr_local_enter;
KR_API int kr_local_set_enter(kr_local_set *ls, kr_local_enter *guard);
/* Leaves what kr_local_set_enter entered. NULL or an empty guard: none. */
KR_API void kr_local_set_exit(kr_local_enter *guard);

/*
 * A future that runs `inner` with the set entered (kr_spawn_local works in
 * it) and runs the set's tasks alongside, until `inner` completes; then it
 * completes, leaving the set's other tasks in the set (Tokio's run_until).
 * Output: an int, 0 (inner's output written to `dst`, NULL discards), or
 * KR_EINVAL (made with a NULL set or future). It owns `inner` from its
 * first poll: it drops inner when done, or when itself dropped. At most
 * 61 local polls per poll of it, then it wakes itself and
 * yields, so the runtime around it goes on.
 */
typedef struct kr_local_run_until {
    kr_future base;
    kr_local_set *ls_;
    kr_future *inner_;
    void *dst_;
} kr_local_run_until;
KR_API kr_local_run_until kr_local_set_run_until(kr_local_set *ls,
                                                 kr_future *inner, void *dst);

/* A future that runs the set until it has no task left (awaiting Tokio's
 * LocalSet). Output: an int, 0, or KR_EINVAL (NULL set). */
typedef struct kr_local_set_wait_fut {
    kr_future base;
    kr_local_set *ls_;
} kr_local_set_wait_fut;
KR_API kr_local_set_wait_fut kr_local_set_wait(kr_local_set *ls);

/*
 * kr_runtime_block_on(rt, run_until(ls, future, out)) (Tokio's
 * LocalSet::block_on). Returns block_on's code, else run_until's.
 */
KR_API int kr_local_set_block_on(kr_local_set *ls, kr_runtime *rt,
                                 kr_future *future, void *out);

/* Tasks in the set that have not completed (owner thread; 0 for NULL). */
KR_API size_t kr_local_set_len(const kr_local_set *ls);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_LOCAL_SET_H */
