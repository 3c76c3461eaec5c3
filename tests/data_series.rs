//! The forecaster's time-series input: timestamp parsing, sorting, duplicates, gaps, frequency
//! inference, DST and panels of many series.

use tenantml::data::series::{
    format_timestamp, parse_timestamp, parse_timestamps, DuplicatePolicy, Gap, Panel, Series,
    SeriesOptions,
};
use tenantml::Error;

fn parse_err(text: &str) -> String {
    match parse_timestamp(text) {
        Err(Error::Parse(m)) => m,
        other => panic!("'{text}' should be a parse error, got {other:?}"),
    }
}

fn invalid(result: tenantml::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected an invalid-argument error, got {other:?}"),
    }
}

fn opts(duplicates: DuplicatePolicy) -> SeriesOptions {
    SeriesOptions {
        duplicates,
        ..SeriesOptions::default()
    }
}

const H: i64 = 3600;

// ---- parser ---------------------------------------------------------------------------------

#[test]
fn parser_known_answers() {
    assert_eq!(parse_timestamp("1970-01-01T00:00:00Z").unwrap(), 0);
    assert_eq!(
        parse_timestamp("2000-02-29T12:00:00+01:00").unwrap(),
        951_822_000
    );
    assert_eq!(
        parse_timestamp("2022-03-27T03:00:00+02:00").unwrap(),
        parse_timestamp("2022-03-27T01:00:00Z").unwrap()
    );
    assert_eq!(
        parse_timestamp("2024-01-01T00:00:00Z").unwrap(),
        1_704_067_200
    );
    // Date only: midnight UTC.
    assert_eq!(parse_timestamp("2024-01-01").unwrap(), 1_704_067_200);
    // Space instead of T, lowercase, no seconds, compact offset, negative offset.
    assert_eq!(
        parse_timestamp("2024-01-01 00:00:00Z").unwrap(),
        1_704_067_200
    );
    assert_eq!(parse_timestamp("2024-01-01t00:00z").unwrap(), 1_704_067_200);
    assert_eq!(
        parse_timestamp("2024-01-01T01:30:00+0130").unwrap(),
        1_704_067_200
    );
    assert_eq!(
        parse_timestamp("2023-12-31T19:00:00-05:00").unwrap(),
        1_704_067_200
    );
    // PostgreSQL's timestamptz text: an hours-only offset.
    assert_eq!(
        parse_timestamp("2024-01-01 01:00:00+01").unwrap(),
        1_704_067_200
    );
    assert_eq!(
        parse_timestamp("2024-01-01 01:00:00.25+01").unwrap(),
        1_704_067_200
    );
    // Unix seconds as text, with surrounding spaces.
    assert_eq!(parse_timestamp(" 1704067200 ").unwrap(), 1_704_067_200);
    assert_eq!(parse_timestamp("-86400").unwrap(), -86_400);
    assert_eq!(parse_timestamp("1969-12-31T00:00:00Z").unwrap(), -86_400);
    // Years at the edges, and the century rules for leap years.
    assert_eq!(
        parse_timestamp("0000-01-01T00:00:00Z").unwrap(),
        -62_167_219_200
    );
    assert_eq!(
        parse_timestamp("9999-12-31T23:59:59Z").unwrap(),
        253_402_300_799
    );
    assert_eq!(parse_timestamp("2100-03-01").unwrap(), 4_107_542_400);
    assert!(parse_timestamp("2100-02-29").is_err());
    assert!(parse_timestamp("2000-02-29").is_ok());
    // Offset bounds.
    assert_eq!(parse_timestamp("1970-01-01T18:00:00+18:00").unwrap(), 0);
    assert_eq!(parse_timestamp("1969-12-31T06:00:00-18:00").unwrap(), 0);
}

#[test]
fn parser_fractional_seconds_are_dropped() {
    let whole = parse_timestamp("2024-01-01T00:00:00Z").unwrap();
    assert_eq!(parse_timestamp("2024-01-01T00:00:00.999Z").unwrap(), whole);
    assert_eq!(
        parse_timestamp("2024-01-01T00:00:00.5+00:00").unwrap(),
        whole
    );
    assert_eq!(
        parse_timestamp("2024-01-01 01:00:00.123456789+01:00").unwrap(),
        whole
    );
    assert!(parse_timestamp("2024-01-01T00:00:00.Z").is_err());
}

