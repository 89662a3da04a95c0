//! Graph's file paths over the live tree: drives of sites and users, items by id or path, children,
//! folders, renames and moves, deletes, simple uploads (streamed into the content store) and
//! downloads (a 302 to a short-lived pre-authenticated URL that serves ranges).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_domain::Workload;
use backstore_store::{Bind, Conflict, DriveItemRecord, DriveRecord, FileBody};
use futures::StreamExt;
use serde_json::Value;

use super::items::{
    check_if_match, conflict, content, download_url, expanded_children, item_not_found, item_response,
    item_with_children, json_body, not_modified, render_children, resolve_drive, resolve_item,
};
use super::{selected, shape};
use crate::auth::{Access, DOWNLOAD_AUDIENCE};
use crate::drive_path::{DrivePath, ItemRef, Tail};
use crate::error::ApiError;
use crate::wire::drives::{DriveItemOut, DriveOut, DRIVE_ITEM_PROPERTIES};
use crate::{json_response, AppState, Ctx};

/// The largest simple upload (Graph's documented limit for `PUT …/content`).
pub const MAX_SIMPLE_UPLOAD: u64 = 250 * 1024 * 1024;

/// Children per page when `$top` is not given, as Graph.
const CHILDREN_PAGE: i64 = 200;

pub(crate) async fn route(ctx: &Ctx, method: &Method, path: DrivePath) -> Result<Response, ApiError> {
    let write = !matches!(*method, Method::GET | Method::HEAD);
    ctx.principal.require(if write { Access::FilesWrite } else { Access::FilesRead })?;
    let unserved = |what: &str| {
        Err(ApiError::NotImplemented(format!("{what} on drives and drive items is not implemented by backstore yet.")))
    };
    let expands_item = path.tail == Tail::None && *method == Method::GET && path.item.is_some();
    if !ctx.query.expand.is_empty() && !expands_item {
        return unserved("$expand");
    }
    for (name, given) in
        [("$filter", ctx.query.filter.is_some()), ("$skip", ctx.query.skip.is_some()), ("$count", ctx.query.count)]
    {
        if given {
            return unserved(name);
        }
    }
    if ctx.query.orderby.is_some() && path.tail != Tail::Children {
        return Err(ApiError::BadRequest("$orderby applies to children only.".into()));
    }
    content(ctx)?;
    let drive = resolve_drive(ctx, &path.drive).await?;
    if matches!(path.tail, Tail::Site | Tail::SiteDrives) {
        return site(ctx, method, &drive, &path.tail).await;
    }
    let Some((start, rel)) = path.item else {
        return match *method {
            Method::GET => {
                let (_, used) = ctx.store().drive_totals(ctx.tenant(), &drive.drive_id).await?;
                let context = format!("{}/{}/$metadata#drives/$entity", ctx.origin, ctx.version.as_str());
                Ok(json_response(StatusCode::OK, &DriveOut::of(&drive, used, context)))
            }
            _ => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        };
    };
    match (path.tail, method.clone()) {
        (Tail::None, Method::GET) => {
            let expand = expanded_children(ctx)?;
            let item = resolve_item(ctx, &drive, &start, rel.as_deref()).await?;
            if not_modified(ctx, &item) {
                return Ok(StatusCode::NOT_MODIFIED.into_response());
            }
            match expand {
                Some(select) => item_with_children(ctx, &drive, &item, select.as_deref()).await,
                None => item_response(ctx, StatusCode::OK, &drive, &item).await,
            }
        }
        (Tail::None, Method::PATCH) => {
            let item = resolve_item(ctx, &drive, &start, rel.as_deref()).await?;
            update(ctx, &drive, &item).await
        }
        (Tail::None, Method::DELETE) => {
            let item = resolve_item(ctx, &drive, &start, rel.as_deref()).await?;
            check_if_match(ctx, &item)?;
            ctx.store().delete_drive_item(ctx.writer(), &drive.drive_id, &item.item_id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (Tail::None, _) => Err(ApiError::MethodNotAllowed { allow: "GET, PATCH, DELETE" }),
        (Tail::Children, Method::GET) => {
            let folder = resolve_item(ctx, &drive, &start, rel.as_deref()).await?;
            children(ctx, &drive, &folder).await
        }
        (Tail::Children, Method::POST) => {
            let folder = resolve_item(ctx, &drive, &start, rel.as_deref()).await?;
            create_folder(ctx, &drive, &folder).await
        }
        (Tail::Children, _) => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
        (Tail::Content, Method::GET) => {
            let item = resolve_item(ctx, &drive, &start, rel.as_deref()).await?;
            if item.is_folder {
                return Err(ApiError::InvalidRequest("A folder has no content to download.".into()));
            }
            if not_modified(ctx, &item) {
                return Ok(StatusCode::NOT_MODIFIED.into_response());
            }
            let url = download_url(ctx, &drive, &item)?;
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut()
                .insert(header::LOCATION, HeaderValue::from_str(&url).map_err(|e| ApiError::Internal(e.to_string()))?);
            Ok(r)
        }
        (Tail::Content, _) => Err(ApiError::MethodNotAllowed { allow: "GET, PUT" }),
        (Tail::Delta(token), Method::GET) => {
            let on_root = match (&start, &rel) {
                (ItemRef::Root, None) => true,
                (ItemRef::Id(id), None) => *id == drive.root_id,
                _ => false,
            };
            if !on_root {
                return Err(ApiError::InvalidRequest("Delta is supported on the root of a drive only.".into()));
            }
            let token = token.or_else(|| ctx.query.raw.iter().find(|(k, _)| k == "token").map(|(_, v)| v.clone()));
            delta(ctx, &drive, token.as_deref()).await
        }
        (Tail::Delta(_), _) => Err(ApiError::MethodNotAllowed { allow: "GET" }),
        (Tail::CreateUploadSession, Method::POST) => {
            crate::handlers::uploads::create(ctx, &drive, &start, rel.as_deref()).await
        }
        (Tail::CreateUploadSession, _) => Err(ApiError::MethodNotAllowed { allow: "POST" }),
        // A site path names no item; it was answered above.
        (Tail::Site | Tail::SiteDrives, _) => Err(item_not_found()),
    }
}

/// `/sites/{id}` (the site, from the tenant's directory) and `/sites/{id}/drives` (its one document
/// library).
async fn site(ctx: &Ctx, method: &Method, drive: &DriveRecord, tail: &Tail) -> Result<Response, ApiError> {
    if *method != Method::GET {
        return Err(ApiError::MethodNotAllowed { allow: "GET" });
    }
    let entry = ctx
        .store()
        .directory_entry(ctx.tenant(), Workload::SharePoint, &drive.resource_id)
        .await?
        .ok_or_else(item_not_found)?;
    let r = &entry.resource;
    let base = format!("{}/{}/$metadata", ctx.origin, ctx.version.as_str());
    if *tail == Tail::SiteDrives {
        let (_, used) = ctx.store().drive_totals(ctx.tenant(), &drive.drive_id).await?;
        let one = crate::wire::drives::DriveEntry::of(drive, used);
        #[derive(serde::Serialize)]
        struct Drives<'a> {
            #[serde(rename = "@odata.context")]
            context: String,
            value: Vec<crate::wire::drives::DriveEntry<'a>>,
        }
        let context = format!("{base}#sites('{}')/drives", drive.resource_id);
        return Ok(json_response(StatusCode::OK, &Drives { context, value: vec![one] }));
    }
    let url = r.site_web_url.clone().unwrap_or_default();
    let host = url.trim_start_matches("https://").split('/').next().unwrap_or_default().to_owned();
    let body = serde_json::json!({
        "@odata.context": format!("{base}#sites/$entity"),
        "id": drive.resource_id,
        "name": url.rsplit('/').next().unwrap_or_default(),
        "displayName": r.site_name,
        "webUrl": url,
        "createdDateTime": crate::wire::DateTime(drive.created_at),
        "siteCollection": { "hostname": host },
    });
    Ok(json_response(StatusCode::OK, &body))
}

/// Where a delta enumeration stands: changes after `since`, up to `upto` when paging, after the
/// `(sequence, id)` of the last item sent.
#[derive(serde::Serialize, serde::Deserialize)]
struct DeltaToken {
    d: String,
    s: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<(i64, String)>,
}

impl DeltaToken {
    fn encode(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("a token serializes"))
    }

    fn decode(text: &str) -> Option<DeltaToken> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// `GET …/root/delta`: what changed since the token (everything, without one), in the order it
/// changed, paged with `@odata.nextLink` and ended with an `@odata.deltaLink` to come back with.
async fn delta(ctx: &Ctx, drive: &DriveRecord, token: Option<&str>) -> Result<Response, ApiError> {
    let store = ctx.store();
    let now = store.drive_delta_counter(ctx.tenant(), &drive.drive_id).await?;
    let at = match token {
        None => DeltaToken { d: drive.drive_id.clone(), s: 0, u: None, a: None },
        Some(t) => DeltaToken::decode(t)
            .filter(|t| t.d == drive.drive_id && t.s <= now && t.u.is_none_or(|u| u <= now))
            .ok_or_else(|| {
                ApiError::ResyncRequired("The delta token is not valid for this drive; start again without one.".into())
            })?,
    };
    let select = selected(ctx, DRIVE_ITEM_PROPERTIES, "driveItem")?;
    let upto = at.u.unwrap_or(now);
    let top = ctx.query.top.unwrap_or(CHILDREN_PAGE).clamp(1, 1000);
    let after = at.a.as_ref().map(|(seq, id)| (*seq, id.as_str()));
    let mut page = store.drive_delta(ctx.tenant(), &drive.drive_id, at.s, upto, after, (top + 1) as u32).await?;
    let more = page.len() as i64 > top;
    page.truncate(top as usize);
    let link = |t: DeltaToken| {
        format!("{}/{}/drives/{}/root/delta?token={}", ctx.origin, ctx.version.as_str(), drive.drive_id, t.encode())
    };
    let (next_link, delta_link) = match (more, page.last()) {
        (true, Some(last)) => (
            Some(link(DeltaToken {
                d: drive.drive_id.clone(),
                s: at.s,
                u: Some(upto),
                a: Some((last.delta_seq, last.item_id.clone())),
            })),
            None,
        ),
        _ => (None, Some(link(DeltaToken { d: drive.drive_id.clone(), s: upto, u: None, a: None }))),
    };
    let mut value = Vec::with_capacity(page.len());
    for item in &page {
        let url = if item.is_folder || item.deleted { None } else { Some(download_url(ctx, drive, item)?) };
        value.push(shape(DriveItemOut::of(item, drive, url, None), select.as_deref(), &[]));
    }
    let context = format!("{}/{}/$metadata#Collection(driveItem)", ctx.origin, ctx.version.as_str());
    Ok(json_response(StatusCode::OK, &crate::wire::DeltaPage { context, next_link, delta_link, value }))
}

async fn children(ctx: &Ctx, drive: &DriveRecord, folder: &DriveItemRecord) -> Result<Response, ApiError> {
    if !folder.is_folder {
        return Err(ApiError::InvalidRequest("The item is a file; it has no children.".into()));
    }
    if let Some(order) = ctx.query.orderby.as_deref() {
        // OneDrive for Business and SharePoint sort children by name only.
        let order = order.split_whitespace().collect::<Vec<_>>();
        match order.as_slice() {
            [name] | [name, "asc"] if name.eq_ignore_ascii_case("name") => {}
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "$orderby '{}' is not supported here: children sort by 'name' only.",
                    order.join(" ")
                )))
            }
        }
    }
    let select = selected(ctx, DRIVE_ITEM_PROPERTIES, "driveItem")?;
    let top = ctx.query.top.unwrap_or(CHILDREN_PAGE).clamp(1, 1000);
    let after = match ctx.query.after_keys.first() {
        Some(Bind::Text(key)) => Some(key.clone()),
        Some(_) => return Err(ApiError::BadRequest("The $skiptoken is not one this collection issued.".into())),
        None => None,
    };
    let mut page = ctx
        .store()
        .drive_children(ctx.tenant(), &drive.drive_id, &folder.item_id, after.as_deref(), (top + 1) as u32)
        .await?;
    let more = page.len() as i64 > top;
    page.truncate(top as usize);
    let next_link =
        more.then(|| ctx.next_link(0, &[Bind::Text(page.last().expect("a full page").name.to_lowercase())]));
    let value = render_children(ctx, drive, folder, &page, select.as_deref()).await?;
    let context = format!(
        "{}/{}/$metadata#drives('{}')/items('{}')/children",
        ctx.origin,
        ctx.version.as_str(),
        drive.drive_id,
        folder.item_id
    );
    Ok(json_response(StatusCode::OK, &crate::wire::Collection { context, count: None, value, next_link }))
}

