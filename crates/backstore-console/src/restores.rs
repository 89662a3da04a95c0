//! Restoring: a review of what will be restored and where, the start (a session made and activated
//! through the API), and the session's page, which shows each artifact's progress live — pushed by
//! the server as server-sent events from the session and its admin progress path — and then the
//! result with the restore proof.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures::Stream;
use maud::{html, Markup};
use serde_json::{json, Value};

use crate::api::{enc, graph, Api, Failure, BETA_SERVICE};
use crate::layout::{badge, bytes, failure, failure_page, fed_page, page, text, when};
use crate::session::Signed;
use crate::units::{kind_of, name_of};
use crate::Console;

/// Pages of artifacts a session's page shows at most (100 each).
const ARTIFACT_PAGES: usize = 20;
/// How often a live session page is told the progress.
const TICK: Duration = Duration::from_millis(400);
/// The longest a live page is fed before it must reload.
const STREAM_LIFE: Duration = Duration::from_secs(3600);

/// The session set and artifact navigation of a unit's kind, or of a granular restore.
fn restore_nav(kind: &str, granular: bool) -> Option<(&'static str, &'static str)> {
    Some(match (kind, granular) {
        ("site", false) => ("sharePointRestoreSessions", "siteRestoreArtifacts"),
        ("drive", false) => ("oneDriveForBusinessRestoreSessions", "driveRestoreArtifacts"),
        ("mailbox", false) => ("exchangeRestoreSessions", "mailboxRestoreArtifacts"),
        ("site", true) => ("sharePointRestoreSessions", "granularSiteRestoreArtifacts"),
        ("drive", true) => ("oneDriveForBusinessRestoreSessions", "granularDriveRestoreArtifacts"),
        _ => return None,
    })
}

/// What a review or start is about: points of units (a unit without a point chosen restores its
/// latest), or items of a browse session.
enum Choice {
    Points(Vec<(String, Option<String>)>),
    Items { browse: String, items: Vec<String> },
}

fn choice_of(pairs: &[(String, String)]) -> Result<Choice, Failure> {
    let all = |k: &str| pairs.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let (units, points, browse) = (all("unit"), all("point"), all("browse"));
    if let Some(browse) = browse.into_iter().next() {
        return Ok(Choice::Items { browse, items: all("item") });
    }
    if units.is_empty() {
        return Err(bad("Choose a restore point, units, or items of a point to restore."));
    }
    if points.is_empty() {
        return Ok(Choice::Points(units.into_iter().map(|u| (u, None)).collect()));
    }
    if points.len() != units.len() {
        return Err(bad("Name one restore point for each unit, or none to restore their latest."));
    }
    Ok(Choice::Points(units.into_iter().zip(points.into_iter().map(Some)).collect()))
}

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

fn bad(message: &str) -> Failure {
    Failure { status: StatusCode::BAD_REQUEST, code: "invalidRequest".into(), message: message.into() }
}

/// A choice made whole: the units' kind, each unit's point (the latest where none was chosen),
/// and for each artifact what a person reads (whose, what).
struct Plan {
    kind: &'static str,
    choice: Choice,
    rows: Vec<(String, String)>,
}

/// The newest point of `unit`, if it has one.
async fn latest_point(api: &Api, unit: &str) -> Result<Option<Value>, Failure> {
    let expand = enc(&format!("protectionUnit($filter=id eq '{}')", crate::api::literal(unit)));
    let filter = enc("protectionDateTime lt 9999-12-31T00:00:00Z");
    let listed = api.get(&graph(&format!("restorePoints?$expand={expand}&$filter={filter}"))).await?;
    Ok(listed["value"].as_array().and_then(|v| v.first()).cloned())
}

