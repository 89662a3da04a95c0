//! Server-managed properties a client sends back in a session PATCH (the SDKs send a whole model):
//! accepted only with the session's current values, compared as typed values. The API reads them
//! from the body ([`Echoed`]); [`check_session_echo`] runs on the loaded session inside the
//! PATCH's transaction, so a refused PATCH writes nothing.

use crate::{Actor, ErrorInfo, RestoreJobType, RuleError, SessionDerived, Stamps, Timestamp};

/// A value sent for a server-managed property. `Unreadable` is a value of another shape (a number
/// for a date, an object with members the property does not have): it never equals the current one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent<T> {
    Null,
    Value(T),
    Unreadable,
}

/// An `identity`, its null members left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentityEcho {
    pub id: Option<String>,
    pub display_name: Option<String>,
}

/// An `identitySet`, its null members left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentitySetEcho {
    pub application: Option<IdentityEcho>,
    pub user: Option<IdentityEcho>,
}

/// `restoreSessionArtifactCount`, with the members that were sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CountEcho {
    pub total: Option<i64>,
    pub completed: Option<i64>,
    pub in_progress: Option<i64>,
    pub failed: Option<i64>,
}

/// A `publicError`, its null members left out; `details` only ever empty on a session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorEcho {
    pub code: Option<String>,
    pub message: Option<String>,
    pub empty_details: bool,
}

/// One server-managed property of a session as it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Echoed {
    Id(Sent<String>),
    Status(Sent<String>),
    RestoreJobType(Sent<String>),
    ArtifactCount(Sent<CountEcho>),
    CreatedBy(Sent<IdentitySetEcho>),
    LastModifiedBy(Sent<IdentitySetEcho>),
    CreatedDateTime(Sent<Timestamp>),
    LastModifiedDateTime(Sent<Timestamp>),
    CompletedDateTime(Sent<Timestamp>),
    Error(Sent<ErrorEcho>),
}

impl Echoed {
    /// The property's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Echoed::Id(_) => "id",
            Echoed::Status(_) => "status",
            Echoed::RestoreJobType(_) => "restoreJobType",
            Echoed::ArtifactCount(_) => "restoreSessionArtifactCount",
            Echoed::CreatedBy(_) => "createdBy",
            Echoed::LastModifiedBy(_) => "lastModifiedBy",
            Echoed::CreatedDateTime(_) => "createdDateTime",
            Echoed::LastModifiedDateTime(_) => "lastModifiedDateTime",
            Echoed::CompletedDateTime(_) => "completedDateTime",
            Echoed::Error(_) => "error",
        }
    }
}

/// The session's own values of its server-managed properties.
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts<'a> {
    pub id: &'a str,
    pub derived: &'a SessionDerived,
    pub job_type: RestoreJobType,
    pub stamps: &'a Stamps,
    pub completed_at: Option<Timestamp>,
    pub error: Option<&'a ErrorInfo>,
}

/// Refuses the first property sent with another value than the session's own. An evolvable enum
/// member may be echoed as `unknownFutureValue` (what a client without the opt-in was shown).
pub fn check_session_echo(facts: &SessionFacts<'_>, sent: &[Echoed]) -> Result<(), RuleError> {
    for e in sent {
        let (same, current) = match e {
            Echoed::Id(v) => (text(v, Some(facts.id)), facts.id.to_owned()),
            Echoed::Status(v) => {
                let s = facts.derived.status;
                (member(v, s.as_str(), s.is_evolvable()), s.as_str().to_owned())
            }
            Echoed::RestoreJobType(v) => {
                let j = facts.job_type;
                (member(v, j.as_str(), j.is_evolvable()), j.as_str().to_owned())
            }
            Echoed::ArtifactCount(v) => {
                let d = facts.derived;
                let own = CountEcho {
                    total: Some(d.total),
                    completed: Some(d.completed),
                    in_progress: Some(d.in_progress),
                    failed: Some(d.failed),
                };
                let shown = format!(
                    "total {}, completed {}, inProgress {}, failed {}",
                    d.total, d.completed, d.in_progress, d.failed
                );
                (*v == Sent::Value(own), shown)
            }
            Echoed::CreatedBy(v) => {
                (*v == Sent::Value(identity_set(&facts.stamps.created_by)), actor(&facts.stamps.created_by))
            }
            Echoed::LastModifiedBy(v) => {
                (*v == Sent::Value(identity_set(&facts.stamps.last_modified_by)), actor(&facts.stamps.last_modified_by))
            }
            Echoed::CreatedDateTime(v) => {
                (time(v, Some(facts.stamps.created_at)), shown_time(Some(facts.stamps.created_at)))
            }
            Echoed::LastModifiedDateTime(v) => {
                (time(v, Some(facts.stamps.last_modified_at)), shown_time(Some(facts.stamps.last_modified_at)))
            }
            Echoed::CompletedDateTime(v) => (time(v, facts.completed_at), shown_time(facts.completed_at)),
            Echoed::Error(v) => {
                let own = facts.error.map(|e| ErrorEcho {
                    code: Some(e.code.clone()),
                    message: Some(e.message.clone()),
                    empty_details: true,
                });
                let same = match (v, own) {
                    (Sent::Null, None) => true,
                    (Sent::Value(sent), Some(own)) => *sent == own,
                    _ => false,
                };
                (same, facts.error.map_or_else(|| "null".to_owned(), |e| format!("{}: {}", e.code, e.message)))
            }
        };
        if !same {
            return Err(RuleError::InvalidPatch(format!(
                "Property '{}' is read-only; it can only be sent with its current value ({current}).",
                e.name()
            )));
        }
    }
    Ok(())
}

