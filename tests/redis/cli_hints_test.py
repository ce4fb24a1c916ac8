"""cli_hints_test.py: redis-cli's inline hints against kairo-redis.

redis-cli 7 builds its hints from COMMAND DOCS' "arguments" when the
server answers it. This drives redis-cli in a tmux pane, types a partial
command (without Enter) and compares the line it shows, hint included,
against kairo-redis and against redis-server started in the same run.

Exit status: 0 identical, 1 a difference, 77 when tmux, redis-cli or
redis-server is missing.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from difftest import Server, free_port  # noqa: E402

TYPED = ["set k", "set k v ", "zadd z", "zrange z 0 1 ", "lmove a b ",
         "hset h", "expire k 10 ", "getex k", "client kill ",
         "scan 0 ", "zrangebyscore z 1 2 "]


def capture(cli, port, typed):
    sess = "kr-hints-%d-%d" % (os.getpid(), port)
    # A tmux server of its own (-L) per capture: with the shared default
    # server, the next new-session could reach the server that the last
    # kill-session was shutting down ("server exited unexpectedly").
    tmux = ["tmux", "-L", sess]
    subprocess.run(tmux + ["new-session", "-d", "-s", sess, "-x", "150",
                    "-y", "10", "%s -p %d" % (cli, port)], check=True)
    try:
        lines = []
        # redis-cli fetches COMMAND DOCS at start; wait for its prompt.
        deadline = time.time() + 15
        while time.time() < deadline:
            out = subprocess.run(tmux + ["capture-pane", "-p", "-t", sess],
                                 capture_output=True, text=True).stdout
            if "> " in out:
                break
            time.sleep(0.1)
        for t in typed:
            subprocess.run(tmux + ["send-keys", "-t", sess, "-l", t],
                           check=True)
            want = "> " + t
            line = ""
            deadline = time.time() + 10
            while time.time() < deadline:
                out = subprocess.run(
                    tmux + ["capture-pane", "-p", "-t", sess],
                    capture_output=True, text=True).stdout
                cur = [x for x in out.splitlines() if "> " in x]
                line = cur[-1].rstrip() if cur else ""
                if want.rstrip() in line:
                    break
                time.sleep(0.1)
            time.sleep(0.3)  # the hint is drawn with the last key
            out = subprocess.run(tmux + ["capture-pane", "-p", "-t", sess],
                                 capture_output=True, text=True).stdout
            cur = [x for x in out.splitlines() if "> " in x]
            line = cur[-1].rstrip() if cur else ""
            lines.append(line[line.index("> ") + 2:] if "> " in line
                         else line)
            subprocess.run(tmux + ["send-keys", "-t", sess, "C-u"],
                           check=True)
            time.sleep(0.1)
        return lines
    finally:
        subprocess.run(tmux + ["kill-session", "-t", sess],
                       capture_output=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kairo", required=True)
    ap.add_argument("--redis-server", default=shutil.which("redis-server")
                    or "/usr/bin/redis-server")
    a = ap.parse_args()
    cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
    for tool in ("tmux", a.redis_server, cli):
        if not shutil.which(tool) and not os.path.exists(tool):
            print("SKIP: %s not installed (scripts/deps.sh)" % tool)
            return 77
    kp, rp = free_port(), free_port()
    servers = []
    try:
        servers.append(Server("kairo-redis", [a.kairo, "--port", str(kp)],
                              kp))
        servers.append(Server("redis-server",
                              [a.redis_server, "--port", str(rp), "--bind",
                               "127.0.0.1", "--save", "", "--appendonly",
                               "no", "--daemonize", "no"], rp))
        mine = capture(cli, kp, TYPED)
        theirs = capture(cli, rp, TYPED)
        bad = 0
        for t, m, r in zip(TYPED, mine, theirs):
            ok = m == r and len(r) > len(t.rstrip())
            print("%s %-22r kairo: %r\n%24s redis: %r" %
                  ("ok  " if ok else "DIFF", t, m, "", r))
            bad += not ok
        return 1 if bad else 0
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
