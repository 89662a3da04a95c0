//! Mailboxes through Graph's mail paths: a user's folders (`mailFolders`, `childFolders` to any
//! depth, well-known names), created, renamed and deleted; each mailbox made with its well-known
//! folders on first use, as Exchange provisions one. Errors use Exchange's codes.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use backstore_domain::Workload;
use backstore_store::sql::drives::DriveRecord;
use backstore_store::sql::mailboxes::{well_known_id, well_known_name, MailFolderRecord};
use backstore_store::StoreError;

use super::items::json_body;
use super::messages::metadata;
use super::{selected, shape};
use crate::auth::Access;
use crate::error::ApiError;
use crate::mail_path::{MailPath, MailTail};
use crate::path::ApiVersion;
use crate::wire::mail::{MailFolder, MAIL_FOLDER_PROPERTIES};
use crate::{json_response, query, Ctx};

/// Folders per page when `$top` is absent, as Graph pages them.
const FOLDER_PAGE: i64 = 10;

pub(crate) async fn route(ctx: &Ctx, method: &Method, path: MailPath) -> Result<Response, ApiError> {
    let reads = *method == Method::GET;
    ctx.principal.require(if reads { Access::MailRead } else { Access::MailWrite })?;
    let messages = matches!(path.tail, MailTail::Messages | MailTail::MessagesDelta | MailTail::Message(..));
    for (option, given) in [
        ("$filter", ctx.query.filter.is_some() && !messages),
        ("$orderby", ctx.query.orderby.is_some() && !messages),
        ("$count", ctx.query.count && !messages),
        ("$expand", !ctx.query.expand.is_empty()),
    ] {
        if given {
            let on = if messages { "messages" } else { "mail folders" };
            return Err(ApiError::NotImplemented(format!(
                "The query option '{option}' is not implemented by backstore on {on} yet."
            )));
        }
    }
    if ctx.query.after.is_some() && !messages {
        return Err(ApiError::BadRequest("Mail folders page with $skip; this $skiptoken is not theirs.".into()));
    }
    let mailbox = resolve_mailbox(ctx, &path.user).await?;
    let mut folder: Option<MailFolderRecord> = None;
    for key in &path.folders {
        let id = well_known_id(&mailbox, key).unwrap_or_else(|| key.clone());
        let found = ctx.store().mail_folder(ctx.tenant(), &mailbox.drive_id, &id).await?;
        let found = found.ok_or(ApiError::MailItemNotFound)?;
        // `…/childFolders/{id}` names a child of the folder before it.
        if let Some(parent) = &folder {
            if found.parent_id.as_deref() != Some(parent.id.as_str()) {
                return Err(ApiError::MailItemNotFound);
            }
        }
        folder = Some(found);
    }
    match (path.tail, method.clone(), folder) {
        (MailTail::Folders, Method::GET, parent) => {
            let parent = parent.map_or(mailbox.root_id.clone(), |f| f.id);
            list(ctx, &mailbox, &path.user, &parent).await
        }
        (MailTail::Folders, Method::POST, parent) => {
            let parent = parent.map_or(mailbox.root_id.clone(), |f| f.id);
            create(ctx, &mailbox, &path.user, &parent).await
        }
        (MailTail::Folders, _, _) => Err(ApiError::MethodNotAllowed { allow: "GET, POST" }),
        (MailTail::Folder, m, Some(f)) => match m {
            Method::GET => {
                ctx.query.for_entity()?;
                folder_response(ctx, StatusCode::OK, &mailbox, &path.user, &f)
            }
            Method::PATCH => rename(ctx, &mailbox, &path.user, &f).await,
            Method::DELETE => {
                ctx.store().delete_mail_folder(ctx.writer(), &mailbox, &f.id).await.map_err(refusal)?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            _ => Err(ApiError::MethodNotAllowed { allow: "GET, PATCH, DELETE" }),
        },
        (MailTail::Folder, _, None) => Err(ApiError::MailItemNotFound),
        (MailTail::Messages, m, folder) => {
            super::messages::collection(ctx, &m, &mailbox, &path.user, folder.as_ref()).await
        }
        (MailTail::MessagesDelta, m, folder) => super::messages::delta(ctx, &m, &mailbox, folder.as_ref()).await,
        (MailTail::Message(id, part), m, folder) => {
            super::messages::one(ctx, &m, &mailbox, &path.user, folder.as_ref(), &id, part).await
        }
    }
}

/// The mailbox of a user of the tenant's directory (by id or user principal name), made on first use.
async fn resolve_mailbox(ctx: &Ctx, user: &str) -> Result<DriveRecord, ApiError> {
    let store = ctx.store();
    let resource = store
        .directory_resource_id(ctx.tenant(), Workload::Exchange, user)
        .await?
        .ok_or_else(|| ApiError::MailInvalidUser(user.to_owned()))?;
    Ok(store.ensure_mailbox(ctx.writer(), &resource).await?)
}

/// A store refusal in Exchange's words.
fn refusal(e: StoreError) -> ApiError {
    match e {
        StoreError::ItemNotFound => ApiError::MailItemNotFound,
        StoreError::NameExists(_) => ApiError::MailFolderExists,
        StoreError::InvalidTreeChange(why) if why.contains("well-known folder cannot be deleted") => {
            ApiError::MailRefused("ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.".into())
        }
        StoreError::InvalidTreeChange(why) => ApiError::MailRefused("ErrorInvalidRequest", why),
        other => other.into(),
    }
}

fn wire<'a>(ctx: &Ctx, mailbox: &DriveRecord, f: &'a MailFolderRecord) -> MailFolder<'a> {
    MailFolder {
        id: &f.id,
        display_name: &f.display_name,
        parent_folder_id: f.parent_id.as_deref(),
        child_folder_count: f.child_folder_count,
        unread_item_count: f.unread_item_count,
        total_item_count: f.total_item_count,
        is_hidden: f.is_hidden,
        well_known_name: (ctx.version == ApiVersion::Beta).then(|| well_known_name(mailbox, &f.id)),
    }
}

