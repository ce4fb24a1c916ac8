#!/usr/bin/env bash
# Builds the Tokio peer benchmark (tokio-bench, tokio-echo, tokio-http) offline against
# Debian's packaged crates and prints the path of tokio-bench on stdout (everything else
# goes to stderr). Then, as an optional extra, the hyper peer (hyper/, binary hyper-http):
# where librust-hyper-dev cannot be installed or hyper-http does not build, it says so
# and the script still succeeds.
#
#   bench/peers/tokio/build.sh
#
# Tokio 1.24 and its dependencies come from librust-tokio-dev, hyper 0.14 from
# librust-hyper-dev (/usr/share/cargo/registry, wired in through .cargo/config.toml next
# to this script, which hyper/ also sees). Output: build/peers/tokio/release/.
set -euo pipefail

crate_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$crate_dir/../../.." && pwd)"

if ! dpkg -s librust-tokio-dev >/dev/null 2>&1; then
    echo "build.sh: installing librust-tokio-dev" >&2
    if [ "$(id -u)" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y librust-tokio-dev >&2
    else
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y librust-tokio-dev >&2
    fi
fi

# hyper-http's crates: optional, never fatal.
if ! dpkg -s librust-hyper-dev >/dev/null 2>&1; then
    echo "build.sh: installing librust-hyper-dev (for hyper-http)" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y librust-hyper-dev >&2 ||
        echo "build.sh: librust-hyper-dev not installed: hyper-http is left out" >&2
fi

# Prefer the rustup toolchain when it is not already on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "build.sh: cargo not found" >&2; exit 1; }

export CARGO_TARGET_DIR="$repo_root/build/peers/tokio"
# cargo reads .cargo/config.toml from the current directory upwards.
cd "$crate_dir"
cargo build --release --offline --quiet >&2
if dpkg -s librust-hyper-dev >/dev/null 2>&1; then
    (cd hyper && cargo build --release --offline --quiet >&2) ||
        echo "build.sh: hyper-http did not build: it is left out of make bench-http" >&2
fi

echo "$CARGO_TARGET_DIR/release/tokio-bench"
