//! beta's exclusion units: `exclusionUnits` (all workloads), `{site|drive|mailbox}ExclusionUnits`
//! at the root and under a policy, and their `…BulkAdditionJobs`, each `[/$count | /{id}]`. None
//! of them is a segment of v1.0.

use backstore_domain::Workload;

use super::{end, is, not_found, text, ApiVersion, CountOf, Seg, Target};
use crate::error::ApiError;
use crate::names::{names, workload_by};

/// The exclusion set `seg` names at the root: `Some(None)` for `exclusionUnits`, `Some(Some(w))`
/// for a workload's; `None` when it names none.
pub(super) fn exclusion_set(seg: &Seg) -> Option<Option<Workload>> {
    match seg {
        Seg::Name(n) if n.eq_ignore_ascii_case("exclusionUnits") => Some(None),
        Seg::Name(n) => workload_by(n, |x| x.exclusion_set).map(Some),
        Seg::Key(_) => None,
    }
}

/// The workload whose exclusion bulk jobs' set (`siteExclusionUnitsBulkAdditionJobs`, …) `seg` is.
pub(super) fn exclusion_jobs_of(seg: &Seg) -> Option<Workload> {
    Workload::ALL.into_iter().find(|w| is(seg, &format!("{}BulkAdditionJobs", names(*w).exclusion_set)))
}

/// What follows an exclusion set (`workload` `None`: all workloads' units), at the root or under
/// `policy`.
pub(super) fn exclusions<'a>(
    version: ApiVersion,
    workload: Option<Workload>,
    policy: Option<String>,
    mut it: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    if version != ApiVersion::Beta {
        let set = workload.map_or("exclusionUnits", |w| names(w).exclusion_set);
        return Err(not_found(set));
    }
    match it.next() {
        None => Ok((version, Target::Exclusions { workload, policy })),
        Some(s) if is(s, "$count") => end(version, Target::Count(CountOf::Exclusions { workload, policy }), it),
        Some(key) => end(version, Target::Exclusion { workload, policy, id: text(key).to_owned() }, it),
    }
}

/// What follows `…ExclusionUnitsBulkAdditionJobs` of `workload`, at the root or under `policy`.
pub(super) fn exclusion_jobs<'a>(
    version: ApiVersion,
    workload: Workload,
    policy: Option<String>,
    mut it: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    if version != ApiVersion::Beta {
        return Err(not_found(&format!("{}BulkAdditionJobs", names(workload).exclusion_set)));
    }
    match it.next() {
        None => Ok((version, Target::ExclusionJobs { workload, policy })),
        Some(s) if is(s, "$count") => end(version, Target::Count(CountOf::ExclusionJobs { workload, policy }), it),
        Some(key) => end(version, Target::ExclusionJob { workload, policy, id: text(key).to_owned() }, it),
    }
}
