//! tokio-bench: Tokio's runtime benchmarks (rt_current_thread.rs, rt_multi_threaded.rs,
//! remote_spawn.rs, spawn_blocking.rs, fs.rs, copy.rs), rebuilt from their definitions in reference/tokio.md
//! §7.1, §7.2, §7.4, §7.5,
//! with a small timing loop of our own instead of criterion. It is the peer that kairo-bench
//! is compared against, so both programs share one command line and one output format:
//!
//!     tokio-bench [--workers N] [filter...]
//!
//! A benchmark runs when its name contains any filter (or when there are no filters); a filter
//! ending in `$` matches only the name equal to the rest.
//! One line per benchmark on stdout:
//!
//!     name<TAB>median<TAB>min<TAB>max<TAB>ns/iter<TAB>REPS x ITERS
//!
//! The timers/... rows (libuv's million_timers, see timers()) print three lines each,
//! name.init, name.dispatch and name.total, in ns per whole run with "REPS x 1". The
//! mem/idle_task/N rows (mem.rs) are in bytes per idle task beyond its future.
//!
//! Environment: BENCH_REPS (default 7, clamped to 5..63), BENCH_TARGET_MS (default 100): the
//! wall time one repetition aims for; BENCH_ITERS (default 0: off): exactly that many
//! iterations, once, without warm-up (for instruction counts, bench/instructions.sh).

use std::env;
use std::hint::black_box;
use std::io::Write;
use std::process;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::{AcqRel, Acquire, Relaxed}};
use std::sync::{mpsc, Arc, Barrier, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

mod copy;
mod compose;
mod fs;
mod mem;
mod os;
mod sync;

use tokio::runtime::{Builder, Runtime};
use tokio::sync::oneshot;
use tokio::task::{self, JoinHandle};

/// Tokio's NUM_WORKERS in rt_multi_threaded.rs.
const DEFAULT_WORKERS: usize = 4;
/// rt_multi_threaded.rs: tasks per spawn_many iteration.
const MT_NUM_SPAWN: usize = 10_000;
/// rt_multi_threaded.rs, spawn_many_remote_busy2 shadows NUM_SPAWN with this.
const MT_BUSY2_NUM_SPAWN: usize = 1_000;
/// rt_current_thread.rs: tasks per spawn_many iteration.
const CT_NUM_SPAWN: usize = 1_000;
/// ping_pong: parent/child pairs per iteration.
const NUM_PINGS: usize = 1_000;
/// yield_many: tasks, and yields each task makes.
const YIELD_TASKS: usize = 200;
const NUM_YIELD: usize = 1_000;
/// chained_spawn: length of the chain.
const CHAIN_LEN: usize = 1_000;
/// remote_spawn.rs: tasks spawned per iteration, split over the spawning threads.
const REMOTE_TOTAL_TASKS: usize = 12_800;
/// Spin time of one stall() in the busy benchmarks.
const STALL_DUR: Duration = Duration::from_micros(10);
/// spawn_blocking.rs: batches each task runs, and spawn_blocking calls per batch.
const NUM_BATCHES: usize = 100;
const BATCH_SIZE: usize = 16;

pub struct Config {
    pub workers: usize,
    pub reps: usize,
    target: Duration,
    /// BENCH_ITERS: run exactly this many iterations once, without warm-up (0: off).
    fixed_iters: u64,
    filters: Vec<String>,
}

impl Config {
    fn from_args() -> Config {
        let mut workers = DEFAULT_WORKERS;
        let mut filters = Vec::new();
        let mut args = env::args().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--workers" {
                workers = match args.next().and_then(|v| v.parse().ok()) {
                    Some(n) if n > 0 => n,
                    _ => usage("--workers needs a positive integer"),
                };
            } else if let Some(v) = arg.strip_prefix("--workers=") {
                workers = match v.parse() {
                    Ok(n) if n > 0 => n,
                    _ => usage("--workers needs a positive integer"),
                };
            } else if arg == "-h" || arg == "--help" {
                println!("usage: tokio-bench [--workers N] [filter...]");
                process::exit(0);
            } else if arg.starts_with("--") {
                usage(&format!("unknown option {}", arg));
            } else {
                filters.push(arg);
            }
        }
        let reps = env_number("BENCH_REPS", 7).clamp(5, 63) as usize;
        let target_ms = env_number("BENCH_TARGET_MS", 100).max(1);
        let fixed_iters = env_number("BENCH_ITERS", 0);
        Config { workers, reps, target: Duration::from_millis(target_ms), fixed_iters, filters }
    }

    fn selected(&self, name: &str) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|f| match f.strip_suffix('$') {
                Some(exact) => name == exact,
                None => name.contains(f.as_str()),
            })
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("tokio-bench: {}\nusage: tokio-bench [--workers N] [filter...]", msg);
    process::exit(2);
}