async fn plan(api: &Api, choice: Choice) -> Result<Plan, Failure> {
    match choice {
        Choice::Points(chosen) => {
            let mut kind = None;
            let (mut resolved, mut rows) = (Vec::new(), Vec::new());
            for (unit, point) in chosen {
                let u = api.get(&graph(&format!("protectionUnits/{}", enc(&unit)))).await?;
                if kind.is_some_and(|k| k != kind_of(&u)) {
                    return Err(bad("Choose units of one kind: a restore session restores one workload."));
                }
                kind = Some(kind_of(&u));
                let p = match &point {
                    Some(p) => api.get(&graph(&format!("restorePoints/{}", enc(p)))).await?,
                    None => latest_point(api, &unit)
                        .await?
                        .ok_or_else(|| bad(&format!("{} has no restore point to restore yet.", name_of(&u))))?,
                };
                rows.push((name_of(&u), format!("the point of {}", when(text(&p["protectionDateTime"])))));
                resolved.push((unit, Some(text(&p["id"]).to_owned())));
            }
            Ok(Plan { kind: kind.unwrap_or("unit"), choice: Choice::Points(resolved), rows })
        }
        Choice::Items { browse, items } => {
            if items.is_empty() {
                return Err(bad("Choose at least one item to restore."));
            }
            let s = api.get(&format!("{BETA_SERVICE}/browseSessions/{}", enc(&browse))).await?;
            let kind = if text(&s["@odata.type"]).contains("oneDrive") { "drive" } else { "site" };
            let whose = [text(&s["siteId"]), text(&s["directoryObjectId"])].into_iter().find(|t| !t.is_empty());
            let what = format!("{} item(s) of the point of {}", items.len(), when(text(&s["restorePointDateTime"])));
            let rows = vec![(whose.unwrap_or_default().to_owned(), what)];
            Ok(Plan { kind, choice: Choice::Items { browse, items }, rows })
        }
    }
}

pub async fn review(signed: Signed, RawQuery(raw): RawQuery) -> Response {
    let planned = match choice_of(&pairs(raw.unwrap_or_default().as_bytes())) {
        Ok(choice) => plan(&signed.api, choice).await,
        Err(f) => Err(f),
    };
    match planned {
        Ok(plan) => Html(review_page(&signed, &plan, None).into_string()).into_response(),
        Err(f) => failure_page(Some(&signed), "Restore", &f),
    }
}

fn review_page(signed: &Signed, plan: &Plan, refusal: Option<&Failure>) -> Markup {
    let granular = matches!(plan.choice, Choice::Items { .. });
    let body = html! {
        @if let Some(f) = refusal { (failure(f)) }
        table #planned {
            caption { (plan.rows.len()) " to restore (" (plan.kind) ")" }
            thead { tr { th scope="col" { "Unit" } th scope="col" { "What" } } }
            tbody { @for (whose, what) in &plan.rows { tr { td { (whose) } td { (what) } } } }
        }
        @if signed.read_only {
            div.notice role="status" { "This sign-in is read-only: it cannot start a restore." }
        } @else {
            form method="post" action="/console/restore" {
                input type="hidden" name="_csrf" value=(signed.csrf);
                @match &plan.choice {
                    Choice::Points(points) => {
                        @for (unit, point) in points {
                            input type="hidden" name="unit" value=(unit);
                            input type="hidden" name="point" value=(point.as_deref().unwrap_or_default());
                        }
                    }
                    Choice::Items { browse, items } => {
                        input type="hidden" name="browse" value=(browse);
                        @for i in items { input type="hidden" name="item" value=(i); }
                    }
                }
                fieldset {
                    legend { "Destination" }
                    label { input type="radio" name="destination" value="new" checked; " New: " (new_destination(plan.kind, granular)) }
                    @if !granular {
                        label { input type="radio" name="destination" value="inPlace"; " In place: over the original, which becomes as it was" }
                    }
                }
                button type="submit" #start-restore { "Start the restore" }
            }
        }
    };
    page("Review the restore", Some(signed), body)
}

