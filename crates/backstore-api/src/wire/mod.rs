//! Records → Graph JSON, as typed response bodies: one `Serialize` struct per shape, in
//! `wire/<resource>.rs`, with the members in the order Graph's examples show them. Handlers build
//! them and hand them to `handlers::entity` or a collection; `$select` then keeps the members it
//! names. Evolvable enum members are decided here, and only here ([`Render`]).

use backstore_domain::{Actor, ErrorInfo, ProtectionUnitStatus, RestoreJobType, SessionStatus, Timestamp};
use backstore_store::ErrorDetail;
use chrono::SecondsFormat;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

mod artifacts;
mod bulk_requests;
pub mod drives;
mod exclusions;
pub mod mail;
mod policies;
mod restore_points;
mod rules;
mod service;
mod service_apps;
mod sessions;
mod unit_jobs;
mod units;

pub use artifacts::{Artifact, GranularArtifact, RestorePoint};
pub use bulk_requests::BulkRequest;
pub use exclusions::{exclusion_job_type, Exclusion, ExclusionDeltaItem, ExclusionJob};
pub use policies::{CountStatistics, Policy, PolicyDelta, PolicyDeltaItem, PolicyReport};
pub use restore_points::{PointWithUnit, SearchResponse, SearchResult};
pub use rules::Rule;
pub use service::{Enabled, ServiceRoot, ServiceStatus};
pub use service_apps::{NotificationSetting, ServiceApp};
pub use sessions::{DeltaEcho, Session, SessionDelta};
pub use unit_jobs::{job_type, UnitJob};
pub use units::Unit;

/// How a response is written for one request.
#[derive(Debug, Clone, Copy)]
pub struct Render {
    /// The request sent `Prefer: include-unknown-enum-members`.
    pub include_unknown_enums: bool,
}

impl Render {
    /// Members after `unknownFutureValue` are written as `unknownFutureValue` unless asked for.
    fn evolvable(&self, name: &'static str, is_evolvable: bool) -> &'static str {
        if is_evolvable && !self.include_unknown_enums {
            "unknownFutureValue"
        } else {
            name
        }
    }

    pub fn session_status(&self, s: SessionStatus) -> &'static str {
        self.evolvable(s.as_str(), s.is_evolvable())
    }

    pub fn job_type(&self, j: RestoreJobType) -> &'static str {
        self.evolvable(j.as_str(), j.is_evolvable())
    }

    /// `protectionRuleStatus`: `updateRequested` and `deleteRequested` come after the sentinel.
    pub fn rule_status<'a>(&self, s: &'a str) -> &'a str {
        if matches!(s, "updateRequested" | "deleteRequested") && !self.include_unknown_enums {
            "unknownFutureValue"
        } else {
            s
        }
    }

    pub fn unit_status(&self, s: ProtectionUnitStatus) -> &'static str {
        self.evolvable(s.as_str(), s.is_evolvable())
    }
}

/// The members of a body, for `$select` to keep some of them and for a response to add its
/// annotations around them.
pub fn members(body: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(body) {
        Ok(Value::Object(m)) => m,
        other => unreachable!("a response body is a JSON object, not {other:?}"),
    }
}

/// ISO 8601 UTC with `Z`, fractional seconds only as far as they go.
#[derive(Debug, Clone, Copy)]
pub struct DateTime(pub Timestamp);