async fn create_folder(ctx: &Ctx, drive: &DriveRecord, parent: &DriveItemRecord) -> Result<Response, ApiError> {
    let body = json_body(ctx)?;
    let name = match body.get("name") {
        Some(Value::String(n)) => n.clone(),
        Some(_) => return Err(ApiError::BadRequest("'name' must be a string.".into())),
        None => return Err(ApiError::InvalidRequest("A new item needs a 'name'.".into())),
    };
    if !body.get("folder").is_some_and(Value::is_object) {
        return Err(ApiError::InvalidRequest(
            "POST to children creates folders and needs a 'folder' facet; upload files with PUT …/content.".into(),
        ));
    }
    let behavior = conflict(ctx, Some(&Value::Object(body.clone())), Conflict::Fail)?;
    let made = ctx.store().create_drive_folder(ctx.writer(), &drive.drive_id, &parent.item_id, &name, behavior).await?;
    item_response(ctx, StatusCode::CREATED, drive, &made).await
}

async fn update(ctx: &Ctx, drive: &DriveRecord, item: &DriveItemRecord) -> Result<Response, ApiError> {
    check_if_match(ctx, item)?;
    let body = json_body(ctx)?;
    let name = match body.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(ApiError::BadRequest("'name' must be a string.".into())),
    };
    let parent = match body.get("parentReference") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => match p.get("id") {
            Some(Value::String(id)) if id.eq_ignore_ascii_case("root") => Some(drive.root_id.clone()),
            Some(Value::String(id)) => Some(id.clone()),
            None => None,
            Some(_) => return Err(ApiError::BadRequest("'parentReference.id' must be a string.".into())),
        },
        Some(_) => return Err(ApiError::BadRequest("'parentReference' must be an object.".into())),
    };
    if let Some(Value::Object(p)) = body.get("parentReference") {
        if p.get("driveId").and_then(Value::as_str).is_some_and(|d| d != drive.drive_id) {
            return Err(ApiError::InvalidRequest("Items move within their drive only; copy them to another.".into()));
        }
    }
    let moved = ctx
        .store()
        .move_drive_item(ctx.writer(), &drive.drive_id, &item.item_id, parent.as_deref(), name.as_deref())
        .await?;
    item_response(ctx, StatusCode::OK, drive, &moved).await
}

