"""The whole restore lifecycle through Microsoft's own Python SDK (msgraph-sdk for /v1.0,
msgraph-beta-sdk for /beta), with a static token and the request adapter pointed at backstore.

    python lifecycle.py BASE_URL (beta|v1.0) TOKEN SEED_JSON

Prints one line per check and ends with `N passed, N failed`; exits 1 when any check failed.
"""

import asyncio
import datetime
import importlib
import json

from kiota_abstractions.base_request_configuration import RequestConfiguration

from graph_test import BASE, PKG, SEED, check, client, finish, model

ODataError = model("o_data_errors.o_data_error", "ODataError")
SharePointRestoreSession = model("share_point_restore_session", "SharePointRestoreSession")
ExchangeRestoreSession = model("exchange_restore_session", "ExchangeRestoreSession")
OneDriveForBusinessRestoreSession = model(
    "one_drive_for_business_restore_session", "OneDriveForBusinessRestoreSession"
)
SiteRestoreArtifact = model("site_restore_artifact", "SiteRestoreArtifact")
MailboxRestoreArtifact = model("mailbox_restore_artifact", "MailboxRestoreArtifact")
DriveRestoreArtifact = model("drive_restore_artifact", "DriveRestoreArtifact")
RestorePoint = model("restore_point", "RestorePoint")
DestinationType = model("destination_type", "DestinationType")
TimePeriod = model("time_period", "TimePeriod")
RestorePointPreference = model("restore_point_preference", "RestorePointPreference")
SiteProtectionUnit = model("site_protection_unit", "SiteProtectionUnit")
SearchBody = getattr(
    importlib.import_module(
        f"{PKG}.generated.solutions.backup_restore.restore_points.search.search_post_request_body"
    ),
    "SearchPostRequestBody",
)

def enum_value(v):
    return getattr(v, "value", v)


