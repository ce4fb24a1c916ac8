/*
 * kairo/time.h: monotonic time, sleeps, intervals and timeouts.
 *
 * Timers live in a hierarchical timing wheel per worker (per runtime on the
 * current-thread runtime): 6 levels of 64 slots, 1 ms resolution. A sleep's
 * timer entry lives inside the kr_sleep future itself: no allocation per
 * sleep. It is registered on the first poll, on the wheel of the thread
 * polling it, and removed when the future is dropped.
 *
 * A deadline may lie any distance ahead, up to UINT64_MAX ("never"): past
 * the wheel's span (2^36 ms, 2.2 years) an entry waits at the top level
 * and is re-filed when its slot comes round, and a runtime parks at most
 * 24.8 days at a time (epoll's limit), so a far timer costs a wake-up now
 * and then, never a hang, and never delays a shutdown.
 */
#ifndef KAIRO_TIME_H
#define KAIRO_TIME_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Durations are signed nanoseconds. Instant arithmetic saturates: adding
 * past the last instant gives UINT64_MAX ("never"), subtracting past the
 * clock's origin gives 0, and a difference beyond the duration's range
 * gives INT64_MAX or INT64_MIN. */
typedef int64_t kr_duration;
#define kr_ns(n)   ((kr_duration)(n))
#define kr_us(n)   ((kr_duration)(n)*1000)
#define kr_ms(n)   ((kr_duration)(n)*1000000)
#define kr_secs(n) ((kr_duration)(n)*1000000000)

/* A point on the monotonic clock (CLOCK_MONOTONIC), in nanoseconds. */
typedef struct kr_instant {
    uint64_t ns;
} kr_instant;

KR_API kr_instant kr_instant_now(void);
static inline kr_instant kr_instant_add(kr_instant t, kr_duration d) {
    kr_instant r;
    if (d >= 0) {
        r.ns =
            UINT64_MAX - t.ns < (uint64_t)d ? UINT64_MAX : t.ns + (uint64_t)d;
    } else {
        uint64_t back = 0 - (uint64_t)d; /* |d|, defined for INT64_MIN too */
        r.ns = back > t.ns ? 0 : t.ns - back;
    }
    return r;
}
static inline kr_duration kr_instant_since(kr_instant later,
                                           kr_instant earlier) {
    if (later.ns >= earlier.ns) {
        uint64_t d = later.ns - earlier.ns;
        return d > (uint64_t)INT64_MAX ? INT64_MAX : (kr_duration)d;
    }
    uint64_t d = earlier.ns - later.ns;
    return d > (uint64_t)INT64_MAX ? INT64_MIN : -(kr_duration)d;
}

/* The timer entry: private fields, sized here so a sleep needs no
 * allocation (src/time/wheel.h checks the size). */
typedef struct kr_timer_entry {
    uint64_t deadline_;
    void *private_[7];
} kr_timer_entry;

/*
 * A future that completes at `deadline` (no output). It must be polled by
 * a runtime's task or block_on: elsewhere there is no wheel to register on,
 * and a poll that is not due aborts with a message (as Tokio panics with
 * "no timer running"), as on a runtime made without timers (KR_DRIVER_TIME,
 * kairo/runtime.h). A due sleep is READY anywhere.
 */
typedef struct kr_sleep {
    kr_future base;
    kr_timer_entry entry_;
} kr_sleep;

KR_API kr_sleep kr_sleep_until(kr_instant deadline);
static inline kr_sleep kr_sleep_for(kr_duration d) {
    return kr_sleep_until(kr_instant_add(kr_instant_now(), d));
}
/* As kr_sleep_for, initialising in place (DESIGN's spelling). */
static inline void kr_sleep_init(kr_sleep *s, kr_duration d) {
    *s = kr_sleep_for(d);
}
/*
 * Moves the deadline. To a later one: no lock, the wheel re-files the entry
 * when the old slot comes up. To an earlier one: the entry is re-filed now.
 * The sleep may be pending or finished (then it runs again). Same thread as
 * its polls. Returns 0, or KR_EINVAL if `s` is NULL.
 */
KR_API int kr_sleep_reset(kr_sleep *s, kr_instant deadline);
/* The deadline, rounded up to the timer's 1 ms resolution (UINT64_MAX for
 * one past the last whole ms). A NULL `s` has none: the zero instant. */
KR_API kr_instant kr_sleep_deadline(const kr_sleep *s);
/* True once the sleep has elapsed: a poll returned READY, or its timer
 * fired. A sleep never polled is not elapsed even when due, as Tokio's
 * Sleep::is_elapsed; kr_sleep_reset makes it pending again. False for
 * NULL. Same thread as the polls. */
KR_API bool kr_sleep_is_elapsed(const kr_sleep *s);

/* ------------------------------------------------------------------------ */
/* Timeout                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Runs `inner` with a deadline of `d` from now (taken when made). Output: an
 * int, 0 when the inner future completed in time (its output written to
 * `dst`, NULL to discard), or KR_ELAPSED (the deadline passed first: the
 * inner future was dropped, i.e. cancelled; not KR_ETIMEDOUT, which is
 * the kernel's own timeout, e.g. a connect it gave up on), or KR_EINVAL
 * (made without a future). The timeout owns `inner` from here: it drops it when
 * done, or when the timeout itself is dropped. The inner future is polled
 * first and the timer registered only if it is pending (an immediately
 * ready future never touches the timer wheel, as in Tokio).
 */
typedef struct kr_timeout {
    kr_future base;
    kr_future *inner_;
    void *dst_;
    kr_sleep sleep_;
} kr_timeout;

