//! The restore-session domain: workloads, statuses, the status aggregation rules, the delta-PATCH plan
//! and the limits of the real service. Pure functions and plain data; no IO, no async.

pub mod activity;
pub mod delta;
pub mod echo;
pub mod enums;
pub mod error;
pub mod identity;
pub mod mail_query;
pub mod policy;
pub mod restore;
pub mod retention;
pub mod rule;
pub mod status;

pub use delta::{plan_delta, ArtifactAdd, DeltaItem, DeltaPlan, ExistingArtifact, Granular, RestorePointRef};
pub use enums::{
    ArtifactStatus, DestinationType, ProtectionUnitStatus, RestoreJobType, RestorePointTags, SessionStatus, Workload,
};
pub use error::RuleError;
pub use identity::{Actor, Stamps};

/// A Graph `publicError` as the domain records it on artifacts and sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
}
pub use status::{derive_session, ArtifactCounts, SessionDerived};

/// Most artifacts one create or PATCH request may carry (error-codes page).
pub const MAX_ARTIFACTS_PER_REQUEST: usize = 50;
/// Most sessions that may be activating or active at once in one tenant.
pub const MAX_ACTIVE_SESSIONS_PER_TENANT: i64 = 25;
/// The limits the service holds restores to; switchable (`serve --limits`) so that load tests of
/// a backup product can go past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most artifacts one create, POST or delta PATCH may carry.
    pub artifacts_per_request: usize,
    /// Most sessions activating or active at once in one tenant.
    pub active_sessions: i64,
}

impl Limits {
    /// The real service's limits (the default).
    pub const SERVICE: Limits =
        Limits { artifacts_per_request: MAX_ARTIFACTS_PER_REQUEST, active_sessions: MAX_ACTIVE_SESSIONS_PER_TENANT };
    /// No count limits (the request body size still bounds a request).
    pub const UNLIMITED: Limits = Limits { artifacts_per_request: usize::MAX, active_sessions: i64::MAX };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::SERVICE
    }
}

/// Longest restore point id we accept as well-formed; ids are otherwise opaque.
pub const MAX_ID_LEN: usize = 256;

/// A stable 64-bit hash (FNV-1a) for spreading generated values deterministically; not for security.
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Timestamps are UTC, kept to the microsecond everywhere (store and wire).
pub type Timestamp = chrono::DateTime<chrono::Utc>;
