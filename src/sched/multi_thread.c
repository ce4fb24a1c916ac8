/* sched/multi_thread.c: the multi-thread work-stealing runtime. */
#include "rt/runtime.h"

int kr__multi_thread_new(const kr_runtime_config *cfg, kr_runtime **out) {
    (void)cfg;
    (void)out;
    return KR_ENOSYS;
}
