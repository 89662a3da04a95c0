//! Granular artifacts as a create or delta PATCH names them, resolved before the store adds them:
//! an item of a browse session gets the session's restore point and the item's original URL (the
//! session must be the caller's, of the workload, unexpired and created, and the key one of its
//! items), and a mail search must be one made over the restore point the artifact names.

use std::collections::HashMap;

use axum::http::StatusCode;
use backstore_content::BlobId;
use backstore_domain::{ArtifactAdd, DeltaItem, Granular, RestorePointRef, Workload};
use backstore_store::sql::browse_sessions::BrowseSessionRecord;

use super::browse::{bad_key, find_items, library_url, load, location_of, Found, Location};
use crate::error::ApiError;
use crate::Ctx;

/// A granular add of a delta that fails alone, as an unknown restore point does: its position in
/// the request, the add, and the refusal.
pub(super) struct Refused {
    pub index: usize,
    pub add: ArtifactAdd,
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

/// Resolves the granular adds of a delta; those that cannot be (an unknown or unready browse
/// session, a key naming nothing in it, an unknown search) are taken out of `items` and returned,
/// to fail alone. Standard items are left as they are.
pub(super) async fn resolve_delta(
    ctx: &Ctx,
    w: Workload,
    items: &mut Vec<DeltaItem>,
) -> Result<Vec<Refused>, ApiError> {
    let adds = items.iter().filter_map(|i| match i {
        DeltaItem::Add(a) => Some(a),
        DeltaItem::Remove { .. } => None,
    });
    let mut sessions = Sessions::of(adds);
    let mut refused = Vec::new();
    let mut kept = Vec::with_capacity(items.len());
    for (index, item) in std::mem::take(items).into_iter().enumerate() {
        let DeltaItem::Add(mut add) = item else {
            kept.push(item);
            continue;
        };
        match resolve_one(ctx, w, &mut add, &mut sessions).await {
            Ok(()) => kept.push(DeltaItem::Add(add)),
            Err(ApiError::Refused(status, code, message)) => {
                refused.push(Refused { index, add, status, code, message })
            }
            Err(other) => return Err(other),
        }
    }
    *items = kept;
    Ok(refused)
}

/// Resolves the granular adds of a create.
pub(super) async fn resolve(ctx: &Ctx, w: Workload, adds: &mut [ArtifactAdd]) -> Result<(), ApiError> {
    let mut sessions = Sessions::of(adds.iter());
    for add in adds {
        resolve_one(ctx, w, add, &mut sessions).await?;
    }
    Ok(())
}

/// The browse sessions a request's items name, each read once, and their items found in one walk
/// of the point's tree for all the request's keys of that session.
struct Sessions {
    /// The item ids each session's keys name (the last part of four-part keys).
    wanted: HashMap<String, Vec<String>>,
    loaded: HashMap<String, BrowseSessionRecord>,
    found: HashMap<String, HashMap<String, Found>>,
}

impl Sessions {
    fn of<'a>(adds: impl Iterator<Item = &'a ArtifactAdd>) -> Sessions {
        let mut wanted: HashMap<String, Vec<String>> = HashMap::new();
        for add in adds {
            if let Some(Granular::Item { browse_session_id, item_key, .. }) = &add.granular {
                if let Some(item) = item_key.split(',').nth(3) {
                    wanted.entry(browse_session_id.clone()).or_default().push(item.trim().to_owned());
                }
            }
        }
        Sessions { wanted, loaded: HashMap::new(), found: HashMap::new() }
    }

    async fn session(&mut self, ctx: &Ctx, id: &str, w: Workload) -> Result<BrowseSessionRecord, ApiError> {
        if let Some(s) = self.loaded.get(id) {
            return Ok(s.clone());
        }
        let s = load(ctx, id, Some(w)).await?;
        self.loaded.insert(id.to_owned(), s.clone());
        Ok(s)
    }

    /// Item `item` of session `s` (whose tree is at `root`), if the point holds it.
    async fn item(
        &mut self,
        ctx: &Ctx,
        s: &BrowseSessionRecord,
        root: BlobId,
        item: &str,
    ) -> Result<Option<&Found>, ApiError> {
        if !self.found.contains_key(&s.id) {
            let ids: Vec<&str> = self.wanted.get(&s.id).into_iter().flatten().map(String::as_str).collect();
            let found = find_items(ctx, root, &ids).await?;
            self.found.insert(s.id.clone(), found);
        }
        Ok(self.found.get(&s.id).and_then(|f| f.get(item)))
    }
}

async fn resolve_one(ctx: &Ctx, w: Workload, add: &mut ArtifactAdd, sessions: &mut Sessions) -> Result<(), ApiError> {
    match &mut add.granular {
        None => Ok(()),
        Some(Granular::Item { browse_session_id, item_key, web_url }) => {
            let s = sessions.session(ctx, browse_session_id, w).await?;
            let Some(root) = s.content_root.filter(|_| s.status == "created") else {
                return Err(ApiError::Refused(
                    StatusCode::BAD_REQUEST,
                    "BrowseSessionNotReady",
                    format!("Browse session '{}' is {}; its items cannot be restored.", s.id, s.status),
                ));
            };
            *web_url = match location_of(&s, item_key)? {
                Location::Site => s.resource.site_web_url.clone(),
                Location::Library => library_url(&s),
                Location::Item(id) => {
                    let found = sessions.item(ctx, &s, root, &id).await?.ok_or_else(|| {
                        bad_key(format!("The item key '{item_key}' names nothing in this restore point."))
                    })?;
                    library_url(&s).map(|u| format!("{u}{}", crate::wire::drives::encoded_path(&found.path)))
                }
            };
            add.restore_point = RestorePointRef::parse(&s.restore_point_id)?;
            Ok(())
        }
        Some(Granular::Search { search_response_id }) => {
            let search = ctx.store().search(ctx.tenant(), search_response_id).await?.ok_or_else(|| {
                ApiError::Refused(
                    StatusCode::NOT_FOUND,
                    "SearchResponseNotFound",
                    format!("Search response '{search_response_id}' was not found."),
                )
            })?;
            if search.restore_point_id != add.restore_point.as_str() {
                return Err(ApiError::Refused(
                    StatusCode::BAD_REQUEST,
                    "InvalidRestorePoint",
                    format!(
                        "Search response '{search_response_id}' was made over restore point '{}', not '{}'.",
                        search.restore_point_id,
                        add.restore_point.as_str()
                    ),
                ));
            }
            Ok(())
        }
    }
}
