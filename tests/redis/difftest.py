#!/usr/bin/python3
"""difftest.py: the differential conformance suite of kairo-redis.

Starts kairo-redis and Debian's redis-server on free ports in the same run,
sends every case of tests/redis/cases_*.py to both through a raw RESP
client (resp.py) and redis-cli, and fails on any difference in the replies.

    /usr/bin/python3 tests/redis/difftest.py --kairo build/bin/kairo-redis \
        [--family string] [--verbose]

Exit status: 0 all identical, 1 a difference (each one printed), 77 when
redis-server is not installed (ctest's SKIP_RETURN_CODE).
"""
import argparse
import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from resp import Conn, ConnectionClosed  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, name, argv, port):
        self.name = name
        self.port = port
        self.log = open(os.path.join(
            os.environ.get("TMPDIR", "/tmp"),
            "difftest-%s-%d.log" % (name, port)), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while True:
            try:
                c = Conn(port)
                if c.call("PING") == ("+", "PONG"):
                    c.close()
                    break
                c.close()
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.log.seek(0)
                raise RuntimeError("%s did not start:\n%s" %
                                   (name, self.log.read()))
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def norm(reply, step):
    if isinstance(step, harness.Cmd):
        if step.ignore:
            return (reply[0], "<ignored>")
        if step.scan and reply[0] == "*" and reply[1] and len(reply[1]) == 2:
            cur, items = reply[1]
            return ("*", [cur, (items[0], sorted(items[1] or [], key=repr))])
        if step.unordered and reply[0] in "*~" and reply[1] is not None:
            return (reply[0], sorted(reply[1], key=repr))
        if step.unordered and reply[0] == "%":
            return (reply[0], sorted(reply[1], key=repr))
        if step.pairs and reply[0] == "*" and reply[1] is not None:
            it = reply[1]
            return ("*", sorted(zip(it[0::2], it[1::2]), key=repr))
        if step.pairs and reply[0] == "%":
            return ("%", sorted(reply[1], key=repr))
    return reply


def run_step(conn, server, step, cli_path):
    if isinstance(step, (list, tuple)):
        step = harness.Cmd(step)
    if isinstance(step, harness.Cmd):
        try:
            return norm(conn.call(*step.args), step)
        except ConnectionClosed:
            return ("<closed>",)
    if isinstance(step, harness.Raw):
        try:
            conn.send_raw(step.data)
            return [conn.read() for _ in range(step.replies)]
        except (ConnectionClosed, BrokenPipeError, ConnectionResetError):
            return ("<closed>",)
    if isinstance(step, harness.ExpectClosed):
        return ("closed" if conn.is_closed() else "open",)
    if isinstance(step, harness.Cli):
        p = subprocess.run([cli_path, "-p", str(server.port)] + step.args,
                           input=step.stdin, capture_output=True,
                           timeout=30)
        return (p.returncode, p.stdout, p.stderr)
    raise ValueError("unknown step %r" % (step,))


def describe(step):
    if isinstance(step, (list, tuple)):
        return " ".join(map(str, step))
    if isinstance(step, harness.Cmd):
        return " ".join(map(str, step.args))
    if isinstance(step, harness.Raw):
        return "raw %r" % step.data[:80]
    if isinstance(step, harness.Cli):
        return "redis-cli " + " ".join(step.args)
    return type(step).__name__


def reset(servers):
    for s in servers:
        c = Conn(s.port)
        c.call("FLUSHALL")
        c.close()


def missing_commands(case, servers):
    """Commands of the case that redis-server knows and kairo-redis does
    not (yet): the case is skipped and listed, not failed, so a family's
    cases turn on when its commands land."""
    names = set()
    for step in case.steps:
        args = step if isinstance(step, (list, tuple)) else (
            step.args if isinstance(step, harness.Cmd) else None)
        if args:
            a = args[0]
            names.add(a.decode() if isinstance(a, bytes) else str(a).lower())
    missing = []
    conns = [Conn(s.port) for s in servers]
    try:
        for n in sorted(names):
            k = conns[0].call("COMMAND", "INFO", n)
            r = conns[1].call("COMMAND", "INFO", n)
            if k[1][0][1] is None and r[1][0][1] is not None:
                missing.append(n)
    finally:
        for c in conns:
            c.close()
    return missing


def run_case(case, servers, cli_path, verbose):
    """Returns (steps compared, list of difference messages)."""
    reset(servers)
    conns = [Conn(s.port) for s in servers]
    diffs = []
    compared = 0
    try:
        for step in case.steps:
            if isinstance(step, harness.Sleep):
                time.sleep(step.seconds)
                continue
            if isinstance(step, harness.Reconnect):
                for c in conns:
                    c.close()
                conns = [Conn(s.port) for s in servers]
                continue
            got = [run_step(c, s, step, cli_path)
                   for c, s in zip(conns, servers)]
            compared += 1
            if verbose:
                print("    %-50s %r" % (describe(step)[:50], got[1]))
            if got[0] != got[1]:
                diffs.append("%s: %s\n      kairo-redis:  %r\n"
                             "      redis-server: %r" %
                             (case.name, describe(step), got[0], got[1]))
    finally:
        for c in conns:
            c.close()
        for s in servers:
            try:
                c = Conn(s.port)
                for cl in case.cleanup:
                    c.call(*cl)
                c.close()
            except OSError:
                pass
    return compared, diffs


def load_cases(family):
    pattern = "cases_%s.py" % (family or "*")
    files = sorted(glob.glob(os.path.join(HERE, pattern)))
    out = []
    for f in files:
        name = os.path.basename(f)[len("cases_"):-3]
        spec = importlib.util.spec_from_file_location("cases_" + name, f)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        out.append((name, mod.CASES))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kairo", required=True)
    ap.add_argument("--redis-server", default=shutil.which("redis-server")
                    or "/usr/bin/redis-server")
    ap.add_argument("--redis-cli", default=shutil.which("redis-cli")
                    or "/usr/bin/redis-cli")
    ap.add_argument("--family", default=None)
    ap.add_argument("--kairo-args", default="")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    if not os.path.exists(a.redis_server) or not os.path.exists(a.redis_cli):
        print("SKIP: redis-server/redis-cli not installed "
              "(scripts/deps.sh installs them)")
        return 77
    families = load_cases(a.family)
    if not families:
        print("no cases for family %r" % a.family)
        return 1
    kp, rp = free_port(), free_port()
    servers = []
    try:
        servers.append(Server("kairo-redis",
                              [a.kairo, "--port", str(kp)] +
                              a.kairo_args.split(), kp))
        servers.append(Server("redis-server",
                              [a.redis_server, "--port", str(rp), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly",
                               "no", "--daemonize", "no"], rp))
        total_cases = total_steps = 0
        all_diffs = []
        skipped = []
        for fam, cases in families:
            for cs in cases:
                miss = missing_commands(cs, servers)
                if miss:
                    skipped.append("%s (needs %s)" % (cs.name, ", ".join(miss)))
                    continue
                if a.verbose:
                    print("  case %s" % cs.name)
                n, diffs = run_case(cs, servers, a.redis_cli, a.verbose)
                total_cases += 1
                total_steps += n
                all_diffs.extend(diffs)
            for s in servers:
                if s.proc.poll() is not None:
                    all_diffs.append("%s exited (status %s) during %s" %
                                     (s.name, s.proc.returncode, fam))
                    raise SystemExit(report(total_cases, total_steps,
                                            all_diffs))
        for sk in skipped:
            print("SKIPPED " + sk)
        return report(total_cases, total_steps, all_diffs)
    finally:
        for s in servers:
            s.stop()


def report(cases, steps, diffs):
    for d in diffs:
        print("DIFF " + d)
    print("%d cases, %d replies compared, %d differences" %
          (cases, steps, len(diffs)))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