impl DateTime {
    pub fn opt(t: Option<Timestamp>) -> Option<DateTime> {
        t.map(DateTime)
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        match rfc3339(self.0, &mut buf) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

/// `t` as chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes it, into `buf`, without
/// an allocation (a page of 100 artifacts writes 400 of them); `None` for what chrono must write
/// (a year outside 0..=9999, a leap second).
fn rfc3339(t: Timestamp, buf: &mut [u8; 30]) -> Option<&str> {
    use chrono::{Datelike, Timelike};
    let (d, time) = (t.date_naive(), t.time());
    let (year, nanos) = (d.year(), time.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, v: u32, width: usize| {
        let mut v = v;
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, d.month(), 2);
    put(8, d.day(), 2);
    put(11, time.hour(), 2);
    put(14, time.minute(), 2);
    put(17, time.second(), 2);
    let digits = match nanos {
        0 => 0,
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    if digits > 0 {
        put(20, nanos / 10u32.pow(9 - digits as u32), digits);
    }
    for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')] {
        buf[at] = c;
    }
    let end = if digits > 0 { 20 + digits } else { 19 };
    buf[end] = b'Z';
    std::str::from_utf8(&buf[..=end]).ok()
}

/// An `identity` of an `identitySet`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity<'a> {
    pub id: &'a str,
    pub display_name: Option<&'a str>,
}

/// `identitySet`: the application, and the user for delegated callers.
#[derive(Debug, Serialize)]
pub struct IdentitySet<'a> {
    pub application: Identity<'a>,
    pub user: Option<Identity<'a>>,
}

impl<'a> IdentitySet<'a> {
    pub fn of(a: &'a Actor) -> IdentitySet<'a> {
        IdentitySet {
            application: Identity { id: &a.application_id, display_name: a.application_name.as_deref() },
            user: a.user_id.as_deref().map(|id| Identity { id, display_name: a.user_name.as_deref() }),
        }
    }
}

/// `publicError` of a session, an artifact or a unit.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicError<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub target: Option<&'a str>,
    pub details: [(); 0],
    pub inner_error: Option<()>,
}

impl<'a> PublicError<'a> {
    pub fn new(code: &'a str, message: &'a str) -> PublicError<'a> {
        PublicError { code, message, target: None, details: [], inner_error: None }
    }

    pub fn of(e: Option<&'a ErrorInfo>) -> Option<PublicError<'a>> {
        e.map(|e| PublicError::new(&e.code, &e.message))
    }
}

/// A `publicError` with a detail per item that went wrong (bulk requests and jobs, rules).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicErrorWithDetails<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub target: Option<&'a str>,
    pub inner_error: Option<()>,
    pub details: Vec<ErrorDetailOut<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetailOut<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub target: &'a str,
}

impl<'a> PublicErrorWithDetails<'a> {
    pub fn of(e: Option<&'a (ErrorInfo, Vec<ErrorDetail>)>) -> Option<PublicErrorWithDetails<'a>> {
        e.map(|(e, details)| PublicErrorWithDetails {
            code: &e.code,
            message: &e.message,
            target: None,
            inner_error: None,
            details: details
                .iter()
                .map(|d| ErrorDetailOut { code: &d.code, message: &d.message, target: &d.target })
                .collect(),
        })
    }
}

/// A member whose name depends on the workload (`siteExpression`, `mailboxes`, …), flattened into
/// its body.
#[derive(Debug)]
pub struct Named<T> {
    pub name: std::borrow::Cow<'static, str>,
    pub value: T,
}

impl<T> Named<T> {
    pub fn new(name: impl Into<std::borrow::Cow<'static, str>>, value: T) -> Named<T> {
        Named { name: name.into(), value }
    }
}

impl<T: Serialize> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(&self.name, &self.value)?;
        m.end()
    }
}

/// The `@removed` annotation of a delta echo.
#[derive(Debug, Serialize)]
pub struct Removed {
    pub reason: &'static str,
}

pub const CHANGED: Removed = Removed { reason: "changed" };

/// `@Core.DataModificationException` of a delta item that failed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataModificationException<'a> {
    pub info: Info<'a>,
    pub failed_operation: &'static str,
    pub response_code: u16,
}

#[derive(Debug, Serialize)]
pub struct Info<'a> {
    pub code: &'a str,
    pub message: std::borrow::Cow<'a, str>,
}

/// A count of items by how they are going (sessions, policies).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactCount {
    pub total: i64,
    pub completed: i64,
    pub in_progress: i64,
    pub failed: i64,
}

