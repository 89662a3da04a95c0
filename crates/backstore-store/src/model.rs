//! Records as the store hands them out: domain values plus the keyset position (`seq`).

use backstore_domain::restore::{Resource, RestoreOutcome, UnitInfo};
pub use backstore_domain::Stamps;
use backstore_domain::{
    Actor, ArtifactAdd, ArtifactStatus, DestinationType, ErrorInfo, RestoreJobType, RestorePointTags, SessionDerived,
    Timestamp, Workload,
};

mod protection;
mod view;
pub use protection::*;
pub use view::*;

#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// Keyset position: increases with creation.
    pub seq: i64,
    pub id: String,
    pub workload: Workload,
    pub job_type: RestoreJobType,
    pub activated_at: Option<Timestamp>,
    pub stamps: Stamps,
    pub derived: SessionDerived,
    pub completed_at: Option<Timestamp>,
    pub error: Option<ErrorInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePointRecord {
    pub id: String,
    pub protection_unit_id: String,
    pub workload: Workload,
    pub protection_at: Timestamp,
    pub expiration_at: Timestamp,
    pub tags: RestorePointTags,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactRecord {
    pub seq: i64,
    pub id: String,
    pub session_id: String,
    pub restore_point: RestorePointRecord,
    pub destination: DestinationType,
    pub status: ArtifactStatus,
    pub created_at: Timestamp,
    pub start_at: Option<Timestamp>,
    pub completion_at: Option<Timestamp>,
    pub error: Option<ErrorInfo>,
    pub outcome: RestoreOutcome,
    /// What a granular artifact restores; `None` for a standard one.
    pub granular: Option<GranularRecord>,
}

impl ArtifactRecord {
    /// The artifact's id on the wire: a granular site or OneDrive artifact's item key, otherwise
    /// the id the row was given.
    pub fn wire_id(&self) -> &str {
        self.granular.as_ref().and_then(|g| g.item_key.as_deref()).unwrap_or(&self.id)
    }
}

/// What a granular artifact restores of its restore point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GranularRecord {
    /// A site's or OneDrive's: the browse session and item key it was chosen by, where it was.
    pub browse_session_id: Option<String>,
    pub item_key: Option<String>,
    pub web_url: Option<String>,
    /// The owner of the unit (a OneDrive's `directoryObjectId`).
    pub directory_object_id: Option<String>,
    /// A mailbox's: the mail search whose matches it restores.
    pub search_response_id: Option<String>,
}

/// A protection unit as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectionUnitRecord {
    pub info: UnitInfo,
    pub policy_id: Option<String>,
    pub status: backstore_domain::ProtectionUnitStatus,
    pub created_at: Timestamp,
    pub created_by: Option<Actor>,
    pub last_modified_at: Timestamp,
    pub last_modified_by: Option<Actor>,
    /// Restore points are taken from this time on; `None` while the unit was never protected.
    pub protected_since: Option<Timestamp>,
    pub offboard_requested_at: Option<Timestamp>,
    pub error: Option<ErrorInfo>,
    /// `protectionSources`: `manual` or `dynamicRule`.
    pub sources: String,
    /// An error code every restore of this unit fails with (`seed --faulty-units`).
    pub fault: Option<String>,
}

/// A site, mailbox or OneDrive of the tenant outside the backup service (SharePoint and Entra ID in
/// the real world), which a policy can turn into a protection unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryResource {
    pub resource: Resource,
    /// Restores of this resource fail with this error code (a broken site, a mailbox on hold...).
    pub fault: Option<String>,
    /// Ids of the groups the owner belongs to (mailboxes and OneDrives; `memberOf` in rules).
    pub groups: Vec<String>,
}

/// A tenant's service status as a read saw it in the same statement as its rows (`None` inside: the
/// tenant never enabled the service). On PostgreSQL a hot read carries it so that the request's
/// gate costs no statement of its own; it is as fresh as the rows it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSeen(pub Option<String>);

/// A tenant's Backup Storage service state (`serviceStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceState {
    /// `backupServiceStatus`: `enabled`, `disabled`, …
    pub status: String,
    /// `backupServiceConsumer`: `firstparty` when the controlling app is the tenant's own, else `thirdparty`.
    pub consumer: String,
    pub app_owner_tenant_id: String,
    pub last_modified_at: Timestamp,
    pub last_modified_by: Actor,
}

impl ServiceState {
    pub fn is_enabled(&self) -> bool {
        self.status == "enabled"
    }
}

/// What one retention pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Restore points taken for slots that came due.
    pub added: u64,
    /// Points that stopped being fast-restore points.
    pub retagged: u64,
    /// Expired points removed (those an artifact refers to stay, expired).
    pub purged: u64,
    /// Units whose offboarding was carried out or cancelled.
    pub offboarding: u64,
}

/// A protection unit with its keyset position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    pub seq: i64,
    pub unit: ProtectionUnitRecord,
}

