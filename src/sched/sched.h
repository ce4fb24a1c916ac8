/* sched/sched.h: the flavors, as the runtime layer (rt/runtime.c) makes
 * them. Each returns 0, KR_ENOMEM, KR_EINVAL (more workers than the
 * multi-thread flavor supports) or the negative errno of a thread that
 * failed to start. On success the runtime owns `driver`
 * (core/driver.h) and shuts it down in its shutdown; on failure the caller
 * keeps it. */
#ifndef KR_SCHED_SCHED_H
#define KR_SCHED_SCHED_H

#include "core/runtime.h"

/* Tokio's numbers (reference/tokio.md §2.11), shared by both flavors:
 * maintenance (the block_on future, timers, a look at I/O, shutdown) at
 * least every 61 task polls ("copied from golang"), and the inject queue
 * first every 31 ticks by default (kr_runtime_config.global_queue_interval)
 * so remote spawns are not starved by a busy local queue. Tokio adapts the
 * latter between 2 and 127 around 61; measured here (kairo-bench --gqi, 4
 * workers, two processes each, us per iteration):
 * mt/spawn_many_remote_busy1 7: 716, 1898; 31: 1805, 1391; 61: 1672, 1875;
 * 127: 2486, 2605 - remote spawns behind busy yielding tasks want it short -
 * while busy2, ping_pong, yield_many and spawn_many_local showed no
 * difference within the noise. 31 takes the gain without going to
 * extremes. */
#define KR__EVENT_INTERVAL        61
#define KR__GLOBAL_QUEUE_INTERVAL 31

int kr__current_thread_new(const kr_runtime_config *cfg,
                           struct kr__driver *driver, kr_runtime **out);
int kr__multi_thread_new(const kr_runtime_config *cfg,
                         struct kr__driver *driver, kr_runtime **out);

#endif
