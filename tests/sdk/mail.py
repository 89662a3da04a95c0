"""Mail through Microsoft's own Python SDK (msgraph-sdk on /v1.0, msgraph-beta-sdk on /beta): a seeded
user's folders by well-known name, a child folder, messages created from JSON (with an attachment and
the flags restore tools set) and from MIME, listed with a filter and an order, read with their MIME
and attachments, changed, moved, followed through a folder delta and deleted; a draft edited, an
attachment added to it and taken off.

    python mail.py BASE_URL (beta|v1.0) TOKEN SEED_JSON   (see graph_test.py)
"""

import asyncio
import base64
import importlib
import json

import httpx
from kiota_abstractions.base_request_configuration import RequestConfiguration

from graph_test import BASE, PKG, SEED, TOKEN, VERSION, check, client, finish, model

ODataError = model("o_data_errors.o_data_error", "ODataError")
MailFolder = model("mail_folder", "MailFolder")
Message = model("message", "Message")
ItemBody = model("item_body", "ItemBody")
BodyType = model("body_type", "BodyType")
Recipient = model("recipient", "Recipient")
EmailAddress = model("email_address", "EmailAddress")
FileAttachment = model("file_attachment", "FileAttachment")
Extended = model("single_value_legacy_extended_property", "SingleValueLegacyExtendedProperty")
MovePostRequestBody = importlib.import_module(
    f"{PKG}.generated.users.item.messages.item.move.move_post_request_body"
).MovePostRequestBody
MessagesRequestBuilder = importlib.import_module(
    f"{PKG}.generated.users.item.mail_folders.item.messages.messages_request_builder"
).MessagesRequestBuilder

MIME = (
    "From: Ann Lee <ann@contoso.com>\r\nTo: Bob <bob@contoso.com>\r\nSubject: Imported\r\n"
    "Date: Sun, 28 Feb 2021 07:15:00 +0000\r\nMessage-ID: <imported-1@contoso.com>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain\r\n\r\nKept byte for byte.\r\n"
)


