#!/usr/bin/env bash
# Side-by-side comparison of kairo-bench and its Tokio peer (bench/peers/tokio).
#
#   bench/compare.sh [filter...]
#
# Both programs take `[--workers N] [filter...]` and print one line per benchmark:
#   name<TAB>median<TAB>min<TAB>max<TAB>ns/iter<TAB>REPS x ITERS
#
# What runs (filters, if given, are substrings; a benchmark is kept if it matches any):
#   - the ct/* set and the mem/idle_task/* rows (bytes per idle task beyond its future, not
#     ns/iter: the unit column says which): RUNS processes per side, alternating;
#   - the fs/* set (Tokio's fs.rs, its runtime fixed at 2 workers): RUNS processes per side;
#   - signal/many_signals (Tokio's signal.rs) and process/spawn_wait (1,000 sequential
#     spawns of `true`), and the copy/* set (Tokio's copy.rs), on the current-thread
#     runtime: RUNS processes per side;
#   - the mt/*, remote_spawn/*, spawn_blocking/* and sync (mpsc/..., broadcast/..., watch/...) sets at --workers 2 and
#     --workers 4 (WORKERS="2 6" for Tokio's sync benchmarks' 6):
#     RUNS processes per side and worker count, kairo and tokio alternating; a row's figure
#     is the median over those processes of the row's per-process median.
# Output on stdout: one table, aligned plain text that is also a GitHub markdown table.
# A row missing on one side (no binary, a crash, a benchmark not implemented) shows `-`.
#
# Environment:
#   KAIRO_BENCH      kairo benchmark binary (default build/bin/kairo-bench)
#   TOKIO_BENCH      use this Tokio peer binary instead of building it with build.sh
#   RUNS             processes per side for every set (default 3)
#   WORKERS          worker counts for those sets (default "2 4")
#   BENCH_REPS, BENCH_TARGET_MS   passed through to both programs (defaults 7 and 100)
#   BENCH_TIMEOUT    seconds one benchmark process may run before it is killed (default 600)
#   RAW_DIR          where the raw per-process outputs are kept (default build/bench/compare)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kairo_bin="${KAIRO_BENCH:-$root/build/bin/kairo-bench}"
runs="${RUNS:-3}"
worker_counts="${WORKERS:-2 4}"
proc_timeout="${BENCH_TIMEOUT:-600}"
raw_dir="${RAW_DIR:-$root/build/bench/compare}"

case "$runs" in ''|*[!0-9]*|0) echo "compare.sh: RUNS must be a positive integer" >&2; exit 2 ;; esac

# The benchmark catalogue shared by both programs (Tokio's names, see tokio.md §7).
# The sync rows (tokio.md §7.6-7.11) run on multi-thread runtimes, so at every worker count;
# the _recv_many rows are kairo's only (Tokio 1.24 has no recv_many): their Tokio cell is `-`.
sync_set="mpsc/create_medium/1 mpsc/create_medium/100 mpsc/create_medium/100000
mpsc/send_medium_1000 mpsc/send_large_1000
mpsc/contention_bounded mpsc/contention_bounded_recv_many
mpsc/contention_bounded_full mpsc/contention_bounded_full_recv_many
mpsc/contention_unbounded mpsc/contention_unbounded_recv_many
mpsc/uncontented_bounded mpsc/uncontented_bounded_recv_many
mpsc/uncontented_unbounded mpsc/uncontented_unbounded_recv_many
mpsc_oneshot/request_reply_ct mpsc_oneshot/request_reply_mt1
notify/notify_one/10 notify/notify_one/50 notify/notify_one/100 notify/notify_one/200
notify/notify_one/500 notify/notify_waiters/10 notify/notify_waiters/50
notify/notify_waiters/100 notify/notify_waiters/200 notify/notify_waiters/500
semaphore/uncontended semaphore/uncontended_concurrent_multi
semaphore/uncontended_concurrent_single semaphore/contended_concurrent_multi
semaphore/contended_concurrent_single rwlock/uncontended_read
rwlock/uncontended_read_concurrent rwlock/uncontended_read_concurrent_multi
rwlock/contended_read_concurrent rwlock/contended_read_concurrent_multi
broadcast/contention/10 broadcast/contention/100 broadcast/contention/500
broadcast/contention/1000 watch/contention_resubscribe/10
watch/contention_resubscribe/100 watch/contention_resubscribe/500
watch/contention_resubscribe/1000"
ct_set="ct/spawn_many_local ct/spawn_many_remote_idle ct/spawn_many_remote_busy
ct/ping_pong ct/yield_many ct/chained_spawn
mem/idle_task/16 mem/idle_task/64"
mt_set="mt/spawn_many_local mt/spawn_many_remote_idle mt/spawn_many_remote_busy1
mt/spawn_many_remote_busy2 mt/ping_pong mt/yield_many mt/chained_spawn
remote_spawn/threads/1 remote_spawn/threads/2 remote_spawn/threads/4
spawn_blocking/concurrency/1 spawn_blocking/concurrency/2 spawn_blocking/concurrency/4
$sync_set"
# Tokio's fs.rs fixes its runtime at 2 workers: these run once per side and run, not per
# worker count (the workers column says 2).
fs_set="fs/async_read_std_file fs/async_read_buf fs/async_read_codec fs/sync_read"
# Current-thread rows of the OS layer (workers column 1, as ct).
os_set="signal/many_signals process/spawn_wait copy/mem_to_mem copy/chunk_to_mem
copy/mem_to_slow_hdd copy/chunk_to_slow_hdd"

