#!/usr/bin/env bash
# Restores, measured: a generated document library (`seed --content`) is written out as files (read
# back through the Graph file paths), imported into a fresh backstore site and snapshotted into a
# restore point; then, in the same run:
#   - backstore: a full `new` restore of the site (activate → completed: the restored tree written,
#     its content shared, not copied), then the restored site's every file read back through
#     `/drives/{id}/items/{id}/content` into a directory (what restic's restore does: bytes on disk);
#     a one-folder browse's time to first byte (browse session created, then the library listed);
#     a granular restore of the library's first folder (into the live library's "Recovered Items"),
#     then that folder read back to disk;
#   - restic (and rustic, when on the PATH): a backup of the same files, then `restore latest`, and
#     a restore of the same one folder;
#   - the disk's own write rate (dd, 512 MiB, fdatasync).
# Prints MB/s and items/s for each.
#   scripts/bench-restore.sh [SIZE, default 256MiB]
set -euo pipefail
size="${1:-256MiB}"
source "$(dirname "$0")/bench-lib.sh"

echo "== generating a $size library and writing it out as files"
"$bin" seed --data-dir "$work/source" --tenant bench --sites 1 --drives 0 --mailboxes 0 --restore-points 1 \
    --content "$size" >"$work/seed.json"
site_id="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['protectionUnits'][0]['siteId'])" "$work/seed.json")"
token="$("$bin" token --data-dir "$work/source" --tenant bench)"
start_server "$work/source"
cat >"$work/download.py" <<'PY'
"""Downloads every file of a drive (or of one folder of it) into a directory:
python download.py ORIGIN TOKEN DRIVE_OR_SITE OUT [FOLDER_ITEM_ID]."""
import json, os, sys, urllib.request
origin, token, what, out = sys.argv[1:5]
start = sys.argv[5] if len(sys.argv) > 5 else "root"
def get(url):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    return urllib.request.urlopen(req).read()
drive = json.loads(get(f"{origin}/v1.0/sites/{what}/drive"))["id"] if not what.startswith("b!") else what
n = 0
todo = [(start, out)]
while todo:
    item, path = todo.pop()
    os.makedirs(path, exist_ok=True)
    url = f"{origin}/v1.0/drives/{drive}/items/{item}/children?$top=1000"
    while url:
        page = json.loads(get(url))
        for c in page["value"]:
            if "folder" in c:
                todo.append((c["id"], os.path.join(path, c["name"])))
            else:
                open(os.path.join(path, c["name"]), "wb").write(get(f"{origin}/v1.0/drives/{drive}/items/{c['id']}/content"))
                n += 1
        url = page.get("@odata.nextLink")
print(n)
PY
python3 "$work/download.py" "$origin" "$token" "$site_id" "$work/library" >/dev/null
stop_server
files="$(find "$work/library" -type f | wc -l)"
items="$(find "$work/library" -mindepth 1 | wc -l)"
raw="$(find "$work/library" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')"
echo "   $files files, $items items, $raw bytes"

echo "== backstore: import, snapshot into a restore point"
"$bin" seed --data-dir "$work/target" --tenant bench --sites 1 --drives 0 --mailboxes 0 --restore-points 1 >"$work/seed2.json"
site_url="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['protectionUnits'][0]['siteWebUrl'])" "$work/seed2.json")"
"$bin" import --data-dir "$work/target" --tenant bench --site "$site_url" "$work/library" >/dev/null
token="$("$bin" token --data-dir "$work/target" --tenant bench)"
start_server "$work/target"
cat >"$work/restore.py" <<'PY'
"""Takes a restore point of the site, times a browse's first byte and a full `new` restore; prints
JSON: python restore.py ORIGIN TOKEN SEED_JSON."""
import json, sys, time, urllib.request
origin, token, seed = sys.argv[1:]
api = f"{origin}/v1.0/solutions/backupRestore"
def call(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req).read() or b"null")
unit = json.load(open(seed))["protectionUnits"][0]
def latest():
    found = call("POST", f"{api}/restorePoints/search", {"protectionUnitIds": [unit["id"]],
                 "protectionTimePeriod": {"startDateTime": "2020-01-01T00:00:00Z"}, "restorePointPreference": "latest"})
    return found["searchResults"][0]["restorePoint"]["id"]