fn env_number(key: &str, default: u64) -> u64 {
    match env::var(key) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().unwrap_or_else(|_| {
            eprintln!("tokio-bench: ignoring {}={:?} (not a number)", key, v);
            default
        }),
        _ => default,
    }
}

// ---------------------------------------------------------------------------------------
// Timing loop
// ---------------------------------------------------------------------------------------

/// Runs `iters` iterations of `body` back to back and returns the wall time of all of them.
pub fn time_iters<F: FnMut()>(iters: u64, mut body: F) -> Option<Duration> {
    let start = Instant::now();
    for _ in 0..iters {
        body();
    }
    Some(start.elapsed())
}

/// Measures one benchmark and prints its line. `run(iters)` performs `iters` iterations and
/// returns the time that counts for them (all of it for most benchmarks; only the spawning
/// for remote_spawn), or None when the benchmark had to be abandoned (then no line is
/// printed).
///
/// Warm-up doubles the iteration count until one batch takes a quarter of the target (or a
/// whole target of wall time has passed); the per-iteration estimate from the last warm-up
/// batch then sets ITERS so that one repetition takes about the target. REPS repetitions
/// follow; the line reports median, min and max of their per-iteration times.
pub fn measure<F: FnMut(u64) -> Option<Duration>>(cfg: &Config, name: &str, mut run: F) -> bool {
    if cfg.fixed_iters != 0 {
        // BENCH_ITERS: a known number of iterations for an instruction count.
        let n = cfg.fixed_iters;
        let per = match run(n) {
            Some(d) => d.as_nanos() as f64 / n as f64,
            None => return false,
        };
        println!("{}\t{:.1}\t{:.1}\t{:.1}\tns/iter\t1 x {}", name, per, per, per, n);
        return true;
    }
    let warm_goal = cfg.target / 4;
    let warm_start = Instant::now();
    let mut iters: u64 = 1;
    let mut spent;
    loop {
        spent = match run(iters) {
            Some(d) => d,
            None => return false,
        };
        if spent >= warm_goal || warm_start.elapsed() >= cfg.target {
            break;
        }
        iters = iters.saturating_mul(2);
    }
    let per_iter_ns = (spent.as_nanos() as f64 / iters as f64).max(1.0);
    let iters = ((cfg.target.as_nanos() as f64 / per_iter_ns).round() as u64).max(1);

    let mut samples: Vec<f64> = Vec::with_capacity(cfg.reps);
    for _ in 0..cfg.reps {
        match run(iters) {
            Some(d) => samples.push(d.as_nanos() as f64 / iters as f64),
            None => return false,
        }
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2.0
    };

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(
        out,
        "{}\t{:.1}\t{:.1}\t{:.1}\tns/iter\t{} x {}",
        name, median, samples[0], samples[n - 1], n, iters
    );
    let _ = out.flush();
    true
}

/// Guards a benchmark whose background load can starve the measured work for good. A thread
/// expects a heartbeat (one per finished iteration) at least every `limit`; when none comes,
/// it lowers `running`, which stops the background tasks so the stuck iteration can end,
/// and marks the watchdog as tripped.
struct Watchdog {
    beat: Option<mpsc::Sender<()>>,
    tripped: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(limit: Duration, running: Arc<AtomicBool>) -> Watchdog {
        let (beat, beats) = mpsc::channel::<()>();
        let tripped = Arc::new(AtomicBool::new(false));
        let flag = tripped.clone();
        let thread = thread::spawn(move || loop {
            match beats.recv_timeout(limit) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    flag.store(true, Relaxed);
                    running.store(false, Relaxed);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        });
        Watchdog { beat: Some(beat), tripped, thread: Some(thread) }
    }

