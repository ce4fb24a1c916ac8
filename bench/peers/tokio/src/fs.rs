//! fs/...: Tokio's benches/fs.rs (reference/tokio.md §7.14), as kairo's bench/bench-fs.c
//! runs it: a multi-thread runtime of 2 workers without drivers (fixed, as fs.rs's rt()),
//! /dev/zero, BLOCK_COUNT reads of BUFFER_SIZE per iteration, the task run by block_on.
//!
//! async_read_codec uses FramedRead::with_capacity(file, BytesCodec, 4096) in Tokio; this
//! peer builds offline against Debian's crates, which have no tokio-util, so it does what
//! that FramedRead does with BytesCodec by hand: a BytesMut of capacity 4096, `read_buf`
//! into it (reserving 1 byte first when full, which reclaims the buffer once the previous
//! frame is dropped), and each frame is `split_to(len)` of everything read.

use std::fs::File as StdFile;
use std::io::Read as StdRead;

use bytes::BytesMut;
use tokio::fs::File;
use tokio::io::AsyncReadExt;
use tokio::runtime::{Builder, Runtime};

use crate::{measure, time_iters, Config};

const BLOCK_COUNT: usize = 1_000;
const BUFFER_SIZE: usize = 4096;
const DEV_ZERO: &str = "/dev/zero";

fn rt() -> Runtime {
    Builder::new_multi_thread().worker_threads(2).build().unwrap()
}

pub fn async_read_codec(cfg: &Config, name: &str) {
    let rt = rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                let mut file = File::open(DEV_ZERO).await.unwrap();
                let mut buffer = BytesMut::with_capacity(BUFFER_SIZE);
                for _i in 0..BLOCK_COUNT {
                    if buffer.capacity() == buffer.len() {
                        buffer.reserve(1);
                    }
                    let n = file.read_buf(&mut buffer).await.unwrap();
                    assert!(n > 0);
                    let _bytes = buffer.split_to(buffer.len());
                }
            });
        })
    });
}

pub fn async_read_buf(cfg: &Config, name: &str) {
    let rt = rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                let mut file = File::open(DEV_ZERO).await.unwrap();
                let mut buffer = [0u8; BUFFER_SIZE];
                for _i in 0..BLOCK_COUNT {
                    let count = file.read(&mut buffer).await.unwrap();
                    if count == 0 {
                        break;
                    }
                }
            });
        })
    });
}

pub fn async_read_std_file(cfg: &Config, name: &str) {
    let rt = rt();
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            rt.block_on(async {
                let mut file =
                    tokio::task::block_in_place(|| Box::pin(StdFile::open(DEV_ZERO).unwrap()));
                for _i in 0..BLOCK_COUNT {
                    let mut buffer = [0u8; BUFFER_SIZE];
                    let mut file_ref = file.as_mut();
                    tokio::task::block_in_place(move || {
                        file_ref.read_exact(&mut buffer).unwrap();
                    });
                }
            });
        })
    });
}

pub fn sync_read(cfg: &Config, name: &str) {
    measure(cfg, name, |iters| {
        time_iters(iters, || {
            let mut file = StdFile::open(DEV_ZERO).unwrap();
            let mut buffer = [0u8; BUFFER_SIZE];
            for _i in 0..BLOCK_COUNT {
                file.read_exact(&mut buffer).unwrap();
            }
        })
    });
}
