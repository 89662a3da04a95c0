//! Handlers per resource, and [`route`], which picks one for a method and a target.

mod artifacts;
mod browse;
mod browse_content;
pub(crate) use browse_content::TreeStats;
mod bulk_requests;
mod counts;
pub(crate) use counts::inline_count;
mod drives;
mod exclusions;
mod granular;
mod inclusion_rules;
mod items;
mod mail;
mod message_edits;
mod messages;
mod protection_policies;
mod protection_units;
mod restore_points;
mod restore_sessions;
mod service;
mod service_apps;
mod unit_jobs;
mod uploads;

use axum::http::Method;
use axum::response::Response;
use backstore_domain::Workload;
use serde_json::{Map, Value};

use backstore_store::{Bind, Filter, Keyed, ListSpec};

use crate::error::ApiError;
use crate::names::names;
use crate::path::Target;
use crate::wire;
use crate::Ctx;

/// What a set of sessions or policies answers to other methods: the base-type set is read-only,
/// a typed set also takes POST.
fn set_methods(base: bool) -> ApiError {
    ApiError::MethodNotAllowed { allow: if base { "GET" } else { "GET, POST" } }
}

pub(crate) use drives::{download, upload};
pub(crate) use uploads::session as upload_session;

pub(crate) async fn route(ctx: &Ctx, method: &Method, target: Target) -> Result<Response, ApiError> {
    use Target::*;
    let m = method.clone();
    // Files are not part of the backup service: no service gate.
    let target = match target {
        Drive(path) => return drives::route(ctx, &m, path).await,
        // Nor is mail.
        Mail(path) => return mail::route(ctx, &m, path).await,
        other => other,
    };
    if !matches!(
        target,
        RestorePoints | Sessions { .. } | Artifacts { .. } | Units { .. } | Session { .. } | Count(_) | ActivityLogs
    ) {
        // These count their items for `$count=true` (`inline_count`).
        let counted = matches!(
            target,
            Policies { .. }
                | PolicyUnits { .. }
                | Rules { .. }
                | UnitJobs { .. }
                | ServiceApps
                | BulkRequests { .. }
                | BrowseSessions { .. }
                | Exclusions { .. }
                | ExclusionJobs { .. }
        );
        ctx.query.only_general(counted)?;
    }
    // The hottest reads pass the gate themselves, on the status their own statement read with
    // their rows (`require_enabled_seen`), before anything else they check.
    let gated_by_handler = m == Method::GET && matches!(target, Session { .. } | Artifacts { granular: false, .. });
    if !matches!(target, Root | Enable | Unimplemented(_)) && !gated_by_handler {
        service::require_enabled(ctx, gate(&target, &m)).await?;
    }
    match target {
        Drive(path) => drives::route(ctx, &m, path).await,
        Mail(path) => mail::route(ctx, &m, path).await,
        Unimplemented(what) => Err(ApiError::NotImplemented(what)),
        Count(of) => match m {
            Method::GET => counts::count(ctx, of).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Root => match m {
            Method::GET => service::get_root(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Enable => match m {
            Method::POST => service::enable_service(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        },
        Sessions { workload, base } => match (m, workload) {
            (Method::GET, _) => restore_sessions::list_sessions(ctx, workload, base).await,
            (Method::POST, Some(w)) if !base => restore_sessions::create_session(ctx, w).await,
            _ => Err(set_methods(base)),
        },
        Session { id, workload, base } => match m {
            Method::GET => restore_sessions::get_session(ctx, &id, workload, base).await,
            Method::PATCH => restore_sessions::update_session(ctx, &id, workload).await,
            Method::DELETE => restore_sessions::delete_session(ctx, &id, workload).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, PATCH, DELETE" }),
        },
        Activate { id, workload } => match m {
            Method::POST => restore_sessions::activate_session(ctx, &id, workload).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        },
        Artifacts { session, workload: w, granular } => match m {
            Method::GET => artifacts::list_artifacts(ctx, &session, artifacts::Coll { w, granular }).await,
            // Granular artifacts are added through their session (create or delta PATCH).
            Method::POST if !granular => artifacts::create_artifact(ctx, &session, w).await,
            _ => Err(ApiError::MethodNotAllowed { allow: if granular { "GET" } else { "GET, POST" } }),
        },
        Artifact { session, workload: w, granular, id } => match m {
            Method::GET => artifacts::get_artifact(ctx, &session, artifacts::Coll { w, granular }, &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        ArtifactRestorePoint { session, workload: w, granular, id } => match m {
            Method::GET => {
                artifacts::get_artifact_restore_point(ctx, &session, artifacts::Coll { w, granular }, &id).await
            }
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        BulkRequests { session, workload } => match m {
            Method::GET => bulk_requests::list_bulk_requests(ctx, &session, workload).await,
            Method::POST => bulk_requests::create_bulk_request(ctx, &session, workload).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
        },
        BulkRequest { session, workload, id } => match m {
            Method::GET => bulk_requests::get_bulk_request(ctx, &session, workload, &id).await,
            Method::DELETE => bulk_requests::delete_bulk_request(ctx, &session, workload, &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, DELETE" }),
        },
        Units { workload, base } => match m {
            Method::GET => protection_units::list_units(ctx, workload, base).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Unit { id, workload, base } => match m {
            Method::GET => protection_units::get_unit(ctx, &id, workload, base).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        RestorePoints => match m {
            Method::GET => restore_points::list_restore_points(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        RestorePoint { id } => match m {
            Method::GET => restore_points::get_restore_point(ctx, &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        RestorePointUnit { id } => match m {
            Method::GET => restore_points::get_restore_point_unit(ctx, &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Offboard { id, cancel } => match m {
            Method::POST => protection_units::offboard(ctx, &id, cancel).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        },
        Policies { workload, base } => match (m, workload) {
            (Method::GET, _) => protection_policies::list_policies(ctx, workload, base).await,
            (Method::POST, Some(w)) if !base => protection_policies::create_policy(ctx, w).await,
            _ => Err(set_methods(base)),
        },
        Policy { id, workload, base } => match m {
            Method::GET => protection_policies::get_policy(ctx, &id, workload, base).await,
            Method::PATCH => protection_policies::update_policy(ctx, &id, workload).await,
            Method::DELETE => protection_policies::delete_policy(ctx, &id, workload).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, PATCH, DELETE" }),
        },
        PolicyAction { id, workload, enable } => match m {
            Method::POST => protection_policies::set_enabled(ctx, &id, workload, enable).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        },
        PolicyUnits { policy, workload } => match m {
            Method::GET => protection_policies::list_policy_units(ctx, &policy, workload).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        PolicyUnit { policy, workload, id } => match m {
            Method::GET => protection_policies::get_policy_unit(ctx, &policy, workload, &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        UnitJobs { workload, policy } => match (m, policy) {
            (Method::GET, policy) => unit_jobs::list_jobs(ctx, workload, policy.as_deref()).await,
            (Method::POST, Some(policy)) => unit_jobs::create_job(ctx, workload, &policy).await,
            (_, policy) => {
                Err(ApiError::MethodNotAllowed { allow: if policy.is_some() { "GET, POST" } else { "GET" } })
            }
        },
        UnitJob { workload, policy, id } => match m {
            Method::GET => unit_jobs::get_job(ctx, workload, policy.as_deref(), &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Exclusions { workload, policy } => match m {
            Method::GET => exclusions::list_exclusions(ctx, workload, policy.as_deref()).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Exclusion { workload, policy, id } => match m {
            Method::GET => exclusions::get_exclusion(ctx, workload, policy.as_deref(), &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        ExclusionJobs { workload, policy } => match (m, policy) {
            (Method::GET, policy) => exclusions::list_jobs(ctx, workload, policy.as_deref()).await,
            (Method::POST, Some(policy)) => exclusions::create_job(ctx, workload, &policy).await,
            (_, policy) => {
                Err(ApiError::MethodNotAllowed { allow: if policy.is_some() { "GET, POST" } else { "GET" } })
            }
        },
        ExclusionJob { workload, policy, id } => match m {
            Method::GET => exclusions::get_job(ctx, workload, policy.as_deref(), &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Rules { workload, policy } => match (m, policy) {
            (Method::GET, policy) => inclusion_rules::list_rules(ctx, workload, policy.as_deref()).await,
            (Method::POST, Some(policy)) => inclusion_rules::create_rule(ctx, workload, &policy).await,
            (_, policy) => {
                Err(ApiError::MethodNotAllowed { allow: if policy.is_some() { "GET, POST" } else { "GET" } })
            }
        },
        Rule { workload, policy, id } => match m {
            Method::GET => inclusion_rules::get_rule(ctx, workload, policy.as_deref(), &id).await,
            Method::PATCH => inclusion_rules::update_rule(ctx, workload, policy.as_deref(), &id).await,
            Method::DELETE => inclusion_rules::delete_rule(ctx, workload, policy.as_deref(), &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, PATCH, DELETE" }),
        },
        RuleAction { workload, policy, id, unprotect } => match m {
            Method::POST => inclusion_rules::rule_action(ctx, workload, policy.as_deref(), &id, unprotect).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        },
        ServiceApps => match m {
            Method::GET => service_apps::list_apps(ctx).await,
            Method::POST => service_apps::create_app(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
        },
        ServiceApp { id } => match m {
            Method::GET => service_apps::get_app(ctx, &id).await,
            Method::DELETE => service_apps::delete_app(ctx, &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, DELETE" }),
        },
        ServiceAppAction { id, activate } => match m {
            Method::POST => service_apps::app_action(ctx, &id, activate).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        },
        ActivityLogs => match m {
            Method::GET => protection_policies::activity_logs(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        PolicyStatistics { policy } => match m {
            Method::GET => protection_policies::statistics(ctx, &policy).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        NotificationSettings => match m {
            Method::GET => service_apps::get_notifications(ctx).await,
            Method::PATCH => service_apps::update_notifications(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, PATCH" }),
        },
        RestorePointSearch => match m {
            Method::POST => restore_points::search_restore_points(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        },
        BrowseSessions { workload, base } => match (m, workload) {
            (Method::GET, _) => browse::list_sessions(ctx, workload, base).await,
            (Method::POST, Some(w)) if !base => browse::create_session(ctx, w).await,
            _ => Err(set_methods(base)),
        },
        BrowseSession { id, workload } => match m {
            Method::GET => browse::get_session(ctx, &id, workload).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        Browse { id, workload, token } => match (m, token) {
            (Method::POST, None) => browse::browse(ctx, &id, workload, None, true).await,
            (Method::GET, token) => browse::browse(ctx, &id, workload, token.as_deref(), false).await,
            (_, Some(_)) => Err(ApiError::MethodNotAllowed { allow: "GET" }),
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
        },
        BrowseItemContent { id, key } => match m {
            Method::GET => browse_content::item_content(ctx, &id, &key).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        PointItems { id } => match m {
            Method::GET => browse_content::point_items(ctx, &id).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        PointItemContent { id, item } => match m {
            Method::GET => browse_content::point_item_content(ctx, &id, &item).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
        PointStats => match m {
            Method::GET => browse_content::point_stats(ctx).await,
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        },
    }
}

/// Which service-status lock a request falls under: writes on the protection side or on restores.
fn gate(target: &Target, method: &Method) -> service::Gate {
    use Target::*;
    if method == Method::GET {
        return service::Gate::Other;
    }
    match target {
        Policies { .. }
        | Policy { .. }
        | PolicyAction { .. }
        | UnitJobs { .. }
        | ExclusionJobs { .. }
        | Rules { .. }
        | Rule { .. }
        | RuleAction { .. }
        | Offboard { .. } => service::Gate::ProtectionChange,
        Sessions { .. }
        | Session { .. }
        | BrowseSessions { .. }
        | Activate { .. }
        | Artifacts { .. }
        | BulkRequests { .. }
        | BulkRequest { .. } => service::Gate::RestoreChange,
        _ => service::Gate::Other,
    }
}

/// Sets `headers` (`Location`, `Content-Location`) of a response to `url`, where the entity lives.
pub(crate) fn locate(mut r: Response, url: &str, headers: &[axum::http::HeaderName]) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(url) {
        for h in headers {
            r.headers_mut().insert(h.clone(), v.clone());
        }
    }
    r
}

/// A collection response: absolute context, the items, and a nextLink after `more_after`.
pub(crate) fn collection(ctx: &Ctx, fragment: &str, value: Vec<Value>, more_after: Option<i64>) -> Response {
    counted_collection(ctx, fragment, value, more_after, None)
}

/// [`collection`] with `@odata.count` when `count` is known.
pub(crate) fn counted_collection(
    ctx: &Ctx,
    fragment: &str,
    value: Vec<Value>,
    more_after: Option<i64>,
    count: Option<i64>,
) -> Response {
    let body = wire::Collection {
        context: ctx.context(fragment),
        count,
        value,
        next_link: more_after.map(|after| ctx.next_link(after, &[])),
    };
    crate::json_response(axum::http::StatusCode::OK, &body)
}

/// [`queried_collection`] of items already written as JSON (`items`: each one's JSON, commas
/// between them). The envelope is serialized around an empty `value`, and the items are written
/// into it: `"value":[` occurs once in it, as the member, because the quotes in a string's text
/// are escaped in JSON (no string of it holds `"value":[`).
pub(crate) fn queried_collection_of_json(
    ctx: &Ctx,
    fragment: &str,
    items: &[u8],
    next: Option<Next>,
    count: Option<i64>,
) -> Response {
    let body = queried_envelope(ctx, fragment, Vec::<()>::new(), next, count);
    let envelope = serde_json::to_vec(&body).expect("a collection serializes");
    let member = b"\"value\":[";
    let at = envelope.windows(member.len()).position(|w| w == member).expect("a collection has a value") + member.len();
    let mut out = Vec::with_capacity(envelope.len() + items.len());
    out.extend_from_slice(&envelope[..at]);
    out.extend_from_slice(items);
    out.extend_from_slice(&envelope[at..]);
    crate::json_bytes_response(axum::http::StatusCode::OK, out)
}

/// Where the next page of a queried collection starts: the last row's sequence and sort values.
pub(crate) struct Next {
    seq: i64,
    keys: Vec<Bind>,
}

/// A queried collection's response: `@odata.count` when `$count=true`, the items, the nextLink.
pub(crate) fn queried_collection<T: serde::Serialize>(
    ctx: &Ctx,
    fragment: &str,
    value: Vec<T>,
    next: Option<Next>,
    count: Option<i64>,
) -> Response {
    crate::json_response(axum::http::StatusCode::OK, &queried_envelope(ctx, fragment, value, next, count))
}

fn queried_envelope<T>(
    ctx: &Ctx,
    fragment: &str,
    value: Vec<T>,
    next: Option<Next>,
    count: Option<i64>,
) -> wire::Collection<T> {
    wire::Collection {
        context: ctx.context(fragment),
        count,
        value,
        next_link: next.map(|next| ctx.next_link(next.seq, &next.keys)),
    }
}

/// The store query of a collection read: `$filter` and `$orderby` parsed into trees (the store
/// plans them against the collection's allow-list), the `$skiptoken` position, `$skip`, and one row
/// more than a page (to know whether another follows), and whether `$count` is asked for.
pub(crate) fn list_spec(ctx: &Ctx) -> Result<ListSpec, ApiError> {
    list_spec_with(ctx, None, ctx.query.page_size())
}

/// [`list_spec`] for a collection with its own order when `$orderby` is absent, and pages of `size`.
pub(crate) fn list_spec_with(ctx: &Ctx, default_order: Option<&str>, size: i64) -> Result<ListSpec, ApiError> {
    let bad = |e: backstore_odata::QueryError| ApiError::BadRequest(e.to_string());
    let filter = match &ctx.query.filter {
        Some(text) => Some(Filter { expr: backstore_odata::parse_filter(text).map_err(bad)?, text: text.clone() }),
        None => None,
    };
    let order = match ctx.query.orderby.as_deref().or(default_order) {
        Some(text) => backstore_odata::parse_orderby(text).map_err(bad)?,
        None => Vec::new(),
    };
    let after = match ctx.query.after {
        Some(seq) => {
            if ctx.query.after_keys.len() != order.len() {
                return Err(ApiError::BadRequest(
                    "The $skiptoken was made for another $orderby; start again without it.".into(),
                ));
            }
            Some((ctx.query.after_keys.clone(), seq))
        }
        None => None,
    };
    let skip = if after.is_some() { 0 } else { ctx.query.skip.unwrap_or(0) };
    let limit = size + 1;
    Ok(ListSpec { filter, order, after, skip, limit, count: ctx.query.count })
}

/// Splits the `limit + 1` rows a [`list_spec`] read returns into a page and where the next starts.
/// The context fragment of a collection under a policy (`…Policies('{id}')/{nav}`), or of the
/// workload's collection at the root when no policy is named.
pub(crate) fn under_policy(w: Workload, policy: Option<&str>, nav: &str) -> String {
    match policy {
        Some(p) => format!("{}('{p}')/{nav}", names(w).policy_set),
        None => nav.to_owned(),
    }
}

pub(crate) fn keyed_page<T>(ctx: &Ctx, rows: Vec<Keyed<T>>, seq: impl Fn(&T) -> i64) -> (Vec<T>, Option<Next>) {
    keyed_page_of(ctx.query.page_size(), rows, seq)
}

/// [`keyed_page`] for pages of `size`.
pub(crate) fn keyed_page_of<T>(size: i64, mut rows: Vec<Keyed<T>>, seq: impl Fn(&T) -> i64) -> (Vec<T>, Option<Next>) {
    let limit = usize::try_from(size).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more { rows.last().map(|r| Next { seq: seq(&r.record), keys: r.keys.clone() }) } else { None };
    (rows.into_iter().map(|r| r.record).collect(), next)
}

/// An entity response: absolute context first, then the entity's members.
pub(crate) fn entity(
    ctx: &Ctx,
    status: axum::http::StatusCode,
    fragment: &str,
    members: impl serde::Serialize,
) -> Response {
    crate::json_response(status, &wire::Entity { context: ctx.context(fragment), members })
}

/// Validates `$select` against an entity's properties and returns the canonical names.
pub(crate) fn selected(
    ctx: &Ctx,
    properties: &[&'static str],
    type_name: &str,
) -> Result<Option<Vec<&'static str>>, ApiError> {
    match &ctx.query.select {
        Some(select) => select_names(select, properties, type_name),
        None => Ok(None),
    }
}

/// Validates `$select` names (from the query, or nested in an `$expand`) against an entity's
/// properties and returns the canonical names; `*` selects everything.
pub(crate) fn select_names(
    select: &[String],
    properties: &[&'static str],
    type_name: &str,
) -> Result<Option<Vec<&'static str>>, ApiError> {
    let mut out = Vec::new();
    for name in select {
        if name == "*" {
            return Ok(None);
        }
        let canonical = properties.iter().find(|p| p.eq_ignore_ascii_case(name)).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
            ))
        })?;
        out.push(*canonical);
    }
    Ok(Some(out))
}

/// Keeps the annotations, the id, the selected properties and `keep` (expanded navigations).
pub(crate) fn project(mut m: Map<String, Value>, select: Option<&[&'static str]>, keep: &[&str]) -> Map<String, Value> {
    if let Some(select) = select {
        m.retain(|k, _| k.starts_with('@') || k == "id" || select.contains(&k.as_str()) || keep.contains(&k.as_str()));
    }
    m
}

/// An entity's members as a response shows them: the typed body itself when no `$select` applies
/// (serialized straight to the response bytes), else the members [`project`] keeps of it.
pub(crate) enum Shaped<T> {
    Whole(T),
    Picked(Map<String, Value>),
}

impl<T: serde::Serialize> serde::Serialize for Shaped<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Shaped::Whole(body) => body.serialize(s),
            Shaped::Picked(members) => members.serialize(s),
        }
    }
}

/// `body` as `$select` (canonical names, or none) and `keep` shape it; see [`project`].
pub(crate) fn shape<T: serde::Serialize>(body: T, select: Option<&[&'static str]>, keep: &[&str]) -> Shaped<T> {
    match select {
        None => Shaped::Whole(body),
        Some(_) => Shaped::Picked(project(wire::members(&body), select, keep)),
    }
}

/// Splits a fetched `limit + 1` rows into a page and the keyset position to continue after, if
/// more follow.
pub(crate) fn page<T>(mut rows: Vec<T>, limit: i64, seq: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let after = if more { rows.last().map(seq) } else { None };
    (rows, after)
}
