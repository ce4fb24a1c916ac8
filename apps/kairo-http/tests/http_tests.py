#!/usr/bin/env python3
"""kairo-http's behaviour, driven by curl, wrk and raw sockets.

    http_tests.py KAIRO_HTTP CASE [ct|mt]

Each case starts its own server on a free port (the server prints it),
with a root directory of its own, and stops it with SIGTERM, checking it
exits 0 (graceful shutdown). "ct" runs the server on the current-thread
runtime, "mt" (the default) on 2 workers. Exit 0: passed, 77: skipped,
anything else: failed (with a message). No timing assertions beyond
generous bounds: the machine is shared and loaded.
"""
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1]
CASE = sys.argv[2]
FLAVOR = sys.argv[3] if len(sys.argv) > 3 else "mt"


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


class Server:
    def __init__(self, root, *args):
        fl = ["--current-thread"] if FLAVOR == "ct" else ["--workers", "2"]
        cmd = [BIN, "0", "--root", root] + fl + list(args)
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        check(m, "no listening line: %r" % line)
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = "http://%s:%d" % (self.host, self.port)

    def conn(self, timeout=10):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        return s

    def stop(self, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("server did not exit after SIGTERM")
        check(rc == 0, "server exited %d" % rc)


def curl(*args, data=None):
    r = subprocess.run(["curl", "-sS", "--max-time", "30"] + list(args),
                       input=data, capture_output=True, timeout=60)
    return r


def recv_all(s, limit=1 << 24):
    d = b""
    while len(d) < limit:
        try:
            x = s.recv(65536)
        except ConnectionResetError:
            break
        if not x:
            break
        d += x
    return d


def read_response(s, buf=b"", head=False):
    """One response from s (Content-Length bodies; none for a HEAD's);
    returns (status, headers dict, body, rest of buffer)."""
    while b"\r\n\r\n" not in buf:
        x = s.recv(65536)
        if not x:
            raise AssertionError("connection closed mid-response: %r" % buf)
        buf += x
    top, buf = buf.split(b"\r\n\r\n", 1)
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, v = ln.split(":", 1)
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    if status in (100, 304) or head:
        n = 0
    while len(buf) < n:
        x = s.recv(65536)
        if not x:
            raise AssertionError("closed mid-body")
        buf += x
    return status, hdrs, buf[:n], buf[n:]


def closed(s, timeout=5):
    """True once the peer closes (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            x = s.recv(65536)
            if not x:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# ---- the cases -------------------------------------------------------------

def t_hello(srv, root):
    r = curl("-i", srv.url + "/")
    out = r.stdout.decode()
    check(out.startswith("HTTP/1.1 200"), out)
    check(out.endswith("\r\n\r\nHello, World!\n"), out)
    check("Content-Type: text/plain" in out, out)
    r = curl("-i", "-X", "DELETE", srv.url + "/")
    check(r.stdout.startswith(b"HTTP/1.1 405"), r.stdout)


def t_keep_alive(srv, root):
    r = curl("-v", srv.url + "/", srv.url + "/index.html", srv.url + "/")
    err = r.stderr.decode()
    check(r.stdout == b"Hello, World!\n<h1>hi</h1>\nHello, World!\n",
          r.stdout)
    check(err.count("Re-using existing connection") == 2, err)
    check(err.count("Connected to") == 1, err)


def t_pipelining(srv, root):
    s = srv.conn()
    reqs = []
    for i in range(20):
        reqs.append(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d"
                    b"\r\n\r\nreq%d" % (len(b"req%d" % i), i))
        reqs.append(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        reqs.append(b"HEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    blob = b"".join(reqs) + b"GET /index.html HTTP/1.1\r\nHost: a\r\n" \
        b"Connection: close\r\n\r\n"
    # in odd pieces, so requests straddle reads
    for i in range(0, len(blob), 37):
        s.sendall(blob[i:i + 37])
    buf = b""
    for i in range(20):
        st, h, body, buf = read_response(s, buf)
        check(st == 200 and body == b"req%d" % i, (i, st, h, body, buf[:200]))
        st, h, body, buf = read_response(s, buf)
        check(st == 200 and body == b"Hello, World!\n", (st, body))
        # HEAD: the length of the GET, no body
        st, h, body, buf = read_response(s, buf, head=True)
        check(st == 200 and h["content-length"] == "12", h)
        check(not buf.startswith(b"<h1>"), "HEAD sent a body")
    st, h, body, buf = read_response(s, buf)
    check(st == 200 and body == b"<h1>hi</h1>\n" and
          h.get("connection") == "close", (st, h, body))
    check(closed(s), "not closed after Connection: close")


def t_post_length(srv, root):
    data = os.urandom(300000)
    r = curl("--data-binary", "@-", "-H", "Content-Type: x/y",
             srv.url + "/echo", data=data)
    check(r.stdout == data, "echo differs (%d bytes)" % len(r.stdout))
    # HTTP/1.0, no keep-alive: closes after the answer
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    d = recv_all(s)
    check(d.startswith(b"HTTP/1.1 200") and d.endswith(b"Hello, World!\n"),
          d)


def t_chunked_upload(srv, root):
    data = os.urandom(200000)
    r = curl("-T", "-", "-H", "Transfer-Encoding: chunked",
             srv.url + "/echo", data=data)
    check(r.stdout == data, "chunked echo differs (%d bytes)" %
          len(r.stdout))
    # by hand: chunk extensions and trailers
    s = srv.conn()
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
              b"chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\n"
              b"X-Trailer: t\r\n\r\n")
    st, h, body, _ = read_response(s)
    check(st == 200 and body == b"hello world", (st, body))


def t_expect_continue(srv, root):
    data = os.urandom(100000)
    r = curl("-v", "-H", "Expect: 100-continue", "--data-binary", "@-",
             srv.url + "/echo", data=data)
    err = r.stderr.decode()
    check("HTTP/1.1 100 Continue" in err, err)
    check(r.stdout == data, "echo after 100-continue differs")
    s = srv.conn()
    s.sendall(b"PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
              b"Content-Length: 5\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 100, st)
    s.sendall(b"hello")
    st, h, body, buf = read_response(s, buf)
    check(st == 200 and body == b"hello", (st, body))
    # an Expect the server does not know: 417, closed
    s = srv.conn()
    s.sendall(b"PUT /echo HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n"
              b"Content-Length: 5\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 417, st)
    check(closed(s), "not closed after 417")


def t_head(srv, root):
    r = curl("-sI", srv.url + "/")
    out = r.stdout.decode()
    check(out.startswith("HTTP/1.1 200") and "Content-Length: 14" in out,
          out)
    s = srv.conn()
    s.sendall(b"HEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n"
              b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    buf = b""
    while buf.count(b"\r\n\r\n") < 2 or not buf.endswith(b"World!\n"):
        x = s.recv(65536)
        check(x, "closed")
        buf += x
    first, second = buf.split(b"\r\n\r\n", 1)
    check(b"Content-Length: 200000" in first, first)
    check(second.startswith(b"HTTP/1.1 200"), "HEAD sent a body")


MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nbad header line\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6"
    b"\r\n\r\nhello!",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\nhello\r\n0\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
    b"GET /\x00x HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(64),  # TLS
]


def t_malformed(srv, root):
    for req in MALFORMED:
        s = srv.conn()
        s.sendall(req)
        st, h, body, buf = read_response(s)
        check(st == 400, (req, st))
        check(h.get("connection") == "close", h)
        check(closed(s), "not closed after 400: %r" % req)
    s = srv.conn()
    s.sendall(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 505, st)
    # a good request before the bad one is answered, the bad one gets 400
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBAD\x01\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 200, st)
    st, h, body, buf = read_response(s, buf)
    check(st == 400, st)
    # and the server still serves
    check(curl(srv.url + "/").stdout == b"Hello, World!\n", "dead")


def t_header_limit(srv, root):
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 3000 +
              b"\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 431, st)
    check(closed(s), "not closed after 431")
    # many small headers count too
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X-a: b\r\n" * 400 +
              b"\r\n")
    st, h, body, buf = read_response(s)
    check(st == 431, st)
    # just under the limit is fine
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nX-Ok: " + b"a" * 1500 +
              b"\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 200, st)
    # a URL over 4 KiB (with a larger header limit it would be 414)
    s = srv.conn()
    s.sendall(b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st in (414, 431), st)


def t_body_limit(srv, root):
    # Content-Length over the limit: 413 at the headers
    s = srv.conn()
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n"
              b"\r\n" + b"x" * 5000)
    st, h, body, buf = read_response(s)
    check(st == 413, st)
    check(closed(s), "not closed after 413")
    # with Expect: 100-continue, 413 instead of 100
    s = srv.conn()
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
              b"Content-Length: 100000\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 413, st)
    # chunked, growing past the limit
    s = srv.conn()
    s.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
              b"chunked\r\n\r\n")
    try:
        for i in range(40):
            s.sendall(b"400\r\n" + b"y" * 1024 + b"\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    st, h, body, buf = read_response(s)
    check(st == 413, st)
    # at the limit: fine
    data = b"z" * 16384
    r = curl("--data-binary", "@-", srv.url + "/echo", data=data)
    check(r.stdout == data, "16 KiB echo")
    r = curl("-T", "-", "-H", "Transfer-Encoding: chunked", srv.url +
             "/echo", data=b"z" * 20000)
    check(b"413" in r.stdout, r.stdout)


def t_header_timeout(srv, root):
    s = srv.conn()
    t0 = time.monotonic()
    s.sendall(b"GET / HTTP/1.1\r\n")
    try:
        for i in range(100):
            time.sleep(0.1)
            s.sendall(b"X: y\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    dt = time.monotonic() - t0
    st, h, body, buf = read_response(s)
    check(st == 408, st)
    check(closed(s), "not closed after 408")
    check(dt < 9, "trickle not cut off (%.1f s)" % dt)
    # an idle keep-alive connection is closed after the idle timeout
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(closed(s, 20), "idle connection not closed")


def t_slowloris(srv, root):
    slow = []
    for i in range(50):
        s = srv.conn()
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        slow.append(s)
    t0 = time.monotonic()
    # meanwhile, other clients are served, more than once
    for i in range(5):
        r = curl(srv.url + "/", srv.url + "/index.html")
        check(r.stdout == b"Hello, World!\n<h1>hi</h1>\n", r.stdout)
    served = time.monotonic() - t0
    # the slow ones were still open while the others were served...
    alive = 0
    for s in slow:
        try:
            s.sendall(b"X: y\r\n")
            alive += 1
        except OSError:
            pass
    check(served > 3 or alive == len(slow),
          "slow clients cut before the header timeout")
    # ...and are cut off at the header timeout
    for s in slow:
        try:
            while True:
                s.sendall(b"X: y\r\n")
                time.sleep(0.2)
        except OSError:
            pass
        check(closed(s, 30), "slow client kept")
    check(time.monotonic() - t0 < 30, "slow clients kept too long")


def t_max_conns(srv, root):
    held = [srv.conn() for _ in range(4)]
    for s in held:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, body, buf = read_response(s)
        check(st == 200, st)
    s = srv.conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st == 503, st)
    held.pop().close()
    deadline = time.monotonic() + 20
    while True:
        s = srv.conn()
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        st, h, body, buf = read_response(s)
        if st == 200:
            break
        check(time.monotonic() < deadline, "slot not freed")
        time.sleep(0.1)


def t_static_file(srv, root):
    big = open(os.path.join(root, "big.bin"), "rb").read()
    r = curl("-i", srv.url + "/big.bin")
    head, body = r.stdout.split(b"\r\n\r\n", 1)
    check(body == big, "big.bin differs")
    check(b"Content-Type: application/octet-stream" in head, head)
    check(b"Last-Modified: " in head and b"ETag: \"" in head, head)
    for name, ctype in (("index.html", "text/html"), ("sub/a.txt",
                                                      "text/plain"),
                        ("style.css", "text/css"), ("x.json",
                                                    "application/json")):
        r = curl("-i", srv.url + "/" + name)
        out = r.stdout.decode()
        check(out.startswith("HTTP/1.1 200") and
              "Content-Type: " + ctype in out, out)
    r = curl("-o", "/dev/null", "-w", "%{http_code}", srv.url + "/nope")
    check(r.stdout == b"404", r.stdout)
    r = curl("-o", "/dev/null", "-w", "%{http_code}", srv.url + "/sub")
    check(r.stdout in (b"403", b"404"), r.stdout)
    # a file with an escaped name
    r = curl(srv.url + "/sub/with%20space.txt")
    check(r.stdout == b"spaced\n", r.stdout)


def etag_of(srv, path):
    r = curl("-sI", srv.url + path)
    m = re.search(rb"ETag: (\S+)", r.stdout)
    check(m, r.stdout)
    return m.group(1).decode()


def t_etag_304(srv, root):
    et = etag_of(srv, "/index.html")
    for inm in (et, "W/" + et, '"nope", ' + et, "*"):
        r = curl("-i", "-H", "If-None-Match: " + inm, srv.url + "/index.html")
        check(r.stdout.startswith(b"HTTP/1.1 304"), (inm, r.stdout))
        check(r.stdout.endswith(b"\r\n\r\n"), "304 with a body")
        check(("ETag: " + et).encode() in r.stdout, r.stdout)
    r = curl("-i", "-H", 'If-None-Match: "other"', srv.url + "/index.html")
    check(r.stdout.startswith(b"HTTP/1.1 200"), r.stdout)
    # the file changes: the ETag does too
    time.sleep(0.01)
    with open(os.path.join(root, "index.html"), "a") as f:
        f.write("more\n")
    r = curl("-i", "-H", "If-None-Match: " + et, srv.url + "/index.html")
    check(r.stdout.startswith(b"HTTP/1.1 200"), r.stdout)


def t_range(srv, root):
    big = open(os.path.join(root, "big.bin"), "rb").read()
    n = len(big)
    for spec, (a, b) in (("10-19", (10, 19)), ("-5", (n - 5, n - 1)),
                         ("199990-", (199990, n - 1)),
                         ("0-999999", (0, n - 1))):
        r = curl("-i", "-r", spec, srv.url + "/big.bin")
        head, body = r.stdout.split(b"\r\n\r\n", 1)
        check(head.startswith(b"HTTP/1.1 206"), (spec, head))
        check(("Content-Range: bytes %d-%d/%d" % (a, b, n)).encode() in head,
              head)
        check(body == big[a:b + 1], "range %s body" % spec)
    r = curl("-i", "-r", "300000-", srv.url + "/big.bin")
    check(r.stdout.startswith(b"HTTP/1.1 416"), r.stdout)
    check(("Content-Range: bytes */%d" % n).encode() in r.stdout, r.stdout)
    # several ranges, or nonsense: the whole file, 200
    for spec in ("0-1,5-6", "lines=1-2", "bytes=5-1"):
        r = curl("-i", "-H", "Range: " + spec, srv.url + "/big.bin")
        check(r.stdout.startswith(b"HTTP/1.1 200"), (spec, r.stdout[:40]))


def t_traversal(srv, root):
    secret = open("/etc/hostname", "rb").read() if os.path.exists(
        "/etc/hostname") else None
    for path in ("/../etc/passwd", "/../../../../etc/passwd",
                 "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E/etc/passwd",
                 "/sub/..%2f..%2f..%2fetc/passwd", "/sub/%2e%2e/%2e%2e/",
                 "/..%5c..%5cetc/passwd", "/sub/../../etc/passwd",
                 "/%252e%252e/etc/passwd", "/.%2e/etc/passwd",
                 "/%00/etc/passwd", "//etc/passwd"):
        r = curl("--path-as-is", "-i", srv.url + path)
        out = r.stdout
        code = int(out.split()[1]) if out else 0
        check(code in (400, 403, 404), (path, out[:60]))
        check(b"root:" not in out, (path, "served /etc/passwd"))
        if secret:
            check(not out.endswith(b"\r\n\r\n" + secret), path)
    # raw, so no client normalises it
    s = srv.conn()
    s.sendall(b"GET /../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n")
    st, h, body, buf = read_response(s)
    check(st in (403, 404), st)


def t_symlink_out(srv, root):
    for name in ("out_file", "out_dir/passwd"):
        r = curl("-i", srv.url + "/" + name)
        out = r.stdout
        check(out.startswith(b"HTTP/1.1 403") or
              out.startswith(b"HTTP/1.1 404"), (name, out[:50]))
        check(b"root:" not in out, name)
    # a symlink that stays inside the root is served
    r = curl(srv.url + "/inside")
    check(r.stdout.startswith(b"<h1>hi</h1>"), r.stdout)


def t_shutdown(srv, root):
    idle = srv.conn()
    idle.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    st, h, body, buf = read_response(idle)
    check(st == 200, st)
    busy = srv.conn()
    busy.sendall(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                 b"\r\nhe")
    time.sleep(0.3)
    srv.p.send_signal(signal.SIGTERM)
    check(closed(idle, 10), "idle connection not closed at shutdown")
    time.sleep(0.2)
    busy.sendall(b"llo")
    st, h, body, buf = read_response(busy)
    check(st == 200 and body == b"hello", (st, body))
    check(h.get("connection") == "close", h)
    check(closed(busy), "busy connection not closed after its answer")
    srv.stop()
    # a new connection is refused now
    try:
        srv.conn(timeout=2).sendall(b"GET / HTTP/1.1\r\n\r\n")
        refused = False
    except OSError:
        refused = True
    check(refused, "still accepting after shutdown")


def t_wrk_1000(srv, root):
    if not shutil.which("wrk"):
        raise Skip("wrk not installed")
    out = subprocess.run(["wrk", "-t1", "-c1000", "-d3s", "--timeout", "10s",
                          srv.url + "/"], capture_output=True, text=True,
                         timeout=120).stdout
    print(out)
    m = re.search(r"(\d+) requests in", out)
    check(m and int(m.group(1)) > 1000, out)
    check("Socket errors" not in out, "socket errors: " + out)
    check("Non-2xx" not in out, out)


# ---- setup -----------------------------------------------------------------

CASES = {
    "hello": (t_hello, []),
    "keep_alive": (t_keep_alive, []),
    "pipelining": (t_pipelining, []),
    "post_length": (t_post_length, []),
    "chunked_upload": (t_chunked_upload, []),
    "expect_continue": (t_expect_continue, []),
    "head": (t_head, []),
    "malformed": (t_malformed, []),
    "header_limit": (t_header_limit, ["--max-header", "2048"]),
    "body_limit": (t_body_limit, ["--max-body", "16384"]),
    "header_timeout": (t_header_timeout, ["--header-timeout", "1000",
                                          "--idle-timeout", "2000"]),
    "slowloris": (t_slowloris, ["--header-timeout", "3000"]),
    "max_conns": (t_max_conns, ["--max-conns", "4"]),
    "static_file": (t_static_file, []),
    "etag_304": (t_etag_304, []),
    "range": (t_range, []),
    "traversal": (t_traversal, []),
    "symlink_out": (t_symlink_out, []),
    "shutdown": (t_shutdown, []),
    "wrk_1000": (t_wrk_1000, []),
}


def make_root(d):
    def w(name, data):
        p = os.path.join(d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    w("index.html", b"<h1>hi</h1>\n")
    w("big.bin", os.urandom(200000))
    w("sub/a.txt", b"a\n")
    w("sub/with space.txt", b"spaced\n")
    w("style.css", b"p{}\n")
    w("x.json", b"{}\n")
    os.symlink("/etc/passwd", os.path.join(d, "out_file"))
    os.symlink("/etc", os.path.join(d, "out_dir"))
    os.symlink("index.html", os.path.join(d, "inside"))


def main():
    if CASE not in CASES:
        print("unknown case", CASE)
        return 2
    if not shutil.which("curl"):
        print("skipped: curl not installed")
        return 77
    fn, args = CASES[CASE]
    if CASE == "wrk_1000":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 2200:
            print("skipped: RLIMIT_NOFILE hard limit %d < 2200" % hard)
            return 77
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    d = tempfile.mkdtemp(prefix="kairo-http-")
    try:
        make_root(os.path.join(d, "root"))
        srv = Server(os.path.join(d, "root"), *args)
        try:
            fn(srv, os.path.join(d, "root"))
            srv.stop()
        finally:
            if srv.p.poll() is None:
                srv.p.kill()
                srv.p.wait()
    except Skip as e:
        print("skipped:", e)
        return 77
    except AssertionError as e:
        print("FAILED:", CASE, FLAVOR, e)
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("ok", CASE, FLAVOR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
