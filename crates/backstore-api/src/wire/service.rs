//! The tenant's service: `backupRestoreRoot` and its `serviceStatus`.

use backstore_store::ServiceState;
use serde::Serialize;

use super::{DateTime, IdentitySet};

/// `backupRestoreRoot` as `GET /solutions/backupRestore` answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRoot<'a> {
    pub id: &'a str,
    pub service_status: ServiceStatus<'a>,
}

/// `serviceStatus`; a tenant that never enabled the service is `disabled`, `none`, consumer `unknown`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus<'a> {
    pub status: &'a str,
    pub backup_service_consumer: &'a str,
    pub disable_reason: Option<&'static str>,
    pub grace_period_date_time: Option<DateTime>,
    pub restore_allowed_till_date_time: Option<DateTime>,
    pub last_modified_by: Option<IdentitySet<'a>>,
    pub last_modified_date_time: Option<DateTime>,
}

impl<'a> ServiceStatus<'a> {
    pub fn new(state: Option<&'a ServiceState>) -> ServiceStatus<'a> {
        match state {
            Some(s) => ServiceStatus {
                status: &s.status,
                backup_service_consumer: &s.consumer,
                disable_reason: (s.status == "disabled").then_some("userRequested"),
                grace_period_date_time: None,
                restore_allowed_till_date_time: None,
                last_modified_by: Some(IdentitySet::of(&s.last_modified_by)),
                last_modified_date_time: Some(DateTime(s.last_modified_at)),
            },
            None => ServiceStatus {
                status: "disabled",
                backup_service_consumer: "unknown",
                disable_reason: Some("none"),
                grace_period_date_time: None,
                restore_allowed_till_date_time: None,
                last_modified_by: None,
                last_modified_date_time: None,
            },
        }
    }
}

/// The answer of `enable`: the new status with its own context.
#[derive(Debug, Serialize)]
pub struct Enabled<'a> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    #[serde(flatten)]
    pub status: ServiceStatus<'a>,
}
