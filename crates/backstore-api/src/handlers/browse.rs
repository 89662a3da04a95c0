//! Browse sessions (`browseSessions`, `sharePointBrowseSessions`, `oneDriveForBusinessBrowseSessions`)
//! and their `browse` action: a fast-restore point of a site or OneDrive opened for browsing, read
//! from the point's own manifests in the content store.
//!
//! Item keys are comma-separated GUIDs as the service's are: the site (`{site},{web}`, from the
//! site id), its document library (`…,{library}`, derived from the drive), and a folder or file
//! (`…,{item id}`). A key whose site or library is not the session's is refused, so keys of other
//! sessions' sites, or of other tenants, reach nothing.

use axum::http::{header, StatusCode};
use axum::response::Response;
use backstore_content::{BlobId, Entry, EntryKind};
use backstore_domain::restore::Resource;
use backstore_domain::{ErrorInfo, RestorePointTags, Workload};
use backstore_store::sql::browse_sessions::{BrowseSessionRecord, BROWSE_SESSION_LIFETIME};
use backstore_store::Bind;
use serde_json::{json, Map, Value};

use super::{entity, locate};
use crate::auth::Access;
use crate::error::ApiError;
use crate::path::ApiVersion;
use crate::wire::DateTime;
use crate::Ctx;

/// Items per page of a `browse`.
const BROWSE_PAGE: usize = 100;

fn set_of(w: Workload) -> &'static str {
    match w {
        Workload::OneDrive => "oneDriveForBusinessBrowseSessions",
        _ => "sharePointBrowseSessions",
    }
}

fn type_of(w: Workload) -> &'static str {
    match w {
        Workload::OneDrive => "#microsoft.graph.oneDriveForBusinessBrowseSession",
        _ => "#microsoft.graph.sharePointBrowseSession",
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::Refused(StatusCode::NOT_FOUND, "BrowseSessionNotFound", format!("Browse session '{id}' was not found."))
}

pub(super) fn bad_key(message: String) -> ApiError {
    ApiError::Refused(StatusCode::BAD_REQUEST, "InvalidBrowseLocationItemKey", message)
}

fn session_json(s: &BrowseSessionRecord) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("@odata.type".into(), json!(type_of(s.workload)));
    m.insert("id".into(), json!(s.id));
    m.insert("backupSizeInBytes".into(), json!(s.backup_size.to_string()));
    m.insert("createdDateTime".into(), json!(DateTime(s.created_at)));
    m.insert("error".into(), json!(crate::wire::PublicError::of(s.error.as_ref())));
    m.insert("expirationDateTime".into(), json!(DateTime(s.expiration_at)));
    m.insert("restorePointDateTime".into(), json!(DateTime(s.restore_point_at)));
    m.insert("restorePointId".into(), json!(s.restore_point_id));
    m.insert("status".into(), json!(s.status));
    match s.workload {
        Workload::OneDrive => m.insert("directoryObjectId".into(), json!(s.resource.directory_object_id)),
        _ => m.insert("siteId".into(), json!(s.resource.site_id)),
    };
    m
}

pub(super) async fn load(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<BrowseSessionRecord, ApiError> {
    let now = ctx.state.inner.clock.now();
    ctx.store().browse_session(ctx.tenant(), id, workload, now).await?.ok_or_else(|| not_found(id))
}

pub(super) async fn list_sessions(ctx: &Ctx, workload: Option<Workload>, base: bool) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let limit = ctx.query.page_size();
    let now = ctx.state.inner.clock.now();
    let count = super::inline_count(ctx, crate::path::CountOf::BrowseSessions { workload }).await?;
    let rows = ctx.store().list_browse_sessions(ctx.tenant(), workload, ctx.query.after, limit + 1, now).await?;
    let (rows, more_after) = super::page(rows, limit, |s| s.seq);
    let value = rows.iter().map(|s| Value::Object(session_json(s))).collect();
    let set = match (workload, base) {
        (Some(w), false) => set_of(w),
        _ => "browseSessions",
    };
    Ok(super::counted_collection(ctx, set, value, more_after, count))
}

pub(super) async fn get_session(ctx: &Ctx, id: &str, workload: Option<Workload>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    ctx.query.for_entity()?;
    let s = load(ctx, id, workload).await?;
    Ok(entity(ctx, StatusCode::OK, &format!("{}/$entity", set_of(s.workload)), session_json(&s)))
}

