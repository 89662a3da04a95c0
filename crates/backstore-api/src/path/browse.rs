//! Browse session paths: `browseSessions[/cast][/{id}[/cast][/browse[(nextFetchToken='…')]]]` and
//! the typed sets.

use backstore_domain::Workload;

use super::{end, is, not_found, text, ApiVersion, CountOf, Seg, Target};
use crate::error::ApiError;
use crate::names::is_odata_type;

/// The browse session sets: the polymorphic one and the SharePoint and OneDrive ones.
const BROWSE_SETS: [(&str, &str, Workload); 2] = [
    ("sharePointBrowseSessions", "sharePointBrowseSession", Workload::SharePoint),
    ("oneDriveForBusinessBrowseSessions", "oneDriveForBusinessBrowseSession", Workload::OneDrive),
];

pub(super) fn browse_set(seg: &Seg) -> Option<(Option<Workload>, bool)> {
    if is(seg, "browseSessions") {
        return Some((None, true));
    }
    BROWSE_SETS.iter().find(|(set, _, _)| is(seg, set)).map(|(_, _, w)| (Some(*w), false))
}

fn browse_cast(seg: &Seg) -> Option<Workload> {
    match seg {
        Seg::Name(n) => BROWSE_SETS.iter().find(|(_, t, _)| is_odata_type(n, t)).map(|(_, _, w)| *w),
        Seg::Key(_) => None,
    }
}

/// `browseSessions[/cast][/{id}[/cast][/browse[(nextFetchToken='…')]]]` and the typed sets.
pub(super) fn browse_sessions<'a>(
    version: ApiVersion,
    mut workload: Option<Workload>,
    base: bool,
    it: std::iter::Peekable<impl Iterator<Item = &'a Seg>>,
) -> Result<(ApiVersion, Target), ApiError> {
    let mut it = it;
    if base {
        if let Some(w) = it.peek().and_then(|s| browse_cast(s)) {
            workload = Some(w);
            it.next();
        }
    }
    let Some(key) = it.next() else {
        return Ok((version, Target::BrowseSessions { workload, base }));
    };
    if is(key, "$count") {
        return match it.next() {
            None => Ok((version, Target::Count(CountOf::BrowseSessions { workload }))),
            Some(extra) => Err(not_found(text(extra))),
        };
    }
    let id = text(key).to_owned();
    let mut next = it.next();
    if workload.is_none() {
        if let Some(w) = next.and_then(browse_cast) {
            workload = Some(w);
            next = it.next();
        }
    }
    let Some(next) = next else {
        return Ok((version, Target::BrowseSession { id, workload }));
    };
    if !(is(next, "browse") || is(next, "microsoft.graph.browse")) {
        return Err(not_found(text(next)));
    }
    let token = match it.next() {
        None => None,
        Some(Seg::Key(arg)) => {
            let value = arg
                .split_once('=')
                .filter(|(name, _)| name.trim().eq_ignore_ascii_case("nextFetchToken"))
                .map(|(_, v)| v.trim())
                .ok_or_else(|| ApiError::BadRequest(format!("browse takes one parameter, nextFetchToken: '{arg}'.")))?;
            let value = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(value);
            Some(value.replace("''", "'"))
        }
        Some(s) => return Err(not_found(text(s))),
    };
    end(version, Target::Browse { id, workload, token }, it)
}