/// Which restore points of one unit to look at, and in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestorePointQuery {
    pub unit_id: String,
    /// Lower bound on `protectionDateTime`, and whether it is inclusive.
    pub from: Option<(Timestamp, bool)>,
    /// Upper bound on `protectionDateTime`, and whether it is inclusive.
    pub to: Option<(Timestamp, bool)>,
    /// Only points with this tag.
    pub tags: Option<RestorePointTags>,
    pub newest_first: bool,
    pub limit: i64,
}

impl RestorePointQuery {
    /// The one point a search or a bulk request picks for a unit: the newest (`latest`) or oldest
    /// with `tags` from `from` to `to`, both inclusive.
    pub fn pick(
        unit_id: &str,
        (from, to): (Option<Timestamp>, Option<Timestamp>),
        tags: Option<RestorePointTags>,
        latest: bool,
    ) -> RestorePointQuery {
        let inclusive = |t| (t, true);
        let unit_id = unit_id.to_owned();
        RestorePointQuery {
            unit_id,
            from: from.map(inclusive),
            to: to.map(inclusive),
            tags,
            newest_first: latest,
            limit: 1,
        }
    }
}

/// The result of one element of a delta PATCH, in request order.
#[derive(Debug, Clone, PartialEq)]
pub enum AppliedItem {
    Added { artifact: Box<ArtifactRecord>, content_id: Option<String> },
    Removed { id: String, content_id: Option<String> },
    AddFailed { add: ArtifactAdd, index: usize, problem: backstore_domain::error::RestorePointProblem },
    RemoveFailed { id: String, index: usize, content_id: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeltaOutcome {
    pub session: SessionRecord,
    pub items: Vec<AppliedItem>,
}

/// A job as its holder knows it: the claim is valid while the job is running under this worker
/// and this attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    pub tenant_id: String,
    pub job_id: String,
    /// What the job works on; its kind says what that is (an artifact, a request, a policy, …).
    pub target_id: String,
    pub worker: String,
    pub attempt: i64,
}

/// A job a worker claimed, with what it needs to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub job: JobRef,
    pub work: JobWork,
    /// The previous holder's lease had expired.
    pub takeover: bool,
    pub last_error: Option<String>,
}

/// How a held restore job ends, for [`Store::finish_jobs`]: the artifact's terminal `step` (taken
/// from whichever status it is at on the way), and the event the job's history records.
#[derive(Debug, Clone, PartialEq)]
pub struct JobEnd {
    pub job: JobRef,
    pub step: ArtifactStep,
    pub event: JobEvent,
    /// A `new` restore of a site or OneDrive that copies nothing: the unit's URL, whose next `R<n>`
    /// becomes the succeeded step's `restoredSiteWebUrl`, counted in the transaction that ends the
    /// job (a lost lease spends no number).
    pub new_site_of: Option<String>,
}

/// The kinds of job in the queue, under the names the `jobs.kind` column stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Restore one artifact (the target).
    RestoreArtifact,
    /// Resolve a restore artifact bulk addition request (the target) into artifacts.
    ResolveBulk,
    /// Settle the waiting units of a protection policy (the target).
    SettlePolicy,
    /// Resolve a protection unit bulk addition job (the target) into units.
    ResolveUnitJob,
    /// Apply an inclusion rule (the target), or carry out its `deleteAndUnprotect`.
    ApplyRule,
    /// Resolve an exclusion unit bulk addition job (the target) into exclusion units.
    ResolveExclusionJob,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::RestoreArtifact,
        JobKind::ResolveBulk,
        JobKind::SettlePolicy,
        JobKind::ResolveUnitJob,
        JobKind::ApplyRule,
        JobKind::ResolveExclusionJob,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::RestoreArtifact => "restoreArtifact",
            JobKind::ResolveBulk => "resolveBulk",
            JobKind::SettlePolicy => "settlePolicy",
            JobKind::ResolveUnitJob => "resolveUnitJob",
            JobKind::ApplyRule => "applyRule",
            JobKind::ResolveExclusionJob => "resolveExclusionJob",
        }
    }

    /// The kind a stored name is; `None` for a name this build does not know (a row written by a
    /// newer backstore, or by hand), which is never run.
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a job does.
#[derive(Debug, Clone, PartialEq)]
pub enum JobWork {
    /// Restore one artifact (`JobRef::target_id`).
    Restore(Box<RestoreWork>),
    /// Turn a bulk addition request (`JobRef::target_id` holds its id) into artifacts.
    ResolveBulk,
    /// Turn a protection-unit bulk addition job (`JobRef::target_id` holds its id) into units.
    ResolveUnitJob,
    /// Settle the units of a protection policy (`JobRef::target_id` holds its id) that wait in a
    /// `…Requested` status, and the policy's status with them.
    SettlePolicy,
    /// Apply an inclusion rule (`JobRef::target_id` holds its id), or carry out its
    /// `deleteAndUnprotect`.
    ApplyRule,
    /// Turn an exclusion unit bulk addition job (`JobRef::target_id` holds its id) into exclusion units.
    ResolveExclusionJob,
}