async def main():
    seed = json.load(open(SEED))
    graph = client()
    unit = next(u for u in seed["protectionUnits"] if u["kind"] == "mailbox")
    user = graph.users.by_user_id(unit["email"])

    folders = await user.mail_folders.get()
    names = sorted(f.display_name for f in folders.value)
    check("a mailbox has its well-known folders", {"Inbox", "Drafts", "Sent Items", "Deleted Items"} <= set(names), names)
    inbox = await user.mail_folders.by_mail_folder_id("inbox").get()
    check("a well-known name is its folder", inbox.display_name == "Inbox" and inbox.total_item_count == 0, inbox)
    project = await user.mail_folders.by_mail_folder_id("inbox").child_folders.post(MailFolder(display_name="Project"))
    check("a child folder is created", project.parent_folder_id == inbox.id and project.child_folder_count == 0, project)
    box = user.mail_folders.by_mail_folder_id(project.id)

    report = bytes((i * 2654435761 >> 7) & 0xFF for i in range(50_000))
    sent = await box.messages.post(
        Message(
            subject="Plan",
            body=ItemBody(content_type=BodyType.Html, content="<p>The <b>plan</b>.</p>"),
            to_recipients=[Recipient(email_address=EmailAddress(name="Bob", address="bob@contoso.com"))],
            attachments=[FileAttachment(name="plan.bin", content_type="application/octet-stream", content_bytes=report)],
            single_value_extended_properties=[Extended(id="Integer 0x0E07", value="1")],
        )
    )
    check("a restored message is not a draft", sent.is_draft is False and sent.is_read is True, sent)
    check("its attachment counts", sent.has_attachments is True, sent.has_attachments)
    for n in range(3):
        await box.messages.post(Message(subject=f"Note {n}", body=ItemBody(content_type=BodyType.Text, content="n")))

    async with httpx.AsyncClient() as http:
        r = await http.post(
            f"{BASE}/{VERSION}/users/{unit['email']}/mailFolders/{project.id}/messages",
            content=base64.b64encode(MIME.encode()),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"},
        )
    imported = r.json()
    check("a MIME message is created", r.status_code == 201 and imported["subject"] == "Imported", r.text[:300])
    mime = await user.messages.by_message_id(imported["id"]).content.get()
    check("its MIME comes back byte for byte", mime == MIME.encode(), mime)

    query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
        filter="hasAttachments eq true", orderby=["receivedDateTime desc"], top=5, select=["subject", "hasAttachments"]
    )
    found = await box.messages.get(RequestConfiguration(query_parameters=query))
    check("a filtered list finds the message", [m.subject for m in found.value] == ["Plan"], found.value)
    paged = await box.messages.get(
        RequestConfiguration(query_parameters=MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(top=2))
    )
    pages, seen = 1, [m.id for m in paged.value]
    while paged.odata_next_link:
        paged = await box.messages.with_url(paged.odata_next_link).get()
        pages, seen = pages + 1, seen + [m.id for m in paged.value]
    check("pages follow their nextLinks", pages == 3 and len(set(seen)) == 5, (pages, len(seen)))

    attachments = await user.messages.by_message_id(sent.id).attachments.get()
    a = attachments.value[0]
    check("an attachment reads as a fileAttachment", isinstance(a, FileAttachment) and a.content_bytes == report, type(a))

    delta = box.messages.delta
    page, first = await delta.get(), []
    while True:
        first += [m.id for m in page.value]
        if not page.odata_next_link:
            break
        page = await delta.with_url(page.odata_next_link).get()
    check("a delta enumerates the folder", len(first) == 5, len(first))
    delta_link = page.odata_delta_link

    changed = await user.messages.by_message_id(sent.id).patch(Message(is_read=False, categories=["Red"]))
    check("a message is marked unread", changed.is_read is False and changed.categories == ["Red"], changed)
    counted = await box.get()
    check("the folder counts it unread", counted.total_item_count == 5 and counted.unread_item_count == 1, counted)
    moved = await user.messages.by_message_id(imported["id"]).move.post(MovePostRequestBody(destination_id="archive"))
    archive = await user.mail_folders.by_mail_folder_id("archive").get()
    check("a message moves to the archive", moved.parent_folder_id == archive.id, moved.parent_folder_id)

    changes = await delta.with_url(delta_link).get()
    removed = [m.id for m in changes.value if m.additional_data.get("@removed")]
    kept = [m.id for m in changes.value if not m.additional_data.get("@removed")]
    check("the delta reports the change and the move", kept == [sent.id] and removed == [imported["id"]], changes.value)

    await user.messages.by_message_id(sent.id).delete()
    try:
        await user.messages.by_message_id(sent.id).get()
        check("a deleted message is gone", False, "no error")
    except ODataError as e:
        check("a deleted message is gone", e.response_status_code == 404 and e.error.code == "ErrorItemNotFound", e.error.code)

    # A draft as a mail client writes it: created, its content changed, an attachment added and taken off.
    draft = await user.messages.post(Message(subject="Draft", body=ItemBody(content_type=BodyType.Text, content="first")))
    edited = await user.messages.by_message_id(draft.id).patch(
        Message(
            subject="Draft, edited",
            body=ItemBody(content_type=BodyType.Html, content="<p>second <b>take</b></p>"),
            to_recipients=[Recipient(email_address=EmailAddress(address="bob@contoso.com"))],
        )
    )
    check(
        "a draft's content is changed",
        edited.is_draft is True and edited.subject == "Draft, edited" and edited.body_preview == "second take"
        and [r.email_address.address for r in edited.to_recipients] == ["bob@contoso.com"],
        edited,
    )
    attachments = user.messages.by_message_id(draft.id).attachments
    added = await attachments.post(FileAttachment(name="notes.txt", content_type="text/plain", content_bytes=b"notes"))
    listed = await attachments.get()
    check(
        "an attachment is added to a draft",
        isinstance(added, FileAttachment) and [a.id for a in listed.value] == [added.id]
        and listed.value[0].content_bytes == b"notes",
        listed.value,
    )
    await attachments.by_attachment_id(added.id).delete()
    after = await user.messages.by_message_id(draft.id).get()
    check("an attachment is taken off", after.has_attachments is False and not (await attachments.get()).value, after)

    finish()


asyncio.run(main())
