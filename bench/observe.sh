#!/usr/bin/env bash
# The cost of observability: kairo-bench's ct/* and mt/* rows with everything
# off vs everything on (the poll-time and schedule-latency histograms, 24
# log2 buckets from 1 us; slow-poll detection at 1 s and blocked-worker
# detection at 2 s, thresholds no poll reaches; the counters are always on).
#
#   bench/observe.sh [filter...]          (default: every ct/ and mt/ row)
#
# Two figures per row, from the same build:
#   instructions per iteration, off and on, counted by callgrind (each side
#     runs twice, BENCH_ITERS=ITERS_A and ITERS_B, and the figure is the
#     difference over ITERS_B - ITERS_A, so start-up cancels out): the
#     stable figure on a shared machine. Multi-thread rows under callgrind
#     run one thread at a time, and their idle workers' searching varies:
#     a few % of noise there, less with valgrind's --fair-sched=yes (which
#     hands the threads the lock in turn; always on here) and REPEAT.
#   the wall-time ratio on/off: kairo-bench --observe ROUNDS, each row off
#     then on in one process, interleaved; the median over the rounds of each
#     round's median. Noisy on a loaded machine (see the README).
# With PARTS=1 the instruction ratio of each part alone is added (poll
# histogram, schedule-latency histogram, slow poll, blocked worker).
#
# MASK picks what "on" is (BENCH_OBSERVE_MASK: 1 poll-time histogram, 2
# schedule-latency histogram, 4 slow poll, 8 blocked worker; default 15,
# everything; 3 is the histograms alone) and SAMPLE the histograms'
# kr_histogram_config.sample (BENCH_OBSERVE_SAMPLE; default 0, i.e. 64; 1
# is exact, every poll timed).
#
# Environment: KAIRO_BENCH (default build/bin/kairo-bench), ROUNDS (3; 0
# skips the wall-time column), WORKERS (2), ITERS_A (2), ITERS_B (6),
# REPEAT (1: each side's instruction figure is the median of that many
# differenced pairs, off and on in turn; the mt rows want 5 or more),
# INSTR (1; 0 skips callgrind), PARTS (0), BENCH_REPS and BENCH_TARGET_MS
# (passed through to the wall-time runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${KAIRO_BENCH:-build/bin/kairo-bench}
rounds=${ROUNDS:-3}
workers=${WORKERS:-2}
a=${ITERS_A:-2}
b=${ITERS_B:-6}
instr=${INSTR:-1}
parts=${PARTS:-0}
repeat=${REPEAT:-1}
mask=${MASK:-15}
export BENCH_OBSERVE_SAMPLE=${SAMPLE:-0} BENCH_OBSERVE_MASK=$mask
all="ct/spawn_many_local ct/spawn_many_remote_idle ct/spawn_many_remote_busy
ct/ping_pong ct/yield_many ct/chained_spawn mt/spawn_many_local
mt/spawn_many_remote_idle mt/spawn_many_remote_busy1 mt/spawn_many_remote_busy2
mt/ping_pong mt/yield_many mt/chained_spawn"
rows=()
for n in $all; do
    if [ "$#" -eq 0 ]; then rows+=("$n"); continue; fi
    for f in "$@"; do case "$n" in *"$f"*) rows+=("$n"); break ;; esac; done
done
[ "${#rows[@]}" -gt 0 ] || { echo "observe.sh: no row matches: $*" >&2; exit 2; }
[ "$instr" = 0 ] || command -v valgrind >/dev/null ||
    { echo "observe.sh: valgrind not found (INSTR=0 skips it)" >&2; exit 1; }

# count NAME ITERS OBSERVE MASK: instructions of the whole process.
count() {
    BENCH_ITERS="$2" BENCH_OBSERVE="$3" BENCH_OBSERVE_MASK="$4" \
        valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file=/dev/null \
        "$bin" --workers "$workers" "$1" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | tail -1
}
per_iter() { # NAME OBSERVE MASK
    local x y
    x=$(count "$1" "$a" "$2" "$3")
    y=$(count "$1" "$b" "$2" "$3")
    echo $(((y - x) / (b - a)))
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 }
    END { print NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
# off_on NAME MASK: "OFF ON", each the median of REPEAT figures, the two
# sides measured in turn (so that a drift of the machine hits both).
off_on() {
    local i offs=() ons=()
    for ((i = 0; i < repeat; i++)); do
        offs+=("$(per_iter "$1" 0 15)")
        ons+=("$(per_iter "$1" 1 "$2")")
    done
    echo "$(median "${offs[@]}") $(median "${ons[@]}")"
}

# Wall ratios: name -> median on/off.
declare -A wall
if [ "$rounds" -gt 0 ]; then
    echo "observe.sh: wall time, $rounds rounds" >&2
    while IFS=$'\t' read -r name ratio; do wall[$name]=$ratio; done < <(
        "$bin" --workers "$workers" --observe "$rounds" "${rows[@]}" | awk -F'\t' '
        { name = $1; on = sub(/\+obs$/, "", name);
          key = name SUBSEP on; n[key]++; v[key, n[key]] = $2;
          if (!(name in seen)) { seen[name] = 1; order[++rows] = name } }
        function median(key,    i, j, t, m, x) {
            m = n[key]
            for (i = 1; i <= m; i++) x[i] = v[key, i]
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
                if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
            return m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
        }
        END { for (r = 1; r <= rows; r++) { name = order[r]
                off = median(name SUBSEP 0); on = median(name SUBSEP 1)
                printf "%s\t%.3f\n", name, (off > 0 ? on / off : 0) } }')
fi

hdr="| benchmark | off instr/iter | on instr/iter | on/off instr | on/off wall |"
sep="|---|---:|---:|---:|---:|"
if [ "$parts" = 1 ]; then
    hdr="$hdr poll hist | sched lat | slow poll | blocked |"
    sep="$sep---:|---:|---:|---:|"
fi
echo "$hdr"
echo "$sep"
for n in "${rows[@]}"; do
    line="| $n"
    if [ "$instr" = 1 ]; then
        echo "observe.sh: callgrind $n" >&2
        read -r off on < <(off_on "$n" "$mask")
        line="$line | $off | $on | $(awk -v x="$on" -v y="$off" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }')"
    else
        line="$line | - | - | -"
    fi
    line="$line | ${wall[$n]:--} |"
    if [ "$parts" = 1 ] && [ "$instr" = 1 ]; then
        for m in 1 2 4 8; do
            p=$(per_iter "$n" 1 "$m")
            line="$line $(awk -v x="$p" -v y="$off" 'BEGIN { printf "%.3f", (y > 0 ? x / y : 0) }') |"
        done
    fi
    echo "$line"
done