/// `POST …BrowseSessions {"restorePointId"}`: the point must be a fast-restore point of a unit of
/// the set's kind. A point that holds no content (a unit protected without it) makes a `failed`
/// session, as a point the service cannot open does.
pub(super) async fn create_session(ctx: &Ctx, workload: Workload) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let body: Value = if ctx.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&ctx.body).map_err(|e| ApiError::BadRequest(format!("The body is not JSON: {e}")))?
    };
    let invalid = |why: &str| ApiError::Refused(StatusCode::BAD_REQUEST, "InvalidRestorePoint", why.to_owned());
    let point_id = body["restorePointId"]
        .as_str()
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| invalid("Invalid restore point provided: restorePointId is required."))?;
    let store = ctx.store();
    let now = ctx.state.inner.clock.now();
    let point = store
        .get_restore_point(ctx.tenant(), point_id)
        .await?
        .filter(|p| p.expiration_at > now)
        .ok_or_else(|| invalid(&format!("Restore point '{point_id}' was not found.")))?;
    if point.workload != workload {
        return Err(invalid(&format!(
            "Restore point '{point_id}' is not of a {} protection unit.",
            workload.unit_kind()
        )));
    }
    if point.tags != RestorePointTags::FastRestore {
        return Err(invalid(&format!(
            "Restore point '{point_id}' is not a fastRestore point; only those can be browsed."
        )));
    }
    let unit = store
        .get_unit(ctx.tenant(), &point.protection_unit_id)
        .await?
        .ok_or_else(|| ApiError::ProtectionUnitNotFound(point.protection_unit_id.clone()))?;
    let root = store.restore_point_root(ctx.tenant(), point_id).await?;
    let content = ctx.state.inner.content.as_ref();
    let (status, error, size) = match (root, content) {
        (Some(root), Some(content)) => {
            let size = content.read_tree(ctx.tenant(), &root).await?.entries.iter().map(|e| e.size).sum::<u64>();
            ("created", None, size)
        }
        _ => (
            "failed",
            Some(ErrorInfo {
                code: "RestorePointNotBrowsable".into(),
                message: "The restore point holds no content to browse.".into(),
            }),
            0,
        ),
    };
    let record = BrowseSessionRecord {
        seq: 0,
        id: uuid::Uuid::new_v4().to_string(),
        workload,
        restore_point_id: point.id.clone(),
        protection_unit_id: point.protection_unit_id.clone(),
        resource: unit.unit.info.resource.clone(),
        status: status.into(),
        error,
        content_root: root.filter(|_| status == "created"),
        backup_size: size,
        restore_point_at: point.protection_at,
        created_at: now,
        expiration_at: now + BROWSE_SESSION_LIFETIME,
    };
    let s = store.create_browse_session(ctx.tenant(), &record).await?;
    let r = entity(ctx, StatusCode::CREATED, &format!("{}/$entity", set_of(workload)), session_json(&s));
    let url = format!("{}/{}/{}", ctx.service_url(), set_of(workload), s.id);
    Ok(locate(r, &url, &[header::LOCATION, header::CONTENT_LOCATION]))
}

/// The GUIDs of the session's site, and of its document library.
pub(crate) fn site_guids(resource: &Resource) -> (String, String) {
    let id = resource.site_id.as_deref().or(resource.directory_object_id.as_deref()).unwrap_or_default();
    let parts: Vec<&str> = id.split(',').collect();
    match parts.as_slice() {
        [_, site, web] => (site.to_string(), web.to_string()),
        _ => (
            backstore_domain::policy::stable_guid(&format!("site\u{1f}{id}")),
            backstore_domain::policy::stable_guid(&format!("web\u{1f}{id}")),
        ),
    }
}

/// The key of the session's document library.
pub(crate) fn library_key(s: &BrowseSessionRecord) -> String {
    let (site, web) = site_guids(&s.resource);
    format!("{site},{web},{}", backstore_domain::restore::library_guid(&site, &s.protection_unit_id))
}

/// What a browse location key names in the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Site,
    Library,
    Item(String),
}

