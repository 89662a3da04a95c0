//! A tenant at a glance: the service's status, the policies of each workload with their status and
//! unit counts, the restore sessions under way and lately, and the latest activity.

use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use serde_json::Value;

use crate::api::{enc, graph, Api, Failure, BETA_SERVICE, SERVICE};
use crate::layout::{badge, failure, page, text, when};
use crate::session::Signed;

/// Each workload: its name, its policy set, the policy's unit navigation.
pub const WORKLOADS: [(&str, &str, &str); 3] = [
    ("SharePoint", "sharePointProtectionPolicies", "siteProtectionUnits"),
    ("Exchange", "exchangeProtectionPolicies", "mailboxProtectionUnits"),
    ("OneDrive", "oneDriveForBusinessProtectionPolicies", "driveProtectionUnits"),
];

pub async fn show(signed: Signed) -> Response {
    let api = &signed.api;
    let service = api.get(SERVICE).await;
    if let Err(f) = &service {
        if f.is_unauthenticated() {
            return crate::layout::failure_page(Some(&signed), "Overview", f);
        }
    }
    let mut workloads = Vec::new();
    for (name, set, nav) in WORKLOADS {
        workloads.push((name, policies(api, set, nav).await));
    }
    let sessions = api.get(&graph("restoreSessions?$top=20&$orderby=createdDateTime%20desc")).await;
    let activity = api.get(&format!("{BETA_SERVICE}/activityLogs?$top=10")).await;
    let body = html! {
        section aria-labelledby="service-h" {
            h2 #service-h { "Service" }
            @match &service {
                Ok(s) => p { "Status: " (badge(text(&s["serviceStatus"]["status"]))) }
                Err(f) => (failure(f)),
            }
        }
        section aria-labelledby="policies-h" {
            h2 #policies-h { "Protection policies" }
            @for (name, listed) in &workloads {
                h3 { (name) }
                @match listed {
                    Err(f) => (failure(f)),
                    Ok(rows) if rows.is_empty() => p.quiet { "No policy." },
                    Ok(rows) => table {
                        thead { tr { th scope="col" { "Policy" } th scope="col" { "Status" } th scope="col" { "Units" } th scope="col" { "Changed" } } }
                        tbody {
                            @for (p, units) in rows {
                                tr {
                                    td { (text(&p["displayName"])) }
                                    td { (badge(text(&p["status"]))) }
                                    td { (units) }
                                    td { (when(text(&p["lastModifiedDateTime"]))) }
                                }
                            }
                        }
                    },
                }
            }
        }
        section aria-labelledby="sessions-h" {
            h2 #sessions-h { "Restore sessions" }
            @match &sessions {
                Err(f) => (failure(f)),
                Ok(v) => (sessions_table(v["value"].as_array().map(Vec::as_slice).unwrap_or_default())),
            }
        }
        section aria-labelledby="activity-h" {
            h2 #activity-h { "Recent activity" }
            @match &activity {
                Err(f) => (failure(f)),
                Ok(v) => (activity_list(v["value"].as_array().map(Vec::as_slice).unwrap_or_default())),
            }
        }
    };
    Html(page("Overview", Some(&signed), body).into_string()).into_response()
}

/// A workload's policies, each with the number of its units.
async fn policies(api: &Api, set: &str, nav: &str) -> Result<Vec<(Value, String)>, Failure> {
    let listed = api.get(&graph(set)).await?;
    let mut rows = Vec::new();
    for p in listed["value"].as_array().into_iter().flatten() {
        let id = text(&p["id"]);
        let units = api.get_text(&graph(&format!("{set}/{}/{nav}/$count", enc(id)))).await.unwrap_or_else(|f| f.code);
        rows.push((p.clone(), units));
    }
    Ok(rows)
}

fn sessions_table(sessions: &[Value]) -> Markup {
    let under_way = |s: &&Value| matches!(text(&s["status"]), "activating" | "active");
    let active: Vec<&Value> = sessions.iter().filter(under_way).collect();
    html! {
        @if sessions.is_empty() {
            p.quiet { "No restore session yet." }
        } @else {
            p { (active.len()) " under way of the latest " (sessions.len()) "." }
            table {
                thead { tr { th scope="col" { "Session" } th scope="col" { "Kind" } th scope="col" { "Status" } th scope="col" { "Created" } } }
                tbody {
                    @for s in sessions {
                        tr {
                            td { a href={ "/console/sessions/" (enc(text(&s["id"]))) } { (text(&s["id"])) } }
                            td { (text(&s["@odata.type"]).trim_start_matches("#microsoft.graph.")) }
                            td { (badge(text(&s["status"]))) }
                            td { (when(text(&s["createdDateTime"]))) }
                        }
                    }
                }
            }
        }
    }
}

fn activity_list(entries: &[Value]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.quiet { "No activity yet." }
        } @else {
            ul.activity {
                @for e in entries {
                    li {
                        time { (when(text(&e["eventDateTime"]))) } " "
                        (text(&e["activityType"])) " "
                        span.quiet { (text(&e["policyName"])) }
                    }
                }
            }
        }
    }
}
