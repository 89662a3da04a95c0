//! Graph's names for each workload's session set, types and navigation properties (CSDL casing).

use backstore_domain::Workload;

pub struct Names {
    pub session_set: &'static str,
    pub session_type: &'static str,
    pub artifact_nav: &'static str,
    pub artifact_type: &'static str,
    pub granular_nav: &'static str,
    pub bulk_nav: &'static str,
    pub unit_set: &'static str,
    pub unit_type: &'static str,
    pub bulk_type: &'static str,
    /// The bulk request's list of addresses: `siteWebUrls`, `mailboxes`, `drives`.
    pub bulk_addresses: &'static str,
    /// The bulk request's list of ids: `siteIds` or `directoryObjectIds`.
    pub bulk_ids: &'static str,
    pub policy_set: &'static str,
    pub policy_type: &'static str,
    /// What names a unit's resource in a policy request: `siteId` or `directoryObjectId`.
    pub unit_key: &'static str,
    pub rules_nav: &'static str,
    /// `siteProtectionRule` and its kin, and the property holding the rule's expression.
    pub rule_type: &'static str,
    pub rule_expression: &'static str,
    pub unit_jobs_nav: &'static str,
    /// beta: the exclusion units' set (`siteExclusionUnits`, …) and type.
    pub exclusion_set: &'static str,
    pub exclusion_type: &'static str,
}

const SHAREPOINT: Names = Names {
    session_set: "sharePointRestoreSessions",
    session_type: "sharePointRestoreSession",
    artifact_nav: "siteRestoreArtifacts",
    artifact_type: "siteRestoreArtifact",
    granular_nav: "granularSiteRestoreArtifacts",
    bulk_nav: "siteRestoreArtifactsBulkAdditionRequests",
    unit_set: "siteProtectionUnits",
    exclusion_set: "siteExclusionUnits",
    exclusion_type: "siteExclusionUnit",
    unit_type: "siteProtectionUnit",
    bulk_type: "siteRestoreArtifactsBulkAdditionRequest",
    bulk_addresses: "siteWebUrls",
    bulk_ids: "siteIds",
    policy_set: "sharePointProtectionPolicies",
    policy_type: "sharePointProtectionPolicy",
    unit_key: "siteId",
    rules_nav: "siteInclusionRules",
    rule_type: "siteProtectionRule",
    rule_expression: "siteExpression",
    unit_jobs_nav: "siteProtectionUnitsBulkAdditionJobs",
};

const EXCHANGE: Names = Names {
    session_set: "exchangeRestoreSessions",
    session_type: "exchangeRestoreSession",
    artifact_nav: "mailboxRestoreArtifacts",
    artifact_type: "mailboxRestoreArtifact",
    granular_nav: "granularMailboxRestoreArtifacts",
    bulk_nav: "mailboxRestoreArtifactsBulkAdditionRequests",
    unit_set: "mailboxProtectionUnits",
    exclusion_set: "mailboxExclusionUnits",
    exclusion_type: "mailboxExclusionUnit",
    unit_type: "mailboxProtectionUnit",
    bulk_type: "mailboxRestoreArtifactsBulkAdditionRequest",
    bulk_addresses: "mailboxes",
    bulk_ids: "directoryObjectIds",
    policy_set: "exchangeProtectionPolicies",
    policy_type: "exchangeProtectionPolicy",
    unit_key: "directoryObjectId",
    rules_nav: "mailboxInclusionRules",
    rule_type: "mailboxProtectionRule",
    rule_expression: "mailboxExpression",
    unit_jobs_nav: "mailboxProtectionUnitsBulkAdditionJobs",
};

const ONEDRIVE: Names = Names {
    session_set: "oneDriveForBusinessRestoreSessions",
    session_type: "oneDriveForBusinessRestoreSession",
    artifact_nav: "driveRestoreArtifacts",
    artifact_type: "driveRestoreArtifact",
    granular_nav: "granularDriveRestoreArtifacts",
    bulk_nav: "driveRestoreArtifactsBulkAdditionRequests",
    unit_set: "driveProtectionUnits",
    exclusion_set: "driveExclusionUnits",
    exclusion_type: "driveExclusionUnit",
    unit_type: "driveProtectionUnit",
    bulk_type: "driveRestoreArtifactsBulkAdditionRequest",
    bulk_addresses: "drives",
    bulk_ids: "directoryObjectIds",
    policy_set: "oneDriveForBusinessProtectionPolicies",
    policy_type: "oneDriveForBusinessProtectionPolicy",
    unit_key: "directoryObjectId",
    rules_nav: "driveInclusionRules",
    rule_type: "driveProtectionRule",
    rule_expression: "driveExpression",
    unit_jobs_nav: "driveProtectionUnitsBulkAdditionJobs",
};

pub const BASE_SESSION_SET: &str = "restoreSessions";
pub const BASE_UNIT_SET: &str = "protectionUnits";
pub const BASE_UNIT_TYPE: &str = "protectionUnitBase";
pub const RESTORE_POINTS: &str = "restorePoints";
pub const BASE_SESSION_TYPE: &str = "restoreSessionBase";
pub const BASE_POLICY_SET: &str = "protectionPolicies";
pub const BASE_POLICY_TYPE: &str = "protectionPolicyBase";

pub fn names(w: Workload) -> &'static Names {
    match w {
        Workload::SharePoint => &SHAREPOINT,
        Workload::Exchange => &EXCHANGE,
        Workload::OneDrive => &ONEDRIVE,
    }
}

/// `#microsoft.graph.<name>`
pub fn odata_type(name: &str) -> String {
    format!("#microsoft.graph.{name}")
}

/// Whether an `@odata.type` value names `name` (with or without `#`, namespace case-insensitive).
pub fn is_odata_type(value: &str, name: &str) -> bool {
    let v = value.strip_prefix('#').unwrap_or(value);
    v.len() == "microsoft.graph.".len() + name.len()
        && v[.."microsoft.graph.".len()].eq_ignore_ascii_case("microsoft.graph.")
        && v["microsoft.graph.".len()..].eq_ignore_ascii_case(name)
}

/// The workload whose `<x>` name matches, case-insensitively.
pub fn workload_by(value: &str, pick: impl Fn(&Names) -> &'static str) -> Option<Workload> {
    Workload::ALL.into_iter().find(|w| pick(names(*w)).eq_ignore_ascii_case(value))
}