fn new_destination(kind: &str, granular: bool) -> &'static str {
    match (kind, granular) {
        (_, true) => "a Recovered Items folder in the library",
        ("mailbox", _) => "a Restored Items folder of the mailbox",
        _ => "a new site at the original URL with an R suffix",
    }
}

pub async fn start(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = crate::refused_if_forged(&console, &headers, &body) {
        return refused;
    }
    let pairs = pairs(&body);
    let destination = pairs.iter().find(|(k, _)| k == "destination").map_or("new", |(_, v)| v.as_str());
    let api = &signed.api;
    let plan = match choice_of(&pairs) {
        Ok(choice) => plan(api, choice).await,
        Err(f) => Err(f),
    };
    let plan = match plan {
        Ok(plan) => plan,
        Err(f) => return failure_page(Some(&signed), "Restore", &f),
    };
    let started = async {
        let granular = matches!(plan.choice, Choice::Items { .. });
        let (set, nav) = restore_nav(plan.kind, granular).ok_or_else(|| bad("That unit cannot be restored."))?;
        let artifacts: Vec<Value> = match &plan.choice {
            Choice::Points(points) => points
                .iter()
                .map(|(_, p)| json!({ "restorePoint": { "id": p }, "destinationType": destination }))
                .collect(),
            Choice::Items { browse, items } => {
                items.iter().map(|i| json!({ "browseSessionId": browse, "id": i })).collect()
            }
        };
        let made = api.post(&graph(set), &json!({ nav: artifacts })).await?;
        let id = text(&made["id"]).to_owned();
        api.post(&graph(&format!("restoreSessions/{}/activate", enc(&id))), &json!({})).await?;
        Ok::<String, Failure>(id)
    }
    .await;
    match started {
        Ok(id) => Redirect::to(&format!("/console/sessions/{}", enc(&id))).into_response(),
        Err(f) => {
            let status = if f.status.is_client_error() { f.status } else { StatusCode::BAD_GATEWAY };
            (status, Html(review_page(&signed, &plan, Some(&f)).into_string())).into_response()
        }
    }
}

fn terminal(status: &str) -> bool {
    matches!(status, "completed" | "completedWithError" | "failed")
}

/// The navigations of a session's artifacts, by its `@odata.type`.
fn navs_of(session: &Value) -> &'static [&'static str] {
    let t = text(&session["@odata.type"]);
    if t.ends_with("sharePointRestoreSession") {
        &["siteRestoreArtifacts", "granularSiteRestoreArtifacts"]
    } else if t.ends_with("oneDriveForBusinessRestoreSession") {
        &["driveRestoreArtifacts", "granularDriveRestoreArtifacts"]
    } else {
        &["mailboxRestoreArtifacts", "granularMailboxRestoreArtifacts"]
    }
}

