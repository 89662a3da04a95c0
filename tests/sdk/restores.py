"""Restores with content through Microsoft's own Python SDK (msgraph-sdk on /v1.0, msgraph-beta-sdk on
/beta), on a tenant seeded with content: a site's fast-restore point opened as a browse session
(created, read and listed through the SDK; the SDKs have no request builder for the `browse` action, so
it is posted with the same token), the site restored to a new site whose files the SDK reads back and
compares with what browsing the point showed and, item by item (path, size, quickXorHash), with the
site at the point; a OneDrive edited, pruned and added to after its point, restored in place and
compared item by item with what it was; one browsed item restored granularly
and read back by the key the artifact reports, a mail search's matches restored into a "Recovered
Items" folder, and a mailbox restored into a "Restored Items" folder whose messages the SDK counts
against the artifact's restoredItemCount and compares, MIME byte for byte, with the point's.

    python restores.py BASE_URL (beta|v1.0) TOKEN SEED_JSON   (see graph_test.py)
"""

import asyncio
import datetime
import hashlib
import importlib
import json

import httpx

from graph_test import BASE, PKG, SEED, TOKEN, VERSION, check, client, finish, model

SharePointBrowseSession = model("share_point_browse_session", "SharePointBrowseSession")
SharePointRestoreSession = model("share_point_restore_session", "SharePointRestoreSession")
ExchangeRestoreSession = model("exchange_restore_session", "ExchangeRestoreSession")
SiteRestoreArtifact = model("site_restore_artifact", "SiteRestoreArtifact")
MailboxRestoreArtifact = model("mailbox_restore_artifact", "MailboxRestoreArtifact")
RestorePoint = model("restore_point", "RestorePoint")
DestinationType = model("destination_type", "DestinationType")


def enum_value(v):
    return getattr(v, "value", v)


