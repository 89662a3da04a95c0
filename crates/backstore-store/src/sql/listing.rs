//! Collection reads on SQLite: the allow-lists of what each collection is filtered and sorted on
//! (column expressions written here, never taken from a request) and the one function that turns a
//! [`ListSpec`] into `WHERE … ORDER BY … LIMIT … OFFSET …` with every value bound.

use backstore_odata::{Field, Kind, Schema};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use sqlx::{Any, AnyPool, Row};

use super::numbered;

use crate::{Bind, Collection, Keyed, ListSpec, OrderKey, SqlFilter, StoreResult};

const SESSION_STATUS: &[&str] =
    &["draft", "activating", "active", "completedWithError", "completed", "failed", "unknownFutureValue"];
const JOB_TYPE: &[&str] = &["standard", "bulk", "granular", "unknownFutureValue"];
const ARTIFACT_STATUS: &[&str] =
    &["added", "scheduling", "scheduled", "inProgress", "succeeded", "failed", "unknownFutureValue"];
const DESTINATION: &[&str] = &["new", "inPlace", "unknownFutureValue"];
const UNIT_STATUS: &[&str] = &[
    "protectRequested",
    "protected",
    "unprotectRequested",
    "unprotected",
    "removeRequested",
    "unknownFutureValue",
    "offboardRequested",
    "offboarded",
    "cancelOffboardRequested",
];

const fn text(name: &'static str, column: &'static str) -> Field {
    Field { name, column, kind: Kind::Text, sort: Some(column) }
}

const fn time(name: &'static str, column: &'static str, sort: &'static str) -> Field {
    Field { name, column, kind: Kind::DateTime, sort: Some(sort) }
}

const fn int(name: &'static str, column: &'static str) -> Field {
    Field { name, column, kind: Kind::Int, sort: Some(column) }
}

const fn members(name: &'static str, column: &'static str, values: &'static [&'static str]) -> Field {
    Field { name, column, kind: Kind::Enum(values), sort: Some(column) }
}

/// Identity sets are stored as the JSON of `Actor`.
const fn identity(name: &'static str, column: &'static str) -> Field {
    Field { name, column, kind: Kind::Text, sort: None }
}

pub(super) static SESSIONS: Schema = Schema {
    type_name: "restoreSessionBase",
    fields: &[
        text("id", "id"),
        members("status", "status", SESSION_STATUS),
        members("restoreJobType", "restore_job_type", JOB_TYPE),
        time("createdDateTime", "created_at", "created_at"),
        time("lastModifiedDateTime", "last_modified_at", "last_modified_at"),
        time("completedDateTime", "completed_at", "COALESCE(completed_at, -1)"),
        identity("createdBy/user/id", "json_extract(created_by, '$.user_id')"),
        identity("createdBy/user/displayName", "json_extract(created_by, '$.user_name')"),
        identity("createdBy/application/id", "json_extract(created_by, '$.application_id')"),
        identity("lastModifiedBy/user/id", "json_extract(last_modified_by, '$.user_id')"),
        identity("lastModifiedBy/application/id", "json_extract(last_modified_by, '$.application_id')"),
        int("restoreSessionArtifactCount/total", "total"),
        int("restoreSessionArtifactCount/completed", "completed"),
        int("restoreSessionArtifactCount/failed", "failed"),
        int("restoreSessionArtifactCount/inProgress", "in_progress"),
        Field { name: "error/code", column: "error_code", kind: Kind::Text, sort: None },
    ],
    types: &[
        ("sharePointRestoreSession", "workload = 'site'"),
        ("exchangeRestoreSession", "workload = 'mailbox'"),
        ("oneDriveForBusinessRestoreSession", "workload = 'drive'"),
    ],
};

pub(super) static ARTIFACTS: Schema = Schema {
    type_name: "restoreArtifactBase",
    fields: &[
        text("id", "a.id"),
        members("status", "a.status", ARTIFACT_STATUS),
        members("destinationType", "a.destination_type", DESTINATION),
        time("createdDateTime", "a.created_at", "a.created_at"),
        time("startDateTime", "a.start_at", "COALESCE(a.start_at, -1)"),
        time("completionDateTime", "a.completion_at", "COALESCE(a.completion_at, -1)"),
        text("restorePoint/id", "a.restore_point_id"),
        time("restorePoint/protectionDateTime", "rp.protection_at", "rp.protection_at"),
        time("restorePoint/expirationDateTime", "rp.expiration_at", "rp.expiration_at"),
        text("restorePoint/protectionUnit/id", "rp.protection_unit_id"),
        Field { name: "error/code", column: "a.error_code", kind: Kind::Text, sort: None },
        Field { name: "restoredSiteId", column: "a.restored_site_id", kind: Kind::Text, sort: None },
        Field { name: "restoredSiteName", column: "a.restored_site_name", kind: Kind::Text, sort: None },
        Field { name: "restoredSiteWebUrl", column: "a.restored_site_web_url", kind: Kind::Text, sort: None },
        Field { name: "restoredFolderId", column: "a.restored_folder_id", kind: Kind::Text, sort: None },
        Field { name: "restoredFolderName", column: "a.restored_folder_name", kind: Kind::Text, sort: None },
    ],
    types: &[],
};

