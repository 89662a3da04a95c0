#!/usr/bin/env bash
# Mail import, measured: a generated mailbox's mail (`seed --content`) is written out as `.eml` files
# (read back through the API's `$value`), then `backstore import --mailbox` brings those files into
# a fresh data dir, and restic (and rustic, when on the PATH) back up the same files in the same
# run. Prints messages/s and MB/s, the bytes each stores against the raw size, and peak RSS.
#   scripts/bench-mail.sh [SIZE_PER_MAILBOX, default 100MiB]
set -euo pipefail
size="${1:-100MiB}"
source "$(dirname "$0")/bench-lib.sh"

# Peak RSS (kB) and wall seconds of a command, from GNU time's format.
measure() {
    /usr/bin/env time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    read -r seconds rss_kb <"$work/time"
}

echo "== generating $size of mail and writing it out as .eml files"
"$bin" seed --data-dir "$work/source" --tenant bench --sites 0 --drives 0 --mailboxes 1 --restore-points 1 \
    --content "$size" >"$work/seed.json"
email="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['protectionUnits'][0]['email'])" "$work/seed.json")"
token="$("$bin" token --data-dir "$work/source" --tenant bench)"
start_server "$work/source"
python3 - "$origin" "$token" "$email" "$work/corpus" <<'PY'
import json, os, sys, urllib.request
origin, token, email, out = sys.argv[1:]
def get(url):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    return urllib.request.urlopen(req).read()
def folders(url, path):
    while url:
        page = json.loads(get(url))
        for f in page["value"]:
            yield f, path + [f["displayName"]]
            yield from folders(f"{origin}/v1.0/users/{email}/mailFolders/{f['id']}/childFolders?includeHiddenFolders=true", path + [f["displayName"]])
        url = page.get("@odata.nextLink")
n = 0
for f, path in folders(f"{origin}/v1.0/users/{email}/mailFolders?$top=100", []):
    d = os.path.join(out, *path)
    os.makedirs(d, exist_ok=True)
    url = f"{origin}/v1.0/users/{email}/mailFolders/{f['id']}/messages?$select=id&$top=1000"
    while url:
        page = json.loads(get(url))
        for m in page["value"]:
            open(os.path.join(d, f"{m['id']}.eml"), "wb").write(get(f"{origin}/v1.0/users/{email}/messages/{m['id']}/$value"))
            n += 1
        url = page.get("@odata.nextLink")
print(f"{n} messages written", file=sys.stderr)
PY
stop_server
messages="$(find "$work/corpus" -name '*.eml' | wc -l)"
raw="$(find "$work/corpus" -name '*.eml' -printf '%s\n' | awk '{s+=$1} END {print s}')"

echo "== backstore import --mailbox"
"$bin" seed --data-dir "$work/target" --tenant bench --sites 0 --drives 0 --mailboxes 1 --restore-points 1 >/dev/null
measure "$bin" import --data-dir "$work/target" --tenant bench --mailbox "$email" "$work/corpus"
ours_s="$seconds"; ours_rss="$rss_kb"
ours_bytes="$(du -sb "$work/target/blobs" | cut -f1)"
db_bytes="$(du -b "$work/target/backstore.db" | cut -f1)"
wal_bytes="$(find "$work/target" -name 'backstore.db-*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')"

peers=()
for p in restic rustic; do command -v "$p" >/dev/null && peers+=("$p"); done
declare -A peer_s peer_rss peer_bytes
echo bench >"$work/password"
for p in "${peers[@]}"; do
    echo "== $p backup"
    export RESTIC_CACHE_DIR="$work/$p-cache" RUSTIC_CACHE_DIR="$work/$p-cache"
    if [ "$p" = restic ]; then
        "$p" -r "$work/$p-repo" --password-file "$work/password" init --repository-version 2 >/dev/null
        measure "$p" -r "$work/$p-repo" --password-file "$work/password" backup --quiet "$work/corpus"
    else
        "$p" -r "$work/$p-repo" --password-file "$work/password" init >/dev/null 2>&1
        measure "$p" -r "$work/$p-repo" --password-file "$work/password" backup "$work/corpus"
    fi
    peer_s[$p]="$seconds"; peer_rss[$p]="$rss_kb"; peer_bytes[$p]="$(du -sb "$work/$p-repo" | cut -f1)"
done

echo
printf 'corpus: %d messages, %.1f MiB of MIME (%s per mailbox from seed --content)\n' "$messages" "$(echo "$raw/1048576" | bc -l)" "$size"
printf '%-10s %10s %12s %10s %14s %14s %12s\n' tool seconds messages/s MB/s "stored MiB" "stored/raw" "peak RSS MiB"
row() {
    printf '%-10s %10.2f %12.0f %10.1f %14.1f %14.2f %12.1f\n' "$1" "$2" "$(echo "$messages/$2" | bc -l)" \
        "$(echo "$raw/$2/1000000" | bc -l)" "$(echo "$3/1048576" | bc -l)" "$(echo "$3/$raw" | bc -l)" "$(echo "$4/1024" | bc -l)"
}
row backstore "$ours_s" "$ours_bytes" "$ours_rss"
for p in "${peers[@]}"; do row "$p" "${peer_s[$p]}" "${peer_bytes[$p]}" "${peer_rss[$p]}"; done
printf '(backstore keeps its index and the messages'"'"' rows in SQL besides the packs: a %.1f MiB database, and %.1f MiB of WAL not yet checkpointed into it)\n' \
    "$(echo "$db_bytes/1048576" | bc -l)" "$(echo "$wal_bytes/1048576" | bc -l)"
