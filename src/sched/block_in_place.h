/* sched/block_in_place.h: kr_block_in_place on the multi-thread runtime
 * (protocol in block_in_place.c). */
#ifndef KR_SCHED_BLOCK_IN_PLACE_H
#define KR_SCHED_BLOCK_IN_PLACE_H

#include "sched/mt.h"

/* Runs fn(arg) on the calling thread, a task's or block_on future's of
 * `rt`, handing its worker (if it is one) to a new thread meanwhile.
 * Writes the result to *out (if not NULL). Returns 0. */
int kr__mt_block_in_place(mt_rt *rt, kr_blocking_fn fn, void *arg, void **out);

/* mt_shutdown, after the workers are told to stop: joins every thread
 * block_in_place started. None is started once `shutdown` is set. */
void kr__mt_join_handoff_threads(mt_rt *rt);

#endif
