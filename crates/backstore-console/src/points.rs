//! Inside a restore point of a site or a OneDrive: its folders level by level (through a browse
//! session of the point, as Graph's clients browse), a file's bytes to preview or download (the
//! admin path `…/items/{key}/content`), and what changed between two points of a unit.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::{json, Value};

use crate::api::{enc, graph, path_of, Api, Failure, BETA_SERVICE};
use crate::layout::{bytes, failure, failure_page, page, text, when};
use crate::session::{query, Signed};
use crate::units::{kind_of, name_of};

/// Items listed at most by a compare, per point.
const DIFF_LIMIT: usize = 20_000;

/// A browse session of point `id` that is ready: one already made, or a new one.
async fn browse_session_of(api: &Api, point: &str) -> Result<String, Failure> {
    let unit = api.get(&graph(&format!("restorePoints/{}/protectionUnit", enc(point)))).await?;
    let set = match kind_of(&unit) {
        "site" => "sharePointBrowseSessions",
        "drive" => "oneDriveForBusinessBrowseSessions",
        _ => {
            return Err(Failure {
                status: StatusCode::NOT_IMPLEMENTED,
                code: "notImplemented".into(),
                message: "Only the points of sites and OneDrives can be browsed.".into(),
            })
        }
    };
    let listed = api.get(&graph("browseSessions")).await?;
    let ready = listed["value"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| text(&s["restorePointId"]) == point && text(&s["status"]) == "created");
    if let Some(s) = ready {
        return Ok(text(&s["id"]).to_owned());
    }
    let made = api.post(&graph(set), &json!({ "restorePointId": point })).await?;
    if text(&made["status"]) != "created" {
        return Err(Failure {
            status: StatusCode::CONFLICT,
            code: text(&made["error"]["code"]).to_owned(),
            message: text(&made["error"]["message"]).to_owned(),
        });
    }
    Ok(text(&made["id"]).to_owned())
}

/// `/console/points/{id}`: opens the point for browsing (a mailbox's on its mail page).
pub async fn open(signed: Signed, Path(point): Path<String>) -> Response {
    let unit = signed.api.get(&graph(&format!("restorePoints/{}/protectionUnit", enc(&point)))).await;
    if unit.as_ref().is_ok_and(|u| kind_of(u) == "mailbox") {
        return Redirect::to(&format!("/console/points/{}/mail", enc(&point))).into_response();
    }
    match browse_session_of(&signed.api, &point).await {
        Ok(session) => Redirect::to(&format!("/console/browse/{}", enc(&session))).into_response(),
        Err(f) => failure_page(Some(&signed), "Restore point", &f),
    }
}

/// One level of the point: `browse` at `key` (the top when `None`), or the page a next link names.
async fn listing(api: &Api, session: &str, key: Option<&str>, more: Option<&str>) -> Result<Value, Failure> {
    if let Some(path) = more.filter(|p| p.starts_with("/v1.0/") || p.starts_with("/beta/")) {
        return api.get(path).await;
    }
    let url = format!("{BETA_SERVICE}/browseSessions/{}/browse", enc(session));
    let body = match key {
        Some(k) => json!({ "browseLocationItemKey": k }),
        None => json!({}),
    };
    api.post(&url, &body).await
}

/// The listing of the point's library (the levels above it, a site and its one library, are
/// stepped through), with the key it is at.
async fn library(api: &Api, session: &str) -> Result<(Value, Option<String>), Failure> {
    let mut key: Option<String> = None;
    let mut page = listing(api, session, None, None).await?;
    for _ in 0..2 {
        let items = page["value"].as_array().cloned().unwrap_or_default();
        match items.as_slice() {
            [only] if matches!(text(&only["type"]), "site" | "documentLibrary") => {
                key = Some(text(&only["itemKey"]).to_owned());
                page = listing(api, session, key.as_deref(), None).await?;
            }
            _ => break,
        }
    }
    Ok((page, key))
}

