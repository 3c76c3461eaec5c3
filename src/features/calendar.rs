//! The tenant's local clock: UTC instants to local civil time, fast enough to call per row.
//!
//! Usage follows the tenant's wall clock (office hours start at 09:00 local time, also after a
//! DST change), so calendar features are computed in the tenant's IANA time zone. The zone's
//! offset transitions between 1900 and 2200 are read from `jiff`'s bundled tz database once,
//! when the clock is built; converting an instant is then a binary search (or a cursor step,
//! for ascending instants) plus integer civil-date arithmetic, with no allocation and no call
//! into `jiff`. Instants outside the precomputed range fall back to `jiff`.

use crate::error::{Error, Result};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// First instant with a precomputed offset: 1900-01-01T00:00:00Z.
const RANGE_START: i64 = -2_208_988_800;
/// First instant past the precomputed range: 2200-01-01T00:00:00Z.
const RANGE_END: i64 = 7_258_118_400;

/// A time zone with its UTC offsets precomputed, so per-row conversion is cheap.
#[derive(Clone, Debug)]
pub struct LocalClock {
    name: String,
    tz: TimeZone,
    /// Instants (UTC seconds) at which the offset changes, ascending.
    transitions: Vec<i64>,
    /// `offsets[i]` is in effect before `transitions[i]` (and after `transitions[i - 1]`).
    offsets: Vec<i32>,
}

/// Local civil time of an instant, as the calendar features need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// Calendar year (proleptic Gregorian).
    pub year: i32,
    /// Month, 1-12.
    pub month: u8,
    /// Day of the month, 1-31.
    pub day: u8,
    /// Hour of the local day, 0-23.
    pub hour: u8,
    /// Minute of the hour, 0-59.
    pub minute: u8,
    /// Day of the week, 0 = Monday .. 6 = Sunday.
    pub weekday: u8,
    /// Day of the year, 1-366.
    pub day_of_year: u16,
    /// ISO 8601 week number, 1-53 (the week containing the year's first Thursday is week 1).
    pub iso_week: u8,
    /// The local civil date as days since 1970-01-01 (for holiday look-ups and day changes).
    pub days_since_epoch: i64,
}

impl LocalClock {
    /// The UTC clock: offset 0 everywhere, the default when a tenant has no time zone.
    pub fn utc() -> LocalClock {
        LocalClock {
            name: "UTC".to_string(),
            tz: TimeZone::UTC,
            transitions: Vec::new(),
            offsets: vec![0],
        }
    }

    /// Loads an IANA time zone (`None` = UTC); an unknown name is `InvalidArgument`.
    ///
    /// ```
    /// use tenantml::features::calendar::LocalClock;
    /// let berlin = LocalClock::new(Some("Europe/Berlin")).unwrap();
    /// // 2022-07-01T12:00:00Z is 14:00 in Berlin (CEST, UTC+2).
    /// assert_eq!(berlin.local(1_656_676_800).hour, 14);
    /// assert!(LocalClock::new(Some("Mars/Olympus")).is_err());
    /// ```
    pub fn new(time_zone: Option<&str>) -> Result<LocalClock> {
        let Some(name) = time_zone else {
            return Ok(LocalClock::utc());
        };
        if name.is_empty() {
            return Err(Error::InvalidArgument("time zone name is empty".into()));
        }
        let tz = TimeZone::get(name)
            .map_err(|e| Error::InvalidArgument(format!("unknown time zone '{name}': {e}")))?;
        let start = Timestamp::from_second(RANGE_START).expect("in jiff's range");
        let mut transitions = Vec::new();
        let mut offsets = vec![tz.to_offset(start).seconds()];
        for tr in tz.following(start) {
            let at = tr.timestamp().as_second();
            if at >= RANGE_END {
                break;
            }
            let off = tr.offset().seconds();
            // Transitions that only rename the zone (same offset) do not matter here.
            if off != *offsets.last().expect("non-empty") {
                transitions.push(at);
                offsets.push(off);
            }
        }
        Ok(LocalClock {
            name: name.to_string(),
            tz,
            transitions,
            offsets,
        })
    }

