//! Restore points: which ones can be restored, the unexpired points of a unit as a query asks, and
//! the retention pass that takes new points on the service's cadence and drops expired ones.

use super::tx::Tx;
use backstore_domain::error::RestorePointProblem;
use backstore_domain::{retention, RestorePointTags, Timestamp, Workload};

use super::read::{Col, Columns, Cost};
use super::rows::{corrupt, from_micros, micros, opt_from_micros, workload};
use super::tx::On;
use super::units::offboarding_pass;
use super::Lock;
use crate::{Bind, RestorePointQuery, RestorePointRecord, RestorePointView, RetentionReport, Store, StoreResult};

pub(super) fn restore_point_from_row(row: &dyn Columns, id_column: &'static str) -> StoreResult<RestorePointRecord> {
    Ok(restore_point_view(row, id_column)?.to_record())
}

/// [`restore_point_from_row`], borrowed from the row.
pub(super) fn restore_point_view<'r>(
    row: &'r dyn Columns,
    id_column: &'static str,
) -> StoreResult<RestorePointView<'r>> {
    let tags = row.req_str("tags")?;
    Ok(RestorePointView {
        id: row.req_str(id_column)?,
        protection_unit_id: row.req_str("protection_unit_id")?,
        workload: workload(row.req_str("workload")?)?,
        protection_at: from_micros(row.col("protection_at")?)?,
        expiration_at: from_micros(row.col("expiration_at")?)?,
        tags: RestorePointTags::parse(tags).map_or_else(|| corrupt("tags", tags), Ok)?,
    })
}

/// The row keys of checked restore points, by id: what the rows of their artifacts copy
/// (`point_seq`, the key a page of artifacts joins them by).
pub(super) type PointKeys = std::collections::HashMap<String, i64>;

/// Checks that a restore point can be restored in a session of `session_workload` at `now`; its key.
pub(super) async fn resolve_restore_point(
    conn: &mut Tx,
    tenant: &str,
    id: &str,
    session_workload: Workload,
    now: Timestamp,
) -> StoreResult<Result<PointKeys, RestorePointProblem>> {
    resolve_restore_points(conn, tenant, &[id], session_workload, now).await
}

/// Checks that restore points can be restored in a session of `session_workload` at `now`: their
/// keys, or the first problem in `ids` order.
pub(super) async fn resolve_restore_points(
    on: impl Into<On<'_>>,
    tenant: &str,
    ids: &[&str],
    session_workload: Workload,
    now: Timestamp,
) -> StoreResult<Result<PointKeys, RestorePointProblem>> {
    let (problems, keys) = restore_point_problems(on, tenant, ids, session_workload, now).await?;
    Ok(problems.into_iter().flatten().next().map_or(Ok(keys), Err))
}

/// What keeps each of `ids` from being restored in a session of `session_workload` at `now`, in
/// `ids` order (`None`: it can be): it must exist in the tenant, belong to the session's workload and
/// not have expired. With the keys of those that exist. One query.
pub(super) async fn restore_point_problems(
    on: impl Into<On<'_>>,
    tenant: &str,
    ids: &[&str],
    session_workload: Workload,
    now: Timestamp,
) -> StoreResult<(Vec<Option<RestorePointProblem>>, PointKeys)> {
    if ids.is_empty() {
        return Ok((Vec::new(), PointKeys::new()));
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "SELECT rp.seq, rp.id, rp.expiration_at, pu.workload FROM restore_points rp \
         JOIN protection_units pu ON pu.seq = rp.unit_seq \
         WHERE rp.tenant_id = ? AND rp.id IN ({marks})"
    );
    let binds: Vec<Bind> =
        std::iter::once(tenant).chain(ids.iter().copied()).map(|v| Bind::Text(v.to_owned())).collect();
    let rows = on
        .into()
        .rows(Cost::Seek, &sql, &super::read::args_of(&binds), |row| {
            let id: String = row.col("id")?;
            let point = (workload(&row.col::<String>("workload")?)?, from_micros(row.col("expiration_at")?)?);
            Ok((id, point, row.col::<i64>("seq")?))
        })
        .await?;
    let keys: PointKeys = rows.iter().map(|(id, _, seq)| (id.clone(), *seq)).collect();
    let found: std::collections::HashMap<String, (Workload, Timestamp)> =
        rows.into_iter().map(|(id, point, _)| (id, point)).collect();
    let problem = |id: &str| match found.get(id) {
        None => Some(RestorePointProblem::NotFound(id.to_owned())),
        Some((point, _)) if *point != session_workload => {
            Some(RestorePointProblem::WrongWorkload { id: id.to_owned(), point: *point, session: session_workload })
        }
        Some((_, expires)) if *expires <= now => Some(RestorePointProblem::Expired(id.to_owned())),
        Some(_) => None,
    };
    Ok((ids.iter().map(|id| problem(id)).collect(), keys))
}