pub async fn session(signed: Signed, Path(id): Path<String>) -> Response {
    let api = &signed.api;
    let s = match api.get(&graph(&format!("restoreSessions/{}", enc(&id)))).await {
        Ok(s) => s,
        Err(f) => return failure_page(Some(&signed), "Restore session", &f),
    };
    let mut artifacts = Vec::new();
    let mut refused = None;
    for nav in navs_of(&s) {
        match api.get_all(&graph(&format!("{}/{}/{nav}", set_of(&s), enc(&id))), ARTIFACT_PAGES).await {
            Ok(listed) => artifacts.extend(listed),
            // A kind of artifact not served on this version is none of this session's.
            Err(f) if f.status == StatusCode::NOT_IMPLEMENTED => {}
            Err(f) => refused = Some(f),
        }
    }
    // A mailbox artifact names the folder it restored into; the mailbox is its point's unit's.
    for a in artifacts.iter_mut().filter(|a| !text(&a["restoredFolderId"]).is_empty()) {
        let point = text(&a["restorePoint"]["id"]).to_owned();
        if let Ok(unit) = api.get(&graph(&format!("restorePoints/{}/protectionUnit", enc(&point)))).await {
            a["mailbox"] = unit["directoryObjectId"].clone();
        }
    }
    let progress = api.get(&format!("/admin/restoreSessions/{}/progress", enc(&id))).await;
    let status = text(&s["status"]).to_owned();
    let done = terminal(&status);
    // Only a session under way moves by itself; a draft waits for its activation.
    let under_way = matches!(status.as_str(), "activating" | "active");
    let proofs = if done { Some(api.get(&format!("/admin/restoreSessions/{}/proofs", enc(&id))).await) } else { None };
    let body = html! {
        dl.facts {
            dt { "Status" } dd #session-status aria-live="polite" { (badge(&status)) }
            dt { "Created" } dd { (when(text(&s["createdDateTime"]))) }
            @if done { dt { "Completed" } dd { (when(text(&s["completedDateTime"]))) } }
        }
        @if let Some(f) = &refused { (failure(f)) }
        @if !text(&s["error"]["code"]).is_empty() {
            div.error role="alert" { strong { (text(&s["error"]["code"])) } ": " (text(&s["error"]["message"])) }
        }
        @match &progress {
            Err(f) => (failure(f)),
            Ok(p) => (progress_view(p, &artifacts)),
        }
        @if let Some(proofs) = &proofs {
            h2 { "Restore proof" }
            @match proofs {
                Err(f) => (failure(f)),
                Ok(v) => (proof_table(v)),
            }
        }
        @if under_way { noscript { p { "This page updates itself with JavaScript; without it, " a href="" { "reload" } " to see the progress." } } }
    };
    let events = under_way.then(|| format!("/console/sessions/{}/events", enc(&id)));
    Html(fed_page(&format!("Restore session {id}"), Some(&signed), events.as_deref(), body).into_string())
        .into_response()
}

/// The set a session lives in, from its `@odata.type`.
fn set_of(session: &Value) -> &'static str {
    let t = text(&session["@odata.type"]);
    if t.ends_with("sharePointRestoreSession") {
        "sharePointRestoreSessions"
    } else if t.ends_with("oneDriveForBusinessRestoreSession") {
        "oneDriveForBusinessRestoreSessions"
    } else {
        "exchangeRestoreSessions"
    }
}

fn progress_view(p: &Value, artifacts: &[Value]) -> Markup {
    let number = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    let of = |id: &str| p["value"].as_array().into_iter().flatten().find(|a| text(&a["artifactId"]) == id).cloned();
    html! {
        h2 #progress-h { "Progress" }
        p {
            progress #overall aria-labelledby="progress-h" max=(number(p, "bytesTotal").max(1)) value=(number(p, "bytesDone")) {}
            " " span #overall-text { (summary(p)) }
        }
        table #artifacts {
            caption { (artifacts.len()) " artifacts" }
            thead { tr {
                th scope="col" { "Artifact" } th scope="col" { "Status" } th scope="col" { "Items" } th scope="col" { "Bytes" }
                th scope="col" { "Rate" } th scope="col" { "Time left" } th scope="col" { "Restored to" }
            } }
            tbody {
                @for a in artifacts {
                    @let id = text(&a["id"]);
                    @let one = of(id).unwrap_or(Value::Null);
                    tr data-artifact=(id) {
                        td.mono { (id) }
                        td data-field="status" data-label="Status" { (badge(text(&a["status"]))) }
                        td data-field="items" data-label="Items" { (number(&one, "itemsDone")) " / " (number(&one, "itemsTotal")) }
                        td data-field="bytes" data-label="Bytes" { (bytes(number(&one, "bytesDone"))) " / " (bytes(number(&one, "bytesTotal"))) }
                        td data-field="rate" data-label="Rate" { (bytes(number(&one, "bytesPerSecond"))) "/s" }
                        td data-field="eta" data-label="Time left" { (number(&one, "etaSeconds")) " s" }
                        td { (restored_to(a)) }
                    }
                }
            }
        }
    }
}