fn text(v: &Sent<String>, own: Option<&str>) -> bool {
    match (v, own) {
        (Sent::Null, None) => true,
        (Sent::Value(s), Some(own)) => s == own,
        _ => false,
    }
}

fn member(v: &Sent<String>, own: &str, evolvable: bool) -> bool {
    match v {
        Sent::Value(s) => s == own || (evolvable && s == "unknownFutureValue"),
        _ => false,
    }
}

fn time(v: &Sent<Timestamp>, own: Option<Timestamp>) -> bool {
    match (v, own) {
        (Sent::Null, None) => true,
        (Sent::Value(t), Some(own)) => *t == own,
        _ => false,
    }
}

fn shown_time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "null".to_owned(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn identity_set(a: &Actor) -> IdentitySetEcho {
    IdentitySetEcho {
        application: Some(IdentityEcho {
            id: Some(a.application_id.clone()),
            display_name: a.application_name.clone(),
        }),
        user: a.user_id.as_ref().map(|id| IdentityEcho { id: Some(id.clone()), display_name: a.user_name.clone() }),
    }
}

fn actor(a: &Actor) -> String {
    match &a.user_id {
        Some(user) => format!("application {}, user {user}", a.application_id),
        None => format!("application {}", a.application_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SessionStatus;

    #[test]
    fn echoes_match_only_the_current_values() {
        let derived =
            SessionDerived { status: SessionStatus::Failed, total: 2, completed: 0, failed: 2, in_progress: 0 };
        let actor = Actor { application_id: "app".into(), application_name: None, user_id: None, user_name: None };
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let stamps =
            Stamps { created_at: at, created_by: actor.clone(), last_modified_at: at, last_modified_by: actor };
        let facts = SessionFacts {
            id: "s1",
            derived: &derived,
            job_type: RestoreJobType::Standard,
            stamps: &stamps,
            completed_at: None,
            error: None,
        };
        let ok = [
            Echoed::Id(Sent::Value("s1".into())),
            Echoed::Status(Sent::Value("unknownFutureValue".into())),
            Echoed::Status(Sent::Value("failed".into())),
            Echoed::CreatedBy(Sent::Value(IdentitySetEcho {
                application: Some(IdentityEcho { id: Some("app".into()), display_name: None }),
                user: None,
            })),
            Echoed::CreatedDateTime(Sent::Value(at)),
            Echoed::CompletedDateTime(Sent::Null),
            Echoed::Error(Sent::Null),
        ];
        assert_eq!(check_session_echo(&facts, &ok), Ok(()));
        for bad in [
            Echoed::Id(Sent::Null),
            Echoed::Status(Sent::Value("completed".into())),
            Echoed::RestoreJobType(Sent::Value("unknownFutureValue".into())),
            Echoed::ArtifactCount(Sent::Value(CountEcho { total: Some(2), ..CountEcho::default() })),
            Echoed::CompletedDateTime(Sent::Unreadable),
            Echoed::Error(Sent::Value(ErrorEcho::default())),
        ] {
            let name = bad.name();
            let err = check_session_echo(&facts, &[bad]).unwrap_err();
            assert!(matches!(&err, RuleError::InvalidPatch(m) if m.contains(&format!("'{name}'"))), "{err:?}");
        }
    }
}
