#!/usr/bin/python3
"""ctest bench/peers/<case>: the hand-written limits of the echo and HTTP
benchmarks do what the runtimes they are measured against do, so that a
figure of theirs is a figure of the same work.

    peers_test.py echo BINARY        (epoll-echo, uring-echo)
    peers_test.py http BINARY REF    (uring-http against epoll-http)

echo: every byte of messages of 1 B to 1 MiB comes back, in order, on 8
connections at once, and a client that sends without reading does not make
the server buffer without bound (the server stops reading it).
http: GET /, HEAD /, a 404, a 405, pipelined requests, a Content-Length body
skipped, HTTP/1.0 and Connection: close closing, a too long head getting 400:
each answered byte for byte as REF answers it, but for the Date and the
Server header's name. Exits 77 (ctest: skipped) where an io_uring peer
finds no io_uring (uring_loop.h's exit status 3)."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lib  # noqa: E402  (bench/lib.py)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def serve(binary):
    port = lib.free_port()
    proc = lib.start([binary, str(port)], quiet_stderr=True)
    if not lib.wait_ready(proc, lambda: lib.port_open(port)):
        if proc.poll() == 3:  # uring_loop.h's URING_LOOP_UNAVAILABLE
            print("skip: %s: no io_uring here" % binary)
            sys.exit(77)
        fail("%s did not listen on %d" % (binary, port))
    return proc, port


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exactly(s, n):
    out = bytearray()
    while len(out) < n:
        b = s.recv(min(1 << 20, n - len(out)))
        if not b:
            fail("connection ended after %d of %d bytes" % (len(out), n))
        out += b
    return bytes(out)


def echo_case(binary):
    proc, port = serve(binary)
    try:
        conns = [connect(port) for _ in range(8)]
        for size in (1, 64, 4096, 65537, 1 << 20):
            for i, s in enumerate(conns):
                msg = bytes((i * 7 + j) & 0xFF for j in range(size))
                # send and receive interleaved: 1 MiB does not fit in the
                # socket buffers of both directions at once
                s.setblocking(False)
                sent, got = 0, bytearray()
                deadline = time.time() + 20
                while len(got) < size:
                    if time.time() > deadline:
                        fail("size %d: %d of %d bytes back" %
                             (size, len(got), size))
                    if sent < size:
                        try:
                            sent += s.send(msg[sent:sent + 65536])
                        except BlockingIOError:
                            pass
                    try:
                        b = s.recv(1 << 20)
                        if not b:
                            fail("size %d: the server closed" % size)
                        got += b
                    except BlockingIOError:
                        time.sleep(0.0005)
                s.setblocking(True)
                if bytes(got) != msg:
                    fail("size %d on connection %d: other bytes came back" %
                         (size, i))
        # A client that only sends: the server stops reading it, so sending
        # blocks once the buffers of both directions are full.
        s = connect(port)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.settimeout(2)
        total = 0
        try:
            while total < (256 << 20):
                total += s.send(b"x" * 65536)
        except socket.timeout:
            pass
        if total >= (256 << 20):
            fail("256 MiB sent to a client that does not read: the server "
                 "buffers without bound")
        for c in conns + [s]:
            c.close()
        if proc.poll() is not None:
            fail("the server exited")
    finally:
        lib.stop(proc)
    print("ok: echo, 1 B to 1 MiB on 8 connections; a non-reading client "
          "was stopped after %d KiB" % (total // 1024))


def exchange(port, data, expect_close):
    s = connect(port)
    s.sendall(data)
    out = bytearray()
    s.settimeout(0.5 if not expect_close else 5)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        if expect_close:
            fail("the connection stayed open after %r" % data[:60])
    s.close()
    return bytes(out)


def normalise(b, name):
    b = re.sub(rb"Date: [^\r]*\r\n", b"Date: -\r\n", b)
    return b.replace(b"Server: " + name.encode(), b"Server: -")


HTTP_CASES = [
    ("get", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", False),
    ("head", b"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", False),
    ("404", b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", False),
    ("405", b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", False),
    ("pipelined", b"GET / HTTP/1.1\r\n\r\n" * 50 + b"GET /x HTTP/1.1\r\n\r\n",
     False),
    ("body", b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / "
     b"HTTP/1.1\r\n\r\n", False),
    ("http10", b"GET / HTTP/1.0\r\n\r\n", True),
    ("close", b"GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1"
     b"\r\n\r\n", True),
    # no blank line within 16 KiB: 400 (all of it read, so no reset)
    ("long_head", b"GET / HTTP/1.1\r\nX: " + b"a" * 17000, True),
    ("chunked", b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
     True),
]


def http_case(binary, ref):
    name = os.path.basename(binary)
    ref_name = os.path.basename(ref)
    proc, port = serve(binary)
    rproc, rport = serve(ref)
    try:
        for case, data, closes in HTTP_CASES:
            got = normalise(exchange(port, data, closes), name)
            want = normalise(exchange(rport, data, closes), ref_name)
            if not want.startswith(b"HTTP/1.1 "):
                fail("%s: %s gave no answer" % (case, ref_name))
            if got != want:
                fail("%s: %s answered\n%r\nwhere %s answered\n%r" %
                     (case, name, got[:300], ref_name, want[:300]))
        if proc.poll() is not None:
            fail("the server exited")
    finally:
        lib.stop(proc)
        lib.stop(rproc)
    print("ok: %d exchanges answered as %s answers them" %
          (len(HTTP_CASES), ref_name))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "echo":
        echo_case(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "http":
        http_case(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
