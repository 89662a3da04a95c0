//! The delta-PATCH plan: which artifacts a request adds and removes, and which request-level rules it
//! breaks (size, duplicates, mixed destinations). Item-level failures are decided per item.

use std::collections::HashSet;

use crate::enums::DestinationType;
use crate::error::RuleError;
#[allow(unused_imports)] // named in the docs
use crate::MAX_ARTIFACTS_PER_REQUEST;
use crate::{Limits, MAX_ID_LEN};

/// A restore point reference after syntax checks: a non-empty opaque id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RestorePointRef(String);

impl RestorePointRef {
    /// Ids are opaque strings (never rejected for not being GUIDs), but an empty one, one with white
    /// space or control characters, or one longer than [`MAX_ID_LEN`] is malformed.
    pub fn parse(raw: &str) -> Result<RestorePointRef, RuleError> {
        if raw.is_empty() {
            return Err(RuleError::InvalidRestorePoint("the restore point id is empty.".into()));
        }
        if raw.len() > MAX_ID_LEN {
            return Err(RuleError::InvalidRestorePoint(format!(
                "the restore point id is longer than {MAX_ID_LEN} characters."
            )));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(RuleError::InvalidRestorePoint(
                "the restore point id contains white space or control characters.".into(),
            ));
        }
        Ok(RestorePointRef(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One artifact to add: a restore point and where to restore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactAdd {
    pub restore_point: RestorePointRef,
    pub destination: DestinationType,
    /// The client's own `@contentId`, echoed back when present.
    pub content_id: Option<String>,
    /// What a granular artifact restores of its point; `None` for a whole site, OneDrive or mailbox.
    pub granular: Option<Granular>,
}

/// What of a restore point a granular artifact restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granular {
    /// A file or folder (or a whole library) chosen in a browse session, by its item key: the
    /// artifact's id. `web_url` is where the item was.
    Item { browse_session_id: String, item_key: String, web_url: Option<String> },
    /// The messages a mail search matched.
    Search { search_response_id: String },
}

impl ArtifactAdd {
    /// What makes two artifacts of a session the same: the item key or search of a granular
    /// artifact, the restore point of a standard one.
    pub fn key(&self) -> &str {
        match &self.granular {
            Some(Granular::Item { item_key, .. }) => item_key,
            Some(Granular::Search { search_response_id }) => search_response_id,
            None => self.restore_point.as_str(),
        }
    }

    /// How [`RuleError::DuplicateArtifact`] names it.
    fn described(&self) -> String {
        match &self.granular {
            Some(Granular::Item { item_key, .. }) => format!("item '{item_key}'"),
            Some(Granular::Search { search_response_id }) => format!("search '{search_response_id}'"),
            None => format!("restore point '{}'", self.restore_point.as_str()),
        }
    }
}

/// One element of a `…@delta` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaItem {
    Add(ArtifactAdd),
    Remove { id: String, content_id: Option<String> },
}

/// An artifact already in the session, as far as the plan needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingArtifact {
    pub id: String,
    /// What makes it a duplicate ([`ArtifactAdd::key`]).
    pub key: String,
    pub destination: DestinationType,
    pub granular: bool,
}

/// What to do for each request element, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedItem {
    Add(ArtifactAdd),
    Remove {
        id: String,
        content_id: Option<String>,
    },
    /// A remove of an id that is not in the session: fails alone (409).
    RemoveMissing {
        id: String,
        content_id: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaPlan {
    pub items: Vec<PlannedItem>,
}

/// Refuses a request with more than `limit` elements ([`MAX_ARTIFACTS_PER_REQUEST`] on the service).
pub fn check_request_size(len: usize, on_create: bool, limit: usize) -> Result<(), RuleError> {
    if len > limit {
        Err(RuleError::ArtifactLimit { on_create })
    } else {
        Ok(())
    }
}

/// Plans a delta against the session's current artifacts. Request-level rules:
/// - the same restore point twice among the adds, or one that stays in the session: `DuplicateArtifact`;
/// - the artifacts the session would hold afterwards mix `new` and `inPlace`: `MixedDestinations`.
///
/// A restore point already in the session is no duplicate if the same request removes its artifact.
pub fn plan_delta(items: Vec<DeltaItem>, existing: &[ExistingArtifact]) -> Result<DeltaPlan, RuleError> {
    plan_delta_within(items, existing, &Limits::SERVICE)
}

/// [`plan_delta`] under other limits.
pub fn plan_delta_within(
    items: Vec<DeltaItem>,
    existing: &[ExistingArtifact],
    limits: &Limits,
) -> Result<DeltaPlan, RuleError> {
    check_request_size(items.len(), false, limits.artifacts_per_request)?;
    let removed: HashSet<&str> = items
        .iter()
        .filter_map(|i| match i {
            DeltaItem::Remove { id, .. } => Some(id.as_str()),
            DeltaItem::Add(_) => None,
        })
        .collect();
    let staying: Vec<&ExistingArtifact> = existing.iter().filter(|a| !removed.contains(a.id.as_str())).collect();
    let staying_keys: HashSet<&str> = staying.iter().map(|a| a.key.as_str()).collect();
    let mut destinations: HashSet<DestinationType> = staying.iter().map(|a| a.destination).collect();
    let mut kinds: HashSet<bool> = staying.iter().map(|a| a.granular).collect();

    let mut seen_keys = HashSet::new();
    for item in &items {
        if let DeltaItem::Add(add) = item {
            let key = add.key();
            if staying_keys.contains(key) {
                return Err(RuleError::DuplicateArtifact { what: add.described(), already_in_session: true });
            }
            if !seen_keys.insert(key) {
                return Err(RuleError::DuplicateArtifact { what: add.described(), already_in_session: false });
            }
            destinations.insert(add.destination);
            kinds.insert(add.granular.is_some());
        }
    }
    if kinds.len() > 1 {
        return Err(RuleError::MixedRestoreKinds);
    }
    if destinations.len() > 1 {
        return Err(RuleError::MixedDestinations);
    }

    let existing_ids: HashSet<&str> = existing.iter().map(|a| a.id.as_str()).collect();
    let mut removed_once = HashSet::new();
    let planned = items
        .into_iter()
        .map(|item| match item {
            DeltaItem::Add(add) => PlannedItem::Add(add),
            DeltaItem::Remove { id, content_id } => {
                if existing_ids.contains(id.as_str()) && removed_once.insert(id.clone()) {
                    PlannedItem::Remove { id, content_id }
                } else {
                    PlannedItem::RemoveMissing { id, content_id }
                }
            }
        })
        .collect();
    Ok(DeltaPlan { items: planned })
}

/// Plans the artifacts of a create request (or a POST to the artifact collection): the same rules,
/// against a set of current artifacts, but the size limit is the create one (413).
pub fn plan_adds(adds: Vec<ArtifactAdd>, existing: &[ExistingArtifact]) -> Result<Vec<ArtifactAdd>, RuleError> {
    plan_adds_within(adds, existing, &Limits::SERVICE)
}

/// [`plan_adds`] under other limits.
pub fn plan_adds_within(
    adds: Vec<ArtifactAdd>,
    existing: &[ExistingArtifact],
    limits: &Limits,
) -> Result<Vec<ArtifactAdd>, RuleError> {
    check_request_size(adds.len(), true, limits.artifacts_per_request)?;
    let plan = plan_delta_within(adds.into_iter().map(DeltaItem::Add).collect(), existing, limits)?;
    Ok(plan
        .items
        .into_iter()
        .filter_map(|i| match i {
            PlannedItem::Add(a) => Some(a),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(rp: &str, d: DestinationType) -> DeltaItem {
        DeltaItem::Add(ArtifactAdd {
            restore_point: RestorePointRef::parse(rp).unwrap(),
            destination: d,
            content_id: None,
            granular: None,
        })
    }
    fn remove(id: &str) -> DeltaItem {
        DeltaItem::Remove { id: id.into(), content_id: None }
    }
    fn existing(id: &str, rp: &str, d: DestinationType) -> ExistingArtifact {
        ExistingArtifact { id: id.into(), key: rp.into(), destination: d, granular: false }
    }

    #[test]
    fn ids_are_opaque_but_not_empty() {
        assert!(RestorePointRef::parse("2b014d8c-71fe-4d00-a01a-31850bc5b32").is_ok());
        assert!(RestorePointRef::parse("M2UyZDAwMDAwMDMxMzkzYTMyNj==").is_ok());
        assert!(RestorePointRef::parse("").is_err());
        assert!(RestorePointRef::parse("a b").is_err());
        assert!(RestorePointRef::parse(&"x".repeat(257)).is_err());
    }

    #[test]
    fn granular_items_are_told_apart_by_key() {
        let item = |key: &str| {
            DeltaItem::Add(ArtifactAdd {
                restore_point: RestorePointRef::parse("rp1").unwrap(),
                destination: DestinationType::New,
                content_id: None,
                granular: Some(Granular::Item { browse_session_id: "b".into(), item_key: key.into(), web_url: None }),
            })
        };
        // Two items of one point are two artifacts; the same item twice is a duplicate.
        assert!(plan_delta(vec![item("s,w,l,1"), item("s,w,l,2")], &[]).is_ok());
        let twice = plan_delta(vec![item("s,w,l,1"), item("s,w,l,1")], &[]).unwrap_err();
        assert!(twice.to_string().contains("item 's,w,l,1' appears more than once"), "{twice}");
        let held = ExistingArtifact {
            id: "s,w,l,1".into(),
            key: "s,w,l,1".into(),
            destination: DestinationType::New,
            granular: true,
        };
        assert!(matches!(
            plan_delta(vec![item("s,w,l,1")], std::slice::from_ref(&held)),
            Err(RuleError::DuplicateArtifact { already_in_session: true, .. })
        ));
        // A session holds whole restores or granular ones.
        assert_eq!(
            plan_delta(vec![add("rp2", DestinationType::New)], &[held]).unwrap_err(),
            RuleError::MixedRestoreKinds
        );
    }

    #[test]
    fn duplicates_and_mixing() {
        use DestinationType::*;
        let ex = [existing("a1", "rp1", New)];
        assert!(matches!(
            plan_delta(vec![add("rp2", New), add("rp2", New)], &ex),
            Err(RuleError::DuplicateArtifact { already_in_session: false, .. })
        ));
        assert!(matches!(
            plan_delta(vec![add("rp1", New)], &ex),
            Err(RuleError::DuplicateArtifact { already_in_session: true, .. })
        ));
        // Removing the artifact in the same request frees its restore point and its destination.
        assert!(plan_delta(vec![remove("a1"), add("rp1", InPlace)], &ex).is_ok());
        assert_eq!(plan_delta(vec![add("rp2", InPlace)], &ex), Err(RuleError::MixedDestinations));
        assert_eq!(plan_delta(vec![add("rp2", New), add("rp3", InPlace)], &[]), Err(RuleError::MixedDestinations));
    }

    #[test]
    fn removes_of_unknown_ids_fail_alone() {
        let ex = [existing("a1", "rp1", DestinationType::New)];
        let plan = plan_delta(vec![remove("a1"), remove("a1"), remove("zz")], &ex).unwrap();
        assert!(matches!(plan.items[0], PlannedItem::Remove { .. }));
        assert!(matches!(plan.items[1], PlannedItem::RemoveMissing { .. }));
        assert!(matches!(plan.items[2], PlannedItem::RemoveMissing { .. }));
    }

    #[test]
    fn size_limits() {
        let many: Vec<DeltaItem> = (0..51).map(|i| add(&format!("rp{i}"), DestinationType::New)).collect();
        assert_eq!(plan_delta(many, &[]), Err(RuleError::ArtifactLimit { on_create: false }));
        let adds: Vec<ArtifactAdd> = (0..51)
            .map(|i| ArtifactAdd {
                restore_point: RestorePointRef::parse(&format!("rp{i}")).unwrap(),
                destination: DestinationType::New,
                content_id: None,
                granular: None,
            })
            .collect();
        assert_eq!(plan_adds(adds, &[]), Err(RuleError::ArtifactLimit { on_create: true }));
    }
}