async def browse(session_id, body):
    """One page of the browse action (the SDKs have no builder for it)."""
    url = f"{BASE}/{VERSION}/solutions/backupRestore/sharePointBrowseSessions/{session_id}/browse"
    async with httpx.AsyncClient() as http:
        r = await http.post(url, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    r.raise_for_status()
    return r.json()["value"]


async def tree(graph, drive_id):
    """Every item of a drive by path: a folder as None, a file as (size, quickXorHash)."""
    items = graph.drives.by_drive_id(drive_id).items
    out, todo = {}, [("", "root")]
    while todo:
        prefix, item = todo.pop()
        page = await items.by_drive_item_id(item).children.get()
        while True:
            for c in page.value:
                path = f"{prefix}/{c.name}"
                if c.folder is not None:
                    out[path] = None
                    todo.append((path, c.id))
                else:
                    out[path] = (c.size, c.file.hashes.quick_xor_hash if c.file and c.file.hashes else None)
            if not page.odata_next_link:
                break
            page = await items.by_drive_item_id(item).children.with_url(page.odata_next_link).get()
    return out


async def mime_of(graph, user, skip=("Restored Items", "Recovered Items"), start="msgfolderroot"):
    """The MIME bytes of every sent or received message below a folder (drafts aside), sorted by
    their SHA-256, skipping folders whose names start with `skip`."""
    folders = graph.users.by_user_id(user).mail_folders
    out, todo = [], [start]
    while todo:
        f = todo.pop()
        messages = await folders.by_mail_folder_id(f).messages.get()
        while True:
            for m in messages.value:
                if not m.is_draft:
                    body = await folders.by_mail_folder_id(f).messages.by_message_id(m.id).content.get()
                    out.append(hashlib.sha256(body).hexdigest())
            if not messages.odata_next_link:
                break
            messages = await folders.by_mail_folder_id(f).messages.with_url(messages.odata_next_link).get()
        subs = await folders.by_mail_folder_id(f).child_folders.get()
        while True:
            todo += [c.id for c in subs.value if not (c.display_name or "").startswith(skip)]
            if not subs.odata_next_link:
                break
            subs = await folders.by_mail_folder_id(f).child_folders.with_url(subs.odata_next_link).get()
    return sorted(out)


async def run_to_end(br, session_id):
    await br.restore_sessions.by_restore_session_base_id(session_id).activate.post()
    status = None
    for _ in range(400):
        status = enum_value((await br.restore_sessions.by_restore_session_base_id(session_id).get()).status)
        if status in ("completed", "completedWithError", "failed"):
            break
        await asyncio.sleep(0.05)
    return status


async def main():
    seed = json.load(open(SEED))
    graph = client()
    br = graph.solutions.backup_restore
    site = next(u for u in seed["protectionUnits"] if u["kind"] == "site")
    mailbox = next(u for u in seed["protectionUnits"] if u["kind"] == "mailbox")
    point = site["restorePointIds"][0]

    # Browse the site's newest point.
    made = await br.share_point_browse_sessions.post(SharePointBrowseSession(restore_point_id=point))
    check("a browse session is created", enum_value(made.status) == "created" and made.site_id == site["siteId"], made)
    check("its size is the point's", int(made.backup_size_in_bytes or 0) > 0, made.backup_size_in_bytes)
    got = await br.share_point_browse_sessions.by_share_point_browse_session_id(made.id).get()
    check("it reads back", got.restore_point_id == point and got.expiration_date_time > got.created_date_time, got)
    listed = await br.browse_sessions.get()
    check("browseSessions lists it as its subtype", [type(s).__name__ for s in listed.value] == ["SharePointBrowseSession"], listed.value)
    top = await browse(made.id, {})
    library = (await browse(made.id, {"browseLocationItemKey": top[0]["itemKey"], "browseResourceType": "site"}))[0]
    at_point = await browse(made.id, {"browseLocationItemKey": library["itemKey"], "browseResourceType": "documentLibrary"})
    check("the point's library has items", len(at_point) > 0, at_point)

    # Restore it to a new site and read the files back through the SDK.
    s = await br.share_point_restore_sessions.post(
        SharePointRestoreSession(
            site_restore_artifacts=[SiteRestoreArtifact(restore_point=RestorePoint(id=point), destination_type=DestinationType.New)]
        )
    )
    check("the site restore completes", await run_to_end(br, s.id) == "completed", s.id)
    arts = await br.share_point_restore_sessions.by_share_point_restore_session_id(s.id).site_restore_artifacts.get()
    restored = arts.value[0]
    check("it names a new site", enum_value(restored.status) == "succeeded" and restored.restored_site_id != site["siteId"], restored)
    drive = await graph.sites.by_site_id(restored.restored_site_id).drive.get()
    children, page = [], await graph.drives.by_drive_id(drive.id).items.by_drive_item_id("root").children.get()
    while True:
        children += page.value
        if not page.odata_next_link:
            break
        page = await graph.drives.by_drive_id(drive.id).items.by_drive_item_id("root").children.with_url(page.odata_next_link).get()
    served = sorted((c.name, c.size) for c in children)
    browsed = sorted((i["name"], int(i["sizeInBytes"])) for i in at_point)
    check("the new site's files are the point's, name and size", served == browsed, (served[:5], browsed[:5]))
    # Item by item: the live site holds its newest point's tree (nothing changed since), so the new
    # site's every file and folder, by path, size and quickXorHash, must be the live one's.
    live_drive = await graph.sites.by_site_id(site["siteId"]).drive.get()
    at_point_tree = await tree(graph, live_drive.id)
    restored_tree = await tree(graph, drive.id)
    check(
        "every restored item is the point's: path, size, quickXorHash",
        restored_tree == at_point_tree and len(at_point_tree) > 0,
        (len(at_point_tree), sorted(set(restored_tree.items()) ^ set(at_point_tree.items()))[:5]),
    )
    site_url = restored.restored_site_web_url or ""
    check("at the R<n> URL", site_url.startswith(site["siteWebUrl"]) and site_url.rsplit("R", 1)[-1].isdigit(), site_url)

    # A OneDrive changed after its point (an edit, a deletion, an addition) and restored in place.
    onedrive = next(u for u in seed["protectionUnits"] if u["kind"] == "drive")
    od = await graph.users.by_user_id(onedrive["directoryObjectId"]).drive.get()
    before = await tree(graph, od.id)
    items = graph.drives.by_drive_id(od.id).items
    files = [c for c in (await items.by_drive_item_id("root").children.get()).value if c.folder is None]
    await items.by_drive_item_id(files[0].id).content.put(b"edited after the point")
    await items.by_drive_item_id(files[1].id).delete()
    DriveItem, Folder = model("drive_item", "DriveItem"), model("folder", "Folder")
    await items.by_drive_item_id("root").children.post(DriveItem(name="Added after the point", folder=Folder()))
    check("the OneDrive changed", await tree(graph, od.id) != before)
    OneDriveRestoreSession = model("one_drive_for_business_restore_session", "OneDriveForBusinessRestoreSession")
    DriveRestoreArtifact = model("drive_restore_artifact", "DriveRestoreArtifact")
    o = await br.one_drive_for_business_restore_sessions.post(
        OneDriveRestoreSession(
            drive_restore_artifacts=[
                DriveRestoreArtifact(restore_point=RestorePoint(id=onedrive["restorePointIds"][0]), destination_type=DestinationType.InPlace)
            ]
        )
    )
    check("the OneDrive restore in place completes", await run_to_end(br, o.id) == "completed", o.id)
    after = await tree(graph, od.id)
    check("it is the point's again: path, size, quickXorHash", after == before, sorted(set(after.items()) ^ set(before.items()))[:5])

    # Granular: the first item the browse showed, restored beside the live ones, read back by its new key.
    GranularSiteRestoreArtifact = model("granular_site_restore_artifact", "GranularSiteRestoreArtifact")
    item = at_point[0]
    g = await br.share_point_restore_sessions.post(
        SharePointRestoreSession(
            granular_site_restore_artifacts=[GranularSiteRestoreArtifact(browse_session_id=made.id, id=item["itemKey"])]
        )
    )
    check("the granular site restore completes", await run_to_end(br, g.id) == "completed", g.id)
    garts = await br.share_point_restore_sessions.by_share_point_restore_session_id(g.id).granular_site_restore_artifacts.get()
    ga = garts.value[0]
    check(
        "the granular artifact is the item's key, restored into Recovered Items",
        ga.id == item["itemKey"] and ga.browse_session_id == made.id and enum_value(ga.status) == "succeeded"
        and "/Recovered Items " in (ga.restored_item_path or ""),
        ga,
    )
    live = await graph.sites.by_site_id(site["siteId"]).drive.get()
    copy = await graph.drives.by_drive_id(live.id).items.by_drive_item_id(ga.restored_item_key.rsplit(",", 1)[1]).get()
    check(
        "the copy reads back with the point's name and size at restoredItemWebUrl",
        (copy.name, copy.size, copy.web_url) == (item["name"], int(item["sizeInBytes"]), ga.restored_item_web_url),
        (copy.name, copy.size, copy.web_url, ga.restored_item_web_url),
    )

    # Granular mail: what a search matched in the mailbox's point, restored into a Recovered Items folder.
    ArtifactQuery = model("artifact_query", "ArtifactQuery")
    RestorableArtifact = model("restorable_artifact", "RestorableArtifact")
    TimePeriod = model("time_period", "TimePeriod")
    GranularMailboxRestoreArtifact = model("granular_mailbox_restore_artifact", "GranularMailboxRestoreArtifact")
    body_module = importlib.import_module(f"{PKG}.generated.solutions.backup_restore.restore_points.search.search_post_request_body")
    found = await br.restore_points.search.post(
        body_module.SearchPostRequestBody(
            protection_unit_ids=[mailbox["id"]],
            protection_time_period=TimePeriod(start_date_time=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)),
            artifact_query=ArtifactQuery(artifact_type=RestorableArtifact.Message, query_expression="(MessageKind -eq 'Email')"),
        )
    )
    hit = found.search_results[0]
    check("the search counts the point's mail", found.search_response_id and hit.artifact_hit_count > 0, found)
    gm = await br.exchange_restore_sessions.post(
        ExchangeRestoreSession(
            granular_mailbox_restore_artifacts=[
                GranularMailboxRestoreArtifact(
                    restore_point=RestorePoint(id=hit.restore_point.id),
                    destination_type=DestinationType.New,
                    search_response_id=found.search_response_id,
                )
            ]
        )
    )
    check("the granular mailbox restore completes", await run_to_end(br, gm.id) == "completed", gm.id)
    marts = await br.exchange_restore_sessions.by_exchange_restore_session_id(gm.id).granular_mailbox_restore_artifacts.get()
    ma = marts.value[0]
    check(
        "it restores the search's matches into Recovered Items",
        ma.search_response_id == found.search_response_id
        and (ma.restored_folder_name or "").startswith("Recovered Items ")
        and ma.restored_item_count == hit.artifact_hit_count,
        (ma, hit.artifact_hit_count),
    )

    # Restore the mailbox into a "Restored Items" folder and count its messages through the SDK.
    m = await br.exchange_restore_sessions.post(
        ExchangeRestoreSession(
            mailbox_restore_artifacts=[
                MailboxRestoreArtifact(restore_point=RestorePoint(id=mailbox["restorePointIds"][0]), destination_type=DestinationType.New)
            ]
        )
    )
    check("the mailbox restore completes", await run_to_end(br, m.id) == "completed", m.id)
    arts = await br.exchange_restore_sessions.by_exchange_restore_session_id(m.id).mailbox_restore_artifacts.get()
    art = arts.value[0]
    check("it names a Restored Items folder", (art.restored_folder_name or "").startswith("Restored Items "), art)
    folders = graph.users.by_user_id(mailbox["directoryObjectId"]).mail_folders
    folder = await folders.by_mail_folder_id(art.restored_folder_id).get()
    check("the folder reads back by its id", folder.display_name == art.restored_folder_name, folder)
    count, todo = 0, [art.restored_folder_id]
    while todo:
        f = todo.pop()
        messages = await folders.by_mail_folder_id(f).messages.get()
        while True:
            count += len(messages.value)
            if not messages.odata_next_link:
                break
            messages = await folders.by_mail_folder_id(f).messages.with_url(messages.odata_next_link).get()
        subs = await folders.by_mail_folder_id(f).child_folders.get()
        while True:
            todo += [c.id for c in subs.value]
            if not subs.odata_next_link:
                break
            subs = await folders.by_mail_folder_id(f).child_folders.with_url(subs.odata_next_link).get()
    check("it holds restoredItemCount messages", count == art.restored_item_count and count > 0, (count, art.restored_item_count))
    # Byte for byte: the restored messages' MIME is the point's (the live mailbox's, nothing changed since).
    user = mailbox["directoryObjectId"]
    restored_mime = await mime_of(graph, user, skip=(), start=art.restored_folder_id)
    live_mime = await mime_of(graph, user)
    check("every restored message's MIME is the point's, byte for byte", restored_mime == live_mime, (len(restored_mime), len(live_mime)))

    finish()


asyncio.run(main())
