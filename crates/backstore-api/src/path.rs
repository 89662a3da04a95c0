//! Graph paths → [`Target`]. Segments match case-insensitively, keys come as `/{id}`, `('{id}')` or
//! `({id})`, bound actions also with the `microsoft.graph.` prefix (`docs/api-conventions.md`,
//! "Addressing").

use backstore_domain::Workload;
use percent_encoding::percent_decode_str;

use crate::error::ApiError;
use crate::names::{
    is_odata_type, names, workload_by, Names, BASE_POLICY_SET, BASE_SESSION_SET, BASE_UNIT_SET, RESTORE_POINTS,
};
pub use crate::target::{ApiVersion, CountOf, Target};

mod browse;
mod exclusions;
mod reports;
use browse::{browse_sessions, browse_set};
use exclusions::{exclusion_jobs, exclusion_jobs_of, exclusion_set, exclusions};
use reports::reports;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Name(String),
    Key(String),
}

fn not_found(seg: &str) -> ApiError {
    ApiError::ResourceNotFound(format!("Resource not found for the segment '{seg}'."))
}

fn unimplemented(what: &str) -> Target {
    Target::Unimplemented(format!(
        "'{what}' is part of the Microsoft Graph backup storage API but is not implemented by backstore yet."
    ))
}

/// `name('key')` / `name(key)` / `('key')` → name and key; `''` inside quotes is one `'`.
fn split_key(seg: &str) -> Result<(Option<&str>, Option<String>), ApiError> {
    let Some(open) = seg.find('(') else {
        return Ok((Some(seg), None));
    };
    let inner = seg[open + 1..].strip_suffix(')').ok_or_else(|| not_found(seg))?;
    let key = match inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(quoted) => quoted.replace("''", "'"),
        None => inner.to_owned(),
    };
    if key.is_empty() {
        return Err(ApiError::BadRequest(format!("The key in segment '{seg}' is empty.")));
    }
    Ok(((open > 0).then(|| &seg[..open]), Some(key)))
}

fn segments(path: &str) -> Result<Vec<Seg>, ApiError> {
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let seg = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| ApiError::BadRequest(format!("The path segment '{raw}' is not valid UTF-8.")))?;
        let (name, key) = split_key(&seg)?;
        if let Some(name) = name {
            out.push(Seg::Name(name.to_owned()));
        }
        if let Some(key) = key {
            out.push(Seg::Key(key));
        }
    }
    Ok(out)
}

fn is(seg: &Seg, name: &str) -> bool {
    matches!(seg, Seg::Name(n) if n.eq_ignore_ascii_case(name))
}

fn text(seg: &Seg) -> &str {
    match seg {
        Seg::Name(s) | Seg::Key(s) => s,
    }
}

/// A type-cast segment naming a session type.
/// A session's artifact collection named by `seg`: its workload, and whether it is the granular one.
fn artifact_nav(seg: &Seg) -> Option<(Workload, bool)> {
    if !matches!(seg, Seg::Name(_)) {
        return None;
    }
    let standard = workload_by(text(seg), |n| n.artifact_nav).map(|w| (w, false));
    standard.or_else(|| workload_by(text(seg), |n| n.granular_nav).map(|w| (w, true)))
}

fn session_cast(seg: &Seg) -> Option<Workload> {
    match seg {
        Seg::Name(n) => Workload::ALL.into_iter().find(|w| is_odata_type(n, names(*w).session_type)),
        Seg::Key(_) => None,
    }
}

