/* hello.c: the smallest complete kairo program. Three tasks, three joins. */
#include <stdio.h>

#include "kairo.h"

/* A task that squares its number: a future that is ready at its first poll. */
typedef struct {
    kr_future base;
    int n;
} square;

static kr_poll square_poll(kr_future *f, kr_context *cx, void *out) {
    int n = ((square *)f)->n;
    if (out != NULL)
        *(int *)out = n * n;
    return KR_READY;
}
KR_FUTURE_VTABLE(square_vt, square, square_poll, NULL, sizeof(int));

/* The main task. What lives across an await lives in the struct. */
typedef struct {
    kr_future base;
    kr_coro co;
    kr_join_handle h[3];
    int i, v;
} main_task;

static kr_poll main_poll(kr_future *f, kr_context *cx, void *out) {
    main_task *m = (main_task *)f;
    KR_ASYNC_BEGIN(&m->co);
    for (m->i = 0; m->i < 3; m->i++) {
        square s = {.base = {&square_vt}, .n = m->i + 1};
        kr_spawn(&s.base, &m->h[m->i]); /* copies s into a new task */
    }
    for (m->i = 0; m->i < 3; m->i++) {
        KR_AWAIT_INTO(&m->co, &m->h[m->i], cx, m->v);
        if (kr_join_handle_error(&m->h[m->i]) == 0) /* spawned and finished */
            printf("task %d: %d squared is %d\n", m->i, m->i + 1, m->v);
    }
    KR_ASYNC_END(&m->co);
}
KR_FUTURE_VTABLE(main_vt, main_task, main_poll, NULL, 0);

int main(void) {
    kr_runtime *rt;
    if (kr_runtime_new(NULL, &rt) != 0) /* NULL config: current-thread */
        return 1;
    main_task m = {.base = {&main_vt}};
    int rc = kr_runtime_block_on(rt, &m.base, NULL);
    kr_runtime_free(rt);
    return rc == 0 ? 0 : 1;
}
