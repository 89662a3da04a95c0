//! Who did something: the caller recorded in `createdBy` / `lastModifiedBy`, and when.

use serde::{Deserialize, Serialize};

/// A caller as its token names it: always an application, and a user for delegated tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub application_id: String,
    pub application_name: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}

/// Who made a record and when, and who changed it last and when (`createdBy`, `createdDateTime`,
/// `lastModifiedBy`, `lastModifiedDateTime`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamps {
    pub created_at: crate::Timestamp,
    pub created_by: Actor,
    pub last_modified_at: crate::Timestamp,
    pub last_modified_by: Actor,
}
