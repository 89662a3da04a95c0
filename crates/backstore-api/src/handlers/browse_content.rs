//! Reading what a restore point holds, beside the admin paths (Graph has none: its clients restore
//! to read a point's files), so a person can look before restoring. Each needs what Graph's browse
//! sessions need (`BackupRestore-Restore.ReadWrite.All`):
//! - `GET /admin/browseSessions/{id}/items/{itemKey}/content`: a file of a browse session's point,
//!   by the session's item key;
//! - `GET /admin/restorePoints/{id}/items[?parent={itemId}]`: one level of any point's tree (a
//!   site's or OneDrive's folders and files, a mailbox's folders and messages);
//! - `GET /admin/restorePoints/{id}/items/{itemId}/content`: a file's bytes, or a message's MIME;
//! - `GET /admin/restorePointStats?ids={id},{id}…`: each point's size and item count.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use backstore_content::{BlobId, Entry, EntryKind};
use futures::StreamExt;
use serde_json::{json, Value};

use super::browse::{find_item, load, location_of, Location};
use crate::auth::Access;
use crate::error::ApiError;
use crate::Ctx;

/// Points a stats request may name.
const STATS_LIMIT: usize = 1000;
/// Trees whose totals are kept between requests; past this the record starts again.
const TREES_KEPT: usize = 100_000;

/// The bytes and entries below trees already walked, by tenant and tree.
#[derive(Default)]
pub(crate) struct TreeStats(std::sync::Mutex<HashMap<(String, BlobId), (u64, u64)>>);

impl TreeStats {
    fn get(&self, tenant: &str, tree: &BlobId) -> Option<(u64, u64)> {
        self.0.lock().expect("not poisoned").get(&(tenant.to_owned(), *tree)).copied()
    }

    fn keep(&self, tenant: &str, found: &HashMap<BlobId, (u64, u64)>) {
        let mut kept = self.0.lock().expect("not poisoned");
        if kept.len() + found.len() > TREES_KEPT {
            kept.clear();
        }
        kept.extend(found.iter().map(|(tree, totals)| ((tenant.to_owned(), *tree), *totals)));
    }
}

/// What RFC 5987 lets a `filename*` carry unencoded (of the characters URLs keep too).
const ATTR_CHARS: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub(super) async fn item_content(ctx: &Ctx, id: &str, key: &str) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let s = load(ctx, id, None).await?;
    let Some(root) = s.content_root.filter(|_| s.status == "created") else {
        return Err(ApiError::Refused(
            StatusCode::BAD_REQUEST,
            "BrowseSessionNotReady",
            format!("Browse session '{}' is {}; only a created session can be read.", s.id, s.status),
        ));
    };
    let not_a_file = || super::browse::bad_key(format!("The item key '{key}' does not name a file of the point."));
    let Location::Item(item) = location_of(&s, key)? else {
        return Err(not_a_file());
    };
    let found = find_item(ctx, root, &item).await?.ok_or_else(not_a_file)?;
    if found.entry.kind != EntryKind::File {
        return Err(not_a_file());
    }
    file_response(ctx, &found.entry)
}

/// A file entry's bytes, streamed, with its media type and name.
fn file_response(ctx: &Ctx, entry: &Entry) -> Result<Response, ApiError> {
    let content = super::items::content(ctx)?.clone();
    let size = entry.size;
    let stream = content
        .read_file_owned(ctx.tenant().to_owned(), entry.chunks.clone(), 0..size)
        .map(|r| r.map_err(std::io::Error::other));
    let mut r = Response::new(Body::from_stream(stream));
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    let message = entry.props.contains_key("subject");
    let media = match entry.props.get("mimeType") {
        Some(m) => m.as_str(),
        None if message => "message/rfc822",
        None => "application/octet-stream",
    };
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let file_name = if message { format!("{}.eml", entry.name) } else { entry.name.clone() };
    let name = percent_encoding::utf8_percent_encode(&file_name, ATTR_CHARS);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{name}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// The root of the tree an unexpired restore point of the caller's tenant holds.
async fn point_root(ctx: &Ctx, point: &str) -> Result<BlobId, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let now = ctx.state.inner.clock.now();
    let store = ctx.store();
    store
        .get_restore_point(ctx.tenant(), point)
        .await?
        .filter(|p| p.expiration_at > now)
        .ok_or_else(|| ApiError::RestorePointNotFound(point.to_owned()))?;
    store.restore_point_root(ctx.tenant(), point).await?.ok_or_else(|| {
        ApiError::Refused(StatusCode::NOT_FOUND, "itemNotFound", format!("Restore point '{point}' holds no content."))
    })
}

fn item_not_found(point: &str, item: &str) -> ApiError {
    ApiError::Refused(StatusCode::NOT_FOUND, "itemNotFound", format!("Restore point '{point}' holds no item '{item}'."))
}

fn entry_json(e: &Entry) -> Value {
    let kind = match e.kind {
        EntryKind::Folder => "folder",
        _ if e.props.contains_key("subject") => "message",
        _ => "file",
    };
    json!({
        "id": e.id,
        "name": e.name,
        "kind": kind,
        "sizeInBytes": e.size,
        "createdDateTime": e.created,
        "lastModifiedDateTime": e.modified,
        "properties": e.props,
    })
}

