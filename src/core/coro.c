/* core/coro.c: the out-of-line parts of <kairo/async.h>: its contract
 * violations, reported loudly. */
#include "kairo.h"
#include "util/abort.h"

void kr__coro_poll_after_ready(const char *func, const char *file) {
    kr__die("async function %s (%s) polled after it returned READY", func,
            file);
}

void kr__coro_corrupt(const char *func, int resume) {
    kr__die("async function %s has a corrupt resume point %d (was the "
            "future moved or overwritten?)",
            func, resume);
}
