/*
 * core/rt_thread.h: the threads a runtime starts (multi-thread workers,
 * blocking-pool threads), as kr_runtime_config describes them: their
 * stack size, their name, and the start/stop and park/unpark hooks.
 *
 * Every hook check is one load and a branch predicted not-taken; the
 * park hooks sit beside a futex wait or an epoll_wait, the thread hooks
 * at a thread's start and exit, so none is on a path that runs per task.
 */
#ifndef KR_CORE_RT_THREAD_H
#define KR_CORE_RT_THREAD_H

#include <pthread.h>
#include <stdbool.h>

#include "kairo.h"

/* Starts fn(arg) on a new thread with the config's stack size, detached
 * or joinable. Returns 0 or a positive errno (kr__thread_start's). */
int kr__rt_thread_start(const kr_runtime_config *cfg, pthread_t *th,
                        bool detached, void *(*fn)(void *), void *arg);

/* First thing on such a thread: names it (cfg's name or name function,
 * else `dflt`) and calls on_thread_start. */
void kr__rt_thread_begin(const kr_runtime_config *cfg, const char *dflt);

/* Last thing on such a thread: calls on_thread_stop. */
static inline void kr__rt_thread_end(const kr_runtime_config *cfg) {
    if (__builtin_expect(cfg->on_thread_stop != NULL, 0))
        cfg->on_thread_stop(cfg->hook_arg);
}

/* Around a scheduler thread's park. */
static inline void kr__rt_before_park(const kr_runtime_config *cfg) {
    if (__builtin_expect(cfg->on_thread_park != NULL, 0))
        cfg->on_thread_park(cfg->hook_arg);
}
static inline void kr__rt_after_unpark(const kr_runtime_config *cfg) {
    if (__builtin_expect(cfg->on_thread_unpark != NULL, 0))
        cfg->on_thread_unpark(cfg->hook_arg);
}

/* The task hooks; `id` is the task's. Out of line and cold, so that the
 * unset case costs the caller a load and a branch and no stack frame. */
__attribute__((cold, noinline)) void
kr__rt_task_hook_call(const kr_runtime_config *cfg, kr_task_hook hook,
                      uint64_t id);
#define KR__RT_ON_SPAWN(cfg, id)                                               \
    do {                                                                       \
        if (__builtin_expect((cfg)->on_task_spawn != NULL, 0))                 \
            kr__rt_task_hook_call((cfg), (cfg)->on_task_spawn, (id));          \
    } while (0)
/* (ct_release and mt_release test on_task_terminate themselves, so that
 * the hooked path is a tail call: see current_thread.c.) */
#define KR__RT_ON_TERMINATE(cfg, id)                                           \
    do {                                                                       \
        if (__builtin_expect((cfg)->on_task_terminate != NULL, 0))             \
            kr__rt_task_hook_call((cfg), (cfg)->on_task_terminate, (id));      \
    } while (0)

#endif
