//! Protection unit bulk addition jobs.

use backstore_domain::Workload;
use backstore_store::UnitBulkJobRecord;
use serde::Serialize;

use super::{Named, PublicErrorWithDetails, Stamped};
use crate::names::{names, odata_type};

/// A bulk addition job, with its kind's address and id lists (`siteWebUrls`/`siteIds`, …).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitJob<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: String,
    pub id: &'a str,
    pub display_name: Option<&'a str>,
    pub status: &'a str,
    #[serde(flatten)]
    pub addresses: Named<&'a [String]>,
    #[serde(flatten)]
    pub ids: Named<&'a [String]>,
    #[serde(flatten)]
    pub stamps: Stamped<'a>,
    pub error: Option<PublicErrorWithDetails<'a>>,
}

/// `siteProtectionUnitsBulkAdditionJob` and its kin.
pub fn job_type(w: Workload) -> &'static str {
    let nav = names(w).unit_jobs_nav;
    &nav[..nav.len() - 1]
}

impl<'a> UnitJob<'a> {
    pub fn new(j: &'a UnitBulkJobRecord) -> UnitJob<'a> {
        let n = names(j.workload);
        UnitJob {
            odata_type: odata_type(job_type(j.workload)),
            id: &j.id,
            display_name: j.display_name.as_deref(),
            status: &j.status,
            addresses: Named::new(n.bulk_addresses, &j.addresses),
            ids: Named::new(n.bulk_ids, &j.object_ids),
            stamps: Stamped::of(&j.stamps),
            error: PublicErrorWithDetails::of(j.error.as_ref()),
        }
    }
}