#[test]
fn parser_round_trips_through_format() {
    for t in [
        0,
        951_822_000,
        -1,
        -62_167_219_200,
        253_402_300_799,
        1_711_501_200,
    ] {
        let text = format_timestamp(t);
        assert_eq!(parse_timestamp(&text).unwrap(), t, "{text}");
    }
    assert_eq!(format_timestamp(951_822_000), "2000-02-29T11:00:00Z");
    // Every day of four centuries round-trips (leap years included).
    let mut t = parse_timestamp("1900-01-01").unwrap();
    let end = parse_timestamp("2300-01-01").unwrap();
    while t < end {
        let text = format_timestamp(t);
        assert_eq!(parse_timestamp(&text[..10]).unwrap(), t, "{text}");
        t += 86_400;
    }
}

#[test]
fn parser_errors_name_the_problem() {
    let m = parse_err("2024-02-30T00:00:00Z");
    assert!(m.contains("day 30") && m.contains("29 days"), "{m}");
    let m = parse_err("2023-02-29");
    assert!(m.contains("day 29") && m.contains("28 days"), "{m}");
    let m = parse_err("2024-04-31T00:00:00Z");
    assert!(m.contains("day 31"), "{m}");
    let m = parse_err("2024-13-01T00:00:00Z");
    assert!(m.contains("month 13"), "{m}");
    let m = parse_err("2024-00-01T00:00:00Z");
    assert!(m.contains("month 0"), "{m}");
    let m = parse_err("2024-01-01T24:00:00Z");
    assert!(m.contains("hour 24"), "{m}");
    let m = parse_err("2024-01-01T23:60:00Z");
    assert!(m.contains("minute 60"), "{m}");
    let m = parse_err("2024-01-01T23:59:60Z");
    assert!(m.contains("second 60"), "{m}");
    let m = parse_err("2024-01-01T00:00:00+18:30");
    assert!(m.contains("offset +18:30"), "{m}");
    let m = parse_err("2024-01-01T00:00:00+19:00");
    assert!(m.contains("offset"), "{m}");
    let m = parse_err("2024-01-01T00:00:00");
    assert!(m.contains("no UTC offset") && m.contains("daylight"), "{m}");
    let m = parse_err("2024-01-01 00:00");
    assert!(m.contains("no UTC offset"), "{m}");
    for garbage in [
        "",
        "yesterday",
        "2024-1-01",
        "2024/01/01",
        "2024-01-01T",
        "2024-01-01T00:00:00ZZ",
        "2024-01-01T00:00:00+1",
        "2024-01-01T00:00:00 Z",
        "1.5e9",
        "99999999999999999999",
        "--1",
    ] {
        let m = parse_err(garbage);
        assert!(m.contains(&format!("'{garbage}'")), "{m}");
    }
    // Unix seconds outside the years 0000-9999 (milliseconds, most likely).
    let m = parse_err("1704067200000");
    assert!(m.contains("milliseconds"), "{m}");
}

#[test]
fn parse_errors_name_the_position() {
    let texts = [
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00Z",
        "2024-13-01T00:00:00Z",
    ];
    match parse_timestamps(&texts) {
        Err(Error::Parse(m)) => {
            assert_eq!(m, "timestamp 2: '2024-13-01T00:00:00Z' has month 13");
        }
        other => panic!("{other:?}"),
    }
    match Series::from_strings(
        &["2024-01-01T00:00:00Z", "2024-01-01T01:00:00"],
        &[1.0, 2.0],
        &SeriesOptions::default(),
    ) {
        Err(Error::Parse(m)) => assert!(m.starts_with("timestamp 1: "), "{m}"),
        other => panic!("{other:?}"),
    }
}

// ---- the real file --------------------------------------------------------------------------

/// The fixture is a copy of ../shared/data/waterflow_hourly.csv: hourly, local time with an
/// offset that changes from +01:00 to +02:00 on 2022-03-27, with gaps.
fn waterflow() -> (Vec<String>, Vec<f64>) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/waterflow_hourly.csv"
    );
    let text = std::fs::read_to_string(path).expect("tests/fixtures/waterflow_hourly.csv");
    let mut timestamps = Vec::new();
    let mut values = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (t, v) = line.split_once(',').expect("two columns");
        timestamps.push(t.to_string());
        values.push(v.trim().parse().expect("a number"));
    }
    (timestamps, values)
}

