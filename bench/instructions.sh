#!/usr/bin/env bash
# Instructions per iteration of each ct/* benchmark, kairo and the Tokio peer side by side,
# counted by callgrind: the one figure a shared, loaded machine measures without noise.
#
#   bench/instructions.sh [filter...]
#
# Each side runs each row twice under callgrind with BENCH_ITERS=A and BENCH_ITERS=B
# (exactly that many iterations, no warm-up); the row's figure is the difference of the two
# totals divided by B - A, so that process start, runtime creation and the first
# iteration's cold caches cancel out. Output on stdout: one table, aligned plain text that
# is also a GitHub markdown table, with kairo/tokio as the ratio.
#
# Environment:
#   KAIRO_BENCH   kairo benchmark binary (default build/bin/kairo-bench)
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
for n in $ct_set; do
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

# count BIN NAME ITERS: the instructions callgrind collected over the whole process.
count() {
    local log
    log="$(BENCH_ITERS="$3" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$1" "$2" 2>&1 >/dev/null)" || { echo "instructions.sh: $1 $2 failed" >&2; return 1; }
    printf '%s\n' "$log" | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
}

# per_iter BIN NAME: instructions per iteration, or "-".
per_iter() {
    local x y
    [ -x "$1" ] || { echo "-"; return; }
    x="$(count "$1" "$2" "$a")" && y="$(count "$1" "$2" "$b")" || { echo "-"; return; }
    [ -n "$x" ] && [ -n "$y" ] || { echo "-"; return; }
    echo $(((y - x) / (b - a)))
}

rows=()
for n in "${names[@]}"; do
    echo "instructions.sh: $n" >&2
    k="$(per_iter "$kairo_bin" "$n")"
    t="$(per_iter "$tokio_bin" "$n")"
    rows+=("$n"$'\t'"$k"$'\t'"$t")
done

printf '%s\n' "${rows[@]}" | awk -F'\t' '
    { n++; c[n, 1] = $1; c[n, 2] = $2; c[n, 3] = $3
      c[n, 4] = ($2 == "-" || $3 == "-" || $3 + 0 == 0) ? "-" : sprintf("%.2f", $2 / $3) }
    END {
        h[1] = "benchmark"; h[2] = "kairo instr/iter"; h[3] = "tokio instr/iter"; h[4] = "kairo/tokio"
        for (j = 1; j <= 4; j++) w[j] = length(h[j])
        for (i = 1; i <= n; i++) for (j = 1; j <= 4; j++) if (length(c[i, j]) > w[j]) w[j] = length(c[i, j])
        line = "|"; for (j = 1; j <= 4; j++) line = line sprintf(j == 1 ? " %-" w[j] "s |" : " %" w[j] "s |", h[j]); print line
        line = "|"
        for (j = 1; j <= 4; j++) { d = sprintf("%" w[j] "s", ""); gsub(/ /, "-", d)
            line = line (j == 1 ? " :" substr(d, 2) " |" : " " substr(d, 2) ": |") }
        print line
        for (i = 1; i <= n; i++) { line = "|"
            for (j = 1; j <= 4; j++) line = line sprintf(j == 1 ? " %-" w[j] "s |" : " %" w[j] "s |", c[i, j])
            print line }
    }'