/// Reads a key of the session: its site, its library, or an item below it (by id).
pub(crate) fn location_of(s: &BrowseSessionRecord, key: &str) -> Result<Location, ApiError> {
    let (site, web) = site_guids(&s.resource);
    let library = library_key(s);
    let parts: Vec<&str> = key.split(',').map(str::trim).collect();
    let foreign = || bad_key(format!("The item key '{key}' is not an item of browse session '{}'.", s.id));
    match parts.as_slice() {
        [a, b] if a.eq_ignore_ascii_case(&site) && b.eq_ignore_ascii_case(&web) => Ok(Location::Site),
        [_, _] => Err(foreign()),
        [_, _, _] if key.eq_ignore_ascii_case(&library) => Ok(Location::Library),
        [a, b, c, item] if format!("{a},{b},{c}").eq_ignore_ascii_case(&library) && !item.is_empty() => {
            Ok(Location::Item(item.to_string()))
        }
        [_, _, _] | [_, _, _, _] => Err(foreign()),
        _ => Err(bad_key(format!("'{key}' is not an item key: it is 2 to 4 comma-separated ids."))),
    }
}

/// An item of the point's tree found by id: its entry, its path below the library's root.
pub(crate) struct Found {
    pub entry: Entry,
    pub path: String,
}

/// Finds item `id` in the tree below `root`, breadth first.
pub(crate) async fn find_item(ctx: &Ctx, root: BlobId, id: &str) -> Result<Option<Found>, ApiError> {
    Ok(find_items(ctx, root, &[id]).await?.remove(id))
}

/// Finds the items of `ids` in the tree below `root` in one breadth-first walk, which stops once
/// all are found; those not there are missing from the answer.
pub(crate) async fn find_items(
    ctx: &Ctx,
    root: BlobId,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Found>, ApiError> {
    let content =
        ctx.state.inner.content.as_ref().ok_or_else(|| ApiError::NotImplemented("No content store.".into()))?;
    let mut found = std::collections::HashMap::new();
    let mut queue = std::collections::VecDeque::from([(root, String::new())]);
    while let Some((tree, path)) = queue.pop_front() {
        if found.len() == ids.len() {
            break;
        }
        for e in content.read_tree(ctx.tenant(), &tree).await?.entries {
            let at = format!("{path}/{}", e.name);
            if let Some(sub) = e.tree {
                queue.push_back((sub, at.clone()));
            }
            if ids.contains(&e.id.as_str()) {
                found.insert(e.id.clone(), Found { entry: e, path: at });
            }
        }
    }
    Ok(found)
}

/// A `browse` request: where, what kind it is, the name filter, the order, and the offset.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct BrowseRequest {
    key: Option<String>,
    kind: Option<String>,
    contains: Option<String>,
    order: String,
}

/// `(name -contains 'text')`, with or without the parentheses; `''` is a quote in the text.
fn parse_filter(filter: &str) -> Result<String, ApiError> {
    let bad = |at: usize, what: &str| {
        ApiError::BadRequest(format!(
            "The filter '{filter}' is not valid at position {at}: {what}. Browse filters are of the form (name -contains 'text')."
        ))
    };
    let chars: Vec<char> = filter.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    let word = |i: &mut usize, w: &str| -> bool {
        let end = *i + w.chars().count();
        if end <= chars.len() && chars[*i..end].iter().collect::<String>().eq_ignore_ascii_case(w) {
            *i = end;
            true
        } else {
            false
        }
    };
    skip_ws(&mut i);
    let open = i < chars.len() && chars[i] == '(';
    if open {
        i += 1;
        skip_ws(&mut i);
    }
    if !word(&mut i, "name") {
        return Err(bad(i, "expected 'name', the only property a browse filters on"));
    }
    skip_ws(&mut i);
    if !word(&mut i, "-contains") {
        return Err(bad(i, "expected '-contains', the only operator a browse filters with"));
    }
    skip_ws(&mut i);
    if i >= chars.len() || chars[i] != '\'' {
        return Err(bad(i, "expected a quoted text"));
    }
    i += 1;
    let mut text = String::new();
    loop {
        match chars.get(i) {
            None => return Err(bad(i, "the quoted text does not end")),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => {
                i += 1;
                break;
            }
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
    skip_ws(&mut i);
    if open {
        if chars.get(i) != Some(&')') {
            return Err(bad(i, "expected ')'"));
        }
        i += 1;
        skip_ws(&mut i);
    }
    if i < chars.len() {
        return Err(bad(i, "unexpected text after the condition"));
    }
    Ok(text)
}

fn request_of(body: &[u8]) -> Result<BrowseRequest, ApiError> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("The body is not JSON: {e}")))?
    };
    let text = |k: &str| -> Result<Option<String>, ApiError> {
        match &v[k] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(ApiError::BadRequest(format!("'{k}' is a string, not {other}."))),
        }
    };
    let kind = text("browseResourceType")?;
    if let Some(k) = &kind {
        if !["none", "site", "documentLibrary", "folder"].iter().any(|x| x.eq_ignore_ascii_case(k)) {
            return Err(ApiError::BadRequest(format!(
                "'{k}' is not a browseResourceType: none, site, documentLibrary or folder."
            )));
        }
    }
    let order = text("orderBy")?.unwrap_or_else(|| "pathAsc".into());
    let order = ["pathAsc", "pathDsc", "nameAsc", "nameDsc"]
        .into_iter()
        .find(|o| o.eq_ignore_ascii_case(&order))
        .ok_or_else(|| {
            ApiError::BadRequest(format!("'{order}' is not a browseQueryOrder: pathAsc, pathDsc, nameAsc or nameDsc."))
        })?;
    let contains = text("filter")?.filter(|f| !f.trim().is_empty()).map(|f| parse_filter(&f)).transpose()?;
    Ok(BrowseRequest {
        key: text("browseLocationItemKey")?.filter(|k| !k.is_empty()),
        kind,
        contains,
        order: order.into(),
    })
}