async def main():
    seed = json.load(open(SEED))
    br = client().solutions.backup_restore
    units = {k: [u for u in seed["protectionUnits"] if u["kind"] == k] for k in ("site", "mailbox", "drive")}

    # Discover: protection units and restore points.
    listed = await br.protection_units.get()
    check("protectionUnits lists every seeded unit", len(listed.value) == len(seed["protectionUnits"]), len(listed.value))
    check(
        "protectionUnits builds the subclass from @odata.type",
        any(isinstance(u, SiteProtectionUnit) for u in listed.value),
        [type(u).__name__ for u in listed.value],
    )
    sites = await br.site_protection_units.get()
    check("siteProtectionUnits is typed", len(sites.value) == len(units["site"]), len(sites.value))
    now = datetime.datetime.now(datetime.timezone.utc)
    first_site = units["site"][0]
    params = br.restore_points.RestorePointsRequestBuilderGetQueryParameters(
        expand=[f"protectionUnit($filter=id eq '{first_site['id']}')"],
        filter=f"protectionDateTime lt {(now + datetime.timedelta(days=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}",
    )
    points = await br.restore_points.get(request_configuration=RequestConfiguration(query_parameters=params))
    # The seeded points in their order (newest first); the server's own retention pass adds one more
    # when a 10-minute slot begins between the seed and this request.
    seeded = [p.id for p in points.value if p.id in first_site["restorePointIds"]]
    check(
        "restorePoints lists the unit's points, newest first",
        seeded == first_site["restorePointIds"] and [p.id for p in points.value][-len(seeded) :] == seeded,
        [p.id for p in points.value],
    )
    check(
        "restore points expand their protection unit",
        all(p.protection_unit and p.protection_unit.id == first_site["id"] for p in points.value),
        points.value,
    )
    body = SearchBody(
        protection_unit_ids=[u["id"] for u in units["site"]],
        protection_time_period=TimePeriod(
            start_date_time=now - datetime.timedelta(days=30), end_date_time=now + datetime.timedelta(days=1)
        ),
        restore_point_preference=RestorePointPreference.Latest,
    )
    found = await br.restore_points.search.post(body)
    check(
        "restorePoints/search finds the latest point of each unit",
        len(found.search_results) == len(units["site"]) and not found.no_result_protection_unit_ids,
        found.search_results,
    )
    latest = {r.restore_point.protection_unit.id if r.restore_point.protection_unit else None: r for r in found.search_results}
    check("search results carry restore point ids", all(r.restore_point.id for r in found.search_results), latest)

    # Create a session of each kind with artifacts.
    site = await br.share_point_restore_sessions.post(
        SharePointRestoreSession(
            site_restore_artifacts=[
                SiteRestoreArtifact(restore_point=RestorePoint(id=u["restorePointIds"][0]), destination_type=DestinationType.New)
                for u in units["site"][:2]
            ]
        )
    )
    check("create sharePointRestoreSession", site.id and enum_value(site.status) == "draft", site.status)
    mail = await br.exchange_restore_sessions.post(
        ExchangeRestoreSession(
            mailbox_restore_artifacts=[
                MailboxRestoreArtifact(restore_point=RestorePoint(id=units["mailbox"][0]["restorePointIds"][0]), destination_type=DestinationType.New)
            ]
        )
    )
    check("create exchangeRestoreSession", bool(mail.id), mail)
    drive = await br.one_drive_for_business_restore_sessions.post(
        OneDriveForBusinessRestoreSession(
            drive_restore_artifacts=[
                DriveRestoreArtifact(restore_point=RestorePoint(id=units["drive"][0]["restorePointIds"][0]), destination_type=DestinationType.InPlace)
            ]
        )
    )
    check("create oneDriveForBusinessRestoreSession", bool(drive.id), drive)

    # Typed and polymorphic reads.
    typed = await br.share_point_restore_sessions.by_share_point_restore_session_id(site.id).get()
    check("typed get", typed.id == site.id, typed)
    poly = await br.restore_sessions.by_restore_session_base_id(mail.id).get()
    check("polymorphic get builds ExchangeRestoreSession", isinstance(poly, ExchangeRestoreSession), type(poly).__name__)

    # Paging with $top, following @odata.nextLink.
    config = RequestConfiguration(
        query_parameters=br.restore_sessions.RestoreSessionsRequestBuilderGetQueryParameters(top=1)
    )
    page = await br.restore_sessions.get(request_configuration=config)
    seen = [s.id for s in page.value]
    links = []
    while page.odata_next_link:
        links.append(page.odata_next_link)
        page = await br.restore_sessions.with_url(page.odata_next_link).get()
        seen.extend(s.id for s in page.value)
    check("$top=1 pages through every session", sorted(seen) == sorted([site.id, mail.id, drive.id]), seen)
    check("nextLink is absolute on this server", all(l.startswith(BASE) for l in links), links)

    # Filter.
    config = RequestConfiguration(
        query_parameters=br.restore_sessions.RestoreSessionsRequestBuilderGetQueryParameters(
            filter="isof('microsoft.graph.oneDriveForBusinessRestoreSession') and status eq 'draft'", count=True
        )
    )
    filtered = await br.restore_sessions.get(request_configuration=config)
    check("$filter with isof and an enum member", [s.id for s in filtered.value] == [drive.id], filtered.value)
    check("$count=true", filtered.odata_count == 1, filtered.odata_count)

    # Delta PATCH through additional_data: one add, one @removed.
    arts = await br.share_point_restore_sessions.by_share_point_restore_session_id(site.id).site_restore_artifacts.get()
    removed = arts.value[0].id
    delta = SharePointRestoreSession()
    delta.additional_data = {
        "siteRestoreArtifacts@delta": [
            {"restorePoint": {"id": units["site"][2]["restorePointIds"][0]}, "destinationType": "new"},
            {"@removed": {"reason": "changed"}, "id": removed},
        ]
    }
    echoed = await br.share_point_restore_sessions.by_share_point_restore_session_id(site.id).patch(delta)
    echo = (echoed.additional_data or {}).get("siteRestoreArtifacts@delta") or []
    check("delta PATCH echoes both items", len(echo) == 2, echoed.additional_data)
    after = await br.share_point_restore_sessions.by_share_point_restore_session_id(site.id).site_restore_artifacts.get()
    ids = [a.id for a in after.value]
    check("delta PATCH applied the add and the remove", len(ids) == 2 and removed not in ids, ids)

    # Delete a draft; the next GET is the SDK's ODataError.
    await br.exchange_restore_sessions.by_exchange_restore_session_id(mail.id).delete()
    try:
        await br.restore_sessions.by_restore_session_base_id(mail.id).get()
        check("GET after DELETE raises ODataError", False, "no error")
    except ODataError as e:
        check("GET after DELETE raises ODataError", e.response_status_code == 404, e.response_status_code)
        check("the ODataError carries Graph's code", e.error and e.error.code == "RestoreSessionNotFound", e.error and e.error.code)

    # Activate and poll to a terminal status.
    activated = await br.restore_sessions.by_restore_session_base_id(site.id).activate.post()
    check("activate", enum_value(activated.status) in ("activating", "active"), activated.status)
    await br.restore_sessions.by_restore_session_base_id(drive.id).activate.post()
    terminal = {"completed", "completedWithError", "failed", "unknownFutureValue"}
    for session_id in (site.id, drive.id):
        status = None
        for _ in range(200):
            s = await br.restore_sessions.by_restore_session_base_id(session_id).get()
            status = enum_value(s.status)
            if status in terminal:
                break
            await asyncio.sleep(0.05)
        check(f"session {session_id[:8]} reaches a terminal status", status == "completed", status)

    # Every artifact's result.
    done = await br.share_point_restore_sessions.by_share_point_restore_session_id(site.id).site_restore_artifacts.get()
    check("every site artifact succeeded", all(enum_value(a.status) == "succeeded" for a in done.value), [a.status for a in done.value])
    check(
        "new site restores land at R<n> URLs",
        all((a.restored_site_web_url or "").rsplit("R", 1)[-1].isdigit() for a in done.value),
        [a.restored_site_web_url for a in done.value],
    )
    check("completion times parse as datetimes", all(isinstance(a.completion_date_time, datetime.datetime) for a in done.value), None)
    d = await br.one_drive_for_business_restore_sessions.by_one_drive_for_business_restore_session_id(drive.id).drive_restore_artifacts.get()
    check("the in-place drive artifact succeeded", [enum_value(a.status) for a in d.value] == ["succeeded"], d.value)

    finish()


asyncio.run(main())