fn summary(p: &Value) -> String {
    let n = |k: &str| p[k].as_u64().unwrap_or(0);
    format!(
        "{} of {} items, {} of {}, {}/s, {} s left",
        n("itemsDone"),
        n("itemsTotal"),
        bytes(n("bytesDone")),
        bytes(n("bytesTotal")),
        bytes(n("bytesPerSecond")),
        n("etaSeconds")
    )
}

/// Where an artifact's content went, as the API names it, linked to the console's view of the live
/// content there (the web URLs name SharePoint, which backstore stands in for, so they are shown
/// as text).
fn restored_to(a: &Value) -> Markup {
    let name = ["restoredFolderName", "restoredItemPath", "restoredSiteName"]
        .iter()
        .map(|k| text(&a[*k]))
        .find(|v| !v.is_empty())
        .unwrap_or("the restored content");
    let url = ["restoredSiteWebUrl", "restoredItemWebUrl"].iter().map(|k| text(&a[*k])).find(|v| !v.is_empty());
    let site = [text(&a["restoredSiteId"]), text(&a["siteId"])].into_iter().find(|v| !v.is_empty());
    let link = match (site, text(&a["restoredFolderId"]), text(&a["mailbox"])) {
        (Some(site), _, _) => Some(format!("/console/live/sites/{}", enc(site))),
        (None, folder, user) if !folder.is_empty() && !user.is_empty() => {
            Some(format!("/console/live/users/{}/mailFolders/{}", enc(user), enc(folder)))
        }
        _ => None,
    };
    html! {
        @if text(&a["status"]) == "succeeded" {
            @if let Some(link) = link { a.restored href=(link) { (name) } } @else { (name) }
            @if let Some(url) = url { br; span.quiet.mono { (url) } }
        }
    }
}

fn proof_table(v: &Value) -> Markup {
    html! {
        table #proofs {
            thead { tr { th scope="col" { "Artifact" } th scope="col" { "Verdict" } th scope="col" { "Items written" } th scope="col" { "Bytes written" } th scope="col" { "Point" } th scope="col" { "Written" } } }
            tbody {
                @for p in v["value"].as_array().into_iter().flatten() {
                    tr {
                        td.mono { (text(&p["artifactId"])) }
                        td { (badge(text(&p["verdict"]))) }
                        td { (p["itemsWritten"]) }
                        td { (bytes(p["bytesWritten"].as_u64().unwrap_or(0))) }
                        td.mono { (p["pointRoot"].as_str().or(p["pointDigest"].as_str()).unwrap_or_default()) }
                        td.mono { (p["writtenRoot"].as_str().or(p["writtenDigest"].as_str()).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

/// `/console/sessions/{id}/events`: the session's status and progress every [`TICK`], as
/// `progress` events, then one `done` event when it ends (or `failure`, with the API's refusal).
pub async fn events(signed: Signed, Path(id): Path<String>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let until = tokio::time::Instant::now() + STREAM_LIFE;
    let stream = futures::stream::unfold((signed.api, id, true, false), move |(api, id, first, over)| async move {
        if over || tokio::time::Instant::now() > until {
            return None;
        }
        if !first {
            tokio::time::sleep(TICK).await;
        }
        let tick = async {
            let s = api.get(&graph(&format!("restoreSessions/{}", enc(&id)))).await?;
            let mut p = api.get(&format!("/admin/restoreSessions/{}/progress", enc(&id))).await?;
            p["status"] = s["status"].clone();
            p["summary"] = json!(summary(&p));
            Ok::<Value, Failure>(p)
        }
        .await;
        let (event, over) = match tick {
            Ok(p) => {
                let over = terminal(text(&p["status"]));
                (Event::default().event(if over { "done" } else { "progress" }).data(p.to_string()), over)
            }
            Err(f) => {
                let data = json!({ "code": f.code, "message": f.message, "status": f.status.as_u16() });
                (Event::default().event("failure").data(data.to_string()), true)
            }
        };
        Some((Ok(event), (api, id, false, over)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