/// One `browseQueryResponseItem`, and the entry it shows (files and folders of the point).
struct Listed<'a> {
    key: String,
    name: &'a str,
    kind: &'static str,
    web_url: Option<String>,
    size: u64,
    count: u64,
    entry: Option<&'a Entry>,
}

impl Listed<'_> {
    fn json(&self, ctx: &Ctx) -> Value {
        let mut v = json!({
            "itemKey": self.key,
            "name": self.name,
            "type": self.kind,
            "webUrl": self.web_url,
            "sizeInBytes": self.size.to_string(),
            "itemsCount": self.count,
        });
        if ctx.version == ApiVersion::Beta {
            let e = self.entry;
            let identity = |a: Option<&String>| {
                a.and_then(|text| serde_json::from_str::<backstore_domain::Actor>(text).ok())
                    .map_or(Value::Null, |a| json!(crate::wire::IdentitySet::of(&a)))
            };
            v["createdDateTime"] = json!(e.and_then(|e| e.created.clone()));
            v["lastModifiedDateTime"] = json!(e.and_then(|e| e.modified.clone()));
            v["createdBy"] = identity(e.and_then(|e| e.created_by.as_ref()));
            v["lastModifiedBy"] = identity(e.and_then(|e| e.modified_by.as_ref()));
        }
        v
    }
}

/// The web URL of the session's document library.
pub(crate) fn library_url(s: &BrowseSessionRecord) -> Option<String> {
    let url = s.resource.site_web_url.as_deref()?;
    Some(backstore_store::sql::drives::library_web_url(url, s.workload != Workload::OneDrive))
}

