#!/usr/bin/python3
"""Blocking list pops, checked against one server (run it against both
kairo-redis and redis-server): FIFO wake order across three blocked
clients, timeouts, a client that disconnects while blocked, BLMOVE chains,
a push inside MULTI served after EXEC. Usage: blocking.py PORT"""
import sys
import time

from difftypes import Conn

PORT = int(sys.argv[1])
failures = []


def check(name, got, want):
    if got != want:
        failures.append("%s: got %r, want %r" % (name, got, want))


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
    failures.append("never saw %d blocked clients" % n)


def bulk(s):
    return (b"$", s.encode())


def pair(k, v):
    return (b"*", [bulk(k), bulk(v)])


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

for f in failures:
    print("blocking.py port %d: %s" % (PORT, f))
print("blocking.py port %d: %d failures" % (PORT, len(failures)))
sys.exit(1 if failures else 0)
