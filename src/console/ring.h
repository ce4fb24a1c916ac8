/*
 * console/ring.h: the console's record of recent slow-poll and
 * blocked-worker reports, a small bounded ring the reporters write and
 * the console thread reads.
 *
 * Protocol (a briefly locked ring). Writers are the threads that report:
 * a worker right after a slow poll returned, the multi-thread monitor for
 * a blocked worker. Neither is the poll path itself: a slow poll has
 * already taken longer than its threshold, and the monitor runs beside
 * the workers. A writer formats its line on its own stack first
 * (kr_poll_report_format), then takes the ring's spinlock only to copy
 * that one entry into the next slot and bump `seq`: the lock is held for
 * one memcpy of at most sizeof(kr__warning) bytes, by a writer or by the
 * reader, never across a system call or an allocation. The reader copies
 * the slots out one at a time, one lock hold each, so a writer waits at
 * most for one slot's copy. When the ring is full the oldest entry is
 * overwritten: `seq` numbers every entry ever written (from 1), so a
 * reader that remembers the last seq it showed knows how many it missed.
 */
#ifndef KR_CONSOLE_RING_H
#define KR_CONSOLE_RING_H

#include <stdint.h>

#include "kairo.h"
#include "util/spinlock.h"

/* Entries kept. */
#define KR__RING_SLOTS 64
/* The longest line kept (kr_poll_report_format's text), NUL included. */
#define KR__RING_TEXT  448

typedef struct kr__warning {
    uint64_t seq;   /* 0: an empty slot */
    uint64_t at_ns; /* CLOCK_MONOTONIC when it was recorded */
    uint64_t task_id;
    uint64_t duration_ns;
    unsigned kind; /* a kr_poll_report_kind */
    unsigned worker;
    char text[KR__RING_TEXT];
} kr__warning;

typedef struct kr__ring {
    kr__spinlock lock;
    uint64_t seq; /* entries ever written, under the lock */
    kr__warning slot[KR__RING_SLOTS];
} kr__ring;

void kr__ring_init(kr__ring *r);

/* Any thread: records the report (its text formatted before the lock). */
void kr__ring_push(kr__ring *r, const kr_poll_report *rep);

/* The reader: copies slot `i` (0 .. KR__RING_SLOTS - 1) into *out. */
void kr__ring_read(kr__ring *r, unsigned i, kr__warning *out);

#endif
