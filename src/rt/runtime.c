/* rt/runtime.c: the public runtime API, dispatching to the flavor. */
#include <string.h>

#include "rt/runtime.h"
#include "sched/context.h"

kr_runtime_config kr_runtime_config_default(void) {
    kr_runtime_config c;
    memset(&c, 0, sizeof(c));
    c.flavor = KR_RUNTIME_CURRENT_THREAD;
    return c;
}

int kr_runtime_new(const kr_runtime_config *config, kr_runtime **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    kr_runtime_config c = config ? *config : kr_runtime_config_default();
    if (c.budget == 0)
        c.budget = KR__BUDGET_DEFAULT;
    switch (c.flavor) {
    case KR_RUNTIME_CURRENT_THREAD:
        return kr__current_thread_new(&c, out);
    case KR_RUNTIME_MULTI_THREAD:
        return kr__multi_thread_new(&c, out);
    }
    return KR_EINVAL;
}

int kr_runtime_block_on(kr_runtime *rt, kr_future *f, void *out) {
    if (rt == NULL || !kr__future_valid(f))
        return KR_EINVAL;
    if (kr__ctx.rt != NULL)
        return KR_EBUSY; /* blocking inside a runtime would deadlock it */
    return rt->ops->block_on(rt, f, out);
}

int kr_runtime_shutdown(kr_runtime *rt) {
    if (rt == NULL)
        return KR_EINVAL;
    if (kr__ctx.rt != NULL)
        return KR_EBUSY;
    return rt->ops->shutdown(rt);
}

void kr_runtime_free(kr_runtime *rt) {
    if (rt != NULL)
        rt->ops->free(rt);
}

int kr_runtime_metrics_get(kr_runtime *rt, kr_runtime_metrics *m) {
    if (rt == NULL || m == NULL)
        return KR_EINVAL;
    memset(m, 0, sizeof(*m));
    rt->ops->metrics(rt, m);
    return 0;
}

int kr_runtime_dump(kr_runtime *rt, int fd) {
    if (rt == NULL || fd < 0)
        return KR_EINVAL;
    return rt->ops->dump(rt, fd);
}

static int spawn_on(kr_runtime *rt, const kr_future *f, kr_join_handle *jh) {
    if (jh != NULL)
        kr__join_init(jh, NULL); /* empty until the spawn succeeds */
    if (rt == NULL || !kr__future_valid(f))
        return KR_EINVAL;
    return rt->ops->spawn(rt, f, jh, kr__ctx.rt == rt);
}

int kr_spawn(const kr_future *f, kr_join_handle *jh) {
    return spawn_on(kr__ctx.rt, f, jh);
}

int kr_runtime_spawn(kr_runtime *rt, const kr_future *f, kr_join_handle *jh) {
    return spawn_on(rt, f, jh);
}
