//! The sync benchmarks of Tokio's benches/sync_mpsc.rs (reference/tokio.md §7.6), by name and
//! constants, on a multi-thread runtime of --workers workers (Tokio's own: 6). Tokio 1.24 has
//! no `recv_many`, so the `_recv_many` rows exist on the kairo side only.

use std::hint::black_box;

use tokio::runtime::{Builder, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering::{Acquire, Relaxed, Release}};
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify, RwLock, Semaphore};
use tokio::task;

use crate::{measure, time_iters, Config};

/// sync_mpsc.rs: `Medium = [usize; 64]` (512 B), `Large = [Medium; 64]` (32 KiB).
type Medium = [usize; 64];
type Large = [Medium; 64];

/// sync_mpsc.rs: `new_multi_thread().worker_threads(6)`, no drivers.
fn rt(cfg: &Config) -> Runtime {
    Builder::new_multi_thread().worker_threads(cfg.workers).build().expect("multi_thread runtime")
}

fn create_medium(cfg: &Config, name: &str, size: usize) {
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            black_box(&mpsc::channel::<Medium>(size));
        })
    });
}
pub fn mpsc_create_medium_1(cfg: &Config, name: &str) { create_medium(cfg, name, 1) }
pub fn mpsc_create_medium_100(cfg: &Config, name: &str) { create_medium(cfg, name, 100) }
pub fn mpsc_create_medium_100000(cfg: &Config, name: &str) { create_medium(cfg, name, 100_000) }

pub fn mpsc_send_medium_1000(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let (tx, mut rx) = mpsc::channel::<Medium>(1000);
            let _ = rt.block_on(tx.send([0; 64]));
            rt.block_on(rx.recv()).unwrap();
        })
    });
}

pub fn mpsc_send_large_1000(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let (tx, mut rx) = mpsc::channel::<Large>(1000);
            let _ = rt.block_on(tx.send([[0; 64]; 64]));
            rt.block_on(rx.recv()).unwrap();
        })
    });
}

fn contention_bounded_cap(cfg: &Config, name: &str, cap: usize) {
    let rt = rt(cfg);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async move {
                let (tx, mut rx) = mpsc::channel::<usize>(cap);
                for _ in 0..5 {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..1000 {
                            tx.send(i).await.unwrap();
                        }
                    });
                }
                for _ in 0..1000 * 5 {
                    let _ = rx.recv().await;
                }
            })
        })
    });
}
pub fn mpsc_contention_bounded(cfg: &Config, name: &str) { contention_bounded_cap(cfg, name, 1_000_000) }
pub fn mpsc_contention_bounded_full(cfg: &Config, name: &str) { contention_bounded_cap(cfg, name, 100) }

pub fn mpsc_contention_unbounded(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async move {
                let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
                for _ in 0..5 {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..1000 {
                            tx.send(i).unwrap();
                        }
                    });
                }
                for _ in 0..1000 * 5 {
                    let _ = rx.recv().await;
                }
            })
        })
    });
}

pub fn mpsc_uncontented_bounded(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async move {
                let (tx, mut rx) = mpsc::channel::<usize>(1_000_000);
                for i in 0..5000 {
                    tx.send(i).await.unwrap();
                }
                for _ in 0..5_000 {
                    let _ = rx.recv().await;
                }
            })
        })
    });
}

pub fn mpsc_uncontented_unbounded(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async move {
                let (tx, mut rx) = mpsc::unbounded_channel::<usize>();
                for i in 0..5000 {
                    tx.send(i).unwrap();
                }
                for _ in 0..5_000 {
                    let _ = rx.recv().await;
                }
            })
        })
    });
}

/// sync_mpsc_oneshot.rs: a server task answers each request's oneshot; an iteration is one
/// block_on of 1000 {oneshot::channel; send the sender; await the reply}.
fn request_reply(cfg: &Config, name: &str, rt: Runtime) {
    let tx = rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<oneshot::Sender<()>>(10);
        tokio::spawn(async move {
            while let Some(reply) = rx.recv().await {
                reply.send(()).unwrap();
            }
        });
        tx
    });
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let task_tx = tx.clone();
            rt.block_on(async move {
                for _ in 0..1_000 {
                    let (o_tx, o_rx) = oneshot::channel();
                    task_tx.send(o_tx).await.unwrap();
                    let _ = o_rx.await;
                }
            })
        })
    });
}
pub fn mpsc_oneshot_request_reply_ct(cfg: &Config, name: &str) {
    request_reply(cfg, name, Builder::new_current_thread().build().expect("runtime"))
}
pub fn mpsc_oneshot_request_reply_mt1(cfg: &Config, name: &str) {
    request_reply(cfg, name, Builder::new_multi_thread().worker_threads(1).build().expect("runtime"))
}

