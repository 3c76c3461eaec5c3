//! LocalClock against jiff's own conversion, DST days, ISO weeks.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use rand::{rngs::StdRng, Rng, SeedableRng};
use tenantml::features::calendar::{parse_date, LocalClock};

const ZONES: [&str; 6] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "UTC",
    "America/Sao_Paulo",
];

fn check_against_jiff(clock: &LocalClock, tz: &TimeZone, t: i64) {
    let zdt = Timestamp::from_second(t)
        .unwrap()
        .to_zoned_datetime(tz.clone());
    let lt = clock.local(t);
    let what = format!("{} at {t} ({zdt})", clock.name());
    assert_eq!(clock.offset_seconds(t), zdt.offset().seconds(), "{what}");
    assert_eq!(lt.year, i32::from(zdt.year()), "{what}");
    assert_eq!(lt.month as i8, zdt.month(), "{what}");
    assert_eq!(lt.day as i8, zdt.day(), "{what}");
    assert_eq!(lt.hour as i8, zdt.hour(), "{what}");
    assert_eq!(lt.minute as i8, zdt.minute(), "{what}");
    assert_eq!(
        lt.weekday as i8,
        zdt.weekday().to_monday_zero_offset(),
        "{what}"
    );
    assert_eq!(lt.day_of_year as i16, zdt.day_of_year(), "{what}");
    assert_eq!(
        lt.iso_week as i8,
        zdt.date().iso_week_date().week(),
        "{what}"
    );
    let epoch = jiff::civil::date(1970, 1, 1);
    let days = (zdt.date() - epoch).get_days();
    assert_eq!(lt.days_since_epoch, i64::from(days), "{what}");
}

#[test]
fn local_clock_matches_jiff_random_instants_and_transitions() {
    let mut rng = StdRng::seed_from_u64(7);
    for name in ZONES {
        let clock = LocalClock::new(Some(name)).unwrap();
        assert_eq!(clock.name(), name);
        let tz = TimeZone::get(name).unwrap();
        for _ in 0..20_000 {
            // 1900 .. 2150, plus a few far outside the precomputed range.
            let t = rng.gen_range(-2_208_988_800i64..5_680_000_000);
            check_against_jiff(&clock, &tz, t);
        }
        for t in [-5_000_000_000i64, 8_000_000_000, 100_000_000_000] {
            check_against_jiff(&clock, &tz, t);
        }
        // Every transition 1990..2040, and the seconds and quarter hours around it.
        let from = Timestamp::from_second(631_152_000).unwrap();
        for tr in tz
            .following(from)
            .take_while(|tr| tr.timestamp().as_second() < 2_208_988_800)
        {
            let at = tr.timestamp().as_second();
            for d in [-3601, -3600, -1800, -900, -1, 0, 1, 900, 1800, 3599, 3600] {
                check_against_jiff(&clock, &tz, at + d);
            }
        }
    }
}

#[test]
fn utc_clock_and_none() {
    let a = LocalClock::utc();
    let b = LocalClock::new(None).unwrap();
    assert_eq!(a.name(), "UTC");
    assert_eq!(b.name(), "UTC");
    let lt = a.local(0);
    assert_eq!(
        (lt.year, lt.month, lt.day, lt.hour, lt.weekday),
        (1970, 1, 1, 0, 3)
    );
    assert_eq!(a.offset_seconds(1_700_000_000), 0);
}

#[test]
fn unknown_or_empty_zone_is_invalid_argument() {
    for bad in ["Mars/Olympus", "", "Europe/Berlinn"] {
        let err = LocalClock::new(Some(bad)).unwrap_err();
        assert!(
            matches!(err, tenantml::Error::InvalidArgument(_)),
            "{bad}: {err}"
        );
    }
}

fn hours_over(clock: &LocalClock, start: i64, n: i64) -> Vec<u8> {
    (0..n).map(|i| clock.local(start + i * 3600).hour).collect()
}

#[test]
fn berlin_spring_forward_skips_hour_2_and_fall_back_repeats_it() {
    let berlin = LocalClock::new(Some("Europe/Berlin")).unwrap();
    // 2022-03-26T23:00:00Z = 2022-03-27 00:00 CET.
    let spring = 1_648_335_600;
    assert_eq!(hours_over(&berlin, spring, 6), vec![0, 1, 3, 4, 5, 6]);
    // 2022-10-29T22:00:00Z = 2022-10-30 00:00 CEST.
    let fall = 1_667_080_800;
    assert_eq!(hours_over(&berlin, fall, 6), vec![0, 1, 2, 2, 3, 4]);
    assert_eq!(berlin.offset_seconds(fall + 3600), 7200);
    assert_eq!(berlin.offset_seconds(fall + 3 * 3600), 3600);
}

#[test]
fn iso_weeks() {
    let utc = LocalClock::utc();
    let at = |date: &str| utc.local(parse_date(date).unwrap() * 86_400);
    let lt = at("2021-01-03");
    assert_eq!((lt.iso_week, lt.weekday, lt.year), (53, 6, 2021));
    assert_eq!(at("2024-12-30").iso_week, 1);
    assert_eq!(at("2021-01-04").iso_week, 1);
    assert_eq!(at("2020-12-31").iso_week, 53);
    assert_eq!(at("2024-02-29").day_of_year, 60);
    assert_eq!(at("2023-12-31").day_of_year, 365);
}

#[test]
fn half_hour_zones() {
    let kolkata = LocalClock::new(Some("Asia/Kolkata")).unwrap();
    let lt = kolkata.local(0);
    assert_eq!((lt.hour, lt.minute), (5, 30));
    // Lord Howe: +10:30 standard, +11:00 summer (30-minute DST).
    let lh = LocalClock::new(Some("Australia/Lord_Howe")).unwrap();
    assert_eq!(lh.offset_seconds(1_656_676_800), 37_800); // July 2022
    assert_eq!(lh.offset_seconds(1_673_000_000), 39_600); // January 2023
}