/// The fixture is the shared file, byte for byte, where the shared directory exists: next to
/// the repository (`../shared`), or next to the worktrees' directory (`../../shared`). A plain
/// clone has neither; then the test only says so, unless `TENANTML_DATA` is set.
#[test]
fn waterflow_fixture_matches_the_shared_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    let fixture =
        std::fs::read(format!("{root}/tests/fixtures/waterflow_hourly.csv")).expect("fixture");
    let candidates = [
        format!("{root}/../shared/data/waterflow_hourly.csv"),
        format!("{root}/../../shared/data/waterflow_hourly.csv"),
    ];
    match candidates
        .iter()
        .find_map(|p| std::fs::read(p).ok().map(|b| (p, b)))
    {
        Some((path, bytes)) => assert!(
            bytes == fixture,
            "tests/fixtures/waterflow_hourly.csv differs from {path}"
        ),
        None if std::env::var_os("TENANTML_DATA").is_some() => {
            panic!("TENANTML_DATA is set but none of {candidates:?} can be read")
        }
        None => eprintln!("note: the shared data directory is absent; using the fixture copy"),
    }
}

#[test]
fn waterflow_hourly_file() {
    let (texts, values) = waterflow();
    let strs: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert!(strs.iter().any(|t| t.ends_with("+01:00")));
    assert!(strs.iter().any(|t| t.ends_with("+02:00")));
    let series = Series::from_strings(&strs, &values, &SeriesOptions::default()).unwrap();
    let report = series.report();
    assert_eq!(series.frequency(), H);
    assert!(report.inferred_frequency);
    assert!(!report.sorted);
    assert_eq!(report.duplicates_merged, 0);

    // The gaps, computed independently from the parsed timestamps.
    let ts = parse_timestamps(&strs).unwrap();
    let mut expected = Vec::new();
    for w in ts.windows(2) {
        assert!(w[1] > w[0], "the file is sorted and has no duplicate hour");
        if w[1] - w[0] > H {
            expected.push(Gap {
                start: w[0] + H,
                periods: ((w[1] - w[0]) / H - 1) as usize,
            });
        }
    }
    assert_eq!(expected.len(), 10, "the file has 10 gaps");
    assert_eq!(report.gaps, expected);
    let missing: usize = expected.iter().map(|g| g.periods).sum();
    assert_eq!(report.missing_periods, missing);
    assert_eq!(series.len(), ts.len() + missing);
    assert_eq!(series.start(), ts[0]);
    assert_eq!(series.end(), *ts.last().unwrap());

    // Every observation sits at its own hour, with its own value; the rest is NaN.
    assert_eq!(
        series.values().iter().filter(|v| v.is_nan()).count(),
        missing
    );
    let points = series.to_points();
    assert_eq!(points.len(), ts.len());
    for ((t, v), (&t0, &v0)) in points.iter().zip(ts.iter().zip(&values)) {
        assert_eq!((*t, *v), (t0, v0));
    }

    // Across the DST change: no duplicated hour, and the UTC hour-of-day runs on.
    let grid: Vec<i64> = series.timestamps().collect();
    for w in grid.windows(2) {
        assert_eq!(w[1] - w[0], H);
        assert_eq!((w[1] / H) % 24, ((w[0] / H) % 24 + 1) % 24);
    }
    let before = parse_timestamp("2022-03-27T01:00:00+01:00").unwrap();
    let after = parse_timestamp("2022-03-27T03:00:00+02:00").unwrap();
    assert_eq!(after - before, H, "02:00 local does not exist on that day");
    let i = grid.iter().position(|&t| t == before).unwrap();
    assert_eq!(grid[i + 1], after);
}

// ---- sorting, duplicates, gaps ---------------------------------------------------------------

#[test]
fn unsorted_input_is_sorted() {
    let s = Series::new(
        &[3 * H, 0, 2 * H, H],
        &[4.0, 1.0, 3.0, 2.0],
        &SeriesOptions::default(),
    )
    .unwrap();
    assert_eq!(s.values(), &[1.0, 2.0, 3.0, 4.0]);
    assert!(s.report().sorted);
    assert_eq!(s.start(), 0);
    let sorted = Series::new(&[0, H], &[1.0, 2.0], &SeriesOptions::default()).unwrap();
    assert!(!sorted.report().sorted);
}

