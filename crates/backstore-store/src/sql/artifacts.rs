//! Restore artifacts: reading them with their restore point and unit, inserting a request's adds,
//! the few rows a delta's plan depends on, and the `R<n>` counters of `new` restores.

use super::tx::Tx;
use backstore_domain::delta::ExistingArtifact;
use backstore_domain::{ArtifactAdd, ArtifactStatus, DeltaItem, DestinationType, Granular, Timestamp};
use backstore_odata::SqlFilter;

use super::listing::{self, Collection, Source};
use super::read::{Arg, Col, Columns, Cost};
use super::restore_points::{restore_point_view, PointKeys};
use super::rows::{corrupt, from_micros, micros, opt_from_micros};
use super::Lock;
use crate::{
    ArtifactRecord, ArtifactView, Bind, ErrorView, Filter, GranularRecord, ListSpec, Page, StatusSeen, Store,
    StoreError, StoreResult,
};

/// The columns [`standard_artifact_from_row`] reads, and the joins that bring its restore point and
/// unit (by their row keys, which each row copies from its parent when it is written: an integer
/// seek per join instead of a text index's and then the table's).
macro_rules! standard_columns {
    () => {
        "a.seq, a.id, a.session_id, a.restore_point_id, a.destination_type, \
        a.status, a.created_at, a.start_at, a.completion_at, a.error_code, a.error_message, a.restored_site_id, \
        a.restored_site_name, a.restored_site_web_url, a.restored_folder_id, a.restored_folder_name, \
        a.restored_item_count, rp.protection_unit_id, rp.protection_at, rp.expiration_at, rp.tags, pu.workload"
    };
}
/// The columns [`artifact_from_row`] reads besides those: what only granular artifacts hold (and
/// their unit's directory object, which only a granular OneDrive artifact shows).
macro_rules! granular_columns {
    () => {
        "a.kind, a.browse_session_id, a.item_key, a.search_response_id, a.web_url, a.restored_item_key, \
        a.restored_item_path, a.restored_item_web_url, pu.directory_object_id"
    };
}
macro_rules! artifact_joins {
    () => {
        "FROM restore_artifacts a \
        JOIN restore_points rp ON rp.seq = a.point_seq \
        JOIN protection_units pu ON pu.seq = rp.unit_seq"
    };
}

/// Artifacts of either kind as the API shows them.
pub(super) const ARTIFACT_SELECT: &str =
    concat!("SELECT ", standard_columns!(), ", ", granular_columns!(), " ", artifact_joins!());

/// Standard artifacts as the API shows them: a page of 100 reads and decodes none of the columns
/// only granular artifacts fill.
const STANDARD_ARTIFACT_SELECT: &str = concat!("SELECT ", standard_columns!(), " ", artifact_joins!());

/// Artifacts with everything of their unit a restore needs (names, the unit's fault rule).
pub(super) const ARTIFACT_WITH_UNIT_SELECT: &str = concat!(
    "SELECT ",
    standard_columns!(),
    ", ",
    granular_columns!(),
    ", pu.site_id, pu.site_name, pu.site_web_url, pu.display_name, pu.email, pu.fault ",
    artifact_joins!()
);

/// An artifact of [`ARTIFACT_SELECT`]'s columns, of either kind.
pub(super) fn artifact_from_row(row: &dyn Columns) -> StoreResult<ArtifactRecord> {
    let mut a = standard_artifact_from_row(row)?;
    a.outcome.restored_item_key = row.col("restored_item_key")?;
    a.outcome.restored_item_path = row.col("restored_item_path")?;
    a.outcome.restored_item_web_url = row.col("restored_item_web_url")?;
    if row.col::<String>("kind")? == GRANULAR {
        a.granular = Some(GranularRecord {
            browse_session_id: row.col("browse_session_id")?,
            item_key: row.col("item_key")?,
            web_url: row.col("web_url")?,
            directory_object_id: row.col("directory_object_id")?,
            search_response_id: row.col("search_response_id")?,
        });
    }
    Ok(a)
}

/// A standard artifact of [`STANDARD_ARTIFACT_SELECT`]'s columns, as a record.
fn standard_artifact_from_row(row: &dyn Columns) -> StoreResult<ArtifactRecord> {
    Ok(standard_artifact_view(row)?.to_record())
}

