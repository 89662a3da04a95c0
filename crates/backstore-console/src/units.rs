//! Protection units: a filterable list, and one unit with its restore points on a timeline — every
//! point of the last 14 days (of the newest point), then one a week.

use axum::extract::{Path, RawQuery};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use maud::{html, Markup};
use serde_json::Value;

use crate::api::{enc, graph, literal, Api, Failure};
use crate::layout::{badge, bytes, failure, failure_page, page, text, when};
use crate::session::{query, Signed};

const KINDS: [(&str, &str); 3] =
    [("site", "siteProtectionUnit"), ("mailbox", "mailboxProtectionUnit"), ("drive", "driveProtectionUnit")];
const STATUSES: [&str; 8] = [
    "protectRequested",
    "protected",
    "unprotectRequested",
    "unprotected",
    "removeRequested",
    "offboardRequested",
    "offboarded",
    "cancelOffboardRequested",
];
/// Calls made at most to walk a unit's recent points (five a call: 14 days of 10-minute points
/// are 2016).
const RECENT_CALLS: usize = 450;
/// Weeks shown at most before the recent points.
const WEEKS: usize = 104;

/// A unit's kind (`site`, `mailbox`, `drive`) from its `@odata.type`.
pub fn kind_of(unit: &Value) -> &'static str {
    let t = text(&unit["@odata.type"]);
    KINDS.iter().find(|(_, ty)| t.ends_with(ty)).map_or("unit", |(k, _)| k)
}

/// What a person calls the unit: its site's name or URL, or its mailbox's or OneDrive's owner.
pub fn name_of(unit: &Value) -> String {
    ["siteName", "displayName", "email", "siteWebUrl", "siteId", "directoryObjectId", "id"]
        .iter()
        .map(|k| text(&unit[*k]))
        .find(|v| !v.is_empty())
        .unwrap_or_default()
        .to_owned()
}

pub async fn list(signed: Signed, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let field = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let (kind, status, text_filter) = (field("kind"), field("status"), field("q").to_lowercase());
    let mut path = String::from("protectionUnits");
    if let Some((_, ty)) = KINDS.iter().find(|(k, _)| *k == kind) {
        path.push_str(&format!("/microsoft.graph.{ty}"));
    }
    path.push_str("?$top=100");
    if STATUSES.contains(&status.as_str()) {
        path.push_str(&format!("&$filter={}", enc(&format!("status eq '{}'", literal(&status)))));
    }
    if let Some(token) = q.get("skiptoken") {
        path.push_str(&format!("&$skiptoken={}", enc(token)));
    }
    let listed = signed.api.get(&graph(&path)).await;
    let body = html! {
        form.filters method="get" action="/console/units" role="search" {
            label for="q" { "Name contains" }
            input #q name="q" value=(field("q"));
            label for="kind" { "Kind" }
            select #kind name="kind" {
                option value="" { "any" }
                @for (k, _) in KINDS { option value=(k) selected[kind == k] { (k) } }
            }
            label for="status" { "Status" }
            select #status name="status" {
                option value="" { "any" }
                @for s in STATUSES { option value=(s) selected[status == s] { (s) } }
            }
            button type="submit" { "Filter" }
        }
        @match &listed {
            Err(f) => (failure(f)),
            Ok(v) => (units_table(v, &text_filter, raw.as_deref(), signed.read_only)),
        }
    };
    Html(page("Protection units", Some(&signed), body).into_string()).into_response()
}

fn units_table(listed: &Value, text_filter: &str, raw: Option<&str>, read_only: bool) -> Markup {
    let units: Vec<&Value> = listed["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| text_filter.is_empty() || name_of(u).to_lowercase().contains(text_filter))
        .collect();
    let next =
        text(&listed["@odata.nextLink"]).split_once("$skiptoken=").map(|(_, t)| t.split('&').next().unwrap_or(t));
    html! {
        @if units.is_empty() { p.quiet { "No protection unit matches." } }
        @else {
            form method="get" action="/console/restore" {
                table #units {
                    caption { (units.len()) " units" }
                    thead { tr {
                        th scope="col" { span.sr { "Choose" } }
                        th scope="col" { "Unit" } th scope="col" { "Kind" } th scope="col" { "Status" } th scope="col" { "Policy" }
                    } }
                    tbody {
                        @for u in &units {
                            tr {
                                td { input type="checkbox" name="unit" value=(text(&u["id"])) aria-label={ "Choose " (name_of(u)) }; }
                                td data-label="Unit" { a href={ "/console/units/" (enc(text(&u["id"]))) } { (name_of(u)) } }
                                td data-label="Kind" { (kind_of(u)) }
                                td data-label="Status" { (badge(text(&u["status"]))) }
                                td.mono data-label="Policy" { (text(&u["policyId"])) }
                            }
                        }
                    }
                }
                @if !read_only {
                    button type="submit" #restore-units { "Restore the latest points of the chosen units…" }
                }
            }
        }
        @if let Some(token) = next {
            @let kept: Vec<(String, String)> = crate::session::query(raw).into_iter().filter(|(k, _)| k != "skiptoken").collect();
            @let base = kept.iter().map(|(k, v)| format!("{}={}&", enc(k), enc(v))).collect::<String>();
            p { a href={ "/console/units?" (base) "skiptoken=" (token) } { "Next page" } }
        }
    }
}

