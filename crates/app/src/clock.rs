//! Time as a parameter: the server reads a [`Clock`]; tests move a [`ManualClock`].

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

pub trait Clock: Send + Sync {
    /// Now, truncated to microseconds (what both databases keep).
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        vsys_domain::audit::truncate_micros(Utc::now())
    }
}

/// A clock that follows real time from an offset that tests can move forward.
#[derive(Default)]
pub struct ManualClock {
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        if let Ok(mut o) = self.offset.lock() {
            *o += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let off = self.offset.lock().map(|o| *o).unwrap_or_default();
        vsys_domain::audit::truncate_micros(Utc::now() + off)
    }
}

/// The calendar day in Japan (UTC+9, no daylight saving) at `now`: deadlines, reporting days.
pub fn japan_date(now: DateTime<Utc>) -> chrono::NaiveDate {
    (now + Duration::hours(9)).date_naive()
}
