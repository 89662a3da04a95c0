//! beta activity logs: what happened to policies and restores, by kind, and how it went.

crate::enums::graph_enum! {
    /// `activityLogOperationType`
    pub enum ActivityType {
        BackupPolicyCreated = "backupPolicyCreated",
        BackupPolicyActivated = "backupPolicyActivated",
        BackupPolicyModified = "backupPolicyModified",
        BackupPolicyPaused = "backupPolicyPaused",
        BackupPolicyRenamed = "backupPolicyRenamed",
        DynamicRuleExecution = "dynamicRuleExecution",
        DynamicRuleDeletion = "dynamicRuleDeletion",
        ProtectionUnitLevelOffboarding = "protectionUnitLevelOffboarding",
        PolicyLevelOffboarding = "policyLevelOffboarding",
        RestoreTaskCreated = "restoreTaskCreated",
        RestoreTaskCompleted = "restoreTaskCompleted",
    }
}

crate::enums::graph_enum! {
    /// `activityLogResultStatus`
    pub enum ActivityResult { Succeeded = "succeeded", Failed = "failed", PartiallySucceeded = "partiallySucceeded" }
}

crate::enums::graph_enum! {
    /// `activityLogSeverity`
    pub enum ActivitySeverity { High = "high", Medium = "medium", Low = "low" }
}

/// The `serviceType` of an activity about a workload.
pub fn service_type(w: crate::Workload) -> &'static str {
    match w {
        crate::Workload::Exchange => "exchange",
        crate::Workload::OneDrive => "oneDriveForBusiness",
        crate::Workload::SharePoint => "sharePoint",
    }
}
