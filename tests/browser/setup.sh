#!/usr/bin/env bash
# Installs what the console's browser test drives: Debian's Chromium and its WebDriver server
# (packages `chromium` and `chromium-driver`), unless both are on the PATH already. Needs root (or
# sudo) and the Debian package registry; tests that call it at the same time take turns.
set -euo pipefail
have() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }
have && exit 0
exec 9>"${TMPDIR:-/tmp}/backstore-chromium-setup.lock"
flock 9
have && exit 0
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q >&2
"${as_root[@]}" apt-get install -y -q --no-install-recommends chromium chromium-driver >&2
have
