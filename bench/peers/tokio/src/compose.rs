//! The composition rows of bench/bench-compose.c: select!, join! and JoinSet inside one
//! task on a current-thread runtime, COMPOSE_OPS operations per iteration, the same work as
//! the kairo side (a ready value, a never-ready future, a future that yields once).

use std::future::{pending, ready};
use std::hint::black_box;

use tokio::task::{self, JoinSet};

use crate::{current_thread_rt, measure, time_iters, Config};

const COMPOSE_OPS: u64 = 1000;

/// Yields once, then is ready with `v` (kairo's yield_val).
async fn yield_val(v: u64) -> u64 {
    task::yield_now().await;
    v
}

fn check(sum: u64, want: u64) {
    assert_eq!(sum, want, "compose sum");
}

fn tri() -> u64 {
    COMPOSE_OPS * (COMPOSE_OPS - 1) / 2
}

pub fn select2_biased(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for i in 0..COMPOSE_OPS {
                    sum += tokio::select! {
                        biased;
                        v = ready(black_box(i)) => v,
                        v = pending::<u64>() => v,
                    };
                }
                sum
            });
            check(sum, tri());
        })
    });
}

pub fn select2_fair(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for i in 0..COMPOSE_OPS {
                    sum += tokio::select! {
                        v = ready(black_box(i)) => v,
                        v = pending::<u64>() => v,
                    };
                }
                sum
            });
            check(sum, tri());
        })
    });
}

pub fn select2_yield(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for i in 0..COMPOSE_OPS {
                    sum += tokio::select! {
                        v = yield_val(black_box(i)) => v,
                        v = pending::<u64>() => v,
                    };
                }
                sum
            });
            check(sum, tri());
        })
    });
}

pub fn join4(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for i in 0..COMPOSE_OPS {
                    let i = black_box(i);
                    let (a, b, c, d) = tokio::join!(ready(i), ready(i + 1), ready(i + 2), ready(i + 3));
                    sum += a + b + c + d;
                }
                sum
            });
            check(sum, 4 * tri() + 6 * COMPOSE_OPS);
        })
    });
}

pub fn join4_yield(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let sum = rt.block_on(async {
                let mut sum = 0u64;
                for i in 0..COMPOSE_OPS {
                    let i = black_box(i);
                    let (a, b, c, d) =
                        tokio::join!(yield_val(i), yield_val(i + 1), yield_val(i + 2), yield_val(i + 3));
                    sum += a + b + c + d;
                }
                sum
            });
            check(sum, 4 * tri() + 6 * COMPOSE_OPS);
        })
    });
}

pub fn join_set_1000(cfg: &Config, name: &str) {
    let rt = current_thread_rt();
    let mut set: JoinSet<u64> = JoinSet::new();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let sum = rt.block_on(async {
                for i in 0..COMPOSE_OPS {
                    set.spawn(ready(black_box(i)));
                }
                let mut sum = 0u64;
                while let Some(r) = set.join_next().await {
                    sum += r.expect("task");
                }
                sum
            });
            check(sum, tri());
        })
    });
}

pub static BENCHES: [(&str, fn(&Config, &str)); 6] = [
    ("compose/select2_biased", select2_biased),
    ("compose/select2_fair", select2_fair),
    ("compose/select2_yield", select2_yield),
    ("compose/join4", join4),
    ("compose/join4_yield", join4_yield),
    ("compose/join_set_1000", join_set_1000),
];