    fn beat(&self) {
        if let Some(beat) = &self.beat {
            let _ = beat.send(());
        }
    }

    fn tripped(&self) -> bool {
        self.tripped.load(Relaxed)
    }

    /// Stops the watchdog thread; returns whether it ever tripped.
    fn stop(mut self) -> bool {
        self.beat = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.tripped()
    }
}

// ---------------------------------------------------------------------------------------
// Runtimes and helpers
// ---------------------------------------------------------------------------------------

/// rt_current_thread.rs: `new_current_thread()` with no drivers enabled.
pub(crate) fn current_thread_rt() -> Runtime {
    Builder::new_current_thread().build().expect("current_thread runtime")
}

/// rt_multi_threaded.rs: `new_multi_thread().worker_threads(N).enable_all()`.
fn multi_thread_rt(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("multi_thread runtime")
}

/// remote_spawn.rs: a multi-thread runtime without drivers.
fn multi_thread_rt_no_drivers(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("multi_thread runtime")
}

/// Waits for the runtime's worker threads to exit, so that nothing from one benchmark
/// still runs while the next one is measured.
fn finish(rt: Runtime) {
    rt.shutdown_timeout(Duration::from_secs(10));
}

/// Spins for STALL_DUR, giving the CPU away between checks (Tokio's `stall()`).
#[inline(never)]
fn stall() {
    let start = Instant::now();
    while start.elapsed() < STALL_DUR {
        thread::yield_now();
    }
}

/// Awaits every handle in `handles`, leaving the vector empty (capacity kept).
async fn join_all<T>(handles: &mut Vec<JoinHandle<T>>) {
    for handle in handles.drain(..) {
        black_box(handle.await.expect("task panicked"));
    }
}

// ---------------------------------------------------------------------------------------
// Current-thread benchmarks (rt_current_thread.rs, plus the rt_multi_threaded.rs
// ping_pong / yield_many / chained_spawn run on a current_thread runtime)
// ---------------------------------------------------------------------------------------

/// 1000 spawns from inside block_on (local pushes), then each handle is awaited.
fn ct_spawn_many_local(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    let mut handles = Vec::with_capacity(CT_NUM_SPAWN);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                for _ in 0..CT_NUM_SPAWN {
                    handles.push(tokio::spawn(async {}));
                }
                join_all(&mut handles).await;
            });
        })
    });
    drop(rt);
}

/// One iteration of the remote spawn_many shape: `n` spawns through the handle from outside
/// the runtime, then block_on awaits all of them.
#[inline(never)]
fn spawn_remote_then_join(rt: &Runtime, handles: &mut Vec<JoinHandle<()>>, n: usize) {
    let handle = rt.handle();
    for _ in 0..n {
        handles.push(handle.spawn(async {}));
    }
    rt.block_on(join_all(handles));
}

/// 1000 spawns from outside the runtime (inject pushes), then block_on awaits them.
fn ct_spawn_many_remote_idle(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    let mut handles = Vec::with_capacity(CT_NUM_SPAWN);
    measure(cfg, name, |iters| {
        time_iters(iters, || spawn_remote_then_join(&rt, &mut handles, CT_NUM_SPAWN))
    });
    drop(rt);
}

/// A task that spawns its successor forever: the current_thread runtime's queue is never
/// empty while block_on runs.
fn respawn_forever() {
    tokio::spawn(async {
        respawn_forever();
    });
}

/// Same iteration as remote_idle, with a self-respawning task keeping the runtime busy.
fn ct_spawn_many_remote_busy(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    rt.spawn(async {
        respawn_forever();
    });
    let mut handles = Vec::with_capacity(CT_NUM_SPAWN);
    measure(cfg, name, |iters| {
        time_iters(iters, || spawn_remote_then_join(&rt, &mut handles, CT_NUM_SPAWN))
    });
    // Dropping a current_thread runtime drops its queued tasks, which ends the chain.
    drop(rt);
}

/// One ping/pong pair: the parent spawns a child, sends it a ping on one oneshot and waits
/// for the pong on another.
async fn ping_pong_pair() {
    let (ping_tx, ping_rx) = oneshot::channel::<()>();
    let (pong_tx, pong_rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        ping_rx.await.expect("ping");
        pong_tx.send(()).expect("pong receiver gone");
    });
    ping_tx.send(()).expect("ping receiver gone");
    pong_rx.await.expect("pong");
}