#[test]
fn increasing_input_equals_the_same_points_shuffled() {
    // Strictly increasing input takes a shortcut past the sort-and-merge loop; under every
    // policy it must give what the loop gives for the same points in another order (missing
    // values, -0, gaps of several periods).
    let ts = [0, H, 2 * H, 5 * H, 6 * H, 9 * H];
    let vs = [1.5, f64::NAN, -0.0, 7.0, 0.0, 2.25];
    let order = [4, 0, 5, 2, 1, 3];
    let shuffled_ts: Vec<i64> = order.iter().map(|&i| ts[i]).collect();
    let shuffled_vs: Vec<f64> = order.iter().map(|&i| vs[i]).collect();
    for policy in [
        DuplicatePolicy::Sum,
        DuplicatePolicy::Mean,
        DuplicatePolicy::Last,
        DuplicatePolicy::Reject,
    ] {
        let direct = Series::new(&ts, &vs, &opts(policy)).unwrap();
        let shuffled = Series::new(&shuffled_ts, &shuffled_vs, &opts(policy)).unwrap();
        assert!(!direct.report().sorted && shuffled.report().sorted);
        let bits = |s: &Series| s.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&direct), bits(&shuffled), "{policy:?}");
        assert_eq!(direct.start(), shuffled.start());
        assert_eq!(direct.report().gaps, shuffled.report().gaps);
    }
}

#[test]
fn duplicates_under_each_policy() {
    // 1h reported three times (out of order), one of them missing.
    let ts = [0, H, 2 * H, H, H];
    let vs = [1.0, 2.0, 9.0, 4.0, f64::NAN];
    let sum = Series::new(&ts, &vs, &opts(DuplicatePolicy::Sum)).unwrap();
    assert_eq!(sum.values(), &[1.0, 6.0, 9.0]);
    assert_eq!(sum.report().duplicates_merged, 2);
    assert!(sum.report().sorted);
    assert!(sum.report().gaps.is_empty());
    let mean = Series::new(&ts, &vs, &opts(DuplicatePolicy::Mean)).unwrap();
    assert_eq!(mean.values(), &[1.0, 3.0, 9.0]);
    let last = Series::new(&ts, &vs, &opts(DuplicatePolicy::Last)).unwrap();
    assert_eq!(last.values(), &[1.0, 4.0, 9.0], "the last observed one");
    let m = invalid(Series::new(&ts, &vs, &opts(DuplicatePolicy::Reject)));
    assert!(
        m.contains("1970-01-01T01:00:00Z") && m.contains("positions 1 and 3"),
        "{m}"
    );
    // Reject accepts input without duplicates.
    assert!(Series::new(&[0, H], &[1.0, 2.0], &opts(DuplicatePolicy::Reject)).is_ok());
    // All duplicates missing: the period stays missing under every policy.
    for policy in [
        DuplicatePolicy::Sum,
        DuplicatePolicy::Mean,
        DuplicatePolicy::Last,
    ] {
        let s = Series::new(
            &[0, H, H, 2 * H],
            &[1.0, f64::NAN, f64::NAN, 3.0],
            &opts(policy),
        )
        .unwrap();
        assert!(s.values()[1].is_nan(), "{policy:?}");
        assert_eq!(
            s.report().gaps,
            vec![Gap {
                start: H,
                periods: 1
            }]
        );
    }
}

