//! Restore sessions: the session row (its status and counters are a cache of `derive_session`,
//! refreshed in the same transaction as every artifact change), creation, the delta PATCH, adding
//! one artifact, activation, deletion, and moving an artifact along its statuses.

use super::tx::Tx;
use backstore_domain::delta::{plan_adds_within, plan_delta_within, PlannedItem};
use backstore_domain::error::SessionAction;
use backstore_domain::status::session_error;
use backstore_domain::{
    derive_session, Actor, ArtifactAdd, ArtifactCounts, ArtifactStatus, DeltaItem, RestoreJobType, RuleError,
    SessionDerived, SessionStatus, Timestamp, Workload,
};

use super::artifacts::{
    count_column, existing_artifacts, insert_artifact, insert_artifact_rows, insert_artifacts, load_added,
    load_artifact,
};
use super::jobs::{enqueue, enqueue_each, Queue};
use super::listing::{self, Collection, Source};
use super::read::{Arg, Col, Columns};
use super::restore_points::{resolve_restore_point, resolve_restore_points, restore_point_problems};
use super::rows::{actor_json, corrupt, error_info, micros, opt_from_micros, stamps, workload};
use super::tenants::{status_seen, STATUS_SEEN};
use super::tx::On;
use super::Lock;
use crate::{
    AppliedItem, ArtifactRecord, DeltaOutcome, Filter, JobKind, ListSpec, Page, SessionCheck, SessionRecord,
    StatusSeen, Store, StoreError, StoreResult, Writer,
};

pub(super) const SESSION_COLUMNS: &str = "seq, id, workload, restore_job_type, activated_at, created_at, created_by, \
    last_modified_at, last_modified_by, status, total, completed, failed, in_progress, completed_at, \
    error_code, error_message";

/// Sessions as a collection to list and count, of one kind or all.
pub(super) const SESSIONS: listing::Kinded = (Collection::Sessions, SESSION_COLUMNS, "restore_sessions");

pub(super) fn session_from_row(row: &dyn Columns) -> StoreResult<SessionRecord> {
    let status: String = row.col("status")?;
    let job_type: String = row.col("restore_job_type")?;
    Ok(SessionRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        workload: workload(&row.col::<String>("workload")?)?,
        job_type: RestoreJobType::parse(&job_type).map_or_else(|| corrupt("job type", &job_type), Ok)?,
        activated_at: opt_from_micros(row.col("activated_at")?)?,
        stamps: stamps(row)?,
        derived: SessionDerived {
            status: SessionStatus::parse(&status).map_or_else(|| corrupt("session status", &status), Ok)?,
            total: row.col("total")?,
            completed: row.col("completed")?,
            failed: row.col("failed")?,
            in_progress: row.col("in_progress")?,
        },
        completed_at: opt_from_micros(row.col("completed_at")?)?,
        error: error_info(row.col("error_code")?, row.col("error_message")?),
    })
}

/// A session by tenant and id, of one kind when the third and fourth `?` bind it (both NULL: any).
const SESSION_BY_ID: &str = "WHERE tenant_id = ? AND id = ? AND (? IS NULL OR workload = ?)";

pub(super) async fn load_session(
    on: impl Into<On<'_>>,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
) -> StoreResult<Option<SessionRecord>> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM restore_sessions {SESSION_BY_ID}");
    let kind = workload.map(Workload::unit_kind);
    on.into().row(&sql, args![tenant, id, kind, kind], session_from_row).await
}

pub(super) async fn require_draft(
    conn: &mut Tx,
    tenant: &str,
    id: &str,
    workload: Option<Workload>,
    action: SessionAction,
) -> StoreResult<SessionRecord> {
    let session = load_session(&mut *conn, tenant, id, workload).await?.ok_or(RuleError::SessionNotFound)?;
    if session.activated_at.is_some() {
        return Err(RuleError::NotDraft(action).into());
    }
    Ok(session)
}

