#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
