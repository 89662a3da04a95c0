//! What the file handlers share: the content store, resolving a drive and an item from a path,
//! download URLs, an item's response, conflict behaviours, JSON bodies and `If-Match`.

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use backstore_domain::Workload;
use backstore_store::{Conflict, DriveItemRecord, DriveRecord};
use serde_json::Value;

use crate::auth::{DownloadGrant, DOWNLOAD_AUDIENCE};
use crate::drive_path::{DriveRef, ItemRef};
use crate::error::ApiError;
use crate::wire::drives::{DriveItemOut, DRIVE_ITEM_PROPERTIES};
use crate::{json_response, Content, Ctx};

/// How long a download URL is valid, on the server clock.
pub const DOWNLOAD_URL_SECONDS: i64 = 3600;

pub(crate) fn content(ctx: &Ctx) -> Result<&Arc<Content>, ApiError> {
    ctx.state.inner.content.as_ref().ok_or_else(|| {
        ApiError::NotImplemented("This server was started without a content store; files are not served.".into())
    })
}

pub(crate) fn item_not_found() -> ApiError {
    ApiError::ItemNotFound("The resource could not be found.".into())
}

/// The drive a path names; a site's or a user's drive is made on first use, as Graph provisions it.
pub(crate) async fn resolve_drive(ctx: &Ctx, drive: &DriveRef) -> Result<DriveRecord, ApiError> {
    let store = ctx.store();
    let (workload, key) = match drive {
        DriveRef::Id(id) => {
            // A mailbox's tree is not a drive to the file paths.
            return store
                .drive(ctx.tenant(), id)
                .await?
                .filter(|d| d.drive_type != backstore_store::sql::mailboxes::MAILBOX)
                .ok_or_else(|| ApiError::ItemNotFound(format!("The drive '{id}' could not be found.")));
        }
        DriveRef::Site(id) => (Workload::SharePoint, id),
        DriveRef::User(id) => (Workload::OneDrive, id),
    };
    let found = match key.split_once(':') {
        // `hostname:/sites/path`: the site by its URL.
        Some((host, path)) if workload == Workload::SharePoint => {
            store.resource_by_address(ctx.tenant(), workload, &format!("https://{host}{path}")).await?
        }
        _ => store.directory_resource_id(ctx.tenant(), workload, key).await?,
    };
    let Some(resource) = found else {
        let what = if workload == Workload::SharePoint { "site" } else { "user" };
        return Err(ApiError::ItemNotFound(format!("The {what} '{key}' could not be found.")));
    };
    if let Some(d) = store.drive_of_resource(ctx.tenant(), &resource).await? {
        return Ok(d);
    }
    let (kind, name) =
        if workload == Workload::SharePoint { ("documentLibrary", "Documents") } else { ("business", "OneDrive") };
    Ok(store.ensure_drive(ctx.writer(), &resource, kind, name).await?)
}

pub(crate) async fn resolve_item(
    ctx: &Ctx,
    drive: &DriveRecord,
    start: &ItemRef,
    path: Option<&str>,
) -> Result<DriveItemRecord, ApiError> {
    let from = match start {
        ItemRef::Root => drive.root_id.as_str(),
        ItemRef::Id(id) => id.as_str(),
    };
    let found = match path {
        None => ctx.store().drive_item(ctx.tenant(), &drive.drive_id, from).await?,
        Some(p) => ctx.store().drive_item_at(ctx.tenant(), &drive.drive_id, from, p).await?,
    };
    found.ok_or_else(item_not_found)
}

pub(crate) fn download_url(ctx: &Ctx, drive: &DriveRecord, item: &DriveItemRecord) -> Result<String, ApiError> {
    let grant = DownloadGrant {
        aud: DOWNLOAD_AUDIENCE.into(),
        tid: ctx.tenant().to_owned(),
        drv: drive.drive_id.clone(),
        itm: item.item_id.clone(),
        exp: ctx.state.inner.clock.now().timestamp() + DOWNLOAD_URL_SECONDS,
        dfr: false,
    };
    let token = ctx.state.inner.key.sign_grant(&grant).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(format!("{}/_download/{token}", ctx.origin))
}

fn item_context(ctx: &Ctx, drive: &DriveRecord) -> String {
    format!("{}/{}/$metadata#drives('{}')/items/$entity", ctx.origin, ctx.version.as_str(), drive.drive_id)
}

