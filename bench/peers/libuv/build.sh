#!/usr/bin/env bash
# Builds the libuv peers against Debian's libuv1-dev and prints the output directory on
# stdout (everything else goes to stderr):
#
#   bench/peers/libuv/build.sh
#
#   build/peers/libuv/libuv-million-timers   million_timers.c: timers/... rows (bench-timers)
#   build/peers/libuv/libuv-echo             echo_server.c: TCP echo server (bench/echo/run.sh)
#
# libuv1-dev is installed with apt-get when missing. Nothing here is part of the main
# CMake build: without libuv, `make` and `make test` are unaffected.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
out="$repo_root/build/peers/libuv"

if ! pkg-config --exists libuv 2>/dev/null; then
    echo "build.sh: installing libuv1-dev" >&2
    sudo_=()
    [ "$(id -u)" -eq 0 ] || sudo_=(sudo)
    if ! "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y libuv1-dev >&2; then
        "${sudo_[@]}" apt-get update >&2
        "${sudo_[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y libuv1-dev >&2
    fi
fi
pkg-config --exists libuv || { echo "build.sh: libuv not found by pkg-config" >&2; exit 1; }

cc="${CC:-cc}"
cflags=(-O2 -g -Wall -Wextra -std=c11 -D_GNU_SOURCE $(pkg-config --cflags libuv))
libs=($(pkg-config --libs libuv))
mkdir -p "$out"

build() { # build OUTPUT SOURCE: only when the source is newer
    local bin="$out/$1" src="$here/$2"
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "${BASH_SOURCE[0]}" -nt "$bin" ]; then
        echo "build.sh: $1 (libuv $(pkg-config --modversion libuv))" >&2
        "$cc" "${cflags[@]}" -o "$bin" "$src" "${libs[@]}"
    fi
}
build libuv-million-timers million_timers.c
build libuv-echo echo_server.c

echo "$out"
