#!/usr/bin/env bash
# Reads SECONDS before anything else: bash's SECONDS counts up from the value it inherits.
point_s_env="${ECHO_SECONDS:-$SECONDS}"
#
# The TCP echo benchmark: kairo's echo server against a hand-written epoll server, libuv
# and Tokio, driven by the same closed-loop client (kairo-load).
#
#   bench/echo/run.sh            (make bench-echo)
#
# In each round, for every server in turn: start it on 127.0.0.1, run kairo-load at 1,
# 16, 64 and 1000 connections (64-byte messages, each connection a closed loop: send,
# wait for the whole echo, repeat), then libuv's ping_pongs (one connection, "PING\n"),
# then kill it. Prints ONE table on stdout: a row per connection count plus the
# ping_pongs row, and for every server the medians over the rounds of its msgs/s, p50 and p99 round-trip latency (µs) and its CPU time per
# message (ns: utime+stime of the whole server process over the measured window, divided
# by the messages echoed). Aligned plain text that is also a GitHub markdown table.
#
# Servers (a column group each; a missing binary skips its group with a note on stderr):
#   epoll      build/bin/epoll-echo PORT                  (bench/peers/epoll-echo)
#   uring      build/bin/uring-echo PORT: the same on io_uring's completions, one ring
#              (bench/peers/uring-echo; built where liburing is)
#   kairo-ct   build/bin/kairo-echo PORT --current-thread
#   kairo-mt   build/bin/kairo-echo PORT --workers W
#   kairo-ct-uring, kairo-mt-uring: the same on the io_uring driver (--io uring; the
#              two above pass --io epoll)
#   tokio-ct   tokio-echo PORT --current-thread           (bench/peers/tokio, built here)
#   tokio-mt   tokio-echo PORT --workers W
#   libuv      libuv-echo PORT                            (bench/peers/libuv, built here)
#
# Environment:
#   SECONDS      measured seconds per point (default 5). ECHO_SECONDS is a synonym that
#                does not clash with bash's SECONDS. The whole run at the defaults takes
#                about 14 minutes (3 rounds x 9 servers x 5 points x (1 s warm-up + 5 s)).
#   ROUNDS       rounds (default 3). The servers take turns within a round, so a change
#                in the machine's load spreads over all of them; every figure in the table
#                is the median of its rounds'.
#   WARMUP       warm-up seconds per point, not measured (default 1)
#   CONNS        connection counts (default "1 16 64 1000")
#   SIZE         message size in bytes (default 64)
#   WORKERS      worker threads of the -mt servers (default 2: the VM has 2 cores)
#   SERVERS      which servers, in order (default "epoll uring kairo-ct kairo-ct-uring kairo-mt
#                kairo-mt-uring tokio-ct tokio-mt libuv"; also kairo-mt-uring-shared: io_uring
#                with one ring for all workers, KR_URING_SHARED_RING=1)
#   PORT_BASE    first port; server i listens on PORT_BASE+i (default 24800: below the
#                ephemeral range 32768-60999, which the 1,000 client sockets draw from)
#   KAIRO_LOAD, EPOLL_ECHO, URING_ECHO, KAIRO_ECHO, TOKIO_ECHO, LIBUV_ECHO   binaries to use instead
#                of the defaults (the Tokio and libuv ones are then not built)
#   RAW_DIR      where the client lines and server logs go (default build/bench/echo)
#
# Everything listens on 127.0.0.1 only. Bounded in time: each client run carries its own
# alarm and a `timeout`, each server is killed after its points (and on any exit).
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
point_s="$point_s_env"
case "$point_s" in ''|*[!0-9.]*|0) point_s=5 ;; esac
warmup="${WARMUP:-1}"
conns_list="${CONNS:-1 16 64 1000}"
rounds="${ROUNDS:-3}"
case "$rounds" in ''|*[!0-9]*|0) rounds=3 ;; esac
size="${SIZE:-64}"
workers="${WORKERS:-2}"
servers="${SERVERS:-epoll uring kairo-ct kairo-ct-uring kairo-mt kairo-mt-uring tokio-ct tokio-mt libuv}"
port_base="${PORT_BASE:-24800}"
raw_dir="${RAW_DIR:-$root/build/bench/echo}"
load_bin="${KAIRO_LOAD:-$root/build/bin/kairo-load}"
epoll_bin="${EPOLL_ECHO:-$root/build/bin/epoll-echo}"
uring_bin="${URING_ECHO:-$root/build/bin/uring-echo}"
kairo_bin="${KAIRO_ECHO:-$root/build/bin/kairo-echo}"

note() { echo "run.sh: $*" >&2; }

if [ ! -x "$load_bin" ]; then
    note "no load client at $load_bin (make build)"
    exit 1
