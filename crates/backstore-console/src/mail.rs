//! Inside a restore point of a mailbox: its folders and the messages in each, as the point holds
//! them (the admin path `/admin/restorePoints/{id}/items`), each message's MIME to read or download.

use axum::extract::{Path, RawQuery};
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

use crate::api::{enc, graph};
use crate::layout::{bytes, failure, failure_page, page, text, when};
use crate::session::{query, Signed};

/// `/console/points/{id}/mail[?parent=…&path=…]`.
pub async fn folder(signed: Signed, Path(point): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let api = &signed.api;
    let about = match api.get(&graph(&format!("restorePoints/{}", enc(&point)))).await {
        Ok(p) => p,
        Err(f) => return failure_page(Some(&signed), "Restore point", &f),
    };
    let mut items = format!("/admin/restorePoints/{}/items", enc(&point));
    if let Some(parent) = q.get("parent") {
        items.push_str(&format!("?parent={}", enc(parent)));
    }
    let listed = api.get(&items).await;
    let at = q.get("path").cloned().unwrap_or_default();
    let title = format!("Mailbox point of {}", when(text(&about["protectionDateTime"])));
    let body = html! {
        nav.crumbs aria-label="Folder" {
            a href={ "/console/points/" (enc(&point)) "/mail" } { "Top" }
            @for name in at.split('/').filter(|s| !s.is_empty()) { " / " span { (name) } }
        }
        @match &listed {
            Err(f) => (failure(f)),
            Ok(v) => (listing(&point, &at, v["value"].as_array().map(Vec::as_slice).unwrap_or_default())),
        }
    };
    Html(page(&title, Some(&signed), body).into_string()).into_response()
}

fn listing(point: &str, at: &str, items: &[Value]) -> Markup {
    let p = enc(point);
    let folders: Vec<&Value> = items.iter().filter(|i| text(&i["kind"]) == "folder").collect();
    let mut messages: Vec<&Value> = items.iter().filter(|i| text(&i["kind"]) != "folder").collect();
    messages.sort_by(|a, b| received(b).cmp(received(a)));
    html! {
        @if !folders.is_empty() {
            table #folders {
                caption { (folders.len()) " folders" }
                thead { tr { th scope="col" { "Folder" } th scope="col" { "Size" } } }
                tbody {
                    @for f in &folders {
                        @let name = text(&f["name"]);
                        tr {
                            td { a href={ "/console/points/" (p) "/mail?parent=" (enc(text(&f["id"]))) "&path=" (enc(&format!("{at}/{name}"))) } { (name) } }
                            td { (bytes(f["sizeInBytes"].as_u64().unwrap_or(0))) }
                        }
                    }
                }
            }
        }
        @if messages.is_empty() { p.quiet { "No message in this folder." } }
        @else {
            table #messages {
                caption { (messages.len()) " messages" }
                thead { tr { th scope="col" { "Subject" } th scope="col" { "Received" } th scope="col" { "Size" } th scope="col" { "Open" } } }
                tbody {
                    @for m in &messages {
                        @let subject = text(&m["properties"]["subject"]);
                        @let link = format!("/console/points/{p}/mail/message?item={}", enc(text(&m["id"])));
                        tr {
                            td { @if subject.is_empty() { span.quiet { "(no subject)" } } @else { (subject) } }
                            td { (when(received(m))) }
                            td { (bytes(m["sizeInBytes"].as_u64().unwrap_or(0))) }
                            td.actions {
                                a href={ (link) "&view=inline" } aria-label={ "Read " (subject) } { "Read" }
                                a href=(link) download aria-label={ "Download " (subject) } { "Download" }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn received(m: &Value) -> &str {
    text(&m["properties"]["receivedDateTime"])
}

/// `/console/points/{id}/mail/message?item=…[&view=inline]`: a message's MIME.
pub async fn message(signed: Signed, Path(point): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let item = q.get("item").cloned().unwrap_or_default();
    let path = format!("/admin/restorePoints/{}/items/{}/content", enc(&point), enc(&item));
    crate::points::proxy_file(&signed, &path, q.get("view").is_some_and(|v| v == "inline")).await
}