    /// The zone's name, stored with the model so the same clock is rebuilt at prediction.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// UTC offset (seconds, east positive) in effect at instant `t` (UTC unix seconds).
    pub fn offset_seconds(&self, t: i64) -> i32 {
        if !(RANGE_START..RANGE_END).contains(&t) {
            return self.jiff_offset(t);
        }
        let i = self.transitions.partition_point(|&x| x <= t);
        self.offsets[i]
    }

    /// Local civil time at instant `t` (UTC unix seconds).
    pub fn local(&self, t: i64) -> LocalTime {
        local_from_seconds(t + i64::from(self.offset_seconds(t)))
    }

    /// Local seconds (the instant plus its offset) for ascending instants: `hint` is a cursor
    /// into the transitions, kept by the caller between calls (start it at 0).
    #[inline]
    pub(crate) fn local_seconds_hinted(&self, t: i64, hint: &mut usize) -> i64 {
        let off = if !(RANGE_START..RANGE_END).contains(&t) {
            self.jiff_offset(t)
        } else {
            let n = self.transitions.len();
            let mut i = (*hint).min(n);
            if i > 0 && self.transitions[i - 1] > t {
                i = self.transitions.partition_point(|&x| x <= t);
            } else {
                while i < n && self.transitions[i] <= t {
                    i += 1;
                }
            }
            *hint = i;
            self.offsets[i]
        };
        t + i64::from(off)
    }

    fn jiff_offset(&self, t: i64) -> i32 {
        match Timestamp::from_second(t) {
            Ok(ts) => self.tz.to_offset(ts).seconds(),
            // Beyond jiff's range (year +-9999): keep the last known offset.
            Err(_) => {
                if t < 0 {
                    self.offsets[0]
                } else {
                    *self.offsets.last().expect("non-empty")
                }
            }
        }
    }
}

/// Local civil time from local seconds since 1970-01-01T00:00 (the UTC instant plus offset).
pub(crate) fn local_from_seconds(local_seconds: i64) -> LocalTime {
    let days = local_seconds.div_euclid(86_400);
    let sod = local_seconds.rem_euclid(86_400);
    let mut lt = date_from_days(days);
    lt.hour = (sod / 3600) as u8;
    lt.minute = ((sod % 3600) / 60) as u8;
    lt
}

/// The date fields of a local civil day (hour and minute 0).
pub(crate) fn date_from_days(days: i64) -> LocalTime {
    let (year, month, day) = civil_from_days(days);
    let weekday = (days + 3).rem_euclid(7) as u8; // 1970-01-01 was a Thursday
    let day_of_year = (days - days_from_civil(year, 1, 1) + 1) as u16;
    // ISO week: the week belongs to the year of its Thursday.
    let thursday = days - i64::from(weekday) + 3;
    let (iso_year, _, _) = civil_from_days(thursday);
    let iso_week = ((thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1) as u8;
    LocalTime {
        year: year as i32,
        month: month as u8,
        day: day as u8,
        hour: 0,
        minute: 0,
        weekday,
        day_of_year,
        iso_week,
        days_since_epoch: days,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days in `month` of `year`.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses a holiday date "YYYY-MM-DD" into days since 1970-01-01 (strict: real dates only).
pub fn parse_date(text: &str) -> Result<i64> {
    let bad = || Error::InvalidArgument(format!("holiday '{text}' is not a YYYY-MM-DD date"));
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let digits = |r: std::ops::Range<usize>| -> Result<u32> {
        let s = &text[r];
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<u32>().map_err(|_| bad())
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(i64::from(y), m) {
        return Err(bad());
    }
    Ok(days_from_civil(i64::from(y), m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parse_dates() {
        assert_eq!(parse_date("1970-01-02").unwrap(), 1);
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2024-2-29").is_err());
        assert!(parse_date("2024-13-01").is_err());
        assert!(parse_date("+024-01-01").is_err());
    }
}
