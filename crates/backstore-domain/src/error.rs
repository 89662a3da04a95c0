//! Rule violations of the restore-session domain, one variant per refusal the real service documents.

use crate::enums::Workload;

/// What a session operation does, for the "not in draft" refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    Patch,
    Delete,
    Activate,
    AddArtifact,
}

impl SessionAction {
    pub fn verb(self) -> &'static str {
        match self {
            SessionAction::Patch | SessionAction::AddArtifact => "patch",
            SessionAction::Delete => "delete",
            SessionAction::Activate => "activate",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("Valid ID but session not found.")]
    SessionNotFound,
    #[error("Restore Artifact doesn't exist.")]
    ArtifactNotFound,
    #[error("Attempt to {} active restore session. Restore session can only be {}d in Draft state.", .0.verb(), .0.verb())]
    NotDraft(SessionAction),
    #[error("Empty or null restore artifact list.")]
    EmptyArtifactList,
    #[error("Attempt to activate more than 25 sessions simultaneously.")]
    TooManyActiveSessions,
    /// More than 50 artifacts in one request; `on_create` picks 413 over 400.
    #[error("{}", if *.on_create { "Request Exceeded maximum artifacts limit." } else { "Exceeded maximum artifacts limit of 50 for single request." })]
    ArtifactLimit { on_create: bool },
    #[error("Duplicate artifacts in the request: {what} {}.", if *.already_in_session { "is already in the restore session" } else { "appears more than once" })]
    DuplicateArtifact { what: String, already_in_session: bool },
    #[error("A restore session holds either whole restores or granular ones, not both.")]
    MixedRestoreKinds,
    #[error("Different destination types for artifacts in request.")]
    MixedDestinations,
    #[error("Invalid restore point provided: {0}")]
    InvalidRestorePoint(String),
    #[error("PathType (new/in-place) isn't known for artifacts: {0}")]
    InvalidDestination(String),
    /// A malformed PATCH body, or a server-managed property sent with a value other than its own.
    #[error("{0}")]
    InvalidPatch(String),
    /// A bulk addition request the session cannot take (one per session, no manual artifacts).
    #[error("{0}")]
    InvalidBulkRequest(String),
    /// No such bulk addition request in the session.
    #[error("No bulkRestoreArtifact item with the given bulkRestoreArtifactId.")]
    BulkRequestNotFound,
    /// A bulk addition request that is still resolving cannot be deleted.
    #[error("A bulk request can only be deleted when its status is completed or completedWithErrors.")]
    BulkRequestNotFinished,
    /// A restore point that is well formed but unusable; item-level on PATCH, request-level on create.
    #[error("{0}")]
    RestorePointUnusable(RestorePointProblem),

    // ---- the protection side ----
    #[error("Protection policy not found.")]
    PolicyNotFound,
    /// A policy create body that is null, not an object, or has unknown or read-only properties.
    #[error("Invalid create request: {0}")]
    InvalidCreateRequest(String),
    #[error("Display name length must be between 1 and 1024 characters.")]
    InvalidDisplayName,
    /// Activate, deactivate or delete in a status that does not allow it.
    #[error("{0}")]
    PolicyActionNotAllowed(String),
    #[error("An active protection policy already exists for this service.")]
    PolicyCreationNotAllowed,
    /// beta: a second full-service policy of one workload.
    #[error("A full-service backup policy already exists for this service; exclude resources from it instead.")]
    FullServicePolicyExists,
    /// More than 50 units in one policy create or update request.
    #[error("Protection units limit breached: at most 50 protection units per request.")]
    UnitLimit,
    #[error("Duplicate protection unit in the request: '{0}'.")]
    DuplicateUnit(String),
    /// A resource the tenant does not have (create refuses the whole request).
    #[error("Protection unit ID in request is invalid: no resource '{0}' exists in this tenant.")]
    UnknownResource(String),
    #[error("The artifact '{0}' is already protected by another protection policy.")]
    UnitAlreadyProtected(String),
    /// A unit that a dynamic inclusion rule added cannot be removed by hand.
    #[error("Protection unit '{0}' was added by a dynamic rule and cannot be removed manually.")]
    UnitActionNotAllowed(String),
    #[error("Protection unit not found.")]
    UnitNotFound,
    /// Offboarding a unit that is still in a policy, or in the wrong status.
    #[error("{0}")]
    OperationNotAllowed(String),

    // ---- inclusion rules ----
    /// A rule create body that is not an object, lacks its expression, or has unknown properties.
    #[error("Invalid inclusion rule create request: {0}")]
    InvalidRuleCreate(String),
    /// An expression that does not parse or names what the workload does not know.
    #[error("Invalid rule expression: {0}")]
    InvalidRuleExpression(String),
    #[error("{0}")]
    RuleGroupLimit(String),
    #[error("Protection rule not found.")]
    RuleNotFound,
    /// `run` or `deleteAndUnprotect` in a status that does not allow it.
    #[error("{0}")]
    RuleActionNotAllowed(String),
    #[error("Run is not allowed for a dynamic rule; dynamic rules apply themselves.")]
    RunNotAllowedForDynamicRule,
    #[error("Only dynamic rules can be updated; this rule is static.")]
    PatchNotAllowedForStaticRule,
    /// A rule PATCH body that changes `isAutoApplyEnabled` or has unknown properties.
    #[error("Invalid protection rule update request: {0}")]
    InvalidRulePatch(String),
    /// Deleting a rule while it is being applied.
    #[error("{0}")]
    RuleStatusForDeletion(String),

    // ---- service apps ----
    #[error("Service app not found.")]
    ServiceAppNotFound,
    #[error("Application '{0}' is registered as a service app already.")]
    ServiceAppAlreadyExists(String),
    /// Activate or deactivate in a status that does not allow it, or a bad effective date.
    #[error("{0}")]
    ServiceAppActionNotAllowed(String),
}

/// Why a well-formed restore point id cannot be restored in a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestorePointProblem {
    #[error("Restore point '{0}' was not found.")]
    NotFound(String),
    #[error("Restore point '{0}' has expired.")]
    Expired(String),
    #[error("Restore point '{id}' belongs to a {} protection unit, not to this {} restore session.", .point.unit_kind(), .session.unit_kind())]
    WrongWorkload { id: String, point: Workload, session: Workload },
}
