/* sched/sched.h: the flavors, as the runtime layer (rt/runtime.c) makes
 * them. Each returns 0, KR_ENOMEM or a negative errno from the system. */
#ifndef KR_SCHED_SCHED_H
#define KR_SCHED_SCHED_H

#include "core/runtime.h"

int kr__current_thread_new(const kr_runtime_config *cfg, kr_runtime **out);
int kr__multi_thread_new(const kr_runtime_config *cfg, kr_runtime **out);

#endif