# select NAMES...: the names of the set that match a command-line filter (all if none).
select_names() {
    local name f
    for name in $1; do
        if [ "${#filters[@]}" -eq 0 ]; then
            echo "$name"
            continue
        fi
        for f in "${filters[@]}"; do
            case "$name" in *"$f"*) echo "$name"; break ;; esac
        done
    done
}

filters=("$@")
mapfile -t ct_names < <(select_names "$ct_set")
mapfile -t mt_names < <(select_names "$mt_set")
mapfile -t fs_names < <(select_names "$fs_set")
mapfile -t os_names < <(select_names "$os_set")
if [ "${#ct_names[@]}" -eq 0 ] && [ "${#mt_names[@]}" -eq 0 ] && [ "${#fs_names[@]}" -eq 0 ] &&
    [ "${#os_names[@]}" -eq 0 ]; then
    echo "compare.sh: no benchmark matches: $*" >&2
    exit 2
fi

# --- binaries -----------------------------------------------------------------------------
if [ -n "${TOKIO_BENCH:-}" ]; then
    tokio_bin="$TOKIO_BENCH"
else
    echo "compare.sh: building the Tokio peer" >&2
    tokio_bin="$("$root/bench/peers/tokio/build.sh")"
fi
if [ ! -x "$tokio_bin" ]; then
    echo "compare.sh: warning: no Tokio peer at $tokio_bin; its column will be empty" >&2
fi
if [ ! -x "$kairo_bin" ]; then
    echo "compare.sh: warning: no kairo-bench at $kairo_bin; its column will be empty" >&2
fi

mkdir -p "$raw_dir"
rm -f "$raw_dir"/kairo-w*-run*.txt "$raw_dir"/tokio-w*-run*.txt "$raw_dir/results.tsv"
# One record per result line: side<TAB>workers<TAB>name<TAB>median<TAB>unit (workers "1"
# for ct).
results="$raw_dir/results.tsv"
: >"$results"

# run_one SIDE BIN WORKERS-LABEL RUN NAMES... : one benchmark process; appends its rows.
run_one() {
    local side="$1" bin="$2" wlabel="$3" run="$4"
    shift 4
    local out="$raw_dir/$side-w$wlabel-run$run.txt"
    local args=()
    [ "$wlabel" = 1 ] || args=(--workers "$wlabel")
    echo "compare.sh: $side ${args[*]:-(ct)} run $run" >&2
    if [ ! -x "$bin" ]; then
        : >"$out"
        return 0
    fi
    local rc=0
    timeout --kill-after=10 "$proc_timeout" "$bin" "${args[@]}" "$@" >"$out" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "compare.sh: warning: $side ${args[*]:-} exited with status $rc" >&2
    fi
    # Keep only well-formed rows of the requested benchmarks.
    awk -F'\t' -v side="$side" -v w="$wlabel" -v names="$*" '
        BEGIN { n = split(names, list, " "); for (i = 1; i <= n; i++) want[list[i]] = 1 }
        NF >= 5 && ($1 in want) && $2 ~ /^[0-9.eE+-]+$/ { print side "\t" w "\t" $1 "\t" $2 "\t" $5 }
    ' "$out" >>"$results"
}

start_s=$SECONDS

