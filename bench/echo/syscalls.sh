#!/usr/bin/env bash
# System calls and io_uring completions per echoed message, per server: the
# second half of the echo benchmark's table (bench/echo/run.sh gives rates,
# latencies and CPU).
#
#   bench/echo/syscalls.sh            (CONNS=16 ECHO_SECONDS=2 by default)
#
# For every server: start it, run kairo-load at CONNS connections (64-byte
# messages) for 1 + ECHO_SECONDS + 1 s, and count with `perf stat -e` on the
# server's PID over ECHO_SECONDS in the middle: every system call it enters
# (raw_syscalls:sys_enter), the ones an echo server makes per message, and
# io_uring's completions (io_uring:io_uring_complete) and the task work that
# delivers them. Each count is divided by the messages echoed in the same
# window (the client's rate times ECHO_SECONDS). Tracepoints cost little but not
# nothing: the figures are counts, not times.
#
# Needs perf with the syscalls and io_uring tracepoints readable (root, or
# kernel.perf_event_paranoid <= 1 with tracefs access); says so and exits 77
# where they are not. Servers, binaries and ports as in run.sh (SERVERS,
# WORKERS, TOKIO_ECHO, ...); the Tokio and libuv peers are used only if built.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
window="${ECHO_SECONDS:-2}"
conns="${CONNS:-16}"
workers="${WORKERS:-2}"
servers="${SERVERS:-epoll uring kairo-ct kairo-ct-uring kairo-mt kairo-mt-uring tokio-ct tokio-mt libuv}"
port="${PORT_BASE:-25900}"
bin="$root/build/bin"
tokio="${TOKIO_ECHO:-$root/build/peers/tokio/release/tokio-echo}"
libuv="${LIBUV_ECHO:-$root/build/peers/libuv/libuv-echo}"

events=(raw_syscalls:sys_enter syscalls:sys_enter_recvfrom syscalls:sys_enter_sendto
        syscalls:sys_enter_read syscalls:sys_enter_write syscalls:sys_enter_epoll_wait
        syscalls:sys_enter_io_uring_enter syscalls:sys_enter_futex
        io_uring:io_uring_complete io_uring:io_uring_task_work_run
        io_uring:io_uring_local_work_run)
if ! perf stat -e "$(IFS=,; echo "${events[*]}")" -- true >/dev/null 2>&1; then
    echo "syscalls.sh: perf cannot read the syscalls/io_uring tracepoints here" >&2
    exit 77
fi

printf '| server | msgs/s | syscalls/msg | recvfrom | sendto | read | write | epoll_wait | io_uring_enter | futex | CQEs/msg | task work/msg |\n'
printf '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n'
for s in $servers; do
    port=$((port + 1))
    case "$s" in
        epoll) cmd=("$bin/epoll-echo" "$port") ;;
        uring) cmd=("$bin/uring-echo" "$port") ;;
        kairo-ct) cmd=("$bin/kairo-echo" "$port" --current-thread --io epoll) ;;
        kairo-mt) cmd=("$bin/kairo-echo" "$port" --workers "$workers" --io epoll) ;;
        kairo-ct-uring) cmd=("$bin/kairo-echo" "$port" --current-thread --io uring) ;;
        kairo-mt-uring) cmd=("$bin/kairo-echo" "$port" --workers "$workers" --io uring) ;;
        kairo-mt-uring-shared) cmd=(/usr/bin/env KR_URING_SHARED_RING=1 "$bin/kairo-echo" "$port" --workers "$workers" --io uring) ;;
        tokio-ct) cmd=("$tokio" "$port" --current-thread) ;;
        tokio-mt) cmd=("$tokio" "$port" --workers "$workers") ;;
        libuv) cmd=("$libuv" "$port") ;;
        *) echo "syscalls.sh: unknown server $s" >&2; continue ;;
    esac
    if [ ! -x "${cmd[0]}" ]; then
        echo "syscalls.sh: $s: no binary at ${cmd[0]}" >&2
        continue
    fi
    "${cmd[@]}" >/dev/null 2>&1 &
    sp=$!
    sleep 0.5
    line_file="$(mktemp)" perf_file="$(mktemp)"
    "$bin/kairo-load" --port "$port" --conns "$conns" --seconds $((window + 1)) \
        --warmup 1 >"$line_file" 2>/dev/null &
    lp=$!
    sleep 1.5
    timeout -s INT "$window" perf stat -x, -e "$(IFS=,; echo "${events[*]}")" \
        -p "$sp" 2>"$perf_file" >/dev/null
    wait "$lp"
    kill "$sp" 2>/dev/null
    wait "$sp" 2>/dev/null
    rate="$(grep -o 'msgs_per_s=[0-9]*' "$line_file" | cut -d= -f2)"
    if [ -z "$rate" ]; then
        echo "syscalls.sh: $s: the client did not report" >&2
        rm -f "$line_file" "$perf_file"
        continue
    fi
    awk -F, -v s="$s" -v rate="$rate" -v w="$window" '
        { n[$3] = ($1 ~ /^[0-9]+$/) ? $1 : 0 }
        function per(e) { return sprintf("%.2f", n[e] / (rate * w)) }
        END {
            printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s, rate,
                per("raw_syscalls:sys_enter"), per("syscalls:sys_enter_recvfrom"),
                per("syscalls:sys_enter_sendto"), per("syscalls:sys_enter_read"),
                per("syscalls:sys_enter_write"), per("syscalls:sys_enter_epoll_wait"),
                per("syscalls:sys_enter_io_uring_enter"), per("syscalls:sys_enter_futex"),
                per("io_uring:io_uring_complete"),
                sprintf("%.2f", (n["io_uring:io_uring_task_work_run"] + n["io_uring:io_uring_local_work_run"]) / (rate * w))
        }' "$perf_file"
    rm -f "$line_file" "$perf_file"
done