pub(super) async fn touch_session(
    conn: &mut Tx,
    tenant: &str,
    id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<()> {
    exec!(
        conn,
        "UPDATE restore_sessions SET last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ? AND id = ?",
        micros(now),
        actor_json(actor),
        tenant,
        id
    )
    .await?;
    Ok(())
}

/// Artifacts of a session populated by a bulk addition request come from the request only.
pub(super) fn refuse_if_bulk(session: &SessionRecord) -> Result<(), RuleError> {
    if session.job_type == RestoreJobType::Bulk {
        return Err(RuleError::InvalidPatch(
            "This restore session is populated by a bulk addition request; its artifacts cannot be changed directly."
                .into(),
        ));
    }
    Ok(())
}

/// What [`refresh_session`] derives a session's state from.
const COUNTERS: &str =
    "activated_at, completed_at, error_code, restore_job_type, n_added, n_scheduling, n_scheduled, n_in_progress, \
     n_succeeded, n_failed";

/// Re-derives a session's status, counters, `completedDateTime` and `error` from its artifacts;
/// the session as it then stands.
pub(super) async fn refresh_session(
    conn: &mut Tx,
    tenant: &str,
    id: &str,
    now: Timestamp,
) -> StoreResult<SessionRecord> {
    let sql = format!("SELECT {COUNTERS} FROM restore_sessions WHERE tenant_id = ? AND id = ?");
    let session = conn.fetch_one(&sql, args![tenant, id]).await?;
    refresh_from(conn, (tenant, id), &session, now).await
}

/// After a write changed a draft session's artifacts: its job type set (`granular` while it holds
/// granular artifacts, as a session holds one kind or the other, otherwise `standard`; a bulk
/// request's session stays `bulk`), `lastModified*` stamped, and its state re-derived, in two
/// statements (each its own statement, and the session read back, were five round trips under the
/// tenant's lock).
pub(super) async fn touch_and_refresh(
    conn: &mut Tx,
    tenant: &str,
    id: &str,
    actor: &Actor,
    now: Timestamp,
) -> StoreResult<SessionRecord> {
    let sql = format!(
        "UPDATE restore_sessions SET restore_job_type = CASE WHEN restore_job_type = 'bulk' THEN 'bulk' \
         WHEN EXISTS (SELECT 1 FROM restore_artifacts a WHERE a.tenant_id = restore_sessions.tenant_id \
         AND a.session_id = restore_sessions.id AND a.kind = 'granular') THEN 'granular' ELSE 'standard' END, \
         last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ? AND id = ? RETURNING {COUNTERS}"
    );
    let session = conn.fetch_one(&sql, args![micros(now), actor_json(actor), tenant, id]).await?;
    refresh_from(conn, (tenant, id), &session, now).await
}

/// [`refresh_session`] from the session's [`COUNTERS`] in `session`.
async fn refresh_from(
    conn: &mut Tx,
    (tenant, id): (&str, &str),
    session: &super::tx::Row,
    now: Timestamp,
) -> StoreResult<SessionRecord> {
    let mut counts = ArtifactCounts::default();
    for &status in ArtifactStatus::ALL {
        counts.add(status, session.col(count_column(status))?);
    }
    let activated = session.col::<Option<i64>>("activated_at")?.is_some();
    // Only a bulk request's session (its job type says so, for good) can wait on one.
    let resolving = activated && session.col::<String>("restore_job_type")? == RestoreJobType::Bulk.as_str() && {
        let pending: Option<i64> = conn
            .scalar_opt(
                "SELECT 1 FROM bulk_requests WHERE tenant_id = ? AND session_id = ? AND status = 'active'",
                args![tenant, id],
            )
            .await?;
        pending.is_some()
    };
    let derived = derive_session(&counts, activated, resolving);
    let error_known: Option<String> = session.col("error_code")?;
    let first_failure: Option<String> = if error_known.is_some() {
        error_known
    } else if counts.failed > 0 && derived.status.is_terminal() {
        conn.scalar(
            "SELECT error_code FROM restore_artifacts WHERE tenant_id = ? AND session_id = ? AND status = 'failed' \
             ORDER BY completion_at, seq LIMIT 1",
            args![tenant, id],
        )
        .await?
    } else {
        None
    };
    let error = session_error(&derived, first_failure.as_deref());
    let was_done = session.col::<Option<i64>>("completed_at")?;
    let completed_at = if derived.status.is_terminal() { Some(was_done.unwrap_or(micros(now))) } else { None };
    let sql = format!(
        "UPDATE restore_sessions SET status = ?, total = ?, completed = ?, failed = ?, in_progress = ?, \
         completed_at = ?, error_code = ?, error_message = ? WHERE tenant_id = ? AND id = ? RETURNING {SESSION_COLUMNS}"
    );
    let (status, code, message) =
        (derived.status.as_str(), error.as_ref().map(|e| &e.code), error.as_ref().map(|e| &e.message));
    let args = args![
        status,
        derived.total,
        derived.completed,
        derived.failed,
        derived.in_progress,
        completed_at,
        code,
        message,
        tenant,
        id
    ];
    let refreshed = conn.row(&sql, args, session_from_row).await?;
    let refreshed =
        refreshed.ok_or_else(|| StoreError::Corrupt(format!("session {id} vanished inside its transaction")))?;
    if was_done.is_none() && completed_at.is_some() {
        super::activity_logs::log_restore_task(conn, tenant, &refreshed, None, now).await?;
    }
    Ok(refreshed)
}

pub(super) async fn reload_session(conn: &mut Tx, tenant: &str, id: &str) -> StoreResult<SessionRecord> {
    load_session(&mut *conn, tenant, id, None)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("session {id} vanished inside its transaction")))
}

