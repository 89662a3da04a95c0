//! `backstore seed`: protection units with realistic fields and restore points on the real service's
//! cadence, generated from a seed so that the same seed and tenant give the same units and ids.

use backstore_domain::policy::MAX_UNITS_PER_REQUEST;
use backstore_domain::restore::Resource;
use backstore_domain::retention;
use backstore_domain::{Timestamp, Workload};
use backstore_store::sql::mail_messages::Recipient;
use backstore_store::{DirectoryResource, PolicyDeltaItem, RestorePointQuery, Store, StoreError, StoreResult, Writer};
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
    /// Bytes of files for each site's and each OneDrive's drive, and of mail for each mailbox (0:
    /// none); needs a content store.
    pub content_bytes: u64,
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
    /// With `--content`: the drive of a site or OneDrive unit, and what it holds now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drive_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_count: Option<u64>,
    /// With `--content`: the messages a mailbox unit's mailbox holds now (`bytes`: their MIME's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
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

/// When a unit must have become protected to have its newest `k` restore points at `now`.
fn protection_start(workload: Workload, k: u32, now: Timestamp) -> Timestamp {
    retention::newest_slots(workload, now, k as usize).last().copied().unwrap_or(now)
}

fn person(rng: &mut ChaCha8Rng, n: u32) -> (String, String) {
    let first = FIRST[rng.gen_range(0..FIRST.len())];
    let last = LAST[rng.gen_range(0..LAST.len())];
    let alias = format!("{first}{}{}", &last[..1], if n > 0 { n.to_string() } else { String::new() });
    (format!("{first} {last}"), alias)
}

