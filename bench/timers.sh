#!/usr/bin/env bash
# libuv's million_timers on kairo, Tokio and libuv, side by side (make bench-timers).
#
#   bench/timers.sh [filter...]
#
# The three programs print the same rows (bench/bench-timers.c describes them):
#   timers/{seq,shuf}_1000000_{ct,mt}.{init,dispatch,total}
#   name<TAB>median<TAB>min<TAB>max<TAB>ns<TAB>REPS x 1      (ns per whole run)
#   kairo: build/bin/kairo-bench timers/...
#   Tokio: bench/peers/tokio (tokio-bench timers/...), built with its build.sh
#   libuv: bench/peers/libuv (libuv-million-timers), built with its build.sh; one loop,
#          so _ct rows only
# The ct sets run once per side, the mt sets once per side and worker count; the sides
# alternate set by set. A filter (substring, e.g. `shuf` or `_mt`) keeps matching sets.
# Output on stdout: one table in ms (aligned plain text that is also a GitHub markdown
# table); a cell is the median over RUNS processes of each process's median over
# BENCH_REPS runs. `-`: no such row (libuv has no mt; a missing binary; a failure).
#
# Environment:
#   RUNS           processes per side, set and worker count (default 1)
#   WORKERS        worker counts of the mt sets (default "2")
#   BENCH_REPS     runs per process (default 7, at least 5), passed to all three
#   BENCH_TIMEOUT  seconds one process may run (default 600)
#   KAIRO_BENCH, TOKIO_BENCH, LIBUV_TIMERS   binaries to use (the peers are then not built)
#   RAW_DIR        raw outputs (default build/bench/timers)
# At the defaults the whole run takes about 1.5 minutes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kairo_bin="${KAIRO_BENCH:-$root/build/bin/kairo-bench}"
runs="${RUNS:-1}"
worker_counts="${WORKERS:-2}"
proc_timeout="${BENCH_TIMEOUT:-600}"
raw_dir="${RAW_DIR:-$root/build/bench/timers}"

case "$runs" in ''|*[!0-9]*|0) echo "timers.sh: RUNS must be a positive integer" >&2; exit 2 ;; esac

