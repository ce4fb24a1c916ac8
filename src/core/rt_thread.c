/* core/rt_thread.c: starting and naming a runtime's threads (rt_thread.h). */
#include <string.h>

#include "core/rt_thread.h"
#include "util/thread.h"

int kr__rt_thread_start(const kr_runtime_config *cfg, pthread_t *th,
                        bool detached, void *(*fn)(void *), void *arg) {
    pthread_attr_t a;
    int e = pthread_attr_init(&a);
    if (e != 0)
        return e;
    if (detached)
        e = pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* kr_runtime_new checked the size against PTHREAD_STACK_MIN. */
    if (e == 0 && cfg->thread_stack_size != 0)
        e = pthread_attr_setstacksize(&a, cfg->thread_stack_size);
    if (e == 0)
        e = kr__thread_start(th, &a, fn, arg);
    pthread_attr_destroy(&a);
    return e;
}

void kr__rt_thread_begin(const kr_runtime_config *cfg, const char *dflt) {
    /* Linux: 16 bytes with the NUL; a longer name is cut, not refused. */
    char name[16];
    if (cfg->thread_name_fn != NULL) {
        name[0] = '\0';
        cfg->thread_name_fn(name, sizeof(name), cfg->hook_arg);
        name[sizeof(name) - 1] = '\0';
    } else {
        const char *src = cfg->thread_name != NULL ? cfg->thread_name : dflt;
        size_t n = strlen(src);
        if (n > sizeof(name) - 1)
            n = sizeof(name) - 1;
        memcpy(name, src, n);
        name[n] = '\0';
    }
    if (name[0] != '\0')
        (void)pthread_setname_np(pthread_self(), name);
    if (__builtin_expect(cfg->on_thread_start != NULL, 0))
        cfg->on_thread_start(cfg->hook_arg);
}

void kr__rt_task_hook_call(const kr_runtime_config *cfg, kr_task_hook hook,
                           uint64_t id) {
    kr_task_meta m = {id};
    hook(&m, cfg->hook_arg);
}
