#!/bin/bash
# make run: kairo-redis in the foreground on 127.0.0.1, port 6379 or the next
# free one, with how to connect. Extra arguments go to kairo-redis.
bin=${KAIRO_REDIS:-./build/bin/kairo-redis}
port=${PORT:-6379}
taken() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
tries=0
while taken "$port" && [ $tries -lt 100 ]; do
    port=$((port + 1))
    tries=$((tries + 1))
done
echo "kairo-redis on 127.0.0.1:$port -- connect with:  redis-cli -p $port"
echo "(Ctrl-C stops it)"
exec "$bin" --port "$port" "$@"