/// ping_pong on current_thread: block_on spawns the 1000 parents and awaits their handles
/// (2000 spawns and 2000 oneshots per iteration).
fn ct_ping_pong(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    let mut handles = Vec::with_capacity(NUM_PINGS);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                for _ in 0..NUM_PINGS {
                    handles.push(tokio::spawn(ping_pong_pair()));
                }
                join_all(&mut handles).await;
            });
        })
    });
    drop(rt);
}

/// A task body for yield_many: NUM_YIELD yields.
async fn yield_loop() {
    for _ in 0..NUM_YIELD {
        task::yield_now().await;
    }
}

/// yield_many on current_thread: block_on spawns 200 tasks of 1000 yields each and awaits
/// their handles (200k yields per iteration).
fn ct_yield_many(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    let mut handles = Vec::with_capacity(YIELD_TASKS);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                for _ in 0..YIELD_TASKS {
                    handles.push(tokio::spawn(yield_loop()));
                }
                join_all(&mut handles).await;
            });
        })
    });
    drop(rt);
}

/// One link of the chain on current_thread: spawn the next link, or at the end complete the
/// oneshot block_on is waiting on.
fn chain_oneshot(done: oneshot::Sender<()>, n: usize) {
    if n == 0 {
        done.send(()).expect("chain waiter gone");
    } else {
        tokio::spawn(async move {
            chain_oneshot(done, n - 1);
        });
    }
}

/// chained_spawn on current_thread: block_on spawns the head, each level spawns the next,
/// the last completes a oneshot that block_on awaits (1001 spawns per iteration).
fn ct_chained_spawn(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                let (done_tx, done_rx) = oneshot::channel();
                tokio::spawn(async move {
                    chain_oneshot(done_tx, CHAIN_LEN);
                });
                done_rx.await.expect("chain dropped");
            });
        })
    });
    drop(rt);
}

// ---------------------------------------------------------------------------------------
// Multi-thread benchmarks (rt_multi_threaded.rs)
// ---------------------------------------------------------------------------------------

/// 10,000 spawns issued inside block_on (the bench thread is not a worker, so they are
/// inject pushes); the last task to run signals a std channel that block_on blocks on.
fn mt_spawn_many_local(cfg: &Config, name: &str) {
    let rt = multi_thread_rt(cfg.workers);
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);
    let remaining = Arc::new(AtomicUsize::new(0));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            remaining.store(MT_NUM_SPAWN, Relaxed);
            rt.block_on(async {
                for _ in 0..MT_NUM_SPAWN {
                    let done_tx = done_tx.clone();
                    let remaining = remaining.clone();
                    tokio::spawn(async move {
                        if remaining.fetch_sub(1, Relaxed) == 1 {
                            done_tx.send(()).expect("done receiver gone");
                        }
                    });
                }
                done_rx.recv().expect("done sender gone");
            });
        })
    });
    finish(rt);
}

/// 10,000 spawns from outside the runtime, then block_on awaits all handles.
fn mt_spawn_many_remote_idle(cfg: &Config, name: &str) {
    let rt = multi_thread_rt(cfg.workers);
    let mut handles = Vec::with_capacity(MT_NUM_SPAWN);
    measure(cfg, name, |iters| {
        time_iters(iters, || spawn_remote_then_join(&rt, &mut handles, MT_NUM_SPAWN))
    });
    finish(rt);
}

/// How long a busy benchmark may go without finishing a batch before it is abandoned.
fn starvation_limit(cfg: &Config) -> Duration {
    (cfg.target * 20).max(Duration::from_secs(2))
}

/// Measures remote_idle's iteration (`n` spawns) under background load, with a watchdog:
/// if the load starves the spawned tasks, the load is stopped, no line is printed, and a
/// note goes to stderr.
fn measure_remote_under_load(cfg: &Config, name: &str, rt: &Runtime, running: Arc<AtomicBool>, n: usize) {
    let watchdog = Watchdog::start(starvation_limit(cfg), running.clone());
    let mut handles = Vec::with_capacity(n);
    measure(cfg, name, |iters| {
        let spent = time_iters(iters, || spawn_remote_then_join(rt, &mut handles, n));
        watchdog.beat();
        if watchdog.tripped() {
            None
        } else {
            spent
        }
    });
    running.store(false, Relaxed);
    if watchdog.stop() {
        eprintln!(
            "tokio-bench: {}: no result, the spawned tasks were starved for {:?} by the busy \
             tasks (Tokio 1.24's LIFO slot has no per-tick poll cap; the cap came in Tokio 1.29)",
            name,
            starvation_limit(cfg)
        );
    }
}

