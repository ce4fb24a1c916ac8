"""harness.py: the step types of a differential test case.

A case file (tests/redis/cases_<family>.py) defines CASES, a list of
case(name, step, step, ...). Each case runs on a fresh connection to
kairo-redis and one to redis-server (after FLUSHALL on both); every step's
reply from the two servers must be identical. Steps:

    ["SET", "k", "v"]             a command (str/bytes/int arguments)
    cmd([...], unordered=True)    compare as a multiset (SMEMBERS, KEYS...)
    cmd([...], ignore=True)       run it, compare only the reply's type
    cmd([...], scan=True)         a SCAN-shaped reply: [cursor, [elements]],
                                  the elements compared as a multiset
    cmd([...], pairs=True)        a flat [k, v, k, v] array compared as an
                                  unordered set of pairs (HGETALL, CONFIG GET)
    raw(b"...", replies=N)        send bytes as they are, read N replies
    expect_closed()               the server closed this connection
    sleep(0.1)                    wait (expiry tests)
    cli(["-n", "1", "GET", "k"])  run redis-cli against each, compare stdout
    reconnect()                   a new connection (same servers)

case(..., cleanup=[[...], ...]) runs commands after the case on both
servers (undo a CONFIG SET). Keep cases deterministic: no timing in
replies (use ignore=True for PTTL and the like).
"""


class Cmd:
    def __init__(self, args, unordered=False, ignore=False, pairs=False,
                 scan=False):
        self.args = list(args)
        self.scan = scan
        self.unordered = unordered
        self.ignore = ignore
        self.pairs = pairs


class Raw:
    def __init__(self, data, replies=1):
        self.data = data
        self.replies = replies


class ExpectClosed:
    pass


class Sleep:
    def __init__(self, seconds):
        self.seconds = seconds


class Cli:
    def __init__(self, args, stdin=None):
        self.args = list(args)
        self.stdin = stdin


class Reconnect:
    pass


class Case:
    def __init__(self, name, steps, cleanup=None, resp3=False):
        self.name = name
        self.steps = steps
        self.cleanup = cleanup or []


def case(name, *steps, cleanup=None):
    return Case(name, list(steps), cleanup)


def cmd(args, **kw):
    return Cmd(args, **kw)


def raw(data, replies=1):
    return Raw(data, replies)


def expect_closed():
    return ExpectClosed()


def sleep(seconds):
    return Sleep(seconds)


def cli(args, stdin=None):
    return Cli(args, stdin)


def reconnect():
    return Reconnect()


def wrongtype_cases(family, make, commands):
    """For a family: `make` creates key "wt" of another type; each of
    `commands` (argument lists using "wt") must answer WRONGTYPE."""
    return [case("%s wrongtype %s" % (family, c[0]), make, c)
            for c in commands]
