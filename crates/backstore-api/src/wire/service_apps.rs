//! Service apps and the e-mail notification setting.

use backstore_domain::Timestamp;
use backstore_store::{NotificationSettings, ServiceAppRecord};
use serde::Serialize;

use super::{DateTime, Identity, IdentitySet};

/// A service app; its status follows from its control window and the time of the read.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceApp<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub id: &'a str,
    pub application: Identity<'a>,
    pub status: &'static str,
    pub registration_date_time: DateTime,
    pub effective_date_time: Option<DateTime>,
    pub last_modified_by: IdentitySet<'a>,
    pub last_modified_date_time: DateTime,
}

impl<'a> ServiceApp<'a> {
    pub fn new(a: &'a ServiceAppRecord, now: Timestamp) -> ServiceApp<'a> {
        ServiceApp {
            odata_type: "#microsoft.graph.serviceApp",
            id: &a.id,
            application: Identity { id: &a.application_id, display_name: a.application_name.as_deref() },
            status: a.status(now),
            registration_date_time: DateTime(a.registered_at),
            effective_date_time: DateTime::opt(a.activated_at),
            last_modified_by: IdentitySet::of(&a.last_modified_by),
            last_modified_date_time: DateTime(a.last_modified_at),
        }
    }
}

/// `emailNotificationsSetting`: its stable id, then the members as last written.
#[derive(Debug, Serialize)]
pub struct NotificationSetting<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    pub id: String,
    #[serde(flatten)]
    pub settings: &'a NotificationSettings,
}
