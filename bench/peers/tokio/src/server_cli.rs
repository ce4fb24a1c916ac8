//! The command line shared by the peer servers (tokio-echo, tokio-http and hyper-http):
//!
//!     NAME PORT [--workers N | --current-thread]
//!
//! Each includes this file as a module (`#[path = ...] mod server_cli;`), so the three
//! parse the same way and build the same runtime: multi_thread with N workers (default:
//! Tokio's, one per CPU) or current_thread, either with enable_all(). A bad command line
//! prints the usage and exits with 2.

use std::env;
use std::process;

use tokio::runtime::{Builder, Runtime};

pub struct ServerCli {
    pub port: u16,
    pub workers: Option<usize>,
    pub current_thread: bool,
}

fn usage(name: &str, msg: &str) -> ! {
    eprintln!("{}: {}\nusage: {} PORT [--workers N | --current-thread]", name, msg, name);
    process::exit(2);
}

impl ServerCli {
    pub fn parse(name: &'static str) -> ServerCli {
        let mut port: Option<u16> = None;
        let mut workers: Option<usize> = None;
        let mut current_thread = false;
        let mut args = env::args().skip(1);
        while let Some(arg) = args.next() {
            if arg == "--workers" {
                workers = match args.next().and_then(|v| v.parse().ok()) {
                    Some(n) if n > 0 => Some(n),
                    _ => usage(name, "--workers needs a positive integer"),
                };
            } else if arg == "--current-thread" {
                current_thread = true;
            } else if arg.starts_with("--") {
                usage(name, &format!("unknown option {}", arg));
            } else if port.is_none() {
                port = Some(arg.parse().unwrap_or_else(|_| usage(name, "bad port")));
            } else {
                usage(name, "too many arguments");
            }
        }
        let port = port.unwrap_or_else(|| usage(name, "missing PORT"));
        if current_thread && workers.is_some() {
            usage(name, "--workers and --current-thread exclude each other");
        }
        ServerCli { port, workers, current_thread }
    }

    pub fn runtime(&self) -> Runtime {
        if self.current_thread {
            Builder::new_current_thread().enable_all().build()
        } else {
            let mut b = Builder::new_multi_thread();
            if let Some(n) = self.workers {
                b.worker_threads(n);
            }
            b.enable_all().build()
        }
        .expect("runtime")
    }

    /// "current_thread" or "multi_thread, N workers", for the listening line.
    pub fn flavor(&self) -> String {
        if self.current_thread {
            "current_thread".to_string()
        } else {
            let n = self.workers.map_or("default".to_string(), |n| n.to_string());
            format!("multi_thread, {} workers", n)
        }
    }
}
