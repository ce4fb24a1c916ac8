//! tokio-bench: Tokio's runtime benchmarks (rt_current_thread.rs, rt_multi_threaded.rs,
//! remote_spawn.rs), rebuilt from their definitions in reference/tokio.md §7.1, §7.2, §7.4,
//! with a small timing loop of our own instead of criterion. It is the peer that kairo-bench
//! is compared against, so both programs share one command line and one output format:
//!
//!     tokio-bench [--workers N] [filter...]
//!
//! A benchmark runs when its name contains any filter (or when there are no filters).
//! One line per benchmark on stdout:
//!
//!     name<TAB>median<TAB>min<TAB>max<TAB>ns/iter<TAB>REPS x ITERS
//!
//! Environment: BENCH_REPS (default 7, clamped to 5..63), BENCH_TARGET_MS (default 100): the
//! wall time one repetition aims for.

use std::env;
use std::hint::black_box;
use std::io::Write;
use std::process;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

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

struct Config {
    workers: usize,
    reps: usize,
    target: Duration,
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
        Config { workers, reps, target: Duration::from_millis(target_ms), filters }
    }

    fn selected(&self, name: &str) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| name.contains(f.as_str()))
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
fn time_iters<F: FnMut()>(iters: u64, mut body: F) -> Option<Duration> {
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
fn measure<F: FnMut(u64) -> Option<Duration>>(cfg: &Config, name: &str, mut run: F) -> bool {
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
fn current_thread_rt() -> Runtime {
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

fn main() {
    let cfg = Config::from_args();

    type Bench = fn(&Config, &str);
    let plain: [(&str, Bench); 13] = [
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
    ];
    for (name, bench) in plain.iter() {
        if cfg.selected(name) {
            bench(&cfg, name);
        }
    }
    for threads in [1usize, 2, 4] {
        let name = format!("remote_spawn/threads/{}", threads);
        if cfg.selected(&name) {
            remote_spawn(&cfg, &name, threads);
        }
    }
}
