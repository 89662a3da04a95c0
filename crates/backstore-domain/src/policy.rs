//! Protection policies: their status as the aggregate of their units', the 50-unit request limit,
//! and the stable ids of units and restore points (one unit per resource per tenant, one point per
//! unit and 10-minute slot), which let every process generate the same rows without talking.

use crate::enums::{ProtectionUnitStatus, Workload};
use crate::{retention, stable_hash, Timestamp};

/// Most protection units one policy create or update request may carry (error-codes page).
pub const MAX_UNITS_PER_REQUEST: usize = 50;
/// Most resources one protection-unit bulk addition job may carry.
pub const MAX_BULK_JOB_RESOURCES: usize = 50_000;

crate::enums::graph_enum! {
    /// `protectionPolicyStatus`
    pub enum PolicyStatus {
        Inactive = "inactive",
        ActiveWithErrors = "activeWithErrors",
        Updating = "updating",
        Active = "active",
    }
}

/// A policy's `backupCountStatistics` (beta `reports/getStatisticsByPolicy`): its units by where
/// their protection stands. A unit with an error counts as failed on its side (protected or
/// unprotected); `offboardRequested` and `removed` count units waiting to leave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountStatistics {
    pub total: i64,
    pub protected_completed: i64,
    pub protected_failed: i64,
    pub protected_in_progress: i64,
    pub unprotected_completed: i64,
    pub unprotected_failed: i64,
    pub unprotected_in_progress: i64,
    pub offboard_requested: i64,
    pub removed: i64,
}

/// [`CountStatistics`] of units given by their status and whether they carry an error.
pub fn count_statistics(units: impl IntoIterator<Item = (ProtectionUnitStatus, bool)>) -> CountStatistics {
    use ProtectionUnitStatus as S;
    let mut c = CountStatistics::default();
    for (status, failed) in units {
        c.total += 1;
        let slot = match (status, failed) {
            (S::Protected | S::ProtectRequested, true) => &mut c.protected_failed,
            (S::Protected, false) => &mut c.protected_completed,
            (S::ProtectRequested, false) => &mut c.protected_in_progress,
            (S::Unprotected | S::UnprotectRequested, true) => &mut c.unprotected_failed,
            (S::Unprotected, false) => &mut c.unprotected_completed,
            (S::UnprotectRequested, false) => &mut c.unprotected_in_progress,
            (S::OffboardRequested | S::CancelOffboardRequested, _) => &mut c.offboard_requested,
            (S::RemoveRequested | S::Offboarded, _) => &mut c.removed,
        };
        *slot += 1;
    }
    c
}

/// Whether a unit is waiting for the engine to settle it.
pub fn is_requested(s: ProtectionUnitStatus) -> bool {
    matches!(
        s,
        ProtectionUnitStatus::ProtectRequested
            | ProtectionUnitStatus::UnprotectRequested
            | ProtectionUnitStatus::RemoveRequested
    )
}

/// A policy's status from whether it is switched on and its units' statuses (units that failed to
/// be protected count in `errors`): `updating` while any unit waits for the engine, then `active`
/// (all protected), `activeWithErrors` (some could not be) or `inactive` (switched off).
pub fn derive_policy(enabled: bool, units: &[ProtectionUnitStatus], errors: usize) -> PolicyStatus {
    if units.iter().any(|s| is_requested(*s)) {
        PolicyStatus::Updating
    } else if !enabled {
        PolicyStatus::Inactive
    } else if errors > 0 {
        PolicyStatus::ActiveWithErrors
    } else {
        PolicyStatus::Active
    }
}

/// A GUID-shaped id from a text, stable across processes and versions.
pub fn stable_guid(text: &str) -> String {
    let hi = stable_hash(text);
    let lo = stable_hash(&format!("{text}\u{1f}{hi:016x}"));
    // Shaped as a version-4, RFC 4122 variant GUID, like the ids the service hands out.
    let v = (u128::from(hi) << 64) | u128::from(lo);
    let v = (v & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The id of the protection unit of a resource (site id or directory object id) in a tenant.
pub fn unit_id(tenant: &str, workload: Workload, resource_id: &str) -> String {
    stable_guid(&format!("unit\u{1f}{tenant}\u{1f}{}\u{1f}{}", workload.unit_kind(), resource_id.to_lowercase()))
}

/// The id of the restore point of `unit` taken at `slot`: the `epoch`-th time the unit became
/// protected (at `protected_since`), its n-th slot since then.
pub fn restore_point_id(tenant: &str, unit: &str, epoch: i64, protected_since: Timestamp, slot: Timestamp) -> String {
    let step = retention::slot().num_microseconds().expect("ten minutes fit");
    let start = retention::slot_floor(protected_since).timestamp_micros();
    let n = (slot.timestamp_micros() - start).div_euclid(step);
    stable_guid(&format!("point\u{1f}{tenant}\u{1f}{unit}\u{1f}{epoch}\u{1f}{n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_statistics_sort_units_by_where_their_protection_stands() {
        use ProtectionUnitStatus as S;
        let c = count_statistics([
            (S::Protected, false),
            (S::Protected, false),
            (S::Protected, true),
            (S::ProtectRequested, false),
            (S::Unprotected, false),
            (S::UnprotectRequested, true),
            (S::OffboardRequested, false),
            (S::RemoveRequested, false),
        ]);
        assert_eq!(
            c,
            CountStatistics {
                total: 8,
                protected_completed: 2,
                protected_failed: 1,
                protected_in_progress: 1,
                unprotected_completed: 1,
                unprotected_failed: 1,
                unprotected_in_progress: 0,
                offboard_requested: 1,
                removed: 1,
            }
        );
    }
    use ProtectionUnitStatus::*;

    #[test]
    fn policy_status_follows_the_units() {
        assert_eq!(derive_policy(false, &[], 0), PolicyStatus::Inactive);
        assert_eq!(derive_policy(true, &[], 0), PolicyStatus::Active);
        assert_eq!(derive_policy(true, &[Protected, ProtectRequested], 0), PolicyStatus::Updating);
        assert_eq!(derive_policy(false, &[Unprotected, RemoveRequested], 0), PolicyStatus::Updating);
        assert_eq!(derive_policy(true, &[Protected, Protected], 1), PolicyStatus::ActiveWithErrors);
        assert_eq!(derive_policy(false, &[Unprotected], 0), PolicyStatus::Inactive);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = unit_id("t", Workload::SharePoint, "Contoso.sharepoint.com,1,2");
        assert_eq!(a, unit_id("t", Workload::SharePoint, "contoso.sharepoint.com,1,2"));
        assert_ne!(a, unit_id("u", Workload::SharePoint, "contoso.sharepoint.com,1,2"));
        assert_ne!(a, unit_id("t", Workload::OneDrive, "contoso.sharepoint.com,1,2"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        let since = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:03:00Z").unwrap().to_utc();
        let later = since + chrono::Duration::days(3);
        let slot = retention::slot_floor(since) + retention::slot() * 5;
        let id = restore_point_id("t", &a, 1, since, slot);
        assert_eq!(id, restore_point_id("t", &a, 1, later - chrono::Duration::days(3), slot));
        assert_ne!(id, restore_point_id("t", &a, 1, since, slot + retention::slot()));
        assert_ne!(id, restore_point_id("t", &a, 2, since, slot), "a new protection period has new ids");
    }
}
