//! tokio-echo: a Tokio TCP echo server, the Tokio column of bench/echo/run.sh.
//!
//!     tokio-echo PORT [--workers N | --current-thread]
//!
//! Listens on 127.0.0.1:PORT. The accept loop runs in block_on and spawns one task per
//! connection; the task reads into its own 16 KiB buffer and write_all()s what it read,
//! until EOF. Accepted sockets get TCP_NODELAY, like every server run.sh drives. Runtime:
//! multi_thread with N workers (default: Tokio's, one per CPU), or current_thread;
//! either with enable_all(). Runs until killed.

#[path = "server_cli.rs"]
mod server_cli;
use server_cli::ServerCli;

use std::process;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BUF_SIZE: usize = 16 * 1024;

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
    let cli = ServerCli::parse("tokio-echo");
    let port = cli.port;
    let rt = cli.runtime();
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| {
            eprintln!("tokio-echo: bind 127.0.0.1:{}: {}", port, e);
            process::exit(1);
        });
        eprintln!("tokio-echo: listening on 127.0.0.1:{} ({})", port, cli.flavor());
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
