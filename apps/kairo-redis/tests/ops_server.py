"""ops_server.py: start and stop a Redis-compatible server for the
persistence and abuse tests (ops_tests.py).

The server is kairo-redis (`BIN --config FILE`) or, to check a test itself,
Debian's redis-server (`redis-server FILE`): both read the same redis.conf
lines. Each server gets a fresh directory and a free port.
"""
import os
import resource
import signal
import socket
import subprocess
import tempfile
import time

SKIP = 77  # ctest's SKIP_RETURN_CODE

# Directories made for servers, removed by cleanup() (a passing case's;
# a failing one keeps them for a person to read the logs).
DIRS = []


def cleanup():
    import shutil
    for d in DIRS:
        shutil.rmtree(d, ignore_errors=True)
    del DIRS[:]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    """Resident set size of a process, in KiB (VmRSS)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    def __init__(self, binary, conf=None, workdir=None, port=None,
                 args=None):
        self.binary = binary
        self.args = list(args or [])
        self.is_redis = os.path.basename(binary).startswith("redis-server")
        self.dir = workdir or tempfile.mkdtemp(prefix="kr-ops-")
        if workdir is None:
            DIRS.append(self.dir)
        self.port = port or free_port()
        self.conf = dict(conf or {})
        self.proc = None
        self.log_path = os.path.join(self.dir, "server.log")

    def write_conf(self):
        path = os.path.join(self.dir, "server.conf")
        lines = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": self.dir,
            "save": '""',
        }
        lines.update(self.conf)
        with open(path, "w") as f:
            for k, v in lines.items():
                f.write("%s %s\n" % (k, v))
        return path

    def start(self, wait=10.0):
        conf = self.write_conf()
        if self.is_redis:
            argv = [self.binary, conf]
        else:
            argv = [self.binary, "--config", conf] + self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        deadline = time.time() + wait
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s; log:\n%s" %
                                   (self.proc.returncode, self.read_log()))
            try:
                s = socket.create_connection(("127.0.0.1", self.port), 0.5)
                s.sendall(b"PING\r\n")
                data = s.recv(64)
                s.close()
                if data.startswith(b"+PONG"):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not answer PING; log:\n" +
                           self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()
        self.proc = None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("server did not exit on signal %d" % sig)
        self.proc = None

    def aof_path(self):
        """The file the commands are appended to: kairo-redis's single
        file, or Redis 7's current incremental file."""
        name = self.conf.get("appendfilename", "appendonly.aof").strip('"')
        single = os.path.join(self.dir, name)
        if os.path.exists(single):
            return single
        d = os.path.join(self.dir, "appendonlydir")
        if os.path.isdir(d):
            incr = sorted(f for f in os.listdir(d) if f.endswith(".incr.aof"))
            if incr:
                return os.path.join(d, incr[-1])
        return single

    def client(self, **kw):
        import redis
        return redis.Redis(host="127.0.0.1", port=self.port,
                           socket_timeout=kw.pop("socket_timeout", 30), **kw)

    def rss_kib(self):
        return rss_kib(self.proc.pid) if self.alive() else 0


def raise_nofile(want):
    """Raises the soft RLIMIT_NOFILE towards `want`; returns what it got."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
