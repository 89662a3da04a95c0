//! `backstore seed`: protection units with realistic fields and restore points on the real service's
//! cadence, generated from a seed so that the same seed and tenant give the same units and ids.

use backstore_domain::restore::UnitInfo;
use backstore_domain::retention;
use backstore_domain::{Timestamp, Workload};
use backstore_store::{ProtectionUnitRecord, RestorePointRecord, Store, StoreResult};
use chrono::Duration;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct SeedPlan {
    pub tenant: String,
    /// How many of the units get a fault mark: every restore of them fails with a realistic error.
    pub faulty_units: u32,
    pub sites: u32,
    pub mailboxes: u32,
    pub drives: u32,
    pub restore_points: u32,
    pub seed: u64,
}

/// What `seed` prints: every unit with its kind, id, descriptive fields and restore point ids.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedReport {
    pub tenant_id: String,
    pub protection_units: Vec<SeededUnit>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeededUnit {
    /// `site`, `mailbox` or `drive`
    pub kind: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_web_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_object_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub restore_point_ids: Vec<String>,
    /// The error code restores of this unit fail with (`--faulty-units`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

/// The errors faulty units fail with, in turn.
const FAULT_CODES: &[&str] = &["ArtifactCannotBeRestored", "UnknownError", "ArtifactNotFound"];

const DOMAINS: &[&str] =
    &["contoso", "fabrikam", "northwind", "adatum", "tailspin", "woodgrove", "litware", "proseware"];
const SITES: &[&str] = &[
    "Marketing",
    "Finance",
    "Human Resources",
    "Engineering",
    "Sales",
    "Legal",
    "Operations",
    "Product Design",
    "Customer Success",
    "IT Helpdesk",
    "Research",
    "Procurement",
    "Communications",
    "Facilities",
    "Security",
];
const FIRST: &[&str] = &[
    "Adele",
    "Alex",
    "Diego",
    "Grady",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Irvin",
    "Henrietta",
    "Christie",
];
const LAST: &[&str] = &[
    "Vance",
    "Wilber",
    "Siciliani",
    "Archie",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Gruber",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Sayers",
    "Mueller",
    "Cline",
];

fn guid(rng: &mut ChaCha8Rng) -> String {
    uuid::Builder::from_random_bytes(rng.gen()).into_uuid().to_string()
}

fn slug(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// The newest `k` restore points of a unit protected for a year, on the service's cadence.
fn restore_points(rng: &mut ChaCha8Rng, unit: &UnitInfo, k: u32, now: Timestamp) -> Vec<RestorePointRecord> {
    retention::newest_slots(unit.workload, now, k as usize)
        .into_iter()
        .map(|at| RestorePointRecord {
            id: guid(rng),
            protection_unit_id: unit.id.clone(),
            workload: unit.workload,
            protection_at: at,
            expiration_at: retention::expiration(unit.workload, at),
            tags: retention::tags(unit.workload, at, now),
        })
        .collect()
}

fn person(rng: &mut ChaCha8Rng, n: u32) -> (String, String) {
    let first = FIRST[rng.gen_range(0..FIRST.len())];
    let last = LAST[rng.gen_range(0..LAST.len())];
    let alias = format!("{first}{}{}", &last[..1], if n > 0 { n.to_string() } else { String::new() });
    (format!("{first} {last}"), alias)
}

fn unit(rng: &mut ChaCha8Rng, w: Workload, n: u32, domain: &str) -> UnitInfo {
    let id = guid(rng);
    match w {
        Workload::SharePoint => {
            let base = SITES[(n as usize) % SITES.len()];
            let name = if (n as usize) < SITES.len() {
                base.to_owned()
            } else {
                format!("{base} {}", n as usize / SITES.len() + 1)
            };
            UnitInfo {
                id,
                workload: w,
                site_id: Some(format!("{domain}.sharepoint.com,{},{}", guid(rng), guid(rng))),
                site_web_url: Some(format!("https://{domain}.sharepoint.com/sites/{}", slug(&name))),
                site_name: Some(name),
                directory_object_id: None,
                display_name: None,
                email: None,
            }
        }
        Workload::Exchange | Workload::OneDrive => {
            let (display, alias) = person(rng, n);
            let email = format!("{alias}@{domain}.onmicrosoft.com");
            let onedrive = w == Workload::OneDrive;
            let personal = format!("{}_{domain}_onmicrosoft_com", alias.to_ascii_lowercase());
            UnitInfo {
                id,
                workload: w,
                site_id: onedrive.then(|| format!("{domain}-my.sharepoint.com,{},{}", guid(rng), guid(rng))),
                site_web_url: onedrive.then(|| format!("https://{domain}-my.sharepoint.com/personal/{personal}")),
                site_name: onedrive.then(|| format!("OneDrive - {display}")),
                directory_object_id: Some(guid(rng)),
                display_name: Some(display),
                email: Some(email),
            }
        }
    }
}

/// Who `seed` says created the units.
fn seed_actor() -> backstore_domain::Actor {
    backstore_domain::Actor {
        application_id: "c2bd3f61-8a4b-4b7e-9d0c-5e4f1a2b3c4d".into(),
        application_name: Some("backstore seed".into()),
        user_id: None,
        user_name: None,
    }
}

/// Enables the service for the tenant if needed, creates the plan's units and restore points in the
/// store (idempotent for the same seed and tenant: ids that exist already are left as they are) and
/// reports them.
pub async fn seed(store: &dyn Store, plan: &SeedPlan, now: Timestamp) -> StoreResult<SeedReport> {
    // The service must be on before anything else works for the tenant.
    let actor = seed_actor();
    let enabled = store.service_state(&plan.tenant).await?.is_some_and(|s| s.is_enabled());
    if !enabled {
        store
            .enable_service(backstore_store::Writer { tenant: &plan.tenant, actor: &actor, now }, &plan.tenant)
            .await?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed ^ backstore_domain::stable_hash(&plan.tenant));
    let domain = DOMAINS[rng.gen_range(0..DOMAINS.len())];
    // Which units are faulty: the same ones for the same seed, spread over the three kinds.
    let total = (plan.sites + plan.mailboxes + plan.drives) as usize;
    let mut order: Vec<usize> = (0..total).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.gen_range(0..=i));
    }
    let faulty: Vec<usize> = order.into_iter().take(plan.faulty_units as usize).collect();
    let mut units: Vec<SeededUnit> = Vec::new();
    for (w, count) in
        [(Workload::SharePoint, plan.sites), (Workload::Exchange, plan.mailboxes), (Workload::OneDrive, plan.drives)]
    {
        let policy = guid(&mut rng);
        for n in 0..count {
            let info = unit(&mut rng, w, n, domain);
            let points = restore_points(&mut rng, &info, plan.restore_points, now);
            let record = ProtectionUnitRecord {
                info: info.clone(),
                policy_id: Some(policy.clone()),
                status: backstore_domain::ProtectionUnitStatus::Protected,
                created_at: points.last().map_or(now, |p| p.protection_at) - Duration::hours(1),
                created_by: Some(seed_actor()),
                fault: faulty.contains(&units.len()).then(|| FAULT_CODES[units.len() % FAULT_CODES.len()].to_owned()),
            };
            store.insert_protection_unit(&plan.tenant, &record, &points).await?;
            let fault = record.fault.clone();
            units.push(SeededUnit {
                fault,
                kind: w.unit_kind().into(),
                id: info.id,
                site_id: info.site_id,
                site_name: info.site_name,
                site_web_url: info.site_web_url,
                directory_object_id: info.directory_object_id,
                display_name: info.display_name,
                email: info.email,
                restore_point_ids: points.into_iter().map(|p| p.id).collect(),
            });
        }
    }
    Ok(SeedReport { tenant_id: plan.tenant.clone(), protection_units: units })
}

#[cfg(test)]
mod tests {
    use super::*;
    use backstore_domain::RestorePointTags;

    fn unit_of(w: Workload) -> UnitInfo {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        unit(&mut rng, w, 0, "contoso")
    }

    #[test]
    fn points_follow_the_service_cadence() {
        let now = backstore_store::Clock::system().now();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let sp = restore_points(&mut rng, &unit_of(Workload::SharePoint), 2100, now);
        assert!(now - sp[0].protection_at < Duration::minutes(10));
        assert_eq!(sp[0].protection_at - sp[1].protection_at, Duration::minutes(10));
        assert_eq!(sp[0].tags, RestorePointTags::FastRestore);
        let last = &sp[sp.len() - 1];
        assert_eq!(sp[sp.len() - 2].protection_at - last.protection_at, Duration::days(7));
        assert_eq!(last.tags, RestorePointTags::None);
        assert_eq!(last.expiration_at - last.protection_at, Duration::days(365));
        let ex = restore_points(&mut rng, &unit_of(Workload::Exchange), 2100, now);
        assert_eq!(ex[2098].protection_at - ex[2099].protection_at, Duration::minutes(10));
    }
}