/// A standard artifact of [`STANDARD_ARTIFACT_SELECT`]'s columns, borrowed from the row. What it
/// does not read is NULL in a standard artifact's row: the granular columns are written only when
/// a granular artifact is added, and the restored item's only by a granular restore.
fn standard_artifact_view(row: &dyn Columns) -> StoreResult<ArtifactView<'_>> {
    let status = row.req_str("status")?;
    let destination = row.req_str("destination_type")?;
    Ok(ArtifactView {
        seq: row.col("seq")?,
        id: row.req_str("id")?,
        session_id: row.req_str("session_id")?,
        restore_point: restore_point_view(row, "restore_point_id")?,
        destination: DestinationType::parse(destination).map_or_else(|| corrupt("destination", destination), Ok)?,
        status: ArtifactStatus::parse(status).map_or_else(|| corrupt("artifact status", status), Ok)?,
        created_at: from_micros(row.col("created_at")?)?,
        start_at: opt_from_micros(row.col("start_at")?)?,
        completion_at: opt_from_micros(row.col("completion_at")?)?,
        error: match row.str("error_code")? {
            Some(code) => Some(ErrorView { code, message: row.str("error_message")?.unwrap_or_default() }),
            None => None,
        },
        restored_site_id: row.str("restored_site_id")?,
        restored_site_name: row.str("restored_site_name")?,
        restored_site_web_url: row.str("restored_site_web_url")?,
        restored_folder_id: row.str("restored_folder_id")?,
        restored_folder_name: row.str("restored_folder_name")?,
        restored_item_count: row.col("restored_item_count")?,
        search_response_id: None,
    })
}

/// The `kind` of a granular artifact's row.
const GRANULAR: &str = "granular";

/// The `kind` of rows an artifact collection holds.
pub(super) fn kind_of(granular: bool) -> &'static str {
    if granular {
        GRANULAR
    } else {
        "standard"
    }
}

/// What an artifact's row is matched by in a request: its wire id (the item key of a granular
/// site or OneDrive artifact), and what makes an add its duplicate.
const WIRE_ID: &str = "COALESCE(item_key, id)";
const DUPLICATE_KEY: &str = "COALESCE(item_key, search_response_id, restore_point_id)";

/// The artifacts of a session that a delta's plan can depend on: those it removes, those holding a
/// restore point it adds, and for each destination type one artifact it leaves in place. What
/// `plan_delta` decides over these is what it would decide over the whole session, and a PATCH
/// of a session with 100 000 artifacts reads a handful of rows, not all of them.
pub(super) async fn existing_artifacts(
    conn: &mut Tx,
    tenant: &str,
    session_id: &str,
    items: &[DeltaItem],
) -> StoreResult<Vec<ExistingArtifact>> {
    let mut removed = Vec::new();
    let mut added = Vec::new();
    for item in items {
        match item {
            DeltaItem::Remove { id, .. } => removed.push(id.as_str()),
            DeltaItem::Add(a) => added.push(a),
        }
    }
    let marks = |n: usize| vec!["?"; n].join(", ");
    let columns = format!(
        "SELECT {WIRE_ID} AS wire_id, {DUPLICATE_KEY} AS dup_key, destination_type, kind FROM restore_artifacts \
         WHERE tenant_id = ? AND session_id = ?"
    );
    let mut queries: Vec<(String, Vec<&str>)> = Vec::new();
    if !removed.is_empty() {
        // By the row id, then by the item key: each an index seek (their COALESCE, or an OR of
        // them, could walk the whole session).
        let m = marks(removed.len());
        queries.push((format!("{columns} AND id IN ({m}) AND item_key IS NULL"), removed.clone()));
        queries.push((format!("{columns} AND item_key IN ({m})"), removed.clone()));
    }
    for (column, values) in [
        ("restore_point_id", added.iter().filter(|a| a.granular.is_none()).map(|a| a.key()).collect::<Vec<_>>()),
        (
            "item_key",
            added.iter().filter(|a| matches!(a.granular, Some(Granular::Item { .. }))).map(|a| a.key()).collect(),
        ),
        (
            "search_response_id",
            added.iter().filter(|a| matches!(a.granular, Some(Granular::Search { .. }))).map(|a| a.key()).collect(),
        ),
    ] {
        if !values.is_empty() {
            queries.push((format!("{columns} AND {column} IN ({})", marks(values.len())), values));
        }
    }
    let staying =
        if removed.is_empty() { String::new() } else { format!(" AND {WIRE_ID} NOT IN ({})", marks(removed.len())) };
    for d in [DestinationType::New, DestinationType::InPlace] {
        for kind in [false, true] {
            // The destination and kind names come from enums, not from the request.
            queries.push((
                format!(
                    "{columns} AND destination_type = '{}' AND kind = '{}'{staying} LIMIT 1",
                    d.as_str(),
                    kind_of(kind)
                ),
                removed.clone(),
            ));
        }
    }
    // All of them in one statement (a round trip each was most of a delta's statements), their
    // rows in the order of the queries.
    let mut sql = String::new();
    let mut args: Vec<Arg<'_>> = Vec::new();
    for (part, (query, values)) in queries.iter().enumerate() {
        if part > 0 {
            sql.push_str(" UNION ALL ");
        }
        sql.push_str(&format!("SELECT {part} AS part, e.* FROM ({query}) AS e"));
        args.extend([tenant, session_id].into_iter().chain(values.iter().copied()).map(Arg::Text));
    }
    sql.push_str(" ORDER BY part");
    let mut out: Vec<ExistingArtifact> = Vec::new();
    for r in conn.fetch_all(&sql, &args).await? {
        let id: String = r.col("wire_id")?;
        if out.iter().any(|a| a.id == id) {
            continue;
        }
        let d: String = r.col("destination_type")?;
        out.push(ExistingArtifact {
            id,
            key: r.col("dup_key")?,
            destination: DestinationType::parse(&d).map_or_else(|| corrupt("destination", &d), Ok)?,
            granular: r.col::<String>("kind")? == GRANULAR,
        });
    }
    Ok(out)
}

