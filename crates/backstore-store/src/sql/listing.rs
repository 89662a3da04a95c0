//! Collection reads on SQLite: the allow-lists of what each collection is filtered and sorted on
//! (column expressions written here, never taken from a request) and the one function that turns a
//! [`ListSpec`] into `WHERE … ORDER BY … LIMIT … OFFSET …` with every value bound.

use backstore_domain::activity::{ActivityResult, ActivitySeverity, ActivityType};
use backstore_domain::{
    ArtifactStatus, DestinationType, ProtectionUnitStatus, RestoreJobType, SessionStatus, Workload,
};
use backstore_odata::{plan_filter, plan_order, Field, Kind, OrderKey, Schema, SqlFilter, MAX_ORDER_KEYS};

use super::read::{Arg, Col, Columns, Cost};
use super::tenants::{status_seen, STATUS_SEEN};
use crate::{Bind, Filter, Keyed, ListSpec, Page, StatusSeen, Store, StoreResult};

// What `$filter` accepts of each enum: the domain's member lists, `unknownFutureValue` included.
const SESSION_STATUS: &[&str] = SessionStatus::MEMBERS;
const JOB_TYPE: &[&str] = RestoreJobType::MEMBERS;
const ARTIFACT_STATUS: &[&str] = ArtifactStatus::MEMBERS;
const DESTINATION: &[&str] = DestinationType::MEMBERS;
const UNIT_STATUS: &[&str] = ProtectionUnitStatus::MEMBERS;

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

static SESSIONS: Schema = Schema {
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

static ARTIFACTS: Schema = Schema {
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

static UNITS: Schema = Schema {
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

static MESSAGES: Schema = Schema {
    type_name: "message",
    fields: &[
        text("id", "m.item_id"),
        text("subject", "m.subject"),
        time("receivedDateTime", "m.received_at", "m.received_at"),
        time("sentDateTime", "m.sent_at", "COALESCE(m.sent_at, -1)"),
        time("createdDateTime", "i.created_at", "i.created_at"),
        time("lastModifiedDateTime", "i.modified_at", "i.modified_at"),
        Field {
            name: "from/emailAddress/address",
            column: "m.from_address",
            kind: Kind::Text,
            sort: Some("COALESCE(m.from_address, '')"),
        },
        Field {
            name: "from/emailAddress/name",
            column: "m.from_name",
            kind: Kind::Text,
            sort: Some("COALESCE(m.from_name, '')"),
        },
        Field {
            name: "hasAttachments",
            column: "m.has_attachments",
            kind: Kind::Bool,
            sort: Some("m.has_attachments"),
        },
        Field { name: "isRead", column: "m.is_read", kind: Kind::Bool, sort: Some("m.is_read") },
        Field { name: "isDraft", column: "m.is_draft", kind: Kind::Bool, sort: Some("m.is_draft") },
        members("importance", "m.importance", IMPORTANCE),
        members("flag/flagStatus", "m.flag_status", FLAG_STATUS),
        text("parentFolderId", "i.parent_id"),
        text("conversationId", "m.conversation_id"),
        Field { name: "internetMessageId", column: "m.internet_message_id", kind: Kind::Text, sort: None },
    ],
    types: &[],
};

const IMPORTANCE: &[&str] = &["low", "normal", "high"];
const FLAG_STATUS: &[&str] = &["notFlagged", "complete", "flagged"];

static ACTIVITY_LOGS: Schema = Schema {
    type_name: "activityLogBase",
    fields: &[
        text("id", "id"),
        members("activityType", "activity_type", ActivityType::MEMBERS),
        time("eventDateTime", "event_at", "event_at"),
        members("resultStatus", "result_status", ActivityResult::MEMBERS),
        members("severity", "severity", ActivitySeverity::MEMBERS),
        members("serviceType", "service_type", SERVICE_TYPES),
        Field {
            name: "performedBy",
            column: "performed_by",
            kind: Kind::Text,
            sort: Some("COALESCE(performed_by, '')"),
        },
    ],
    types: &[
        ("backupPolicyActivityLog", "kind = 'backupPolicyActivityLog'"),
        ("restoreTaskActivityLog", "kind = 'restoreTaskActivityLog'"),
        ("dynamicRuleActivityLog", "kind = 'dynamicRuleActivityLog'"),
        ("offboardingActivityLog", "kind = 'offboardingActivityLog'"),
    ],
};

const SERVICE_TYPES: &[&str] = &["exchange", "oneDriveForBusiness", "sharePoint", "unknown", "unknownFutureValue"];

/// The collections that take OData query options, each with its allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Collection {
    Sessions,
    Artifacts,
    Units,
    Messages,
    ActivityLogs,
}

impl Collection {
    fn schema(self) -> &'static Schema {
        match self {
            Collection::Sessions => &SESSIONS,
            Collection::Artifacts => &ARTIFACTS,
            Collection::Units => &UNITS,
            Collection::Messages => &MESSAGES,
            Collection::ActivityLogs => &ACTIVITY_LOGS,
        }
    }

    /// `filter` planned against the allow-list: SQL over the collection's columns, values bound.
    fn plan(self, filter: Option<&Filter>) -> StoreResult<Option<SqlFilter>> {
        Ok(filter.map(|f| plan_filter(&f.expr, self.schema(), &f.text)).transpose()?)
    }
}

/// Where a collection read looks: which collection (its allow-list), the `SELECT columns FROM …`
/// its rows come from, the keyset column, and the condition that scopes it to a tenant (and a kind or
/// a session), with its values.
pub(super) struct Source<'a> {
    pub collection: Collection,
    pub select: std::borrow::Cow<'a, str>,
    pub seq: &'static str,
    pub scope: SqlFilter,
}

