#!/usr/bin/python3
"""ops_tests.py: kairo-redis's persistence and abuse tests, run by ctest.

    /usr/bin/python3 ops_tests.py SERVER_BINARY CASE

CASE is one of the functions below named case_*. SERVER_BINARY is
kairo-redis, or redis-server to check the test itself against Redis (the
AOF cases then read Redis 7's appendonlydir). Exit status 0 pass, 1 fail,
77 skipped (no redis-py, or a limit the machine cannot give).

Figures (acknowledged writes, RSS) are printed as "FIGURE name value" so a
person (and the notes) can quote them.

Durations: each case runs a few seconds; the random-bytes case runs
OPS_FUZZ_SECONDS (default 10 s rather than the issue's 30 s, since CI runs
the suite under sanitizers as well; set it to 30 for the full run).
"""
import os
import random
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops_server import SKIP, Server, cleanup, raise_nofile  # noqa: E402

try:
    import redis  # noqa: F401
except ImportError:
    print("SKIP: redis-py (python3-redis) is not installed")
    sys.exit(SKIP)

FIGURES = []


def figure(name, value):
    FIGURES.append((name, value))
    print("FIGURE %s %s" % (name, value), flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def raw_conn(srv, timeout=10):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_until_closed(s, limit=1 << 16, timeout=5):
    s.settimeout(timeout)
    data = b""
    try:
        while len(data) < limit:
            chunk = s.recv(4096)
            if not chunk:
                return data, True
            data += chunk
    except socket.timeout:
        return data, False
    except ConnectionResetError:
        return data, True
    return data, False


# ---- persistence ------------------------------------------------------------

class Writer(threading.Thread):
    """Writes acknowledged records until stopped or the server dies:
    SET w:<id>:<n> <n>, then SET wc:<id> <n>, each recorded once its reply
    came back. (Strings only, so the case depends on no other family.)"""

    def __init__(self, srv, wid):
        super().__init__(daemon=True)
        self.srv, self.wid = srv, wid
        self.acked = 0  # records 1..acked fully acknowledged
        self.acked_keys = 0
        self.stop = False

    def run(self):
        try:
            c = self.srv.client(socket_timeout=10)
            n = 0
            while not self.stop:
                n += 1
                c.set("w:%d:%d" % (self.wid, n), n)
                self.acked_keys = n
                c.set("wc:%d" % self.wid, n)
                self.acked = n
        except Exception:
            pass  # the server was killed under us: expected


def verify_writers(c, writers):
    """Every acknowledged record present; returns the count."""
    total = 0
    for w in writers:
        n = w.acked
        if n == 0:
            continue
        keys = ["w:%d:%d" % (w.wid, i) for i in range(1, n + 1)]
        vals = []
        for i in range(0, len(keys), 1000):
            pipe = c.pipeline(transaction=False)
            for k in keys[i:i + 1000]:
                pipe.get(k)
            vals += pipe.execute()
        missing = [k for k, v in zip(keys, vals) if v is None]
        check(not missing, "writer %d: %d acknowledged SETs lost, first %s"
              % (w.wid, len(missing), missing[:3]))
        cnt = int(c.get("wc:%d" % w.wid) or 0)
        check(cnt >= n, "writer %d: counter %d < %d acknowledged"
              % (w.wid, cnt, n))
        # A write made but not acknowledged may be there (it was in
        # flight); never one that was not sent.
        check(cnt <= n + 1, "writer %d: counter %d beyond what was written"
              % (w.wid, cnt))
        check(c.get("w:%d:%d" % (w.wid, w.acked_keys + 2)) is None,
              "writer %d: a record never written" % w.wid)
        total += 2 * n
    return total


def case_kill9_always(binary):
    """kill -9 during a write load under appendfsync always: after a
    restart every acknowledged write is there."""
    conf = {"appendonly": "yes", "appendfsync": "always"}
    srv = Server(binary, conf).start()
    writers = [Writer(srv, i) for i in range(8)]
    for w in writers:
        w.start()
    time.sleep(3)
    srv.kill9()  # mid-load: writers are blocked in a reply or a send
    for w in writers:
        w.stop = True
        w.join(15)
    srv.start()
    c = srv.client()
    total = verify_writers(c, writers)
    figure("kill9_always_acknowledged_writes", total)
    check(total > 0, "no write was acknowledged in 3 s")
    srv.stop()


def case_kill9_everysec(binary):
    """kill -9 under everysec: at most about the last second is lost."""
    conf = {"appendonly": "yes", "appendfsync": "everysec"}
    srv = Server(binary, conf).start()
    writers = [Writer(srv, i) for i in range(4)]
    for w in writers:
        w.start()
    time.sleep(2.5)
    acked_before = [w.acked for w in writers]
    time.sleep(1.5)  # > 1 s after acked_before: those must be on disk
    srv.kill9()
    for w in writers:
        w.stop = True
        w.join(15)
    srv.start()
    c = srv.client()
    kept = 0
    for w, n in zip(writers, acked_before):
        cnt = int(c.get("wc:%d" % w.wid) or 0)
        check(cnt >= n, "writer %d: %d writes older than a second lost"
              % (w.wid, n - cnt))
        kept += cnt
    figure("kill9_everysec_counted", kept)
    srv.stop()


def case_torn_tail(binary):
    """A half-written last command (killed mid-write) is cut at restart,
    with a log line, and everything before it loads."""
    conf = {"appendonly": "yes", "appendfsync": "always"}
    srv = Server(binary, conf).start()
    c = srv.client()
    for i in range(100):
        c.set("t%d" % i, i)
    srv.kill9()
    path = srv.aof_path()
    good = os.path.getsize(path)
    with open(path, "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$10\r\n01234")
    srv.start()
    c = srv.client()
    check(c.dbsize() == 100, "dbsize %d after the torn tail" % c.dbsize())
    check(c.get("torn") is None, "the torn command was applied")
    log = srv.read_log()
    check("Truncating the AOF" in log or "truncat" in log.lower(),
          "no log line about the truncation:\n" + log[-2000:])
    check(os.path.getsize(srv.aof_path()) >= good,
          "the file was cut before its last complete command")
    # The file goes on from the cut: new writes survive another restart.
    c.set("after", "1")
    srv.kill9()
    srv.start()
    c = srv.client()
    check(c.get("after") == b"1" and c.dbsize() == 101,
          "writes after the repair were lost")
    srv.stop()


def case_rewrite_under_load(binary):
    """BGREWRITEAOF while writers run: no client stalls, the file shrinks
    to a snapshot plus what came during, and nothing acknowledged is lost
    (kill -9 after the rewrite, restart, count)."""
    conf = {"appendonly": "yes", "appendfsync": "always"}
    srv = Server(binary, conf).start()
    c = srv.client()
    # History to compact: the same counters bumped many times.
    pipe = c.pipeline(transaction=False)
    for i in range(20000):
        pipe.set("hist:%d" % (i % 100), i // 100 + 1)
    pipe.execute()
    size_before = os.path.getsize(srv.aof_path())
    writers = [Writer(srv, i) for i in range(4)]
    for w in writers:
        w.start()
    time.sleep(0.5)
    check(c.bgrewriteaof(), "BGREWRITEAOF refused")
    deadline = time.time() + 60
    while time.time() < deadline:
        log = srv.read_log()
        if "rewrite finished successfully" in log or \
                "rewrite terminated with success" in log:
            break
        check("rewrite terminated with error" not in log,
              "the rewrite failed:\n" + log[-2000:])
        time.sleep(0.05)
    check(time.time() < deadline, "the rewrite did not finish in 60 s")
    info = c.info("persistence")
    check(not info.get("aof_rewrite_in_progress"),
          "INFO says a rewrite is still in progress")
    progress = [w.acked for w in writers]
    time.sleep(0.5)
    check(all(w.acked > p for w, p in zip(writers, progress)),
          "writers stalled after the rewrite")
    srv.kill9()
    for w in writers:
        w.stop = True
        w.join(15)
    srv.start()
    c = srv.client()
    total = verify_writers(c, writers)
    for i in range(100):
        check(int(c.get("hist:%d" % i)) == 200, "history counter wrong")
    figure("rewrite_acknowledged_writes", total)
    figure("rewrite_size_before_bytes", size_before)
    size_after = os.path.getsize(srv.aof_path())
    figure("rewrite_size_after_bytes", size_after)
    if not srv.is_redis:  # Redis 7 keeps a base file beside the tail
        check(size_after < size_before, "the rewrite did not compact")
    srv.stop()


def case_shutdown_flushes(binary):
    """SIGTERM and SHUTDOWN leave every write in the AOF, under `no`."""
    for how in ("sigterm", "shutdown", "sigint"):
        conf = {"appendonly": "yes", "appendfsync": "no"}
        srv = Server(binary, conf).start()
        c = srv.client()
        pipe = c.pipeline(transaction=False)
        for i in range(5000):
            pipe.set("s%d" % i, i)
        pipe.execute()
        if how == "shutdown":
            try:
                c.shutdown()
            except redis.exceptions.ConnectionError:
                pass
            srv.proc.wait(20)
            srv.proc = None
        else:
            srv.stop(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
        srv.start()
        c = srv.client()
        check(c.dbsize() == 5000, "%s: %d of 5000 keys after restart"
              % (how, c.dbsize()))
        srv.stop()


# ---- abuse ------------------------------------------------------------------

def case_many_clients(binary):
    """10,000 clients connected at once, each served; then a normal
    client is still served."""
    n = 10000
    need = n + 200
    got = raise_nofile(need + 100)
    if got < need:
        print("SKIP: RLIMIT_NOFILE hard limit %d < %d" % (got, need))
        sys.exit(SKIP)
    srv = Server(binary, {"maxclients": str(n + 100)}).start()
    socks = []
    try:
        for i in range(n):
            s = socket.socket()
            s.setblocking(True)
            s.settimeout(10)
            s.connect(("127.0.0.1", srv.port))
            socks.append(s)
        for s in socks:
            s.sendall(b"PING\r\n")
        pending = {s.fileno(): s for s in socks}
        got_pong = 0
        poller = select.poll()
        for s in socks:
            poller.register(s, select.POLLIN)
        deadline = time.time() + 60
        while pending and time.time() < deadline:
            for fd, _ in poller.poll(1000):
                s = pending.pop(fd, None)
                if s is None:
                    continue
                poller.unregister(fd)
                if s.recv(16).startswith(b"+PONG"):
                    got_pong += 1
        figure("many_clients_served", got_pong)
        check(got_pong == n, "%d of %d clients got PONG" % (got_pong, n))
        c = srv.client()
        check(c.set("k", "v") and c.get("k") == b"v",
              "normal client failed")
        clients = c.info("clients").get("connected_clients")
        check(clients is None or clients >= n,
              "connected_clients %s" % clients)
    finally:
        for s in socks:
            s.close()
    srv.stop()


def case_slowloris(binary):
    """Hundreds of clients trickling a command a byte at a time do not slow
    a normal client, and each is answered once its command is whole."""
    srv = Server(binary).start()
    cmd = resp("SET", "slow", "x" * 20)
    socks = [raw_conn(srv) for _ in range(300)]
    c = srv.client(socket_timeout=5)
    t0 = time.time()
    ops = 0
    for i in range(len(cmd) - 1):
        for s in socks:
            s.sendall(cmd[i:i + 1])
        for _ in range(20):
            c.ping()
            ops += 1
        time.sleep(0.02)
    elapsed = time.time() - t0
    figure("slowloris_normal_client_ops", ops)
    check(elapsed < 60, "normal client too slow: %.1f s" % elapsed)
    for s in socks:
        s.sendall(cmd[-1:])
    answered = 0
    for s in socks:
        s.settimeout(10)
        if s.recv(16).startswith(b"+OK"):
            answered += 1
        s.close()
    check(answered == len(socks), "%d of %d slow clients answered"
          % (answered, len(socks)))
    srv.stop()


def case_slow_subscriber(binary):
    """A subscriber that never reads while 1 GiB is published: it is
    disconnected at the pubsub output-buffer limit and the server's RSS
    stays bounded."""
    conf = {"client-output-buffer-limit": "pubsub 32mb 8mb 60"}
    srv = Server(binary, conf).start()
    base_rss = srv.rss_kib()
    sub = raw_conn(srv)
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sub.sendall(resp("SUBSCRIBE", "flood"))
    time.sleep(0.2)
    sub_reply = sub.recv(4096)  # the subscribe confirmation only
    check(b"subscribe" in sub_reply, "no subscribe reply: %r" % sub_reply)
    pub = raw_conn(srv, timeout=60)
    msg = b"m" * 65536
    batch = resp("PUBLISH", "flood", msg) * 16  # 1 MiB per batch
    total_mib = 1024
    max_rss = base_rss
    replies = [0]
    stop = [False]

    def drain():
        buf = b""
        while not stop[0] and replies[0] < total_mib * 16:
            try:
                chunk = pub.recv(1 << 16)
            except socket.timeout:
                continue
            if not chunk:
                return
            buf += chunk
            replies[0] += buf.count(b"\r\n")
            buf = buf[buf.rfind(b"\r\n") + 2:] if b"\r\n" in buf else buf

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    t0 = time.time()
    for i in range(total_mib):
        pub.sendall(batch)
        if i % 16 == 0:
            max_rss = max(max_rss, srv.rss_kib())
    reader.join(60)
    stop[0] = True
    elapsed = time.time() - t0
    max_rss = max(max_rss, srv.rss_kib())
    figure("slow_subscriber_published_mib", total_mib)
    figure("slow_subscriber_seconds", "%.1f" % elapsed)
    figure("slow_subscriber_base_rss_kib", base_rss)
    figure("slow_subscriber_max_rss_kib", max_rss)
    check(replies[0] >= total_mib * 16,
          "publisher got %d of %d replies" % (replies[0], total_mib * 16))
    # The subscriber was cut off. (Not read to its EOF: with a 4 KiB
    # window the kernel's queue drains by zero-window probes, slowly.)
    c = srv.client()
    deadline = time.time() + 10
    while time.time() < deadline and \
            c.pubsub_numsub("flood") != [(b"flood", 0)]:
        time.sleep(0.05)
    check(c.pubsub_numsub("flood") == [(b"flood", 0)],
          "the slow subscriber was not disconnected")
    clients = c.info("clients").get("connected_clients")
    check(clients in (None, 2), "clients: %s" % clients)
    sub.close()
    # Bounded: the limit (32 MiB) plus the publisher's buffers and slack,
    # far below the 1 GiB published.
    check(max_rss - base_rss < 256 * 1024,
          "RSS grew by %d KiB" % (max_rss - base_rss))
    srv.stop()


def case_huge_bulk_header(binary):
    """A client announcing a 4 GiB bulk (and a 4-billion-argument command)
    gets a protocol error and is closed; the server allocates nothing for
    it and serves others."""
    srv = Server(binary).start()
    base = srv.rss_kib()
    for payload, want in (
            (b"*2\r\n$3\r\nSET\r\n$4294967296\r\n", b"-ERR Protocol error"),
            (b"*4294967296\r\n", b"-ERR Protocol error"),
            (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-5\r\n", b"-ERR Protocol error")):
        s = raw_conn(srv)
        s.sendall(payload)
        data, closed = recv_until_closed(s)
        check(data.startswith(want), "reply %r to %r" % (data, payload))
        check(closed, "connection left open after %r" % payload)
        s.close()
    check(srv.rss_kib() - base < 64 * 1024, "RSS grew by %d KiB"
          % (srv.rss_kib() - base))
    c = srv.client()
    check(c.set("k", "v") and c.get("k") == b"v", "normal client failed")
    srv.stop()


def garbage_process(port, seed, nconns, seconds, sent):
    """One of the random-bytes senders: nconns connections, each sent
    random or RESP-shaped bytes in turn, reconnected when the server closes
    it. A separate process, so the senders cannot starve the normal
    client of the interpreter's lock."""
    rnd = random.Random(seed)
    socks = [None] * nconns
    total = 0
    end = time.time() + seconds
    while time.time() < end:
        for i in range(nconns):
            s = socks[i]
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", port), 2)
                    s.setblocking(False)
                    socks[i] = s
                kind = rnd.random()
                if kind < 0.5:
                    data = rnd.randbytes(rnd.randint(1, 512))
                elif kind < 0.8:
                    # RESP-shaped garbage reaches deeper into the parser.
                    data = rnd.choice([b"*", b"$", b"\r\n", b"-1", b"99999",
                                       b"PING", b"*1\r\n$4\r\n", b"\n",
                                       b"SET", b"*-1\r\n"]) * rnd.randint(1, 8)
                else:
                    data = resp("SET", "g%d" % seed, "x" * rnd.randint(0, 64))
                s.send(data)
                total += len(data)
                try:
                    if not s.recv(65536):
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
            except OSError:
                if s is not None:
                    s.close()
                socks[i] = None
        time.sleep(0.002)  # leave the 2 cores to the server and client
    for s in socks:
        if s is not None:
            s.close()
    with sent.get_lock():
        sent.value += total


def case_random_bytes(binary):
    """100 clients send random bytes (reconnecting when closed) while a
    normal client's commands keep succeeding."""
    import multiprocessing
    seconds = float(os.environ.get("OPS_FUZZ_SECONDS", "10"))
    srv = Server(binary).start()
    sent = multiprocessing.Value("q", 0)
    procs = [multiprocessing.Process(
        target=garbage_process, args=(srv.port, i, 25, seconds, sent))
        for i in range(4)]
    for p in procs:
        p.start()
    c = srv.client(socket_timeout=10)
    t0 = time.time()
    ops = 0
    while time.time() - t0 < seconds:
        key = "normal:%d" % (ops % 100)
        check(c.set(key, ops), "SET failed")
        check(c.get(key) == str(ops).encode(), "GET returned a wrong value")
        ops += 1
    for p in procs:
        p.join(30)
    check(srv.alive(), "the server died")
    check(c.ping(), "no PONG after the storm")
    figure("random_bytes_seconds", seconds)
    figure("random_bytes_sent", sent.value)
    figure("random_bytes_normal_client_ops", ops)
    check(ops > 100, "normal client made only %d round trips" % ops)
    srv.stop()


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binary, case = sys.argv[1], sys.argv[2]
    fn = globals().get("case_" + case)
    if fn is None:
        print("no case %r" % case)
        return 2
    try:
        fn(binary)
    except AssertionError as e:
        print("FAIL: %s" % e)
        return 1
    cleanup()
    print("PASS %s" % case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