/// remote_idle's iteration while 2 x workers tasks loop on { yield_now; stall }.
fn mt_spawn_many_remote_busy1(cfg: &Config, name: &str) {
    let rt = multi_thread_rt(cfg.workers);
    let running = Arc::new(AtomicBool::new(true));
    for _ in 0..2 * cfg.workers {
        let running = running.clone();
        rt.spawn(async move {
            while running.load(Relaxed) {
                task::yield_now().await;
                stall();
            }
        });
    }
    measure_remote_under_load(cfg, name, &rt, running, MT_NUM_SPAWN);
    finish(rt);
}

/// One link of a busy chain: while the flag is up, stall, then spawn the next link.
fn busy_chain(running: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if running.load(Relaxed) {
            stall();
            busy_chain(running);
        }
    });
}

/// 1,000 remote spawns plus awaits while `workers` self-respawning chains of stalling
/// tasks keep the runtime busy.
fn mt_spawn_many_remote_busy2(cfg: &Config, name: &str) {
    let rt = multi_thread_rt(cfg.workers);
    let running = Arc::new(AtomicBool::new(true));
    for _ in 0..cfg.workers {
        let running = running.clone();
        rt.spawn(async move {
            busy_chain(running);
        });
    }
    measure_remote_under_load(cfg, name, &rt, running, MT_BUSY2_NUM_SPAWN);
    finish(rt);
}

/// block_on spawns one task that spawns the 1000 ping/pong parents; each parent, once its
/// pong is back, counts down, and the last one signals the std channel block_on waits on.
/// 2001 spawns and 2000 oneshots per iteration.
fn mt_ping_pong(cfg: &Config, name: &str) {
    let rt = multi_thread_rt(cfg.workers);
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);
    let remaining = Arc::new(AtomicUsize::new(0));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            remaining.store(NUM_PINGS, Relaxed);
            let done_tx = done_tx.clone();
            let remaining = remaining.clone();
            rt.block_on(async {
                tokio::spawn(async move {
                    for _ in 0..NUM_PINGS {
                        let done_tx = done_tx.clone();
                        let remaining = remaining.clone();
                        tokio::spawn(async move {
                            ping_pong_pair().await;
                            if remaining.fetch_sub(1, Relaxed) == 1 {
                                done_tx.send(()).expect("done receiver gone");
                            }
                        });
                    }
                });
                done_rx.recv().expect("done sender gone");
            });
        })
    });
    finish(rt);
}

/// 200 tasks of 1000 yields each, spawned from outside; each reports on a std channel when
/// done, and the bench thread receives 200 times.
fn mt_yield_many(cfg: &Config, name: &str) {
    let rt = multi_thread_rt(cfg.workers);
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(YIELD_TASKS);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            for _ in 0..YIELD_TASKS {
                let done_tx = done_tx.clone();
                rt.spawn(async move {
                    yield_loop().await;
                    done_tx.send(()).expect("done receiver gone");
                });
            }
            for _ in 0..YIELD_TASKS {
                done_rx.recv().expect("done sender gone");
            }
        })
    });
    finish(rt);
}

/// One link of the chain: spawn the next link, or at the end signal the std channel.
fn chain_std(done: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done.send(()).expect("done receiver gone");
    } else {
        tokio::spawn(async move {
            chain_std(done, n - 1);
        });
    }
}

/// block_on spawns the head of a 1000-link chain and blocks on the std channel that the
/// last link signals (1001 spawns per iteration).
fn mt_chained_spawn(cfg: &Config, name: &str) {
    let rt = multi_thread_rt(cfg.workers);
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(1000);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let done_tx = done_tx.clone();
            rt.block_on(async {
                tokio::spawn(async move {
                    chain_std(done_tx, CHAIN_LEN);
                });
                done_rx.recv().expect("done sender gone");
            });
        })
    });
    finish(rt);
}

