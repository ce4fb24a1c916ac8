/* task/id.c: task ids and names (kairo/task.h). */
#include "core/context.h"
#include "task/task.h"

/* The task the caller runs as: the one being polled (or dropped) here, or
 * the blocking job this pool thread runs. */
static kr__task *current_task(void) {
    kr__task *t = kr__ctx.current;
    return t != NULL ? t : kr__ctx.job;
}

kr_task_id_t kr_task_id(void) {
    kr__task *t = current_task();
    return t != NULL ? kr__task_id(t) : 0;
}

int kr_task_try_id(kr_task_id_t *id) {
    if (id == NULL)
        return KR_EINVAL;
    *id = kr_task_id();
    return *id != 0 ? 0 : KR_ESRCH;
}

const char *kr_task_name(void) {
    kr__task *t = current_task();
    return t != NULL ? kr__task_name(t) : NULL;
}

kr_task_id_t kr_join_handle_id(const kr_join_handle *join) {
    if (join == NULL || join->task_ == NULL)
        return 0;
    return kr__task_id((const kr__task *)join->task_);
}

kr_task_id_t kr_abort_handle_id(const kr_abort_handle *ah) {
    return ah != NULL ? kr__task_id((const kr__task *)(const void *)ah) : 0;
}
