/*
 * kairo/task.h: what a task knows about itself. A spawn builder (a name
 * and the spawn site), task ids, and task-local values.
 */
#ifndef KAIRO_TASK_H
#define KAIRO_TASK_H

#include "core.h"
#include "blocking.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Spawn builder (Tokio's task::Builder)                                    */
/* ------------------------------------------------------------------------ */

/*
 * How to spawn a task: fill one with KR_TASK_BUILDER, which records the
 * spawn site (the file and line of the macro), and hand it to
 * kr_task_spawn:
 *
 *     kr_task_builder b = KR_TASK_BUILDER(.name = "conn");
 *     rc = kr_task_spawn(&b, &conn.base, &jh);
 *
 * The name and site show in kr_runtime_dump's lines and in the error
 * messages that name the task (the debug checks on join handles, a
 * spawn-in-place init that broke its contract).
 *
 * `name` is COPIED into the task (at most KR_TASK_NAME_MAX bytes; a longer
 * one is cut there), so it may be a buffer the caller reuses at once.
 * `file` is NOT copied: it must be a string that lives as long as the
 * task (__FILE__, which KR_TASK_BUILDER puts there, is static).
 * Unlike Tokio, the site is recorded only for builder spawns: a plain
 * kr_spawn stays as cheap as it was and has no name and no site.
 */
typedef struct kr_task_builder {
    const char *name; /* copied; NULL or "": unnamed */
    const char *file; /* spawn site, static storage; NULL: none */
    int line;
    /* Where to spawn: NULL, the runtime kr_spawn would use (the one the
     * caller runs or entered, kr_runtime_enter); else that runtime, from
     * any thread, as kr_runtime_spawn. */
    kr_runtime *runtime;
} kr_task_builder;

/* The longest name kept, in bytes. */
#define KR_TASK_NAME_MAX 255

/* A builder with the spawn site filled in; other fields by designator. */
#define KR_TASK_BUILDER(...)                                                   \
    ((kr_task_builder){.file = __FILE__, .line = __LINE__, __VA_ARGS__})

/*
 * Spawns `future` (copied, as kr_spawn) as b describes. Returns what
 * kr_spawn returns (KR_EINVAL also for a NULL builder); on failure *join
 * is empty.
 */
KR_API int kr_task_spawn(const kr_task_builder *b, const kr_future *future,
                         kr_join_handle *join);

/* As kr_spawn_in_place (kairo/runtime.h), with a builder. */
KR_API int kr_task_spawn_in_place(const kr_task_builder *b,
                                  const kr_future_vtable *vt,
                                  kr_future_init_fn init, void *arg,
                                  kr_join_handle *join);

/* As kr_spawn_blocking (kairo/blocking.h), with a builder: the job has
 * the name and site (Tokio's Builder::spawn_blocking). */
KR_API int kr_task_spawn_blocking(const kr_task_builder *b, kr_blocking_fn fn,
                                  void *arg, kr_join_handle *join);

/* Spawns with a name, recording the site of the call. */
#define KR_SPAWN_NAMED(name_, future_, join_)                                  \
    kr_task_spawn(&KR_TASK_BUILDER(.name = (name_)), (future_), (join_))

/* ------------------------------------------------------------------------ */
/* Task ids (Tokio's task::Id, task::id, try_id, JoinHandle::id)            */
/* ------------------------------------------------------------------------ */

/*
 * A task's id: unique in the process and never reused (64 bits, never 0),
 * for every task: spawned, spawned with a builder, or a blocking job
 * (kr_spawn_blocking). Ids are unique, not dense nor ordered by spawn
 * time across threads (each thread takes them in blocks).
 */
typedef uint64_t kr_task_id_t;

/*
 * The id of the task the caller runs in: inside a task's poll, inside its
 * future's drop (on completion or cancellation), inside a blocking job.
 * 0 anywhere else: a plain thread, a block_on future (which is not a
 * task), a worker between polls. (Tokio's task::id panics there.)
 */