// ---------------------------------------------------------------------------------------
// remote_spawn.rs
// ---------------------------------------------------------------------------------------

/// Timed: start `threads` std threads that meet at a barrier, then each spawns its share
/// of 12,800 empty tasks through the runtime handle, keeping the JoinHandles; join the
/// threads. Untimed: block_on awaits all 12,800 handles.
fn remote_spawn(cfg: &Config, name: &str, threads: usize) {
    let rt = multi_thread_rt_no_drivers(cfg.workers);
    let per_thread = REMOTE_TOTAL_TASKS / threads;
    measure(cfg, name, |iters| {
        let mut timed = Duration::ZERO;
        for _ in 0..iters {
            let barrier = Barrier::new(threads);
            let start = Instant::now();
            let mut handles: Vec<Vec<JoinHandle<()>>> = thread::scope(|s| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        let barrier = &barrier;
                        let handle = rt.handle();
                        s.spawn(move || {
                            barrier.wait();
                            let mut mine = Vec::with_capacity(per_thread);
                            for _ in 0..per_thread {
                                mine.push(handle.spawn(async {}));
                            }
                            mine
                        })
                    })
                    .collect();
                workers.into_iter().map(|t| t.join().expect("spawner panicked")).collect()
            });
            timed += start.elapsed();
            rt.block_on(async {
                for list in handles.iter_mut() {
                    join_all(list).await;
                }
            });
        }
        Some(timed)
    });
    finish(rt);
}

// ---------------------------------------------------------------------------------------
// spawn_blocking.rs
// ---------------------------------------------------------------------------------------

/// One iteration: `concurrency` tasks, each running NUM_BATCHES batches of BATCH_SIZE
/// `spawn_blocking(|| black_box(0))`, every batch joined before the next. Tokio's bench
/// collects a batch in a JoinSet and calls join_all; Tokio 1.24 has neither
/// JoinSet::spawn_blocking nor join_all, so the handles go in a Vec and are awaited in
/// order (kairo-bench does the same).
fn spawn_blocking(cfg: &Config, name: &str, concurrency: usize) {
    let rt = multi_thread_rt(cfg.workers);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                let mut tasks = Vec::with_capacity(concurrency);
                for _ in 0..concurrency {
                    tasks.push(tokio::spawn(async {
                        let mut batch = Vec::with_capacity(BATCH_SIZE);
                        for _ in 0..NUM_BATCHES {
                            for _ in 0..BATCH_SIZE {
                                batch.push(task::spawn_blocking(|| black_box(0)));
                            }
                            for handle in batch.drain(..) {
                                assert_eq!(handle.await.expect("blocking job panicked"), 0);
                            }
                        }
                    }));
                }
                join_all(&mut tasks).await;
            });
        })
    });
    finish(rt);
}

// ---------------------------------------------------------------------------------------
// timers/...: libuv's million_timers, one task per timer (kairo's bench/bench-timers.c)
// ---------------------------------------------------------------------------------------

/// Timers per run, and timers per millisecond of deadline (libuv: timeout++ every 1000).
const TIMERS_N: usize = 1_000_000;
const TIMERS_PER_MS: u64 = 1_000;
/// Seed of the fixed shuffle of timers/shuf_... ("kairo" in ASCII; kairo-bench and the
/// libuv peer use the same generator and seed, so all three register in the same order).
const TIMERS_SHUFFLE_SEED: u64 = 0x6b_6169_726f;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fixed shuffle of 0..n: for i = n-1 down to 1, swap perm[i] with perm[next % (i+1)].
fn timers_shuffle(n: usize) -> Vec<u32> {
    let mut perm: Vec<u32> = (0..n as u32).collect();
    let mut state = TIMERS_SHUFFLE_SEED;
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        perm.swap(i, j);
    }
    perm
}

