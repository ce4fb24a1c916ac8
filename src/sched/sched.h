/* sched/sched.h: the flavors, as the runtime layer (rt/runtime.c) makes
 * them. Each returns 0, KR_ENOMEM, KR_EINVAL (more workers than the
 * multi-thread flavor supports) or the negative errno of a thread that
 * failed to start. On success the runtime owns `driver`
 * (core/driver.h) and shuts it down in its shutdown; on failure the caller
 * keeps it. */
#ifndef KR_SCHED_SCHED_H
#define KR_SCHED_SCHED_H

#include "core/runtime.h"

int kr__current_thread_new(const kr_runtime_config *cfg,
                           struct kr__driver *driver, kr_runtime **out);
int kr__multi_thread_new(const kr_runtime_config *cfg,
                         struct kr__driver *driver, kr_runtime **out);

#endif