KR_API kr_task_id_t kr_task_id(void);

/* As kr_task_id, with an error: 0 and the id in *id, or KR_ESRCH (not in a
 * task; *id is 0) or KR_EINVAL (NULL id). Tokio's try_id. */
KR_API int kr_task_try_id(kr_task_id_t *id);

/* The current task's name (a builder's), or NULL: unnamed, or not in a
 * task. Valid while the task lives. */
KR_API const char *kr_task_name(void);

/* The id of the handle's task (Tokio's JoinHandle::id); 0 for NULL or an
 * empty handle (after it yielded, or after a failed spawn). */
KR_API kr_task_id_t kr_join_handle_id(const kr_join_handle *join);

/* The id of the abort handle's task; 0 for NULL. */
KR_API kr_task_id_t kr_abort_handle_id(const kr_abort_handle *ah);

/* ------------------------------------------------------------------------ */
/* Task-local values (Tokio's task_local!, LocalKey::scope, sync_scope)    */
/* ------------------------------------------------------------------------ */

/*
 * A key: its address is its identity, its name is for messages. Declare
 * one per value, usually static:
 *
 *     static KR_TASK_LOCAL(request_id);
 *
 * A value is a `void *` set for the duration of a future's polls by a
 * scope (kr_task_local_scope_new) and read with kr_task_local_get
 * anywhere inside them, however deep. The scope sets it around each poll
 * of its inner future and restores what was there after, so scopes nest
 * (the innermost wins), the value survives awaits, and a task that moves
 * to another worker between polls takes it along, as Tokio's. It is not
 * visible to tasks the inner future spawns (they are other tasks), nor
 * between polls.
 */
typedef struct kr_task_local {
    const char *name;
} kr_task_local;

#define KR_TASK_LOCAL(ident) kr_task_local ident = {#ident}

/*
 * A future that polls `inner` with `key` set to `value` and writes the
 * inner future's output to `dst` (NULL discards it). Its own output:
 * none. It owns `inner` from here, as kr_timeout does: it drops it when
 * it completes (the value still set during that drop, as Tokio's) or
 * when it is itself dropped (likewise). The inner future lives where the
 * caller put it, typically a field beside the scope in the same parent
 * future; the scope must not be moved after its first poll.
 */
typedef struct kr_task_local_scope {
    kr_future base;
    const kr_task_local *key_;
    void *value_;
    kr_future *inner_;
    void *dst_;
    int has_value_;
} kr_task_local_scope;

KR_API kr_task_local_scope kr_task_local_scope_new(const kr_task_local *key,
                                                   void *value,
                                                   kr_future *inner, void *dst);

/*
 * Takes the value out of the scope (Tokio's TaskLocalFuture::take_value):
 * 0 and the value in *value; KR_ENOENT if it was taken already (*value is
 * NULL); KR_EINVAL (NULL scope). Later polls run the inner future with
 * the key NOT set, even where an outer scope sets it.
 */
KR_API int kr_task_local_scope_take_value(kr_task_local_scope *scope,
                                          void **value);

/*
 * Runs fn(arg) with `key` set to `value` on the calling thread, and
 * returns what fn returned (Tokio's sync_scope). Any thread, inside a
 * task or not.
 */
KR_API void *kr_task_local_sync_scope(const kr_task_local *key, void *value,
                                      void *(*fn)(void *arg), void *arg);

/*
 * Reads the value (Tokio's try_with / try_get): 0 and the value in
 * *value; KR_ENOENT when no scope of `key` is being polled here, or the
 * innermost one's value was taken (*value is NULL then); KR_EINVAL (NULL
 * key or value). Tokio's `get` panics where this returns KR_ENOENT.
 */
KR_API int kr_task_local_get(const kr_task_local *key, void **value);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_TASK_H */
