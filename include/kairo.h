/*
 * kairo: an asynchronous runtime for C on Rust's Future/Waker model.
 *
 * The one public header. Its parts:
 *   kairo/core.h     poll results, wakers, the poll context, futures
 *   kairo/error.h    error codes and kr_strerror
 *   kairo/async.h    stackless async/await macros
 *   kairo/runtime.h  runtimes, spawn, join handles, yield, budget, allocator
 *   kairo/local_set.h local task sets: tasks that stay on one thread
 *   kairo/sync.h     channels and synchronisation
 *   kairo/blocking.h the blocking pool: kr_spawn_blocking
 *   kairo/time.h     monotonic time, sleeps, intervals, timeouts
 *   kairo/io.h       readiness-based I/O on file descriptors
 *   kairo/net.h      TCP, UDP and Unix sockets, addresses, resolution
 *   kairo/stream.h   one stream interface over sockets, pipes, files; copy
 *   kairo/bufio.h    buffered reader (lines, frames) and writer
 */
#ifndef KAIRO_H
#define KAIRO_H

#define KR_VERSION_MAJOR 0
#define KR_VERSION_MINOR 1
#define KR_VERSION_PATCH 0

#include "kairo/core.h"
#include "kairo/error.h"
#include "kairo/async.h"
#include "kairo/async_fn.h"
#include "kairo/runtime.h"
#include "kairo/task.h"
#include "kairo/local_set.h"
#include "kairo/sync.h"
#include "kairo/blocking.h"
#include "kairo/time.h"
#include "kairo/io.h"
#include "kairo/net.h"
#include "kairo/signal.h"
#include "kairo/process.h"
#include "kairo/fs.h"
#include "kairo/stream.h"
#include "kairo/bufio.h"
#include "kairo/combinators.h"
#include "kairo/join_set.h"
#include "kairo/sim.h"

#endif /* KAIRO_H */