pub async fn browse(signed: Signed, Path(session): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let api = &signed.api;
    let about = match api.get(&format!("{BETA_SERVICE}/browseSessions/{}", enc(&session))).await {
        Ok(s) => s,
        Err(f) => return failure_page(Some(&signed), "Restore point", &f),
    };
    let at = q.get("path").cloned().unwrap_or_default();
    let listed = match (q.get("more"), q.get("key")) {
        (Some(more), _) => listing(api, &session, None, Some(more)).await,
        (None, Some(key)) => listing(api, &session, Some(key), None).await,
        (None, None) => library(api, &session).await.map(|(page, _)| page),
    };
    let title = format!("Restore point of {}", when(text(&about["restorePointDateTime"])));
    let body = html! {
        dl.facts {
            dt { "Point" } dd.mono { (text(&about["restorePointId"])) }
            dt { "Size" } dd { (bytes(text(&about["backupSizeInBytes"]).parse().unwrap_or(0))) }
            dt { "Browsable until" } dd { (when(text(&about["expirationDateTime"]))) }
        }
        nav.crumbs aria-label="Folder" {
            a href={ "/console/browse/" (enc(&session)) } { "Top" }
            @for (i, name) in at.split('/').filter(|s| !s.is_empty()).enumerate() {
                " / " @if i + 1 == at.split('/').filter(|s| !s.is_empty()).count() { span aria-current="location" { (name) } } @else { span { (name) } }
            }
        }
        @match &listed {
            Err(f) => (failure(f)),
            Ok(page) => (items_table(&signed, &session, &at, page)),
        }
    };
    Html(page(&title, Some(&signed), body).into_string()).into_response()
}