/// A restore point as the timeline shows it.
struct Point {
    id: String,
    at: String,
    time: DateTime<Utc>,
    tags: String,
    expires: String,
}

fn point_of(v: &Value) -> Option<Point> {
    let at = text(&v["protectionDateTime"]).to_owned();
    let time = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
    Some(Point {
        id: text(&v["id"]).to_owned(),
        at,
        time,
        tags: text(&v["tags"]).to_owned(),
        expires: text(&v["expirationDateTime"]).to_owned(),
    })
}

/// The points of `unit` taken before `before`, newest first (at most five: the list's page).
async fn points_before(api: &Api, unit: &str, before: &str) -> Result<Vec<Point>, Failure> {
    let expand = enc(&format!("protectionUnit($filter=id eq '{}')", literal(unit)));
    let filter = enc(&format!("protectionDateTime lt {before}"));
    let listed = api.get(&graph(&format!("restorePoints?$expand={expand}&$filter={filter}"))).await?;
    Ok(listed["value"].as_array().into_iter().flatten().filter_map(point_of).collect())
}

/// Each point's bytes and items, by id.
type Stats = std::collections::HashMap<String, (u64, u64)>;

/// Points asked about per stats request: their ids keep the request line under the server's
/// 16 KiB header limit.
const STATS_CHUNK: usize = 250;

