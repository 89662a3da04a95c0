#!/usr/bin/env bash
# The HTTP benchmark in every shape the figures are reported for: SQLite with one process, and one
# PostgreSQL database behind one and three processes. Each run prints `backstore bench`'s lines,
# every scenario next to a bare axum handler's ceiling measured in the same run.
#   scripts/bench-http.sh [SECONDS_PER_SCENARIO] [POSTGRES_ADMIN_URL]
set -euo pipefail
seconds="${1:-3}"
admin="${2:-postgres://postgres@127.0.0.1:5432/test}"
cd "$(dirname "$0")/.."
cargo build --release --locked -q
bin=target/release/backstore
work="$(mktemp -d)"
db="backstore_bench_$$"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# Starts `backstore serve` with the given arguments; sets `origin` to where it listens.
start() {
    local out="$work/serve-$RANDOM.out"
    "$bin" serve --listen 127.0.0.1:0 "$@" >"$out" 2>/dev/null &
    pids+=("$!")
    for _ in $(seq 100); do
        if grep -q '^listening on ' "$out"; then origin="$(sed -n 's/^listening on //p' "$out")"; return; fi
        sleep 0.1
    done
    echo "serve did not start" >&2; exit 1
}

stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
}

echo "== SQLite, 1 process"
mkdir -p "$work/sqlite"
start --data-dir "$work/sqlite"
"$bin" bench --data-dir "$work/sqlite" --server "$origin" --duration "${seconds}s" --pid "${pids[0]}"
stop_all

psql "$admin" -qc "CREATE DATABASE $db"
url="${admin%/*}/$db"
"$bin" migrate --database-url "$url" >/dev/null
mkdir -p "$work/pg"
for n in 1 3; do
    echo "== PostgreSQL, $n process(es)"
    servers=()
    for _ in $(seq "$n"); do
        start --data-dir "$work/pg" --database-url "$url"
        servers+=(--server "$origin")
    done
    pid_args=()
    for p in "${pids[@]}"; do pid_args+=(--pid "$p"); done
    "$bin" bench --data-dir "$work/pg" --database-url "$url" "${servers[@]}" --duration "${seconds}s" "${pid_args[@]}"
    stop_all
done
