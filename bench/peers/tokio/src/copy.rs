//! copy/...: Tokio's benches/copy.rs (reference/tokio.md §7.15), as kairo's bench/bench-copy.c
//! runs it: a current-thread runtime with time, io::copy of SOURCE_SIZE bytes per iteration
//! run by block_on, the same sources and sinks (repeat(0).take, Vec, ChunkReader,
//! SlowHddWriter).
//!
//! One difference from copy.rs: SlowHddWriter's 10% draws come from splitmix64 seeded 0
//! (bench-copy.c uses the same stream) instead of ChaCha20, which Debian's offline crates
//! do not provide; so both programs pend on the same writes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{copy, repeat, AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::runtime::{Builder, Runtime};
use tokio::time::{interval, Interval, MissedTickBehavior};

use crate::{measure, time_iters, Config};

const KILO: usize = 1024;
const SOURCE_SIZE: u64 = 256 * KILO as u64;
const CHUNK_SIZE: usize = 2 * KILO;
const READ_SERVICE_PERIOD: Duration = Duration::from_millis(1);
const WRITE_BUFFER: usize = 40 * KILO;
const WRITE_SERVICE_PERIOD: Duration = Duration::from_millis(20);
const PROBABILITY_FLUSH_WAIT: f64 = 0.1;

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn random_bool(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

struct SlowHddWriter {
    service_intervals: Interval,
    blocking_rng: SplitMix,
    buffer_size: usize,
    buffer_used: usize,
}

impl SlowHddWriter {
    fn new(service_interval: Duration, buffer_size: usize) -> Self {
        let mut service_intervals = interval(service_interval);
        service_intervals.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { service_intervals, blocking_rng: SplitMix(0), buffer_size, buffer_used: 0 }
    }

    fn service_write(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let res = self.service_intervals.poll_tick(cx).map(|_| Ok(()));
        if res.is_ready() {
            self.buffer_used = 0;
        }
        res
    }

    fn write_bytes(&mut self, cx: &mut Context<'_>, writable: usize) -> Poll<std::io::Result<usize>> {
        let service_res = self.service_write(cx);
        if service_res.is_pending() && self.blocking_rng.random_bool(PROBABILITY_FLUSH_WAIT) {
            return Poll::Pending;
        }
        let available = self.buffer_size - self.buffer_used;
        if available == 0 {
            assert!(service_res.is_pending());
            Poll::Pending
        } else {
            let written = available.min(writable);
            self.buffer_used += written;
            Poll::Ready(Ok(written))
        }
    }
}

impl AsyncWrite for SlowHddWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.get_mut().write_bytes(cx, buf.len())
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().service_write(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().service_write(cx)
    }
}

struct ChunkReader {
    data: Vec<u8>,
    service_intervals: Interval,
}

impl ChunkReader {
    fn new(chunk_size: usize, service_interval: Duration) -> Self {
        let mut service_intervals = interval(service_interval);
        service_intervals.set_missed_tick_behavior(MissedTickBehavior::Burst);
        Self { data: vec![0; chunk_size], service_intervals }
    }
}

impl AsyncRead for ChunkReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.service_intervals.poll_tick(cx).is_pending() {
            return Poll::Pending;
        }
        let n = buf.remaining().min(self.data.len());
        buf.put_slice(&self.data[..n]);
        Poll::Ready(Ok(()))
    }
}

fn rt() -> Runtime {
    Builder::new_current_thread().enable_time().build().unwrap()
}

fn run<F: std::future::Future<Output = ()>>(cfg: &Config, name: &str, task: fn() -> F) {
    let rt = rt();
    measure(cfg, name, |iters| time_iters(iters, || rt.block_on(task())));
}

pub fn mem_to_mem(cfg: &Config, name: &str) {
    run(cfg, name, || async {
        let mut source = repeat(0).take(SOURCE_SIZE);
        let mut dest = Vec::new();
        assert_eq!(copy(&mut source, &mut dest).await.unwrap(), SOURCE_SIZE);
    });
}

pub fn mem_to_slow_hdd(cfg: &Config, name: &str) {
    run(cfg, name, || async {
        let mut source = repeat(0).take(SOURCE_SIZE);
        let mut dest = SlowHddWriter::new(WRITE_SERVICE_PERIOD, WRITE_BUFFER);
        assert_eq!(copy(&mut source, &mut dest).await.unwrap(), SOURCE_SIZE);
    });
}

pub fn chunk_to_mem(cfg: &Config, name: &str) {
    run(cfg, name, || async {
        let mut source = ChunkReader::new(CHUNK_SIZE, READ_SERVICE_PERIOD).take(SOURCE_SIZE);
        let mut dest = Vec::new();
        assert_eq!(copy(&mut source, &mut dest).await.unwrap(), SOURCE_SIZE);
    });
}

pub fn chunk_to_slow_hdd(cfg: &Config, name: &str) {
    run(cfg, name, || async {
        let mut source = ChunkReader::new(CHUNK_SIZE, READ_SERVICE_PERIOD).take(SOURCE_SIZE);
        let mut dest = SlowHddWriter::new(WRITE_SERVICE_PERIOD, WRITE_BUFFER);
        assert_eq!(copy(&mut source, &mut dest).await.unwrap(), SOURCE_SIZE);
    });
}
