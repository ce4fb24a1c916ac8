#!/usr/bin/env bash
# Instructions per iteration of each ct/* benchmark (or, with WORKERS, of any rows named),
# kairo and the Tokio peer side by side, counted by callgrind: the one figure a shared, loaded
# machine measures without noise.
#
#   bench/instructions.sh [filter...]
#   WORKERS=N bench/instructions.sh NAME...
#
# Each side runs each row twice under callgrind with BENCH_ITERS=A and BENCH_ITERS=B
# (exactly that many iterations, no warm-up); the row's figure is the difference of the two
# totals divided by B - A, so that process start, runtime creation and the first
# iteration's cold caches cancel out. Output on stdout: one table, aligned plain text that
# is also a GitHub markdown table, with kairo/tokio as the ratio.
#
# With WORKERS set, the rows are the NAMEs given, of any set (the sync rows: mpsc/...,
# notify/..., broadcast/..., ...), each selected exactly and run with --workers N. Callgrind
# runs one thread at a time, so rows whose threads wait for each other count spinning
# rather than sleeping, and a row's figure is only as meaningful as its waits are rare.
#
# Environment:
#   KAIRO_BENCH   kairo benchmark binary (default build/bin/kairo-bench)
#   WORKERS       run the NAMEs given (exactly) on that many workers (see above)
#   EXCLUDE       an extended regex of function names (e.g. 'do_work|append_decimal', the
#                 fan-out rows' receiver work): two more columns give each side's
#                 instructions per iteration outside those functions (their self cost
#                 subtracted), the runtime's share of a row whose work is the same code
#   TOKIO_BENCH   use this Tokio peer binary instead of building it with build.sh
#   ITERS_A, ITERS_B   the two iteration counts (defaults 2 and 6)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kairo_bin="${KAIRO_BENCH:-$root/build/bin/kairo-bench}"
a="${ITERS_A:-2}"
b="${ITERS_B:-6}"
[ "$b" -gt "$a" ] || { echo "instructions.sh: ITERS_B must exceed ITERS_A" >&2; exit 2; }
command -v valgrind >/dev/null 2>&1 || { echo "instructions.sh: valgrind not found" >&2; exit 1; }

# The ct rows (compare.sh's ct set, without the mem rows), and the compose rows
# (bench-compose.c), which run on a current-thread runtime too.
ct_set="ct/spawn_many_local ct/spawn_many_remote_idle ct/spawn_many_remote_busy
ct/ping_pong ct/yield_many ct/chained_spawn copy/mem_to_mem
compose/select2_biased compose/select2_fair compose/select2_yield
compose/join4 compose/join4_yield compose/join_set_1000"
names=()
workers_args=()
if [ -n "${WORKERS:-}" ]; then
    [ "$#" -gt 0 ] || { echo "instructions.sh: WORKERS needs row names" >&2; exit 2; }
    names=("$@")
    workers_args=(--workers "$WORKERS")
    set --
fi
[ -z "${WORKERS:-}" ] && for n in $ct_set; do
    if [ "$#" -eq 0 ]; then names+=("$n"); continue; fi
    for f in "$@"; do case "$n" in *"$f"*) names+=("$n"); break ;; esac; done
done
[ "${#names[@]}" -gt 0 ] || { echo "instructions.sh: no ct row matches: $*" >&2; exit 2; }

if [ -n "${TOKIO_BENCH:-}" ]; then
    tokio_bin="$TOKIO_BENCH"
else
    echo "instructions.sh: building the Tokio peer" >&2
    tokio_bin="$("$root/bench/peers/tokio/build.sh")"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# count BIN NAME ITERS: "TOTAL EXCLUDED", the instructions callgrind collected over the whole
# process and the self cost of the functions matching EXCLUDE in it (0 without EXCLUDE).
count() {
    local log total ex=0 sel="$2"
    [ -n "${WORKERS:-}" ] && sel="$2\$"
    log="$(BENCH_ITERS="$3" valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" \
        "$1" "${workers_args[@]}" "$sel" 2>&1 >/dev/null)" ||
        { echo "instructions.sh: $1 $2 failed" >&2; return 1; }
    total="$(printf '%s\n' "$log" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1)"
    if [ -n "${EXCLUDE:-}" ]; then
        ex="$(callgrind_annotate --auto=no --threshold=100 "$tmp/cg.out" 2>/dev/null |
            awk -v re="$EXCLUDE" '$0 ~ /^ *[0-9][0-9,]* / { v = $1; gsub(/,/, "", v)
                f = $0; sub(/^ *[0-9,]+ *(\([^)]*\))? */, "", f); sub(/ \[.*$/, "", f)
                sub(/^.*:/, "", f); if (f ~ "^(" re ")$") s += v } END { print s + 0 }')"
    fi
    echo "$total $ex"
}

# per_iter BIN NAME: "ALL OUTSIDE" instructions per iteration (OUTSIDE: outside EXCLUDE's
# functions), or "- -".
per_iter() {
    local x y
    [ -x "$1" ] || { echo "- -"; return; }
    x="$(count "$1" "$2" "$a")" && y="$(count "$1" "$2" "$b")" || { echo "- -"; return; }
    set -- $x $y
    [ -n "$1" ] && [ -n "$3" ] || { echo "- -"; return; }
    echo "$((($3 - $1) / (b - a))) $((($3 - $4 - $1 + $2) / (b - a)))"
}

rows=()
for n in "${names[@]}"; do
    echo "instructions.sh: $n" >&2
    read -r k kx <<<"$(per_iter "$kairo_bin" "$n")"
    read -r t tx <<<"$(per_iter "$tokio_bin" "$n")"
    rows+=("$n"$'\t'"$k"$'\t'"$t"$'\t'"$kx"$'\t'"$tx")
done

printf '%s\n' "${rows[@]}" | awk -F'\t' -v ex="${EXCLUDE:+1}" '
    function ratio(p, q) { return (p == "-" || q == "-" || q + 0 == 0) ? "-" : sprintf("%.2f", p / q) }
    { n++; c[n, 1] = $1; c[n, 2] = $2; c[n, 3] = $3; c[n, 4] = ratio($2, $3)
      c[n, 5] = $4; c[n, 6] = $5; c[n, 7] = ratio($4, $5) }
    END {
        h[1] = "benchmark"; h[2] = "kairo instr/iter"; h[3] = "tokio instr/iter"; h[4] = "kairo/tokio"
        h[5] = "kairo outside"; h[6] = "tokio outside"; h[7] = "outside ratio"
        m = ex ? 7 : 4
        for (j = 1; j <= m; j++) w[j] = length(h[j])
        for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (length(c[i, j]) > w[j]) w[j] = length(c[i, j])
        line = "|"; for (j = 1; j <= m; j++) line = line sprintf(j == 1 ? " %-" w[j] "s |" : " %" w[j] "s |", h[j]); print line
        line = "|"
        for (j = 1; j <= m; j++) { d = sprintf("%" w[j] "s", ""); gsub(/ /, "-", d)
            line = line (j == 1 ? " :" substr(d, 2) " |" : " " substr(d, 2) ": |") }
        print line
        for (i = 1; i <= n; i++) { line = "|"
            for (j = 1; j <= m; j++) line = line sprintf(j == 1 ? " %-" w[j] "s |" : " %" w[j] "s |", c[i, j])
            print line }
    }'