/// sync_notify.rs: N waiter tasks count notifications; an iteration (on the bench thread)
/// notifies until the count reaches N_ITERS = 500.
pub fn notify_bench(cfg: &Config, name: &str, waiters: usize, all: bool) {
    let rt = rt(cfg);
    let notify = Arc::new(Notify::new());
    let counter = Arc::new(AtomicUsize::new(0));
    for _ in 0..waiters {
        let notify = notify.clone();
        let counter = counter.clone();
        rt.spawn(async move {
            loop {
                notify.notified().await;
                counter.fetch_add(1, Relaxed);
            }
        });
    }
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            counter.store(0, Relaxed);
            loop {
                if all {
                    notify.notify_waiters();
                } else {
                    notify.notify_one();
                }
                if counter.load(Relaxed) >= 500 {
                    break;
                }
            }
        })
    });
}

fn single_rt() -> Runtime {
    Builder::new_current_thread().build().expect("current_thread runtime")
}

async fn sem_task(s: Arc<Semaphore>) {
    let permit = s.acquire().await;
    drop(permit);
}

fn sem_seq(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    let s = Arc::new(Semaphore::new(10));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let s = s.clone();
            rt.block_on(async move {
                for _ in 0..6 {
                    let permit = s.acquire().await;
                    drop(permit);
                }
            })
        })
    });
}

fn sem_spawn(cfg: &Config, name: &str, permits: usize) {
    let rt = rt(cfg);
    let s = Arc::new(Semaphore::new(permits));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let s = s.clone();
            rt.block_on(async move {
                let j = tokio::try_join! {
                    task::spawn(sem_task(s.clone())),
                    task::spawn(sem_task(s.clone())),
                    task::spawn(sem_task(s.clone())),
                    task::spawn(sem_task(s.clone())),
                    task::spawn(sem_task(s.clone())),
                    task::spawn(sem_task(s.clone()))
                };
                j.unwrap();
            })
        })
    });
}

fn sem_join(cfg: &Config, name: &str, permits: usize) {
    let rt = single_rt();
    let s = Arc::new(Semaphore::new(permits));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let s = s.clone();
            rt.block_on(async move {
                tokio::join! {
                    sem_task(s.clone()),
                    sem_task(s.clone()),
                    sem_task(s.clone()),
                    sem_task(s.clone()),
                    sem_task(s.clone()),
                    sem_task(s.clone())
                };
            })
        })
    });
}

pub fn semaphore_uncontended(cfg: &Config, name: &str) { sem_seq(cfg, name) }
pub fn semaphore_uncontended_concurrent_multi(cfg: &Config, name: &str) { sem_spawn(cfg, name, 10) }
pub fn semaphore_uncontended_concurrent_single(cfg: &Config, name: &str) { sem_join(cfg, name, 10) }
pub fn semaphore_contended_concurrent_multi(cfg: &Config, name: &str) { sem_spawn(cfg, name, 5) }
pub fn semaphore_contended_concurrent_single(cfg: &Config, name: &str) { sem_join(cfg, name, 5) }

async fn read_task(lock: Arc<RwLock<()>>) {
    let read = lock.read().await;
    drop(read);
}

pub fn rwlock_uncontended_read(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    let lock = Arc::new(RwLock::new(()));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let lock = lock.clone();
            rt.block_on(async move {
                for _ in 0..6 {
                    let read = lock.read().await;
                    drop(read);
                }
            })
        })
    });
}

pub fn rwlock_uncontended_read_concurrent(cfg: &Config, name: &str) {
    let rt = single_rt();
    let lock = Arc::new(RwLock::new(()));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let lock = lock.clone();
            rt.block_on(async move {
                tokio::join! {
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone())
                };
            })
        })
    });
}

