//! Value conversions between records and columns: times as microseconds, actors and lists as
//! JSON text, enum names, and the tenant (and workload) scope of collection reads.

use backstore_domain::{Actor, ErrorInfo, Timestamp, Workload};
use backstore_odata::SqlFilter;

use super::read::{Col, Columns};
use crate::{Bind, Stamps, StoreError, StoreResult};

/// A new row id: a UUID whose first bits are its creation time (version 7), so the rows one
/// transaction inserts land side by side in the `(tenant_id, id)` indexes instead of on as many
/// random pages (which a create of 50 artifacts then wrote, each, to the WAL). Clients see a GUID,
/// as from Graph.
pub(super) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

pub(super) fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

pub(super) fn from_micros(v: i64) -> StoreResult<Timestamp> {
    chrono::DateTime::from_timestamp_micros(v).ok_or_else(|| StoreError::Corrupt(format!("timestamp {v}")))
}

pub(super) fn opt_from_micros(v: Option<i64>) -> StoreResult<Option<Timestamp>> {
    v.map(from_micros).transpose()
}

pub(super) fn corrupt<T>(what: &str, value: &str) -> StoreResult<T> {
    Err(StoreError::Corrupt(format!("{what} '{value}'")))
}

pub(super) fn workload(s: &str) -> StoreResult<Workload> {
    Workload::from_unit_kind(s).map_or_else(|| corrupt("workload", s), Ok)
}

pub(super) fn actor_json(a: &Actor) -> String {
    serde_json::to_string(a).expect("an Actor always serializes")
}

pub(super) fn actor(s: &str) -> StoreResult<Actor> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("actor: {e}")))
}

pub(super) fn error_info(code: Option<String>, message: Option<String>) -> Option<ErrorInfo> {
    code.map(|code| ErrorInfo { code, message: message.unwrap_or_default() })
}

/// `tenant_id = ?` and, for one kind, `workload = ?`, with their values.
pub(super) fn kind_scope(tenant: &str, workload: Option<Workload>) -> SqlFilter {
    let mut binds = vec![Bind::Text(tenant.to_owned())];
    let mut sql = String::from("tenant_id = ?");
    if let Some(w) = workload {
        sql.push_str(" AND workload = ?");
        binds.push(Bind::Text(w.unit_kind().to_owned()));
    }
    SqlFilter { sql, binds }
}

/// `scope` narrowed to rows whose `column` is `value`, when there is a value.
pub(super) fn and_eq(mut scope: SqlFilter, column: &str, value: Option<&str>) -> SqlFilter {
    if let Some(v) = value {
        scope.sql.push_str(&format!(" AND {column} = ?"));
        scope.binds.push(Bind::Text(v.to_owned()));
    }
    scope
}

pub(super) fn json_list(s: &str) -> StoreResult<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("list: {e}")))
}

/// The `created_at`, `created_by`, `last_modified_at` and `last_modified_by` columns of a row.
pub(super) fn stamps(row: &dyn Columns) -> StoreResult<Stamps> {
    Ok(Stamps {
        created_at: from_micros(row.col("created_at")?)?,
        created_by: actor(&row.col::<String>("created_by")?)?,
        last_modified_at: from_micros(row.col("last_modified_at")?)?,
        last_modified_by: actor(&row.col::<String>("last_modified_by")?)?,
    })
}

/// What a workload keeps about a drive item beyond its columns (`drive_items.props`): a JSON object
/// of strings, none when NULL.
pub(super) fn props_from(text: Option<String>) -> StoreResult<std::collections::BTreeMap<String, String>> {
    match text {
        Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("item props: {e}"))),
        None => Ok(Default::default()),
    }
}
