//! Records of the protection side: policies and their deltas (units and, on beta, exclusion
//! units), unit and exclusion bulk jobs, inclusion rules.

use super::{ErrorDetail, ProtectionUnitRecord, Stamps};
use backstore_domain::restore::Resource;
use backstore_domain::{ErrorInfo, Workload};

/// `protectionPolicyArtifactCount`: units protected (completed), waiting for the engine
/// (inProgress), that could not be protected (failed), and all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyCounts {
    pub total: i64,
    pub completed: i64,
    pub in_progress: i64,
    pub failed: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRecord {
    pub seq: i64,
    pub id: String,
    pub workload: Workload,
    pub display_name: Option<String>,
    /// Activated (and not deactivated since).
    pub enabled: bool,
    pub status: backstore_domain::policy::PolicyStatus,
    pub counts: PolicyCounts,
    pub stamps: Stamps,
    /// beta's `protectionMode: fullServiceBackup`: every resource of the workload in the tenant's
    /// directory is protected but the ones its exclusion units name.
    pub full_service: bool,
}

/// One element of a policy's `…ProtectionUnits@delta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyDeltaItem {
    /// Add the resource (site id or directory object id).
    Add { resource_id: String, content_id: Option<String> },
    /// Remove the unit with this id.
    Remove { unit_id: String, content_id: Option<String> },
}

/// What became of one element of a policy delta, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyItemResult {
    Added { unit: Box<ProtectionUnitRecord>, content_id: Option<String> },
    Removed { unit: Box<ProtectionUnitRecord>, content_id: Option<String> },
    Failed { index: usize, item: PolicyDeltaItem, code: String, message: String, response_code: u16 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDeltaOutcome {
    pub policy: PolicyRecord,
    pub items: Vec<PolicyItemResult>,
    pub exclusions: Vec<ExclusionItemResult>,
}

/// beta: a resource a full-service policy leaves out (`siteExclusionUnit`, `driveExclusionUnit`,
/// `mailboxExclusionUnit`), named as the directory named it when it was excluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionRecord {
    pub seq: i64,
    pub id: String,
    pub policy_id: String,
    pub workload: Workload,
    pub resource: Resource,
    pub stamps: Stamps,
}

/// beta: an exclusion unit bulk addition job of a full-service policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExclusionJobRecord {
    pub seq: i64,
    pub id: String,
    pub policy_id: String,
    pub workload: Workload,
    pub display_name: Option<String>,
    /// active | completed | completedWithErrors
    pub status: String,
    /// `siteWebUrls` / `mailboxes` / `drives`
    pub addresses: Vec<String>,
    pub error: Option<(ErrorInfo, Vec<ErrorDetail>)>,
    pub stamps: Stamps,
}

/// One element of a policy's `…ExclusionUnits@delta`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExclusionDeltaItem {
    /// Exclude the resource (site id or directory object id).
    Add { resource_id: String, content_id: Option<String> },
    /// Drop the exclusion unit with this id: the resource is protected again.
    Remove { id: String, content_id: Option<String> },
}

/// What became of one element of an exclusions delta, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExclusionItemResult {
    Added { exclusion: Box<ExclusionRecord>, content_id: Option<String> },
    Removed { exclusion: Box<ExclusionRecord>, content_id: Option<String> },
    Failed { index: usize, item: ExclusionDeltaItem, code: String, message: String, response_code: u16 },
}

/// A protection-unit bulk addition job of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitBulkJobRecord {
    pub seq: i64,
    pub id: String,
    pub policy_id: String,
    pub workload: Workload,
    pub display_name: Option<String>,
    /// active | completed | completedWithErrors
    pub status: String,
    /// `siteWebUrls` / `mailboxes` / `drives`
    pub addresses: Vec<String>,
    /// `siteIds` / `directoryObjectIds`
    pub object_ids: Vec<String>,
    pub error: Option<(ErrorInfo, Vec<ErrorDetail>)>,
    pub stamps: Stamps,
}

/// An inclusion rule of a policy: an expression over the tenant's directory, applied by the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRecord {
    pub seq: i64,
    pub id: String,
    pub policy_id: String,
    pub workload: Workload,
    /// `siteExpression` / `mailboxExpression` / `driveExpression`, as the client wrote it.
    pub expression: String,
    /// active (being applied) | completed | completedWithErrors | deleteRequested
    pub status: String,
    pub error: Option<(ErrorInfo, Vec<ErrorDetail>)>,
    pub stamps: Stamps,
}

/// What `run` and `deleteAndUnprotect` ask of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Apply the rule again (static rules).
    Run,
    /// Remove the units the rule added from its policy, then the rule itself.
    DeleteAndUnprotect,
}