/// The artifact a restore job restores, with its unit.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreWork {
    pub artifact: ArtifactRecord,
    pub unit: UnitInfo,
    /// The unit's fault mark, if any.
    pub unit_fault: Option<String>,
}

/// What a restore artifact bulk addition request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequestSpec {
    pub display_name: Option<String>,
    pub destination: DestinationType,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
    /// `restorePointPreference`: latest (true) or oldest.
    pub latest: bool,
    pub tags: Option<RestorePointTags>,
    /// `mailboxes` / `drives` (SMTP addresses) or `siteWebUrls`.
    pub addresses: Vec<String>,
    /// `directoryObjectIds` or `siteIds`.
    pub object_ids: Vec<String>,
}

/// One resource of a bulk request that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequestRecord {
    pub seq: i64,
    pub id: String,
    pub session_id: String,
    pub spec: BulkRequestSpec,
    /// active | completed | completedWithErrors
    pub status: String,
    pub error: Option<(ErrorInfo, Vec<ErrorDetail>)>,
    pub stamps: Stamps,
}

/// How a job ended, for its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobEvent {
    Succeeded,
    Failed,
    /// Failed because it ran out of attempts.
    Exhausted,
}

impl JobEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            JobEvent::Succeeded => "succeeded",
            JobEvent::Failed => "failed",
            JobEvent::Exhausted => "exhausted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEventRecord {
    pub job_id: String,
    pub at: Timestamp,
    pub worker: String,
    pub attempt: i64,
    /// claimed | takeover | retry | released | succeeded | failed | exhausted
    pub event: String,
    pub detail: Option<String>,
}

/// Counts the metrics publish.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub jobs_queued: i64,
    pub jobs_running: i64,
    /// (status name, count) for every session status present.
    pub sessions_by_status: Vec<(String, i64)>,
}

/// One step of an artifact's lifecycle after activation.
#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactStep {
    /// `added` → `scheduling`: an artifact of an activated session (from a bulk request)
    Scheduling,
    /// `scheduling` → `scheduled`
    Scheduled,
    /// `scheduled` → `inProgress`, stamping `startDateTime`
    Started,
    /// `inProgress` → `succeeded`, stamping `completionDateTime` and the restored* fields
    Succeeded(RestoreOutcome),
    /// → `failed`, stamping `completionDateTime` and `error`
    Failed(ErrorInfo),
}

impl ArtifactStep {
    pub fn target(&self) -> ArtifactStatus {
        match self {
            ArtifactStep::Scheduling => ArtifactStatus::Scheduling,
            ArtifactStep::Scheduled => ArtifactStatus::Scheduled,
            ArtifactStep::Started => ArtifactStatus::InProgress,
            ArtifactStep::Succeeded(_) => ArtifactStatus::Succeeded,
            ArtifactStep::Failed(_) => ArtifactStatus::Failed,
        }
    }
}

/// A registered service app (a backup controller application) and when its control starts and ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAppRecord {
    pub seq: i64,
    pub id: String,
    pub application_id: String,
    pub application_name: Option<String>,
    /// Control starts at this time (the `effectiveDateTime` of the last activation).
    pub activated_at: Option<Timestamp>,
    /// Control ends at this time (deactivation, or another app's activation taking effect).
    pub deactivated_at: Option<Timestamp>,
    pub registered_at: Timestamp,
    pub last_modified_at: Timestamp,
    pub last_modified_by: Actor,
}

impl ServiceAppRecord {
    /// `serviceAppStatus` at `now`.
    pub fn status(&self, now: Timestamp) -> &'static str {
        match (self.activated_at, self.deactivated_at) {
            (None, _) => "inactive",
            (Some(on), _) if now < on => "pendingActive",
            (Some(_), Some(off)) if now >= off => "inactive",
            (Some(_), Some(_)) => "pendingInactive",
            (Some(_), None) => "active",
        }
    }
}

/// A tenant's `emailNotificationsSetting` members, stored as this JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSettings {
    pub is_enabled: bool,
    /// `additionalEvents` flags, canonical (`none`, `restoreAndPolicyUpdates`).
    pub additional_events: String,
    pub recipients: NotificationRecipients,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecipients {
    /// `role` flags, canonical (`backupAdmins,custom`).
    pub role: String,
    pub custom_recipients: Vec<EmailIdentity>,
}

/// `emailIdentity`: an address, with the id and name a client gave it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailIdentity {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl Default for NotificationSettings {
    /// What a tenant has until it writes its own: off, nobody notified.
    fn default() -> Self {
        NotificationSettings {
            is_enabled: false,
            additional_events: "none".into(),
            recipients: NotificationRecipients { role: "none".into(), custom_recipients: Vec::new() },
        }
    }
}
