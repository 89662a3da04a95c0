//! What a request addresses: the API version and the resource or action a Graph path names, as
//! `path::parse` finds them; handlers dispatch on these.

use backstore_domain::Workload;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    Beta,
    V1,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::Beta => "beta",
            ApiVersion::V1 => "v1.0",
        }
    }
}

/// What a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A drive or a drive item (Graph's file paths).
    Drive(crate::drive_path::DrivePath),
    /// A mailbox's folders (`/users/{id}/mailFolders…`).
    Mail(crate::mail_path::MailPath),
    /// `restoreSessions` (`workload: None`), a type cast of it, or a typed session set.
    Sessions {
        workload: Option<Workload>,
        base: bool,
    },
    /// One session; `workload` is set when the path names the kind.
    Session {
        id: String,
        workload: Option<Workload>,
        base: bool,
    },
    /// `…/{id}/activate`
    Activate {
        id: String,
        workload: Option<Workload>,
    },
    /// `…/{id}/siteRestoreArtifacts` (or mailbox/drive), or with `granular` the session's
    /// `granularSiteRestoreArtifacts` (or mailbox/drive)
    Artifacts {
        session: String,
        workload: Workload,
        granular: bool,
    },
    Artifact {
        session: String,
        workload: Workload,
        granular: bool,
        id: String,
    },
    /// `…/{artifactId}/restorePoint`
    ArtifactRestorePoint {
        session: String,
        workload: Workload,
        granular: bool,
        id: String,
    },
    /// `…/{id}/siteRestoreArtifactsBulkAdditionRequests` (or mailbox/drive)
    BulkRequests {
        session: String,
        workload: Workload,
    },
    BulkRequest {
        session: String,
        workload: Workload,
        id: String,
    },
    /// `/solutions/backupRestore` itself: the tenant's service state.
    Root,
    /// `/solutions/backupRestore/enable`
    Enable,
    /// `protectionUnits` (`workload: None`), a type cast of it, or a typed unit set.
    Units {
        workload: Option<Workload>,
        base: bool,
    },
    Unit {
        id: String,
        workload: Option<Workload>,
        base: bool,
    },
    /// `restorePoints` (the list that needs `$expand` and `$filter`)
    RestorePoints,
    RestorePoint {
        id: String,
    },
    /// `restorePoints/{id}/protectionUnit`
    RestorePointUnit {
        id: String,
    },
    /// `restorePoints/search`
    RestorePointSearch,
    /// `protectionUnits/{id}/offboard` (or `cancelOffboard`)
    Offboard {
        id: String,
        cancel: bool,
    },
    /// `protectionPolicies` (`workload: None`), a type cast of it, or a typed policy set.
    Policies {
        workload: Option<Workload>,
        base: bool,
    },
    Policy {
        id: String,
        workload: Option<Workload>,
        base: bool,
    },
    /// `…/{id}/activate` (`enable`) or `…/{id}/deactivate`
    PolicyAction {
        id: String,
        workload: Option<Workload>,
        enable: bool,
    },
    /// `…ProtectionPolicies/{id}/siteProtectionUnits` (or mailbox/drive)
    PolicyUnits {
        policy: String,
        workload: Workload,
    },
    PolicyUnit {
        policy: String,
        workload: Workload,
        id: String,
    },
    /// `{x}ProtectionUnitsBulkAdditionJobs` at the root (`policy: None`) or under a policy.
    UnitJobs {
        workload: Workload,
        policy: Option<String>,
    },
    UnitJob {
        workload: Workload,
        policy: Option<String>,
        id: String,
    },
    /// `{x}InclusionRules` at the root (`policy: None`) or under a policy.
    Rules {
        workload: Workload,
        policy: Option<String>,
    },
    Rule {
        workload: Workload,
        policy: Option<String>,
        id: String,
    },
    /// `…/{ruleId}/run` or `…/{ruleId}/deleteAndUnprotect`
    RuleAction {
        workload: Workload,
        policy: Option<String>,
        id: String,
        unprotect: bool,
    },
    /// `serviceApps`
    ServiceApps,
    ServiceApp {
        id: String,
    },
    /// `serviceApps/{id}/activate` (`activate: true`) or `…/deactivate`
    ServiceAppAction {
        id: String,
        activate: bool,
    },
    /// `emailNotificationsSetting`
    NotificationSettings,
    /// beta `activityLogs`
    ActivityLogs,
    /// beta `reports/getStatisticsByPolicy(policyId='…')`
    PolicyStatistics {
        policy: String,
    },
    /// `browseSessions` (`workload: None`), a type cast of it, or a typed browse session set.
    BrowseSessions {
        workload: Option<Workload>,
        base: bool,
    },
    BrowseSession {
        id: String,
        workload: Option<Workload>,
    },
    /// `…BrowseSessions/{id}/browse`, or the next page: `browse(nextFetchToken='…')` (`token`).
    Browse {
        id: String,
        workload: Option<Workload>,
        token: Option<String>,
    },
    /// `GET /admin/browseSessions/{id}/items/{key}/content`: a file of a browse session's point.
    BrowseItemContent {
        id: String,
        key: String,
    },
    /// `GET /admin/restorePoints/{id}/items`: a level of a point's tree.
    PointItems {
        id: String,
    },
    /// `GET /admin/restorePoints/{id}/items/{item}/content`.
    PointItemContent {
        id: String,
        item: String,
    },
    /// `GET /admin/restorePointStats?ids=…`.
    PointStats,
    /// beta: `exclusionUnits` (`workload: None`) and the typed sets, at the root (`policy: None`)
    /// or under a policy.
    Exclusions {
        workload: Option<Workload>,
        policy: Option<String>,
    },
    Exclusion {
        workload: Option<Workload>,
        policy: Option<String>,
        id: String,
    },
    /// beta: `{x}ExclusionUnitsBulkAdditionJobs` at the root (`policy: None`) or under a policy.
    ExclusionJobs {
        workload: Workload,
        policy: Option<String>,
    },
    ExclusionJob {
        workload: Workload,
        policy: Option<String>,
        id: String,
    },
    /// `…/$count` of a queried collection: the number of its items, as plain text.
    Count(CountOf),
    /// A path of the Graph API that backstore does not serve yet.
    Unimplemented(String),
}

/// The collections whose `/$count` segment is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CountOf {
    Sessions {
        workload: Option<Workload>,
    },
    Artifacts {
        session: String,
        workload: Workload,
        granular: bool,
    },
    Units {
        workload: Option<Workload>,
    },
    Policies {
        workload: Option<Workload>,
    },
    PolicyUnits {
        policy: String,
        workload: Workload,
    },
    Rules {
        workload: Workload,
        policy: Option<String>,
    },
    UnitJobs {
        workload: Workload,
        policy: Option<String>,
    },
    ServiceApps,
    /// Of one unit, in a time window: the list's required `$expand` and `$filter`.
    RestorePoints,
    BulkRequests {
        session: String,
        workload: Workload,
    },
    BrowseSessions {
        workload: Option<Workload>,
    },
    Exclusions {
        workload: Option<Workload>,
        policy: Option<String>,
    },
    ExclusionJobs {
        workload: Workload,
        policy: Option<String>,
    },
    /// beta: the activity log, after `$filter`.
    ActivityLogs,
}
