# What the content benchmarks share (sourced, not run): a release build of backstore (`$bin`), a
# work directory removed on exit with any server still running, a clock (`now`, `since T0`), and a
# server on a data dir (`start_server DIR` sets `$origin`; `stop_server`).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --locked -q
bin="$PWD/target/release/backstore"
work="$(mktemp -d)"
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$(now)"; }

start_server() { # DATA_DIR
    "$bin" serve --data-dir "$1" --listen 127.0.0.1:0 >"$work/serve.out" 2>/dev/null &
    pid=$!
    for _ in $(seq 100); do grep -q '^listening on ' "$work/serve.out" && break; sleep 0.1; done
    origin="$(sed -n 's/^listening on //p' "$work/serve.out")"
}
stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