fn unit(rng: &mut ChaCha8Rng, w: Workload, n: u32, domain: &str) -> Resource {
    // Drawn and unused, so that a seed makes the same tenant it always made.
    let _ = guid(rng);
    match w {
        Workload::SharePoint => {
            let base = SITES[(n as usize) % SITES.len()];
            let name = if (n as usize) < SITES.len() {
                base.to_owned()
            } else {
                format!("{base} {}", n as usize / SITES.len() + 1)
            };
            Resource {
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
            Resource {
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

/// Creates the plan's tenant through the operations the API runs: enables the service, makes the
/// sites and users known in the tenant's directory, puts them in one protection policy per workload
/// (creating it, adding to it 50 at a time, activating it with protection backdated so that each
/// unit has its newest `restore_points` points), brings restore points up to `now`, and reports
/// every unit, then refreshes the planner statistics of a PostgreSQL database (a bulk load). Running
/// it again with the same seed and tenant changes nothing and reports the same.
pub async fn seed(store: &Store, plan: &SeedPlan, now: Timestamp) -> StoreResult<SeedReport> {
    seed_with(store, None, plan, now).await
}

/// [`seed`], and with `plan.content_bytes` each site and OneDrive gets a drive of generated files
/// ([`crate::corpus`]) and each mailbox generated mail ([`crate::mail_corpus`]), changing between
/// its restore points (up to ten versions: files edited, added, deleted, renamed; mail received,
/// moved, deleted, read), each point holding the tree as it was then.
pub async fn seed_with(
    store: &Store,
    content: Option<&crate::content::Content>,
    plan: &SeedPlan,
    now: Timestamp,
) -> StoreResult<SeedReport> {
    let actor = seed_actor();
    let w = Writer { tenant: &plan.tenant, actor: &actor, now };
    if !store.service_state(&plan.tenant).await?.is_some_and(|s| s.is_enabled()) {
        store.enable_service(w, &plan.tenant).await?;
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
    let mut resources: Vec<DirectoryResource> = Vec::with_capacity(total);
    for (workload, count) in
        [(Workload::SharePoint, plan.sites), (Workload::Exchange, plan.mailboxes), (Workload::OneDrive, plan.drives)]
    {
        for n in 0..count {
            let i = unit(&mut rng, workload, n, domain);
            let index = resources.len();
            resources.push(DirectoryResource {
                resource: i,
                fault: faulty.contains(&index).then(|| FAULT_CODES[index % FAULT_CODES.len()].to_owned()),
                groups: Vec::new(),
            });
        }
    }
    store.register_resources(w, &resources).await?;
    for workload in Workload::ALL {
        let ids: Vec<String> = resources
            .iter()
            .filter(|r| r.resource.workload == workload)
            .filter_map(|r| r.resource.resource_id().map(str::to_owned))
            .collect();
        if !ids.is_empty() {
            protect(store, w, workload, ids, protection_start(workload, plan.restore_points, now)).await?;
        }
    }
    let drives = match content.filter(|_| plan.content_bytes > 0) {
        Some(content) => seed_drives(store, content, w, &resources, plan).await?,
        None => std::collections::HashMap::new(),
    };
    store.retention_pass(now).await?;
    store.refresh_statistics().await?;
    let mut units = Vec::with_capacity(resources.len());
    for r in resources {
        let resource_id = r.resource.resource_id().unwrap_or_default().to_owned();
        let id = backstore_domain::policy::unit_id(&plan.tenant, r.resource.workload, &resource_id);
        let drive = drives.get(&resource_id);
        let query = RestorePointQuery {
            unit_id: id.clone(),
            from: None,
            to: None,
            tags: None,
            newest_first: true,
            limit: i64::from(plan.restore_points),
        };
        let points = store.find_restore_points(&plan.tenant, &query, now).await?;
        units.push(SeededUnit {
            kind: r.resource.workload.unit_kind().into(),
            id,
            site_id: r.resource.site_id,
            site_name: r.resource.site_name,
            site_web_url: r.resource.site_web_url,
            directory_object_id: r.resource.directory_object_id,
            display_name: r.resource.display_name,
            email: r.resource.email,
            restore_point_ids: points.into_iter().map(|p| p.id).collect(),
            fault: r.fault,
            drive_id: drive.filter(|d| !d.mailbox).map(|d| d.id.clone()),
            item_count: drive.filter(|d| !d.mailbox).map(|d| d.items),
            message_count: drive.filter(|d| d.mailbox).map(|d| d.items),
            bytes: drive.map(|d| d.bytes),
        });
    }
    Ok(SeedReport { tenant_id: plan.tenant.clone(), protection_units: units })
}

/// What `--content` gave a unit: its drive or mailbox, and what it holds.
struct Seeded {
    id: String,
    mailbox: bool,
    /// Items of a drive, messages of a mailbox.
    items: u64,
    bytes: u64,
}

/// Gives each site and OneDrive a drive of generated files and each mailbox generated mail,
/// changing between the restore points the retention pass then takes (up to ten versions); what
/// each holds, by resource id.
async fn seed_drives(
    store: &Store,
    content: &crate::content::Content,
    w: Writer<'_>,
    resources: &[DirectoryResource],
    plan: &SeedPlan,
) -> StoreResult<std::collections::HashMap<String, Seeded>> {
    let failed = |e: &dyn std::fmt::Display| StoreError::InvalidTreeChange(format!("seeding content: {e}"));
    let work = std::env::temp_dir().join(format!("backstore-seed-{}-{}", std::process::id(), rand::random::<u32>()));
    let people: Vec<Recipient> = resources
        .iter()
        .filter(|r| r.resource.workload != Workload::SharePoint)
        .filter_map(|r| {
            r.resource.email.clone().map(|address| Recipient { name: r.resource.display_name.clone(), address })
        })
        .collect();
    // The points oldest first; the trees change before each of up to ten of them, and mail is
    // received up to the first.
    let mut slots = retention::newest_slots(Workload::SharePoint, w.now, plan.restore_points as usize);
    slots.reverse();
    let versions = slots.len().min(10);
    let first = Writer { now: slots.first().copied().unwrap_or(w.now), ..w };
    let mut drives = Vec::new();
    let mut mailboxes = Vec::new();
    for r in resources {
        let Some(resource_id) = r.resource.resource_id() else { continue };
        let seed = plan.seed ^ backstore_domain::stable_hash(resource_id);
        if r.resource.workload == Workload::Exchange {
            let mailbox = store.ensure_mailbox(w, resource_id).await?;
            let owner = Recipient {
                name: r.resource.display_name.clone(),
                address: r.resource.email.clone().unwrap_or_else(|| format!("{resource_id}@backstore.seed")),
            };
            let others = people.iter().filter(|p| p.address != owner.address).cloned().collect();
            let corpus = crate::mail_corpus::MailboxCorpus::generate(
                store,
                content,
                first,
                mailbox,
                owner,
                others,
                plan.content_bytes,
                seed,
            )
            .await?;
            mailboxes.push((resource_id.to_owned(), corpus));
            continue;
        }
        let (kind, name) = match r.resource.workload {
            Workload::SharePoint => ("documentLibrary", "Documents"),
            _ => ("business", "OneDrive"),
        };
        let drive = store.ensure_drive(w, resource_id, kind, name).await?;
        let dir = work.join(format!("{}", drives.len()));
        let corpus = crate::corpus::Corpus::generate(&dir, plan.content_bytes, seed).map_err(|e| failed(&e))?;
        crate::import::sync_dir(store, content, w, &drive, corpus.root()).await.map_err(|e| failed(&e))?;
        drives.push((resource_id.to_owned(), drive, corpus));
    }
    for v in 0..versions {
        if v > 0 {
            for (_, drive, corpus) in &mut drives {
                corpus.edit(5).map_err(|e| failed(&e))?;
                crate::import::sync_dir(store, content, w, drive, corpus.root()).await.map_err(|e| failed(&e))?;
            }
            // Mail arrives, moves and is read by the time of the point that follows.
            let at = Writer { now: slots[v * slots.len() / versions], ..w };
            for (_, corpus) in &mut mailboxes {
                corpus.edit(store, content, at, 5).await?;
            }
        }
        store.snapshot_changed_drives(content, Some(w.tenant)).await?;
        store.retention_pass(slots[v * slots.len() / versions]).await?;
    }
    let mut out = std::collections::HashMap::new();
    for (resource_id, drive, _) in drives {
        let (items, bytes) = store.drive_totals(w.tenant, &drive.drive_id).await?;
        out.insert(resource_id, Seeded { id: drive.drive_id, mailbox: false, items, bytes });
    }
    for (resource_id, corpus) in mailboxes {
        let id = corpus.mailbox_id().to_owned();
        let (items, bytes) = store.mailbox_totals(w.tenant, &id).await?;
        out.insert(resource_id, Seeded { id, mailbox: true, items, bytes });
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(out)
}

/// Puts `ids` in the workload's policy (the active one, else a new one) and activates it.
async fn protect(
    store: &Store,
    w: Writer<'_>,
    workload: Workload,
    ids: Vec<String>,
    since: Timestamp,
) -> StoreResult<()> {
    let existing = store.list_policies(w.tenant, Some(workload), None, 1000).await?;
    let (policy, rest) = match existing.into_iter().find(|p| p.enabled) {
        Some(p) => (p, ids),
        None => {
            let first = ids.iter().take(MAX_UNITS_PER_REQUEST).cloned().collect();
            let name = format!("backstore seed: {}", workload.unit_kind());
            let p = store.create_policy(w, workload, Some(name), first, false).await?;
            (p, ids.into_iter().skip(MAX_UNITS_PER_REQUEST).collect())
        }
    };
    for chunk in rest.chunks(MAX_UNITS_PER_REQUEST) {
        let items = chunk.iter().map(|id| PolicyDeltaItem::Add { resource_id: id.clone(), content_id: None }).collect();
        // Resources already in the policy (an earlier run) fail their item and are left as they are.
        store.update_policy(w, &policy.id, Some(workload), None, items, Vec::new()).await?;
    }
    if policy.enabled {
        store.settle_policy(w.tenant, &policy.id, w.now, since).await?;
    } else {
        store.set_policy_enabled(w, &policy.id, Some(workload), true, Some(since)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn protection_starts_early_enough_for_k_points() {
        let now = backstore_store::Clock::system().now();
        assert_eq!(protection_start(Workload::SharePoint, 0, now), now);
        let one = protection_start(Workload::SharePoint, 1, now);
        assert!(now - one < Duration::minutes(10));
        let many = protection_start(Workload::SharePoint, 2100, now);
        assert!(now - many > Duration::days(14 + 7 * 5), "weekly points past the fast window");
        let ex = protection_start(Workload::Exchange, 2100, now);
        assert!(now - ex < Duration::days(15), "Exchange keeps every 10-minute point");
    }
}