KR_API kr_timeout kr_timeout_new(kr_future *inner, kr_duration d, void *dst);

/* ------------------------------------------------------------------------ */
/* Interval                                                                 */
/* ------------------------------------------------------------------------ */

/* What an interval does when ticks were missed (the task was late by more
 * than 5 ms; Tokio's three behaviours). */
typedef enum kr_missed_tick {
    KR_MISSED_TICK_BURST = 0, /* fire the missed ticks at once, keep the
                                 original schedule (the default) */
    KR_MISSED_TICK_DELAY = 1, /* next tick a period after the late one */
    KR_MISSED_TICK_SKIP = 2   /* drop the missed ticks, stay on the grid */
} kr_missed_tick;

/*
 * Ticks every `period`, the first tick at once. Not a future itself: each
 * tick is awaited through kr_interval_tick. Must not be moved after its
 * first tick is polled; kr_interval_drop releases its timer.
 */
typedef struct kr_interval {
    kr_sleep sleep_;
    kr_duration period_;
    kr_missed_tick missed_;
} kr_interval;

/* period must be > 0 (a non-positive one is taken as 1 ms). */
KR_API kr_interval kr_interval_new(kr_duration period, kr_missed_tick missed);
/* As kr_interval_new, the first tick at `start` rather than at once
 * (Tokio's interval_at); later ticks follow `period` from it. */
KR_API kr_interval kr_interval_new_at(kr_instant start, kr_duration period,
                                      kr_missed_tick missed);
KR_API void kr_interval_drop(kr_interval *iv);
/* The period (0 for NULL). */
KR_API kr_duration kr_interval_period(const kr_interval *iv);

/*
 * Resets: the next tick is scheduled anew, and the ticks after it follow
 * `period` from that one (Tokio's Interval::reset*). Same thread as the
 * interval's ticks; a pending tick future stays valid and waits for the
 * new deadline. Each returns 0, or KR_EINVAL for NULL.
 *   kr_interval_reset:             a period from now
 *   kr_interval_reset_immediately: now (the next tick is ready at once)
 *   kr_interval_reset_after:       `after` from now
 *   kr_interval_reset_at:          at `deadline` (the past: at once)
 */
KR_API int kr_interval_reset(kr_interval *iv);
KR_API int kr_interval_reset_immediately(kr_interval *iv);
KR_API int kr_interval_reset_after(kr_interval *iv, kr_duration after);
KR_API int kr_interval_reset_at(kr_interval *iv, kr_instant deadline);

/* A future for the next tick. Output: the kr_instant the tick was scheduled
 * for. Dropping a pending tick future is safe (the interval keeps its
 * schedule). Made from a NULL interval, it is READY at once with the zero
 * instant (an output cannot carry KR_EINVAL; 0 is no tick's time). */
typedef struct kr_interval_tick {
    kr_future base;
    kr_interval *iv_;
} kr_interval_tick;
KR_API kr_interval_tick kr_interval_tick_future(kr_interval *iv);

/* ------------------------------------------------------------------------ */
/* Pausing the clock (tests)                                                */
/* ------------------------------------------------------------------------ */

/*
 * A current-thread runtime's clock can be paused, for tests that must not
 * wait for real time (Tokio's time::pause, advance, resume and the
 * builder's start_paused; kr_runtime_config.start_paused here). While
 * paused, kr_instant_now on that runtime's thread (its block_on future,
 * its tasks, local tasks run there) stands still, and sleeps, timeouts and
 * intervals follow the paused clock:
 *   - kr_time_advance(d) moves it forward by d in one jump: every timer
 *     due by then fires, in any order, before the advancing task goes on;
 *   - auto-advance: when the runtime has nothing to run and a timer is
 *     registered, the clock jumps straight to that timer's deadline
 *     instead of the thread waiting for it (after a look at I/O that found
 *     nothing ready). With no timer it waits, without a timeout, for I/O
 *     or a wake from another thread: a paused runtime never spins.
 * Pausing rounds the clock up to the next whole millisecond (the timer's
 * resolution), so advances of any size add up to exact ticks. Resuming
 * lets it run again from where it stands (ahead of CLOCK_MONOTONIC by
 * what was advanced). Instants taken outside the runtime read
 * CLOCK_MONOTONIC, as do other threads (the blocking pool's included: it
 * does not hold back the auto-advance as Tokio's does).
 *
 * Each call acts on the runtime of the calling thread and returns 0, or
 * KR_EINVAL (outside any runtime; resume or advance while not paused; a
 * negative duration), KR_EOPNOTSUPP (the multi-thread runtime: its workers
 * share no one clock; Tokio panics there too), KR_ENOTIME (a runtime made
 * without timers), KR_EALREADY (pause while paused; Tokio panics).
 *
 * A simulation runtime (kairo/sim.h) runs on this same clock, paused from
 * the start and never resumed: pause returns KR_EALREADY, advance moves
 * virtual time on as above, resume returns KR_EOPNOTSUPP.
 */
KR_API int kr_time_pause(void);
KR_API int kr_time_resume(void);
/* True if the calling thread's runtime clock is paused. */
KR_API bool kr_time_is_paused(void);

/* A future that advances the paused clock by `d`, then yields once so the
 * timers it made due run first (Tokio's `advance(d).await`). Output: an
 * int, 0 or an error above. */
typedef struct kr_time_advance_fut {
    kr_future base;
    kr_duration d_;
    int state_;
} kr_time_advance_fut;
KR_API kr_time_advance_fut kr_time_advance(kr_duration d);

#ifdef __cplusplus
}
#endif
#endif /* KAIRO_TIME_H */