pub(super) async fn insert_artifact(
    conn: &mut Tx,
    tenant: &str,
    session_id: &str,
    add: &ArtifactAdd,
    keys: &PointKeys,
    now: Timestamp,
) -> StoreResult<String> {
    let mut ids = insert_artifacts(conn, tenant, session_id, std::slice::from_ref(add), keys, now).await?;
    Ok(ids.remove(0))
}

/// The standard or the granular artifacts of one session, as a collection to read.
fn artifacts_of(tenant: &str, session_id: &str, granular: bool) -> Source<'static> {
    Source {
        collection: Collection::Artifacts,
        select: if granular { ARTIFACT_SELECT } else { STANDARD_ARTIFACT_SELECT }.into(),
        seq: "a.seq",
        // The kind is written into the statement (one of two constants), not bound: the planner
        // compares a bound `kind` with the partial index on granular rows, and a statement whose plan
        // read a parameter is compiled again every time it is bound (a fifth of a page of 100).
        scope: SqlFilter {
            sql: format!("a.tenant_id = ? AND a.session_id = ? AND a.kind = '{}'", kind_of(granular)),
            binds: vec![Bind::Text(tenant.to_owned()), Bind::Text(session_id.to_owned())],
        },
    }
}

/// The session column that counts artifacts in `status`.
pub(super) fn count_column(status: ArtifactStatus) -> &'static str {
    match status {
        ArtifactStatus::Added => "n_added",
        ArtifactStatus::Scheduling => "n_scheduling",
        ArtifactStatus::Scheduled => "n_scheduled",
        ArtifactStatus::InProgress => "n_in_progress",
        ArtifactStatus::Succeeded => "n_succeeded",
        ArtifactStatus::Failed => "n_failed",
    }
}

/// Inserts `adds` as `added` artifacts of a session, in order, with one statement per 50 and one
/// counter update; their new ids. `keys` holds the key of each add's (checked) restore point.
pub(super) async fn insert_artifacts(
    conn: &mut Tx,
    tenant: &str,
    session_id: &str,
    adds: &[ArtifactAdd],
    keys: &PointKeys,
    now: Timestamp,
) -> StoreResult<Vec<String>> {
    let ids = insert_artifact_rows(conn, tenant, session_id, adds, keys, now).await?;
    if !adds.is_empty() {
        let column = count_column(ArtifactStatus::Added);
        let sql = format!("UPDATE restore_sessions SET {column} = {column} + ? WHERE tenant_id = ? AND id = ?");
        let n = i64::try_from(adds.len()).expect("a request's artifacts fit an i64");
        exec!(conn, &sql, n, tenant, session_id).await?;
    }
    Ok(ids)
}