all_sets="timers/seq_1000000_ct timers/shuf_1000000_ct timers/seq_1000000_mt timers/shuf_1000000_mt"
filters=("$@")
sets=()
for s in $all_sets; do
    keep=$((${#filters[@]} == 0))
    for f in "${filters[@]}"; do
        for part in init dispatch total; do
            case "$s.$part" in *"$f"*) keep=1 ;; esac
        done
    done
    [ "$keep" = 1 ] && sets+=("$s")
done
if [ "${#sets[@]}" -eq 0 ]; then
    echo "timers.sh: no timer set matches: $*" >&2
    exit 2
fi

# --- binaries -----------------------------------------------------------------------------
tokio_bin="${TOKIO_BENCH:-}"
if [ -z "$tokio_bin" ]; then
    echo "timers.sh: building the Tokio peer" >&2
    tokio_bin="$("$root/bench/peers/tokio/build.sh")" || tokio_bin=""
fi
libuv_bin="${LIBUV_TIMERS:-}"
if [ -z "$libuv_bin" ]; then
    echo "timers.sh: building the libuv peer" >&2
    if dir="$("$root/bench/peers/libuv/build.sh")"; then
        libuv_bin="$dir/libuv-million-timers"
    fi
fi
for pair in "kairo:$kairo_bin" "tokio:$tokio_bin" "libuv:$libuv_bin"; do
    [ -x "${pair#*:}" ] || echo "timers.sh: warning: no ${pair%%:*} binary (${pair#*:}); its column will be empty" >&2
done

mkdir -p "$raw_dir"
rm -f "$raw_dir"/*-run*.txt
results="$raw_dir/results.tsv"
: >"$results"

# run_one SIDE BIN WORKERS-LABEL RUN SET: one process; appends side, workers, row, median.
run_one() {
    local side="$1" bin="$2" w="$3" run="$4" set="$5"
    [ -x "$bin" ] || return 0
    local args=() out="$raw_dir/$side-$(basename "$set")-w$w-run$run.txt"
    [ "$w" = ct ] || args=(--workers "$w")
    echo "timers.sh: $side $set ${args[*]:-} run $run" >&2
    local rc=0
    timeout --kill-after=10 "$proc_timeout" "$bin" "${args[@]}" "$set." >"$out" || rc=$?
    [ "$rc" -eq 0 ] || echo "timers.sh: warning: $side $set exited with status $rc" >&2
    awk -F'\t' -v side="$side" -v w="$w" -v set="$set" '
        index($1, set ".") == 1 && $2 ~ /^[0-9.eE+-]+$/ { print side "\t" w "\t" $1 "\t" $2 }
    ' "$out" >>"$results"
}

start_s=$(date +%s)
for ((r = 1; r <= runs; r++)); do
    for set in "${sets[@]}"; do
        case "$set" in
            *_ct)
                run_one kairo "$kairo_bin" ct "$r" "$set"
                run_one tokio "$tokio_bin" ct "$r" "$set"
                run_one libuv "$libuv_bin" ct "$r" "$set"
                ;;
            *_mt)
                for w in $worker_counts; do
                    run_one kairo "$kairo_bin" "$w" "$r" "$set"
                    run_one tokio "$tokio_bin" "$w" "$r" "$set"
                done
                ;;
        esac
    done
done
echo "timers.sh: took $(( $(date +%s) - start_s )) s; raw output in $raw_dir" >&2

# --- table --------------------------------------------------------------------------------
{
    for set in "${sets[@]}"; do
        for part in init dispatch total; do
            case "$set" in
                *_ct) printf 'order\tct\t%s.%s\n' "$set" "$part" ;;
                *) for w in $worker_counts; do printf 'order\t%s\t%s.%s\n' "$w" "$set" "$part"; done ;;
            esac
        done
    done
    cat "$results"
} | awk -F'\t' '
    function median(key,    n, i, j, t, v) {
        n = split(vals[key], v, " ")
        if (n == 0) return ""
        for (i = 2; i <= n; i++) {
            t = v[i] + 0
            for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]
            v[j + 1] = t
        }
        return (n % 2) ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function ms(x) { return x == "" ? "-" : sprintf("%.2f", x / 1e6) }
    # No ratio of sub-millisecond figures: the timers have 1 ms resolution.
    function ratio(a, b) { return (a == "" || b == "" || a + 0 < 5e5 || b + 0 < 5e5) ? "-" : sprintf("%.2f", a / b) }
    $1 == "order" { rows++; rname[rows] = $3; rw[rows] = $2; next }
    { key = $1 SUBSEP $2 SUBSEP $3; vals[key] = vals[key] (vals[key] == "" ? "" : " ") $4 }
    END {
        split("benchmark|workers|kairo ms|tokio ms|libuv ms|kairo/tokio|kairo/libuv", head, "|")
        nc = 7
        for (c = 1; c <= nc; c++) width[c] = length(head[c])
        for (r = 1; r <= rows; r++) {
            k = median("kairo" SUBSEP rw[r] SUBSEP rname[r])
            t = median("tokio" SUBSEP rw[r] SUBSEP rname[r])
            u = median("libuv" SUBSEP rw[r] SUBSEP rname[r])
            cell[r, 1] = rname[r]; cell[r, 2] = rw[r]
            cell[r, 3] = ms(k); cell[r, 4] = ms(t); cell[r, 5] = ms(u)
            cell[r, 6] = ratio(k, t); cell[r, 7] = ratio(k, u)
            for (c = 1; c <= nc; c++) if (length(cell[r, c]) > width[c]) width[c] = length(cell[r, c])
        }
        line = "|"
        for (c = 1; c <= nc; c++) line = line sprintf(c <= 1 ? " %-" width[c] "s |" : " %" width[c] "s |", head[c])
        print line
        line = "|"
        for (c = 1; c <= nc; c++) {
            d = sprintf("%" width[c] "s", ""); gsub(/ /, "-", d)
            line = line (c <= 1 ? " :" substr(d, 2) " |" : " " substr(d, 2) ": |")
        }
        print line
        for (r = 1; r <= rows; r++) {
            line = "|"
            for (c = 1; c <= nc; c++)
                line = line sprintf(c <= 1 ? " %-" width[c] "s |" : " %" width[c] "s |", cell[r, c])
            print line
        }
    }'
