#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kairo.h"
#include "util/abort.h"

void kr__die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("kairo: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

void kr__coro_poll_after_ready(const char *func, const char *file) {
    kr__die("async function %s (%s) polled after it returned READY", func,
            file);
}

void kr__coro_corrupt(const char *func, int resume) {
    kr__die("async function %s has a corrupt resume point %d (was the "
            "future moved or overwritten?)",
            func, resume);
}
