//! The restore engine: finds activated artifacts that are not terminal, moves each one step along
//! `scheduling → scheduled → inProgress → succeeded | failed`, and lets the store re-derive the session.
//! Every step is a compare-and-set on the artifact's status, so running a step twice changes nothing.

use std::sync::Arc;
use std::time::Duration;

use backstore_domain::restore::restore_outcome;
use backstore_domain::{ArtifactStatus, DestinationType, ErrorInfo, Workload};
use backstore_store::{now, ArtifactStep, InFlightArtifact, Store, StoreResult};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Pause between two passes over the in-flight artifacts.
    pub tick: Duration,
    /// Most artifacts moved in one pass.
    pub batch: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { tick: Duration::from_millis(500), batch: 500 }
    }
}

pub struct Engine {
    store: Arc<dyn Store>,
    config: EngineConfig,
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, config: EngineConfig) -> Engine {
        Engine { store, config }
    }

    /// One pass: every in-flight artifact (up to the batch size) moves one step. Returns how many moved.
    pub async fn run_pending(&self) -> StoreResult<usize> {
        let in_flight = self.store.in_flight_artifacts(self.config.batch).await?;
        let mut moved = 0;
        for item in in_flight {
            let from = item.artifact.status;
            let step = match from {
                ArtifactStatus::Scheduling => ArtifactStep::Scheduled,
                ArtifactStatus::Scheduled => ArtifactStep::Started,
                ArtifactStatus::InProgress => self.execute(&item).await?,
                ArtifactStatus::Added | ArtifactStatus::Succeeded | ArtifactStatus::Failed => continue,
            };
            let to = step.target();
            if self.store.record_step(&item.tenant_id, &item.artifact.id, from, step, now()).await? {
                moved += 1;
                tracing::info!(
                    tenant = %item.tenant_id,
                    session_id = %item.artifact.session_id,
                    artifact_id = %item.artifact.id,
                    from = from.as_str(),
                    to = to.as_str(),
                    "artifact moved"
                );
            }
        }
        Ok(moved)
    }

    /// Runs passes until nothing moves (or `max_passes` is reached). For tests and `drain` commands.
    pub async fn run_until_idle(&self, max_passes: usize) -> StoreResult<usize> {
        let mut total = 0;
        for _ in 0..max_passes {
            let moved = self.run_pending().await?;
            if moved == 0 {
                break;
            }
            total += moved;
        }
        Ok(total)
    }

    /// Runs passes every tick until `shutdown` turns true. A failed pass is logged and retried.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.run_pending().await {
                tracing::warn!(error = %e, "engine pass failed; retrying next tick");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.tick) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("engine stopped");
    }

    /// Performs the restore of one artifact and says how it ended.
    async fn execute(&self, item: &InFlightArtifact) -> StoreResult<ArtifactStep> {
        let at = now();
        let artifact = &item.artifact;
        if artifact.restore_point.expiration_at <= at {
            return Ok(ArtifactStep::Failed(ErrorInfo {
                code: "InvalidRestoreTime".into(),
                message: "Invalid or out-of-bounds restore time.".into(),
            }));
        }
        let suffix = match (artifact.destination, item.unit.workload, item.unit.site_web_url.as_deref()) {
            (DestinationType::New, Workload::SharePoint | Workload::OneDrive, Some(url)) => {
                Some(self.store.allocate_restore_suffix(&item.tenant_id, url).await?)
            }
            _ => None,
        };
        let new_id = uuid::Uuid::new_v4().to_string();
        let outcome = restore_outcome(&item.unit, artifact.destination, suffix, new_id, item_count(&artifact.id), at);
        Ok(ArtifactStep::Succeeded(outcome))
    }
}

/// A stable, plausible number of restored mailbox items for an artifact (50 to 5049).
fn item_count(artifact_id: &str) -> i64 {
    let h = artifact_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    50 + (h % 5000) as i64
}
