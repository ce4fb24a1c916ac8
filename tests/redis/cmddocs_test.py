"""cmddocs_test.py: COMMAND DOCS "arguments" against redis-server's.

For every command (and subcommand) kairo-redis lists, the argument tree of
its COMMAND DOCS reply is compared with Debian's redis-server's, started
in the same run: per argument name, type, token, key_spec_index, flags and
the nested arguments, exactly. Fields kairo-redis does not carry (since,
deprecated_since, display_text) are not compared. Exceptions: none beyond
EXCEPTIONS below.

Exit status: 0 identical, 1 a difference (each printed), 77 when
redis-server is not installed.
"""
import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from difftest import Server, free_port  # noqa: E402
from resp import Conn  # noqa: E402

# Commands whose trees knowingly differ: name -> why.
EXCEPTIONS = {}


def text(v):
    return v[1].decode() if isinstance(v[1], bytes) else v[1]


def as_map(v):
    if v[0] == "%":
        return {text(k): x for k, x in v[1]}
    items = v[1]
    return {text(items[i]): items[i + 1] for i in range(0, len(items), 2)}


def tree(args):
    out = []
    for a in args[1]:
        m = as_map(a)
        node = {"name": text(m["name"]), "type": text(m["type"])}
        if "token" in m:
            node["token"] = text(m["token"])
        if "key_spec_index" in m:
            node["key_spec_index"] = m["key_spec_index"][1]
        if "flags" in m:
            node["flags"] = sorted(text(f) for f in m["flags"][1])
        if "arguments" in m:
            node["arguments"] = tree(m["arguments"])
        out.append(node)
    return out


def docs(conn, names):
    reply = conn.call("COMMAND", "DOCS", *names)
    out = {}
    for name, d in as_map(reply).items():
        m = as_map(d)
        out[name] = tree(m["arguments"]) if "arguments" in m else []
        if "subcommands" in m:
            for sub, sd in as_map(m["subcommands"]).items():
                sm = as_map(sd)
                out[sub] = tree(sm["arguments"]) if "arguments" in sm else []
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kairo", required=True)
    ap.add_argument("--redis-server", default=shutil.which("redis-server")
                    or "/usr/bin/redis-server")
    a = ap.parse_args()
    if not os.path.exists(a.redis_server):
        print("SKIP: redis-server not installed (scripts/deps.sh)")
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
        kc, rc = Conn(kp), Conn(rp)
        names = [text(n) for n in kc.call("COMMAND", "LIST")[1]]
        mine, theirs = docs(kc, names), docs(rc, names)
        bad = 0
        for name in sorted(mine):
            if name not in theirs:
                continue
            if mine[name] != theirs[name] and name not in EXCEPTIONS:
                bad += 1
                print("DIFF %s\n  kairo: %s\n  redis: %s" %
                      (name, mine[name], theirs[name]))
        same = sum(1 for n in mine if n in theirs and mine[n] == theirs[n])
        print("%d of %d commands' argument trees identical (%d exceptions)"
              % (same, len(mine), len(EXCEPTIONS)))
        return 1 if bad else 0
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