before = latest()
call("POST", f"{origin}/admin/clock/advance", {"by": "25m"})
# The engine snapshots the imported drive and takes the next point.
point = before
for _ in range(600):
    point = latest()
    if point != before:
        break
    time.sleep(0.1)
assert point != before, "no new restore point was taken"
t0 = time.perf_counter()
browse = call("POST", f"{api}/sharePointBrowseSessions", {"restorePointId": point})
top = call("POST", f"{api}/sharePointBrowseSessions/{browse['id']}/browse", {})
lib = call("POST", f"{api}/sharePointBrowseSessions/{browse['id']}/browse", {"browseLocationItemKey": top["value"][0]["itemKey"]})
first = call("POST", f"{api}/sharePointBrowseSessions/{browse['id']}/browse", {"browseLocationItemKey": lib["value"][0]["itemKey"]})
browse_s = time.perf_counter() - t0
s = call("POST", f"{api}/sharePointRestoreSessions",
         {"siteRestoreArtifacts": [{"restorePoint": {"id": point}, "destinationType": "new"}]})
t0 = time.perf_counter()
call("POST", f"{api}/restoreSessions/{s['id']}/activate")
while call("GET", f"{api}/restoreSessions/{s['id']}")["status"] not in ("completed", "completedWithError", "failed"):
    time.sleep(0.01)
restore_s = time.perf_counter() - t0
art = call("GET", f"{api}/sharePointRestoreSessions/{s['id']}/siteRestoreArtifacts")["value"][0]
# One folder, granular: copied into the live library's "Recovered Items" folder.
folder = next(i for i in first["value"] if i["type"] == "folder")
g = call("POST", f"{api}/sharePointRestoreSessions",
         {"granularSiteRestoreArtifacts": [{"browseSessionId": browse["id"], "id": folder["itemKey"]}]})
t0 = time.perf_counter()
call("POST", f"{api}/restoreSessions/{g['id']}/activate")
while call("GET", f"{api}/restoreSessions/{g['id']}")["status"] not in ("completed", "completedWithError", "failed"):
    time.sleep(0.01)
folder_s = time.perf_counter() - t0
ga = call("GET", f"{api}/sharePointRestoreSessions/{g['id']}/granularSiteRestoreArtifacts")["value"][0]
assert ga["status"] == "succeeded", ga
print(json.dumps({"browse_s": browse_s, "listed": first["@odata.count"], "restore_s": restore_s,
                  "status": art["status"], "site": art["restoredSiteId"], "session": s["id"],
                  "folder": folder["name"], "folder_s": folder_s, "folder_copy": ga["restoredItemKey"].split(",")[-1],
                  "folder_session": g["id"]}))
PY
python3 "$work/restore.py" "$origin" "$token" "$work/seed2.json" >"$work/restore.json"
read -r browse_s restore_s new_site session folder_s folder_copy folder_session <<<"$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['status']=='succeeded', r; print(r['browse_s'], r['restore_s'], r['site'], r['session'], r['folder_s'], r['folder_copy'], r['folder_session'])" "$work/restore.json")"
folder="$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['folder'])" "$work/restore.json")"
for s in "$session" "$folder_session"; do
    "$bin" sessions verify --server "$origin" --token "$token" "$s" >"$work/verify.out" || { cat "$work/verify.out"; exit 1; }
done
t0="$(now)"
python3 "$work/download.py" "$origin" "$token" "$new_site" "$work/restored" >/dev/null
read_s="$(since "$t0")"
t0="$(now)"
python3 "$work/download.py" "$origin" "$token" "$site_id" "$work/folder-restored" "$folder_copy" >/dev/null
folder_read_s="$(since "$t0")"
stop_server
if ! diff -r "$work/library" "$work/restored" >/dev/null; then echo "the restored files differ from the library" >&2; exit 1; fi
if ! diff -r "$work/library/$folder" "$work/folder-restored" >/dev/null; then echo "the restored folder differs" >&2; exit 1; fi
folder_items="$(find "$work/library/$folder" -mindepth 1 | wc -l)"
folder_raw="$(find "$work/library/$folder" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')"

