#!/usr/bin/env bash
# ctest, then each test that failed run once more, alone (-j1), so that a
# test that fails only because two suites competed for this machine's two
# cores does not fail the run. Arguments go to the first ctest.
#
# A test that passes only on the second run is not hidden: its name and its
# first failure's output stay in the log, and the names are listed at the
# end under "flaky:" and appended to Testing/flaky.txt, to be fixed as
# defects. A test that fails twice fails the run.
set -uo pipefail
ctest "$@"
rc=$?
[ "$rc" -eq 0 ] && exit 0
failed=Testing/Temporary/LastTestsFailed.log
if [ ! -s "$failed" ]; then
    echo "ctest-retry: ctest failed (exit $rc) without a list of failed tests"
    exit "$rc"
fi
names=$(cut -d: -f2- "$failed" | tr '\n' ' ')
echo "ctest-retry: rerunning alone what failed: $names"
if ! ctest --rerun-failed --output-on-failure -j1; then
    echo "ctest-retry: failed again: $(cut -d: -f2- "$failed" | tr '\n' ' ')"
    exit 1
fi
echo "flaky: $names(failed once, passed alone)"
echo "$(date -u +%FT%TZ) $names" >>Testing/flaky.txt
exit 0