/// The admin paths the API serves itself (a point's content: `/admin/browseSessions/{id}/items/
/// {key}/content`, `/admin/restorePoints/{id}/items[/{item}/content]`, `/admin/restorePointStats`),
/// or `None` for any other path.
pub fn admin(path: &str) -> Option<Result<Target, ApiError>> {
    let rest = path.strip_prefix("/admin/")?;
    let decoded: Result<Vec<String>, _> =
        rest.split('/').map(|s| percent_decode_str(s).decode_utf8().map(|d| d.into_owned())).collect();
    let Ok(parts) = decoded else {
        return Some(Err(ApiError::BadRequest(format!("The path '{path}' is not valid UTF-8."))));
    };
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let owned = |s: &str| s.to_owned();
    let target = match parts.as_slice() {
        ["browseSessions", id, "items", key, "content"] if !id.is_empty() && !key.is_empty() => {
            Target::BrowseItemContent { id: owned(id), key: owned(key) }
        }
        ["restorePoints", id, "items"] if !id.is_empty() => Target::PointItems { id: owned(id) },
        ["restorePoints", id, "items", item, "content"] if !id.is_empty() && !item.is_empty() => {
            Target::PointItemContent { id: owned(id), item: owned(item) }
        }
        ["restorePointStats"] => Target::PointStats,
        ["browseSessions", ..] | ["restorePoints", ..] => return Some(Err(not_found(rest))),
        _ => return None,
    };
    Some(Ok(target))
}