/// `POST …/{id}/browse` (a first page) or `GET …/browse(nextFetchToken='…')` / `…/browse?$skiptoken=…`.
pub(super) async fn browse(
    ctx: &Ctx,
    id: &str,
    workload: Option<Workload>,
    token: Option<&str>,
    first: bool,
) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let s = load(ctx, id, workload).await?;
    let (req, offset) = if first {
        (request_of(&ctx.body)?, 0)
    } else {
        let (offset, keys) = match token {
            Some(t) => crate::query::decode_skiptoken(t)?,
            None => (
                ctx.query
                    .after
                    .ok_or_else(|| ApiError::BadRequest("browse's next page needs its nextFetchToken.".into()))?,
                ctx.query.after_keys.clone(),
            ),
        };
        let req = match keys.as_slice() {
            [Bind::Text(j)] => serde_json::from_str(j).ok(),
            _ => None,
        }
        .ok_or_else(|| ApiError::BadRequest("The nextFetchToken is not one this service gave.".into()))?;
        (req, usize::try_from(offset).unwrap_or(0))
    };
    let Some(root) = s.content_root.filter(|_| s.status == "created") else {
        return Err(ApiError::Refused(
            StatusCode::BAD_REQUEST,
            "BrowseSessionNotReady",
            format!("Browse session '{}' is {}; only a created session can be browsed.", s.id, s.status),
        ));
    };
    let content =
        ctx.state.inner.content.as_ref().ok_or_else(|| ApiError::NotImplemented("No content store.".into()))?;
    let location = match &req.key {
        None => None,
        Some(k) => Some(location_of(&s, k)?),
    };
    let expected = match &location {
        None => "none",
        Some(Location::Site) => "site",
        Some(Location::Library) => "documentLibrary",
        Some(Location::Item(_)) => "folder",
    };
    if let Some(kind) = &req.kind {
        // The top level may be asked for as `site` (the service's examples do) or `none`.
        let top_as_site = location.is_none() && kind.eq_ignore_ascii_case("site");
        if !(kind.eq_ignore_ascii_case(expected) || top_as_site) {
            return Err(bad_key(format!("The item key names a {expected}, not a {kind}.")));
        }
    }
    let site_url = s.resource.site_web_url.clone();
    let (site, web) = site_guids(&s.resource);
    let library = library_key(&s);
    let mut items: Vec<(String, Value)> = Vec::new();
    match location {
        None => {
            let name = s.resource.site_name.clone().unwrap_or_default();
            items.push((
                name.clone(),
                Listed {
                    key: format!("{site},{web}"),
                    name: &name,
                    kind: "site",
                    web_url: site_url,
                    size: s.backup_size,
                    count: 1,
                    entry: None,
                }
                .json(ctx),
            ));
        }
        Some(Location::Site) => {
            let count = content.read_tree(ctx.tenant(), &root).await?.entries.len() as u64;
            let name = if s.workload == Workload::OneDrive { "Documents" } else { "Shared Documents" };
            items.push((
                name.into(),
                Listed {
                    key: library,
                    name,
                    kind: "documentLibrary",
                    web_url: library_url(&s),
                    size: s.backup_size,
                    count,
                    entry: None,
                }
                .json(ctx),
            ));
        }
        Some(at) => {
            let (tree, path) = match at {
                Location::Item(item) => {
                    let found = find_item(ctx, root, &item).await?.ok_or_else(|| {
                        bad_key(format!(
                            "The item key '{}' names nothing in this restore point.",
                            req.key.as_deref().unwrap_or_default()
                        ))
                    })?;
                    let tree = found.entry.tree.ok_or_else(|| {
                        bad_key(format!("'{}' is a file; only folders are browsed.", found.entry.name))
                    })?;
                    (tree, found.path)
                }
                _ => (root, String::new()),
            };
            for e in content.read_tree(ctx.tenant(), &tree).await?.entries {
                if let Some(text) = &req.contains {
                    if !e.name.to_lowercase().contains(&text.to_lowercase()) {
                        continue;
                    }
                }
                let at = format!("{path}/{}", e.name);
                let url = library_url(&s).map(|u| format!("{u}{}", crate::wire::drives::encoded_path(&at)));
                let (kind, count) = match e.tree {
                    Some(sub) => ("folder", content.read_tree(ctx.tenant(), &sub).await?.entries.len() as u64),
                    None if e.kind == EntryKind::File => ("file", 0),
                    None => ("folder", 0),
                };
                let key = format!("{library},{}", e.id);
                let listed = Listed { key, name: &e.name, kind, web_url: url, size: e.size, count, entry: Some(&e) };
                items.push((at.to_lowercase(), listed.json(ctx)));
            }
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    if req.order.ends_with("Dsc") {
        items.reverse();
    }
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(BROWSE_PAGE).map(|(_, v)| v).collect();
    let mut body = json!({
        "@odata.context": format!("{}/{}/$metadata#Collection(microsoft.graph.browseQueryResponseItem)", ctx.origin, ctx.version.as_str()),
        "@odata.count": total,
        "value": page,
    });
    if offset + BROWSE_PAGE < total {
        let token = crate::query::encode_skiptoken(
            (offset + BROWSE_PAGE) as i64,
            &[Bind::Text(serde_json::to_string(&req).expect("serializes"))],
        );
        body["@odata.nextLink"] =
            json!(format!("{}/{}/{}/browse?$skiptoken={token}", ctx.service_url(), set_of(s.workload), s.id));
    }
    Ok(crate::json_response(StatusCode::OK, &body))
}
