//! Restore points as the list and search show them, and the search's answer.

use backstore_store::RestorePointRecord;
use serde::Serialize;

use super::{RestorePoint, Unit};

/// A restore point, typed, with its unit expanded when there is one to show.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PointWithUnit<'a> {
    #[serde(rename = "@odata.type")]
    pub odata_type: &'static str,
    #[serde(flatten)]
    pub point: RestorePoint<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protection_unit: Option<Unit<'a>>,
}

impl<'a> PointWithUnit<'a> {
    pub fn new(p: &'a RestorePointRecord, unit: Option<Unit<'a>>) -> PointWithUnit<'a> {
        PointWithUnit {
            odata_type: "#microsoft.graph.restorePoint",
            point: RestorePoint::new(p),
            protection_unit: unit,
        }
    }
}

/// `restorePointSearchResponse`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResponse<'a> {
    #[serde(rename = "@odata.context")]
    pub context: String,
    pub search_response_id: String,
    pub search_results: Vec<SearchResult<'a>>,
    pub no_result_protection_unit_ids: Vec<&'a str>,
}

/// `restorePointSearchResult`: the point found for one unit.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult<'a> {
    pub restore_point: PointWithUnit<'a>,
    /// Counted by artifact queries over mail; a unit search has none.
    pub artifact_hit_count: Option<i64>,
}
