#!/usr/bin/env bash
# Builds the Tokio peer benchmark (tokio-bench) offline against Debian's packaged crates
# and prints the path of the binary on stdout (everything else goes to stderr).
#
#   bench/peers/tokio/build.sh
#
# Tokio 1.24 and its dependencies come from librust-tokio-dev (/usr/share/cargo/registry,
# wired in through .cargo/config.toml next to this script). Output: build/peers/tokio/.
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

# Prefer the rustup toolchain when it is not already on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "build.sh: cargo not found" >&2; exit 1; }

export CARGO_TARGET_DIR="$repo_root/build/peers/tokio"
# cargo reads .cargo/config.toml from the current directory upwards.
cd "$crate_dir"
cargo build --release --offline --quiet >&2

echo "$CARGO_TARGET_DIR/release/tokio-bench"
