//! tokio-echo: a Tokio TCP echo server, the Tokio column of bench/echo/run.sh.
//!
//!     tokio-echo PORT [--workers N | --current-thread]
//!
//! Listens on 127.0.0.1:PORT. The accept loop runs in block_on and spawns one task per
//! connection; the task reads into its own 16 KiB buffer and write_all()s what it read,
//! until EOF. Accepted sockets get TCP_NODELAY, like every server run.sh drives. Runtime:
//! multi_thread with N workers (default: Tokio's, one per CPU), or current_thread;
//! either with enable_all(). Runs until killed.

use std::env;
use std::process;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Builder;

const BUF_SIZE: usize = 16 * 1024;

fn usage(msg: &str) -> ! {
    eprintln!("tokio-echo: {}\nusage: tokio-echo PORT [--workers N | --current-thread]", msg);
    process::exit(2);
}

async fn serve(mut sock: TcpStream) {
    let _ = sock.set_nodelay(true);
    let mut buf = vec![0u8; BUF_SIZE];
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if sock.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn main() {
    let mut port: Option<u16> = None;
    let mut workers: Option<usize> = None;
    let mut current_thread = false;
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--workers" {
            workers = match args.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => Some(n),
                _ => usage("--workers needs a positive integer"),
            };
        } else if arg == "--current-thread" {
            current_thread = true;
        } else if arg.starts_with("--") {
            usage(&format!("unknown option {}", arg));
        } else if port.is_none() {
            port = Some(arg.parse().unwrap_or_else(|_| usage("bad port")));
        } else {
            usage("too many arguments");
        }
    }
    let port = port.unwrap_or_else(|| usage("missing PORT"));
    if current_thread && workers.is_some() {
        usage("--workers and --current-thread exclude each other");
    }
    let rt = if current_thread {
        Builder::new_current_thread().enable_all().build()
    } else {
        let mut b = Builder::new_multi_thread();
        if let Some(n) = workers {
            b.worker_threads(n);
        }
        b.enable_all().build()
    }
    .expect("runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| {
            eprintln!("tokio-echo: bind 127.0.0.1:{}: {}", port, e);
            process::exit(1);
        });
        eprintln!(
            "tokio-echo: listening on 127.0.0.1:{} ({})",
            port,
            if current_thread { "current_thread".to_string() } else {
                format!("multi_thread, {} workers", workers.map_or("default".to_string(), |n| n.to_string()))
            }
        );
        loop {
            match listener.accept().await {
                Ok((sock, _)) => {
                    tokio::spawn(serve(sock));
                }
                Err(e) => eprintln!("tokio-echo: accept: {}", e),
            }
        }
    });
}
