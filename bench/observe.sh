#!/usr/bin/env bash
# The cost of observability: kairo-bench's ct/* and mt/* rows with metrics
# and histograms off vs on (the poll-time histogram,
# slow-poll and blocked-worker detection all on; the counters are always
# on), in one process, interleaved: each row runs off then on, ROUNDS
# times. A row's figure is the median over the rounds of its per-round
# median; the ratio is on/off (1.02 = 2 % slower with everything on).
#
#   bench/observe.sh [filter...]          (default filters: ct/ mt/)
#
# Environment: KAIRO_BENCH (default build/bin/kairo-bench), ROUNDS (3),
# WORKERS (2), BENCH_REPS and BENCH_TARGET_MS (passed through).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${KAIRO_BENCH:-build/bin/kairo-bench}
rounds=${ROUNDS:-3}
workers=${WORKERS:-2}
[ $# -gt 0 ] || set -- ct/ mt/
"$bin" --workers "$workers" --observe "$rounds" "$@" | awk -F'\t' '
    { name = $1; on = sub(/\+obs$/, "", name);
      key = name SUBSEP on; n[key]++; v[key, n[key]] = $2;
      if (!(name in seen)) { seen[name] = 1; order[++rows] = name } }
    function median(key,    i, j, t, m, a) {
        m = n[key]
        for (i = 1; i <= m; i++) a[i] = v[key, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
            if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
        printf "| %-28s | %12s | %12s | %6s |\n", "benchmark", "off ns/iter", "on ns/iter", "on/off"
        printf "|%s|%s|%s|%s|\n", "------------------------------", "--------------", "--------------", "--------"
        for (r = 1; r <= rows; r++) {
            name = order[r]; off = median(name SUBSEP 0); on = median(name SUBSEP 1)
            printf "| %-28s | %12.1f | %12.1f | %6.3f |\n", name, off, on, (off > 0 ? on / off : 0)
        }
    }'
