//! hyper-http: a hyper 0.14 HTTP/1.1 "hello" server, the hyper column of
//! bench/http/bench.py (tokio-http is the hand-rolled one).
//!
//!     hyper-http PORT [--workers N | --current-thread]
//!
//! hyper's Server on 127.0.0.1:PORT, HTTP/1 only (keep-alive on, TCP_NODELAY as
//! kairo-http's), one service_fn: GET / (and HEAD /) answers 200 with
//! "Hello, World!\n", Content-Type: text/plain; charset=utf-8 and Server: hyper-http
//! (the same length as kairo-http's); hyper adds Date and Content-Length itself, so
//! the answer is kairo-http's hello route with hyper's header order and lower-case
//! names. Other paths get 404, other methods 405. Runtime: multi_thread with N
//! workers (default: Tokio's, one per CPU), or current_thread; either with
//! enable_all(); hyper spawns each connection with tokio::spawn on it. Runs until
//! killed.

#[path = "../../src/server_cli.rs"]
mod server_cli;
use server_cli::ServerCli;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process;

use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, SERVER};
use hyper::service::{make_service_fn, service_fn};
use hyper::{Body, Method, Request, Response, Server, StatusCode};

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(SERVER, HeaderValue::from_static("hyper-http"));
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

async fn hello(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    Ok(if !get {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
        r.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    } else if req.uri().path() != "/" {
        text(StatusCode::NOT_FOUND, "404 Not Found\n")
    } else {
        text(StatusCode::OK, "Hello, World!\n")
    })
}

fn main() {
    let cli = ServerCli::parse("hyper-http");
    let port = cli.port;
    let rt = cli.runtime();
    rt.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let builder = Server::try_bind(&addr).unwrap_or_else(|e| {
            eprintln!("hyper-http: bind {}: {}", addr, e);
            process::exit(1);
        });
        let make = make_service_fn(|_conn| async { Ok::<_, Infallible>(service_fn(hello)) });
        let server = builder.http1_only(true).http1_keepalive(true).tcp_nodelay(true).serve(make);
        eprintln!("hyper-http: listening on {} ({})", addr, cli.flavor());
        if let Err(e) = server.await {
            eprintln!("hyper-http: {}", e);
            process::exit(1);
        }
    });
}
