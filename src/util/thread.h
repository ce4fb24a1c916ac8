/*
 * util/thread.h: every thread kairo starts (workers, the monitor, blocking
 * pool threads) is started here, so that a test can make thread creation
 * fail as it makes allocation fail (DESIGN §8: syscalls and allocation go
 * through wrappers a test can make fail).
 */
#ifndef KR_UTIL_THREAD_H
#define KR_UTIL_THREAD_H

#include <pthread.h>

/* pthread_create: 0 or a positive errno (EAGAIN when the system or the
 * test refuses). `attr` may be NULL. */
int kr__thread_start(pthread_t *th, const pthread_attr_t *attr,
                     void *(*fn)(void *), void *arg);

/* Tests: the start `n` starts from now fails with EAGAIN (0: the next
 * one); -1, the default, makes none fail. Any thread. */
void kr__thread_fail_after(long n);

#endif /* KR_UTIL_THREAD_H */
