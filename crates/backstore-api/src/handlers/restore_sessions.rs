//! The restore-session resources: the typed sets, the polymorphic `restoreSessions`, one session,
//! its delta PATCH, delete and activate.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::echo::{check_session_echo, SessionFacts};
use backstore_domain::{RuleError, Workload};
use backstore_store::{AppliedItem, ArtifactRecord, SessionRecord};
use serde_json::Value;

use super::{entity, keyed_page, list_spec, project, queried_collection, selected, shape, Shaped};
use crate::auth::Access;
use crate::body::{create_body, empty_action_body, patch_body, SESSION_READ_ONLY};
use crate::error::ApiError;
use crate::names::{is_odata_type, names, workload_by, BASE_SESSION_SET, BASE_SESSION_TYPE};
use crate::wire::{self};
use crate::Ctx;

/// Which artifact collections `$expand` asks for on sessions of `scope` (all kinds when `None`),
/// each with the artifact properties its nested `$select` keeps (all when `None`).
type Expansion = Vec<(Workload, Option<Vec<&'static str>>)>;

fn expanded(ctx: &Ctx, scope: Option<Workload>) -> Result<Expansion, ApiError> {
    let mut out: Expansion = Vec::new();
    for item in &ctx.query.expand {
        let (path, nested) = crate::query::expand_select(item)?;
        let (cast, nav) = match path.rsplit_once('/') {
            Some((cast, nav)) => (Some(cast), nav),
            None => (None, path),
        };
        let found: Vec<Workload> = if nav == "*" {
            Workload::ALL.to_vec()
        } else {
            workload_by(nav, |n| n.artifact_nav).into_iter().collect()
        };
        let found: Vec<Workload> = found
            .into_iter()
            .filter(|w| scope.is_none_or(|s| s == *w))
            .filter(|w| cast.is_none_or(|c| is_odata_type(c, names(*w).session_type)))
            .collect();
        if found.is_empty() {
            let type_name = scope.map_or(BASE_SESSION_TYPE, |w| names(w).session_type);
            return Err(ApiError::BadRequest(format!(
                "Could not find a navigation property named '{path}' on type 'microsoft.graph.{type_name}'."
            )));
        }
        for w in found {
            let select = match &nested {
                Some(names_sent) => Some(super::artifacts::select_of(names_sent, w)?),
                None => None,
            };
            out.push((w, select));
        }
    }
    Ok(out)
}

/// An artifact as an expanded item of its session.
fn expanded_artifact(a: &ArtifactRecord, w: Workload, expand: &Expansion) -> Value {
    let select = expand.iter().find(|(x, _)| *x == w).and_then(|(_, s)| s.as_deref());
    Value::Object(project(wire::members(&wire::Artifact::new(a, w)), select, &[]))
}

/// A session as one item or entity of a response, with its artifacts when they were expanded.
fn session_json<'a>(
    ctx: &Ctx,
    s: &'a SessionRecord,
    with_type: bool,
    select: Option<&[&'static str]>,
    artifacts: Option<Vec<Value>>,
) -> Shaped<wire::Session<'a>> {
    let mut body = wire::Session::new(s, &ctx.render, with_type);
    if let Some(items) = artifacts {
        body = body.with_artifacts(s.workload, items);
    }
    shape(body, select, &[names(s.workload).artifact_nav])
}

fn set_fragment(workload: Option<Workload>, base: bool) -> String {
    match (workload, base) {
        (Some(w), false) => names(w).session_set.to_owned(),
        (Some(w), true) => format!("{BASE_SESSION_SET}/microsoft.graph.{}", names(w).session_type),
        (None, _) => BASE_SESSION_SET.to_owned(),
    }
}

pub(super) async fn list_sessions(ctx: &Ctx, workload: Option<Workload>, base: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreRead)?;
    let select = selected(ctx, SESSION_READ_ONLY, workload.map_or(BASE_SESSION_TYPE, |w| names(w).session_type))?;
    let expand = expanded(ctx, workload)?;
    let page = ctx.store().list_sessions(ctx.tenant(), workload, &list_spec(ctx)?).await?;
    let (rows, next) = keyed_page(ctx, page.rows, |s| s.seq);
    let mut artifacts = if expand.is_empty() {
        None
    } else {
        let ids: Vec<String> =
            rows.iter().filter(|s| expand.iter().any(|(w, _)| *w == s.workload)).map(|s| s.id.clone()).collect();
        Some(ctx.store().artifacts_of_sessions(ctx.tenant(), &ids).await?)
    };
    let value: Vec<_> = rows
        .iter()
        .map(|s| {
            let own = artifacts.as_mut().filter(|_| expand.iter().any(|(w, _)| *w == s.workload)).map(|all| {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    std::mem::take(all).into_iter().partition(|a| a.session_id == s.id && a.granular.is_none());
                *all = rest;
                mine.iter().map(|a| expanded_artifact(a, s.workload, &expand)).collect()
            });
            session_json(ctx, s, base, select.as_deref(), own)
        })
        .collect();
    Ok(queried_collection(ctx, &set_fragment(workload, base), value, next, page.count))
}