/// `PUT …/content`: the body, streamed into the content store, becomes the file's content.
pub(crate) async fn upload(ctx: &Ctx, path: DrivePath, body: &mut Option<Body>) -> Result<Response, ApiError> {
    ctx.principal.require(Access::FilesWrite)?;
    let content = content(ctx)?.clone();
    let drive = resolve_drive(ctx, &path.drive).await?;
    let Some((start, rel)) = path.item else { return Err(ApiError::MethodNotAllowed { allow: "GET" }) };
    // The file itself when it exists; else its folder (the path's parent) and its name.
    let existing = resolve_item(ctx, &drive, &start, rel.as_deref()).await;
    let (target, parent, name) = match existing {
        Ok(item) if item.is_folder => {
            return Err(ApiError::InvalidRequest("Cannot upload content to an item representing a folder.".into()))
        }
        Ok(item) => (Some(item), None, None),
        Err(ApiError::ItemNotFound(_)) => {
            let Some(rel) = rel.as_deref() else { return Err(item_not_found()) };
            let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            let parent = resolve_item(ctx, &drive, &start, Some(dir).filter(|d| !d.is_empty())).await?;
            if !parent.is_folder {
                return Err(ApiError::InvalidRequest("The parent of an item must be a folder.".into()));
            }
            (None, Some(parent), Some(name.to_owned()))
        }
        Err(e) => return Err(e),
    };
    if let Some(item) = &target {
        check_if_match(ctx, item)?;
    }
    let behavior = conflict(ctx, None, Conflict::Replace)?;
    if target.is_some() && behavior == Conflict::Fail {
        return Err(ApiError::NameAlreadyExists("An item with the same name already exists in this location.".into()));
    }
    if ctx.content_length.is_some_and(|n| n > MAX_SIMPLE_UPLOAD) {
        return Err(ApiError::RequestEntityTooLarge(MAX_SIMPLE_UPLOAD as usize));
    }
    let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = seen.clone();
    let body = body.take().ok_or_else(|| ApiError::Internal("the upload's body was already read".into()))?;
    let stream = body.into_data_stream().map(move |frame| {
        let frame = frame.map_err(std::io::Error::other)?;
        let total = counter.fetch_add(frame.len() as u64, std::sync::atomic::Ordering::Relaxed) + frame.len() as u64;
        if total > MAX_SIMPLE_UPLOAD {
            return Err(std::io::Error::other("the upload is larger than a simple upload may be"));
        }
        Ok(frame)
    });
    let mut writer = content.writer(ctx.tenant()).map_err(|e| ApiError::Internal(e.to_string()))?;
    let stored = match writer.write_file(tokio_util::io::StreamReader::new(stream)).await {
        Ok(stored) => stored,
        Err(_) if seen.load(std::sync::atomic::Ordering::Relaxed) > MAX_SIMPLE_UPLOAD => {
            return Err(ApiError::RequestEntityTooLarge(MAX_SIMPLE_UPLOAD as usize))
        }
        Err(backstore_content::ContentError::Io(e)) => {
            return Err(ApiError::BadRequest(format!("The request body could not be read: {e}")))
        }
        Err(e) => return Err(ApiError::Internal(e.to_string())),
    };
    writer.flush().await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let file_name = target.as_ref().map(|t| t.name.clone()).or(name).unwrap_or_default();
    let mime = ctx
        .content_type
        .clone()
        .filter(|t| !t.is_empty() && !t.starts_with("application/octet-stream"))
        .unwrap_or_else(|| crate::wire::drives::mime_type(&file_name).to_owned());
    let body = FileBody {
        size: stored.size,
        sha256: Some(stored.sha256_hex()),
        quick_xor: Some(stored.quick_xor_base64()),
        mime_type: Some(mime),
        chunks: stored.chunks,
    };
    let (status, item) = match (target, parent) {
        (Some(t), _) => {
            (StatusCode::OK, ctx.store().replace_drive_file(ctx.writer(), &drive.drive_id, &t.item_id, &body).await?)
        }
        (None, Some(p)) => {
            let made = ctx
                .store()
                .put_drive_file(ctx.writer(), &drive.drive_id, &p.item_id, &file_name, &body, behavior)
                .await?;
            (StatusCode::CREATED, made)
        }
        (None, None) => return Err(item_not_found()),
    };
    item_response(ctx, status, &drive, &item).await
}

