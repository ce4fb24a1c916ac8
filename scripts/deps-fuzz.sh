#!/bin/sh
# What `make fuzz` needs beyond scripts/deps.sh: clang with its libFuzzer
# runtime (Debian's libclang-rt-14-dev, only recommended by clang, so a
# fresh machine may lack it). Installed only if a trivial fuzz target fails
# to link.
set -e
CLANG=${CLANG:-clang}
probe() {
    printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' |
        "$CLANG" -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1
}
probe && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "make fuzz needs clang and its libFuzzer runtime (libclang-rt)" >&2
    exit 1
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: clang libclang-rt-14-dev (libFuzzer)"
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
probe || { echo "clang -fsanitize=fuzzer still fails to link" >&2; exit 1; }
