/* util/thread.c: the thread-start wrapper (see thread.h). */
#include <errno.h>

#include "util/atomic.h"
#include "util/thread.h"

/* Starts left before one fails; -1: never. Relaxed: a test sets it before
 * the call it means to fail, on the same thread or before starting the
 * threads that make the call. */
static _Atomic long fail_after = -1;

void kr__thread_fail_after(long n) { kr__store_relaxed(&fail_after, n); }

int kr__thread_start(pthread_t *th, const pthread_attr_t *attr,
                     void *(*fn)(void *), void *arg) {
    long left = kr__load_relaxed(&fail_after);
    /* The CAS makes concurrent starts count down one at a time. */
    while (left >= 0) {
        if (left == 0) {
            kr__store_relaxed(&fail_after, -1);
            return EAGAIN;
        }
        if (kr__cas_weak_acqrel(&fail_after, &left, left - 1))
            break;
    }
    return pthread_create(th, attr, fn, arg);
}
