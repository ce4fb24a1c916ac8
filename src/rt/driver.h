/* rt/driver.h: the runtime's driver (the interface is core/driver.h). */
#ifndef KR_RT_DRIVER_H
#define KR_RT_DRIVER_H

#include "core/driver.h"
#include "kairo.h"

struct kr__reactor;

/* Makes the driver over a new reactor (on the backend `want` asks for,
 * io/backend.c) and the timing wheel; stores
 * the reactor in *reactor too (struct kr_runtime keeps it for
 * kr_runtime_async_fd_new). Without `io`, the driver has no reactor
 * (*reactor is NULL, its turn and unpark ops are NULL: threads park on
 * futexes). Returns 0, KR_ENOMEM or a negative errno. */
int kr__driver_new(kr__driver **out, struct kr__reactor **reactor, bool io,
                   kr_io_driver want);

#endif
