//! Throttling as Graph does it: token buckets per application and tenant, and per tenant, each
//! optional, answering `429 TooManyRequests` in Graph's error format with `Retry-After` (whole
//! seconds). The buckets are `governor`'s (GCRA); this module only names the keys and the rates.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// A rate as the command line writes it: `20/s`, `600/min` (the burst is the same number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    count: NonZeroU32,
    per_minute: bool,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("'{s}' is not a rate: write N/s or N/min with N > 0, e.g. 20/s");
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: NonZeroU32 = n.trim().parse().map_err(|_| bad())?;
        let per_minute = match unit.trim() {
            "s" | "sec" | "second" => false,
            "m" | "min" | "minute" => true,
            _ => return Err(bad()),
        };
        Ok(Rate { count, per_minute })
    }
}

impl Rate {
    fn quota(self) -> Quota {
        if self.per_minute {
            Quota::per_minute(self.count)
        } else {
            Quota::per_second(self.count)
        }
    }
}

/// The buckets of one server; `Throttle::default()` throttles nothing.
#[derive(Default)]
pub struct Throttle {
    per_app: Option<DefaultKeyedRateLimiter<(String, String)>>,
    per_tenant: Option<DefaultKeyedRateLimiter<String>>,
}

impl Throttle {
    pub fn new(per_app: Option<Rate>, per_tenant: Option<Rate>) -> Throttle {
        Throttle {
            per_app: per_app.map(|r| RateLimiter::keyed(r.quota())),
            per_tenant: per_tenant.map(|r| RateLimiter::keyed(r.quota())),
        }
    }

    /// Takes one request from the caller's buckets, or says how long to wait.
    pub fn check(&self, tenant: &str, app: &str) -> Result<(), ApiError> {
        let now = DefaultClock::default().now();
        let mut wait = Duration::ZERO;
        if let Some(l) = &self.per_tenant {
            if let Err(not_until) = l.check_key(&tenant.to_owned()) {
                wait = wait.max(not_until.wait_time_from(now));
            }
        }
        if wait.is_zero() {
            if let Some(l) = &self.per_app {
                if let Err(not_until) = l.check_key(&(tenant.to_owned(), app.to_owned())) {
                    wait = wait.max(not_until.wait_time_from(now));
                }
            }
        }
        if wait.is_zero() {
            return Ok(());
        }
        Err(ApiError::TooManyRequests { retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_buckets() {
        assert_eq!("20/s".parse::<Rate>().unwrap().count.get(), 20);
        assert!("600/min".parse::<Rate>().unwrap().per_minute);
        for bad in ["", "0/s", "5", "5/h", "x/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        let t = Throttle::new(Some("2/min".parse().unwrap()), None);
        assert!(t.check("t1", "a").is_ok());
        assert!(t.check("t1", "a").is_ok());
        match t.check("t1", "a") {
            Err(ApiError::TooManyRequests { retry_after_secs }) => assert!((1..=60).contains(&retry_after_secs)),
            other => panic!("{other:?}"),
        }
        assert!(t.check("t1", "b").is_ok(), "another app has its own bucket");
        assert!(t.check("t2", "a").is_ok(), "another tenant too");
        let t = Throttle::new(None, Some("1/min".parse().unwrap()));
        assert!(t.check("t1", "a").is_ok());
        assert!(t.check("t1", "b").is_err(), "the tenant's bucket is shared by its apps");
        assert!(Throttle::default().check("t", "a").is_ok());
    }
}