/// Parses a request path (without the query string).
pub fn parse(path: &str) -> Result<(ApiVersion, Target), ApiError> {
    // Graph's file paths have their own grammar (`:` path addressing, any character in names).
    let lower = path.to_ascii_lowercase();
    for (prefix, version) in [("/v1.0", ApiVersion::V1), ("/beta", ApiVersion::Beta)] {
        if lower.starts_with(&format!("{prefix}/")) {
            if let Some(mail) = crate::mail_path::parse(&path[prefix.len()..]) {
                return Ok((version, Target::Mail(mail?)));
            }
            if let Some(drive) = crate::drive_path::parse(&path[prefix.len()..]) {
                return Ok((version, Target::Drive(drive?)));
            }
        }
    }
    let segs = segments(path)?;
    let mut it = segs.iter().peekable();
    let version = match it.next() {
        Some(s) if is(s, "v1.0") => ApiVersion::V1,
        Some(s) if is(s, "beta") => ApiVersion::Beta,
        Some(s) => return Err(not_found(text(s))),
        None => return Err(not_found("/")),
    };
    match it.next() {
        Some(s) if is(s, "$metadata") => return Ok((version, unimplemented("$metadata"))),
        Some(s) if is(s, "solutions") => {}
        Some(s) => return Err(not_found(text(s))),
        None => return Err(not_found(version.as_str())),
    }
    match it.next() {
        Some(s) if is(s, "backupRestore") => {}
        Some(s) => return Err(not_found(text(s))),
        None => return Ok((version, unimplemented("solutions"))),
    }
    let Some(set) = it.next() else {
        return Ok((version, Target::Root));
    };
    if is(set, "enable") || is(set, "microsoft.graph.enable") {
        return end(version, Target::Enable, it);
    }
    if is(set, BASE_UNIT_SET) || (workload_by(text(set), |n| n.unit_set).is_some() && matches!(set, Seg::Name(_))) {
        return units(version, set, it);
    }
    if is(set, RESTORE_POINTS) {
        return restore_points(version, it);
    }
    if let Some(w) = workload_by(text(set), |n| n.unit_jobs_nav).filter(|_| matches!(set, Seg::Name(_))) {
        return unit_jobs(version, w, None, it);
    }
    if let Some(w) = workload_by(text(set), |n| n.rules_nav).filter(|_| matches!(set, Seg::Name(_))) {
        return rules(version, w, None, it);
    }
    if is(set, "serviceApps") {
        return service_apps(version, it);
    }
    if let Some((workload, base)) = browse_set(set) {
        return browse_sessions(version, workload, base, it);
    }
    if is(set, "reports") {
        return reports(version, it);
    }
    if is(set, "activityLogs") && version == ApiVersion::Beta {
        return match it.next() {
            Some(s) if is(s, "$count") => end(version, Target::Count(CountOf::ActivityLogs), it),
            Some(s) => Err(not_found(text(s))),
            None => Ok((version, Target::ActivityLogs)),
        };
    }
    if is(set, "emailNotificationsSetting") {
        return end(version, Target::NotificationSettings, it);
    }
    if let Some(workload) = exclusion_set(set) {
        return exclusions(version, workload, None, it);
    }
    if let Some(w) = exclusion_jobs_of(set) {
        return exclusion_jobs(version, w, None, it);
    }
    if is(set, BASE_POLICY_SET) || (workload_by(text(set), |n| n.policy_set).is_some() && matches!(set, Seg::Name(_))) {
        return policies(version, set, it);
    }
    let (mut workload, base) = if is(set, BASE_SESSION_SET) {
        (None, true)
    } else if let Some(w) = workload_by(text(set), |n| n.session_set).filter(|_| matches!(set, Seg::Name(_))) {
        (Some(w), false)
    } else {
        return Err(not_found(text(set)));
    };
    if base {
        if let Some(w) = it.peek().and_then(|s| session_cast(s)) {
            workload = Some(w);
            it.next();
        }
    }
    let Some(key) = it.next() else {
        return Ok((version, Target::Sessions { workload, base }));
    };
    if is(key, "$count") {
        return end(version, Target::Count(CountOf::Sessions { workload }), it);
    }
    let id = text(key).to_owned();
    let Some(mut next) = it.next() else {
        return Ok((version, Target::Session { id, workload, base }));
    };
    if workload.is_none() {
        if let Some(w) = session_cast(next) {
            workload = Some(w);
            match it.next() {
                Some(s) => next = s,
                None => return Ok((version, Target::Session { id, workload, base })),
            }
        }
    }
    let target = if is(next, "activate") || is(next, "microsoft.graph.activate") {
        Target::Activate { id, workload }
    } else if let Some((nav, granular)) = artifact_nav(next) {
        if workload.is_some_and(|w| w != nav) {
            return Err(not_found(text(next)));
        }
        match it.next() {
            None => Target::Artifacts { session: id, workload: nav, granular },
            Some(count) if is(count, "$count") => {
                Target::Count(CountOf::Artifacts { session: id, workload: nav, granular })
            }
            Some(artifact) => {
                let artifact_id = text(artifact).to_owned();
                match it.next() {
                    None => Target::Artifact { session: id, workload: nav, granular, id: artifact_id },
                    // A granular site or OneDrive artifact names no restore point of its own.
                    Some(s) if is(s, "restorePoint") && (!granular || nav == Workload::Exchange) => {
                        Target::ArtifactRestorePoint { session: id, workload: nav, granular, id: artifact_id }
                    }
                    Some(s) => return Err(not_found(text(s))),
                }
            }
        }
    } else if let Some(nav) = workload_by(text(next), |n| n.bulk_nav).filter(|_| matches!(next, Seg::Name(_))) {
        if workload.is_some_and(|w| w != nav) {
            return Err(not_found(text(next)));
        }
        match it.next() {
            None => Target::BulkRequests { session: id, workload: nav },
            Some(count) if is(count, "$count") => Target::Count(CountOf::BulkRequests { session: id, workload: nav }),
            Some(request) => Target::BulkRequest { session: id, workload: nav, id: text(request).to_owned() },
        }
    } else {
        return Err(not_found(text(next)));
    };
    if let Some(extra) = it.next() {
        return Err(not_found(text(extra)));
    }
    Ok((version, target))
}

/// A type-cast segment naming a protection unit type.
fn unit_cast(seg: &Seg) -> Option<Workload> {
    match seg {
        Seg::Name(n) => Workload::ALL.into_iter().find(|w| is_odata_type(n, names(*w).unit_type)),
        Seg::Key(_) => None,
    }
}

fn end<'a>(
    version: ApiVersion,
    target: Target,
    mut rest: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    match rest.next() {
        Some(extra) => Err(not_found(text(extra))),
        None => Ok((version, target)),
    }
}

