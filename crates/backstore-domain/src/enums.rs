//! The enumerations of the restore side, with their CSDL member names and which members are evolvable.

use serde::{Deserialize, Serialize};

/// The three workloads. One session kind, one artifact kind and one protection-unit kind each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Workload {
    /// SharePoint sites (`siteRestoreArtifact`, `siteProtectionUnit`).
    SharePoint,
    /// Exchange mailboxes (`mailboxRestoreArtifact`, `mailboxProtectionUnit`).
    Exchange,
    /// OneDrive for Business drives (`driveRestoreArtifact`, `driveProtectionUnit`).
    OneDrive,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::SharePoint, Workload::Exchange, Workload::OneDrive];

    /// The stable name used in storage and in the `seed` output (`site`, `mailbox`, `drive`).
    pub fn unit_kind(self) -> &'static str {
        match self {
            Workload::SharePoint => "site",
            Workload::Exchange => "mailbox",
            Workload::OneDrive => "drive",
        }
    }

    pub fn from_unit_kind(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.unit_kind() == s)
    }
}

/// Aggregate status of a restore session (`restoreSessionStatus`). `failed` is evolvable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    Draft,
    Activating,
    Active,
    CompletedWithError,
    Completed,
    Failed,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Draft => "draft",
            SessionStatus::Activating => "activating",
            SessionStatus::Active => "active",
            SessionStatus::CompletedWithError => "completedWithError",
            SessionStatus::Completed => "completed",
            SessionStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<SessionStatus> {
        [
            SessionStatus::Draft,
            SessionStatus::Activating,
            SessionStatus::Active,
            SessionStatus::CompletedWithError,
            SessionStatus::Completed,
            SessionStatus::Failed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Members listed after `unknownFutureValue` in the CSDL.
    pub fn is_evolvable(self) -> bool {
        matches!(self, SessionStatus::Failed)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, SessionStatus::Completed | SessionStatus::CompletedWithError | SessionStatus::Failed)
    }

    /// Sessions in these states count against the per-tenant activation limit.
    pub fn is_running(self) -> bool {
        matches!(self, SessionStatus::Activating | SessionStatus::Active)
    }
}

/// Lifecycle of one artifact (`artifactRestoreStatus`). No evolvable members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactStatus {
    Added,
    Scheduling,
    Scheduled,
    InProgress,
    Succeeded,
    Failed,
}

impl ArtifactStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactStatus::Added => "added",
            ArtifactStatus::Scheduling => "scheduling",
            ArtifactStatus::Scheduled => "scheduled",
            ArtifactStatus::InProgress => "inProgress",
            ArtifactStatus::Succeeded => "succeeded",
            ArtifactStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ArtifactStatus> {
        [
            ArtifactStatus::Added,
            ArtifactStatus::Scheduling,
            ArtifactStatus::Scheduled,
            ArtifactStatus::InProgress,
            ArtifactStatus::Succeeded,
            ArtifactStatus::Failed,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, ArtifactStatus::Succeeded | ArtifactStatus::Failed)
    }

    /// The next state on the way to a terminal one, for an artifact whose restore goes well.
    /// `inProgress` has two successors and is decided by the executor, so it returns `None`.
    pub fn next_on_the_way(self) -> Option<ArtifactStatus> {
        match self {
            ArtifactStatus::Scheduling => Some(ArtifactStatus::Scheduled),
            ArtifactStatus::Scheduled => Some(ArtifactStatus::InProgress),
            _ => None,
        }
    }
}

/// Where a restore goes (`destinationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DestinationType {
    New,
    InPlace,
}

impl DestinationType {
    pub fn as_str(self) -> &'static str {
        match self {
            DestinationType::New => "new",
            DestinationType::InPlace => "inPlace",
        }
    }

    /// Wire values are camelCase; Graph accepts enum members case-insensitively on input.
    pub fn parse(s: &str) -> Option<DestinationType> {
        if s.eq_ignore_ascii_case("new") {
            Some(DestinationType::New)
        } else if s.eq_ignore_ascii_case("inPlace") {
            Some(DestinationType::InPlace)
        } else {
            None
        }
    }
}

