#!/usr/bin/python3
"""bench.py: kairo-redis against redis-server under redis-benchmark
(what `make bench-redis` runs).

    /usr/bin/python3 bench/redis/bench.py [--kairo build/bin/kairo-redis]
        [--rounds 3] [--n 200000] [--clients 50] [--tests set,get,...]
        [--pipelines 1,16] [--aof]

Servers, all started once and left idle between runs: redis-server
(--save '' --appendonly no), kairo-redis on one thread (--current-thread:
one worker, no lock) and kairo-redis on two workers (--workers 2). For each
round, each pipeline depth and each test, the servers are run one after
another (their order rotated every round, so drift in the machine's load
falls on all of them): redis-benchmark -c 50 -n 200000 -t TEST -P P --csv.
Per run: requests/s, p50 and p99 (redis-benchmark's figures) and the
server's CPU (utime+stime from /proc over the run) per request. The table
shows the median of the rounds.
"""
import argparse
import csv
import io
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lib  # noqa: E402  (bench/lib.py)

TESTS = ("set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,"
         "lrange_100,mset")


def cpu_seconds(pid):
    return lib.cpu_ticks(pid) / lib.TICK


def pong(port):
    try:
        out = subprocess.run(["redis-cli", "-p", str(port), "PING"],
                             capture_output=True, timeout=5).stdout
    except subprocess.TimeoutExpired:
        return False
    return b"PONG" in out


def start(name, argv, port):
    p = lib.start(argv, quiet_stderr=True)
    if not lib.wait_ready(p, lambda: pong(port)):
        exited = p.poll() is not None
        lib.stop(p)
        raise SystemExit("server on %d %s" %
                         (port, "exited" if exited else "did not start"))
    return {"name": name, "proc": p, "port": port}


def bench_one(srv, test, pipeline, a):
    subprocess.run(["redis-cli", "-p", str(srv["port"]), "FLUSHALL"],
                   capture_output=True)
    c0 = cpu_seconds(srv["proc"].pid)
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(srv["port"]),
         "-c", str(a.clients), "-n", str(a.n), "-t", test, "-P",
         str(pipeline), "--csv"], capture_output=True, text=True,
        timeout=900).stdout
    c1 = cpu_seconds(srv["proc"].pid)
    rows = list(csv.reader(io.StringIO(out)))
    if len(rows) < 2:
        raise SystemExit("redis-benchmark printed nothing for %s" % test)
    # The test's own row is the last: lrange_100 first runs "LPUSH (needed
    # to benchmark LRANGE)", n requests more, which the CPU figure counts
    # (CPU per request over every request of the run). mset's requests are
    # MSETs of 10 keys.
    hdr, vals = rows[0], rows[-1]
    d = dict(zip(hdr, vals))
    requests = a.n * (len(rows) - 1)
    return {"rps": float(d["rps"]), "p50": float(d["p50_latency_ms"]),
            "p99": float(d["p99_latency_ms"]),
            "cpu_us": (c1 - c0) * 1e6 / requests}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kairo", default="build/bin/kairo-redis")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--tests", default=TESTS)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--aof", action="store_true",
                    help="appendonly yes, appendfsync everysec on all")
    a = ap.parse_args()
    for tool in ("redis-server", "redis-benchmark", "redis-cli"):
        if shutil.which(tool) is None:
            raise SystemExit("%s not installed (scripts/deps.sh)" % tool)
    tmp = os.environ.get("TMPDIR", "/tmp")
    wd = os.path.join(tmp, "kairo-redis-bench-%d" % os.getpid())
    os.makedirs(wd, exist_ok=True)
    aof = (["--appendonly", "yes", "--appendfsync", "everysec", "--dir", wd]
           if a.aof else ["--appendonly", "no"])
    servers = []
    try:
        p = lib.free_port()
        servers.append(start("redis-server", [
            "redis-server", "--port", str(p), "--bind", "127.0.0.1",
            "--save", "", "--daemonize", "no", "--appendfilename",
            "redis.aof"] + aof, p))
        p = lib.free_port()
        servers.append(start("kairo 1 thread", [
            a.kairo, "--port", str(p), "--current-thread",
            "--appendfilename", "kairo1.aof"] + aof, p))
        p = lib.free_port()
        servers.append(start("kairo 2 workers", [
            a.kairo, "--port", str(p), "--workers", "2",
            "--appendfilename", "kairo2.aof"] + aof, p))
        tests = a.tests.split(",")
        pipes = [int(x) for x in a.pipelines.split(",")]
        res = lib.Results()
        for rnd in range(a.rounds):
            order = servers[rnd % 3:] + servers[:rnd % 3]
            for pl in pipes:
                for t in tests:
                    for s in order:
                        r = bench_one(s, t, pl, a)
                        res.add((s["name"], pl, t), r)
                        print("round %d -P %-2d %-10s %-16s %10.0f req/s "
                              "p99 %.3f ms  %.2f us cpu/req" %
                              (rnd + 1, pl, t, s["name"], r["rps"], r["p99"],
                               r["cpu_us"]), file=sys.stderr, flush=True)
        report(res, servers, tests, pipes, a)
    finally:
        for s in servers:
            lib.stop(s["proc"])
        shutil.rmtree(wd, ignore_errors=True)


def report(res, servers, tests, pipes, a):
    names = [s["name"] for s in servers]
    print("\nredis-benchmark -c %d -n %d, medians of %d rounds%s" %
          (a.clients, a.n, a.rounds, " (AOF everysec)" if a.aof else ""))
    for pl in pipes:
        print("\n-P %d: requests/s (ratio to redis-server), server CPU "
              "us/request, p99 ms\n" % pl)
        lib.table_head(["test"] + ["%s req/s" % n for n in names] +
                       ["%s cpu us/req" % n for n in names] +
                       ["%s p50/p99 ms" % n for n in names])
        for t in tests:
            base = res.median((names[0], pl, t), "rps")
            cells = []
            for n in names:
                v = res.median((n, pl, t), "rps")
                cells.append("%.0f" % v if n == names[0] else
                             "%.0f (%.2fx)" % (v, v / base))
            cells += ["%.2f" % res.median((n, pl, t), "cpu_us")
                      for n in names]
            cells += ["%.3f/%.3f" % (res.median((n, pl, t), "p50"),
                                     res.median((n, pl, t), "p99"))
                      for n in names]
            print(lib.table_row([t] + cells))

if __name__ == "__main__":
    main()
