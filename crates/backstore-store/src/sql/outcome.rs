//! How resolving work ends (a restore artifact bulk addition request, a protection unit bulk job, an
//! inclusion rule run): `completed`, or `completedWithErrors` with a detail per resource, stored on
//! its row.

use super::tx::Tx;
use backstore_domain::{ErrorInfo, Timestamp};

use super::rows::micros;
use crate::{ErrorDetail, StoreError, StoreResult};

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct StoredBulkError {
    code: String,
    message: String,
    details: Vec<ErrorDetail>,
}

/// A stored bulk error (`StoredBulkError` JSON) as the record shows it.
pub(super) fn stored_error(e: Option<String>) -> StoreResult<Option<(ErrorInfo, Vec<ErrorDetail>)>> {
    let e = e
        .map(|e| {
            serde_json::from_str::<StoredBulkError>(&e).map_err(|e| StoreError::Corrupt(format!("bulk error: {e}")))
        })
        .transpose()?;
    Ok(e.map(|e| (ErrorInfo { code: e.code, message: e.message }, e.details)))
}

/// Where a piece of resolving work keeps its outcome (table names are code, never input).
#[derive(Debug, Clone, Copy)]
pub(super) enum OutcomeTable {
    BulkRequests,
    UnitBulkJobs,
    ProtectionRules,
    ExclusionBulkJobs,
}

/// Ends a bulk request, bulk job or rule run: `completed`, or `completedWithErrors` with the
/// table's error code, `message` and the `details`, written to its row.
pub(super) async fn record_outcome(
    conn: &mut Tx,
    table: OutcomeTable,
    tenant: &str,
    id: &str,
    details: Vec<ErrorDetail>,
    message: String,
    now: Timestamp,
) -> StoreResult<()> {
    let (table, code) = match table {
        OutcomeTable::BulkRequests => ("bulk_requests", "BulkRestoreResourcesNotResolved"),
        OutcomeTable::UnitBulkJobs => ("unit_bulk_jobs", "ProtectionUnitsNotResolved"),
        OutcomeTable::ProtectionRules => ("protection_rules", "ProtectionRuleCompletedWithErrors"),
        OutcomeTable::ExclusionBulkJobs => ("exclusion_bulk_jobs", "ExclusionUnitsNotResolved"),
    };
    let (status, error) = if details.is_empty() {
        ("completed", None)
    } else {
        let stored = StoredBulkError { code: code.into(), message, details };
        ("completedWithErrors", Some(serde_json::to_string(&stored).expect("errors serialize")))
    };
    exec!(
        conn,
        &format!("UPDATE {table} SET status = ?, error = ?, last_modified_at = ? WHERE tenant_id = ? AND id = ?"),
        status,
        error,
        micros(now),
        tenant,
        id
    )
    .await?;
    Ok(())
}