#[test]
fn gaps_stay_missing_and_are_reported() {
    let ts = [0, H, 4 * H, 5 * H, 7 * H];
    let s = Series::new(
        &ts,
        &[1.0, 2.0, 3.0, f64::NAN, 5.0],
        &SeriesOptions::default(),
    )
    .unwrap();
    assert_eq!(s.len(), 8);
    let v = s.values();
    assert_eq!((v[0], v[1], v[4], v[7]), (1.0, 2.0, 3.0, 5.0));
    for i in [2, 3, 5, 6] {
        assert!(v[i].is_nan(), "period {i} must be NaN, never zero-filled");
    }
    assert_eq!(
        s.report().gaps,
        vec![
            Gap {
                start: 2 * H,
                periods: 2
            },
            Gap {
                start: 5 * H,
                periods: 2
            }, // a NaN observation joins the gap after it
        ]
    );
    assert_eq!(s.report().missing_periods, 4);
    assert_eq!(
        s.to_points(),
        vec![(0, 1.0), (H, 2.0), (4 * H, 3.0), (7 * H, 5.0)]
    );
    assert_eq!(s.timestamp(2), 2 * H);
    assert_eq!(
        s.timestamp(s.len()),
        8 * H,
        "future periods continue the grid"
    );
    assert_eq!(s.timestamps().len(), 8);

    // max_gap_periods: a longer gap is an error naming its start and length.
    let bounded = SeriesOptions {
        max_gap_periods: Some(1),
        ..SeriesOptions::default()
    };
    let m = invalid(Series::new(&ts, &[1.0; 5], &bounded));
    assert!(
        m.contains("2 missing periods") && m.contains("1970-01-01T02:00:00Z"),
        "{m}"
    );
    let loose = SeriesOptions {
        max_gap_periods: Some(2),
        ..SeriesOptions::default()
    };
    assert!(Series::new(&ts, &[1.0; 5], &loose).is_ok());
}

// ---- frequency -------------------------------------------------------------------------------

/// A regular grid of `n` periods from `start` with the periods in `skip` left out.
fn grid_without(start: i64, period: i64, n: i64, skip: &[i64]) -> Vec<i64> {
    (0..n)
        .filter(|k| !skip.contains(k))
        .map(|k| start + k * period)
        .collect()
}

#[test]
fn frequency_is_inferred_despite_gaps() {
    for (period, skip) in [
        (900, vec![1, 2, 5, 6, 7, 20]),         // 15-minute
        (1800, vec![3, 4, 10, 11, 12, 13, 14]), // half-hourly
        (H, vec![2, 5, 9]),                     // hourly
        (86_400, vec![1, 2, 3, 8, 9, 15, 16]),  // daily
    ] {
        let ts = grid_without(1_704_067_200, period, 40, &skip);
        let s = Series::new(&ts, &vec![1.0; ts.len()], &SeriesOptions::default()).unwrap();
        assert_eq!(s.frequency(), period);
        assert_eq!(s.report().frequency, period);
        assert!(s.report().inferred_frequency);
        assert_eq!(s.len(), 40);
        assert_eq!(s.report().missing_periods, skip.len());
    }
    // Daily data as dates.
    let s = Series::from_strings(
        &["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-02"],
        &[1.0, 2.0, 3.0, 4.0],
        &SeriesOptions::default(),
    )
    .unwrap();
    assert_eq!(s.frequency(), 86_400);
    assert_eq!(
        s.report().gaps,
        vec![Gap {
            start: parse_timestamp("2024-03-01").unwrap(),
            periods: 1
        }]
    );
}

#[test]
fn off_grid_timestamp_is_an_error() {
    let mut ts = grid_without(0, H, 10, &[]);
    ts[6] += 900;
    let m = invalid(Series::new(&ts, &[1.0; 10], &SeriesOptions::default()));
    assert!(
        m.contains("timestamp 6") && m.contains("1970-01-01T06:15:00Z") && m.contains("3600"),
        "{m}"
    );
    // Also with the frequency given.
    let given = SeriesOptions {
        frequency: Some(1800),
        ..SeriesOptions::default()
    };
    let m = invalid(Series::new(&ts, &[1.0; 10], &given));
    assert!(m.contains("timestamp 6") && m.contains("given"), "{m}");
}

#[test]
fn given_frequency_overrides_inference() {
    // Hourly points read as a half-hourly series: every other period missing.
    let ts = grid_without(0, H, 4, &[]);
    let half = SeriesOptions {
        frequency: Some(1800),
        ..SeriesOptions::default()
    };
    let s = Series::new(&ts, &[1.0; 4], &half).unwrap();
    assert_eq!(s.frequency(), 1800);
    assert!(!s.report().inferred_frequency);
    assert_eq!(s.len(), 7);
    assert_eq!(s.report().missing_periods, 3);
    // One point is a series when the frequency is given, and an error otherwise.
    let one = Series::new(&[1_704_067_200], &[5.0], &half).unwrap();
    assert_eq!(
        (one.len(), one.start(), one.values()),
        (1, 1_704_067_200, &[5.0][..])
    );
    let m = invalid(Series::new(
        &[1_704_067_200],
        &[5.0],
        &SeriesOptions::default(),
    ));
    assert!(m.contains("single timestamp"), "{m}");
    for f in [0, -3600] {
        let bad = SeriesOptions {
            frequency: Some(f),
            ..SeriesOptions::default()
        };
        let m = invalid(Series::new(&ts, &[1.0; 4], &bad));
        assert!(m.contains("positive"), "{m}");
    }
}