/// `protectionUnits[/cast][/{id}[/cast][/offboard|/cancelOffboard]]` and the typed unit sets.
fn units<'a>(
    version: ApiVersion,
    set: &Seg,
    it: std::iter::Peekable<impl Iterator<Item = &'a Seg>>,
) -> Result<(ApiVersion, Target), ApiError> {
    let mut it = it;
    let base = is(set, BASE_UNIT_SET);
    let mut workload = if base { None } else { workload_by(text(set), |n| n.unit_set) };
    if base {
        if let Some(w) = it.peek().and_then(|s| unit_cast(s)) {
            workload = Some(w);
            it.next();
        }
    }
    let Some(key) = it.next() else {
        return Ok((version, Target::Units { workload, base }));
    };
    if is(key, "$count") {
        return end(version, Target::Count(CountOf::Units { workload }), it);
    }
    let id = text(key).to_owned();
    match it.next() {
        None => Ok((version, Target::Unit { id, workload, base })),
        Some(s) if workload.is_none() && unit_cast(s).is_some() => {
            end(version, Target::Unit { id, workload: unit_cast(s), base }, it)
        }
        Some(s) if is(s, "offboard") || is(s, "microsoft.graph.offboard") => {
            end(version, Target::Offboard { id, cancel: false }, it)
        }
        Some(s) if is(s, "cancelOffboard") || is(s, "microsoft.graph.cancelOffboard") => {
            end(version, Target::Offboard { id, cancel: true }, it)
        }
        Some(s) => Err(not_found(text(s))),
    }
}

/// A type-cast segment naming a protection policy type.
fn policy_cast(seg: &Seg) -> Option<Workload> {
    match seg {
        Seg::Name(n) => Workload::ALL.into_iter().find(|w| is_odata_type(n, names(*w).policy_type)),
        Seg::Key(_) => None,
    }
}

/// `protectionPolicies[/cast][/{id}[/cast][/activate|/deactivate|/{units}[/{id}]]]` and the typed sets.
fn policies<'a>(
    version: ApiVersion,
    set: &Seg,
    it: std::iter::Peekable<impl Iterator<Item = &'a Seg>>,
) -> Result<(ApiVersion, Target), ApiError> {
    let mut it = it;
    let base = is(set, BASE_POLICY_SET);
    let mut workload = if base { None } else { workload_by(text(set), |n| n.policy_set) };
    if base {
        if let Some(w) = it.peek().and_then(|s| policy_cast(s)) {
            workload = Some(w);
            it.next();
        }
    }
    let Some(key) = it.next() else {
        return Ok((version, Target::Policies { workload, base }));
    };
    if is(key, "$count") {
        return end(version, Target::Count(CountOf::Policies { workload }), it);
    }
    let id = text(key).to_owned();
    let mut next = it.next();
    if workload.is_none() {
        if let Some(w) = next.and_then(policy_cast) {
            workload = Some(w);
            next = it.next();
        }
    }
    let Some(next) = next else {
        return Ok((version, Target::Policy { id, workload, base }));
    };
    for (action, enable) in [("activate", true), ("deactivate", false)] {
        if is(next, action) || is(next, &format!("microsoft.graph.{action}")) {
            return end(version, Target::PolicyAction { id, workload, enable }, it);
        }
    }
    let nav_of = |pick: fn(&Names) -> &'static str| {
        workload_by(text(next), pick).filter(|w| matches!(next, Seg::Name(_)) && workload.is_none_or(|x| x == *w))
    };
    if let Some(w) = nav_of(|n| n.unit_set) {
        return match it.next() {
            None => Ok((version, Target::PolicyUnits { policy: id, workload: w })),
            Some(count) if is(count, "$count") => {
                end(version, Target::Count(CountOf::PolicyUnits { policy: id, workload: w }), it)
            }
            Some(unit) => end(version, Target::PolicyUnit { policy: id, workload: w, id: text(unit).to_owned() }, it),
        };
    }
    if let Some(w) = nav_of(|n| n.rules_nav) {
        return rules(version, w, Some(id), it);
    }
    if let Some(w) = nav_of(|n| n.unit_jobs_nav) {
        return unit_jobs(version, w, Some(id), it);
    }
    if let Some(w) = nav_of(|n| n.exclusion_set) {
        return exclusions(version, Some(w), Some(id), it);
    }
    if let Some(w) = exclusion_jobs_of(next).filter(|w| workload.is_none_or(|x| x == *w)) {
        return exclusion_jobs(version, w, Some(id), it);
    }
    Err(not_found(text(next)))
}