/// How a session was populated (`restoreJobType`). `granular` is evolvable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreJobType {
    Standard,
    Bulk,
    Granular,
}

impl RestoreJobType {
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreJobType::Standard => "standard",
            RestoreJobType::Bulk => "bulk",
            RestoreJobType::Granular => "granular",
        }
    }

    pub fn parse(s: &str) -> Option<RestoreJobType> {
        [RestoreJobType::Standard, RestoreJobType::Bulk, RestoreJobType::Granular].into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_evolvable(self) -> bool {
        matches!(self, RestoreJobType::Granular)
    }
}

/// Flags on a restore point (`restorePointTags`): `none` or `fastRestore`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePointTags {
    None,
    FastRestore,
}

impl RestorePointTags {
    pub fn as_str(self) -> &'static str {
        match self {
            RestorePointTags::None => "none",
            RestorePointTags::FastRestore => "fastRestore",
        }
    }

    pub fn parse(s: &str) -> Option<RestorePointTags> {
        if s.eq_ignore_ascii_case("none") {
            Some(RestorePointTags::None)
        } else if s.eq_ignore_ascii_case("fastRestore") {
            Some(RestorePointTags::FastRestore)
        } else {
            None
        }
    }
}

/// Protection status of a unit (`protectionUnitStatus`); the offboarding members are evolvable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtectionUnitStatus {
    ProtectRequested,
    Protected,
    UnprotectRequested,
    Unprotected,
    RemoveRequested,
    OffboardRequested,
    Offboarded,
    CancelOffboardRequested,
}

impl ProtectionUnitStatus {
    const ALL: [ProtectionUnitStatus; 8] = [
        ProtectionUnitStatus::ProtectRequested,
        ProtectionUnitStatus::Protected,
        ProtectionUnitStatus::UnprotectRequested,
        ProtectionUnitStatus::Unprotected,
        ProtectionUnitStatus::RemoveRequested,
        ProtectionUnitStatus::OffboardRequested,
        ProtectionUnitStatus::Offboarded,
        ProtectionUnitStatus::CancelOffboardRequested,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProtectionUnitStatus::ProtectRequested => "protectRequested",
            ProtectionUnitStatus::Protected => "protected",
            ProtectionUnitStatus::UnprotectRequested => "unprotectRequested",
            ProtectionUnitStatus::Unprotected => "unprotected",
            ProtectionUnitStatus::RemoveRequested => "removeRequested",
            ProtectionUnitStatus::OffboardRequested => "offboardRequested",
            ProtectionUnitStatus::Offboarded => "offboarded",
            ProtectionUnitStatus::CancelOffboardRequested => "cancelOffboardRequested",
        }
    }

    pub fn parse(s: &str) -> Option<ProtectionUnitStatus> {
        ProtectionUnitStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_evolvable(self) -> bool {
        matches!(
            self,
            ProtectionUnitStatus::OffboardRequested
                | ProtectionUnitStatus::Offboarded
                | ProtectionUnitStatus::CancelOffboardRequested
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in ["draft", "activating", "active", "completedWithError", "completed", "failed"] {
            assert_eq!(SessionStatus::parse(s).unwrap().as_str(), s);
        }
        for s in ["added", "scheduling", "scheduled", "inProgress", "succeeded", "failed"] {
            assert_eq!(ArtifactStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(DestinationType::parse("INPLACE"), Some(DestinationType::InPlace));
        assert_eq!(DestinationType::parse("elsewhere"), None);
        assert!(SessionStatus::Failed.is_evolvable());
        assert!(!SessionStatus::Completed.is_evolvable());
        assert!(RestoreJobType::Granular.is_evolvable());
    }
}