pub fn rwlock_uncontended_read_concurrent_multi(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    let lock = Arc::new(RwLock::new(()));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let lock = lock.clone();
            rt.block_on(async move {
                let j = tokio::try_join! {
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone()))
                };
                j.unwrap();
            })
        })
    });
}

pub fn rwlock_contended_read_concurrent(cfg: &Config, name: &str) {
    let rt = single_rt();
    let lock = Arc::new(RwLock::new(()));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let lock = lock.clone();
            rt.block_on(async move {
                let write = lock.write().await;
                tokio::join! {
                    async move { drop(write) },
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone()),
                    read_task(lock.clone())
                };
            })
        })
    });
}

pub fn rwlock_contended_read_concurrent_multi(cfg: &Config, name: &str) {
    let rt = rt(cfg);
    let lock = Arc::new(RwLock::new(()));
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let lock = lock.clone();
            rt.block_on(async move {
                let write = lock.write().await;
                let j = tokio::try_join! {
                    async move { drop(write); Ok(()) },
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone())),
                    task::spawn(read_task(lock.clone()))
                };
                j.unwrap();
            })
        })
    });
}

/// The rows of this file, in catalogue order.
pub const BENCHES: [(&str, fn(&Config, &str)); 22] = [
    ("mpsc/create_medium/1", mpsc_create_medium_1),
    ("mpsc/create_medium/100", mpsc_create_medium_100),
    ("mpsc/create_medium/100000", mpsc_create_medium_100000),
    ("mpsc/send_medium_1000", mpsc_send_medium_1000),
    ("mpsc/send_large_1000", mpsc_send_large_1000),
    ("mpsc/contention_bounded", mpsc_contention_bounded),
    ("mpsc/contention_bounded_full", mpsc_contention_bounded_full),
    ("mpsc/contention_unbounded", mpsc_contention_unbounded),
    ("mpsc/uncontented_bounded", mpsc_uncontented_bounded),
    ("mpsc/uncontented_unbounded", mpsc_uncontented_unbounded),
    ("mpsc_oneshot/request_reply_ct", mpsc_oneshot_request_reply_ct),
    ("mpsc_oneshot/request_reply_mt1", mpsc_oneshot_request_reply_mt1),
    ("semaphore/uncontended", semaphore_uncontended),
    ("semaphore/uncontended_concurrent_multi", semaphore_uncontended_concurrent_multi),
    ("semaphore/uncontended_concurrent_single", semaphore_uncontended_concurrent_single),
    ("semaphore/contended_concurrent_multi", semaphore_contended_concurrent_multi),
    ("semaphore/contended_concurrent_single", semaphore_contended_concurrent_single),
    ("rwlock/uncontended_read", rwlock_uncontended_read),
    ("rwlock/uncontended_read_concurrent", rwlock_uncontended_read_concurrent),
    ("rwlock/uncontended_read_concurrent_multi", rwlock_uncontended_read_concurrent_multi),
    ("rwlock/contended_read_concurrent", rwlock_contended_read_concurrent),
    ("rwlock/contended_read_concurrent_multi", rwlock_contended_read_concurrent_multi),
];

/// sync_broadcast.rs and sync_watch.rs: N_ITERS, the values an iteration sends.
const FANOUT_ITERS: usize = 100;

fn xorshift_seed(task: usize) -> u64 {
    (task as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1)
}

/// Tokio's do_work formats ten random f64s from a seeded StdRng into a String and sums its
/// bytes. This peer and kairo (bench/bench-fanout.c) do that work by the same code: a 64-bit
/// xorshift seeded by the task index (a fast seeded RNG in place of StdRng's ChaCha12) yields
/// ten doubles in [0, 1) the way rand's `random::<f64>()` makes them (53 random bits times
/// 2^-53), each appended as " i=0.ddd" by a hand-written formatter (the exact decimal
/// expansion cut at 17 decimal places: about what "{}" prints for such values), and the bytes
/// are summed. (Formatting with each language's library compared glibc's printf with Rust's
/// float formatting, not the runtimes: glibc's "%.17g" took twice the instructions.)
fn append_decimal(buf: &mut [u8; 320], len: &mut usize, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    while n > 0 {
        n -= 1;
        buf[*len] = tmp[n];
        *len += 1;
    }
}

