/*
 * kairo/sim.h: deterministic simulation.
 *
 * A runtime made with flavor KR_RUNTIME_SIMULATION runs every task on the
 * thread inside kr_runtime_block_on, as the current-thread runtime does,
 * but:
 *
 *   - Scheduling is seeded: each step polls one task chosen at random
 *     (xoshiro256** seeded through splitmix64) among the runnable ones.
 *     The block_on future is polled whenever it was woken, between steps.
 *   - Time is virtual. kr_instant_now, sleeps, intervals and timeouts read
 *     the simulation's clock, which stands still while anything can run
 *     and, when nothing can, jumps to the next timer or network event. A
 *     one-hour sleep completes at once in real time. It is the paused
 *     clock of kairo/time.h (kr_time_pause), paused from the start at a
 *     fixed reading: kr_time_is_paused() is true, kr_time_advance moves
 *     it, kr_time_resume is refused (KR_EOPNOTSUPP).
 *   - The network is in memory. kr_tcp_* and kr_udp_* on this runtime bind,
 *     connect, accept, read, write, shut down, send and receive on
 *     simulated addresses (any IP address and port: nothing reaches the
 *     host). Every segment and datagram is delivered after a seeded
 *     latency; a connection's bytes keep their order, independent
 *     connections and datagrams do not. Faults (kr_sim_options): UDP drops
 *     and TCP resets at seeded rates.
 *   - The blocking pool runs each job inline, as a task of the simulation:
 *     fn(arg) is called on the simulation thread when the scheduler picks
 *     that task, so jobs interleave with tasks deterministically (a job
 *     that really blocks stalls the whole simulation, and virtual time
 *     does not pass while it runs).
 *
 * The same seed replays the same execution exactly. Every scheduling
 * decision, timer and network event is appended to an event log
 * (kr_sim_log), one line each; the same program with the same seed makes
 * a byte-identical log. When nothing can ever run again (no runnable task,
 * no timer, no network event, the block_on future still pending) the
 * simulation reports a deadlock with its seed on stderr and block_on
 * returns KR_EDEADLK. kr_sim_report prints the seed for the program's own
 * failures, so a failing seed can be replayed: KAIRO_SEED=<seed>.
 *
 * Configuration: kr_runtime_config.seed and .budget apply; the
 * task hooks (on_task_spawn, on_task_terminate) are called as on the other
 * flavors, with the simulation's task ids (1, 2, ... per runtime); no
 * thread is started, so the thread hooks and thread settings are unused,
 * and the simulation never parks (on_thread_park is not called).
 *
 * Not simulated: Unix sockets, kr_async_fd, pipes, signals and child
 * processes (they need the I/O driver: KR_ENOIO, as on a runtime made
 * without it); files run through the (inline) blocking pool and so touch
 * the real file system. Tasks woken from other threads are accepted but
 * make the run depend on those threads. kr_instant_now outside the
 * simulation thread reads the real clock, and so does a sleep or timeout
 * made there (kr_sleep_for computes its deadline when it is made): make
 * timers inside the simulation (in a task or the block_on future), or the
 * run depends on the real time it was started at.
 *
 * Where kairo differs from Tokio: Tokio has no simulation mode (turmoil
 * and loom live outside it, with their own types); here the same program,
 * unchanged, runs under the simulation by choosing the flavor.
 */
#ifndef KAIRO_SIM_H
#define KAIRO_SIM_H

#include "core.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kr_sim_options {
    /* One-way network latency, drawn uniformly in [min, max] microseconds
     * for every TCP segment, connection attempt and datagram. Defaults 100
     * and 5000 (0.1 to 5 ms). */
    unsigned latency_min_us;
    unsigned latency_max_us;
    /* Probability, in parts per million, that a datagram is lost. Default 0. */
    unsigned udp_drop_ppm;
    /* Probability, in parts per million, that a TCP write resets its
     * connection instead of sending (both ends then read and write
     * KR_ECONNRESET). Default 0. */
    unsigned tcp_reset_ppm;
    /* Bytes of event log kept in memory (kr_sim_log); beyond it the log's
     * hash still covers every event. 0 means the default, 16 MiB. */
    size_t log_limit;
} kr_sim_options;

/* The defaults above. */
KR_API kr_sim_options kr_sim_options_default(void);

/* Sets the network and log options of a simulation runtime, before or
 * between block_on calls. Returns 0, or KR_EINVAL (NULL, not a simulation
 * runtime, min latency above max). */
KR_API int kr_sim_configure(kr_runtime *rt, const kr_sim_options *opts);

/* The seed the runtime runs with. Returns 0, or KR_EINVAL (NULL, not a
 * simulation runtime). */
KR_API int kr_sim_seed(const kr_runtime *rt, uint64_t *seed);

/* The event log so far: *data points to *len bytes of text lines owned by
 * the runtime, valid until its next block_on or kr_runtime_free. *hash (may
 * be NULL) is the FNV-1a hash of the whole log, including what exceeded
 * log_limit. Returns 0, or KR_EINVAL. Call it between block_on calls. */
KR_API int kr_sim_log(const kr_runtime *rt, const char **data, size_t *len,
                      uint64_t *hash);

/* A number from the simulation's generator, for a test's own choices (a
 * fault to inject, a value to send): part of the seeded run, so it
 * replays too. Called from a task or the block_on future of a simulation
 * runtime; elsewhere it returns a number from the clock. */
KR_API uint64_t kr_sim_random(void);

/* Writes "kairo-sim: FAILED: <what> (seed <seed>; replay with
 * KAIRO_SEED=<seed>)" and a newline to fd. Returns 0, or KR_EINVAL (NULL
 * runtime, not a simulation runtime, negative fd), KR_EIO. */
KR_API int kr_sim_report(const kr_runtime *rt, int fd, const char *what);

/* Parses KAIRO_SEED from the environment: decimal or 0x-hex. Returns 1
 * and sets *seed if it is set and valid, else 0. */
KR_API int kr_sim_env_seed(uint64_t *seed);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_SIM_H */