pub(super) static UNITS: Schema = Schema {
    type_name: "protectionUnitBase",
    fields: &[
        text("id", "id"),
        members("status", "status", UNIT_STATUS),
        Field { name: "policyId", column: "policy_id", kind: Kind::Text, sort: Some("COALESCE(policy_id, '')") },
        time("createdDateTime", "created_at", "created_at"),
        time("lastModifiedDateTime", "last_modified_at", "COALESCE(last_modified_at, created_at)"),
        Field { name: "siteId", column: "site_id", kind: Kind::Text, sort: Some("COALESCE(site_id, '')") },
        Field {
            name: "directoryObjectId",
            column: "directory_object_id",
            kind: Kind::Text,
            sort: Some("COALESCE(directory_object_id, '')"),
        },
        identity("createdBy/user/id", "json_extract(created_by, '$.user_id')"),
        identity("createdBy/application/id", "json_extract(created_by, '$.application_id')"),
        Field { name: "error/code", column: "error_code", kind: Kind::Text, sort: None },
    ],
    types: &[
        ("siteProtectionUnit", "workload = 'site'"),
        ("mailboxProtectionUnit", "workload = 'mailbox'"),
        ("driveProtectionUnit", "workload = 'drive'"),
    ],
};

pub(super) fn schema(c: Collection) -> &'static Schema {
    match c {
        Collection::Sessions => &SESSIONS,
        Collection::Artifacts => &ARTIFACTS,
        Collection::Units => &UNITS,
    }
}

impl crate::Store {
    /// The allow-list of what a collection can be filtered and sorted on, for planning queries.
    pub fn schema(&self, collection: Collection) -> &'static Schema {
        schema(collection)
    }
}

/// A query of `sql` (already [`numbered`]) with `binds` bound in order.
pub(super) fn with_binds<'q>(sql: &'q str, binds: &[Bind]) -> Query<'q, Any, AnyArguments<'q>> {
    binds.iter().fold(sqlx::query(sql), bind)
}

fn bind<'q>(q: Query<'q, Any, AnyArguments<'q>>, b: &Bind) -> Query<'q, Any, AnyArguments<'q>> {
    match b {
        Bind::Text(s) => q.bind(s.clone()),
        Bind::Int(i) => q.bind(*i),
    }
}

/// One page of `select` (which ends with `FROM …`, its columns first) restricted by `scope` (a
/// condition with `scope_binds`), as `spec` asks; `seq` names the keyset column.
pub(super) async fn page<T>(
    pool: &AnyPool,
    select: &str,
    scope: &str,
    scope_binds: &[Bind],
    seq: &str,
    spec: &ListSpec,
    read: impl Fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Vec<Keyed<T>>> {
    let (columns, from) = select.split_once(" FROM ").expect("a SELECT … FROM …");
    let mut sql = String::from(columns);
    for (i, k) in spec.order.iter().enumerate() {
        sql.push_str(&format!(", {} AS sort_key_{i}", k.sql));
    }
    sql.push_str(" FROM ");
    sql.push_str(from);
    sql.push_str(" WHERE ");
    sql.push_str(scope);
    let mut binds: Vec<Bind> = scope_binds.to_vec();
    if let Some(f) = &spec.filter {
        sql.push_str(&format!(" AND ({})", f.sql));
        binds.extend(f.binds.iter().cloned());
    }
    if let Some((values, after_seq)) = &spec.after {
        let after = OrderKey::after(&spec.order, seq, values, *after_seq)
            .ok_or_else(|| crate::StoreError::Corrupt("a keyset position that does not fit the order".into()))?;
        sql.push_str(&format!(" AND {}", after.sql));
        binds.extend(after.binds);
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT ? OFFSET ?", OrderKey::order_by(&spec.order, seq)));
    binds.push(Bind::Int(spec.limit));
    binds.push(Bind::Int(spec.skip));
    let sql = numbered(&sql);
    let rows = with_binds(&sql, &binds).fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            let keys = spec
                .order
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    let col = format!("sort_key_{i}");
                    Ok(match k.kind {
                        Kind::Text | Kind::Enum(_) => Bind::Text(row.try_get(col.as_str())?),
                        Kind::DateTime | Kind::Bool | Kind::Int => Bind::Int(row.try_get(col.as_str())?),
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Keyed { record: read(row)?, keys })
        })
        .collect()
}

/// How many rows of `from` (`FROM …` onwards) match `scope` and `filter`.
pub(super) async fn count(
    pool: &AnyPool,
    from: &str,
    scope: &str,
    scope_binds: &[Bind],
    filter: Option<&SqlFilter>,
) -> StoreResult<i64> {
    let mut sql = format!("SELECT COUNT(*) {from} WHERE {scope}");
    let mut binds: Vec<Bind> = scope_binds.to_vec();
    if let Some(f) = filter {
        sql.push_str(&format!(" AND ({})", f.sql));
        binds.extend(f.binds.iter().cloned());
    }
    let sql = numbered(&sql);
    Ok(with_binds(&sql, &binds).fetch_one(pool).await?.try_get(0)?)
}