/// [`insert_artifacts`] without the session's counter: for a session inserted with it.
pub(super) async fn insert_artifact_rows(
    conn: &mut Tx,
    tenant: &str,
    session_id: &str,
    adds: &[ArtifactAdd],
    keys: &PointKeys,
    now: Timestamp,
) -> StoreResult<Vec<String>> {
    let ids: Vec<String> = adds.iter().map(|_| super::rows::new_id()).collect();
    for (chunk, chunk_ids) in adds.chunks(50).zip(ids.chunks(50)) {
        let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(", ");
        let sql = format!(
            "INSERT INTO restore_artifacts (tenant_id, id, session_id, restore_point_id, destination_type, status, \
             created_at, kind, browse_session_id, item_key, web_url, search_response_id, point_seq) VALUES {rows}"
        );
        let now = micros(now);
        let mut args: Vec<Arg<'_>> = Vec::with_capacity(chunk.len() * 13);
        for (add, id) in chunk.iter().zip(chunk_ids) {
            let (browse, key, url, search) = match &add.granular {
                Some(Granular::Item { browse_session_id, item_key, web_url }) => {
                    (Some(browse_session_id.as_str()), Some(item_key.as_str()), web_url.as_deref(), None)
                }
                Some(Granular::Search { search_response_id }) => (None, None, None, Some(search_response_id.as_str())),
                None => (None, None, None, None),
            };
            args.extend([
                Arg::Text(tenant),
                Arg::Text(id),
                Arg::Text(session_id),
                Arg::Text(add.restore_point.as_str()),
                Arg::Text(add.destination.as_str()),
                Arg::Text(ArtifactStatus::Added.as_str()),
                Arg::Int(now),
                Arg::Text(kind_of(add.granular.is_some())),
                browse.into(),
                key.into(),
                url.into(),
                search.into(),
                Arg::Int(point_key(keys, add.restore_point.as_str())?),
            ]);
        }
        conn.exec(&sql, &args).await?;
    }
    Ok(ids)
}

/// The row key of a checked restore point. Every add's point is checked before its artifact is
/// written, so one missing here is this code's mistake, and refused rather than written unjoined.
/// (The key was read by the check. A point removed before the row is written fails the foreign key
/// on `restore_point_id`; and an id, once removed, is not made again while it could pass a check
/// (ids carry the unit's protection epoch and slot; a slot taken again after its point expired is
/// removed again by the same retention pass), so a point of that id at write time is the row the
/// check read.)
fn point_key(keys: &PointKeys, id: &str) -> StoreResult<i64> {
    keys.get(id).copied().ok_or_else(|| StoreError::Corrupt(format!("restore point '{id}' was not checked")))
}

/// The artifacts a write just added to a session (`ids`, the session's newest), in `ids` order.
/// Read as the session's newest rows, by the session index: an `id IN (…)` list planned generically
/// on PostgreSQL could walk every restore point of the tenant instead (docs/performance.md).
pub(super) async fn load_added(
    conn: &mut Tx,
    tenant: &str,
    session_id: &str,
    ids: &[String],
) -> StoreResult<Vec<ArtifactRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.session_id = ? ORDER BY a.seq DESC LIMIT ?");
    let n = i64::try_from(ids.len()).expect("a request's artifacts fit an i64");
    let rows = conn.fetch_all(&sql, args![tenant, session_id, n]).await?;
    let mut by_id = std::collections::HashMap::with_capacity(rows.len());
    for row in &rows {
        let a = artifact_from_row(row)?;
        by_id.insert(a.id.clone(), a);
    }
    ids.iter()
        .map(|id| by_id.remove(id).ok_or_else(|| crate::StoreError::Corrupt(format!("artifact '{id}' vanished"))))
        .collect()
}

pub(super) async fn load_artifact(conn: &mut Tx, tenant: &str, artifact_id: &str) -> StoreResult<ArtifactRecord> {
    let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.id = ?");
    let row = conn.fetch_one(&sql, args![tenant, artifact_id]).await?;
    artifact_from_row(&row)
}

