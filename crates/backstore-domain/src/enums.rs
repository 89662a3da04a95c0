//! The enumerations of the restore side, with their CSDL member names and which members are evolvable.

use serde::{Deserialize, Serialize};

/// Defines a Graph enum: the Rust enum, `ALL`, `as_str` (the CSDL member name), `parse` (exact, or
/// case-insensitive where Graph takes input that way), `is_evolvable` (members listed after
/// `unknownFutureValue` in the CSDL) and `MEMBERS`, every member name in CSDL order with the
/// `unknownFutureValue` sentinel in its place: what `$filter` accepts.
macro_rules! graph_enum {
    (@eq ; $a:expr, $b:expr) => { $a == $b };
    (@eq ignore_case ; $a:expr, $b:expr) => { $a.eq_ignore_ascii_case($b) };
    ($(
        $(#[$meta:meta])*
        pub enum $name:ident $([$ci:ident])? { $($variant:ident = $wire:literal),* $(,)? }
        $(evolvable { $($evariant:ident = $ewire:literal),* $(,)? })?
    )+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            $($($evariant,)*)?
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)* $($($name::$evariant,)*)?];

            /// Every member name in CSDL order, `unknownFutureValue` included.
            pub const MEMBERS: &'static [&'static str] = &[$($wire,)* "unknownFutureValue", $($($ewire,)*)?];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                    $($($name::$evariant => $ewire,)*)?
                }
            }

            /// The member a name is: as the CSDL spells it, or in any letter case for the enums
            /// marked `[ignore_case]` (those Graph reads case-insensitively in request bodies).
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| $crate::enums::graph_enum!(@eq $($ci)? ; v.as_str(), s))
            }

            /// Members listed after `unknownFutureValue` in the CSDL.
            pub fn is_evolvable(self) -> bool {
                match self {
                    $($name::$variant => false,)*
                    $($($name::$evariant => true,)*)?
                }
            }
        }
    )+};
}

pub(crate) use graph_enum;

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

graph_enum! {
    /// Aggregate status of a restore session (`restoreSessionStatus`).
    pub enum SessionStatus {
        Draft = "draft",
        Activating = "activating",
        Active = "active",
        CompletedWithError = "completedWithError",
        Completed = "completed",
    }
    evolvable {
        Failed = "failed",
    }
}

impl SessionStatus {
    pub fn is_terminal(self) -> bool {
        matches!(self, SessionStatus::Completed | SessionStatus::CompletedWithError | SessionStatus::Failed)
    }

    /// Sessions in these states count against the per-tenant activation limit.
    pub fn is_running(self) -> bool {
        matches!(self, SessionStatus::Activating | SessionStatus::Active)
    }
}

graph_enum! {
    /// Lifecycle of one artifact (`artifactRestoreStatus`).
    pub enum ArtifactStatus {
        Added = "added",
        Scheduling = "scheduling",
        Scheduled = "scheduled",
        InProgress = "inProgress",
        Succeeded = "succeeded",
        Failed = "failed",
    }
}

impl ArtifactStatus {
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

graph_enum! {
    /// Where a restore goes (`destinationType`).
    pub enum DestinationType [ignore_case] { New = "new", InPlace = "inPlace" }

    /// How a session was populated (`restoreJobType`).
    pub enum RestoreJobType { Standard = "standard", Bulk = "bulk" } evolvable { Granular = "granular" }

    /// Flags on a restore point (`restorePointTags`).
    pub enum RestorePointTags [ignore_case] { None = "none", FastRestore = "fastRestore" }

    /// Protection status of a unit (`protectionUnitStatus`).
    pub enum ProtectionUnitStatus {
        ProtectRequested = "protectRequested",
        Protected = "protected",
        UnprotectRequested = "unprotectRequested",
        Unprotected = "unprotected",
        RemoveRequested = "removeRequested",
    }
    evolvable {
        OffboardRequested = "offboardRequested",
        Offboarded = "offboarded",
        CancelOffboardRequested = "cancelOffboardRequested",
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

    #[test]
    fn members_are_the_csdl_list_with_the_sentinel_before_the_evolvable_ones() {
        assert_eq!(
            SessionStatus::MEMBERS,
            ["draft", "activating", "active", "completedWithError", "completed", "unknownFutureValue", "failed"]
        );
        assert_eq!(DestinationType::MEMBERS, ["new", "inPlace", "unknownFutureValue"]);
        let sentinel = ProtectionUnitStatus::MEMBERS.iter().position(|m| *m == "unknownFutureValue").unwrap();
        for v in ProtectionUnitStatus::ALL {
            let at = ProtectionUnitStatus::MEMBERS.iter().position(|m| *m == v.as_str()).unwrap();
            assert_eq!(at > sentinel, v.is_evolvable(), "{v:?}");
        }
    }
}
