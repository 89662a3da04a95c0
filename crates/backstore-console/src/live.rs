//! What a restore wrote, as it is now: a site's or OneDrive's library folder by folder, and a
//! mailbox folder's messages — read through Graph's own file and mail paths, where a restore
//! session's page links.

use axum::extract::{Path, RawQuery};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde_json::Value;

use crate::api::{enc, Failure};
use crate::layout::{bytes, failure, failure_page, page, text, when};
use crate::session::{query, Signed};

/// `/console/live/sites/{id}`: the site's document library.
pub async fn site(signed: Signed, Path(site): Path<String>) -> Response {
    match signed.api.get(&format!("/v1.0/sites/{}/drive", enc(&site))).await {
        Ok(d) => Redirect::to(&format!("/console/live/drives/{}", enc(text(&d["id"])))).into_response(),
        Err(f) => failure_page(Some(&signed), "Site", &f),
    }
}

/// `/console/live/drives/{id}[?item=…&path=…]`: a folder of a drive as it is now.
pub async fn drive(signed: Signed, Path(drive): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let d = enc(&drive);
    let folder = match q.get("item") {
        Some(item) => format!("/v1.0/drives/{d}/items/{}/children?$top=200", enc(item)),
        None => format!("/v1.0/drives/{d}/root/children?$top=200"),
    };
    let about = signed.api.get(&format!("/v1.0/drives/{d}")).await;
    let listed = signed.api.get(&folder).await;
    let at = q.get("path").cloned().unwrap_or_default();
    let title = match &about {
        Ok(a) => format!("{} (as it is now)", text(&a["name"])),
        Err(_) => "Library (as it is now)".into(),
    };
    let body = html! {
        @if let Ok(a) = &about { p.quiet.mono { (text(&a["webUrl"])) } }
        nav.crumbs aria-label="Folder" {
            a href={ "/console/live/drives/" (d) } { "Top" }
            @for name in at.split('/').filter(|s| !s.is_empty()) { " / " span { (name) } }
        }
        @match &listed {
            Err(f) => (failure(f)),
            Ok(v) => table #live-items {
                caption { (v["value"].as_array().map_or(0, Vec::len)) " items" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Size" } th scope="col" { "Modified" } th scope="col" { "Open" } } }
                tbody {
                    @for i in v["value"].as_array().into_iter().flatten() {
                        @let (id, name) = (text(&i["id"]), text(&i["name"]));
                        tr {
                            td {
                                @if i.get("folder").is_some() {
                                    a href={ "/console/live/drives/" (d) "?item=" (enc(id)) "&path=" (enc(&format!("{at}/{name}"))) } { (name) }
                                } @else { (name) }
                            }
                            td { (bytes(i["size"].as_u64().unwrap_or(0))) }
                            td { (when(text(&i["lastModifiedDateTime"]))) }
                            td.actions {
                                @if i.get("file").is_some() {
                                    a href={ "/console/live/drives/" (d) "/content?item=" (enc(id)) } download=(name) aria-label={ "Download " (name) } { "Download" }
                                }
                            }
                        }
                    }
                }
            },
        }
    };
    Html(page(&title, Some(&signed), body).into_string()).into_response()
}

/// `/console/live/drives/{id}/content?item=…`: Graph answers a file's content with a redirect to
/// its pre-authenticated download URL, which the browser follows.
pub async fn content(signed: Signed, Path(drive): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let item = q.get("item").cloned().unwrap_or_default();
    let path = format!("/v1.0/drives/{}/items/{}/content", enc(&drive), enc(&item));
    let r = signed.api.raw(axum::http::Method::GET, &path, None).await;
    match (r.status(), r.headers().get(header::LOCATION).and_then(|l| l.to_str().ok())) {
        (StatusCode::FOUND, Some(location)) => Redirect::to(location).into_response(),
        (status, _) => {
            let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap_or_default();
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let f = Failure {
                status: if status.is_success() { StatusCode::BAD_GATEWAY } else { status },
                code: text(&v["error"]["code"]).to_owned(),
                message: text(&v["error"]["message"]).to_owned(),
            };
            failure_page(Some(&signed), "File", &f)
        }
    }
}

/// `/console/live/users/{id}/mailFolders/{folder}`: a mailbox folder's subfolders and messages now.
pub async fn mail_folder(signed: Signed, Path((user, folder)): Path<(String, String)>) -> Response {
    let base = format!("/v1.0/users/{}/mailFolders/{}", enc(&user), enc(&folder));
    let about = match signed.api.get(&base).await {
        Ok(f) => f,
        Err(f) => return failure_page(Some(&signed), "Mail folder", &f),
    };
    let children = signed.api.get(&format!("{base}/childFolders?$top=100")).await;
    let select = enc("subject,receivedDateTime,from");
    let messages = signed.api.get(&format!("{base}/messages?$top=100&$select={select}")).await;
    let u = enc(&user);
    let body = html! {
        p { (about["totalItemCount"]) " messages, " (about["unreadItemCount"]) " unread" }
        @match &children {
            Err(f) => (failure(f)),
            Ok(v) => @if let Some(folders) = v["value"].as_array().filter(|f| !f.is_empty()) {
                ul { @for f in folders { li { a href={ "/console/live/users/" (u) "/mailFolders/" (enc(text(&f["id"]))) } { (text(&f["displayName"])) } } } }
            },
        }
        @match &messages {
            Err(f) => (failure(f)),
            Ok(v) => table #live-messages {
                thead { tr { th scope="col" { "Subject" } th scope="col" { "From" } th scope="col" { "Received" } } }
                tbody {
                    @for m in v["value"].as_array().into_iter().flatten() {
                        tr {
                            td { (text(&m["subject"])) }
                            td { (text(&m["from"]["emailAddress"]["address"])) }
                            td { (when(text(&m["receivedDateTime"]))) }
                        }
                    }
                }
            },
        }
    };
    Html(page(&format!("{} (as it is now)", text(&about["displayName"])), Some(&signed), body).into_string())
        .into_response()
}
