/*
 * rt/handle.c: the current runtime, runtime handles and entering a
 * runtime from a plain thread (kairo/runtime.h). The handle's protocol is
 * at the top of core/handle.h.
 */
#include "core/handle.h"
#include "core/runtime.h"
#include "task/task.h"

/* A kr_handle is the kr__handle itself: each one the user holds is a
 * reference. */
static kr__handle *of(const kr_handle *h) { return (kr__handle *)(uintptr_t)h; }

kr_runtime *kr_runtime_current(void) { return kr__current_runtime(); }

uint64_t kr_runtime_id(const kr_runtime *rt) {
    return rt != NULL ? rt->handle->id : 0;
}

int kr_runtime_handle(kr_runtime *rt, kr_handle **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    if (rt == NULL)
        return KR_EINVAL;
    kr__handle_ref(rt->handle);
    *out = (kr_handle *)rt->handle;
    return 0;
}

int kr_handle_current(kr_handle **out) {
    if (out == NULL)
        return KR_EINVAL;
    *out = NULL;
    kr__handle *h = kr__ctx.rt != NULL ? kr__ctx.rt->handle : kr__ctx.entered;
    if (h == NULL || kr__load_seqcst(&h->closed))
        return KR_ESRCH;
    kr__handle_ref(h);
    *out = (kr_handle *)h;
    return 0;
}

kr_handle *kr_handle_clone(kr_handle *h) {
    if (h != NULL)
        kr__handle_ref(of(h));
    return h;
}

void kr_handle_drop(kr_handle *h) { kr__handle_unref(of(h)); }

uint64_t kr_handle_runtime_id(const kr_handle *h) {
    return h != NULL ? of(h)->id : 0;
}

int kr_handle_spawn(kr_handle *hh, const kr_future *f, kr_join_handle *jh) {
    kr__handle *h = of(hh);
    if (h == NULL || !kr__handle_use(h)) {
        if (jh != NULL)
            kr__join_init(jh, NULL); /* empty, as after a failed spawn */
        return h == NULL ? KR_EINVAL : KR_ESHUTDOWN;
    }
    int rc = kr_runtime_spawn(h->rt, f, jh);
    kr__handle_unuse(h);
    return rc;
}

int kr_handle_block_on(kr_handle *hh, kr_future *f, void *out) {
    kr__handle *h = of(hh);
    if (h == NULL)
        return KR_EINVAL;
    if (!kr__handle_use(h))
        return KR_ESHUTDOWN;
    int rc = kr_runtime_block_on(h->rt, f, out);
    kr__handle_unuse(h);
    return rc;
}

/* ---- entering ----------------------------------------------------------- */

/* Enters made and not exited on this thread: a guard may only exit at the
 * depth it entered at. */
static __thread unsigned long enter_depth;

static int enter(kr__handle *h, kr_enter_guard *g) {
    kr__handle_ref(h);
    g->handle_ = h;
    g->prev_ = kr__ctx.entered;
    g->thread_ = &kr__ctx; /* a thread-local's address names the thread */
    g->depth_ = ++enter_depth;
    kr__ctx.entered = h;
    return 0;
}

int kr_runtime_enter(kr_runtime *rt, kr_enter_guard *g) {
    if (rt == NULL || g == NULL)
        return KR_EINVAL;
    return enter(rt->handle, g);
}

int kr_handle_enter(kr_handle *h, kr_enter_guard *g) {
    if (h == NULL || g == NULL)
        return KR_EINVAL;
    return enter(of(h), g);
}

int kr_runtime_exit(kr_enter_guard *g) {
    if (g == NULL || g->handle_ == NULL || g->thread_ != &kr__ctx ||
        g->depth_ != enter_depth || kr__ctx.entered != g->handle_)
        return KR_EINVAL;
    kr__ctx.entered = g->prev_;
    enter_depth--;
    kr__handle_unref(g->handle_);
    g->handle_ = NULL;
    return 0;
}
