//! The one pure function that turns a session's artifact statuses into its status and counters.

use crate::enums::{ArtifactStatus, SessionStatus};

/// How many of a session's artifacts are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArtifactCounts {
    pub added: i64,
    pub scheduling: i64,
    pub scheduled: i64,
    pub in_progress: i64,
    pub succeeded: i64,
    pub failed: i64,
}

impl ArtifactCounts {
    pub fn add(&mut self, status: ArtifactStatus, n: i64) {
        let slot = match status {
            ArtifactStatus::Added => &mut self.added,
            ArtifactStatus::Scheduling => &mut self.scheduling,
            ArtifactStatus::Scheduled => &mut self.scheduled,
            ArtifactStatus::InProgress => &mut self.in_progress,
            ArtifactStatus::Succeeded => &mut self.succeeded,
            ArtifactStatus::Failed => &mut self.failed,
        };
        *slot += n;
    }

    pub fn total(&self) -> i64 {
        self.added + self.scheduling + self.scheduled + self.in_progress + self.succeeded + self.failed
    }

    pub fn terminal(&self) -> i64 {
        self.succeeded + self.failed
    }
}

/// What a session shows that is derived from its artifacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionDerived {
    pub status: SessionStatus,
    /// `restoreSessionArtifactCount.total`
    pub total: i64,
    /// `restoreSessionArtifactCount.completed`: artifacts that succeeded.
    pub completed: i64,
    /// `restoreSessionArtifactCount.failed`
    pub failed: i64,
    /// `restoreSessionArtifactCount.inProgress`: activated and not yet terminal.
    pub in_progress: i64,
}

/// The seeds' status rules. `activated` is whether `activate` was accepted for the session;
/// `resolving` whether a bulk addition request of the activated session is still being turned into
/// artifacts (the session is `activating` meanwhile).
///
/// - not activated: `draft` (all artifacts `added`);
/// - some artifact `scheduled` or `inProgress`, or some terminal and some not: `active`;
/// - all not-yet-terminal artifacts still `scheduling` and none terminal: `activating`;
/// - all terminal: all succeeded `completed`, all failed `failed`, mixed `completedWithError`;
/// - activated and left without artifacts (a bulk request that resolved nothing): `failed`.
pub fn derive_session(counts: &ArtifactCounts, activated: bool, resolving: bool) -> SessionDerived {
    let total = counts.total();
    let terminal = counts.terminal();
    let status = if !activated {
        SessionStatus::Draft
    } else if resolving {
        SessionStatus::Activating
    } else if total == 0 {
        SessionStatus::Failed
    } else if terminal == total {
        if counts.failed == 0 {
            SessionStatus::Completed
        } else if counts.succeeded == 0 {
            SessionStatus::Failed
        } else {
            SessionStatus::CompletedWithError
        }
    } else if counts.scheduled + counts.in_progress > 0 || terminal > 0 {
        SessionStatus::Active
    } else {
        SessionStatus::Activating
    };
    SessionDerived {
        status,
        total,
        completed: counts.succeeded,
        failed: counts.failed,
        in_progress: if activated { total - terminal } else { 0 },
    }
}

/// The session's `error` once it is terminal with failures: the first failed artifact's code, and a
/// message that counts the failures. `None` for sessions without failures or not yet terminal.
pub fn session_error(derived: &SessionDerived, first_failure_code: Option<&str>) -> Option<crate::ErrorInfo> {
    match derived.status {
        SessionStatus::Failed | SessionStatus::CompletedWithError => Some(crate::ErrorInfo {
            code: first_failure_code.unwrap_or("UnknownError").to_owned(),
            message: format!("{} of {} restore artifacts failed.", derived.failed, derived.total),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod bulk_tests {
    use super::*;

    #[test]
    fn bulk_sessions_activate_until_resolved() {
        let none = ArtifactCounts::default();
        assert_eq!(derive_session(&none, true, true).status, SessionStatus::Activating);
        assert_eq!(derive_session(&none, true, false).status, SessionStatus::Failed);
        let mut some = ArtifactCounts::default();
        some.add(ArtifactStatus::Scheduling, 2);
        assert_eq!(derive_session(&some, true, false).status, SessionStatus::Activating);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(list: &[(ArtifactStatus, i64)]) -> ArtifactCounts {
        let mut c = ArtifactCounts::default();
        for (s, n) in list {
            c.add(*s, *n);
        }
        c
    }

    #[test]
    fn draft_until_activated() {
        let c = counts(&[(ArtifactStatus::Added, 3)]);
        let d = derive_session(&c, false, false);
        assert_eq!(d.status, SessionStatus::Draft);
        assert_eq!((d.total, d.in_progress, d.completed, d.failed), (3, 0, 0, 0));
        assert_eq!(derive_session(&ArtifactCounts::default(), false, false).status, SessionStatus::Draft);
    }

    #[test]
    fn every_mix() {
        use ArtifactStatus::*;
        let cases: &[(&[(ArtifactStatus, i64)], SessionStatus)] = &[
            (&[(Scheduling, 2)], SessionStatus::Activating),
            (&[(Scheduling, 1), (Scheduled, 1)], SessionStatus::Active),
            (&[(InProgress, 1), (Scheduling, 1)], SessionStatus::Active),
            (&[(Succeeded, 1), (Scheduling, 1)], SessionStatus::Active),
            (&[(Failed, 1), (InProgress, 1)], SessionStatus::Active),
            (&[(Succeeded, 2)], SessionStatus::Completed),
            (&[(Failed, 2)], SessionStatus::Failed),
            (&[(Failed, 1), (Succeeded, 1)], SessionStatus::CompletedWithError),
        ];
        for (list, want) in cases {
            let d = derive_session(&counts(list), true, false);
            assert_eq!(d.status, *want, "{list:?}");
            assert_eq!(d.total, d.completed + d.failed + d.in_progress, "{list:?}");
        }
    }
}
