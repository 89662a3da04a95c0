"""Files through Microsoft's own Python SDK (msgraph-sdk on /v1.0, msgraph-beta-sdk on /beta): a
site's and a user's drive, a folder, an upload, listing, a download that follows the 302, a read by
path, a rename and a delete, with the request adapter pointed at backstore.

    python files.py BASE_URL (beta|v1.0) TOKEN SEED_JSON   (see graph_test.py)
"""

import asyncio
import base64
import importlib
import json

import httpx

from graph_test import PKG, SEED, check, client, finish, model

ODataError = model("o_data_errors.o_data_error", "ODataError")
DriveItem = model("drive_item", "DriveItem")
Folder = model("folder", "Folder")


def quick_xor(data: bytes) -> str:
    """OneDrive's quickXorHash (160 bits, shift 11, length XORed into the last 8 bytes), base64."""
    width, shift, cells = 160, 11, [0, 0, 0]
    at = 0
    for b in data:
        idx, off = at // 64, at % 64
        bits = 32 if idx == 2 else 64
        cells[idx] ^= (b << off) & ((1 << 64) - 1)
        if off > bits - 8:
            cells[0 if idx == 2 else idx + 1] ^= b >> (bits - off)
        at = (at + shift) % width
    out = bytearray(b"".join(c.to_bytes(8, "little") for c in cells)[:20])
    for i, b in enumerate(len(data).to_bytes(8, "little")):
        out[12 + i] ^= b
    return base64.b64encode(bytes(out)).decode()


async def main():
    seed = json.load(open(SEED))
    graph = client()
    site = next(u for u in seed["protectionUnits"] if u["kind"] == "site")
    user = next(u for u in seed["protectionUnits"] if u["kind"] == "drive")

    drive = await graph.sites.by_site_id(site["siteId"]).drive.get()
    check("a site's drive is its document library", drive.drive_type == "documentLibrary" and drive.id.startswith("b!"), drive)
    onedrive = await graph.users.by_user_id(user["email"]).drive.get()
    check("a user's drive is a business OneDrive", onedrive.drive_type == "business", onedrive)
    items = graph.drives.by_drive_id(drive.id).items

    folder = await items.by_drive_item_id("root").children.post(
        DriveItem(name="Reports", folder=Folder(), additional_data={"@microsoft.graph.conflictBehavior": "rename"})
    )
    check("a folder is created", folder.folder is not None and folder.name == "Reports", folder)

    data = b"quarterly numbers, region north\n" * 40000
    uploaded = await items.by_drive_item_id("root:/Reports/q1.txt:").content.put(data)
    check("an upload by path returns the item", uploaded.size == len(data) and uploaded.name == "q1.txt", uploaded)
    check("quickXorHash is OneDrive's", uploaded.file.hashes.quick_xor_hash == quick_xor(data), uploaded.file.hashes)

    children = await items.by_drive_item_id(folder.id).children.get()
    check("children list the upload", [c.name for c in children.value] == ["q1.txt"], children.value)
    by_path = await items.by_drive_item_id("root:/Reports/q1.txt:").get()
    check("an item reads by path", by_path.id == uploaded.id, by_path)

    delta = items.by_drive_item_id("root").delta
    page, seen = await delta.get(), []
    while True:
        seen += [i.name for i in page.value]
        if not page.odata_next_link:
            break
        page = await delta.with_url(page.odata_next_link).get()
    check("delta enumerates the drive", {"root", "Reports", "q1.txt"} <= set(seen), seen)
    delta_link = page.odata_delta_link

    downloaded = await items.by_drive_item_id(uploaded.id).content.get()
    check("the download follows the redirect and returns the bytes", downloaded == data, len(downloaded or b""))

    # A large file through an upload session the SDK creates; the fragments go to its uploadUrl
    # (as msgraph-core's upload task sends them), one out of order on the way, and the upload
    # resumes where GET on the session says.
    body_module = importlib.import_module(
        f"{PKG}.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body"
    )
    props = model("drive_item_uploadable_properties", "DriveItemUploadableProperties")
    session = await items.by_drive_item_id("root:/Reports/large.bin:").create_upload_session.post(
        body_module.CreateUploadSessionPostRequestBody(
            item=props(additional_data={"@microsoft.graph.conflictBehavior": "replace"})
        )
    )
    check(
        "an upload session starts at 0 and expires later",
        session.next_expected_ranges == ["0-"] and session.expiration_date_time is not None and session.upload_url,
        session,
    )
    large = bytes((i * 2654435761 >> 7) & 0xFF for i in range(1_500_000))
    step = 320 * 1024
    async with httpx.AsyncClient() as http:

        async def send(start, end):
            headers = {"Content-Range": f"bytes {start}-{end - 1}/{len(large)}"}
            return await http.put(session.upload_url, content=large[start:end], headers=headers)

        first = await send(0, step)
        skipped = await send(2 * step, 3 * step)
        check("a fragment out of order is refused", first.status_code == 202 and skipped.status_code == 416, skipped.text)
        resume = int((await http.get(session.upload_url)).json()["nextExpectedRanges"][0].split("-")[0])
        check("the session says where to resume", resume == step, resume)
        last = None
        while resume < len(large):
            last = await send(resume, min(resume + step, len(large)))
            resume = min(resume + step, len(large))
        check("the last fragment makes the file", last.status_code == 201, last.text[:200])
    made = await items.by_drive_item_id("root:/Reports/large.bin:").get()
    check("the file has every byte", made.size == len(large), made.size)
    check("its quickXorHash is OneDrive's", made.file.hashes.quick_xor_hash == quick_xor(large), made.file.hashes)
    back = await items.by_drive_item_id(made.id).content.get()
    check("it downloads as uploaded", back == large, len(back or b""))

    renamed = await items.by_drive_item_id(uploaded.id).patch(DriveItem(name="q1-final.txt"))
    check("a rename keeps the id", renamed.id == uploaded.id and renamed.name == "q1-final.txt", renamed)

    await items.by_drive_item_id(uploaded.id).delete()
    changes = await delta.with_url(delta_link).get()
    gone = [i for i in changes.value if i.id == uploaded.id]
    check("delta reports the deletion", len(gone) == 1 and gone[0].deleted is not None, [(i.name, i.deleted) for i in changes.value])
    try:
        await items.by_drive_item_id(uploaded.id).get()
        check("a deleted item is gone", False, "no error")
    except ODataError as e:
        check("a deleted item is gone", e.response_status_code == 404 and e.error.code == "itemNotFound", e.error.code)

    finish()


asyncio.run(main())
