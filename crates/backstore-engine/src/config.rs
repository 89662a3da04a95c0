//! How the engine runs: pace of restores, leases, attempts and backoff, and the fault rules.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use backstore_domain::restore::{artifact_error, UnitInfo};
use backstore_domain::{ErrorInfo, Workload};
use serde::Deserialize;

/// How long one artifact's restore takes (`--restore-speed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreSpeed {
    /// No time at all: sessions finish as fast as the queue turns.
    Instant,
    /// Durations at the service's published pace (about 30 min per site or OneDrive and 2 h per
    /// mailbox): for a restore of content, from its bytes and items ([`Work`]); for a unit
    /// protected without content, the typical duration scaled 0.5× to 1.5×.
    Realistic,
    /// The same duration for every artifact.
    Fixed(Duration),
}

impl FromStr for RestoreSpeed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "instant" => Ok(RestoreSpeed::Instant),
            "realistic" => Ok(RestoreSpeed::Realistic),
            other => humantime::parse_duration(other).map(RestoreSpeed::Fixed).map_err(|e| {
                format!(
                    "'{other}' is not a restore speed: use instant, realistic or a duration such as 500ms or 2m ({e})"
                )
            }),
        }
    }
}

/// What one restore of content writes: items (files, folders, messages) and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Work {
    pub items: u64,
    pub bytes: u64,
}

/// The service's pace per workload, set so a typical unit takes what the service's guidance says
/// one unit takes (`docs/engine.md`): a start-up, then bytes and items at these rates.
struct Pace {
    setup: Duration,
    bytes_per_second: f64,
    items_per_second: f64,
}

fn pace(w: Workload) -> Pace {
    match w {
        // A mailbox of 5 GiB and 50,000 messages: 15 min + 45 min + 69 min, about 2 h.
        Workload::Exchange => {
            Pace { setup: Duration::from_secs(15 * 60), bytes_per_second: 2e6, items_per_second: 12.0 }
        }
        // A library of 10 GiB and 25,000 files: 5 min + 15 min + 8 min, about 30 min.
        Workload::SharePoint | Workload::OneDrive => {
            Pace { setup: Duration::from_secs(5 * 60), bytes_per_second: 12e6, items_per_second: 50.0 }
        }
    }
}

impl RestoreSpeed {
    /// The duration of one restore of `unit` that writes `work` (`None`: a unit without content);
    /// `size_hint` in 0..1000 spreads units without content around the mean.
    pub fn duration(self, unit: &UnitInfo, work: Option<Work>, size_hint: u64) -> Duration {
        match (self, work) {
            (RestoreSpeed::Instant, _) => Duration::ZERO,
            (RestoreSpeed::Fixed(d), _) => d,
            (RestoreSpeed::Realistic, Some(work)) => {
                let p = pace(unit.resource.workload);
                p.setup
                    + Duration::from_secs_f64(
                        work.bytes as f64 / p.bytes_per_second + work.items as f64 / p.items_per_second,
                    )
            }
            (RestoreSpeed::Realistic, None) => {
                let mean = match unit.resource.workload {
                    Workload::Exchange => Duration::from_secs(2 * 3600),
                    Workload::SharePoint | Workload::OneDrive => Duration::from_secs(30 * 60),
                };
                mean.mul_f64(0.5 + (size_hint % 1000) as f64 / 1000.0)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Names this worker in leases and job history.
    pub worker_id: String,
    /// Jobs in hand at once.
    pub concurrency: usize,
    /// Pause between looks at the queue when it has nothing due.
    pub poll: Duration,
    /// How long a claim holds before another worker may take the job over; renewed while running.
    pub lease: Duration,
    /// Claims a job gets before its artifact fails.
    pub max_attempts: i64,
    /// The first retry waits this long, each further one twice as long, up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub speed: RestoreSpeed,
    pub faults: Arc<FaultRules>,
    /// How long a shutdown waits for jobs in hand before it gives them back.
    pub shutdown_grace: Duration,
    /// How often restore points are brought up to the clock (and at once when the clock jumps).
    pub retention_every: Duration,
    /// How often content garbage is collected (real time), and how long unreferenced content waits
    /// before it is removed (`docs/content.md`).
    pub gc_every: Duration,
    pub gc_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4()),
            concurrency: 8,
            poll: Duration::from_millis(200),
            lease: Duration::from_secs(30),
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            speed: RestoreSpeed::Instant,
            faults: Arc::new(FaultRules::default()),
            shutdown_grace: Duration::from_secs(10),
            retention_every: Duration::from_secs(60),
            gc_every: Duration::from_secs(3600),
            gc_grace: Duration::from_secs(3600),
        }
    }
}