/// A collection whose rows carry a `workload`: which it is, its columns and its table.
pub(super) type Kinded = (Collection, &'static str, &'static str);

impl Source<'static> {
    /// A tenant's rows of `table` (its `columns`), of one kind or all, as `collection` reads them.
    pub fn of_kind((collection, columns, table): Kinded, tenant: &str, w: Option<Workload>) -> Self {
        let select = format!("SELECT {columns} FROM {table}").into();
        Source { collection, select, seq: "seq", scope: super::rows::kind_scope(tenant, w) }
    }
}

/// One page of `source`, as `spec` asks, and the count of what its filter keeps when asked.
pub(super) async fn page<T>(
    store: &Store,
    source: &Source<'_>,
    spec: &ListSpec,
    read: impl FnMut(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    Ok(page_seeing_status(store, source, spec, None, read).await?.1)
}

/// [`page`], its rows also carrying the service status of tenant `status_of` when given (one
/// statement reads both): the status as the first row saw it, `None` when the page is empty.
pub(super) async fn page_seeing_status<T>(
    store: &Store,
    source: &Source<'_>,
    spec: &ListSpec,
    status_of: Option<&str>,
    read: impl FnMut(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<(Option<StatusSeen>, Page<T>)> {
    let (seen, rows) = keyed_rows(store, source, spec, status_of, read).await?;
    let count = if spec.count { Some(count(store, source, spec.filter.as_ref()).await?) } else { None };
    Ok((seen, Page { rows, count }))
}

/// The most rows a page's vector has room for before its first row is read: the API's longest page
/// (999) and the one row more that tells whether another follows.
const EXPECT_AT_MOST: usize = 1000;

/// The names a page's sort keys are selected under (one per `$orderby` property).
const SORT_KEYS: [&str; MAX_ORDER_KEYS] =
    ["sort_key_0", "sort_key_1", "sort_key_2", "sort_key_3", "sort_key_4", "sort_key_5", "sort_key_6", "sort_key_7"];

async fn keyed_rows<T>(
    store: &Store,
    source: &Source<'_>,
    spec: &ListSpec,
    status_of: Option<&str>,
    mut read: impl FnMut(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<(Option<StatusSeen>, Vec<Keyed<T>>)> {
    let Source { collection, select, seq, scope } = source;
    let order = plan_order(&spec.order, collection.schema())?;
    let (columns, from) = select.split_once(" FROM ").expect("a SELECT … FROM …");
    let mut binds: Vec<Bind> = Vec::new();
    let mut sql = match status_of {
        Some(tenant) => {
            binds.push(Bind::Text(tenant.to_owned()));
            let columns = columns.strip_prefix("SELECT ").expect("a SELECT … FROM …");
            format!("SELECT {STATUS_SEEN}, {columns}")
        }
        None => String::from(columns),
    };
    for (i, k) in order.iter().enumerate() {
        sql.push_str(&format!(", {} AS {}", k.sql, SORT_KEYS[i]));
    }
    sql.push_str(" FROM ");
    sql.push_str(from);
    sql.push_str(" WHERE ");
    sql.push_str(&scope.sql);
    binds.extend(scope.binds.iter().cloned());
    if let Some(f) = collection.plan(spec.filter.as_ref())? {
        sql.push_str(&format!(" AND ({})", f.sql));
        binds.extend(f.binds.iter().cloned());
    }
    if let Some((values, after_seq)) = &spec.after {
        let after = OrderKey::after(&order, seq, values, *after_seq)
            .ok_or_else(|| crate::StoreError::Corrupt("a keyset position that does not fit the order".into()))?;
        sql.push_str(&format!(" AND {}", after.sql));
        binds.extend(after.binds);
    }
    sql.push_str(&format!(" ORDER BY {} LIMIT ? OFFSET ?", OrderKey::order_by(&order, seq)));
    binds.push(Bind::Int(spec.limit));
    binds.push(Bind::Int(spec.skip));
    let args: Vec<Arg<'_>> = binds.iter().map(Arg::from).collect();
    let expect = usize::try_from(spec.limit).unwrap_or(0).min(EXPECT_AT_MOST);
    let mut seen = None;
    let rows = store
        .read_rows_expecting(Cost::of_list(spec), expect, &sql, &args, |row| {
            if status_of.is_some() && seen.is_none() {
                seen = Some(status_seen(row)?);
            }
            let keys = order
                .iter()
                .zip(SORT_KEYS)
                .map(|(k, col)| {
                    Ok(match k.kind {
                        Kind::Text | Kind::Enum(_) => Bind::Text(row.col(col)?),
                        Kind::DateTime | Kind::Bool | Kind::Int => Bind::Int(row.col(col)?),
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(Keyed { record: read(row)?, keys })
        })
        .await?;
    Ok((seen, rows))
}

/// At most `limit` rows of `select` (`SELECT … FROM …`) within `scope`, after row `after` of the
/// `seq` column, in creation order: the collections read without OData query options.
pub(super) async fn after_seq<T>(
    store: &Store,
    select: &str,
    scope: SqlFilter,
    (seq, after, limit): (&str, Option<i64>, i64),
    read: impl Fn(&dyn Columns) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let sql = format!("{select} WHERE {} AND {seq} > ? ORDER BY {seq} LIMIT ?", scope.sql);
    let mut binds = scope.binds;
    binds.extend([Bind::Int(after.unwrap_or(0)), Bind::Int(limit)]);
    let args: Vec<Arg<'_>> = binds.iter().map(Arg::from).collect();
    store.read_rows(Cost::Seek, &sql, &args, read).await
}

/// How many rows of `table` are in `scope`.
pub(super) async fn count_in(store: &Store, table: &str, scope: SqlFilter) -> StoreResult<i64> {
    let sql = format!("SELECT COUNT(*) AS n FROM {table} WHERE {}", scope.sql);
    let args: Vec<Arg<'_>> = scope.binds.iter().map(Arg::from).collect();
    let n = store.read_rows(Cost::Scan, &sql, &args, |row| row.col::<i64>("n")).await?;
    Ok(n.into_iter().next().unwrap_or(0))
}

/// How many rows of `source` match `filter`.
pub(super) async fn count(store: &Store, source: &Source<'_>, filter: Option<&Filter>) -> StoreResult<i64> {
    let (_, from) = source.select.split_once(" FROM ").expect("a SELECT … FROM …");
    let mut sql = format!("SELECT COUNT(*) AS n FROM {from} WHERE {}", source.scope.sql);
    let mut binds: Vec<Bind> = source.scope.binds.clone();
    if let Some(f) = source.collection.plan(filter)? {
        sql.push_str(&format!(" AND ({})", f.sql));
        binds.extend(f.binds.iter().cloned());
    }
    let args: Vec<Arg<'_>> = binds.iter().map(Arg::from).collect();
    let n = store.read_rows(Cost::Scan, &sql, &args, |row| row.col::<i64>("n")).await?;
    Ok(n.into_iter().next().unwrap_or(0))
}