/// Unexpired restore points of one unit, as `q` asks.
pub(super) async fn restore_points_where(
    on: impl Into<On<'_>>,
    tenant: &str,
    q: &RestorePointQuery,
    now: Timestamp,
) -> StoreResult<Vec<RestorePointRecord>> {
    let mut sql = String::from(
        "SELECT rp.id, rp.protection_unit_id, rp.protection_at, rp.expiration_at, rp.tags, pu.workload \
         FROM restore_points rp JOIN protection_units pu ON pu.tenant_id = rp.tenant_id AND pu.id = rp.protection_unit_id \
         WHERE rp.tenant_id = ? AND rp.protection_unit_id = ? AND rp.expiration_at > ?",
    );
    let mut binds = vec![Bind::Text(tenant.to_owned()), Bind::Text(q.unit_id.clone()), Bind::Int(micros(now))];
    if let Some((t, inclusive)) = q.from {
        sql.push_str(if inclusive { " AND rp.protection_at >= ?" } else { " AND rp.protection_at > ?" });
        binds.push(Bind::Int(micros(t)));
    }
    if let Some((t, inclusive)) = q.to {
        sql.push_str(if inclusive { " AND rp.protection_at <= ?" } else { " AND rp.protection_at < ?" });
        binds.push(Bind::Int(micros(t)));
    }
    if let Some(tags) = q.tags {
        sql.push_str(" AND rp.tags = ?");
        binds.push(Bind::Text(tags.as_str().to_owned()));
    }
    sql.push_str(if q.newest_first {
        " ORDER BY rp.protection_at DESC, rp.seq DESC LIMIT ?"
    } else {
        " ORDER BY rp.protection_at, rp.seq LIMIT ?"
    });
    binds.push(Bind::Int(q.limit));
    on.into().rows(Cost::Seek, &sql, &super::read::args_of(&binds), |r| restore_point_from_row(r, "id")).await
}

impl Store {
    /// A restore point of the tenant, expired ones included (artifacts keep showing theirs).
    pub async fn get_restore_point(&self, tenant: &str, id: &str) -> StoreResult<Option<RestorePointRecord>> {
        self.read_row(
            "SELECT rp.id, rp.protection_unit_id, rp.protection_at, rp.expiration_at, rp.tags, pu.workload \
             FROM restore_points rp JOIN protection_units pu ON pu.tenant_id = rp.tenant_id AND pu.id = rp.protection_unit_id \
             WHERE rp.tenant_id = ? AND rp.id = ?",
            args![tenant, id],
            |r| restore_point_from_row(r, "id"),
        )
        .await
    }

    /// Unexpired restore points of one unit at `now`, as `query` asks.
    pub async fn find_restore_points(
        &self,
        tenant: &str,
        q: &RestorePointQuery,
        now: Timestamp,
    ) -> StoreResult<Vec<RestorePointRecord>> {
        restore_points_where(self, tenant, q, now).await
    }

    /// Brings every protected unit's restore points up to `now`: takes the points whose slots came
    /// due, drops fast-restore tags past 14 days, removes expired points no artifact refers to.
    pub async fn retention_pass(&self, now: Timestamp) -> StoreResult<RetentionReport> {
        self.write(Lock::All, async move |tx| {
            let units = tx.fetch_all("SELECT u.seq, u.tenant_id, u.id, u.workload, u.protected_since, u.protection_epoch, \
                 (SELECT MAX(rp.protection_at) FROM restore_points rp \
                  WHERE rp.tenant_id = u.tenant_id AND rp.protection_unit_id = u.id) AS newest \
                 FROM protection_units u WHERE u.status = 'protected' AND u.protected_since IS NOT NULL", args![])
            .await?;
            let mut report = RetentionReport::default();
            for u in &units {
                let tenant: String = u.col("tenant_id")?;
                let unit_id: String = u.col("id")?;
                let unit_seq: i64 = u.col("seq")?;
                let w = workload(&u.col::<String>("workload")?)?;
                let since = from_micros(u.col("protected_since")?)?;
                let epoch: i64 = u.col("protection_epoch")?;
                // Points are taken for the slots that start at or after the protection start.
                let start = since - chrono::Duration::microseconds(1);
                let after = opt_from_micros(u.col("newest")?)?.map_or(start, |n| n.max(start));
                for at in retention::slots_between(w, Some(after), now) {
                    // The newest snapshot of the unit's drive or mailbox (the engine takes one before each pass).
                    report.added += exec!(
                        tx,
                        "INSERT INTO restore_points (tenant_id, id, protection_unit_id, protection_at, expiration_at, tags, \
                         content_root, unit_seq) VALUES (?, ?, ?, ?, ?, ?, (SELECT d.last_root FROM drives d JOIN protection_units u \
                         ON u.tenant_id = d.tenant_id AND d.resource_id = CASE u.workload WHEN 'site' THEN u.site_id \
                         WHEN 'mailbox' THEN 'mailbox:' || u.directory_object_id ELSE u.directory_object_id END \
                         WHERE u.tenant_id = ? AND u.id = ?), ?) \
                         ON CONFLICT (tenant_id, id) DO NOTHING",
                        &tenant, backstore_domain::policy::restore_point_id(&tenant, &unit_id, epoch, since, at),
                        &unit_id, micros(at), micros(retention::expiration(w, at)),
                        retention::tags(w, at, now).as_str(), &tenant, &unit_id, unit_seq,
                    )
                    .await?;
                }
            }
            report.offboarding = offboarding_pass(tx, now).await?;
            // Browse sessions are auto-deleted when they expire (and let go of the point's content).
            exec!(tx, "DELETE FROM browse_sessions WHERE expiration_at <= ?", micros(now)).await?;
            report.retagged = exec!(
                tx,
                "UPDATE restore_points SET tags = 'none' WHERE tags = 'fastRestore' AND protection_at <= ?",
                micros(now - retention::fast_window()),
            )
            .await?;
            report.purged = exec!(
                tx,
                "DELETE FROM restore_points WHERE expiration_at <= ? AND NOT EXISTS (SELECT 1 FROM restore_artifacts a \
                 WHERE a.tenant_id = restore_points.tenant_id AND a.restore_point_id = restore_points.id)",
                micros(now),
            )
            .await?;
            Ok(report)
        })
        .await
    }
}