impl Store {
    /// A page of a session's standard or granular artifacts as `spec` asks.
    pub async fn list_artifacts(
        &self,
        (tenant, session_id, granular): (&str, &str, bool),
        spec: &ListSpec,
    ) -> StoreResult<Page<ArtifactRecord>> {
        let source = artifacts_of(tenant, session_id, granular);
        if granular {
            listing::page(self, &source, spec, artifact_from_row).await
        } else {
            listing::page(self, &source, spec, standard_artifact_from_row).await
        }
    }

    /// A page of a session's standard artifacts as `spec` asks, each handed to `each` borrowed
    /// from its row while the row is read (a page written out as it is read makes no record of
    /// any row); what `each` makes of them. On PostgreSQL its rows also carry the tenant's service
    /// status, seen by the same statement (`None` when the page is empty or on SQLite).
    pub async fn list_standard_artifacts_with<T>(
        &self,
        (tenant, session_id): (&str, &str),
        spec: &ListSpec,
        mut each: impl FnMut(&ArtifactView<'_>) -> T,
    ) -> StoreResult<(Option<StatusSeen>, Page<T>)> {
        let source = artifacts_of(tenant, session_id, false);
        let status_of = self.status_rides_along().then_some(tenant);
        listing::page_seeing_status(self, &source, spec, status_of, |row| Ok(each(&standard_artifact_view(row)?))).await
    }

    pub async fn count_artifacts(
        &self,
        (tenant, session_id, granular): (&str, &str, bool),
        filter: Option<&Filter>,
    ) -> StoreResult<i64> {
        listing::count(self, &artifacts_of(tenant, session_id, granular), filter).await
    }

    /// All artifacts of several sessions (for `$expand`), in creation order.
    pub async fn artifacts_of_sessions(
        &self,
        tenant: &str,
        session_ids: &[String],
    ) -> StoreResult<Vec<ArtifactRecord>> {
        if session_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; session_ids.len()].join(", ");
        let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.session_id IN ({marks}) ORDER BY a.seq");
        let args: Vec<Arg<'_>> =
            std::iter::once(tenant).chain(session_ids.iter().map(String::as_str)).map(Arg::from).collect();
        self.read_rows(Cost::Scan, &sql, &args, artifact_from_row).await
    }

    /// One standard or granular artifact of a session, by its wire id (a granular file artifact's
    /// item key, otherwise the row's id; each lookup is an index seek).
    pub async fn get_artifact(
        &self,
        (tenant, session_id, granular): (&str, &str, bool),
        artifact_id: &str,
    ) -> StoreResult<Option<ArtifactRecord>> {
        let kind = kind_of(granular);
        if granular {
            let sql = format!("{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.session_id = ? AND a.item_key = ?");
            let found = self.read_row(&sql, args![tenant, session_id, artifact_id], artifact_from_row).await?;
            if found.is_some() {
                return Ok(found);
            }
        }
        let sql = format!(
            "{ARTIFACT_SELECT} WHERE a.tenant_id = ? AND a.session_id = ? AND a.id = ? AND a.kind = '{kind}' \
             AND a.item_key IS NULL"
        );
        self.read_row(&sql, args![tenant, session_id, artifact_id], artifact_from_row).await
    }

    /// Hands out the next `n` of `R<n>` for a `new` restore of `original_url`.
    pub async fn allocate_restore_suffix(&self, tenant: &str, original_url: &str) -> StoreResult<u32> {
        self.write(Lock::Tenant(tenant), async move |tx| next_restore_suffix(tx, tenant, original_url).await).await
    }
}

/// Counts out the next `n` of `R<n>` for a `new` restore of `original_url`, in `conn`'s transaction.
pub(super) async fn next_restore_suffix(conn: &mut Tx, tenant: &str, original_url: &str) -> StoreResult<u32> {
    let next: i64 = conn
        .scalar(
            "INSERT INTO restore_url_counters (tenant_id, original_url, next_suffix) VALUES (?, ?, 1) \
             ON CONFLICT (tenant_id, original_url) DO UPDATE SET next_suffix = restore_url_counters.next_suffix + 1 \
             RETURNING next_suffix",
            args![tenant, original_url],
        )
        .await?;
    u32::try_from(next - 1).map_err(|_| StoreError::Corrupt(format!("restore suffix {next}")))
}