/// What the timer tasks of one run share (one run at a time). Instants are ns since
/// TIMER_EPOCH. AcqRel on the counters, as in kairo-bench: the chain of decrements of
/// TIMER_LEFT carries the store of TIMER_T_INIT to the last task, which sends on the
/// oneshot that block_on awaits.
static TIMER_REGISTERED: AtomicUsize = AtomicUsize::new(0);
static TIMER_LEFT: AtomicUsize = AtomicUsize::new(0);
static TIMER_T_INIT: AtomicU64 = AtomicU64::new(0);
static TIMER_T_LAST: AtomicU64 = AtomicU64::new(0);
static TIMER_DONE: Mutex<Option<oneshot::Sender<()>>> = Mutex::new(None);
static TIMER_EPOCH: OnceLock<Instant> = OnceLock::new();

fn timer_now_ns() -> u64 {
    TIMER_EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// One timer task: `sleep_until(deadline).await`, counting its first poll (the poll that
/// registers the timer) and its completion.
async fn timer_task(deadline: tokio::time::Instant) {
    let sleep = tokio::time::sleep_until(deadline);
    tokio::pin!(sleep);
    let mut first = true;
    std::future::poll_fn(|cx| {
        let p = sleep.as_mut().poll(cx);
        if first {
            first = false;
            if TIMER_REGISTERED.fetch_add(1, AcqRel) + 1 == TIMERS_N {
                TIMER_T_INIT.store(timer_now_ns(), Relaxed);
            }
        }
        p
    })
    .await;
    if TIMER_LEFT.fetch_sub(1, AcqRel) == 1 {
        TIMER_T_LAST.store(timer_now_ns(), Relaxed);
        let tx = TIMER_DONE.lock().unwrap().take().expect("timer oneshot");
        tx.send(()).expect("timer waiter gone");
    }
}

/// One run on a fresh runtime: (init, dispatch, total) in ns. block_on takes the base
/// time, spawns the TIMERS_N tasks (remote spawns on multi_thread: the bench thread is not
/// a worker) and awaits the oneshot the last one to fire sends on.
fn timers_run_once(rt: Runtime, perm: Option<&[u32]>) -> [f64; 3] {
    TIMER_REGISTERED.store(0, Relaxed);
    TIMER_LEFT.store(TIMERS_N, Relaxed);
    TIMER_T_INIT.store(0, Relaxed);
    TIMER_T_LAST.store(0, Relaxed);
    let (tx, rx) = oneshot::channel::<()>();
    *TIMER_DONE.lock().unwrap() = Some(tx);
    timer_now_ns(); // fixes the epoch
    let base_ns = rt.block_on(async move {
        let base_ns = timer_now_ns();
        let base = tokio::time::Instant::now();
        for i in 0..TIMERS_N {
            let k = match perm {
                Some(p) => p[i] as u64,
                None => i as u64,
            };
            let deadline = base + Duration::from_millis(k / TIMERS_PER_MS + 1);
            tokio::spawn(timer_task(deadline));
        }
        rx.await.expect("timer oneshot dropped");
        base_ns
    });
    assert_eq!(TIMER_REGISTERED.load(Acquire), TIMERS_N, "timers registered");
    assert_eq!(TIMER_LEFT.load(Acquire), 0, "timers left");
    let t_init = TIMER_T_INIT.load(Relaxed);
    let t_last = TIMER_T_LAST.load(Relaxed);
    assert!(base_ns <= t_init && t_init <= t_last, "instants out of order");
    assert!(
        t_last - base_ns >= (TIMERS_N as u64 / TIMERS_PER_MS) * 1_000_000,
        "the last timer fired early"
    );
    finish(rt);
    [
        (t_init - base_ns) as f64,
        (t_last - t_init) as f64,
        (t_last - base_ns) as f64,
    ]
}

/// timers/{seq,shuf}_1000000_{ct,mt}: REPS runs, each on a fresh runtime with the time
/// driver (current_thread, or multi_thread with --workers workers); prints name.init,
/// name.dispatch and name.total in ns per whole run.
fn timers(cfg: &Config, name: &str, shuffled: bool, mt: bool) {
    let perm = if shuffled { Some(timers_shuffle(TIMERS_N)) } else { None };
    let mut rows: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..cfg.reps {
        let rt = if mt {
            Builder::new_multi_thread().worker_threads(cfg.workers).enable_time().build()
        } else {
            Builder::new_current_thread().enable_time().build()
        }
        .expect("runtime");
        let res = timers_run_once(rt, perm.as_deref());
        for (row, v) in rows.iter_mut().zip(res) {
            row.push(v);
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (part, v) in ["init", "dispatch", "total"].iter().zip(rows.iter_mut()) {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len();
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        let _ = writeln!(
            out,
            "{}.{}\t{:.0}\t{:.0}\t{:.0}\tns\t{} x 1",
            name, part, median, v[0], v[n - 1], n
        );
    }
    let _ = out.flush();
}

// ---------------------------------------------------------------------------------------

fn main() {
    let cfg = Config::from_args();

    type Bench = fn(&Config, &str);
    let plain: [(&str, Bench); 25] = [
        ("ct/spawn_many_local", ct_spawn_many_local),
        ("ct/spawn_many_remote_idle", ct_spawn_many_remote_idle),
        ("ct/spawn_many_remote_busy", ct_spawn_many_remote_busy),
        ("ct/ping_pong", ct_ping_pong),
        ("ct/yield_many", ct_yield_many),
        ("ct/chained_spawn", ct_chained_spawn),
        ("mt/spawn_many_local", mt_spawn_many_local),
        ("mt/spawn_many_remote_idle", mt_spawn_many_remote_idle),
        ("mt/spawn_many_remote_busy1", mt_spawn_many_remote_busy1),
        ("mt/spawn_many_remote_busy2", mt_spawn_many_remote_busy2),
        ("mt/ping_pong", mt_ping_pong),
        ("mt/yield_many", mt_yield_many),
        ("mt/chained_spawn", mt_chained_spawn),
        ("mem/idle_task/16", mem::mem_idle_task_16),
        ("mem/idle_task/64", mem::mem_idle_task_64),
        ("copy/mem_to_mem", copy::mem_to_mem),
        ("copy/chunk_to_mem", copy::chunk_to_mem),
        ("copy/mem_to_slow_hdd", copy::mem_to_slow_hdd),
        ("copy/chunk_to_slow_hdd", copy::chunk_to_slow_hdd),
        ("fs/async_read_std_file", fs::async_read_std_file),
        ("fs/async_read_buf", fs::async_read_buf),
        ("fs/async_read_codec", fs::async_read_codec),
        ("fs/sync_read", fs::sync_read),
        ("signal/many_signals", os::many_signals),
        ("process/spawn_wait", os::spawn_wait),
    ];
    for (name, bench) in plain.iter() {
        if cfg.selected(name) {
            bench(&cfg, name);
        }
    }
    for (name, bench) in compose::BENCHES.iter() {
        if cfg.selected(name) {
            bench(&cfg, name);
        }
    }
    for (name, bench) in sync::BENCHES.iter() {
        if cfg.selected(name) {
            bench(&cfg, name);
        }
    }
    for (group, all) in [("notify/notify_one", false), ("notify/notify_waiters", true)] {
        for waiters in [10usize, 50, 100, 200, 500] {
            let name = format!("{}/{}", group, waiters);
            if cfg.selected(&name) {
                sync::notify_bench(&cfg, &name, waiters, all);
            }
        }
    }
    for (group, watch) in [("broadcast/contention", false), ("watch/contention_resubscribe", true)] {
        for receivers in [10usize, 100, 500, 1000] {
            let name = format!("{}/{}", group, receivers);
            if cfg.selected(&name) {
                if watch {
                    sync::watch_contention_resubscribe(&cfg, &name, receivers);
                } else {
                    sync::broadcast_contention(&cfg, &name, receivers);
                }
            }
        }
    }
    for threads in [1usize, 2, 4] {
        let name = format!("remote_spawn/threads/{}", threads);
        if cfg.selected(&name) {
            remote_spawn(&cfg, &name, threads);
        }
    }
    for concurrency in [1usize, 2, 4] {
        let name = format!("spawn_blocking/concurrency/{}", concurrency);
        if cfg.selected(&name) {
            spawn_blocking(&cfg, &name, concurrency);
        }
    }
    for (name, shuffled, mt) in [
        ("timers/seq_1000000_ct", false, false),
        ("timers/seq_1000000_mt", false, true),
        ("timers/shuf_1000000_ct", true, false),
        ("timers/shuf_1000000_mt", true, true),
    ] {
        if ["init", "dispatch", "total"].iter().any(|p| cfg.selected(&format!("{}.{}", name, p))) {
            timers(&cfg, name, shuffled, mt);
        }
    }
}
