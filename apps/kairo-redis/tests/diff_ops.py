#!/usr/bin/python3
"""diff_ops.py: the pub/sub and transaction cases of the differential suite:
scenarios with several connections, run against kairo-redis and Debian's
redis-server in the same run, every reply compared byte for byte.

    /usr/bin/python3 diff_ops.py [--workers N] KAIRO_REDIS_BINARY CASES...

(--workers N runs kairo-redis multi-threaded.)

A case line is `CONN COMMAND ARGS...` (redis-cli quoting): CONN names a
connection (made on first use, on both servers). After each line every
connection is read until it stays quiet (the direct reply, and whatever
pushes the command caused elsewhere), and what each connection received is
compared between the servers. Prefixes:
  @sorted CONN CMD   the step's replies, and the elements of an array
                     reply, compared as multisets (hash order: UNSUBSCRIBE
                     of all, PUBSUB CHANNELS, several matching patterns)
  @any CONN CMD      the replies are not compared (HELLO: server fields)
  @sleep SECONDS     waits on both (expiry)
Exit status: 0 same, 1 a difference (both replies printed), 77 no
redis-server or redis-py.
"""
import os
import select
import shlex
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops_server import SKIP, Server, cleanup  # noqa: E402

QUIET = float(os.environ.get("DIFF_QUIET_SECONDS", "0.05"))


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode("utf-8", "surrogateescape") if isinstance(a, str) else a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def parse(buf, pos):
    """One RESP2/RESP3 value at buf[pos:]: (value, new_pos), or None if
    incomplete. Values are tuples (type, payload) so they compare
    exactly."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    t, rest = buf[pos:pos + 1], buf[pos + 1:end]
    pos = end + 2
    if t in b"+-:,#(_":
        return (t, rest), pos
    if t in b"$=!":
        n = int(rest)
        if n < 0:
            return (t, None), pos
        if len(buf) < pos + n + 2:
            return None
        return (t, buf[pos:pos + n]), pos + n + 2
    if t in b"*~>%|":
        n = int(rest)
        if n < 0:
            return (t, None), pos
        if t in b"%|":
            n *= 2
        items = []
        for _ in range(n):
            r = parse(buf, pos)
            if r is None:
                return None
            v, pos = r
            items.append(v)
        return (t, tuple(items)), pos
    raise ValueError("bad RESP at %r" % buf[pos - 1:pos + 20])


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), 10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setblocking(False)
        self.buf = b""
        self.closed = False

    def pull(self):
        try:
            d = self.s.recv(65536)
        except BlockingIOError:
            return
        except ConnectionResetError:
            d = b""
        if not d:
            self.closed = True
        self.buf += d

    def take(self):
        """The complete replies received so far."""
        out, pos = [], 0
        while True:
            r = parse(self.buf, pos)
            if r is None:
                break
            v, pos = r
            out.append(v)
        self.buf = self.buf[pos:]
        if self.closed and not self.buf:
            out.append(("closed", None))
            self.buf = None  # reported once
        return out


def pump(conns, until, quiet):
    """Reads every connection until `until()` holds and then nothing
    arrives for `quiet` seconds (at most 5 s in all)."""
    deadline = time.time() + 5
    last = time.time()
    while time.time() < deadline:
        live = [c for c in conns if not c.closed]
        r, _, _ = select.select([c.s for c in live], [], [], quiet)
        for c in live:
            if c.s in r:
                c.pull()
                last = time.time()
        if not r and until() and time.time() - last >= quiet:
            return


def unordered(replies):
    """Replies compared as multisets: their order, and the order of the
    elements of an array reply (hash order on either server)."""
    out = []
    for t, v in replies:
        if t in (b"*", b"~") and isinstance(v, tuple):
            v = tuple(sorted(v, key=repr))
        out.append((t, v))
    return sorted(out, key=repr)


def run(ports, lines):
    conns = [dict() for _ in ports]
    failures = 0
    for lineno, raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        mode = None
        if line.startswith("@"):
            mode, line = line.split(None, 1)
            if mode == "@sleep":
                time.sleep(float(line))
                continue
        name, cmd = line.split(None, 1)
        args = shlex.split(cmd)
        for i, port in enumerate(ports):
            if name not in conns[i]:
                conns[i][name] = Conn(port)
            conns[i][name].s.sendall(resp(args))
        every = [c for d in conns for c in d.values() if c.buf is not None]
        direct = [d[name] for d in conns]
        pump(every, lambda: all(c.closed or (c.buf and parse(c.buf, 0))
                                for c in direct),
             QUIET)
        got = [{k: c.take() for k, c in sorted(d.items())
                if c.buf is not None} for d in conns]
        a, b = got
        if mode == "@any":
            continue
        if mode == "@sorted":
            a = {k: unordered(v) for k, v in a.items()}
            b = {k: unordered(v) for k, v in b.items()}
        a = {k: v for k, v in a.items() if v}
        b = {k: v for k, v in b.items() if v}
        if a != b:
            failures += 1
            print("DIFF line %d: %s" % (lineno, raw.strip()))
            print("  kairo-redis:  %r" % (a,))
            print("  redis-server: %r" % (b,))
    return failures


def main():
    argv = sys.argv[1:]
    extra = []
    if argv[:1] == ["--workers"]:
        extra, argv = argv[:2], argv[2:]
    if len(argv) < 2:
        print(__doc__)
        return 2
    redis_bin = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(redis_bin):
        print("SKIP: no redis-server")
        return SKIP
    kairo = Server(argv[0], args=extra).start()
    redis = Server(redis_bin).start()
    failures = 0
    try:
        for path in argv[1:]:
            with open(path) as f:
                lines = list(enumerate(f, 1))
            n = run([kairo.port, redis.port], lines)
            print("%s: %d difference(s)" % (os.path.basename(path), n))
            failures += n
    finally:
        # The replies are this test's subject; a server slow to exit (seen
        # under TSan with --workers 2) is reported, not failed here: the
        # shutdown itself is redis-ops/shutdown_flushes's subject.
        for srv in (kairo, redis):
            try:
                srv.stop()
            except RuntimeError as e:
                print("WARNING: %s (%s)" % (e, srv.binary))
    if not failures:
        cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
