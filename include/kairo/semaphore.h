/*
 * kairo/semaphore.h: a counting semaphore whose acquire takes any number of
 * permits at once (Tokio's Semaphore).
 *
 * Fair: waiters are served strictly in arrival order, and a request for
 * many permits collects them as they are released (they are assigned to
 * it, not left for later, smaller requests), so it is never starved.
 * Permits are plain counts: whoever acquired n gives n back with
 * kr_semaphore_release (there is no permit object).
 *
 * What a dropped acquire loses: only its place in the queue. Permits that
 * had already been assigned to it (some of them, or all n if it was granted
 * but not polled again) are released to the next waiters.
 *
 * Threads: every call from any thread, inside a runtime or not; the acquire
 * future from tasks of either runtime or block_on.
 */
#ifndef KAIRO_SEMAPHORE_H
#define KAIRO_SEMAPHORE_H

#include <stdint.h>

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_semaphore kr_semaphore;

/* The most permits a semaphore holds (Tokio's MAX_PERMITS). */
#define KR_SEMAPHORE_MAX_PERMITS (SIZE_MAX >> 3)

/* Makes a semaphore with `permits` permits. Returns 0, KR_EINVAL (NULL out,
 * permits over KR_SEMAPHORE_MAX_PERMITS) or KR_ENOMEM. */
KR_API int kr_semaphore_new(size_t permits, kr_semaphore **out);

/* Frees it. Requires: no acquire future is queued on it (the debug build
 * aborts naming kr_semaphore otherwise). NULL is ignored. */
KR_API void kr_semaphore_free(kr_semaphore *s);

/*
 * Takes n permits if they are available now and nobody is queued before
 * the caller. Returns 0; KR_EAGAIN (not enough permits now); KR_ECLOSED;
 * KR_EINVAL (NULL, or n over KR_SEMAPHORE_MAX_PERMITS). n = 0 succeeds
 * unless closed.
 */
KR_API int kr_semaphore_try_acquire(kr_semaphore *s, size_t n);

/*
 * Adds n permits, handing them to queued acquires first, oldest first.
 * Also after close (so holders can still give permits back). Returns 0 or
 * KR_EINVAL (NULL, or the total would exceed KR_SEMAPHORE_MAX_PERMITS;
 * nothing is added then).
 */
KR_API int kr_semaphore_release(kr_semaphore *s, size_t n);
/* The same as kr_semaphore_release (Tokio's name for it). */
KR_API int kr_semaphore_add_permits(kr_semaphore *s, size_t n);

/* Removes up to n available permits (Tokio's forget_permits); returns how
 * many were removed. */
KR_API size_t kr_semaphore_forget_permits(kr_semaphore *s, size_t n);

/* Closes it: every queued acquire completes with KR_ECLOSED, and every
 * later acquire or try_acquire returns KR_ECLOSED. Idempotent. */
KR_API void kr_semaphore_close(kr_semaphore *s);
KR_API bool kr_semaphore_is_closed(const kr_semaphore *s);

/* Permits available now (a snapshot). */
KR_API size_t kr_semaphore_available_permits(const kr_semaphore *s);

/*
 * A future acquiring n permits. Output: an int, 0 (the caller now holds n
 * permits) or KR_ECLOSED (closed before all n were assigned; none are
 * held), KR_EINVAL (NULL semaphore, n over the maximum). The semaphore
 * must outlive the future. Spends coop budget as Tokio's does.
 */
typedef struct kr_semaphore_acquire {
    kr_future base;
    kr_semaphore *sem_;
    kr__acquire a_;
} kr_semaphore_acquire;
/* Inline, as every future's constructor (kairo/waiter.h says why). */
KR_API extern const kr_future_vtable kr__semaphore_acquire_vtable;
static inline kr_semaphore_acquire kr_semaphore_acquire_future(kr_semaphore *s,
                                                               size_t n) {
    kr_semaphore_acquire a = {
        {&kr__semaphore_acquire_vtable}, s, KR__ACQUIRE_INIT(n)};
    return a;
}

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_SEMAPHORE_H */
