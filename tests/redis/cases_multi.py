"""Transactions on one connection: MULTI EXEC DISCARD, queueing errors
(EXECABORT), errors at run time, a rejected EXEC, WATCH/UNWATCH on the
watcher's own writes. (Several clients, WATCH touched by another one,
FLUSHDB and expiry: apps/kairo-redis/tests/ops_cases/multi.txt, run by
diff_ops.py.)"""
from harness import case

CASES = [
    case("multi exec", ["MULTI"], ["SET", "k", "1"], ["GET", "k"],
         ["SET", "k", "2"], ["EXEC"], ["GET", "k"]),
    case("multi empty", ["MULTI"], ["EXEC"]),
    case("exec without multi", ["EXEC"]),
    case("discard without multi", ["DISCARD"]),
    case("multi nested", ["MULTI"], ["MULTI"], ["PING"], ["EXEC"]),
    case("multi discard", ["SET", "k", "1"], ["MULTI"], ["SET", "k", "2"],
         ["DISCARD"], ["GET", "k"], ["EXEC"]),
    case("multi arity", ["MULTI", "x"], ["EXEC", "x"], ["DISCARD", "x"]),
    case("queueing error aborts", ["MULTI"], ["SET", "k"],
         ["NOSUCHCMD", "a"], ["SET", "k", "3"], ["EXEC"], ["GET", "k"]),
    case("run time error does not abort", ["SET", "s", "x"], ["MULTI"],
         ["SET", "k", "4"], ["INCR", "s"], ["SELECT", "99"], ["GET", "k"],
         ["EXEC"]),
    case("rejected exec aborts", ["MULTI"], ["SET", "k", "1"],
         ["EXEC", "extra"], ["EXEC"], ["GET", "k"]),
    case("no-multi commands", ["MULTI"], ["SAVE"], ["EXEC"], ["MULTI"],
         ["SHUTDOWN"], ["DISCARD"]),
    case("watch inside multi", ["MULTI"], ["WATCH", "k"], ["SET", "k", "1"],
         ["EXEC"], ["WATCH"]),
    case("watch own write", ["SET", "k", "1"], ["WATCH", "k"],
         ["SET", "k", "2"], ["MULTI"], ["GET", "k"], ["EXEC"]),
    case("watch unchanged", ["SET", "k", "1"], ["WATCH", "k", "other"],
         ["MULTI"], ["GET", "k"], ["EXEC"]),
    case("unwatch", ["WATCH", "k"], ["SET", "k", "1"], ["UNWATCH"],
         ["MULTI"], ["GET", "k"], ["EXEC"]),
    case("watch del", ["SET", "k", "1"], ["WATCH", "k"], ["DEL", "k"],
         ["MULTI"], ["EXEC"]),
    case("watch flushdb", ["SET", "k", "1"], ["WATCH", "k"], ["FLUSHDB"],
         ["MULTI"], ["EXEC"]),
    case("exec replies of each kind", ["RPUSH", "l", "a", "b"], ["MULTI"],
         ["LRANGE", "l", "0", "-1"], ["GET", "nosuch"], ["INCR", "n"],
         ["PING"], ["EXEC"]),
]
