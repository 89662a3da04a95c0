//! Upload sessions (Graph's `createUploadSession`): a file in fragments sent, in order, to a
//! pre-authenticated upload URL, each stored in the content store as it arrives; `GET` on the URL
//! says where to resume, `DELETE` cancels, and the last fragment makes the file.

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use backstore_content::{Entry, Tree};
use backstore_store::{Conflict, DriveRecord, FileBody, UploadSessionRecord};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;

use super::items::{check_if_match, conflict, content, item_not_found, item_response, resolve_item};
use crate::auth::{DownloadGrant, Principal, UPLOAD_AUDIENCE};
use crate::drive_path::ItemRef;
use crate::error::ApiError;
use crate::path::ApiVersion;
use crate::wire::DateTime;
use crate::{json_response, AppState, Ctx};

/// How long a session waits for its next fragment (server clock).
const SESSION_LIFETIME_HOURS: i64 = 24;

/// The largest fragment Graph takes in one request.
pub const MAX_FRAGMENT: u64 = 60 * 1024 * 1024;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionOut {
    #[serde(rename = "@odata.context", skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_url: Option<String>,
    expiration_date_time: DateTime,
    next_expected_ranges: Vec<String>,
}

fn status(s: &UploadSessionRecord) -> SessionOut {
    SessionOut {
        context: None,
        upload_url: None,
        expiration_date_time: DateTime(s.expires_at),
        // With the size known, the range's end too ("26-4095"), as Graph writes it and as the
        // SDKs' upload tasks read it.
        // Every byte received (a deferred commit waits): nothing more is expected.
        next_expected_ranges: match s.size {
            Some(size) if size == s.received => Vec::new(),
            Some(size) if size > s.received => vec![format!("{}-{}", s.received, size - 1)],
            _ => vec![format!("{}-", s.received)],
        },
    }
}

/// `POST …/createUploadSession`: a session for a new file (`…/items/{parent}:/{name}:`) or for an
/// existing file's content.
pub(crate) async fn create(
    ctx: &Ctx,
    drive: &DriveRecord,
    start: &ItemRef,
    rel: Option<&str>,
) -> Result<Response, ApiError> {
    content(ctx)?;
    let body: serde_json::Map<String, Value> = if ctx.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Map::new()
    } else {
        match serde_json::from_slice(&ctx.body) {
            Ok(Value::Object(m)) => m,
            _ => return Err(ApiError::BadRequest("The request body must be a JSON object.".into())),
        }
    };
    let defer = match body.get("deferCommit") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::BadRequest("'deferCommit' must be true or false.".into())),
    };
    let item = body.get("item").cloned().unwrap_or(Value::Null);
    let behavior = conflict(ctx, Some(&item), Conflict::Fail)?;
    let size = match item.get("fileSize") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| ApiError::BadRequest("'fileSize' must be a whole number.".into()))?),
    };
    let store = ctx.store();
    let (existing, parent, name) = match resolve_item(ctx, drive, start, rel).await {
        Ok(i) if i.is_folder => {
            return Err(ApiError::InvalidRequest("Cannot upload content to an item representing a folder.".into()))
        }
        Ok(i) => {
            check_if_match(ctx, &i)?;
            if behavior == Conflict::Fail && rel.is_some() {
                return Err(ApiError::NameAlreadyExists(
                    "An item with the same name already exists in this location.".into(),
                ));
            }
            let name = i.name.clone();
            (Some(i), None, name)
        }
        Err(ApiError::ItemNotFound(_)) => {
            let Some(rel) = rel else { return Err(item_not_found()) };
            let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            let parent = resolve_item(ctx, drive, start, Some(dir).filter(|d| !d.is_empty())).await?;
            if !parent.is_folder {
                return Err(ApiError::InvalidRequest("The parent of an item must be a folder.".into()));
            }
            (None, Some(parent), name.to_owned())
        }
        Err(e) => return Err(e),
    };
    let expires = ctx.state.inner.clock.now() + chrono::Duration::hours(SESSION_LIFETIME_HOURS);
    let session = store
        .create_upload_session(
            ctx.writer(),
            &drive.drive_id,
            parent.as_ref().map(|p| p.item_id.as_str()),
            existing.as_ref().map(|i| i.item_id.as_str()),
            &name,
            behavior,
            size,
            expires,
        )
        .await?;
    let url = upload_url(&ctx.state, &ctx.origin, ctx.tenant(), &session, defer)?;
    let out = SessionOut {
        context: Some(format!("{}/{}/$metadata#microsoft.graph.uploadSession", ctx.origin, ctx.version.as_str())),
        upload_url: Some(url),
        ..status(&session)
    };
    Ok(json_response(StatusCode::OK, &out))
}