if [ "${#ct_names[@]}" -gt 0 ]; then
    # The VM's timings drift by tens of percent between processes: the ct
    # set too runs in RUNS alternating processes per side.
    for ((r = 1; r <= runs; r++)); do
        run_one kairo "$kairo_bin" 1 "$r" "${ct_names[@]}"
        run_one tokio "$tokio_bin" 1 "$r" "${ct_names[@]}"
    done
fi
if [ "${#mt_names[@]}" -gt 0 ]; then
    for w in $worker_counts; do
        for ((r = 1; r <= runs; r++)); do
            run_one kairo "$kairo_bin" "$w" "$r" "${mt_names[@]}"
            run_one tokio "$tokio_bin" "$w" "$r" "${mt_names[@]}"
        done
    done
fi

if [ "${#fs_names[@]}" -gt 0 ]; then
    for ((r = 1; r <= runs; r++)); do
        run_one kairo "$kairo_bin" 2 "$r" "${fs_names[@]}"
        run_one tokio "$tokio_bin" 2 "$r" "${fs_names[@]}"
    done
fi
if [ "${#os_names[@]}" -gt 0 ]; then
    for ((r = 1; r <= runs; r++)); do
        run_one kairo "$kairo_bin" 1 "$r" "${os_names[@]}"
        run_one tokio "$tokio_bin" 1 "$r" "${os_names[@]}"
    done
fi

echo "compare.sh: benchmarks took $((SECONDS - start_s)) s; raw output in $raw_dir" >&2

# --- table --------------------------------------------------------------------------------
# Row order: the catalogue order, ct rows first, each mt/remote_spawn benchmark once per
# worker count. A cell is the median over processes of the per-process medians.
{
    for n in "${ct_names[@]}"; do printf 'order\t1\t%s\n' "$n"; done
    for n in "${mt_names[@]}"; do
        for w in $worker_counts; do printf 'order\t%s\t%s\n' "$w" "$n"; done
    done
    for n in "${fs_names[@]}"; do printf 'order\t2\t%s\n' "$n"; done
    for n in "${os_names[@]}"; do printf 'order\t1\t%s\n' "$n"; done
    cat "$results"
} | awk -F'\t' '
    function median(key,    n, i, j, t, v) {
        n = split(vals[key], v, " ")
        if (n == 0) return ""
        for (i = 2; i <= n; i++) {          # insertion sort, n is small
            t = v[i] + 0
            for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
            v[j + 1] = t
        }
        return (n % 2) ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    $1 == "order" { rows++; rname[rows] = $3; rw[rows] = $2; next }
    { key = $1 SUBSEP $2 SUBSEP $3; vals[key] = vals[key] (vals[key] == "" ? "" : " ") $4
      unit[$3] = $5 }
    END {
        head[1] = "benchmark"; head[2] = "workers"; head[3] = "kairo"
        head[4] = "tokio"; head[5] = "kairo/tokio"; head[6] = "unit"
        for (c = 1; c <= 6; c++) width[c] = length(head[c])
        for (r = 1; r <= rows; r++) {
            k = median("kairo" SUBSEP rw[r] SUBSEP rname[r])
            t = median("tokio" SUBSEP rw[r] SUBSEP rname[r])
            cell[r, 1] = rname[r]
            cell[r, 2] = rw[r]
            cell[r, 3] = (k == "") ? "-" : sprintf("%.1f", k)
            cell[r, 4] = (t == "") ? "-" : sprintf("%.1f", t)
            cell[r, 5] = (k == "" || t == "" || t + 0 == 0) ? "-" : sprintf("%.2f", k / t)
            cell[r, 6] = (rname[r] in unit) ? unit[rname[r]] : "-"
            for (c = 1; c <= 6; c++) if (length(cell[r, c]) > width[c]) width[c] = length(cell[r, c])
        }
        # Text columns left-aligned, numeric columns right-aligned.
        line = "|"
        for (c = 1; c <= 6; c++) line = line sprintf(c <= 1 || c == 6 ? " %-" width[c] "s |" : " %" width[c] "s |", head[c])
        print line
        line = "|"
        for (c = 1; c <= 6; c++) {
            dashes = sprintf("%" width[c] "s", ""); gsub(/ /, "-", dashes)
            line = line (c <= 1 || c == 6 ? " :" substr(dashes, 2) " |" : " " substr(dashes, 2) ": |")
        }
        print line
        for (r = 1; r <= rows; r++) {
            line = "|"
            for (c = 1; c <= 6; c++)
                line = line sprintf(c <= 1 || c == 6 ? " %-" width[c] "s |" : " %" width[c] "s |", cell[r, c])
            print line
        }
    }'
