#!/usr/bin/python3
"""Differential runner for the data-type families (lists, hashes, sets,
sorted sets): sends each line of the case files to two servers over raw
RESP (RESP2, or RESP3 after a HELLO 3 line) and compares the raw replies.

Case lines: a command in redis-cli quoting. A prefix changes the
comparison, for replies that are random or in hash order:
  @sorted CMD    compare the array's elements as sorted lists
  @size CMD      compare only the array's length (or the integer)
  @member KEY CMD  every element of the reply is a member of set KEY
                  (checked on each server with SISMEMBER), sizes equal
  @scan CMD KEY [args]  iterate the cursor to 0 on both, compare the
                  union of the elements (pairs for HSCAN/ZSCAN)
  @any CMD       send, ignore the reply (both must answer)
Usage: difftypes.py PORT_A PORT_B FILE...  (exit 1 on any difference)
"""
import shlex
import socket
import sys


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


def flat(v):
    """The leaves of a reply, as bytes, for membership comparisons."""
    t, x = v
    if isinstance(x, list):
        out = []
        for e in x:
            if isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], tuple):
                out += flat(e[0]) + flat(e[1])
            else:
                out += flat(e)
        return out
    return [x]


def scan_union(c, args):
    cmd, key, rest = args[0], args[1], args[2:]
    cur, seen, pairs = b"0", set(), cmd.upper() in ("HSCAN", "ZSCAN")
    for _ in range(100000):
        if cmd.upper() == "SCAN":
            r = c.call([cmd, cur] + [key] + rest if key else [cmd, cur] + rest)
        else:
            r = c.call([cmd, key, cur] + rest)
        if r[0] == b"-":
            return r
        cur, items = r[1][0][1], [e[1] for e in r[1][1][1]]
        if pairs:
            items = list(zip(items[0::2], items[1::2]))
        seen.update(items)
        if cur == b"0":
            return ("union", sorted(seen))
    return ("unfinished", None)


def run(ca, cb, line):
    mode = None
    if line.startswith("@"):
        mode, line = line.split(None, 1)
    args = shlex.split(line)
    if mode == "@scan":
        return scan_union(ca, args), scan_union(cb, args)
    member_key = None
    if mode == "@member":
        member_key, args = args[0], args[1:]
    ra, rb = ca.call(args), cb.call(args)
    if mode == "@any":
        return (ra[0] == b"-",), (rb[0] == b"-",)
    if mode == "@sorted":
        return ("sorted", sorted(map(repr, flat(ra)))), \
               ("sorted", sorted(map(repr, flat(rb))))
    if mode == "@size":
        na = len(ra[1]) if isinstance(ra[1], list) else ra
        nb = len(rb[1]) if isinstance(rb[1], list) else rb
        return ("size", na), ("size", nb)
    if mode == "@member":
        out = []
        for c, r in ((ca, ra), (cb, rb)):
            if r[0] == b"-" or r[1] is None:
                out.append(r)
                continue
            elems = flat(r)
            ok = all(c.call(["SISMEMBER", member_key, e])[1] == b"1"
                     for e in elems)
            out.append(("members", len(elems), ok))
        return out[0], out[1]
    return ra, rb


def main():
    pa, pb, files = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    total = fails = 0
    for f in files:
        ca, cb = Conn(pa), Conn(pb)
        for n, line in enumerate(open(f), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            total += 1
            try:
                a, b = run(ca, cb, line)
            except Exception as e:  # a dead connection is a failure
                print("%s:%d: %s\n  error: %r" % (f, n, line, e))
                fails += 1
                ca, cb = Conn(pa), Conn(pb)
                continue
            if a != b:
                fails += 1
                print("%s:%d: %s\n  A: %r\n  B: %r" % (f, n, line, a, b))
    print("difftypes: %d cases, %d differences" % (total, fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