fi
mkdir -p "$raw_dir"
results="$raw_dir/results.tsv"
: >"$results"

# 1,000 connections need more than the usual 1,024 descriptors, on both sides.
hard="$(ulimit -Hn)"
if [ "$hard" != unlimited ] && [ "$hard" -lt 4096 ]; then
    ulimit -Hn 4096 2>/dev/null || true
fi
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true

# --- peers that are built here --------------------------------------------------------
tokio_bin="${TOKIO_ECHO:-}"
libuv_bin="${LIBUV_ECHO:-}"
case " $servers " in *" tokio-"*)
    if [ -z "$tokio_bin" ]; then
        note "building the Tokio peer"
        if bench_bin="$("$root/bench/peers/tokio/build.sh")"; then
            tokio_bin="$(dirname "$bench_bin")/tokio-echo"
        fi
    fi ;;
esac
case " $servers " in *" libuv "*)
    if [ -z "$libuv_bin" ]; then
        note "building the libuv peer"
        if dir="$("$root/bench/peers/libuv/build.sh")"; then
            libuv_bin="$dir/libuv-echo"
        fi
    fi ;;
esac

# --- one server -----------------------------------------------------------------------
server_pid=""
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill "$server_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

# can_connect PORT: whether something listens on 127.0.0.1:PORT.
can_connect() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_listening PORT: until a connect succeeds (5 s at most) and the server still runs
# a moment later; false if it died (a failed bind, say).
wait_listening() {
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$server_pid" 2>/dev/null || return 1
        if can_connect "$1"; then
            sleep 0.2
            kill -0 "$server_pid" 2>/dev/null
            return
        fi
        sleep 0.1
    done
    return 1
}

# load NAME POINT ARGS...: one client run; appends NAME POINT fields to the results.
load() {
    local name="$1" point="$2"
    shift 2
    local limit line
    limit="$(awk -v s="$point_s" -v w="$warmup" 'BEGIN { printf "%d", s + w + 90 }')"
    note "$name: ${point} ..."
    line="$(timeout --kill-after=5 "$limit" "$load_bin" "$@" --seconds "$point_s" \
            --warmup "$warmup" --pid "$server_pid" 2>>"$raw_dir/$name.client.log")"
    local rc=$?
    echo "$name $point rc=$rc $line" >>"$raw_dir/client-lines.txt"
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        note "$name: ${point}: client failed (status $rc; see $raw_dir/$name.client.log)"
        return 0
    fi
    echo "$line" | awk -v name="$name" -v point="$point" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        printf "%s\t%s\t%s\t%s\t%s\t%s\n", name, point, f["msgs_per_s"], f["p50_us"],
               f["p99_us"], f["cpu_ns_per_msg"]
    }' >>"$results"
}

# run_server NAME PORT BIN [ARGS...]: runs `BIN PORT ARGS...` through every point. When
# the port is taken, or the server does not come up on it, PORT+100 is tried, then
# PORT+200.
run_server() {
    local name="$1" port="$2" bin="$3"
    shift 3
    if [ ! -x "$bin" ]; then
        note "$name: skipped: no binary at $bin"
        return 0
    fi
    local attempt ok=0
    for attempt in 0 1 2; do
        if can_connect "$port"; then
            note "$name: port $port is taken"
            port=$((port + 100))
            continue
        fi
        note "$name: starting $bin $port${*:+ $*}"
        "$bin" "$port" "$@" >"$raw_dir/$name.server.log" 2>&1 &
        server_pid=$!
        if wait_listening "$port"; then
            ok=1
            break
        fi
        note "$name: not listening on $port after 5 s: $(tail -n 1 "$raw_dir/$name.server.log" 2>/dev/null)"
        stop_server
        port=$((port + 100))
    done
    if [ "$ok" != 1 ]; then
        note "$name: skipped (see $raw_dir/$name.server.log)"
        return 0
    fi
    grep -qx "$name" "$raw_dir/servers.txt" || echo "$name" >>"$raw_dir/servers.txt"
    local c
    for c in $conns_list; do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            note "$name: the server died (see $raw_dir/$name.server.log)"
            break
        fi
        load "$name" "$c" --port "$port" --conns "$c" --size "$size"
    done
    if kill -0 "$server_pid" 2>/dev/null; then
        load "$name" ping_pongs --port "$port" --pingpong
    fi
    stop_server
}