/// Children listed inside an item by `$expand=children`, as Graph: the first page's worth.
const EXPANDED_CHILDREN: u32 = 200;

/// `$expand` on an item: `children` (with a nested `$select` if given) is served; the item's other
/// navigations are not yet (501), and a name that is none of them is a bad request.
pub(crate) fn expanded_children(ctx: &Ctx) -> Result<Option<Option<Vec<&'static str>>>, ApiError> {
    const UNSERVED: &[&str] =
        &["versions", "permissions", "thumbnails", "listItem", "analytics", "subscriptions", "workbook", "activities"];
    let mut children = None;
    for item in &ctx.query.expand {
        let (nav, nested) = crate::query::expand_select(item)?;
        if nav.eq_ignore_ascii_case("children") {
            let select = match nested {
                Some(names) => super::select_names(&names, DRIVE_ITEM_PROPERTIES, "driveItem")?,
                None => None,
            };
            children = Some(select);
        } else if UNSERVED.iter().any(|n| n.eq_ignore_ascii_case(nav)) {
            return Err(ApiError::NotImplemented(format!(
                "$expand={nav} on drive items is not implemented by backstore yet."
            )));
        } else {
            return Err(ApiError::BadRequest(format!(
                "Could not find a navigation property named '{nav}' on type 'microsoft.graph.driveItem'."
            )));
        }
    }
    Ok(children)
}

/// Children as Graph writes them in a collection: each with its `webUrl` and parent path below
/// the folder's, files with a download URL.
pub(crate) async fn render_children<'a>(
    ctx: &Ctx,
    drive: &'a DriveRecord,
    folder: &DriveItemRecord,
    page: &'a [DriveItemRecord],
    select: Option<&[&'static str]>,
) -> Result<Vec<super::Shaped<DriveItemOut<'a>>>, ApiError> {
    let above = ctx.store().drive_item_path(ctx.tenant(), &drive.drive_id, &folder.item_id).await?.unwrap_or_default();
    let mut value = Vec::with_capacity(page.len());
    for item in page {
        let url = if item.is_folder { None } else { Some(download_url(ctx, drive, item)?) };
        let out = DriveItemOut::of(item, drive, url, None).at(drive, &format!("{above}/{}", item.name));
        value.push(super::shape(out, select, &[]));
    }
    Ok(value)
}

/// `GET` an item with `$expand=children`: the item, and its first children in name order (none
/// for a file), with `children@odata.nextLink` when there are more.
pub(crate) async fn item_with_children(
    ctx: &Ctx,
    drive: &DriveRecord,
    item: &DriveItemRecord,
    children_select: Option<&[&'static str]>,
) -> Result<Response, ApiError> {
    let mut page = if item.is_folder {
        ctx.store().drive_children(ctx.tenant(), &drive.drive_id, &item.item_id, None, EXPANDED_CHILDREN + 1).await?
    } else {
        Vec::new()
    };
    let more = page.len() > EXPANDED_CHILDREN as usize;
    page.truncate(EXPANDED_CHILDREN as usize);
    let children = render_children(ctx, drive, item, &page, children_select).await?;
    let next_link = more.then(|| {
        let last = page.last().expect("a full page").name.to_lowercase();
        let token = crate::query::encode_skiptoken(0, &[backstore_store::Bind::Text(last)]);
        let token = percent_encoding::utf8_percent_encode(&token, percent_encoding::NON_ALPHANUMERIC);
        let (origin, version, d, i) = (&ctx.origin, ctx.version.as_str(), &drive.drive_id, &item.item_id);
        format!("{origin}/{version}/drives/{d}/items/{i}/children?$skiptoken={token}")
    });
    let select = super::selected(ctx, DRIVE_ITEM_PROPERTIES, "driveItem")?;
    let body = item_out(ctx, drive, item).await?;
    let etag = HeaderValue::from_str(&body.e_tag).ok();
    #[derive(serde::Serialize)]
    struct WithChildren<'a> {
        #[serde(flatten)]
        item: super::Shaped<DriveItemOut<'a>>,
        #[serde(rename = "children@odata.nextLink", skip_serializing_if = "Option::is_none")]
        next_link: Option<String>,
        children: Vec<super::Shaped<DriveItemOut<'a>>>,
    }
    let out = WithChildren { item: super::shape(body, select.as_deref(), &[]), next_link, children };
    Ok(with_etag(json_response(StatusCode::OK, &out), etag))
}

