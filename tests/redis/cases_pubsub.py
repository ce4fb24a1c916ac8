"""Pub/sub on one connection: subscription replies, PUBLISH counts, PUBSUB
introspection and its errors, the RESP2 subscribed context. (Messages
between clients, patterns delivering, RESP3 pushes:
apps/kairo-redis/tests/ops_cases/pubsub.txt, run by diff_ops.py.)"""
from harness import case, raw

CASES = [
    case("publish nobody", ["PUBLISH", "ch", "x"]),
    case("publish arity", ["PUBLISH"], ["PUBLISH", "ch"],
         ["PUBLISH", "a", "b", "c"]),
    case("pubsub numsub empty", ["PUBSUB", "NUMSUB"],
         ["PUBSUB", "NUMSUB", "a", "b"]),
    case("pubsub numpat", ["PUBSUB", "NUMPAT"], ["PUBSUB", "NUMPAT", "x"]),
    case("pubsub channels none", ["PUBSUB", "CHANNELS"],
         ["PUBSUB", "CHANNELS", "a*"], ["PUBSUB", "CHANNELS", "a", "b"]),
    case("pubsub errors", ["PUBSUB"], ["PUBSUB", "NOSUCH"],
         ["PUBSUB", "HELP"]),
    case("subscribe replies", raw(b"SUBSCRIBE a b a\r\n", replies=3),
         raw(b"PUBSUB NUMSUB a\r\n", replies=1)),
    case("subscribed context", raw(b"SUBSCRIBE a\r\n", replies=1),
         raw(b"GET k\r\n", replies=1), raw(b"PING\r\n", replies=1),
         raw(b"PING hi\r\n", replies=1),
         raw(b"UNSUBSCRIBE a\r\n", replies=1), ["GET", "k"]),
    case("psubscribe replies", raw(b"PSUBSCRIBE a* b?\r\n", replies=2),
         raw(b"PUNSUBSCRIBE b?\r\n", replies=1),
         raw(b"PUNSUBSCRIBE nosuch\r\n", replies=1),
         raw(b"PUNSUBSCRIBE\r\n", replies=1),
         raw(b"PUNSUBSCRIBE\r\n", replies=1), ["PING"]),
    case("unsubscribe nothing", raw(b"UNSUBSCRIBE\r\n", replies=1),
         ["PING"]),
    case("subscribe arity", ["SUBSCRIBE"], ["PSUBSCRIBE"]),
]
