#!/usr/bin/env bash
# Runs the fuzz targets (the $filter/$orderby parser, the delta-PATCH body parser, the token and
# Authorization header parsing) for a bounded time each. Not part of every CI run:
# `scripts/fuzz.sh [SECONDS]` (default 60 per target).
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz if missing.
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")/../fuzz"
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
for target in filter delta_body token; do
  echo "fuzzing $target for ${seconds}s"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -max_len=4096
done
