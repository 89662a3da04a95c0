#!/usr/bin/env bash
# Installs the tools the tests drive backstore with, once, under .cache/sdk at the repository root: a
# Python virtual environment (tests/sdk/requirements.txt: the official Graph SDKs, moto's S3 server)
# and an npm install (tests/sdk/package.json with its lock file). Re-runs only when those files
# change; tests that call it at the same time take turns. Prints the cache directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="$(cd "$here/../.." && pwd)/.cache/sdk"
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
stamp() { cat "$here/requirements.txt" "$here/package.json" "$here/package-lock.json" | sha256sum | cut -c1-16; }
want="$(stamp)"
if [ "$(cat "$cache/stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$cache/venv" "$cache/node"
  python3 -m venv "$cache/venv"
  "$cache/venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
  mkdir -p "$cache/node"
  cp "$here/package.json" "$here/package-lock.json" "$cache/node/"
  (cd "$cache/node" && npm ci --silent --no-audit --no-fund >&2)
  echo "$want" > "$cache/stamp"
fi
# ES modules resolve packages next to the script: the JavaScript test runs from the cache.
cp "$here/lifecycle.mjs" "$cache/node/lifecycle.mjs"
echo "$cache"
