//! When the service takes restore points and how long it keeps them: a point every 10 minutes; for
//! SharePoint and OneDrive the 10-minute points live 14 days and one a week lives a year, for
//! Exchange every point lives a year. SharePoint and OneDrive points are fast-restore points while
//! they are younger than 14 days.

use chrono::{DateTime, Duration, Utc};

use crate::enums::{RestorePointTags, Workload};
use crate::Timestamp;

pub fn slot() -> Duration {
    Duration::minutes(10)
}

pub fn fast_window() -> Duration {
    Duration::days(14)
}

pub fn retention() -> Duration {
    Duration::days(365)
}

fn week_micros() -> i64 {
    Duration::days(7).num_microseconds().expect("a week fits")
}

/// A policy's `retentionSettings` as (interval, period): what the functions below implement.
pub fn settings(workload: Workload) -> &'static [(&'static str, &'static str)] {
    match workload {
        Workload::Exchange => &[("R/PT10M", "P1Y")],
        Workload::SharePoint | Workload::OneDrive => &[("R/PT10M", "P2W"), ("R/P1W", "P1Y")],
    }
}

/// The longest a workload's restore points are kept, in days (beta's
/// `backupRetentionPeriodInDays`): the longest period of its retention settings.
pub fn kept_days(workload: Workload) -> i32 {
    let days = |period: &str| {
        let body = period.trim_start_matches('P');
        let (n, unit) = body.split_at(body.len().saturating_sub(1));
        let n: i32 = n.parse().unwrap_or(0);
        n * match unit {
            "Y" => 365,
            "M" => 30,
            "W" => 7,
            _ => 1,
        }
    };
    settings(workload).iter().map(|(_, period)| days(period)).max().unwrap_or(0)
}

/// The start of the 10-minute slot `t` falls in.
pub fn slot_floor(t: Timestamp) -> Timestamp {
    let s = slot().num_microseconds().expect("ten minutes fit");
    let micros = t.timestamp_micros();
    DateTime::<Utc>::from_timestamp_micros(micros - micros.rem_euclid(s)).expect("in range")
}

/// Whether a slot is the weekly one kept for a year (SharePoint and OneDrive).
pub fn is_weekly(slot_start: Timestamp) -> bool {
    slot_start.timestamp_micros().rem_euclid(week_micros()) == 0
}

/// Whether the point of `slot_start` still exists at `now`.
pub fn is_kept(workload: Workload, slot_start: Timestamp, now: Timestamp) -> bool {
    expiration(workload, slot_start) > now && slot_start <= now
}

/// When the point taken at `slot_start` expires.
pub fn expiration(workload: Workload, slot_start: Timestamp) -> Timestamp {
    match workload {
        Workload::Exchange => slot_start + retention(),
        Workload::SharePoint | Workload::OneDrive if is_weekly(slot_start) => slot_start + retention(),
        Workload::SharePoint | Workload::OneDrive => slot_start + fast_window(),
    }
}

/// The tags of a point taken at `slot_start`, as they are at `now`.
pub fn tags(workload: Workload, slot_start: Timestamp, now: Timestamp) -> RestorePointTags {
    match workload {
        Workload::SharePoint | Workload::OneDrive if now - slot_start < fast_window() => RestorePointTags::FastRestore,
        _ => RestorePointTags::None,
    }
}

/// The slots after `after` (exclusive) up to `now` whose points exist at `now`, oldest first.
/// Slots older than the retention are never produced.
pub fn slots_between(workload: Workload, after: Option<Timestamp>, now: Timestamp) -> Vec<Timestamp> {
    let oldest = slot_floor(now - retention());
    let mut t = match after {
        Some(a) if a >= oldest => slot_floor(a) + slot(),
        _ => oldest,
    };
    let mut out = Vec::new();
    while t <= now {
        if is_kept(workload, t, now) {
            out.push(t);
        }
        // Past the fast window only weekly SharePoint/OneDrive slots are kept: jump to the next one.
        let fast_start = now - fast_window();
        t = if workload != Workload::Exchange && t + slot() < fast_start && !is_weekly(t + slot()) {
            let week = week_micros();
            let next = (t.timestamp_micros() / week + 1) * week;
            DateTime::<Utc>::from_timestamp_micros(next).expect("in range").min(slot_floor(fast_start))
        } else {
            t + slot()
        };
    }
    out
}

/// The newest `k` slots whose points exist at `now`, newest first (what a unit protected for a
/// year shows).
pub fn newest_slots(workload: Workload, now: Timestamp, k: usize) -> Vec<Timestamp> {
    let mut out = Vec::with_capacity(k);
    let mut t = slot_floor(now);
    let oldest = now - retention();
    while out.len() < k && t > oldest {
        if is_kept(workload, t, now) {
            out.push(t);
            t -= slot();
        } else {
            // Only weekly slots are left from here: step to the previous one.
            let week = week_micros();
            let prev = (t.timestamp_micros() - 1).div_euclid(week) * week;
            t = DateTime::<Utc>::from_timestamp_micros(prev).expect("in range");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn points_are_kept_a_year_on_every_workload() {
        for w in Workload::ALL {
            assert_eq!(super::kept_days(w), 365, "{w:?}");
        }
    }

    use super::*;
    use chrono::TimeZone;

    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 37, 12).unwrap()
    }

    #[test]
    fn newest_points_follow_the_cadence() {
        let sp = newest_slots(Workload::SharePoint, now(), 2100);
        assert_eq!(sp[0], Utc.with_ymd_and_hms(2026, 11, 24, 9, 30, 0).unwrap());
        assert_eq!(sp[0] - sp[1], slot());
        assert!(sp.iter().all(|t| is_kept(Workload::SharePoint, *t, now())));
        let old: Vec<_> = sp.iter().filter(|t| now() - **t >= fast_window()).collect();
        assert!(!old.is_empty() && old.iter().all(|t| is_weekly(**t)), "only weekly points past 14 days");
        assert_eq!(*old[0] - *old[1], Duration::days(7));
        let ex = newest_slots(Workload::Exchange, now(), 2100);
        assert_eq!(ex[2098] - ex[2099], slot(), "Exchange keeps every 10-minute point");
        assert_eq!(tags(Workload::SharePoint, sp[0], now()), RestorePointTags::FastRestore);
        assert_eq!(tags(Workload::SharePoint, *old[0], now()), RestorePointTags::None);
        assert_eq!(tags(Workload::Exchange, ex[0], now()), RestorePointTags::None);
    }

    #[test]
    fn slots_between_agrees_with_newest_slots() {
        for w in Workload::ALL {
            let later = now() + Duration::days(20);
            let mut fresh = slots_between(w, None, later);
            fresh.reverse();
            let k = fresh.len();
            assert_eq!(fresh, newest_slots(w, later, k), "{w:?}");
            let since = slots_between(w, Some(now()), later);
            assert!(since.iter().all(|t| *t > now()));
            assert_eq!(since.last(), fresh.first());
        }
        let ex = slots_between(Workload::Exchange, None, now());
        assert_eq!(ex.len() as i64, retention().num_minutes() / 10, "a year of 10-minute points");
    }
}
