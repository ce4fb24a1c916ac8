//! tokio-http: a hand-rolled HTTP/1.1 "hello" server on Tokio's TcpListener, a Tokio
//! column of bench/http/bench.py (hyper-http is the other: a real HTTP stack).
//!
//!     tokio-http PORT [--workers N | --current-thread]
//!
//! Listens on 127.0.0.1:PORT. The accept loop runs in block_on and spawns one task per
//! connection (TCP_NODELAY, as kairo-http's). The task reads into its own buffer and,
//! after each read, answers every complete request in it, in order (pipelining), with
//! one write_all of all the answers. GET / (and HEAD /) gets the bytes of kairo-http's
//! hello route, "tokio-http" in its Server header (the same length): 200, Server, Date,
//! Content-Type: text/plain; charset=utf-8, Content-Length: 14, "Hello, World!\n".
//! Other paths get 404, other methods 405. A request is its head up to the blank line
//! plus a Content-Length body, which is skipped; HTTP/1.0 without keep-alive or
//! "Connection: close" closes after the answer; a head over 16 KiB, a chunked body or
//! an unreadable request line gets 400/501 and the connection closes. The response is
//! formatted once a second per thread (the Date), as epoll-http does. Runtime:
//! multi_thread with N workers (default: Tokio's, one per CPU), or current_thread;
//! either with enable_all(). Runs until killed.

#[path = "server_cli.rs"]
mod server_cli;
use server_cli::ServerCli;

use std::cell::RefCell;
use std::process;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 16 * 1024;
const READ_SIZE: usize = 16 * 1024;

/// IMF-fixdate (RFC 9110 §5.6.7) of a Unix time, as kairo-http's Date header.
fn http_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs / 86400;
    let rem = secs % 86400;
    // civil_from_days (Howard Hinnant's algorithm), days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The three answers, for the current second.
struct Responses {
    sec: u64,
    ok: Vec<u8>,
    ok_head: usize,
    not_found: Vec<u8>,
    not_found_head: usize,
    not_allowed: Vec<u8>,
}

fn format_resp(status: &str, date: &str, extra: &str, body: &str) -> (Vec<u8>, usize) {
    let head = format!(
        "HTTP/1.1 {}\r\nServer: tokio-http\r\nDate: {}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{}\r\n",
        status,
        date,
        body.len(),
        extra
    );
    let n = head.len();
    let mut v = head.into_bytes();
    v.extend_from_slice(body.as_bytes());
    (v, n)
}

impl Responses {
    fn for_second(sec: u64) -> Responses {
        let date = http_date(sec);
        let (ok, ok_head) = format_resp("200 OK", &date, "", "Hello, World!\n");
        let (not_found, not_found_head) = format_resp("404 Not Found", &date, "", "404 Not Found\n");
        let (not_allowed, _) = format_resp(
            "405 Method Not Allowed",
            &date,
            "Allow: GET, HEAD\r\n",
            "405 Method Not Allowed\n",
        );
        Responses { sec, ok, ok_head, not_found, not_found_head, not_allowed }
    }
}

thread_local! {
    static RESPONSES: RefCell<Responses> = RefCell::new(Responses::for_second(0));
}

fn fatal(out: &mut Vec<u8>, status: &str) {
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {}\r\nServer: tokio-http\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{}\n",
            status,
            status.len() + 1,
            status
        )
        .as_bytes(),
    );
}

fn find_blank(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n")
}

fn trim(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

fn has_token(v: &[u8], tok: &[u8]) -> bool {
    v.split(|&c| c == b',').any(|t| trim(t).eq_ignore_ascii_case(tok))
}

/// What answering one request head leaves for the connection.
enum Next {
    /// Keep the connection; skip this many body bytes first.
    Keep(u64),
    Close,
}

/// Appends the answer to the request head `h` (ending in the blank line).
fn answer(h: &[u8], out: &mut Vec<u8>, r: &Responses) -> Next {
    let mut lines = h[..h.len() - 4].split(|&c| c == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let line = lines.next().unwrap_or(b"");
    let mut parts = line.splitn(3, |&c| c == b' ');
    let (method, target, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) if v == b"HTTP/1.1" || v == b"HTTP/1.0" => (m, t, v),
        _ => {
            fatal(out, "400 Bad Request");
            return Next::Close;
        }
    };
    let mut keep_alive = version == b"HTTP/1.1";
    let mut length = 0u64;
    for l in lines {
        let colon = match l.iter().position(|&c| c == b':') {
            Some(i) => i,
            None => continue,
        };
        let (name, value) = (&l[..colon], trim(&l[colon + 1..]));
        if name.eq_ignore_ascii_case(b"connection") {
            if has_token(value, b"close") {
                keep_alive = false;
            } else if has_token(value, b"keep-alive") {
                keep_alive = true;
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            match std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()) {
                Some(n) => length = n,
                None => {
                    fatal(out, "400 Bad Request");
                    return Next::Close;
                }
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            fatal(out, "501 Not Implemented");
            return Next::Close;
        }
    }
    let head = method == b"HEAD";
    if method != b"GET" && !head {
        out.extend_from_slice(&r.not_allowed);
    } else if target != b"/" {
        out.extend_from_slice(if head { &r.not_found[..r.not_found_head] } else { &r.not_found });
    } else {
        out.extend_from_slice(if head { &r.ok[..r.ok_head] } else { &r.ok });
    }
    if keep_alive {
        Next::Keep(length)
    } else {
        Next::Close
    }
}

async fn serve(mut sock: TcpStream) {
    let _ = sock.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut skip = 0u64; // body bytes still to discard
    loop {
        if buf.len() + READ_SIZE > buf.capacity() {
            buf.reserve(READ_SIZE);
        }
        match sock.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut close = false;
        let mut off = 0;
        RESPONSES.with(|cell| {
            let mut r = cell.borrow_mut();
            if r.sec != now {
                *r = Responses::for_second(now);
            }
            loop {
                if skip > 0 {
                    let k = skip.min((buf.len() - off) as u64);
                    off += k as usize;
                    skip -= k;
                    if skip > 0 {
                        break;
                    }
                }
                match find_blank(&buf[off..]) {
                    Some(i) => {
                        let end = off + i + 4;
                        match answer(&buf[off..end], &mut out, &r) {
                            Next::Keep(len) => skip = len,
                            Next::Close => {
                                close = true;
                                break;
                            }
                        }
                        off = end;
                    }
                    None => {
                        if buf.len() - off > MAX_HEAD {
                            fatal(&mut out, "400 Bad Request");
                            close = true;
                        }
                        break;
                    }
                }
            }
        });
        buf.drain(..off);
        if !out.is_empty() {
            if sock.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if close {
            return;
        }
    }
}

fn main() {
    let cli = ServerCli::parse("tokio-http");
    let port = cli.port;
    let rt = cli.runtime();
    rt.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| {
            eprintln!("tokio-http: bind 127.0.0.1:{}: {}", port, e);
            process::exit(1);
        });
        eprintln!("tokio-http: listening on 127.0.0.1:{} ({})", port, cli.flavor());
        loop {
            match listener.accept().await {
                Ok((sock, _)) => {
                    tokio::spawn(serve(sock));
                }
                Err(e) => eprintln!("tokio-http: accept: {}", e),
            }
        }
    });
}