/// One session, with `@odata.type` when it was reached through the polymorphic set.
fn session_entity(
    ctx: &Ctx,
    status: StatusCode,
    s: &SessionRecord,
    base: bool,
    select: Option<&[&'static str]>,
    artifacts: Option<Vec<Value>>,
) -> Response {
    let fragment = if base { BASE_SESSION_SET } else { names(s.workload).session_set };
    entity(ctx, status, &format!("{fragment}/$entity"), session_json(ctx, s, base, select, artifacts))
}

/// `GET` of one session. Its gate comes first, on the status read with the session (`route`).
pub(super) async fn get_session(ctx: &Ctx, id: &str, kind: Option<Workload>, base: bool) -> Result<Response, ApiError> {
    let (seen, found) = ctx.store().get_session_seeing_status(ctx.tenant(), id, kind).await?;
    super::service::require_enabled_seen(ctx, super::service::Gate::Other, seen).await?;
    ctx.principal.require(Access::RestoreRead)?;
    ctx.query.for_entity()?;
    let select = selected(ctx, SESSION_READ_ONLY, kind.map_or(BASE_SESSION_TYPE, |w| names(w).session_type))?;
    let expand = expanded(ctx, kind)?;
    let s = found.ok_or(ApiError::Rule(RuleError::SessionNotFound))?;
    let artifacts = if expand.iter().any(|(w, _)| *w == s.workload) {
        let all = ctx.store().artifacts_of_sessions(ctx.tenant(), std::slice::from_ref(&s.id)).await?;
        Some(all.iter().filter(|a| a.granular.is_none()).map(|a| expanded_artifact(a, s.workload, &expand)).collect())
    } else {
        None
    };
    Ok(session_entity(ctx, StatusCode::OK, &s, base, select.as_deref(), artifacts))
}

pub(super) async fn create_session(ctx: &Ctx, workload: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let mut adds = create_body(&ctx.body, workload, ctx.store().limits())?;
    super::granular::resolve(ctx, workload, &mut adds).await?;
    let s = ctx.store().create_session(ctx.writer(), workload, adds).await?;
    let r = session_entity(ctx, StatusCode::CREATED, &s, false, None, None);
    let location = format!("{}/{}/{}", ctx.service_url(), names(workload).session_set, s.id);
    Ok(super::locate(r, &location, &[header::LOCATION]))
}

pub(super) async fn update_session(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let body = patch_body(&ctx.body, ctx.store().limits())?;
    let check = |s: &SessionRecord| -> Result<(), RuleError> {
        let n = names(s.workload);
        if let Some(t) = &body.odata_type {
            let ok =
                t.as_str().is_some_and(|t| is_odata_type(t, n.session_type) || is_odata_type(t, BASE_SESSION_TYPE));
            if !ok {
                return Err(RuleError::InvalidPatch(format!(
                    "The @odata.type {t} does not match the session's type '#microsoft.graph.{}'.",
                    n.session_type
                )));
            }
        }
        if let Some((w, _)) = &body.delta {
            if *w != s.workload {
                return Err(RuleError::InvalidPatch(format!(
                    "'{}@delta' is not a navigation property of 'microsoft.graph.{}'.",
                    names(*w).artifact_nav,
                    n.session_type
                )));
            }
        }
        let facts = SessionFacts {
            id: &s.id,
            derived: &s.derived,
            job_type: s.job_type,
            stamps: &s.stamps,
            completed_at: s.completed_at,
            error: s.error.as_ref(),
        };
        check_session_echo(&facts, &body.read_only)?;
        Ok(())
    };
    let mut items = body.delta.as_ref().map(|(_, items)| items.clone()).unwrap_or_default();
    let total = items.len();
    let refused = match body.delta.as_ref().filter(|_| body.granular) {
        Some((w, _)) => super::granular::resolve_delta(ctx, *w, &mut items).await?,
        None => Vec::new(),
    };
    let mut outcome = ctx.store().apply_delta(ctx.writer(), id, workload, items, &check).await?;
    // The store numbered what it was given; the echo numbers the request's elements.
    let positions: Vec<usize> = (0..total).filter(|i| !refused.iter().any(|r| r.index == *i)).collect();
    for item in &mut outcome.items {
        if let AppliedItem::AddFailed { index, .. } | AppliedItem::RemoveFailed { index, .. } = item {
            *index = positions[*index];
        }
    }
    let s = &outcome.session;
    let n = names(s.workload);
    let nav = if body.granular { n.granular_nav } else { n.artifact_nav };
    let (mut applied, mut refused) = (outcome.items.iter(), refused.iter().peekable());
    let echoes = (0..total)
        .filter_map(|i| match refused.next_if(|r| r.index == i) {
            Some(r) => Some(wire::DeltaEcho::refused(&r.add, r.index, r.status.as_u16(), r.code, &r.message)),
            None => applied.next().map(wire::DeltaEcho::of),
        })
        .collect();
    let echo = wire::SessionDelta { id: &s.id, items: wire::Named::new(format!("{nav}@delta"), echoes) };
    Ok(entity(ctx, StatusCode::OK, &format!("{}/$entity", n.session_set), wire::members(&echo)))
}

pub(super) async fn delete_session(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    ctx.store().delete_session(ctx.tenant(), id, workload).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn activate_session(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    empty_action_body(&ctx.body, "activate")?;
    let s = ctx.store().activate_session(ctx.writer(), id, workload).await?;
    Ok(session_entity(ctx, StatusCode::OK, &s, true, None, None))
}
