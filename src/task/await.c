/*
 * task/await.c: the run-time half of KR_AWAIT_INTO's size check
 * (<kairo/async.h>). The macro compares the variable's size with the
 * child's vtable output_size inline and calls this only when they differ.
 * It lives with the tasks because of join handles: their vtable says 0
 * (the output is their task's, of any size), so the size to compare with
 * is the one of the task's future.
 */
#include "task/task.h"
#include "util/abort.h"

void kr__await_output_check(const kr_future *child, size_t size,
                            const char *func, const char *file, int line) {
    size_t want = child->vtable->output_size;
    if (child->vtable == &kr__join_vtable) {
        kr__task *t = ((const kr_join_handle *)child)->task_;
        if (t == NULL)
            return; /* an empty handle writes nothing */
        /* Written at spawn and kept to the end: join_poll reads it too. */
        want = kr__task_future(t)->vtable->output_size;
    }
    if (want == size)
        return;
    kr__die("%s (%s:%d): KR_AWAIT_INTO awaits %s, whose output is %zu "
            "bytes, into a variable of %zu bytes",
            func, file, line, child->vtable->name, want, size);
}