// ---- bad input -------------------------------------------------------------------------------

#[test]
fn bad_input_is_refused() {
    let d = SeriesOptions::default();
    let m = invalid(Series::new(&[0, H], &[1.0], &d));
    assert!(m.contains("2 timestamps but 1 values"), "{m}");
    let m = invalid(Series::new(&[], &[], &d));
    assert!(m.contains("empty"), "{m}");
    let m = invalid(Series::from_strings(&[], &[], &d));
    assert!(m.contains("empty"), "{m}");
    for inf in [f64::INFINITY, f64::NEG_INFINITY] {
        let m = invalid(Series::new(&[0, H, 2 * H], &[1.0, inf, 2.0], &d));
        assert!(m.contains("value 1") && m.contains("finite"), "{m}");
    }
    // Milliseconds instead of seconds.
    let m = invalid(Series::new(
        &[1_704_067_200_000, 1_704_070_800_000],
        &[1.0, 2.0],
        &d,
    ));
    assert!(
        m.contains("timestamp 0") && m.contains("milliseconds"),
        "{m}"
    );
    // A grid too long to build.
    let m = invalid(Series::new(&[0, 1, 200_000_000], &[1.0; 3], &d));
    assert!(m.contains("limit"), "{m}");
    // All NaN is a (fully missing) series, not an error.
    let s = Series::new(&[0, H], &[f64::NAN, f64::NAN], &d).unwrap();
    assert_eq!(s.report().missing_periods, 2);
    assert!(s.to_points().is_empty());
}

