"""screen_test.py: kairo-console as a person would use it.

Runs examples/console_demo (a two-worker runtime serving its console),
starts kairo-console on its socket inside a detached tmux session of a
fixed size, and reads the screen with `tmux capture-pane -p`: the worker
rows, a named task, a slow-poll warning, the sort keys (i, then p) and q
quitting. Then `kairo-console --once`. Every wait polls the screen
against a generous deadline (a loaded 2-core machine may be slow to draw
the first frame); nothing sleeps a fixed time to let something happen.

  screen_test.py --demo BIN --console BIN [--save FILE]

--save writes the last full screen captured (for docs/observability.md).
Exit status: 0 pass, 1 fail, 77 when tmux is missing.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DEADLINE = 90  # seconds for any one thing to appear


class Fail(Exception):
    pass


def wait_for(what, check, deadline=DEADLINE, every=0.2):
    end = time.time() + deadline
    last = None
    while time.time() < end:
        ok, last = check()
        if ok:
            return last
        time.sleep(every)
    raise Fail("timed out waiting for %s; last seen:\n%s" % (what, last))


def task_rows(screen):
    """The task table's rows: (id, name) in screen order."""
    rows, inside = [], False
    for line in screen.splitlines():
        if line.startswith("ID ") and "NAME" in line:
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit():
                rows.append((parts[0], parts[1], line))
    return rows


def parse_dur(text):
    """kairo-console's short durations (850ns, 1.5us, 4.5ms, 1.23s,
    2m03s) in ns; None for '-'."""
    if text == "-":
        return None
    if "m" in text and text.endswith("s") and not text.endswith("ms"):
        m, sec = text[:-1].split("m")
        return (int(m) * 60 + int(sec)) * 10**9
    for unit, scale in (("ns", 1), ("us", 10**3), ("ms", 10**6),
                        ("s", 10**9)):
        if text.endswith(unit):
            return float(text[:-len(unit)]) * scale
    raise Fail("not a duration: %r" % text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", required=True)
    ap.add_argument("--console", required=True)
    ap.add_argument("--save")
    a = ap.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is missing (scripts/deps.sh installs it): skipped")
        return 77
    work = tempfile.mkdtemp(prefix="kr-screen-")
    sock = os.path.join(work, "console.sock")
    log = open(os.path.join(work, "demo.log"), "w+")
    demo = subprocess.Popen([a.demo, sock], stdout=log, stderr=log)
    sess = "kr-console-%d" % os.getpid()
    # A tmux server of its own (-L): nothing shared with other tests.
    tmux = ["tmux", "-L", sess, "-f", "/dev/null"]
    started = False
    screen = ""

    def capture():
        r = subprocess.run(tmux + ["capture-pane", "-p", "-t", sess],
                           capture_output=True, text=True)
        return r.stdout

    try:
        wait_for("the demo's socket",
                 lambda: (os.path.exists(sock) or demo.poll() is not None,
                          "no socket at %s" % sock))
        if demo.poll() is not None:
            log.seek(0)
            raise Fail("the demo exited (%s):\n%s" % (demo.returncode,
                                                      log.read()))
        env = dict(os.environ, TERM="xterm")
        subprocess.run(tmux + ["new-session", "-d", "-s", sess, "-x", "120",
                               "-y", "48", "%s %s" % (a.console, sock)],
                       check=True, env=env)
        started = True

        def full_screen():
            s = capture()
            lines = s.splitlines()
            ok = (any(l.startswith("WORKER") for l in lines) and
                  any(l.startswith("     0 ") for l in lines) and
                  any(l.startswith("     1 ") for l in lines) and
                  "slowpoke" in s and "idler-1" in s and
                  "POLL TIME" in s and
                  # Under load other polls may be slow too and push
                  # slowpoke's off the warning lines: any will do.
                  "slow poll: task" in s and
                  "sort: polls" in s)
            return ok, s
        screen = wait_for("workers, tasks, histogram and a slow-poll "
                          "warning on the screen", full_screen)
        # The header names the socket; a busy-share column reads "%".
        if sock not in screen.splitlines()[0]:
            raise Fail("no socket in the header:\n" + screen)
        # Warnings keep coming while it runs: the count goes up.
        def count():
            for l in capture().splitlines():
                if l.startswith("WARNINGS"):
                    return int(l.split()[1])
            return -1
        first = count()
        wait_for("a later slow-poll warning",
                 lambda: (count() > first, capture()))

        subprocess.run(tmux + ["send-keys", "-t", sess, "i"], check=True)
        by_idle = wait_for("the sort by time since last poll",
                           lambda: ("sort: since last poll" in capture(),
                                    capture()))
        rows = task_rows(by_idle)
        if not rows:
            raise Fail("no task rows:\n" + by_idle)
        # Where the runtime reports time since the last poll, the rows
        # come longest first (and a task polled once at start, an idler,
        # is among the first three, with the other two idlers).
        since = [parse_dur(r[2].split()[5]) for r in rows]
        known = [x for x in since if x is not None]
        if known:
            if known != sorted(known, reverse=True):
                raise Fail("sorted by idle time, not in order:\n" + by_idle)
            if not any(r[1].startswith("idler-") for r in rows[:4]):
                raise Fail("sorted by idle time, no idler near the top:\n"
                           + by_idle)
        subprocess.run(tmux + ["send-keys", "-t", sess, "p"], check=True)
        screen = wait_for("the sort by polls again",
                          lambda: ("sort: polls" in capture(), capture()))
        if a.save:
            with open(a.save, "w") as f:
                f.write("\n".join(l.rstrip() for l in screen.splitlines())
                        .rstrip() + "\n")
        subprocess.run(tmux + ["send-keys", "-t", sess, "q"], check=True)

        def gone():
            r = subprocess.run(tmux + ["has-session", "-t", sess],
                               capture_output=True)
            return r.returncode != 0, capture()
        wait_for("q to quit kairo-console", gone)
        started = False

        # --once: one frame on stdout.
        r = subprocess.run([a.console, "--once", "--interval", "300", sock],
                           capture_output=True, text=True, timeout=DEADLINE)
        if r.returncode != 0:
            raise Fail("--once failed (%d): %s" % (r.returncode, r.stderr))
        for want in ("WORKER", "slowpoke", "POLL TIME", "WARNINGS",
                     "slow poll: task"):
            if want not in r.stdout:
                raise Fail("--once lacks %r:\n%s" % (want, r.stdout))
        # A socket nobody serves: an error, not a hang.
        r = subprocess.run([a.console, "--once", os.path.join(work, "none")],
                           capture_output=True, text=True, timeout=DEADLINE)
        if r.returncode == 0 or "cannot connect" not in r.stderr:
            raise Fail("--once on no socket: %d %s" % (r.returncode,
                                                       r.stderr))

        demo.send_signal(signal.SIGTERM)
        rc = demo.wait(timeout=DEADLINE)
        if rc != 0:
            raise Fail("the demo exited %d" % rc)
        if os.path.exists(sock):
            raise Fail("the socket outlived the runtime")
        print("screen test passed; the screen was:\n" + screen)
        return 0
    except Fail as e:
        print("FAIL: %s" % e)
        log.seek(0)
        print("demo output:\n" + log.read()[-3000:])
        return 1
    finally:
        if started:
            subprocess.run(tmux + ["kill-session", "-t", sess],
                           capture_output=True)
        subprocess.run(tmux + ["kill-server"], capture_output=True)
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