/// The sizes and item counts of `points` (the admin path `restorePointStats`).
async fn stats_of(api: &Api, points: impl Iterator<Item = &Point>) -> Result<Stats, Failure> {
    let ids: Vec<&str> = points.map(|p| p.id.as_str()).collect();
    let mut stats = Stats::new();
    for chunk in ids.chunks(STATS_CHUNK) {
        let listed = api.get(&format!("/admin/restorePointStats?ids={}", enc(&chunk.join(",")))).await?;
        for s in listed["value"].as_array().into_iter().flatten() {
            if let (Some(size), Some(items)) = (s["sizeInBytes"].as_u64(), s["itemCount"].as_u64()) {
                stats.insert(text(&s["restorePointId"]).to_owned(), (size, items));
            }
        }
    }
    Ok(stats)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The timeline: every point of the 14 days before the newest (from `before`, when given), then
/// the newest point of each week before those; whether the recent walk stopped at its limit.
async fn timeline(api: &Api, unit: &str, before: Option<&str>) -> Result<(Vec<Point>, Vec<Point>, bool), Failure> {
    let mut recent: Vec<Point> = Vec::new();
    let mut cursor = before.unwrap_or("9999-12-31T00:00:00Z").to_owned();
    let mut cutoff: Option<DateTime<Utc>> = None;
    let mut truncated = true;
    for _ in 0..RECENT_CALLS {
        let page = points_before(api, unit, &cursor).await?;
        let full = page.len() == 5;
        let Some(last) = page.last() else {
            truncated = false;
            break;
        };
        let cut = *cutoff.get_or_insert(page[0].time - Duration::days(14));
        cursor = stamp(last.time);
        let past_cut = last.time < cut;
        recent.extend(page.into_iter().filter(|p| p.time >= cut));
        if past_cut || !full {
            truncated = false;
            break;
        }
    }
    let mut weekly = Vec::new();
    if let (Some(cut), false) = (cutoff, truncated) {
        let mut boundary = cut;
        for _ in 0..WEEKS {
            let Some(p) = points_before(api, unit, &stamp(boundary)).await?.into_iter().next() else { break };
            // Weeks are counted back from the recent points' start: the next looks before the week
            // this point fell in, however many empty weeks came between.
            let weeks_back = (boundary - p.time).num_seconds() / Duration::weeks(1).num_seconds() + 1;
            boundary -= Duration::weeks(weeks_back);
            weekly.push(p);
        }
    }
    Ok((recent, weekly, truncated))
}

pub async fn unit(signed: Signed, Path(id): Path<String>, RawQuery(raw): RawQuery) -> Response {
    let q = query(raw.as_deref());
    let unit = match signed.api.get(&graph(&format!("protectionUnits/{}", enc(&id)))).await {
        Ok(u) => u,
        Err(f) => return failure_page(Some(&signed), "Protection unit", &f),
    };
    let kind = kind_of(&unit);
    let points = timeline(&signed.api, &id, q.get("before").map(String::as_str)).await;
    let stats = match &points {
        Ok((recent, weekly, _)) => stats_of(&signed.api, recent.iter().chain(weekly)).await,
        Err(_) => Ok(Stats::new()),
    };
    let body = html! {
        dl.facts {
            dt { "Kind" } dd { (kind) }
            dt { "Status" } dd { (badge(text(&unit["status"]))) }
            dt { "Policy" } dd.mono { (text(&unit["policyId"])) }
            @if !text(&unit["siteWebUrl"]).is_empty() { dt { "Site" } dd { (text(&unit["siteWebUrl"])) } }
            @if !text(&unit["email"]).is_empty() { dt { "Email" } dd { (text(&unit["email"])) } }
            @if !text(&unit["createdDateTime"]).is_empty() { dt { "Added" } dd { (when(text(&unit["createdDateTime"]))) } }
        }
        h2 #points-h { "Restore points" }
        @if let Err(f) = &stats { p.quiet { "Sizes and item counts are not shown: " (f.code) " (" (f.message) ")" } }
        @let stats = stats.as_ref().cloned().unwrap_or_default();
        @match &points {
            Err(f) => (failure(f)),
            Ok((recent, weekly, truncated)) => {
                @if recent.is_empty() { p.quiet { "No restore point yet." } }
                @else {
                    form method="get" action="/console/diff" aria-labelledby="points-h" {
                        input type="hidden" name="unit" value=(id);
                        h3 { "Recent points (the 14 days before the newest): " (recent.len()) }
                        @for (i, (day, points)) in by_day(recent).into_iter().enumerate() {
                            details open[i == 0] {
                                summary { (day) ": " (points.len()) " points" }
                                (points_table(&day, points, &id, kind, &stats))
                            }
                        }
                        @if *truncated {
                            p { "Only the newest points are shown. "
                                a href={ "/console/units/" (enc(&id)) "?before=" (enc(&recent.last().map(|p| stamp(p.time)).unwrap_or_default())) } { "Older points" } }
                        }
                        @if !weekly.is_empty() { (points_table("Weekly points before those", weekly, &id, kind, &stats)) }
                        @if kind != "mailbox" {
                            button type="submit" #compare { "Compare the two points chosen" }
                        }
                    }
                }
            }
        }
    };
    Html(page(&name_of(&unit), Some(&signed), body).into_string()).into_response()
}

/// Points by the day (UTC) they were taken, newest first as they came.
fn by_day(points: &[Point]) -> Vec<(String, &[Point])> {
    let mut days: Vec<(String, &[Point])> = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        let day = |p: &Point| p.time.format("%Y-%m-%d").to_string();
        if i == points.len() || day(&points[i]) != day(&points[start]) {
            days.push((day(&points[start]), &points[start..i]));
            start = i;
        }
    }
    days
}

fn points_table(caption: &str, points: &[Point], unit: &str, kind: &str, stats: &Stats) -> Markup {
    html! {
        table.points {
            caption { (caption) ": " (points.len()) }
            thead { tr {
                th scope="col" { "Taken" } th scope="col" { "Tags" } th scope="col" { "Expires" }
                th scope="col" { "Size" } th scope="col" { "Items" }
                @if kind != "mailbox" { th scope="col" { "Compare: from" } th scope="col" { "to" } }
                th scope="col" { "Actions" }
            } }
            tbody {
                @for p in points {
                    tr {
                        td data-label="Taken" { time datetime=(p.at) { (when(&p.at)) } }
                        td data-label="Tags" { (p.tags) }
                        td data-label="Expires" { (when(&p.expires)) }
                        td data-label="Size" { (stats.get(&p.id).map_or("—".into(), |s| bytes(s.0))) }
                        td data-label="Items" { (stats.get(&p.id).map_or("—".into(), |s| s.1.to_string())) }
                        @if kind != "mailbox" {
                            td { input type="radio" name="a" value=(p.id) aria-label={ "Compare from " (when(&p.at)) }; }
                            td { input type="radio" name="b" value=(p.id) aria-label={ "Compare to " (when(&p.at)) }; }
                        }
                        td.actions {
                            a href={ "/console/points/" (enc(&p.id)) } aria-label={ "Browse the point of " (when(&p.at)) } { "Browse" }
                            a href={ "/console/restore?unit=" (enc(unit)) "&point=" (enc(&p.id)) } aria-label={ "Restore the point of " (when(&p.at)) } { "Restore…" }
                        }
                    }
                }
            }
        }
    }
}
