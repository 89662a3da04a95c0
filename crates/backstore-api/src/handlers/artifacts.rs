//! The artifact collections of a session (`siteRestoreArtifacts`, `mailboxRestoreArtifacts`,
//! `driveRestoreArtifacts`): list, add one, get one, and an artifact's restore point.

use axum::http::{header, StatusCode};
use axum::response::Response;
use backstore_domain::{RuleError, Workload};
use backstore_store::{ArtifactRecord, ArtifactView};
use serde_json::Value;

use super::{
    entity, keyed_page, list_spec, project, queried_collection, queried_collection_of_json, selected, shape, Shaped,
};
use crate::auth::Access;
use crate::body::{artifact_add, into_object, parse_json, BodyKind};
use crate::error::ApiError;
use crate::names::names;
use crate::path::ApiVersion;
use crate::wire;
use crate::Ctx;

const COMMON: [&str; 7] =
    ["id", "destinationType", "status", "startDateTime", "completionDateTime", "error", "restorePoint"];

const GRANULAR_ITEM: [&str; 10] = [
    "id",
    "browseSessionId",
    "status",
    "webUrl",
    "restoredItemKey",
    "restoredItemPath",
    "restoredItemWebUrl",
    "restorePointDateTime",
    "startDateTime",
    "completionDateTime",
];

/// An artifact collection of a session: its workload, and whether it is the granular one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Coll {
    pub w: Workload,
    pub granular: bool,
}

impl Coll {
    pub(super) fn standard(w: Workload) -> Coll {
        Coll { w, granular: false }
    }

    fn type_name(self) -> &'static str {
        if self.granular {
            crate::body::granular_type(self.w)
        } else {
            names(self.w).artifact_type
        }
    }

    fn nav(self) -> &'static str {
        if self.granular {
            names(self.w).granular_nav
        } else {
            names(self.w).artifact_nav
        }
    }

    /// Whether its artifacts are files and folders chosen in a browse session.
    fn of_items(self) -> bool {
        self.granular && self.w != Workload::Exchange
    }
}

fn properties(c: Coll) -> Vec<&'static str> {
    let own: &[&str] = match (c.w, c.granular) {
        (Workload::Exchange, false) => &["restoredFolderId", "restoredFolderName", "restoredItemCount"],
        (Workload::Exchange, true) => {
            &["restoredFolderId", "restoredFolderName", "restoredItemCount", "searchResponseId"]
        }
        (Workload::SharePoint, true) => return GRANULAR_ITEM.iter().chain(&["siteId"]).copied().collect(),
        (Workload::OneDrive, true) => return GRANULAR_ITEM.iter().chain(&["directoryObjectId"]).copied().collect(),
        (_, false) => &["restoredSiteId", "restoredSiteName", "restoredSiteWebUrl"],
    };
    COMMON.iter().chain(own.iter()).copied().collect()
}

/// A nested `$select` of artifacts of `w`, in canonical names.
pub(super) fn select_of(names_sent: &[String], w: Workload) -> Result<Vec<&'static str>, ApiError> {
    let props = properties(Coll::standard(w));
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
fn check_expand(ctx: &Ctx, c: Coll) -> Result<(), ApiError> {
    let inline = |e: &String| !c.of_items() && (e.eq_ignore_ascii_case("restorePoint") || e.as_str() == "*");
    match ctx.query.expand.iter().find(|e| !inline(e)) {
        Some(e) => Err(ApiError::BadRequest(format!(
            "Could not find a navigation property named '{e}' on type 'microsoft.graph.{}'.",
            c.type_name()
        ))),
        None => Ok(()),
    }
}

fn collection_fragment(session: &str, c: Coll) -> String {
    format!("{}('{}')/{}", names(c.w).session_set, session.replace('\'', "''"), c.nav())
}

/// The properties of collection `c` that `$select` names (`None` for all of them).
fn artifact_select(ctx: &Ctx, c: Coll) -> Result<Option<Vec<&'static str>>, ApiError> {
    selected(ctx, &properties(c), c.type_name())
}

/// An artifact of collection `c` as the wire shows it, with only the `select`ed properties.
fn artifact_json<'a>(
    ctx: &Ctx,
    a: &'a ArtifactRecord,
    c: Coll,
    select: Option<&[&'static str]>,
) -> Shaped<wire::Artifact<'a>> {
    if c.of_items() {
        let item = wire::GranularArtifact::new(a, c.w, ctx.version == ApiVersion::Beta);
        return Shaped::Picked(project(wire::members(&item), select, &[]));
    }
    shape(wire::Artifact::new(a, c.w), select, &[])
}

async fn require_session(ctx: &Ctx, session: &str, w: Workload) -> Result<(), ApiError> {
    match ctx.store().get_session(ctx.tenant(), session, Some(w)).await? {
        Some(_) => Ok(()),
        None => Err(RuleError::SessionNotFound.into()),
    }
}