fn folder_response(
    ctx: &Ctx,
    status: StatusCode,
    mailbox: &DriveRecord,
    user: &str,
    f: &MailFolderRecord,
) -> Result<Response, ApiError> {
    let select = selected(ctx, MAIL_FOLDER_PROPERTIES, "mailFolder")?;
    let body = crate::wire::Entity {
        context: format!("{}/mailFolders/$entity", metadata(ctx, user)),
        members: shape(wire(ctx, mailbox, f), select.as_deref(), &[]),
    };
    Ok(json_response(status, &body))
}

async fn list(ctx: &Ctx, mailbox: &DriveRecord, user: &str, parent: &str) -> Result<Response, ApiError> {
    let select = selected(ctx, MAIL_FOLDER_PROPERTIES, "mailFolder")?;
    let hidden = ctx
        .query
        .raw
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("includeHiddenFolders") && v.eq_ignore_ascii_case("true"));
    let all = ctx.store().mail_folders(ctx.tenant(), &mailbox.drive_id, parent, hidden).await?;
    let top = ctx.query.top.unwrap_or(FOLDER_PAGE).clamp(1, 1000);
    let skip = ctx.query.skip.unwrap_or(0);
    let start = usize::try_from(skip).unwrap_or(usize::MAX).min(all.len());
    let end = start.saturating_add(top as usize).min(all.len());
    let value: Vec<_> = all[start..end].iter().map(|f| shape(wire(ctx, mailbox, f), select.as_deref(), &[])).collect();
    let next_link = (end < all.len())
        .then(|| format!("{}{}?{}", ctx.origin, ctx.path, query::skip_query(&ctx.query.raw, end as i64)));
    let context = if parent == mailbox.root_id {
        format!("{}/mailFolders", metadata(ctx, user))
    } else {
        format!("{}/mailFolders('{parent}')/childFolders", metadata(ctx, user))
    };
    Ok(json_response(StatusCode::OK, &crate::wire::Collection { context, count: None, value, next_link }))
}

/// The display name a body sets: required on create, the only property a folder's PATCH takes.
fn display_name(body: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<Option<String>, ApiError> {
    if let Some(other) = body.keys().find(|k| !k.starts_with('@') && !allowed.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "The property '{other}' does not exist on type 'microsoft.graph.mailFolder' or cannot be set."
        )));
    }
    match body.get("displayName") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(n)) => Ok(Some(n.clone())),
        Some(_) => Err(ApiError::BadRequest("'displayName' must be a string.".into())),
    }
}

async fn create(ctx: &Ctx, mailbox: &DriveRecord, user: &str, parent: &str) -> Result<Response, ApiError> {
    let body = json_body(ctx)?;
    let name = display_name(&body, &["displayName", "isHidden"])?
        .ok_or_else(|| ApiError::MailRefused("ErrorInvalidRequest", "A new folder needs a 'displayName'.".into()))?;
    let hidden = match body.get("isHidden") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ApiError::BadRequest("'isHidden' must be true or false.".into())),
    };
    let made = ctx
        .store()
        .create_mail_folder(ctx.writer(), &mailbox.drive_id, parent, &name, hidden)
        .await
        .map_err(refusal)?;
    folder_response(ctx, StatusCode::CREATED, mailbox, user, &made)
}

async fn rename(ctx: &Ctx, mailbox: &DriveRecord, user: &str, f: &MailFolderRecord) -> Result<Response, ApiError> {
    let body = json_body(ctx)?;
    let Some(name) = display_name(&body, &["displayName"])? else {
        return folder_response(ctx, StatusCode::OK, mailbox, user, f);
    };
    let renamed = ctx.store().rename_mail_folder(ctx.writer(), mailbox, &f.id, &name).await.map_err(refusal)?;
    folder_response(ctx, StatusCode::OK, mailbox, user, &renamed)
}
