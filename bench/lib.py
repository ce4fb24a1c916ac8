"""bench/lib.py: what the server benchmarks share (bench/http/bench.py,
bench/redis/bench.py): a free port, a server process started, waited for and
stopped, its CPU time from /proc, the rounds' results and their medians, and
the markdown tables they print.

Imported by path: each script puts bench/ first on sys.path."""
import os
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (as of now)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def _stat_ticks(path):
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[11], [12]: utime, stime (the 14th and 15th of the line)
    return int(fields[11]) + int(fields[12])


def cpu_ticks(pid):
    """utime+stime in clock ticks of the process, from /proc/PID/stat (its
    threads, the live and the exited ones)."""
    return _stat_ticks("/proc/%d/stat" % pid)


def threads_cpu_ticks(pid):
    """utime+stime in clock ticks summed over the process's live threads
    (/proc/PID/task/TID/stat)."""
    return sum(_stat_ticks("/proc/%d/task/%s/stat" % (pid, tid))
               for tid in os.listdir("/proc/%d/task" % pid))


def start(argv, quiet_stderr=False):
    """Starts a server; its stdout (and with quiet_stderr its stderr) goes
    to /dev/null."""
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if quiet_stderr else None)


def wait_ready(proc, ready, seconds=30):
    """Calls ready() every 50 ms until it is true (True), the process exits
    or `seconds` pass (False; proc.poll() tells which)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(0.05)
    return False


def port_open(port):
    """Whether a TCP connection to 127.0.0.1:port is accepted."""
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def stop(proc):
    """SIGTERM, then SIGKILL if it has not exited within 10 s; reaped."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().strip()


class Results:
    """Each round's result (a dict of figures) per key, and their medians."""

    def __init__(self):
        self.runs = {}

    def add(self, key, result):
        self.runs.setdefault(key, []).append(result)

    def get(self, key):
        return self.runs.get(key)

    def median(self, key, figure):
        return statistics.median(r[figure] for r in self.runs[key])

    def medians(self, key, figures):
        return {f: self.median(key, f) for f in figures}


def table_head(columns):
    """A markdown table's header and rule."""
    print(table_row(columns))
    print("|" + "---|" * len(columns))


def table_row(cells):
    return "| " + " | ".join(cells) + " |"