pub(super) async fn list_artifacts(ctx: &Ctx, session: &str, c: Coll) -> Result<Response, ApiError> {
    if !c.granular {
        return list_standard_artifacts(ctx, session, c).await;
    }
    ctx.principal.require(Access::RestoreWrite)?;
    check_expand(ctx, c)?;
    let listed = match list_spec(ctx) {
        Ok(spec) => {
            ctx.store().list_artifacts((ctx.tenant(), session, c.granular), &spec).await.map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    // A missing session is a 404 before anything wrong with the query options. Rows of the kind
    // asked for show that the session exists and is of that kind without reading it.
    let page = match listed {
        Ok(page) if page.rows.first().is_some_and(|a| a.record.restore_point.workload == c.w) => page,
        listed => {
            require_session(ctx, session, c.w).await?;
            listed?
        }
    };
    let (rows, next) = keyed_page(ctx, page.rows, |a| a.seq);
    let select = artifact_select(ctx, c)?;
    let value: Vec<_> = rows.iter().map(|a| artifact_json(ctx, a, c, select.as_deref())).collect();
    Ok(queried_collection(ctx, &collection_fragment(session, c), value, next, page.count))
}

/// A page of standard artifacts, each written out as its row is read (no record is made of a row:
/// a page of 100 spent a third of its time making them, `docs/performance.md`). The page is read
/// first: its rows carry the tenant's service status for the gate, which comes before anything
/// else is checked (`route`).
async fn list_standard_artifacts(ctx: &Ctx, session: &str, c: Coll) -> Result<Response, ApiError> {
    let select = artifact_select(ctx, c);
    let picked = select.as_ref().ok().and_then(|s| s.as_deref());
    let mut items = Vec::new();
    let listed = match list_spec(ctx) {
        Ok(spec) => {
            let each = |a: &ArtifactView<'_>| {
                let at = items.len();
                if at > 0 {
                    items.push(b',');
                }
                let json = shape(wire::Artifact::of(a, c.w), picked, &[]);
                serde_json::to_writer(&mut items, &json).expect("an artifact serializes");
                (a.seq, a.restore_point.workload, at)
            };
            ctx.store().list_standard_artifacts_with((ctx.tenant(), session), &spec, each).await.map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    let (seen, listed) = match listed {
        Ok((seen, page)) => (seen, Ok(page)),
        Err(e) => (None, Err(e)),
    };
    super::service::require_enabled_seen(ctx, super::service::Gate::Other, seen).await?;
    ctx.principal.require(Access::RestoreRead)?;
    check_expand(ctx, c)?;
    // As in `list_artifacts`: a missing session is a 404 before anything wrong with the options.
    let page = match listed {
        Ok(page) if page.rows.first().is_some_and(|r| r.record.1 == c.w) => page,
        listed => {
            require_session(ctx, session, c.w).await?;
            listed?
        }
    };
    select?;
    // The row read past the page (to tell whether another follows) is not the page's.
    let size = usize::try_from(ctx.query.page_size()).unwrap_or(0);
    if let Some(past) = page.rows.get(size) {
        items.truncate(past.record.2);
    }
    let (_, next) = keyed_page(ctx, page.rows, |r| r.0);
    Ok(queried_collection_of_json(ctx, &collection_fragment(session, c), &items, next, page.count))
}

pub(super) async fn create_artifact(ctx: &Ctx, session: &str, w: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let value = Value::Object(into_object(parse_json(&ctx.body)?, BodyKind::Create)?);
    let add = artifact_add(&value, w, BodyKind::Create)?;
    let a = ctx.store().add_artifact(ctx.writer(), session, w, add).await?;
    let fragment = format!("{}/$entity", collection_fragment(session, Coll::standard(w)));
    let r = entity(ctx, StatusCode::CREATED, &fragment, wire::members(&wire::Artifact::new(&a, w)));
    let n = names(w);
    let location = format!("{}/{}/{}/{}/{}", ctx.service_url(), n.session_set, session, n.artifact_nav, a.id);
    Ok(super::locate(r, &location, &[header::LOCATION]))
}

/// One artifact of a session of kind `w`; a missing session and a missing artifact are told apart.
async fn load(ctx: &Ctx, session: &str, c: Coll, id: &str) -> Result<ArtifactRecord, ApiError> {
    match ctx.store().get_artifact((ctx.tenant(), session, c.granular), id).await? {
        Some(a) if a.restore_point.workload == c.w => Ok(a),
        _ => {
            require_session(ctx, session, c.w).await?;
            Err(RuleError::ArtifactNotFound.into())
        }
    }
}

pub(super) async fn get_artifact(ctx: &Ctx, session: &str, c: Coll, id: &str) -> Result<Response, ApiError> {
    ctx.principal.require(if c.granular { Access::RestoreWrite } else { Access::RestoreRead })?;
    ctx.query.for_entity()?;
    check_expand(ctx, c)?;
    let a = load(ctx, session, c, id).await?;
    let fragment = format!("{}/$entity", collection_fragment(session, c));
    let select = artifact_select(ctx, c)?;
    Ok(entity(ctx, StatusCode::OK, &fragment, artifact_json(ctx, &a, c, select.as_deref())))
}

pub(super) async fn get_artifact_restore_point(
    ctx: &Ctx,
    session: &str,
    c: Coll,
    id: &str,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreRead)?;
    ctx.query.for_entity()?;
    let a = load(ctx, session, c, id).await?;
    let props = ["id", "protectionDateTime", "expirationDateTime", "tags"];
    let select = selected(ctx, &props, "restorePoint")?;
    Ok(entity(
        ctx,
        StatusCode::OK,
        "restorePoints/$entity",
        project(wire::members(&wire::RestorePoint::new(&a.restore_point)), select.as_deref(), &[]),
    ))
}