peers=()
for p in restic rustic; do command -v "$p" >/dev/null && peers+=("$p"); done
declare -A peer_s peer_folder_s
echo bench >"$work/password"
for p in "${peers[@]}"; do
    echo "== $p backup, then restore latest"
    export RESTIC_CACHE_DIR="$work/$p-cache" RUSTIC_CACHE_DIR="$work/$p-cache"
    "$p" -r "$work/$p-repo" --password-file "$work/password" init >/dev/null 2>&1
    (cd "$work" && "$p" -r "$work/$p-repo" --password-file "$work/password" backup library >/dev/null 2>&1)
    # restic takes the destination as --target, rustic as an argument.
    target=(--target "$work/$p-out")
    [ "$p" = rustic ] && target=("$work/$p-out")
    t0="$(now)"
    "$p" -r "$work/$p-repo" --password-file "$work/password" restore latest "${target[@]}" >/dev/null 2>&1
    peer_s[$p]="$(since "$t0")"
    diff -r "$work/library" "$work/$p-out/library" >/dev/null || { echo "$p restored something else" >&2; exit 1; }
    t0="$(now)"
    if [ "$p" = restic ]; then
        restic -r "$work/$p-repo" --password-file "$work/password" restore latest --target "$work/$p-folder" \
            --include "/library/$folder" >/dev/null 2>&1
    else
        rustic -r "$work/$p-repo" --password-file "$work/password" restore "latest:library/$folder" \
            "$work/$p-folder/library/$folder" >/dev/null 2>&1
    fi
    peer_folder_s[$p]="$(since "$t0")"
    diff -r "$work/library/$folder" "$work/$p-folder/library/$folder" >/dev/null \
        || { echo "$p restored another folder" >&2; exit 1; }
done

echo "== the disk's write rate"
dd_out="$(dd if=/dev/zero of="$work/dd" bs=1M count=512 conv=fdatasync 2>&1 | tail -1)"
disk_s="$(echo "$dd_out" | awk '{print $(NF-3)}')"
rm -f "$work/dd"

python3 - "$raw" "$files" "$items" "$browse_s" "$restore_s" "$read_s" "$disk_s" "${peers[*]:-}" \
    "$(for p in "${peers[@]}"; do printf '%s ' "${peer_s[$p]}"; done)" "$folder_raw" "$folder_items" "$folder_s" \
    "$folder_read_s" "$(for p in "${peers[@]}"; do printf '%s ' "${peer_folder_s[$p]}"; done)" <<'PY'
import sys
raw, files, items = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
browse_s, restore_s, read_s, disk_s = map(float, sys.argv[4:8])
peers, peer_s = sys.argv[8].split(), [float(x) for x in sys.argv[9].split()]
folder_raw, folder_items = int(sys.argv[10]), int(sys.argv[11])
folder_s, folder_read_s = float(sys.argv[12]), float(sys.argv[13])
peer_folder_s = [float(x) for x in sys.argv[14].split()]
print(f"library: {files} files, {items} items, {raw / 1e6:.1f} MB; one folder: {folder_items} items, {folder_raw / 1e6:.1f} MB")
print(f"{'':38} {'seconds':>8} {'MB/s':>8} {'items/s':>9}")
def row(name, s, mb=raw / 1e6, n=items):
    print(f"{name:38} {s:8.2f} {mb / s:8.1f} {n / s:9.0f}")
row("backstore new restore (tree)", restore_s)
row("backstore restore + read to disk", restore_s + read_s)
for p, s in zip(peers, peer_s):
    row(f"{p} restore latest", s)
one = {"mb": folder_raw / 1e6, "n": folder_items}
row("backstore granular folder (tree)", folder_s, **one)
row("backstore granular folder + read", folder_s + folder_read_s, **one)
for p, s in zip(peers, peer_folder_s):
    row(f"{p} restore of the folder", s, **one)
print(f"{'disk write (dd 512 MiB, fdatasync)':38} {disk_s:8.2f} {512 * 1.048576 / disk_s:8.1f}")
print(f"backstore browse, time to the first folder's listing: {browse_s * 1000:.0f} ms")
PY
