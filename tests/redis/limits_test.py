#!/usr/bin/python3
"""limits_test.py: kairo-redis's limits, each checked against the server
alone (what the differential suite cannot compare: timing, memory, the
process exiting).

    /usr/bin/python3 tests/redis/limits_test.py --kairo build/bin/kairo-redis

maxclients; `timeout` closing idle clients; a 4 GiB bulk header closing the
client with Redis's error and no memory growth; client-query-buffer-limit;
maxmemory with allkeys-lru staying under the limit; SIGTERM and SHUTDOWN
exiting cleanly (status 0).
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resp import Conn, ConnectionClosed  # noqa: E402

failures = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what))
    if not cond:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(kairo, *args):
    port = free_port()
    p = subprocess.Popen([kairo, "--port", str(port)] + list(args),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = Conn(port)
            c.call("PING")
            c.close()
            return p, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("kairo-redis did not start")


def info_field(conn, section, field):
    r = conn.call("INFO", section)
    for line in r[1].decode().split("\r\n"):
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kairo", required=True)
    a = ap.parse_args()

    # maxclients
    p, port = start(a.kairo, "--maxclients", "3")
    conns = [Conn(port) for _ in range(3)]
    extra = Conn(port)
    try:
        r = extra.read()
    except ConnectionClosed:
        r = None
    check(r == ("-", "ERR max number of clients reached"),
          "maxclients: the 4th client gets the error (%r)" % (r,))
    check(extra.is_closed(), "maxclients: and is closed")
    for c in conns:
        check(c.call("PING") == ("+", "PONG"), "maxclients: others still work")
        c.close()
    time.sleep(0.2)
    c = Conn(port)
    check(c.call("PING") == ("+", "PONG"), "maxclients: a slot frees on close")
    c.close()
    check(stop(p) == 0, "SIGTERM: exit status 0")

    # timeout
    p, port = start(a.kairo, "--timeout", "1")
    idle, busy = Conn(port), Conn(port)
    for _ in range(6):
        busy.call("PING")
        time.sleep(0.4)
    check(idle.is_closed(wait=3), "timeout: an idle client is closed")
    check(busy.call("PING") == ("+", "PONG"), "timeout: a busy one is not")
    busy.close()
    stop(p)

    # 4 GiB bulk header, proto-max-bulk-len, memory untouched
    p, port = start(a.kairo)
    admin = Conn(port)
    before = int(info_field(admin, "memory", "used_memory"))
    bad = Conn(port)
    bad.send_raw(b"*2\r\n$3\r\nSET\r\n$4294967296\r\n")
    r = bad.read()
    check(r == ("-", "ERR Protocol error: invalid bulk length"),
          "4 GiB bulk: Redis's error (%r)" % (r,))
    check(bad.is_closed(), "4 GiB bulk: the client is closed")
    after = int(info_field(admin, "memory", "used_memory"))
    check(after < before + 1024 * 1024,
          "4 GiB bulk: memory untouched (%d -> %d)" % (before, after))
    # A header within the limit but no data: no large reservation.
    hdr = Conn(port)
    hdr.send_raw(b"*2\r\n$3\r\nSET\r\n$536870000\r\n")
    time.sleep(0.3)
    mid = int(info_field(admin, "memory", "used_memory"))
    check(mid < before + 80 * 1024 * 1024,
          "512 MB header: at most 64 MiB reserved (%d -> %d)" % (before, mid))
    hdr.close()

    # client-query-buffer-limit (1mb): an endless inline... bulk
    admin.call("CONFIG", "SET", "client-query-buffer-limit", "1mb")
    big = Conn(port)
    try:
        big.send_raw(b"*2\r\n$3\r\nGET\r\n$2000000\r\n" + b"x" * 1500000)
    except OSError:
        pass
    check(big.is_closed(wait=3), "query buffer limit: the client is closed")
    check(admin.call("PING") == ("+", "PONG"), "query buffer: others fine")

    # maxmemory allkeys-lru
    base = int(info_field(admin, "memory", "used_memory"))
    limit = base + 4 * 1024 * 1024
    admin.call("CONFIG", "SET", "maxmemory", str(limit))
    admin.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    val = "v" * 1000
    for i in range(20000):
        r = admin.call("SET", "key:%d" % i, val)
        if r != ("+", "OK"):
            break
    check(r == ("+", "OK"), "allkeys-lru: writes keep succeeding")
    used = int(info_field(admin, "memory", "used_memory"))
    check(used < limit + 512 * 1024,
          "allkeys-lru: used_memory %d stays near the limit %d" % (used,
                                                                   limit))
    ev = int(info_field(admin, "stats", "evicted_keys"))
    check(ev > 0, "allkeys-lru: keys were evicted (%d)" % ev)
    admin.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
    admin.call("CONFIG", "SET", "maxmemory", str(base))
    r = admin.call("SET", "another", val)
    check(r[0] == "-" and r[1].startswith("OOM"),
          "noeviction: OOM error (%r)" % (r,))
    check(admin.call("GET", "key:19999")[0] == "$",
          "noeviction: reads still work")
    admin.call("CONFIG", "SET", "maxmemory", "0")

    # requirepass
    admin.call("CONFIG", "SET", "requirepass", "pw")
    na = Conn(port)
    check(na.call("GET", "x") == ("-", "NOAUTH Authentication required."),
          "requirepass: NOAUTH before AUTH")
    check(na.call("AUTH", "pw") == ("+", "OK"), "requirepass: AUTH")
    check(na.call("GET", "nokey") == ("$", None), "requirepass: then commands")
    # SHUTDOWN ends the process cleanly.
    try:
        na.call("SHUTDOWN")
    except ConnectionClosed:
        pass
    try:
        st = p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        st = None
    check(st == 0, "SHUTDOWN: exit status 0 (%r)" % (st,))

    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