/// Appends d, a double in [0, 1) with at most 53 significant bits, as "0.ddd": its exact
/// decimal expansion, cut at 17 decimal places ("0" for 0).
fn append_double(buf: &mut [u8; 320], len: &mut usize, d: f64) {
    const ONE: u64 = 1 << 53;
    let mut frac = (d * ONE as f64) as u64; // exact: d = frac / 2^53
    buf[*len] = b'0';
    *len += 1;
    if frac == 0 {
        return;
    }
    buf[*len] = b'.';
    *len += 1;
    let mut n = 0;
    while n < 17 && frac != 0 {
        frac *= 10; // < 10 * 2^53 < 2^57
        buf[*len] = b'0' + (frac >> 53) as u8;
        *len += 1;
        frac &= ONE - 1;
        n += 1;
    }
}

fn do_work(state: &mut u64) -> u32 {
    let mut message = [0u8; 320];
    let mut len = 0;
    for i in 1..=10u64 {
        let mut x = *state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *state = x;
        let d = black_box((x >> 11) as f64 * (1.0 / ONE_F64));
        message[len] = b' ';
        len += 1;
        append_decimal(&mut message, &mut len, i);
        message[len] = b'=';
        len += 1;
        append_double(&mut message, &mut len, d);
    }
    message[..len].iter().map(|&c| c as u32).fold(0, u32::wrapping_add)
}

/// 2^53 as a double.
const ONE_F64: f64 = (1u64 << 53) as f64;

/// sync_broadcast.rs contention/N: N receiver tasks on a channel of 1000; an iteration sends
/// 100 values, waiting for every receiver after each.
pub fn broadcast_contention(cfg: &Config, name: &str, n_tasks: usize) {
    let rt = rt(cfg);
    let (tx, _rx) = broadcast::channel::<usize>(1000);
    let wg = Arc::new((AtomicUsize::new(0), Notify::new()));
    for n in 0..n_tasks {
        let wg = wg.clone();
        let mut rx = tx.subscribe();
        let mut rng = xorshift_seed(n);
        rt.spawn(async move {
            while rx.recv().await.is_ok() {
                black_box(do_work(&mut rng));
                if wg.0.fetch_sub(1, Relaxed) == 1 {
                    wg.1.notify_one();
                }
            }
        });
    }
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on({
                let wg = wg.clone();
                let tx = tx.clone();
                async move {
                    for i in 0..FANOUT_ITERS {
                        assert_eq!(wg.0.fetch_add(n_tasks, Relaxed), 0);
                        tx.send(i).unwrap();
                        while wg.0.load(Relaxed) > 0 {
                            wg.1.notified().await;
                        }
                    }
                }
            })
        })
    });
}

/// sync_watch.rs contention_resubscribe/N: N receiver tasks; an iteration spawns a task that
/// sends 100 values, waiting for every receiver after each, and awaits it.
pub fn watch_contention_resubscribe(cfg: &Config, name: &str, n_tasks: usize) {
    let rt = rt(cfg);
    let (snd, _) = watch::channel(0i32);
    let snd = Arc::new(snd);
    let wg = Arc::new((AtomicUsize::new(0), Notify::new()));
    for n in 0..n_tasks {
        let mut rcv = snd.subscribe();
        let wg = wg.clone();
        let mut rng = xorshift_seed(n);
        rt.spawn(async move {
            while rcv.changed().await.is_ok() {
                let _ = *rcv.borrow(); // contend on rwlock
                black_box(do_work(&mut rng));
                if wg.0.fetch_sub(1, Release) == 1 {
                    wg.1.notify_one();
                }
            }
        });
    }
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on({
                let snd = snd.clone();
                let wg = wg.clone();
                async move {
                    tokio::spawn(async move {
                        for _ in 0..FANOUT_ITERS {
                            assert_eq!(wg.0.fetch_add(n_tasks, Relaxed), 0);
                            let _ = snd.send(black_box(42));
                            while wg.0.load(Acquire) > 0 {
                                wg.1.notified().await;
                            }
                        }
                    })
                    .await
                    .unwrap();
                }
            })
        })
    });
}
