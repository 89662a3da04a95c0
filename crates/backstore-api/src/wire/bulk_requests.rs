//! Restore artifact bulk addition requests.

use backstore_domain::{RestorePointTags, Workload};
use backstore_store::BulkRequestRecord;
use serde::Serialize;

use super::{DateTime, IdentitySet, Named, PublicErrorWithDetails};
use crate::names::names;

/// A request as the service shows it: the big list of addresses comes back empty, the ids stay.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest<'a> {
    pub id: &'a str,
    pub display_name: Option<&'a str>,
    pub destination_type: &'static str,
    pub tags: &'static str,
    pub restore_point_preference: &'static str,
    pub status: &'a str,
    pub protection_time_period: TimePeriod,
    pub protection_unit_ids: [(); 0],
    #[serde(flatten)]
    pub addresses: Named<[(); 0]>,
    #[serde(flatten)]
    pub ids: Named<&'a [String]>,
    pub created_date_time: DateTime,
    pub created_by: IdentitySet<'a>,
    pub last_modified_date_time: DateTime,
    pub last_modified_by: IdentitySet<'a>,
    pub error: Option<PublicErrorWithDetails<'a>>,
}

/// `timePeriod`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimePeriod {
    pub start_date_time: Option<DateTime>,
    pub end_date_time: Option<DateTime>,
}

impl<'a> BulkRequest<'a> {
    pub fn new(r: &'a BulkRequestRecord, w: Workload) -> BulkRequest<'a> {
        let n = names(w);
        let s = &r.spec;
        BulkRequest {
            id: &r.id,
            display_name: s.display_name.as_deref(),
            destination_type: s.destination.as_str(),
            tags: s.tags.map_or("none", RestorePointTags::as_str),
            restore_point_preference: if s.latest { "latest" } else { "oldest" },
            status: &r.status,
            protection_time_period: TimePeriod {
                start_date_time: DateTime::opt(s.period_start),
                end_date_time: DateTime::opt(s.period_end),
            },
            protection_unit_ids: [],
            addresses: Named::new(n.bulk_addresses, []),
            ids: Named::new(n.bulk_ids, &s.object_ids),
            created_date_time: DateTime(r.stamps.created_at),
            created_by: IdentitySet::of(&r.stamps.created_by),
            last_modified_date_time: DateTime(r.stamps.last_modified_at),
            last_modified_by: IdentitySet::of(&r.stamps.last_modified_by),
            error: PublicErrorWithDetails::of(r.error.as_ref()),
        }
    }
}