/// The session's pre-authenticated URL; a deferred commit is part of what it grants.
fn upload_url(
    state: &AppState,
    origin: &str,
    tenant: &str,
    s: &UploadSessionRecord,
    defer_commit: bool,
) -> Result<String, ApiError> {
    let grant = DownloadGrant {
        aud: UPLOAD_AUDIENCE.into(),
        tid: tenant.to_owned(),
        drv: s.drive_id.clone(),
        itm: s.id.clone(),
        exp: s.expires_at.timestamp() + 7 * 24 * 3600,
        dfr: defer_commit,
    };
    let token = state.inner.key.sign_grant(&grant).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("{origin}/_upload/{token}"))
}

fn rejected(from: u64, expected: u64) -> ApiError {
    ApiError::FragmentRejected(format!("The fragment starts at byte {from}; the session expects byte {expected} next."))
}

/// `bytes a-b/total` → (a, b, total).
fn content_range(headers: &HeaderMap) -> Result<(u64, u64, u64), ApiError> {
    let bad = || ApiError::InvalidRequest("A fragment needs 'Content-Range: bytes START-END/TOTAL'.".into());
    let value = headers.get(header::CONTENT_RANGE).and_then(|v| v.to_str().ok()).ok_or_else(bad)?;
    let spec = value.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = spec.split_once('/').ok_or_else(bad)?;
    let (a, b) = range.split_once('-').ok_or_else(bad)?;
    let (a, b, total) = (
        a.trim().parse::<u64>().map_err(|_| bad())?,
        b.trim().parse::<u64>().map_err(|_| bad())?,
        total.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if b < a || b >= total {
        return Err(bad());
    }
    Ok((a, b, total))
}

/// The upload URL: `PUT` a fragment, `GET` the session's state, `DELETE` it.
pub(crate) async fn session(
    state: &AppState,
    origin: &str,
    method: &Method,
    token: &str,
    headers: &HeaderMap,
    body: &mut Option<Body>,
) -> Result<Response, ApiError> {
    let gone = || ApiError::ItemNotFound("The upload session was not found or has expired.".into());
    let grant = state.inner.key.verify_grant(token, UPLOAD_AUDIENCE).ok_or_else(gone)?;
    let now = state.inner.clock.now();
    let session =
        state.store().upload_session(&grant.tid, &grant.itm).await?.filter(|s| s.expires_at > now).ok_or_else(gone)?;
    match *method {
        Method::GET => Ok(json_response(StatusCode::OK, &status(&session))),
        Method::DELETE => {
            state.store().delete_upload_session(&grant.tid, &session.id).await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Method::PUT => fragment(state, origin, &grant.tid, session, headers, body, grant.dfr).await,
        // The explicit commit of a deferred session (an empty POST once every byte is there).
        Method::POST if grant.dfr => {
            if session.size != Some(session.received) {
                return Err(ApiError::InvalidRequest(format!(
                    "The upload is not complete: {} bytes received; send the rest before committing.",
                    session.received
                )));
            }
            commit(state, origin, &grant.tid, session).await
        }
        _ => Err(ApiError::MethodNotAllowed {
            allow: if grant.dfr { "GET, PUT, POST, DELETE" } else { "GET, PUT, DELETE" },
        }),
    }
}

async fn fragment(
    state: &AppState,
    origin: &str,
    tenant: &str,
    session: UploadSessionRecord,
    headers: &HeaderMap,
    body: &mut Option<Body>,
    defer_commit: bool,
) -> Result<Response, ApiError> {
    let (from, last, total) = content_range(headers)?;
    if from != session.received {
        return Err(rejected(from, session.received));
    }
    let len = last - from + 1;
    if len > MAX_FRAGMENT {
        return Err(ApiError::RequestEntityTooLarge(MAX_FRAGMENT as usize));
    }
    if session.size.is_some_and(|s| s != total) {
        return Err(ApiError::InvalidRequest(format!(
            "The fragment's total {total} is not the file's size, {}.",
            session.size.unwrap_or_default()
        )));
    }
    let content =
        state.inner.content.clone().ok_or_else(|| ApiError::NotImplemented("Files are not served here.".into()))?;
    let mut seen = 0u64;
    let body = body.take().ok_or_else(|| ApiError::Internal("the fragment's body was already read".into()))?;
    let stream = body.into_data_stream().map(move |frame| {
        let frame = frame.map_err(std::io::Error::other)?;
        seen += frame.len() as u64;
        if seen > len {
            return Err(std::io::Error::other("the fragment is longer than its Content-Range"));
        }
        Ok(frame)
    });
    let mut writer = content.writer(tenant).map_err(|e| ApiError::Internal(e.to_string()))?;
    let stored = writer
        .write_file(tokio_util::io::StreamReader::new(stream))
        .await
        .map_err(|e| ApiError::BadRequest(format!("The fragment could not be read: {e}")))?;
    if stored.size != len {
        return Err(ApiError::InvalidRequest(format!(
            "The fragment has {} bytes; its Content-Range says {len}.",
            stored.size
        )));
    }
    let mut chunks = session.chunks.clone();
    chunks.extend(stored.chunks);
    let keep = Tree { entries: vec![Entry::file("upload", session.id.as_str(), from + len, chunks.clone())] };
    let tree = writer.write_tree(&keep).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    writer.flush().await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let now = state.inner.clock.now();
    let expires = now + chrono::Duration::hours(SESSION_LIFETIME_HOURS);
    let taken = state.store().append_upload(tenant, &session.id, from, &chunks, len, total, &tree, expires).await?;
    if !taken {
        let at = state.store().upload_session(tenant, &session.id).await?.map_or(0, |s| s.received);
        return Err(rejected(from, at));
    }
    let mut next = session;
    next.received = from + len;
    next.size = Some(total);
    next.expires_at = expires;
    next.chunks = chunks;
    if from + len < total || defer_commit {
        return Ok(json_response(StatusCode::ACCEPTED, &status(&next)));
    }
    commit(state, origin, tenant, next).await
}

/// Makes the file of a session that has every byte, with its hashes read back from what was stored.
async fn commit(
    state: &AppState,
    origin: &str,
    tenant: &str,
    session: UploadSessionRecord,
) -> Result<Response, ApiError> {
    let content =
        state.inner.content.clone().ok_or_else(|| ApiError::NotImplemented("Files are not served here.".into()))?;
    let chunks = session.chunks.clone();
    let whole = content.file_hashes(tenant, &chunks).await.map_err(|e| ApiError::Internal(e.to_string()))?;
    let file = FileBody {
        size: whole.size,
        sha256: Some(whole.sha256_hex()),
        quick_xor: Some(whole.quick_xor_base64()),
        mime_type: Some(crate::wire::drives::mime_type(&session.name).to_owned()),
        chunks,
    };
    let ctx = Ctx {
        state: state.clone(),
        principal: Principal { tenant: tenant.to_owned(), actor: session.created_by.clone(), permissions: Vec::new() },
        version: ApiVersion::V1,
        origin: origin.to_owned(),
        path: String::new(),
        query: Default::default(),
        render: crate::wire::Render { include_unknown_enums: false },
        body: Default::default(),
        if_match: None,
        if_none_match: None,
        content_length: None,
        content_type: None,
        prefer_text_body: None,
        max_page_size: None,
    };
    let store = state.store();
    let drive = store.drive(tenant, &session.drive_id).await?.ok_or_else(item_not_found)?;
    let (code, item) = match (&session.item_id, &session.parent_id) {
        (Some(item), _) => {
            (StatusCode::OK, store.replace_drive_file(ctx.writer(), &drive.drive_id, item, &file).await?)
        }
        (None, Some(parent)) => (
            StatusCode::CREATED,
            store.put_drive_file(ctx.writer(), &drive.drive_id, parent, &session.name, &file, session.conflict).await?,
        ),
        (None, None) => return Err(item_not_found()),
    };
    store.delete_upload_session(tenant, &session.id).await?;
    item_response(&ctx, code, &drive, &item).await
}
