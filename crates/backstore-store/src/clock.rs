//! The server's clock: the system time plus an offset that can only move forward, so that tests
//! (and, later, operators) can let time pass without waiting for it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use backstore_domain::Timestamp;

/// Cheap to clone; clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The current time, to the microsecond (the resolution of the store and the wire).
    pub fn now(&self) -> Timestamp {
        let t = chrono::Utc::now().timestamp_micros() + self.offset_micros.load(Ordering::Relaxed);
        chrono::DateTime::from_timestamp_micros(t).expect("the clock stays within chrono's range")
    }

    /// How far ahead of the system clock this clock runs, in microseconds.
    pub fn offset_micros(&self) -> i64 {
        self.offset_micros.load(Ordering::Relaxed)
    }

    /// Takes on an offset read from the database, if it is further ahead (the clock never goes back).
    pub fn catch_up(&self, offset_micros: i64) {
        self.offset_micros.fetch_max(offset_micros, Ordering::Relaxed);
    }

    /// Takes on the offset of a database that replaced the one this clock followed (a saved state
    /// loaded, a reset): the one way the clock goes back.
    pub fn set_offset(&self, offset_micros: i64) {
        self.offset_micros.store(offset_micros, Ordering::Relaxed);
    }

    /// Moves the clock forward by `by` (negative values are ignored).
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX).max(0);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_forward_only() {
        let c = Clock::system();
        let shared = c.clone();
        let before = c.now();
        shared.advance(chrono::Duration::hours(2));
        shared.advance(chrono::Duration::hours(-5));
        assert!(c.now() - before >= chrono::Duration::hours(2));
        assert!(c.now() - before < chrono::Duration::hours(3));
    }
}