#[test]
fn options_from_json() {
    let o: SeriesOptions = serde_json::from_str(
        r#"{"frequency": 3600, "duplicates": "reject", "max_gap_periods": 48}"#,
    )
    .unwrap();
    assert_eq!(o.frequency, Some(3600));
    assert_eq!(o.duplicates, DuplicatePolicy::Reject);
    assert_eq!(o.max_gap_periods, Some(48));
    let d: SeriesOptions = serde_json::from_str("{}").unwrap();
    assert_eq!(d, SeriesOptions::default());
    assert_eq!(d.duplicates, DuplicatePolicy::Sum);
    assert!(serde_json::from_str::<SeriesOptions>(r#"{"freq": 60}"#).is_err());
    assert!(serde_json::from_str::<SeriesOptions>(r#"{"duplicates": "max"}"#).is_err());
}

// ---- panels ----------------------------------------------------------------------------------

#[test]
fn panel_groups_rows_by_id() {
    let ids = ["b", "a", "b", "a", "c", "b", "a"];
    let ts = [H, 0, 0, 2 * H, 5 * H, 3 * H, 0];
    let vs = [2.0, 10.0, 1.0, 30.0, 7.0, 4.0, 5.0];
    let panel = Panel::new(&ids, &ts, &vs, &SeriesOptions::default()).unwrap();
    assert_eq!(panel.ids(), &["b", "a", "c"], "first-seen order");
    assert_eq!(panel.len(), 3);
    assert_eq!(panel.frequency(), H);
    let b = panel.series(&"b").unwrap();
    assert_eq!(b.values()[..2], [1.0, 2.0]);
    assert!(b.values()[2].is_nan());
    assert!(b.report().sorted);
    let a = panel.series(&"a").unwrap();
    assert!(a.values()[1].is_nan());
    assert_eq!(
        (a.values()[0], a.values()[2]),
        (15.0, 30.0),
        "duplicates summed per series"
    );
    assert_eq!(a.report().duplicates_merged, 1);
    let c = panel.series(&"c").unwrap();
    assert_eq!((c.len(), c.start(), c.frequency()), (1, 5 * H, H));
    assert!(c.report().inferred_frequency);
    assert!(panel.series(&"z").is_none());
    let order: Vec<&str> = panel.iter().map(|(id, _)| *id).collect();
    assert_eq!(order, ["b", "a", "c"]);

    // String and integer ids, and parsed timestamps.
    let ids: Vec<String> = ["t1", "t2", "t1"].iter().map(|s| s.to_string()).collect();
    let p = Panel::from_strings(
        &ids,
        &["2024-01-01", "2024-01-05", "2024-01-02"],
        &[1.0, 2.0, 3.0],
        &SeriesOptions::default(),
    )
    .unwrap();
    assert_eq!(p.frequency(), 86_400);
    assert_eq!(p.series(&"t1".to_string()).unwrap().values(), &[1.0, 3.0]);
}

#[test]
fn panel_errors_name_the_series() {
    let d = SeriesOptions::default();
    // Hourly and daily series in one panel.
    let mixed_ids = [1u64, 1, 1, 2, 2, 2];
    let mixed_ts = [0, H, 2 * H, 0, 86_400, 2 * 86_400];
    let m = invalid(Panel::new(&mixed_ids, &mixed_ts, &[1.0; 6], &d));
    assert!(
        m.contains("series '2'") && m.contains("86400 s") && m.contains("series '1'"),
        "{m}"
    );
    // A daily tenant with a gap among hourly tenants, listed first: still refused.
    let ids = [9u64, 9, 9, 1, 1, 1, 1, 3, 3, 3];
    let ts = [0, 86_400, 3 * 86_400, 0, H, 2 * H, 3 * H, 0, H, 3 * H];
    let m = invalid(Panel::new(&ids, &ts, &[1.0; 10], &d));
    assert!(
        m.contains("series '1'") && m.contains("series '9' with 86400 s"),
        "{m}"
    );
    // A sparse tenant with irregular steps, or only two reports, joins an hourly panel.
    let ids = [1u64, 1, 1, 1, 2, 2, 2, 3, 3];
    let ts = [0, H, 2 * H, 3 * H, 0, 2 * H, 5 * H, H, 6 * H];
    let p = Panel::new(&ids, &ts, &[1.0; 9], &d).unwrap();
    assert_eq!(p.frequency(), H);
    assert_eq!(p.series(&2).unwrap().report().missing_periods, 3);
    assert_eq!(p.series(&3).unwrap().len(), 6);
    // No regular series: the pooled most common step (ties to the smaller).
    let p = Panel::new(&[1u64, 1, 2, 2], &[0, 2 * H, 0, H], &[1.0; 4], &d).unwrap();
    assert_eq!(p.frequency(), H);
    // An hourly series with one point half an hour off: the off-grid timestamp is named.
    let ids = [1u64, 1, 1, 1, 2, 2, 2, 2];
    let ts = [0, H, 2 * H, 3 * H, 0, H, 2 * H + 1800, 3 * H];
    let m = invalid(Panel::new(&ids, &ts, &[1.0; 8], &d));
    assert!(m.starts_with("series '2': timestamp 6 "), "{m}");
    // A given frequency that fits both makes one panel (the daily series has hourly gaps).
    let hourly = SeriesOptions {
        frequency: Some(H),
        ..SeriesOptions::default()
    };
    let p = Panel::new(&mixed_ids, &mixed_ts, &[1.0; 6], &hourly).unwrap();
    assert_eq!(p.series(&2).unwrap().len(), 49);
    // Errors inside one series say which.
    let reject = opts(DuplicatePolicy::Reject);
    let m = invalid(Panel::new(
        &[1u64, 2, 2, 2],
        &[0, 0, H, H],
        &[1.0; 4],
        &reject,
    ));
    assert!(
        m.starts_with("series '2': ") && m.contains("positions 2 and 3"),
        "{m}"
    );
    let m = invalid(Panel::new(
        &[1u64, 1, 2, 2],
        &[0, H, 0, 1000],
        &[1.0; 4],
        &hourly,
    ));
    assert!(
        m.starts_with("series '2': ") && m.contains("timestamp 3"),
        "{m}"
    );
    // Only single-point series and no frequency.
    let m = invalid(Panel::new(&[1u64, 2], &[0, H], &[1.0; 2], &d));
    assert!(m.contains("single timestamp"), "{m}");
    // Lengths.
    let m = invalid(Panel::new(&[1u64], &[0, H], &[1.0; 2], &d));
    assert!(m.contains("1 series ids but 2 timestamps"), "{m}");
    let m = invalid(Panel::<u64>::new(&[], &[], &[], &d));
    assert!(m.contains("empty"), "{m}");
}
