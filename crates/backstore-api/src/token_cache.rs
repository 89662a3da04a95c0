//! The tokens of the server's own key that passed every check, remembered with the principal they
//! gave: a client sends the same bearer token on every request, and checking its signature and
//! parsing its claims each time was a sixth of a small GET's cost.
//!
//! Nothing a token grants can change while it is remembered: its claims are signed, and the key
//! that checked them is the one this cache belongs to. Only time can end its validity, so every
//! hit checks `nbf` and `exp` against the clock and tolerance `jsonwebtoken` validated them with;
//! an expired token falls through to the full check, which refuses it as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::jwt::CLOCK_SKEW_SECS;

/// How many tokens are remembered; past it the cache starts again empty.
const CAPACITY: usize = 4096;

/// Checked tokens and what each gave (`T`: the principal).
#[derive(Clone)]
pub(crate) struct TokenCache<T> {
    entries: Arc<Mutex<HashMap<Box<str>, Entry<T>>>>,
}

impl<T> Default for TokenCache<T> {
    fn default() -> Self {
        TokenCache { entries: Arc::default() }
    }
}

struct Entry<T> {
    principal: T,
    nbf: i64,
    exp: i64,
}

/// Whether a token valid from `nbf` to `exp` (seconds) is valid at `now`, with the tolerance the
/// full check allows.
fn in_lifetime(nbf: i64, exp: i64, now: i64) -> bool {
    let skew = CLOCK_SKEW_SECS as i64;
    nbf <= now + skew && exp >= now - skew
}

/// The clock `jsonwebtoken` validates lifetimes against.
fn now() -> i64 {
    i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap_or(i64::MAX)
}

impl<T: Clone> TokenCache<T> {
    /// The principal of a token that passed the full check, while it is still in its lifetime.
    pub fn get(&self, token: &str) -> Option<T> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(token)?;
        in_lifetime(e.nbf, e.exp, now()).then(|| e.principal.clone())
    }

    /// Remembers a token that just passed the full check.
    pub fn put(&self, token: &str, principal: &T, nbf: i64, exp: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(token.into(), Entry { principal: principal.clone(), nbf, exp });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lifetime_allows_the_skew_on_both_ends_and_no_more() {
        let skew = CLOCK_SKEW_SECS as i64;
        assert!(in_lifetime(100, 200, 150));
        assert!(in_lifetime(100, 200, 100 - skew));
        assert!(!in_lifetime(100, 200, 99 - skew));
        assert!(in_lifetime(100, 200, 200 + skew));
        assert!(!in_lifetime(100, 200, 201 + skew));
    }

    #[test]
    fn an_expired_token_is_not_answered_from_the_cache() {
        let cache = TokenCache::default();
        let p = "the principal of tenant t".to_owned();
        let t = now();
        cache.put("fresh", &p, t - 10, t + 3600);
        cache.put("stale", &p, t - 7200, t - 3600);
        assert_eq!(cache.get("fresh").as_ref(), Some(&p));
        assert!(cache.get("stale").is_none());
        assert!(cache.get("unknown").is_none());
    }
}