fn with_etag(mut r: Response, etag: Option<HeaderValue>) -> Response {
    if let Some(v) = etag {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// An item as `GET` answers it: its `@odata.context`, download URL, `webUrl` and parent path.
async fn item_out<'a>(
    ctx: &Ctx,
    drive: &'a DriveRecord,
    item: &'a DriveItemRecord,
) -> Result<DriveItemOut<'a>, ApiError> {
    let url = if item.is_folder { None } else { Some(download_url(ctx, drive, item)?) };
    let path = ctx.store().drive_item_path(ctx.tenant(), &drive.drive_id, &item.item_id).await?;
    let body = DriveItemOut::of(item, drive, url, Some(item_context(ctx, drive)));
    Ok(match path {
        Some(path) => body.at(drive, &path),
        None => body,
    })
}

pub(crate) async fn item_response(
    ctx: &Ctx,
    status: StatusCode,
    drive: &DriveRecord,
    item: &DriveItemRecord,
) -> Result<Response, ApiError> {
    let select = super::selected(ctx, DRIVE_ITEM_PROPERTIES, "driveItem")?;
    let body = item_out(ctx, drive, item).await?;
    let etag = HeaderValue::from_str(&body.e_tag).ok();
    Ok(with_etag(json_response(status, &super::shape(body, select.as_deref(), &[])), etag))
}

/// `@microsoft.graph.conflictBehavior` from the body or the query string.
pub(crate) fn conflict(ctx: &Ctx, body: Option<&Value>, default: Conflict) -> Result<Conflict, ApiError> {
    const NAME: &str = "@microsoft.graph.conflictBehavior";
    let given = body
        .and_then(|b| b.get(NAME))
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| ApiError::BadRequest(format!("{NAME} must be a string."))))
        .transpose()?
        .or_else(|| ctx.query.raw.iter().find(|(k, _)| k == NAME).map(|(_, v)| v.clone()));
    match given.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("fail") => Ok(Conflict::Fail),
        Some("replace") => Ok(Conflict::Replace),
        Some("rename") => Ok(Conflict::Rename),
        Some(other) => {
            Err(ApiError::InvalidRequest(format!("'{other}' is not a conflict behavior: use fail, replace or rename.")))
        }
    }
}

pub(crate) fn json_body(ctx: &Ctx) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(&ctx.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest("The request body must be a JSON object.".into())),
        Err(e) => Err(ApiError::BadRequest(format!("The request body is not valid JSON: {e}"))),
    }
}

/// `If-None-Match` naming the item's eTag or cTag (or `*`): what the client has is current.
pub(crate) fn not_modified(ctx: &Ctx, item: &DriveItemRecord) -> bool {
    let Some(tags) = ctx.if_none_match.as_deref() else { return false };
    let etag = crate::wire::drives::e_tag(item);
    let ctag = format!("\"c:{{{}}},{}\"", item.item_id.to_uppercase(), item.content_version);
    entity_tags(tags).iter().any(|t| *t == "*" || *t == etag || *t == ctag)
}

/// `If-Match`: the item's eTag (or cTag), or 412.
pub(crate) fn check_if_match(ctx: &Ctx, item: &DriveItemRecord) -> Result<(), ApiError> {
    let Some(wanted) = ctx.if_match.as_deref() else { return Ok(()) };
    let etag = crate::wire::drives::e_tag(item);
    let ctag = format!("\"c:{{{}}},{}\"", item.item_id.to_uppercase(), item.content_version);
    if entity_tags(wanted).iter().any(|t| *t == "*" || *t == etag || *t == ctag) {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed("ETag does not match current item's value".into()))
    }
}

/// The entity tags of an `If-Match` list: quoted strings (which may hold commas, as Graph's eTags
/// do), a weak `W/` prefix dropped, or `*`.
fn entity_tags(header: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let unweak = rest.strip_prefix("W/").unwrap_or(rest);
        if let Some(body) = unweak.strip_prefix('"') {
            let Some(end) = body.find('"') else { break };
            tags.push(&unweak[..end + 2]);
            rest = &body[end + 1..];
        } else if let Some(after) = rest.strip_prefix('*') {
            tags.push("*");
            rest = after;
        } else {
            break;
        }
    }
    tags
}
