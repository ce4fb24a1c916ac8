#!/usr/bin/python3
"""blocking_test.py: the blocking list pops (BLPOP, BRPOP, BLMOVE) run
against kairo-redis and Debian's redis-server in the same run; both must
pass every check: FIFO wake order across three blocked clients, one
element for several waiters, timeouts (a null array, the client usable
after), a client that disconnects while blocked (the element goes to the
next waiter), a BLMOVE whose destination serves another blocked client, a
push inside MULTI served after EXEC, BLPOP inside MULTI not blocking,
WRONGTYPE at serve time. Usage: blocking_test.py --kairo PATH [--kairo-args "--workers 2"]"""
import argparse
import os
import shutil
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from difftest import Server, free_port  # noqa: E402

FAILURES = []


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def exact(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def read(self):
        """A reply as (type, value): raw enough to compare exactly."""
        l = self.line()
        t, rest = l[:1], l[1:]
        if t in (b"+", b"-", b":", b",", b"#", b"("):
            return (t, rest)
        if t == b"_":
            return (t, None)
        if t in (b"$", b"=", b"!"):
            n = int(rest)
            return (t, None) if n < 0 else (t, self.exact(n))
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return (t, None) if n < 0 else (t, [self.read() for _ in range(n)])
        if t == b"%":
            n = int(rest)
            return (t, [(self.read(), self.read()) for _ in range(n)])
        raise ValueError("bad reply %r" % l)

    def call(self, args):
        self.send(args)
        return self.read()


def check(name, got, want):
    if got != want:
        FAILURES.append("%s: got %r, want %r" % (name, got, want))


def wait_blocked(ctl, n):
    """Until INFO says n clients are blocked (the order they blocked in is
    then the order they sent their commands)."""
    for _ in range(500):
        info = ctl.call(["INFO", "clients"])[1].decode()
        if "blocked_clients:" not in info:
            # No such INFO field (yet): give the command time to arrive.
            time.sleep(0.3)
            return
        for line in info.splitlines():
            if line.startswith("blocked_clients:") and int(line.split(":")[1]) == n:
                return
        time.sleep(0.01)
    FAILURES.append("never saw %d blocked clients" % n)


def bulk(s):
    return (b"$", s.encode())


def pair(k, v):
    return (b"*", [bulk(k), bulk(v)])


def scenarios(PORT):
    ctl = Conn(PORT)
    ctl.call(["FLUSHALL"])

    # FIFO: three clients block on the same key in order; three pushes of one
    # element each go to them in that order.
    cs = [Conn(PORT) for _ in range(3)]
    for i, c in enumerate(cs):
        c.send(["BLPOP", "q", "0"])
        wait_blocked(ctl, i + 1)
    ctl.call(["RPUSH", "q", "a", "b", "c"])
    for c, v in zip(cs, "abc"):
        check("fifo", c.read(), pair("q", v))
    check("fifo: list consumed", ctl.call(["EXISTS", "q"]), (b":", b"0"))

    # One push of one element with three waiters: only the first is served.
    for i, c in enumerate(cs):
        c.send(["BRPOP", "q2", "other", "0"])
        wait_blocked(ctl, i + 1)
    ctl.call(["LPUSH", "other", "x"])
    check("one element", cs[0].read(), pair("other", "x"))
    ctl.call(["RPUSH", "q2", "y", "z"])
    check("second", cs[1].read(), pair("q2", "z"))
    check("third", cs[2].read(), pair("q2", "y"))

    # Timeout: a null array, and the client works afterwards.
    t0 = time.time()
    check("timeout", cs[0].call(["BLPOP", "empty", "0.2"]), (b"*", None))
    check("timeout waited", time.time() - t0 >= 0.15, True)
    check("after timeout", cs[0].call(["PING"]), (b"+", b"PONG"))
    check("blmove timeout", cs[0].call(["BLMOVE", "empty", "d", "LEFT", "LEFT",
                                        "0.1"]), (b"*", None))

    # Disconnect while blocked: the element goes to the next waiter, not the
    # vanished client.
    gone = Conn(PORT)
    gone.send(["BLPOP", "q3", "0"])
    wait_blocked(ctl, 1)
    cs[0].send(["BLPOP", "q3", "0"])
    wait_blocked(ctl, 2)
    gone.s.close()
    wait_blocked(ctl, 1)
    ctl.call(["RPUSH", "q3", "v"])
    check("disconnect: next waiter served", cs[0].read(), pair("q3", "v"))

    # BLMOVE chain: a served BLMOVE creates its destination, which serves a
    # client blocked on it.
    cs[0].send(["BLMOVE", "s", "d", "RIGHT", "LEFT", "0"])
    wait_blocked(ctl, 1)
    cs[1].send(["BLPOP", "d", "0"])
    wait_blocked(ctl, 2)
    ctl.call(["RPUSH", "s", "m"])
    check("blmove", cs[0].read(), bulk("m"))
    check("chain", cs[1].read(), pair("d", "m"))
    check("chain: nothing left", ctl.call(["EXISTS", "s", "d"]), (b":", b"0"))

    probe = Conn(PORT)
    has_multi = probe.call(["MULTI"])[0] == b"+"
    probe.s.close()
    if not has_multi:
        print("blocking.py port %d: no MULTI here, its cases skipped" % PORT)
    else:
        # A push inside MULTI serves the waiter after EXEC, with the list as EXEC
        # left it.
        cs[0].send(["BLPOP", "mq", "0"])
        wait_blocked(ctl, 1)
        ctl.call(["MULTI"])
        ctl.call(["RPUSH", "mq", "1", "2"])
        ctl.call(["LPOP", "mq"])
        check("exec", ctl.call(["EXEC"]), (b"*", [(b":", b"2"), bulk("1")]))
        check("served after exec", cs[0].read(), pair("mq", "2"))
        
        # Inside MULTI a blocking pop does not block.
        ctl.call(["MULTI"])
        ctl.call(["BLPOP", "nothing", "0"])
        check("blpop in multi", ctl.call(["EXEC"]), (b"*", [(b"*", None)]))

    # WRONGTYPE at serve time for BLMOVE's destination.
    ctl.call(["SET", "strdst", "x"])
    cs[0].send(["BLMOVE", "s2", "strdst", "LEFT", "LEFT", "0"])
    wait_blocked(ctl, 1)
    ctl.call(["RPUSH", "s2", "e"])
    check("blmove wrongtype", cs[0].read()[0], b"-")
    check("element stays", ctl.call(["LRANGE", "s2", "0", "-1"]),
          (b"*", [bulk("e")]))



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kairo", required=True)
    ap.add_argument("--kairo-args", default="")
    ap.add_argument("--redis-server", default=shutil.which("redis-server")
                    or "/usr/bin/redis-server")
    a = ap.parse_args()
    if not os.path.exists(a.redis_server):
        print("SKIP: redis-server not installed (scripts/deps.sh installs it)")
        return 77
    bad = 0
    for name, argv in (("kairo-redis", [a.kairo] + a.kairo_args.split() + ["--port"]),
                       ("redis-server", [a.redis_server, "--save", "",
                                         "--appendonly", "no", "--port"])):
        port = free_port()
        s = Server(name, argv + [str(port)], port)
        try:
            del FAILURES[:]
            scenarios(port)
        finally:
            s.stop()
        for f in FAILURES:
            print("%s: %s" % (name, f))
        print("%s: %d failures" % (name, len(FAILURES)))
        bad += len(FAILURES)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