/// Where an item of a delta stands while the delta is applied set by set.
enum Slot {
    Done(AppliedItem),
    /// The `n`th add that passed its checks: its artifact is read back after the insert.
    Added(usize),
}

/// Deletes `ids` (wire ids), artifacts of a draft session (all `added`), and their count.
async fn remove_drafted(conn: &mut Tx, tenant: &str, session: &str, ids: &[String]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let args: Vec<Arg<'_>> =
        [tenant, session].into_iter().chain(ids.iter().map(String::as_str)).map(Arg::Text).collect();
    // By the row id, then by the item key: each an index seek.
    for by in [format!("id IN ({marks}) AND item_key IS NULL"), format!("item_key IN ({marks})")] {
        let sql = format!("DELETE FROM restore_artifacts WHERE tenant_id = ? AND session_id = ? AND {by}");
        conn.exec(&sql, &args).await?;
    }
    let column = count_column(ArtifactStatus::Added);
    let n = i64::try_from(ids.len()).expect("a request's items fit an i64");
    exec!(
        conn,
        &format!("UPDATE restore_sessions SET {column} = {column} - ? WHERE tenant_id = ? AND id = ?"),
        n,
        tenant,
        session
    )
    .await?;
    Ok(())
}

impl Store {
    /// Creates a draft session of `workload` with `adds` (already planned); every restore point must
    /// exist in the tenant, be unexpired and be of the workload, or nothing is created.
    pub async fn create_session(
        &self,
        w: Writer<'_>,
        workload: Workload,
        adds: Vec<ArtifactAdd>,
    ) -> StoreResult<SessionRecord> {
        let Writer { tenant, actor, now } = w;
        let adds = &plan_adds_within(adds, &[], &self.limits)?;
        let points: Vec<&str> = adds.iter().map(|a| a.restore_point.as_str()).collect();
        // On a SQLite file the points are checked before the write's turn, on a read connection,
        // so the process's one writer does not spend a fifth of a create on it: what a point is
        // (its workload, its expiry) never changes, and that it still exists when its artifacts
        // are written is the foreign key's to say; should it be gone by then, the check runs
        // again inside the transaction for the answer. On PostgreSQL it runs inside, as always.
        let checked_ahead = self.readers.is_some();
        let ahead = match checked_ahead {
            true => Some(
                resolve_restore_points(self, tenant, &points, workload, now)
                    .await?
                    .map_err(RuleError::RestorePointUnusable)?,
            ),
            false => None,
        };
        self.write(Lock::Tenant(w.tenant), async move |tx| {
            let keys = match ahead {
                Some(keys) => keys,
                None => resolve_restore_points(&mut *tx, tenant, &points, workload, now)
                    .await?
                    .map_err(RuleError::RestorePointUnusable)?,
            };
            let id = super::rows::new_id();
            // The row is written as its artifacts make it (job type, derived status, counters), so
            // the create holds the tenant's write lock over four statements, not eight.
            let job_type = match adds.iter().any(|a| a.granular.is_some()) {
                true => RestoreJobType::Granular,
                false => RestoreJobType::Standard,
            };
            let added = i64::try_from(adds.len()).expect("a request's artifacts fit an i64");
            let mut counts = ArtifactCounts::default();
            counts.add(ArtifactStatus::Added, added);
            let derived = derive_session(&counts, false, false);
            // Read back as written (`RETURNING`): nothing after it in this transaction changes the row.
            let sql = format!(
                "INSERT INTO restore_sessions (tenant_id, id, workload, restore_job_type, created_at, created_by, \
                 last_modified_at, last_modified_by, status, total, completed, failed, in_progress, n_added) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {SESSION_COLUMNS}"
            );
            let session = tx
                .row(
                    &sql,
                    args![
                        tenant,
                        &id,
                        workload.unit_kind(),
                        job_type.as_str(),
                        micros(now),
                        actor_json(actor),
                        micros(now),
                        actor_json(actor),
                        derived.status.as_str(),
                        derived.total,
                        derived.completed,
                        derived.failed,
                        derived.in_progress,
                        added
                    ],
                    session_from_row,
                )
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("session {id} was not written")))?;
            if let Err(e) = insert_artifact_rows(tx, tenant, &id, adds, &keys, now).await {
                if checked_ahead && e.is_foreign_key_violation() {
                    resolve_restore_points(&mut *tx, tenant, &points, workload, now)
                        .await?
                        .map_err(RuleError::RestorePointUnusable)?;
                }
                return Err(e);
            }
            Ok(session)
        })
        .await
    }

    /// One session; `workload` narrows to one kind (typed paths). `None` when absent.
    pub async fn get_session(
        &self,
        tenant: &str,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<Option<SessionRecord>> {
        load_session(self, tenant, id, workload).await
    }

    /// [`Store::get_session`], and the tenant's service status as the same statement saw it when
    /// the session exists and reads carry it (PostgreSQL; `None` otherwise: read it on its own).
    pub async fn get_session_seeing_status(
        &self,
        tenant: &str,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<(Option<StatusSeen>, Option<SessionRecord>)> {
        if !self.status_rides_along() {
            return Ok((None, self.get_session(tenant, id, workload).await?));
        }
        let sql = format!("SELECT {STATUS_SEEN}, {SESSION_COLUMNS} FROM restore_sessions {SESSION_BY_ID}");
        let kind = workload.map(Workload::unit_kind);
        let found = self
            .read_row(&sql, args![tenant, tenant, id, kind, kind], |r| Ok((status_seen(r)?, session_from_row(r)?)))
            .await?;
        Ok(found.map_or((None, None), |(seen, s)| (Some(seen), Some(s))))
    }

    /// A page of sessions (of one kind, or all) as `spec` asks.
    pub async fn list_sessions(
        &self,
        tenant: &str,
        workload: Option<Workload>,
        spec: &ListSpec,
    ) -> StoreResult<Page<SessionRecord>> {
        listing::page(self, &Source::of_kind(SESSIONS, tenant, workload), spec, session_from_row).await
    }

    pub async fn count_sessions(&self, tenant: &str, w: Option<Workload>, filter: Option<&Filter>) -> StoreResult<i64> {
        listing::count(self, &Source::of_kind(SESSIONS, tenant, w), filter).await
    }

    /// Deletes a draft session and its artifacts.
    pub async fn delete_session(&self, tenant: &str, id: &str, workload: Option<Workload>) -> StoreResult<()> {
        self.write(Lock::Tenant(tenant), async move |tx| {
            require_draft(tx, tenant, id, workload, SessionAction::Delete).await?;
            exec!(tx, "DELETE FROM restore_artifacts WHERE tenant_id = ? AND session_id = ?", tenant, id).await?;
            exec!(tx, "DELETE FROM restore_sessions WHERE tenant_id = ? AND id = ?", tenant, id).await?;
            Ok(())
        })
        .await
    }

    /// Activates a non-empty draft: its artifacts go to `scheduling`, at most 25 running per tenant.
    pub async fn activate_session(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
    ) -> StoreResult<SessionRecord> {
        let Writer { tenant, actor, now } = w;
        self.write(Lock::Tenant(w.tenant), async move |tx| {
            let session = require_draft(tx, tenant, id, workload, SessionAction::Activate).await?;
            let bulk = session.job_type == RestoreJobType::Bulk;
            if session.derived.total == 0 && !bulk {
                return Err(RuleError::EmptyArtifactList.into());
            }
            let running: i64 = tx
                .scalar(
                    "SELECT COUNT(*) FROM restore_sessions WHERE tenant_id = ? AND status IN ('activating', 'active')",
                    args![tenant],
                )
                .await?;
            if running >= self.limits.active_sessions {
                return Err(RuleError::TooManyActiveSessions.into());
            }
            exec!(
                tx,
                "UPDATE restore_artifacts SET status = ? WHERE tenant_id = ? AND session_id = ?",
                ArtifactStatus::Scheduling.as_str(),
                tenant,
                id
            )
            .await?;
            // One restore job per artifact, in the same transaction: activation and its work commit together.
            let artifact_ids: Vec<String> = tx
                .scalars(
                    "SELECT id FROM restore_artifacts WHERE tenant_id = ? AND session_id = ? ORDER BY seq",
                    args![tenant, id],
                )
                .await?;
            enqueue_each(tx, (tenant, id), &artifact_ids, JobKind::RestoreArtifact, now).await?;
            if bulk {
                let request: Option<String> = tx
                    .scalar_opt(
                        "SELECT id FROM bulk_requests WHERE tenant_id = ? AND session_id = ?",
                        args![tenant, id],
                    )
                    .await?;
                if let Some(request) = request {
                    enqueue(tx, (tenant, id, &request), JobKind::ResolveBulk, Queue::Once, now).await?;
                }
            }
            // Activated and stamped in one statement that also reads what the state is derived from.
            let sql = format!(
                "UPDATE restore_sessions SET activated_at = ?, n_scheduling = n_scheduling + n_added, n_added = 0, \
                 last_modified_at = ?, last_modified_by = ? WHERE tenant_id = ? AND id = ? RETURNING {COUNTERS}"
            );
            let counters = tx.fetch_one(&sql, args![micros(now), micros(now), actor_json(actor), tenant, id]).await?;
            let session = refresh_from(tx, (tenant, id), &counters, now).await?;
            super::activity_logs::log_restore_task(tx, tenant, &session, Some(actor), now).await?;
            Ok(session)
        })
        .await
    }

    /// Applies a delta to a draft session: request-level rules refuse it whole, item-level problems
    /// fail one item. `check` runs on the loaded session before anything is written.
    pub async fn apply_delta(
        &self,
        w: Writer<'_>,
        id: &str,
        workload: Option<Workload>,
        items: Vec<DeltaItem>,
        check: SessionCheck<'_>,
    ) -> StoreResult<DeltaOutcome> {
        let Writer { tenant, actor, now } = w;
        self.write(Lock::Tenant(w.tenant), async move |tx| {
            let session = require_draft(tx, tenant, id, workload, SessionAction::Patch).await?;
            check(&session)?;
            refuse_if_bulk(&session)?;
            let existing = existing_artifacts(tx, tenant, id, &items).await?;
            let plan = plan_delta_within(items, &existing, &self.limits)?;
            // Set-based: one query checks every add's restore point, one statement removes, one
            // inserts (per 50), one reads the new artifacts back; the answer keeps request order.
            let adds: Vec<&str> = plan
                .items
                .iter()
                .filter_map(|i| match i {
                    PlannedItem::Add(add) => Some(add.restore_point.as_str()),
                    _ => None,
                })
                .collect();
            let (problems, keys) = restore_point_problems(&mut *tx, tenant, &adds, session.workload, now).await?;
            let mut problems = problems.into_iter();
            let mut slots = Vec::with_capacity(plan.items.len());
            let (mut good, mut removed) = (Vec::new(), Vec::new());
            for (index, item) in plan.items.into_iter().enumerate() {
                slots.push(match item {
                    PlannedItem::Add(add) => match problems.next().flatten() {
                        None => {
                            good.push(add);
                            Slot::Added(good.len() - 1)
                        }
                        Some(problem) => Slot::Done(AppliedItem::AddFailed { add, index, problem }),
                    },
                    PlannedItem::Remove { id: artifact_id, content_id } => {
                        removed.push(artifact_id.clone());
                        Slot::Done(AppliedItem::Removed { id: artifact_id, content_id })
                    }
                    PlannedItem::RemoveMissing { id: artifact_id, content_id } => {
                        Slot::Done(AppliedItem::RemoveFailed { id: artifact_id, index, content_id })
                    }
                });
            }
            remove_drafted(tx, tenant, id, &removed).await?;
            let new_ids = insert_artifacts(tx, tenant, id, &good, &keys, now).await?;
            let mut added: Vec<Option<ArtifactRecord>> =
                load_added(tx, tenant, id, &new_ids).await?.into_iter().map(Some).collect();
            let changed = !removed.is_empty() || !good.is_empty();
            let mut good = good.into_iter().map(Some).collect::<Vec<_>>();
            let applied: Vec<AppliedItem> = slots
                .into_iter()
                .map(|slot| match slot {
                    Slot::Done(item) => item,
                    Slot::Added(i) => AppliedItem::Added {
                        artifact: Box::new(added[i].take().expect("one artifact per add")),
                        content_id: good[i].take().expect("one add per artifact").content_id,
                    },
                })
                .collect();
            let session = match changed {
                true => touch_and_refresh(tx, tenant, id, actor, now).await?,
                false => session,
            };
            Ok(DeltaOutcome { session, items: applied })
        })
        .await
    }

    /// Adds one artifact to a draft session (POST on the artifact collection).
    pub async fn add_artifact(
        &self,
        w: Writer<'_>,
        session_id: &str,
        workload: Workload,
        add: ArtifactAdd,
    ) -> StoreResult<ArtifactRecord> {
        let Writer { tenant, actor, now } = w;
        self.write(Lock::Tenant(w.tenant), async move |tx| {
            let session = require_draft(tx, tenant, session_id, Some(workload), SessionAction::AddArtifact).await?;
            refuse_if_bulk(&session)?;
            let existing = existing_artifacts(tx, tenant, session_id, &[DeltaItem::Add(add.clone())]).await?;
            let add = plan_adds_within(vec![add], &existing, &self.limits)?.remove(0);
            let keys = resolve_restore_point(tx, tenant, add.restore_point.as_str(), workload, now)
                .await?
                .map_err(RuleError::RestorePointUnusable)?;
            let artifact_id = insert_artifact(tx, tenant, session_id, &add, &keys, now).await?;
            touch_and_refresh(tx, tenant, session_id, actor, now).await?;
            let artifact = load_artifact(tx, tenant, &artifact_id).await?;
            Ok(artifact)
        })
        .await
    }
}
