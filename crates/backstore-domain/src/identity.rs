//! Who did something: the caller recorded in `createdBy` / `lastModifiedBy`.

use serde::{Deserialize, Serialize};

/// A caller as its token names it: always an application, and a user for delegated tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub application_id: String,
    pub application_name: Option<String>,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}
