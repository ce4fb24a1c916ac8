//! signal/many_signals and process/spawn_wait, as kairo's bench/bench-os.c runs them, on a
//! current-thread runtime with its drivers enabled.
//!
//! many_signals is Tokio's benches/signal.rs: 10 listener tasks for SIGCHLD and 10 for
//! SIGIO forward each delivery to one channel of capacity 10; an iteration sends SIGCHLD
//! to the process and receives 10 messages, then the same for SIGIO. spawn_wait runs
//! `true` 1,000 times in sequence, awaiting each exit status.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::process::Command;
use tokio::runtime::{Builder, Runtime};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::{measure, time_iters, Config};

const NUM_SIGNALS: usize = 10;
const NUM_SPAWNS: usize = 1_000;

fn rt() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

/// signal.rs's Spinner: ready at its fifth poll, so every listener task has run once.
struct Spinner {
    count: usize,
}

impl Future for Spinner {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.count > 3 {
            Poll::Ready(())
        } else {
            self.count += 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

fn send_signal(sig: libc::c_int) {
    // SAFETY: kill(2) on our own pid with a signal that has a handler installed.
    assert_eq!(unsafe { libc::kill(libc::getpid(), sig) }, 0);
}

pub fn many_signals(cfg: &Config, name: &str) {
    let rt = rt();
    let (tx, mut rx) = mpsc::channel::<()>(NUM_SIGNALS);
    let spawn_signal = |kind: SignalKind| {
        let tx = tx.clone();
        rt.spawn(async move {
            let mut signal = signal(kind).expect("failed to create signal");
            while signal.recv().await.is_some() {
                if tx.send(()).await.is_err() {
                    break;
                }
            }
        });
    };
    for _ in 0..NUM_SIGNALS {
        spawn_signal(SignalKind::child());
        spawn_signal(SignalKind::io());
    }
    drop(tx);
    rt.block_on(Spinner { count: 0 });
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                send_signal(libc::SIGCHLD);
                for _ in 0..NUM_SIGNALS {
                    rx.recv().await.expect("channel closed");
                }
                send_signal(libc::SIGIO);
                for _ in 0..NUM_SIGNALS {
                    rx.recv().await.expect("channel closed");
                }
            });
        })
    });
}

pub fn spawn_wait(cfg: &Config, name: &str) {
    let rt = rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                for _ in 0..NUM_SPAWNS {
                    let status = Command::new("true").status().await.unwrap();
                    assert!(status.success());
                }
            });
        })
    });
}