impl EngineConfig {
    /// The wait before the retry that follows failed attempt `attempt` (1-based).
    pub fn backoff(&self, attempt: i64) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        self.backoff_base.saturating_mul(2u32.saturating_pow(exp)).min(self.backoff_max)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FaultFileError {
    #[error("cannot read the fault file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the fault file {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
}

/// Fault rules (`--faults FILE`): which artifacts fail, hang, or fail their first attempts.
///
/// ```json
/// { "rules": [
///   { "protectionUnitId": "…", "action": "fail", "code": "ArtifactCannotBeRestored" },
///   { "restorePointId": "…", "action": "hang", "attempts": 1 },
///   { "protectionUnitId": "…", "action": "failAttempts", "attempts": 2 }
/// ] }
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRules {
    pub rules: Vec<FaultRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Matches artifacts restoring this unit.
    pub protection_unit_id: Option<String>,
    /// Matches artifacts restoring this restore point.
    pub restore_point_id: Option<String>,
    pub action: FaultAction,
    /// `hang`: the first `attempts` attempts hang (all when absent); `failAttempts`: required.
    pub attempts: Option<i64>,
    /// `fail`: the error code (default `ArtifactCannotBeRestored`).
    pub code: Option<String>,
    /// `fail`: the message (default: the service's message for the code).
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultAction {
    /// The restore fails for good with `code`.
    Fail,
    /// The worker stops working on the job and lets its lease expire; another attempt takes over.
    Hang,
    /// The first `attempts` attempts fail with a transient error, then the restore succeeds.
    FailAttempts,
}

/// What the fault rules make of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Fail(ErrorInfo),
    Hang,
    Transient(String),
}

impl FaultRules {
    pub fn load(path: &str) -> Result<FaultRules, FaultFileError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| FaultFileError::Read { path: path.into(), source })?;
        let invalid = |reason: String| FaultFileError::Invalid { path: path.into(), reason };
        let rules: FaultRules = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        for (i, r) in rules.rules.iter().enumerate() {
            if r.protection_unit_id.is_none() && r.restore_point_id.is_none() {
                return Err(invalid(format!("rule {i} names neither protectionUnitId nor restorePointId")));
            }
            if r.action == FaultAction::FailAttempts && r.attempts.is_none_or(|k| k < 1) {
                return Err(invalid(format!("rule {i}: failAttempts needs attempts of 1 or more")));
            }
        }
        Ok(rules)
    }

    /// The fault for attempt `attempt` (1-based) of restoring `restore_point_id` of `unit_id`; a unit's
    /// own fault mark (from `seed --faulty-units`) fails it for good.
    pub fn decide(
        &self,
        unit_id: &str,
        restore_point_id: &str,
        unit_fault: Option<&str>,
        attempt: i64,
    ) -> Option<Fault> {
        if let Some(code) = unit_fault {
            return Some(Fault::Fail(artifact_error(code)));
        }
        let rule = self.rules.iter().find(|r| {
            r.protection_unit_id.as_deref().is_none_or(|u| u == unit_id)
                && r.restore_point_id.as_deref().is_none_or(|p| p == restore_point_id)
        })?;
        match rule.action {
            FaultAction::Fail => {
                let mut e = artifact_error(rule.code.as_deref().unwrap_or("ArtifactCannotBeRestored"));
                if let Some(m) = &rule.message {
                    e.message = m.clone();
                }
                Some(Fault::Fail(e))
            }
            FaultAction::Hang => rule.attempts.is_none_or(|k| attempt <= k).then_some(Fault::Hang),
            FaultAction::FailAttempts => {
                let k = rule.attempts.unwrap_or(1);
                (attempt <= k).then(|| {
                    Fault::Transient(format!("injected transient failure (attempt {attempt} of the first {k})"))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse() {
        assert_eq!("instant".parse(), Ok(RestoreSpeed::Instant));
        assert_eq!("250ms".parse(), Ok(RestoreSpeed::Fixed(Duration::from_millis(250))));
        assert!("soon".parse::<RestoreSpeed>().is_err());
    }

    #[test]
    fn realistic_restores_of_content_take_the_services_time_for_their_size() {
        let unit = |workload| UnitInfo {
            id: "u".into(),
            resource: backstore_domain::restore::Resource {
                workload,
                site_id: None,
                site_name: None,
                site_web_url: None,
                directory_object_id: None,
                display_name: None,
                email: None,
            },
        };
        let minutes = |w, items, bytes: u64| {
            RestoreSpeed::Realistic.duration(&unit(w), Some(Work { items, bytes }), 0).as_secs_f64() / 60.0
        };
        // The guidance's typical units: about 30 min and about 2 h.
        let site = minutes(Workload::SharePoint, 25_000, 10 << 30);
        assert!((25.0..35.0).contains(&site), "{site}");
        let mailbox = minutes(Workload::Exchange, 50_000, 5 << 30);
        assert!((110.0..140.0).contains(&mailbox), "{mailbox}");
        // Twice the data, about twice the time past the start-up; an empty one, the start-up.
        assert!((minutes(Workload::OneDrive, 50_000, 20 << 30) - 5.0 - 2.0 * (site - 5.0)).abs() < 0.01);
        assert_eq!(minutes(Workload::OneDrive, 0, 0), 5.0);
        assert_eq!(
            RestoreSpeed::Instant.duration(&unit(Workload::Exchange), Some(Work { items: 9, bytes: 9 }), 0),
            Duration::ZERO
        );
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let c = EngineConfig {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(5),
            ..EngineConfig::default()
        };
        let waits: Vec<u64> = (1..=5).map(|a| c.backoff(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 5, 5]);
    }

    #[test]
    fn rules_decide_per_attempt() {
        let rules: FaultRules = serde_json::from_str(
            r#"{"rules":[{"protectionUnitId":"u1","action":"failAttempts","attempts":2},
                         {"restorePointId":"p2","action":"hang","attempts":1},
                         {"protectionUnitId":"u3","action":"fail","code":"ArtifactNotFound"}]}"#,
        )
        .unwrap();
        assert!(matches!(rules.decide("u1", "p", None, 2), Some(Fault::Transient(_))));
        assert_eq!(rules.decide("u1", "p", None, 3), None);
        assert_eq!(rules.decide("u9", "p2", None, 1), Some(Fault::Hang));
        assert_eq!(rules.decide("u9", "p2", None, 2), None);
        assert_eq!(rules.decide("u3", "p", None, 1), Some(Fault::Fail(artifact_error("ArtifactNotFound"))));
        assert_eq!(rules.decide("u9", "p", Some("UnknownError"), 1), Some(Fault::Fail(artifact_error("UnknownError"))));
        assert_eq!(rules.decide("u9", "p", None, 1), None);
    }
}
