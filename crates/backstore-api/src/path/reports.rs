//! beta's `reports`: the `getStatisticsByPolicy(policyId='…')` function.

use super::{end, is, not_found, text, unimplemented, ApiVersion, Seg, Target};
use crate::error::ApiError;

/// beta `reports/getStatisticsByPolicy(policyId='…')`; `reports` is not a segment of v1.0.
pub(super) fn reports<'a>(
    version: ApiVersion,
    mut it: impl Iterator<Item = &'a Seg>,
) -> Result<(ApiVersion, Target), ApiError> {
    if version != ApiVersion::Beta {
        return Err(not_found("reports"));
    }
    match it.next() {
        None => Ok((version, unimplemented("reports"))),
        Some(f) if is(f, "getStatisticsByPolicy") || is(f, "microsoft.graph.getStatisticsByPolicy") => {
            let bad = || ApiError::BadRequest("getStatisticsByPolicy takes one parameter, policyId='…'.".into());
            let Some(Seg::Key(arg)) = it.next() else { return Err(bad()) };
            let (name, value) = arg.split_once('=').ok_or_else(bad)?;
            if !name.trim().eq_ignore_ascii_case("policyId") {
                return Err(bad());
            }
            let value = value.trim();
            let policy =
                value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value).replace("''", "'");
            if policy.is_empty() {
                return Err(bad());
            }
            end(version, Target::PolicyStatistics { policy }, it)
        }
        Some(s) => Err(not_found(text(s))),
    }
}