/// A collection: its context, `@odata.count` when `$count=true` asked for it, the items, and the
/// link to the next page when there is one.
#[derive(Debug, Serialize)]
pub struct Collection<T> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(rename = "@odata.count", skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
}

/// How a polymorphic entity begins: `@odata.type` where it belongs (reached through a base-type
/// set), then its id.
#[derive(Debug, Serialize)]
pub struct Head<'a> {
    #[serde(rename = "@odata.type", skip_serializing_if = "Option::is_none")]
    pub odata_type: Option<String>,
    pub id: &'a str,
}

/// One entity: its context first, then its members.
/// A page of a delta: the items, then a nextLink to the rest of the round or a deltaLink to come
/// back with.
#[derive(Debug, Serialize)]
pub struct DeltaPage<T> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(rename = "@odata.nextLink", skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", skip_serializing_if = "Option::is_none")]
    pub delta_link: Option<String>,
    pub value: Vec<T>,
}

#[derive(Debug, Serialize)]
pub struct Entity<T> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(flatten)]
    pub members: T,
}

/// Graph's error envelope.
#[derive(Debug, Serialize)]
pub struct ErrorEnvelope<'a> {
    pub error: GraphError<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphError<'a> {
    pub code: &'a str,
    pub message: String,
    pub inner_error: InnerError<'a>,
}

/// `innerError`: when, and which request (the `request-id` header says the same).
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct InnerError<'a> {
    pub date: String,
    pub request_id: &'a str,
    pub client_request_id: &'a str,
}

/// `createdBy`, `createdDateTime`, `lastModifiedBy`, `lastModifiedDateTime`, in that order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamped<'a> {
    pub created_by: IdentitySet<'a>,
    pub created_date_time: DateTime,
    pub last_modified_by: IdentitySet<'a>,
    pub last_modified_date_time: DateTime,
}

impl<'a> Stamped<'a> {
    pub fn of(s: &'a backstore_domain::Stamps) -> Stamped<'a> {
        Stamped {
            created_by: IdentitySet::of(&s.created_by),
            created_date_time: DateTime(s.created_at),
            last_modified_by: IdentitySet::of(&s.last_modified_by),
            last_modified_date_time: DateTime(s.last_modified_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_text(t: Timestamp) -> String {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let at = |micros: i64, nanos: u32| {
            chrono::DateTime::from_timestamp(micros.div_euclid(1_000_000), nanos).expect("in range")
        };
        for t in [
            at(0, 0),
            at(1_764_000_000_000_000, 0),
            at(1_764_000_000_000_000, 120_000_000),
            at(1_764_000_000_000_000, 123_456_000),
            at(1_764_000_000_000_000, 1),
            at(-62_135_596_800_000_000, 0),
            at(253_402_300_799_000_000, 999_999_999),
        ] {
            let mut buf = [0u8; 30];
            assert_eq!(rfc3339(t, &mut buf), Some(chrono_text(t).as_str()));
        }
        let outside = at(253_402_300_800_000_000, 0);
        assert_eq!(rfc3339(outside, &mut [0u8; 30]), None);
        assert_eq!(serde_json::to_value(DateTime(outside)).unwrap(), Value::String(chrono_text(outside)));
    }

    proptest! {
        #[test]
        fn any_timestamp_serializes_as_chrono_writes_it(secs in -70_000_000_000i64..260_000_000_000, nanos in prop_oneof![
            Just(0u32), (0u32..1000).prop_map(|m| m * 1_000_000), (0u32..1_000_000).prop_map(|u| u * 1000), 0u32..1_000_000_000
        ]) {
            let t = chrono::DateTime::from_timestamp(secs, nanos).expect("in range");
            let json = serde_json::to_value(DateTime(t)).unwrap();
            prop_assert_eq!(json, Value::String(chrono_text(t)));
        }
    }
}
