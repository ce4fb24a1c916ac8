/* hello.c: the smallest complete kairo program. Three tasks, three joins. */
#include <stdio.h>

#include "kairo.h"

/* A task that squares its number: ready at its first poll. */
typedef struct {
    KR_ASYNC_FIELDS;
    int n;
} square;
KR_ASYNC_FN(square, int);
KR_ASYNC_NO_DROP(square);

KR_ASYNC_POLL(square, s, cx) { KR_FN_RETURN(s->n * s->n); }
KR_ASYNC_POLL_END

/* The main task. What lives across an await lives in the struct. */
typedef struct {
    KR_ASYNC_FIELDS;
    kr_join_handle h[3];
    int i, v;
} main_task;
KR_ASYNC_FN_VOID(main_task);
KR_ASYNC_NO_DROP(main_task);

KR_ASYNC_POLL(main_task, m, cx) {
    for (m->i = 0; m->i < 3; m->i++) {
        square s = {KR_ASYNC_INIT(square), .n = m->i + 1};
        kr_spawn(&s.base, &m->h[m->i]); /* copies s into a new task */
    }
    for (m->i = 0; m->i < 3; m->i++) {
        KR_FN_AWAIT_INTO(&m->h[m->i], m->v);
        if (kr_join_handle_error(&m->h[m->i]) == 0) /* spawned and finished */
            printf("task %d: %d squared is %d\n", m->i, m->i + 1, m->v);
    }
}
KR_ASYNC_POLL_END

int main(void) {
    kr_runtime *rt;
    if (kr_runtime_new(NULL, &rt) != 0) /* NULL config: current-thread */
        return 1;
    main_task m = {KR_ASYNC_INIT(main_task)};
    int rc = kr_runtime_block_on(rt, &m.base, NULL);
    kr_runtime_free(rt);
    return rc == 0 ? 0 : 1;
}
