/*
 * core/park.h: parking a thread on a futex until another thread unparks it.
 *
 * State word: EMPTY (0), PARKED (1: the owner sleeps on the futex or is
 * about to), NOTIFIED (2: an unpark is pending; the next park returns at
 * once), PARKED_DRIVER (3: the owner waits in the driver (core/driver.h);
 * an unpark unparks the driver instead of waking the futex).
 *   - Only the owner parks; any thread unparks.
 *   - unpark swaps in NOTIFIED with release (publishing what the unparker
 *     did before, e.g. a queue push) and issues FUTEX_WAKE only if it saw
 *     PARKED, so an unpark of a running thread costs one atomic swap.
 *   - park consumes NOTIFIED with an acquire CAS that pairs with that swap.
 * No wakeup is lost: an unpark before the park leaves NOTIFIED, which the
 * park consumes; one during the futex wait changes the word, so FUTEX_WAIT
 * either returns at once (value changed) or is woken.
 */
#ifndef KR_CORE_PARK_H
#define KR_CORE_PARK_H

#include <stdatomic.h>
#include <stdint.h>

struct kr__driver;

typedef struct kr__parker {
    _Atomic uint32_t state;
    /* The driver the owner parks in, set before entering PARKED_DRIVER
     * (the state's release publishes it to unparkers' acquire swap). */
    struct kr__driver *driver;
} kr__parker;

void kr__parker_init(kr__parker *p);
/* Sleeps until unparked. timeout_ns < 0: no timeout. Owner only. */
void kr__park(kr__parker *p, int64_t timeout_ns);
/* Sleeps in the driver (turning it: dispatching I/O events) until
 * unparked, an event or the timeout. The caller must be the one thread
 * turning it. A driver without I/O (NULL turn): as kr__park. */
void kr__park_driver(kr__parker *p, struct kr__driver *d, int64_t timeout_ns);
void kr__unpark(kr__parker *p);

#endif
