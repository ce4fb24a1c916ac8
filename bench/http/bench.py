#!/usr/bin/python3
"""make bench-http: the HTTP hello route under wrk, kairo-http against its
peers, in one run with interleaved rounds; medians.

    bench/http/bench.py [--rounds N] [--seconds S] [--conns 64,1000]

For each round, for each connection count, every server in turn: started
fresh, `wrk -t1 -cC -dSs --latency http://127.0.0.1:PORT/`, stopped.
Reported per server and count: req/s, p50 and p99 latency (wrk's), and
the server's CPU per request: utime+stime from /proc/PID/stat (all its
threads) across the wrk run, divided by the requests wrk counted.

Servers: kairo-http current-thread and 2 workers, on epoll and on
io_uring (build/bin/kairo-http, or $KAIRO_HTTP), and each peer whose
binary exists: $HTTP_PEERS, a comma-separated list of NAME=COMMAND
(COMMAND with {port}), e.g.
"tokio-http 2w=build/peers/tokio/release/tokio-http {port} --workers 2".
Without $HTTP_PEERS the peers are those of DEFAULT_PEERS that are built:
epoll-http and uring-http (build/bin/, the hand-written limits on epoll
and on io_uring's completions, built by `make build`), tokio-http and hyper-http current-thread and 2 workers
(build/peers/tokio/release/, built by bench/peers/tokio/build.sh). A
server that is missing is left out with a line saying so. Like with like:
a server whose name ends in "2w" is in the 2-worker group, every other
one in the current-thread (single-threaded) group; the table lists the
groups apart, each row's req/s and CPU also as a ratio to kairo-http's
(epoll) of its group.

The machine is shared (2 cores, wrk on the same ones): read the figures as
ratios within one run, and note the load printed at the start."""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import lib  # noqa: E402  (bench/lib.py)

# The peers measured when $HTTP_PEERS is not set, those built. "ct": a
# single thread (current-thread runtime); "2w": two workers.
PEERS = "build/peers/tokio/release"
DEFAULT_PEERS = [
    ("epoll-http", ["build/bin/epoll-http", "{port}"]),
    ("uring-http", ["build/bin/uring-http", "{port}"]),
    ("tokio-http ct", [PEERS + "/tokio-http", "{port}", "--current-thread"]),
    ("hyper-http ct", [PEERS + "/hyper-http", "{port}", "--current-thread"]),
    ("tokio-http 2w", [PEERS + "/tokio-http", "{port}", "--workers", "2"]),
    ("hyper-http 2w", [PEERS + "/hyper-http", "{port}", "--workers", "2"]),
]


def group(name):
    return "2w" if name.endswith("2w") else "ct"


def to_us(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    x = float(m.group(1))
    return x * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def run_one(cmd, conns, seconds):
    port = lib.free_port()
    argv = [a.replace("{port}", str(port)) for a in cmd]
    proc = lib.start(argv)
    try:
        if not lib.wait_ready(proc, lambda: lib.port_open(port)):
            return None
        t0 = lib.threads_cpu_ticks(proc.pid)
        r = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds,
                            "--latency", "http://127.0.0.1:%d/" % port],
                           capture_output=True, text=True,
                           timeout=seconds + 60)
        t1 = lib.threads_cpu_ticks(proc.pid)
    finally:
        lib.stop(proc)
    out = r.stdout
    # the percentiles, at the start of their lines: "+/- Stdev" columns
    # such as "87.99%" end in "99%" too
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s))\s*$", out,
                          re.M))
    if len(pct) != 2 or not re.search(r"(\d+) requests in", out):
        print("wrk did not report (rc %d): %s" % (r.returncode,
              (out + r.stderr).strip().replace("\n", " | ")[-400:]))
        return None
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_us(pct["50"])
    p99 = to_us(pct["99"])
    errors = "Socket errors" in out or "Non-2xx" in out
    cpu_us = (t1 - t0) / lib.TICK * 1e6 / max(reqs, 1)
    return {"rps": rps, "p50": p50, "p99": p99, "cpu": cpu_us,
            "errors": errors}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--conns", default="64,1000")
    args = ap.parse_args()
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(8192, hard) if hard > 0 else 8192, hard))
    except (ValueError, OSError):
        pass
    kh = os.environ.get("KAIRO_HTTP",
                        os.path.join(lib.ROOT, "build/bin/kairo-http"))
    servers = []
    if os.access(kh, os.X_OK):
        servers.append(("kairo-http ct", [kh, "{port}", "--current-thread"]))
        servers.append(("kairo-http uring ct",
                        [kh, "{port}", "--current-thread", "--io", "uring"]))
        servers.append(("kairo-http 2w", [kh, "{port}", "--workers", "2"]))
        servers.append(("kairo-http uring 2w",
                        [kh, "{port}", "--workers", "2", "--io", "uring"]))
    else:
        print("kairo-http not found at %s: left out" % kh)
    if "HTTP_PEERS" in os.environ:
        peers = [(n, c.split()) for n, c in (
            spec.split("=", 1)
            for spec in filter(None, os.environ["HTTP_PEERS"].split(",")))]
    else:
        peers = [(n, [os.path.join(lib.ROOT, c[0])] + c[1:])
                 for n, c in DEFAULT_PEERS]
    for name, argv in peers:
        if os.access(argv[0], os.X_OK):
            servers.append((name, argv))
        else:
            print("peer %s: %s not found, left out" % (name, argv[0]))
    # like with like: the current-thread group, then the 2-worker one
    servers.sort(key=lambda s: group(s[0]) == "2w")
    if not servers:
        print("no server to measure")
        return 1
    print("load average: %s" % lib.load_average())
    conns = [int(c) for c in args.conns.split(",")]
    res = lib.Results()
    for rnd in range(args.rounds):
        for c in conns:
            for name, cmd in servers:
                r = run_one(cmd, c, args.seconds)
                if r is None:
                    print("round %d c=%d %s: no result" % (rnd, c, name))
                    continue
                res.add((name, c), r)
                print("round %d c=%-4d %-20s %9.0f req/s  p50 %7.0f us  "
                      "p99 %7.0f us  cpu %5.2f us/req%s"
                      % (rnd, c, name, r["rps"], r["p50"], r["p99"], r["cpu"],
                         "  (socket errors)" if r["errors"] else ""))
    print("\nmedians of %d rounds, %d s each (wrk -t1 --latency)"
          % (args.rounds, args.seconds))
    lib.table_head(["server", "conns", "req/s", "p50 us", "p99 us",
                    "CPU us/req", "req/s ÷ kairo", "CPU ÷ kairo"])
    figs = ("rps", "p50", "p99", "cpu")
    for c in conns:
        for name, _ in servers:
            if not res.get((name, c)):
                continue
            med = res.medians((name, c), figs)
            # the ratios to kairo-http (epoll) of the same group
            kname = "kairo-http " + group(name)
            base = res.medians((kname, c), figs) if res.get((kname, c)) \
                else None
            ratio = (["%.2f" % (med["rps"] / base["rps"]),
                      "%.2f" % (med["cpu"] / base["cpu"])]
                     if base and base["rps"] > 0 and base["cpu"] > 0
                     else ["-", "-"])
            print(lib.table_row([name, "%d" % c, "%.0f" % med["rps"],
                                 "%.0f" % med["p50"], "%.0f" % med["p99"],
                                 "%.2f" % med["cpu"]] + ratio))
    print("load average: %s" % lib.load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
