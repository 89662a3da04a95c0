//! Moving artifacts along their statuses: one artifact at a time ([`apply_step`]) or many in a
//! batch, with the per-status counts of their sessions moved as one statement per session
//! ([`CountMoves`]).

use std::collections::HashMap;

use backstore_domain::{ArtifactStatus, Timestamp};

use super::artifacts::count_column;
use super::read::{Arg, ToArg};
use super::rows::micros;
use super::sessions::refresh_session;
use super::tx::Tx;
use crate::{ArtifactStep, StoreResult};

/// Moves an artifact by `step` if it is in `from` (any non-terminal status when `None`), and
/// re-derives its session. Returns whether it moved.
pub(super) async fn apply_step(
    conn: &mut Tx,
    tenant: &str,
    artifact_id: &str,
    from: Option<ArtifactStatus>,
    step: &ArtifactStep,
    now: Timestamp,
) -> StoreResult<bool> {
    let old = match from {
        Some(f) => Some(f),
        None => {
            let s: Option<String> = conn
                .scalar_opt(
                    "SELECT status FROM restore_artifacts WHERE tenant_id = ? AND id = ?",
                    args![tenant, artifact_id],
                )
                .await?;
            s.and_then(|s| ArtifactStatus::parse(&s))
        }
    };
    let Some(session_id) = move_artifact(conn, (tenant, artifact_id), from, step, now).await? else {
        return Ok(false);
    };
    let mut counts = CountMoves::default();
    counts.add(tenant, &session_id, old, Some(step.target()));
    counts.apply(conn, now).await?;
    Ok(true)
}

/// Moves the artifact by `step` if it is at `from` (or, for `None`, not terminal). Its session's
/// counts are the caller's to move. Returns the artifact's session when it moved.
pub(super) async fn move_artifact(
    conn: &mut Tx,
    (tenant, artifact_id): (&str, &str),
    from: Option<ArtifactStatus>,
    step: &ArtifactStep,
    now: Timestamp,
) -> StoreResult<Option<String>> {
    let t = micros(now);
    // The status it must be at is written into the statement (one of the enum's names), not bound:
    // the planner compares a bound status with the partial index on failed artifacts, and a
    // statement whose plan read a parameter is compiled again every time it is bound.
    let guard = match from {
        Some(f) => format!("WHERE tenant_id = ?2 AND id = ?3 AND status = '{}'", f.as_str()),
        None => "WHERE tenant_id = ?2 AND id = ?3 AND status NOT IN ('succeeded', 'failed')".to_owned(),
    };
    let sql = match step {
        ArtifactStep::Scheduling | ArtifactStep::Scheduled => {
            format!("UPDATE restore_artifacts SET status = ?1 {guard} RETURNING session_id")
        }
        ArtifactStep::Started => {
            format!("UPDATE restore_artifacts SET status = ?1, start_at = COALESCE(start_at, ?4) {guard} RETURNING session_id")
        }
        ArtifactStep::Succeeded(_) => format!(
            "UPDATE restore_artifacts SET status = ?1, completion_at = ?4, start_at = COALESCE(start_at, ?4), \
             restored_site_id = ?5, restored_site_name = ?6, restored_site_web_url = ?7, restored_folder_id = ?8, \
             restored_folder_name = ?9, restored_item_count = ?10, restored_item_key = ?11, \
             restored_item_path = ?12, restored_item_web_url = ?13, error_code = NULL, error_message = NULL \
             {guard} RETURNING session_id"
        ),
        ArtifactStep::Failed(_) => format!(
            "UPDATE restore_artifacts SET status = ?1, completion_at = ?4, start_at = COALESCE(start_at, ?4), \
             error_code = ?5, error_message = ?6 {guard} RETURNING session_id"
        ),
    };
    let mut args: Vec<Arg<'_>> = vec![Arg::Text(step.target().as_str()), Arg::Text(tenant), Arg::Text(artifact_id)];
    match step {
        ArtifactStep::Scheduling | ArtifactStep::Scheduled => {}
        ArtifactStep::Started => args.push(Arg::Int(t)),
        ArtifactStep::Succeeded(o) => args.extend([
            Arg::Int(t),
            o.restored_site_id.arg(),
            o.restored_site_name.arg(),
            o.restored_site_web_url.arg(),
            o.restored_folder_id.arg(),
            o.restored_folder_name.arg(),
            o.restored_item_count.arg(),
            o.restored_item_key.arg(),
            o.restored_item_path.arg(),
            o.restored_item_web_url.arg(),
        ]),
        ArtifactStep::Failed(e) => args.extend([Arg::Int(t), e.code.arg(), e.message.arg()]),
    }
    conn.scalar_opt::<String>(&sql, &args).await
}

/// A status's place among the session's count columns (`ArtifactStatus::ALL`'s order).
fn slot(status: ArtifactStatus) -> usize {
    ArtifactStatus::ALL.iter().position(|s| *s == status).expect("every status has a count column")
}

/// Artifacts' moves between statuses, summed per session: written as one `UPDATE` per session.
#[derive(Default)]
pub(super) struct CountMoves {
    /// Per (tenant, session): the change of each count column, in the sessions' first-seen order.
    by_session: Vec<((String, String), [i64; ArtifactStatus::ALL.len()])>,
    index: HashMap<(String, String), usize>,
}

impl CountMoves {
    pub(super) fn add(
        &mut self,
        tenant: &str,
        session: &str,
        from: Option<ArtifactStatus>,
        to: Option<ArtifactStatus>,
    ) {
        let key = (tenant.to_owned(), session.to_owned());
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.index.insert(key.clone(), self.by_session.len());
                self.by_session.push((key, [0; ArtifactStatus::ALL.len()]));
                self.by_session.len() - 1
            }
        };
        let deltas = &mut self.by_session[i].1;
        if let Some(f) = from {
            deltas[slot(f)] -= 1;
        }
        if let Some(t) = to {
            deltas[slot(t)] += 1;
        }
    }

    /// Writes the summed moves, leaving the sessions' derived status as it was.
    async fn write(&self, conn: &mut Tx) -> StoreResult<()> {
        for ((tenant, session), deltas) in &self.by_session {
            let mut sets = Vec::new();
            let mut args: Vec<Arg<'_>> = Vec::new();
            for (status, delta) in ArtifactStatus::ALL.iter().zip(deltas) {
                if *delta != 0 {
                    sets.push(format!("{0} = {0} + ?", count_column(*status)));
                    args.push(Arg::Int(*delta));
                }
            }
            if sets.is_empty() {
                continue;
            }
            args.extend([Arg::Text(tenant), Arg::Text(session)]);
            let sql = format!("UPDATE restore_sessions SET {} WHERE tenant_id = ? AND id = ?", sets.join(", "));
            conn.exec(&sql, &args).await?;
        }
        Ok(())
    }

    /// Writes the summed moves and re-derives each session once.
    pub(super) async fn apply(&self, conn: &mut Tx, now: Timestamp) -> StoreResult<()> {
        self.write(conn).await?;
        for ((tenant, session), _) in &self.by_session {
            refresh_session(conn, tenant, session, now).await?;
        }
        Ok(())
    }
}
