"""The protocol: inline commands, pipelining, malformed input, limits."""
from harness import case, raw, expect_closed

CASES = [
    case("inline ping", raw(b"PING\r\n")),
    case("inline lf only", raw(b"PING\n")),
    case("inline args", raw(b"SET k hello\r\nGET k\r\n", replies=2)),
    case("inline quotes", raw(b'SET k "a b\\x41\\n"\r\nGET k\r\n', replies=2)),
    case("inline single quotes", raw(b"SET k 'it''s'\r\n"),
         raw(b"SET k 'it\\'s'\r\nGET k\r\n", replies=2)),
    case("inline unbalanced", raw(b'SET k "abc\r\n'), expect_closed()),
    case("inline empty lines", raw(b"\r\n\r\nPING\r\n")),
    case("pipeline", raw(b"*1\r\n$4\r\nPING\r\n" * 50, replies=50)),
    case("pipeline mixed", raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
                               b"GET k\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
                               replies=3)),
    case("multibulk empty", raw(b"*0\r\n*-1\r\nPING\r\n")),
    case("bad multibulk len", raw(b"*abc\r\n"), expect_closed()),
    case("bad bulk len", raw(b"*1\r\n$abc\r\n"), expect_closed()),
    case("negative bulk len", raw(b"*1\r\n$-1\r\n"), expect_closed()),
    case("expected dollar", raw(b"*1\r\n+PING\r\n"), expect_closed()),
    case("4GiB bulk", raw(b"*1\r\n$4294967296\r\n"), expect_closed()),
    case("too big bulk", raw(b"*2\r\n$3\r\nGET\r\n$536870913\r\n"),
         expect_closed()),
    case("huge multibulk", raw(b"*2147483648\r\n"), expect_closed()),
    case("arg split across writes",
         raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhel", replies=0),
         raw(b"lo\r\nGET k\r\n", replies=2)),
    case("big value", raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$200000\r\n" +
                          b"x" * 200000 + b"\r\n*2\r\n$6\r\nSTRLEN\r\n"
                          b"$1\r\nk\r\n", replies=2)),
]