/// `…ProtectionUnitsBulkAdditionJobs[/{id}]`
fn unit_jobs<'a>(
    version: ApiVersion,
    workload: Workload,
    policy: Option<String>,
    mut it: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    match it.next() {
        None => Ok((version, Target::UnitJobs { workload, policy })),
        Some(s) if is(s, "$count") => end(version, Target::Count(CountOf::UnitJobs { workload, policy }), it),
        Some(key) => end(version, Target::UnitJob { workload, policy, id: text(key).to_owned() }, it),
    }
}

/// `{x}InclusionRules[/{id}[/run|/deleteAndUnprotect]]`
fn rules<'a>(
    version: ApiVersion,
    workload: Workload,
    policy: Option<String>,
    mut it: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    let Some(key) = it.next() else {
        return Ok((version, Target::Rules { workload, policy }));
    };
    if is(key, "$count") {
        return end(version, Target::Count(CountOf::Rules { workload, policy }), it);
    }
    let id = text(key).to_owned();
    match it.next() {
        None => Ok((version, Target::Rule { workload, policy, id })),
        Some(s) if is(s, "run") || is(s, "microsoft.graph.run") => {
            end(version, Target::RuleAction { workload, policy, id, unprotect: false }, it)
        }
        Some(s) if is(s, "deleteAndUnprotect") || is(s, "microsoft.graph.deleteAndUnprotect") => {
            end(version, Target::RuleAction { workload, policy, id, unprotect: true }, it)
        }
        Some(s) => Err(not_found(text(s))),
    }
}

/// `serviceApps[/{id}[/activate|/deactivate]]`
fn service_apps<'a>(
    version: ApiVersion,
    mut it: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    let Some(key) = it.next() else {
        return Ok((version, Target::ServiceApps));
    };
    if is(key, "$count") {
        return end(version, Target::Count(CountOf::ServiceApps), it);
    }
    let id = text(key).to_owned();
    match it.next() {
        None => Ok((version, Target::ServiceApp { id })),
        Some(s) if is(s, "activate") || is(s, "microsoft.graph.activate") => {
            end(version, Target::ServiceAppAction { id, activate: true }, it)
        }
        Some(s) if is(s, "deactivate") || is(s, "microsoft.graph.deactivate") => {
            end(version, Target::ServiceAppAction { id, activate: false }, it)
        }
        Some(s) => Err(not_found(text(s))),
    }
}

/// `restorePoints`, `restorePoints/search`, `restorePoints/{id}[/protectionUnit]`.
fn restore_points<'a>(
    version: ApiVersion,
    mut it: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    let Some(next) = it.next() else {
        return Ok((version, Target::RestorePoints));
    };
    if is(next, "search") || is(next, "microsoft.graph.search") {
        return end(version, Target::RestorePointSearch, it);
    }
    if is(next, "$count") {
        return end(version, Target::Count(CountOf::RestorePoints), it);
    }
    let id = text(next).to_owned();
    match it.next() {
        None => Ok((version, Target::RestorePoint { id })),
        Some(s) if is(s, "protectionUnit") => end(version, Target::RestorePointUnit { id }, it),
        Some(s) => Err(not_found(text(s))),
    }
}

#[cfg(test)]
mod tests;