: >"$raw_dir/servers.txt"
: >"$raw_dir/client-lines.txt"
rm -f "$raw_dir"/*.client.log
start_s=$(date +%s)
for ((round = 1; round <= rounds; round++)); do
    [ "$rounds" -gt 1 ] && note "round $round of $rounds"
    i=0
    for s in $servers; do
        port=$((port_base + i))
        i=$((i + 1))
        case "$s" in
            epoll)    run_server "$s" "$port" "$epoll_bin" ;;
            uring)    run_server "$s" "$port" "$uring_bin" ;;
            kairo-ct) run_server "$s" "$port" "$kairo_bin" --current-thread --io epoll ;;
            kairo-mt) run_server "$s" "$port" "$kairo_bin" --workers "$workers" --io epoll ;;
            kairo-ct-uring) run_server "$s" "$port" "$kairo_bin" --current-thread --io uring ;;
            kairo-mt-uring) run_server "$s" "$port" "$kairo_bin" --workers "$workers" --io uring ;;
            kairo-mt-uring-shared) KR_URING_SHARED_RING=1 run_server "$s" "$port" "$kairo_bin" --workers "$workers" --io uring ;;
            tokio-ct) run_server "$s" "$port" "${tokio_bin:-/nonexistent/tokio-echo}" --current-thread ;;
            tokio-mt) run_server "$s" "$port" "${tokio_bin:-/nonexistent/tokio-echo}" --workers "$workers" ;;
            libuv)    run_server "$s" "$port" "${libuv_bin:-/nonexistent/libuv-echo}" ;;
            *)        [ "$round" = 1 ] && note "unknown server $s (known: epoll uring kairo-ct kairo-mt kairo-ct-uring kairo-mt-uring tokio-ct tokio-mt libuv)" ;;
        esac
    done
done
note "took $(( $(date +%s) - start_s )) s; $rounds round(s), ${point_s} s per point after ${warmup} s warm-up," \
     "${size}-byte messages, -mt servers with $workers workers; raw output in $raw_dir"

# --- the table ------------------------------------------------------------------------
{
    while read -r s; do printf 'server\t%s\n' "$s"; done <"$raw_dir/servers.txt"
    for c in $conns_list ping_pongs; do printf 'point\t%s\n' "$c"; done
    cat "$results"
} | awk -F'\t' '
    $1 == "server" { ns++; sname[ns] = $2; next }
    $1 == "point" { np++; pname[np] = $2; next }
    {
        key = $1 SUBSEP $2; k = ++runs[key]
        rate[key, k] = $3; p50[key, k] = $4; p99[key, k] = $5; cpu[key, k] = $6
    }
    # median(a, key): the median of a[key, 1..runs[key]], its values that are numbers;
    # "" when none is.
    function median(a, key,    v, n, i, j, t) {
        n = 0
        for (i = 1; i <= runs[key]; i++)
            if (a[key, i] != "" && a[key, i] != "-") v[++n] = a[key, i] + 0
        if (n == 0) return ""
        for (i = 2; i <= n; i++)
            for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
        return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    END {
        if (ns == 0) { print "run.sh: no server ran" > "/dev/stderr"; exit 1 }
        nc = 1; head[1] = "conns"
        for (s = 1; s <= ns; s++) {
            head[++nc] = sname[s] " msgs/s"; head[++nc] = sname[s] " p50 us"
            head[++nc] = sname[s] " p99 us"; head[++nc] = sname[s] " CPU ns/msg"
        }
        for (c = 1; c <= nc; c++) width[c] = length(head[c])
        for (p = 1; p <= np; p++) {
            cell[p, 1] = pname[p]; col = 1
            for (s = 1; s <= ns; s++) {
                key = sname[s] SUBSEP pname[p]
                r = (key in runs) ? median(rate, key) : ""
                ok = r != ""
                c50 = ok ? median(p50, key) : ""; c99 = ok ? median(p99, key) : ""
                ccpu = ok ? median(cpu, key) : ""
                cell[p, ++col] = ok ? sprintf("%.0f", r) : "-"
                cell[p, ++col] = c50 != "" ? sprintf("%.1f", c50) : "-"
                cell[p, ++col] = c99 != "" ? sprintf("%.1f", c99) : "-"
                cell[p, ++col] = ccpu != "" ? sprintf("%.0f", ccpu) : "-"
            }
            for (c = 1; c <= nc; c++) if (length(cell[p, c]) > width[c]) width[c] = length(cell[p, c])
        }
        line = "|"
        for (c = 1; c <= nc; c++) line = line sprintf(c == 1 ? " %-" width[c] "s |" : " %" width[c] "s |", head[c])
        print line
        line = "|"
        for (c = 1; c <= nc; c++) {
            d = sprintf("%" width[c] "s", ""); gsub(/ /, "-", d)
            line = line (c == 1 ? " :" substr(d, 2) " |" : " " substr(d, 2) ": |")
        }
        print line
        for (p = 1; p <= np; p++) {
            line = "|"
            for (c = 1; c <= nc; c++)
                line = line sprintf(c == 1 ? " %-" width[c] "s |" : " %" width[c] "s |", cell[p, c])
            print line
        }
    }'
