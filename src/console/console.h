/*
 * console/console.h: the live console's server (docs/observability.md,
 * "The live console"): a thread of its own that answers commands on a Unix
 * socket with JSON documents of the runtime's metrics, histograms, task
 * dump and recent warnings. rt/runtime.c opens it when the configuration
 * (console_path) or the KAIRO_CONSOLE environment variable asks, and
 * closes it first thing when the runtime is freed.
 *
 * The console reads the runtime only through the public calls any thread
 * may make (kr_runtime_metrics_get, kr_runtime_worker_metrics_get,
 * kr_runtime_dump_format), so it keeps answering while every worker is
 * stuck in a poll; it runs no task and touches no scheduler state. The one
 * thing the runtime hands it is the poll reports, through the reporter it
 * installs (console_report), which copies each into the ring (ring.h).
 * With no console asked for, none of this exists: no thread, no socket,
 * no clock read, and the reporter is the user's.
 */
#ifndef KR_CONSOLE_CONSOLE_H
#define KR_CONSOLE_CONSOLE_H

#include "kairo.h"

typedef struct kr__console kr__console;

/* Defaults the console fills in where the configuration left them 0. */
#define KR__CONSOLE_SLOW_POLL_NS      (10u * 1000 * 1000)   /* 10 ms */
#define KR__CONSOLE_BLOCKED_WORKER_NS (1000u * 1000 * 1000) /* 1 s */
#define KR__CONSOLE_HIST_BUCKETS      20                    /* 1 us .. 0.5 s */

/*
 * If c->console_path is set, or else the KAIRO_CONSOLE environment
 * variable is, binds the socket and starts the console's thread (which
 * waits for kr__console_serve before it accepts anyone), and rewrites `c`:
 * the reporter becomes the console's (which also passes each report on
 * to the one configured, for the thresholds the configuration set
 * itself), unset slow_poll_ns, blocked_worker_ns, poll_histogram and
 * sched_latency_histogram get the defaults above, track_tasks is set
 * (not for the simulation, which has neither a monitor nor tracking),
 * and console_path points to the console's copy. *out is NULL when no console is asked for.
 *
 * Returns 0, or for a console_path: KR_EINVAL (an empty path, or one too
 * long for a Unix socket address: a message on stderr says the limit),
 * KR_EADDRINUSE (another process serves there), KR_EEXIST (the path is
 * something other than a socket), KR_ENOMEM, KR_EAGAIN (no thread), or
 * the negated errno of socket(2)/bind(2)/listen(2). A console that
 * KAIRO_CONSOLE asked for and that cannot be opened is left out with one
 * line on stderr: 0, *out NULL.
 */
int kr__console_open(kr_runtime_config *c, kr__console **out);

/* Serves `rt` from now on. */
void kr__console_serve(kr__console *con, kr_runtime *rt);

/* Stops the thread (joined), disconnects every client and removes the
 * socket file (if it is still the one bound). Call before the runtime is
 * shut down: the thread reads the runtime. The reporter may still run
 * (a worker finishing a slow poll), so the ring stays. NULL is ignored;
 * a second call does nothing. */
void kr__console_stop(kr__console *con);

/* Stops the console if it was not, and frees it. Call once no thread
 * that might report (workers, monitor, watchdog, a block_on thread) is
 * left: after the runtime's own free. NULL is ignored. */
void kr__console_free(kr__console *con);

#endif