/// `GET /_download/{token}`: a file's bytes for whoever holds a valid download URL (no bearer
/// token, as Graph's pre-authenticated URLs), whole or one `Range`.
pub(crate) async fn download(state: &AppState, token: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let refused = || ApiError::InvalidAuthenticationToken("The download URL is not valid or has expired.".into());
    let grant = state.inner.key.verify_grant(token, DOWNLOAD_AUDIENCE).ok_or_else(refused)?;
    if grant.exp <= state.inner.clock.now().timestamp() {
        return Err(refused());
    }
    let content = state.inner.content.as_ref().ok_or_else(refused)?.clone();
    let item = state
        .store()
        .drive_item(&grant.tid, &grant.drv, &grant.itm)
        .await?
        .filter(|i| !i.is_folder)
        .ok_or_else(item_not_found)?;
    let size = item.size;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|r| parse_range(r, size));
    let (status, lo, hi) = match range {
        None | Some(RangeAsked::Ignored) => (StatusCode::OK, 0, size),
        Some(RangeAsked::Bytes(lo, hi)) => (StatusCode::PARTIAL_CONTENT, lo, hi),
        Some(RangeAsked::Unsatisfiable) => return Err(ApiError::RangeNotSatisfiable { size }),
    };
    let stream = content
        .read_file_owned(grant.tid.clone(), item.chunks.clone(), lo..hi)
        .map(|r| r.map_err(std::io::Error::other));
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(hi - lo));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let media = item.mime_type.as_deref().unwrap_or("application/octet-stream");
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes {lo}-{}/{size}", hi - 1)).expect("ascii"),
        );
    }
    Ok(r)
}

enum RangeAsked {
    Bytes(u64, u64),
    Unsatisfiable,
    /// Not one byte range (several, or another unit): the whole file is sent.
    Ignored,
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → the half-open range it asks for.
fn parse_range(value: &str, size: u64) -> RangeAsked {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return RangeAsked::Ignored };
    if spec.contains(',') {
        return RangeAsked::Ignored;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return RangeAsked::Ignored };
    let (a, b) = (a.trim(), b.trim());
    let (lo, hi) = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(lo), Ok(last)) if last >= lo => (lo, (last + 1).min(size)),
        (Ok(lo), Err(_)) if b.is_empty() => (lo, size),
        (Err(_), Ok(n)) if a.is_empty() && n > 0 => (size.saturating_sub(n), size),
        _ => return RangeAsked::Ignored,
    };
    if lo >= size || lo >= hi {
        return RangeAsked::Unsatisfiable;
    }
    RangeAsked::Bytes(lo, hi)
}