fn items_table(signed: &Signed, session: &str, at: &str, listed: &Value) -> Markup {
    let items = listed["value"].as_array().map(Vec::as_slice).unwrap_or_default();
    let more = path_of(text(&listed["@odata.nextLink"]));
    let s = enc(session);
    html! {
        @if items.is_empty() { p.quiet { "This folder is empty." } }
        @else {
            form method="get" action="/console/restore" {
                input type="hidden" name="browse" value=(session);
                table #items {
                    caption { (items.len()) " items" }
                    thead { tr {
                        th scope="col" { span.sr { "Choose" } }
                        th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Size" }
                        th scope="col" { "Modified" } th scope="col" { "Open" }
                    } }
                    tbody {
                        @for item in items {
                            @let (key, name, kind) = (text(&item["itemKey"]), text(&item["name"]), text(&item["type"]));
                            @let path = format!("{at}/{name}");
                            tr {
                                td { input type="checkbox" name="item" value=(key) aria-label={ "Choose " (name) }; }
                                td {
                                    @if kind == "file" { (name) }
                                    @else { a href={ "/console/browse/" (s) "?key=" (enc(key)) "&path=" (enc(&path)) } { (name) } }
                                }
                                td data-label="Kind" { (kind) @if kind != "file" { " (" (item["itemsCount"]) ")" } }
                                td data-label="Size" { (bytes(text(&item["sizeInBytes"]).parse().unwrap_or(0))) }
                                td data-label="Modified" { (when(text(&item["lastModifiedDateTime"]))) }
                                td.actions {
                                    @if kind == "file" {
                                        a href={ "/console/browse/" (s) "/file?view=inline&key=" (enc(key)) } aria-label={ "Preview " (name) } { "Preview" }
                                        a href={ "/console/browse/" (s) "/file?key=" (enc(key)) } download=(name) aria-label={ "Download " (name) } { "Download" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if signed.read_only {
                    p.quiet { "This sign-in is read-only: it cannot restore." }
                } @else {
                    button type="submit" #restore-items { "Restore the chosen items…" }
                }
            }
        }
        @if let Some(path) = more {
            p { a href={ "/console/browse/" (s) "?more=" (enc(&path)) "&path=" (enc(at)) } { "More items" } }
        }
    }
}

/// Media types a browser shows itself.
fn previewable(media: &str) -> bool {
    let media = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    media.starts_with("text/")
        || media.starts_with("image/")
        || ["application/pdf", "application/json", "message/rfc822"].contains(&media.as_str())
}

/// `/console/browse/{session}/file?key=…[&view=inline]`: a file of the point, to download or (for
/// text, images and PDF) to show in the browser.
pub async fn file(signed: Signed, Path(session): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let key = q.get("key").cloned().unwrap_or_default();
    let path = format!("/admin/browseSessions/{}/items/{}/content", enc(&session), enc(&key));
    let inline = q.get("view").is_some_and(|v| v == "inline");
    proxy_file(&signed, &path, inline).await
}

/// The bytes the admin path `path` answers, to download, or shown (never run) when `inline` and
/// the browser can show them.
pub async fn proxy_file(signed: &Signed, path: &str, inline: bool) -> Response {
    let r = signed.api.raw(axum::http::Method::GET, path, None).await;
    if !r.status().is_success() {
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap_or_default();
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let f = Failure {
            status,
            code: text(&v["error"]["code"]).to_owned(),
            message: text(&v["error"]["message"]).to_owned(),
        };
        return failure_page(Some(signed), "File", &f);
    }
    let (mut parts, body) = r.into_parts();
    let h = &mut parts.headers;
    let media = h.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if inline && previewable(&media) {
        // Shown, never run: markup and mail are shown as text, and the page may not script.
        if !media.starts_with("image/") && media != "application/pdf" {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        }
        let policy = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'";
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
        h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    }
    Response::from_parts(parts, Body::new(body))
}

/// An item of a point as a compare sees it: kind, size, modified.
type Listing = BTreeMap<String, (String, u64, String)>;

/// Every item below the library of point `point`, by path.
async fn everything(api: &Api, point: &str) -> Result<Listing, Failure> {
    let session = browse_session_of(api, point).await?;
    let (first, _) = library(api, &session).await?;
    let mut out = Listing::new();
    let mut queue = vec![(String::new(), first)];
    while let Some((at, page)) = queue.pop() {
        for item in page["value"].as_array().into_iter().flatten() {
            let (name, kind) = (text(&item["name"]), text(&item["type"]));
            let path = format!("{at}/{name}");
            let size = text(&item["sizeInBytes"]).parse().unwrap_or(0);
            out.insert(path.clone(), (kind.to_owned(), size, text(&item["lastModifiedDateTime"]).to_owned()));
            if out.len() > DIFF_LIMIT {
                return Err(Failure {
                    status: StatusCode::BAD_REQUEST,
                    code: "tooManyItems".into(),
                    message: format!(
                        "The point holds more than {DIFF_LIMIT} items; the console compares smaller ones."
                    ),
                });
            }
            if kind == "folder" {
                queue.push((path, listing(api, &session, Some(text(&item["itemKey"])), None).await?));
            }
        }
        if let Some(next) = path_of(text(&page["@odata.nextLink"])) {
            queue.push((at, listing(api, &session, None, Some(&next)).await?));
        }
    }
    Ok(out)
}

/// `/console/diff?unit=…&a=…&b=…`: what was added, removed and changed from point `a` to `b`.
pub async fn diff(signed: Signed, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let (Some(a), Some(b)) = (q.get("a"), q.get("b")) else {
        let f = Failure {
            status: StatusCode::BAD_REQUEST,
            code: "invalidRequest".into(),
            message: "Choose two restore points to compare: one to compare from, one to compare to.".into(),
        };
        return failure_page(Some(&signed), "Compare restore points", &f);
    };
    let unit =
        signed.api.get(&graph(&format!("protectionUnits/{}", enc(q.get("unit").map_or("", String::as_str))))).await;
    let (from, to) = match (everything(&signed.api, a).await, everything(&signed.api, b).await) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(f), _) | (_, Err(f)) => return failure_page(Some(&signed), "Compare restore points", &f),
    };
    let added: Vec<_> = to.iter().filter(|(p, _)| !from.contains_key(*p)).collect();
    let removed: Vec<_> = from.iter().filter(|(p, _)| !to.contains_key(*p)).collect();
    let changed: Vec<_> = to
        .iter()
        .filter_map(|(p, now)| {
            from.get(p)
                .filter(|then| now.0 == "file" && (then.1 != now.1 || then.2 != now.2))
                .map(|then| (p, then, now))
        })
        .collect();
    let title = match &unit {
        Ok(u) => format!("Compare points of {}", name_of(u)),
        Err(_) => "Compare restore points".into(),
    };
    let body = html! {
        p { (added.len()) " added, " (removed.len()) " removed, " (changed.len()) " changed." }
        h2 { "Added" }
        (plain_list(&added))
        h2 { "Removed" }
        (plain_list(&removed))
        h2 { "Changed" }
        @if changed.is_empty() { p.quiet { "Nothing." } }
        @else {
            table #changed {
                thead { tr { th scope="col" { "Item" } th scope="col" { "Size before" } th scope="col" { "Size after" } th scope="col" { "Modified after" } } }
                tbody { @for (p, then, now) in &changed { tr { td { (p) } td { (bytes(then.1)) } td { (bytes(now.1)) } td { (when(&now.2)) } } } }
            }
        }
    };
    Html(page(&title, Some(&signed), body).into_string()).into_response()
}

fn plain_list(items: &[(&String, &(String, u64, String))]) -> Markup {
    html! {
        @if items.is_empty() { p.quiet { "Nothing." } }
        @else {
            table {
                thead { tr { th scope="col" { "Item" } th scope="col" { "Kind" } th scope="col" { "Size" } } }
                tbody { @for (p, (kind, size, _)) in items { tr { td { (p) } td { (kind) } td { (bytes(*size)) } } } }
            }
        }
    }
}
