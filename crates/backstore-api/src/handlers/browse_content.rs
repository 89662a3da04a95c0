//! `GET /admin/browseSessions/{id}/items/{itemKey}/content`: the bytes of one file as a browse
//! session's restore point holds it. Graph has no such path (its clients restore to read a point's
//! files); backstore serves it beside the admin paths so a person can look before restoring, with
//! the same permission and the same keys as the session's `browse`.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use backstore_content::EntryKind;
use futures::StreamExt;

use super::browse::{find_item, load, location_of, Location};
use crate::auth::Access;
use crate::error::ApiError;
use crate::Ctx;

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
    let content = super::items::content(ctx)?.clone();
    let size = found.entry.size;
    let stream = content
        .read_file_owned(ctx.tenant().to_owned(), found.entry.chunks.clone(), 0..size)
        .map(|r| r.map_err(std::io::Error::other));
    let mut r = Response::new(Body::from_stream(stream));
    let h = r.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    let media = found.entry.props.get("mimeType").map(String::as_str).unwrap_or("application/octet-stream");
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(media).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let name = percent_encoding::utf8_percent_encode(&found.entry.name, ATTR_CHARS);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{name}")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}
