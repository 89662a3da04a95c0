//! The artifact collections of a session (`siteRestoreArtifacts`, `mailboxRestoreArtifacts`,
//! `driveRestoreArtifacts`): list, add one, get one, and an artifact's restore point.

use axum::http::{header, StatusCode};
use axum::response::Response;
use backstore_domain::{RuleError, Workload};
use backstore_store::ArtifactRecord;
use serde_json::Value;

use super::{entity, keyed_page, list_spec, project, queried_collection, selected, shape, Shaped};
use crate::auth::Access;
use crate::body::{artifact_add, into_object, parse_json, BodyKind};
use crate::error::ApiError;
use crate::names::names;
use crate::wire;
use crate::Ctx;

const COMMON: [&str; 7] =
    ["id", "destinationType", "status", "startDateTime", "completionDateTime", "error", "restorePoint"];

fn properties(w: Workload) -> Vec<&'static str> {
    let own: [&str; 3] = match w {
        Workload::Exchange => ["restoredFolderId", "restoredFolderName", "restoredItemCount"],
        Workload::SharePoint | Workload::OneDrive => ["restoredSiteId", "restoredSiteName", "restoredSiteWebUrl"],
    };
    COMMON.iter().chain(own.iter()).copied().collect()
}

/// A nested `$select` of artifacts of `w`, in canonical names.
pub(super) fn select_of(names_sent: &[String], w: Workload) -> Result<Vec<&'static str>, ApiError> {
    let props = properties(w);
    names_sent
        .iter()
        .map(|n| {
            props.iter().find(|p| p.eq_ignore_ascii_case(n)).copied().ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "Could not find a property named '{n}' on type 'microsoft.graph.{}'.",
                    names(w).artifact_type
                ))
            })
        })
        .collect()
}

/// `$expand=restorePoint` is accepted: the restore point is always inline.
fn check_expand(ctx: &Ctx, w: Workload) -> Result<(), ApiError> {
    match ctx.query.expand.iter().find(|e| !e.eq_ignore_ascii_case("restorePoint") && e.as_str() != "*") {
        Some(e) => Err(ApiError::BadRequest(format!(
            "Could not find a navigation property named '{e}' on type 'microsoft.graph.{}'.",
            names(w).artifact_type
        ))),
        None => Ok(()),
    }
}

fn collection_fragment(session: &str, w: Workload) -> String {
    let n = names(w);
    format!("{}('{}')/{}", n.session_set, session.replace('\'', "''"), n.artifact_nav)
}

fn artifact_json<'a>(ctx: &Ctx, a: &'a ArtifactRecord, w: Workload) -> Result<Shaped<wire::Artifact<'a>>, ApiError> {
    let props = properties(w);
    let select = selected(ctx, &props, names(w).artifact_type)?;
    Ok(shape(wire::Artifact::new(a, w), select.as_deref(), &[]))
}

async fn require_session(ctx: &Ctx, session: &str, w: Workload) -> Result<(), ApiError> {
    match ctx.store().get_session(ctx.tenant(), session, Some(w)).await? {
        Some(_) => Ok(()),
        None => Err(RuleError::SessionNotFound.into()),
    }
}

pub(super) async fn list_artifacts(ctx: &Ctx, session: &str, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreRead)?;
    check_expand(ctx, w)?;
    let listed = match list_spec(ctx) {
        Ok(spec) => ctx.store().list_artifacts(ctx.tenant(), session, &spec).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    // A missing session is a 404 before anything wrong with the query options. Rows of the kind
    // asked for show that the session exists and is of that kind without reading it.
    let page = match listed {
        Ok(page) if page.rows.first().is_some_and(|a| a.record.restore_point.workload == w) => page,
        listed => {
            require_session(ctx, session, w).await?;
            listed?
        }
    };
    let (rows, next) = keyed_page(ctx, page.rows, |a| a.seq);
    let value = rows.iter().map(|a| artifact_json(ctx, a, w)).collect::<Result<Vec<_>, _>>()?;
    Ok(queried_collection(ctx, &collection_fragment(session, w), value, next, page.count))
}

pub(super) async fn create_artifact(ctx: &Ctx, session: &str, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let value = Value::Object(into_object(parse_json(&ctx.body)?, BodyKind::Create)?);
    let add = artifact_add(&value, w, BodyKind::Create)?;
    let a = ctx.store().add_artifact(ctx.writer(), session, w, add).await?;
    let fragment = format!("{}/$entity", collection_fragment(session, w));
    let r = entity(ctx, StatusCode::CREATED, &fragment, wire::members(&wire::Artifact::new(&a, w)));
    let n = names(w);
    let location = format!("{}/{}/{}/{}/{}", ctx.service_url(), n.session_set, session, n.artifact_nav, a.id);
    Ok(super::locate(r, &location, &[header::LOCATION]))
}

/// One artifact of a session of kind `w`; a missing session and a missing artifact are told apart.
async fn load(ctx: &Ctx, session: &str, w: Workload, id: &str) -> Result<ArtifactRecord, ApiError> {
    match ctx.store().get_artifact(ctx.tenant(), session, id).await? {
        Some(a) if a.restore_point.workload == w => Ok(a),
        _ => {
            require_session(ctx, session, w).await?;
            Err(RuleError::ArtifactNotFound.into())
        }
    }
}

pub(super) async fn get_artifact(ctx: &Ctx, session: &str, w: Workload, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreRead)?;
    ctx.query.for_entity()?;
    check_expand(ctx, w)?;
    let a = load(ctx, session, w, id).await?;
    let fragment = format!("{}/$entity", collection_fragment(session, w));
    Ok(entity(ctx, StatusCode::OK, &fragment, artifact_json(ctx, &a, w)?))
}

pub(super) async fn get_artifact_restore_point(
    ctx: &Ctx,
    session: &str,
    w: Workload,
    id: &str,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreRead)?;
    ctx.query.for_entity()?;
    let a = load(ctx, session, w, id).await?;
    let props = ["id", "protectionDateTime", "expirationDateTime", "tags"];
    let select = selected(ctx, &props, "restorePoint")?;
    Ok(entity(
        ctx,
        StatusCode::OK,
        "restorePoints/$entity",
        project(wire::members(&wire::RestorePoint::new(&a.restore_point)), select.as_deref(), &[]),
    ))
}