/// `GET /admin/restorePoints/{id}/items[?parent={itemId}]`.
pub(super) async fn point_items(ctx: &Ctx, point: &str) -> Result<Response, ApiError> {
    let root = point_root(ctx, point).await?;
    let parent = ctx.query.raw.iter().find(|(k, _)| k == "parent").map(|(_, v)| v.clone()).filter(|p| !p.is_empty());
    let tree = match &parent {
        None => root,
        Some(id) => {
            let found = find_item(ctx, root, id).await?.ok_or_else(|| item_not_found(point, id))?;
            found.entry.tree.ok_or_else(|| {
                ApiError::BadRequest(format!("Item '{id}' of restore point '{point}' is not a folder."))
            })?
        }
    };
    let content = super::items::content(ctx)?;
    let entries = content.read_tree(ctx.tenant(), &tree).await?.entries;
    let value: Vec<Value> = entries.iter().map(entry_json).collect();
    let body = json!({ "restorePointId": point, "parentId": parent, "value": value });
    Ok(crate::json_response(StatusCode::OK, &body))
}

/// `GET /admin/restorePoints/{id}/items/{itemId}/content`.
pub(super) async fn point_item_content(ctx: &Ctx, point: &str, item: &str) -> Result<Response, ApiError> {
    let root = point_root(ctx, point).await?;
    let found = find_item(ctx, root, item).await?.ok_or_else(|| item_not_found(point, item))?;
    if found.entry.kind != EntryKind::File {
        return Err(ApiError::BadRequest(format!("Item '{item}' of restore point '{point}' is not a file.")));
    }
    file_response(ctx, &found.entry)
}

/// `GET /admin/restorePointStats?ids=…`: each point's bytes (its root's entries say them) and
/// items (every entry below its root, each tree counted once however many points hold it).
pub(super) async fn point_stats(ctx: &Ctx) -> Result<Response, ApiError> {
    ctx.principal.require(Access::RestoreWrite)?;
    let ids: Vec<String> = ctx
        .query
        .raw
        .iter()
        .filter(|(k, _)| k == "ids")
        .flat_map(|(_, v)| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>())
        .collect();
    if ids.is_empty() || ids.len() > STATS_LIMIT {
        return Err(ApiError::BadRequest(format!("Name 1 to {STATS_LIMIT} restore points: ?ids={{id}},{{id}}….")));
    }
    let content = super::items::content(ctx)?;
    let now = ctx.state.inner.clock.now();
    let kept = ctx.state.inner.tree_stats.as_ref();
    let mut counted: HashMap<BlobId, (u64, u64)> = HashMap::new();
    let mut value = Vec::new();
    for id in &ids {
        let point = ctx.store().get_restore_point(ctx.tenant(), id).await?.filter(|p| p.expiration_at > now);
        if point.is_none() {
            return Err(ApiError::RestorePointNotFound(id.clone()));
        }
        let stats = match ctx.store().restore_point_root(ctx.tenant(), id).await? {
            Some(root) => Some(tree_stats(content, ctx.tenant(), root, &mut counted, kept).await?),
            None => None,
        };
        value.push(json!({
            "restorePointId": id,
            "sizeInBytes": stats.map(|s| s.0),
            "itemCount": stats.map(|s| s.1),
        }));
    }
    kept.keep(ctx.tenant(), &counted);
    Ok(crate::json_response(StatusCode::OK, &json!({ "value": value })))
}

/// The bytes and entries below `root`, from `counted` or `kept` where a tree was seen before.
async fn tree_stats(
    content: &crate::Content,
    tenant: &str,
    root: BlobId,
    counted: &mut HashMap<BlobId, (u64, u64)>,
    kept: &TreeStats,
) -> Result<(u64, u64), ApiError> {
    // Depth first, children before parents: a tree's totals are its entries' and its subtrees'.
    let mut stack = vec![(root, false)];
    while let Some((tree, expanded)) = stack.pop() {
        if counted.contains_key(&tree) {
            continue;
        }
        if let Some(totals) = kept.get(tenant, &tree) {
            counted.insert(tree, totals);
            continue;
        }
        let entries = content.read_tree(tenant, &tree).await?.entries;
        let subtrees: Vec<BlobId> = entries.iter().filter_map(|e| e.tree).collect();
        if !expanded && subtrees.iter().any(|t| !counted.contains_key(t)) {
            stack.push((tree, true));
            stack.extend(subtrees.into_iter().filter(|t| !counted.contains_key(t)).map(|t| (t, false)));
            continue;
        }
        let bytes = entries.iter().filter(|e| e.tree.is_none()).map(|e| e.size).sum::<u64>()
            + subtrees.iter().map(|t| counted[t].0).sum::<u64>();
        let items = entries.len() as u64 + subtrees.iter().map(|t| counted[t].1).sum::<u64>();
        counted.insert(tree, (bytes, items));
    }
    Ok(counted[&root])
}
