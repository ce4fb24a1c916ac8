//! mem/idle_task/N: the resident memory an idle task costs beyond its N-byte future, as
//! kairo's bench/bench-mem.c measures it: on a current-thread runtime, block_on spawns
//! IDLE_TASKS tasks whose future returns Pending for ever (and never stores its waker) and
//! waits until each has been polled once; the row is the growth of the resident set over
//! that, per task, less N. Each repetition uses a fresh runtime; between repetitions
//! malloc_trim hands the freed pages back. Unit: bytes per task.

use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};

use tokio::runtime::Builder;

use crate::Config;

/// The definition: a million tasks.
const IDLE_TASKS: usize = 1_000_000;

static POLLED: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    fn malloc_trim(pad: usize) -> i32;
    fn sysconf(name: i32) -> i64;
}
const SC_PAGESIZE: i32 = 30;

/// A future of W words; the first is 0 until its first poll.
struct Idle<const W: usize> {
    words: [u64; W],
}

impl<const W: usize> Future for Idle<W> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let me = self.get_mut();
        if me.words[0] == 0 {
            me.words[0] = 1;
            POLLED.fetch_add(1, Relaxed);
        }
        Poll::Pending
    }
}

fn rss_bytes() -> i64 {
    let s = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let resident: i64 = s.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("statm");
    resident * unsafe { sysconf(SC_PAGESIZE) }
}

fn idle_task<const W: usize>(cfg: &Config, name: &str) {
    let mut samples = Vec::with_capacity(cfg.reps);
    for _ in 0..cfg.reps {
        let rt = Builder::new_current_thread().build().expect("current_thread runtime");
        unsafe { malloc_trim(0) };
        let before = rss_bytes();
        POLLED.store(0, Relaxed);
        rt.block_on(async {
            for _ in 0..IDLE_TASKS {
                drop(tokio::spawn(Idle::<W> { words: [0; W] }));
            }
            while POLLED.load(Relaxed) < IDLE_TASKS {
                tokio::task::yield_now().await;
            }
        });
        let after = rss_bytes();
        drop(rt); // drops every idle task
        unsafe { malloc_trim(0) };
        let future = std::mem::size_of::<Idle<W>>() as f64;
        samples.push((after - before) as f64 / IDLE_TASKS as f64 - future);
    }
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = samples.len();
    let median = if n % 2 == 1 { samples[n / 2] } else { (samples[n / 2 - 1] + samples[n / 2]) / 2.0 };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = writeln!(
        out,
        "{}\t{:.1}\t{:.1}\t{:.1}\tB/task\t{} x {}",
        name, median, samples[0], samples[n - 1], n, IDLE_TASKS
    );
    let _ = out.flush();
}

pub fn mem_idle_task_16(cfg: &Config, name: &str) {
    idle_task::<2>(cfg, name)
}

pub fn mem_idle_task_64(cfg: &Config, name: &str) {
    idle_task::<8>(cfg, name)
}
