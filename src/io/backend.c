/*
 * io/backend.c: which backend a reactor runs on (kr_io_driver,
 * kairo/runtime.h).
 *
 * AUTO means the environment's KAIRO_IO ("uring" or "epoll"), else epoll:
 * with reads and accepts on the ring (and a ring per multi-thread worker)
 * io_uring makes about half the system calls a message, but on the 2-core
 * machine it was measured on its rate moved between a little below and
 * 1.15x epoll's from run to run on one thread, and came out at 0.90-1.02
 * of it on two workers (README, docs/io_uring.md). io_uring is there for
 * the asking, and the default follows the figures.
 *
 * Falling back: where io_uring was asked for (config or KAIRO_IO) and
 * cannot be had, epoll serves, and one line on stderr (once per process)
 * says why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/reactor.h"
#include "util/atomic.h"

#define DEFAULT_DRIVER KR_IO_DRIVER_EPOLL

static _Atomic int logged_fallback, logged_env;

static kr_io_driver from_env(void) {
    const char *v = getenv("KAIRO_IO");
    if (v == NULL || *v == '\0')
        return KR_IO_DRIVER_AUTO;
    if (strcmp(v, "uring") == 0 || strcmp(v, "io_uring") == 0)
        return KR_IO_DRIVER_URING;
    if (strcmp(v, "epoll") == 0)
        return KR_IO_DRIVER_EPOLL;
    if (kr__swap_acquire(&logged_env, 1) == 0)
        fprintf(stderr,
                "kairo: KAIRO_IO=%s is neither \"uring\" nor \"epoll\"; "
                "ignored\n",
                v);
    return KR_IO_DRIVER_AUTO;
}

int kr__backend_new(kr__backend **out, kr_io_driver want) {
    if (want == KR_IO_DRIVER_AUTO)
        want = from_env();
    if (want == KR_IO_DRIVER_AUTO)
        want = DEFAULT_DRIVER;
    if (want == KR_IO_DRIVER_URING) {
        const char *why = "unknown";
        int rc = kr__uring_new(out, &why);
        if (rc == 0)
            return 0;
        if (kr__swap_acquire(&logged_fallback, 1) == 0)
            fprintf(stderr,
                    "kairo: io_uring unavailable (%s: %s); using epoll\n", why,
                    strerror(-rc));
    }
    return kr__epoll_new(out);
}
