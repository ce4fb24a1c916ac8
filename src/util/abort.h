/* util/abort.h: dying loudly on a broken contract. */
#ifndef KR_UTIL_ABORT_H
#define KR_UTIL_ABORT_H

/* Prints "kairo: <message>" to stderr and aborts. */
void kr__die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

#endif
