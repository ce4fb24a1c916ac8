/*
 * kairo/once_cell.h: a value set once, possibly by an async initialiser
 * (Tokio's OnceCell). Of all the get_or_init futures awaiting an unset
 * cell, one at a time runs its initialiser (first come, first served); the
 * others wait; once one succeeds they all see its value. If the running
 * initialiser is cancelled (its future dropped) or fails (get_or_try_init),
 * the next waiter runs its own.
 *
 * What a dropped get_or_init loses: only its place in the queue. If it was
 * running its initialiser, that initialiser is dropped and the right to
 * initialise passes to the next waiter; if it had just been given that
 * right, it passes on too.
 *
 * Threads: get, set and initialized from any thread; the futures from
 * tasks of either runtime, block_on, or by hand.
 */
#ifndef KAIRO_ONCE_CELL_H
#define KAIRO_ONCE_CELL_H

#include "core.h"
#include "waiter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_once_cell kr_once_cell;

/* An unset cell for a value of value_size bytes (0 allowed). Returns 0,
 * KR_EINVAL (NULL out, value_size over 1 MiB) or KR_ENOMEM. */
KR_API int kr_once_cell_new(size_t value_size, kr_once_cell **out);

/* Frees it. Requires: no get_or_init future is queued on it (the debug
 * build aborts naming kr_once_cell otherwise). NULL is ignored. */
KR_API void kr_once_cell_free(kr_once_cell *c);

/* The value (16-byte aligned, value_size bytes) once set, else NULL. The
 * value never changes after it is set. */
KR_API const void *kr_once_cell_get(const kr_once_cell *c);
KR_API bool kr_once_cell_initialized(const kr_once_cell *c);

/* Sets the value (copied) if the cell is unset and no initialiser runs.
 * Returns 0; KR_EEXIST (already set: Tokio's AlreadyInitializedError);
 * KR_EBUSY (an initialiser is running: InitializingError); KR_EINVAL (NULL
 * cell, or NULL value with a non-zero size). */
KR_API int kr_once_cell_set(kr_once_cell *c, const void *value);

/* The value slot, for the initialiser of kr_once_cell_get_or_try_init
 * only: it writes the value there before completing with 0. */
KR_API void *kr_once_cell_slot(kr_once_cell *c);

/*
 * A future yielding the cell's value, running `init` to make it if the
 * cell is unset and it is this future's turn. `init`'s output is the value
 * (its output_size must equal the cell's value_size), written straight
 * into the cell. The future owns `init` (which must stay where it is until
 * the future is dropped) and drops it exactly once, whether it ran or not.
 * Output: an int, 0 with *value (if not NULL) pointing at the cell's value;
 * KR_EINVAL (NULL cell or init, wrong output size).
 */
typedef struct kr_once_cell_init {
    kr_future base;
    kr_once_cell *cell_;
    kr_future *init_;
    const void **value_;
    int try_;
    int running_;
    kr__acquire a_;
} kr_once_cell_init;
KR_API kr_once_cell_init kr_once_cell_get_or_init(kr_once_cell *c,
                                                  kr_future *init,
                                                  const void **value);

/*
 * The same with a fallible initialiser (Tokio's get_or_try_init): `init`'s
 * output is an int; on 0 it has written the value to kr_once_cell_slot(c).
 * Output: 0 (value set, *value points at it), or init's negative result
 * (the cell stays unset and the next waiter tries), or KR_EINVAL.
 */
KR_API kr_once_cell_init kr_once_cell_get_or_try_init(kr_once_cell *c,
                                                      kr_future *init,
                                                      const void **value);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_ONCE_CELL_H */
