//! FeatureSpec/FeatureBuilder: names, validation, no look-ahead, row == matrix, accuracy.

use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use tenantml::features::spec::{FeatureBuilder, FeatureSpec};
use tenantml::Error;

const HOUR: i64 = 3600;
/// 2022-03-20T00:00:00Z, a week before the Berlin spring DST change.
const START: i64 = 1_647_734_400;

/// Daily-and-weekly shaped usage with gaps (NaN) and a level of `level`.
fn series(n: usize, level: f64, gap_rate: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).unwrap();
    (0..n)
        .map(|i| {
            if rng.gen::<f64>() < gap_rate {
                return f64::NAN;
            }
            let day = (i as f64 * std::f64::consts::TAU / 24.0).sin();
            level + 10.0 * day + 3.0 * noise.sample(&mut rng)
        })
        .collect()
}

fn small_spec() -> FeatureSpec {
    FeatureSpec {
        frequency: HOUR,
        lags: vec![1, 2, 3, 5, 12],
        windows: vec![3, 7],
        window_quantile: 0.25,
        ewm_alphas: vec![0.2, 1.0],
        seasonal_periods: vec![4, 6],
        seasonal_lookback: 3,
        time_zone: Some("Europe/Berlin".into()),
        holidays: vec!["2022-03-21".into()],
    }
}

fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

fn is_invalid<T: std::fmt::Debug>(r: tenantml::Result<T>) -> bool {
    matches!(r, Err(Error::InvalidArgument(_)))
}

#[test]
fn default_names_are_stable_unique_and_at_least_30() {
    for (freq, periods) in [
        (HOUR, vec![]),
        (HOUR, vec![24, 168]),
        (86_400, vec![7]),
        (900, vec![]),
    ] {
        let spec = FeatureSpec::for_frequency(freq, &periods).unwrap();
        let names = spec.names();
        assert!(names.len() >= 30, "{freq}: {}", names.len());
        assert_eq!(names.len(), spec.len());
        assert_eq!(spec.compile().unwrap().len(), spec.len());
        let mut u = names.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), names.len(), "duplicate names for {freq}");
    }
    let hourly = FeatureSpec::for_frequency(HOUR, &[]).unwrap();
    assert_eq!(hourly.lags, vec![1, 2, 3, 24, 48, 168]);
    assert_eq!(hourly.lookback(), 672);
    assert_eq!(hourly.len(), 40, "the count documented in the module docs");
    assert_eq!(FeatureSpec::for_frequency(86_400, &[]).unwrap().len(), 33);
    let names = hourly.names();
    for n in [
        "cal_hour_sin",
        "lag_168",
        "roll_std_24",
        "roll_q50_168",
        "ewm_0.05",
        "seas_mean_24x4",
        "diff_1_2",
        "diff_1_168",
        "ratio_1_mean_24",
        "expanding_mean",
    ] {
        assert!(names.iter().any(|x| x == n), "missing {n}");
    }
    assert_eq!(&names[..3], &["cal_hour", "cal_hour_sin", "cal_hour_cos"]);
    let daily = FeatureSpec::for_frequency(86_400, &[]).unwrap();
    assert_eq!(daily.lags, vec![1, 7, 14, 30]);
    assert!(!daily.names().iter().any(|n| n.starts_with("cal_hour")));
    // A detected period becomes a lag and a season.
    let s = FeatureSpec::for_frequency(HOUR, &[12]).unwrap();
    assert!(s.lags.contains(&12));
    assert_eq!(s.seasonal_periods, vec![12]);
}

#[test]
fn spec_serde_round_trip_and_unknown_fields() {
    let spec = small_spec();
    let json = serde_json::to_string(&spec).unwrap();
    let back: FeatureSpec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, spec);
    assert!(serde_json::from_str::<FeatureSpec>(r#"{"frequency":3600,"lagz":[1]}"#).is_err());
    let partial: FeatureSpec = serde_json::from_str(r#"{"lags":[1,24]}"#).unwrap();
    assert_eq!(partial.lags, vec![1, 24]);
    assert_eq!(partial.frequency, 3600);
}

#[test]
fn bad_input_is_invalid_argument() {
    assert!(is_invalid(FeatureSpec::for_frequency(0, &[])));
    assert!(is_invalid(FeatureSpec::for_frequency(-3600, &[])));
    let with = |f: &dyn Fn(&mut FeatureSpec)| {
        let mut s = small_spec();
        f(&mut s);
        s
    };
    let bad = [
        with(&|s| s.time_zone = Some("Nowhere/Atlantis".into())),
        with(&|s| s.frequency = 0),
        with(&|s| s.lags.push(0)),
        with(&|s| s.windows = vec![1]),
        with(&|s| s.ewm_alphas = vec![0.0]),
        with(&|s| s.ewm_alphas = vec![1.5]),
        with(&|s| s.ewm_alphas = vec![f64::NAN]),
        with(&|s| s.window_quantile = 1.01),
        with(&|s| s.window_quantile = f64::NAN),
        with(&|s| s.holidays = vec!["2022-02-30".into()]),
        with(&|s| s.holidays = vec!["22-01-01".into()]),
        with(&|s| s.seasonal_lookback = 0),
        with(&|s| s.seasonal_periods = vec![1]),
        with(&|s| s.lags = vec![1, 1]),
    ];
    for s in bad {
        assert!(is_invalid(s.validate()), "{s:?}");
        assert!(is_invalid(s.compile()), "{s:?}");
    }
    let b = small_spec().compile().unwrap();
    assert!(is_invalid(b.matrix(&[], START)));
    assert!(is_invalid(b.matrix(&[1.0, f64::INFINITY], START)));
    assert!(is_invalid(b.matrix(&[1.0, 2.0], i64::MAX - 10)));
    let mut out = vec![0.0; b.len() - 1];
    assert!(is_invalid(b.row(&[1.0], START, &mut out)));
    let mut out = vec![0.0; b.len()];
    assert!(is_invalid(b.row(
        &[1.0, f64::NEG_INFINITY],
        START,
        &mut out
    )));
}

fn check_no_lookahead(b: &FeatureBuilder, n: usize, seed: u64) {
    let values = series(n, 50.0, 0.15, seed);
    let m = b.len();
    let base = b.matrix(&values, START).unwrap();
    let mut rng = StdRng::seed_from_u64(seed + 1);
    for t in 0..n {
        let mut v = values.clone();
        for x in &mut v[t..] {
            *x = if rng.gen::<f64>() < 0.2 {
                f64::NAN
            } else {
                rng.gen_range(-1e3..1e3)
            };
        }
        let got = b.matrix(&v, START).unwrap();
        assert!(
            same_bits(&got[..(t + 1) * m], &base[..(t + 1) * m]),
            "row <= {t} changed"
        );
    }
}

#[test]
fn no_lookahead_every_t() {
    check_no_lookahead(&small_spec().compile().unwrap(), 150, 1);
    let hourly = FeatureSpec::for_frequency(HOUR, &[])
        .unwrap()
        .compile()
        .unwrap();
    check_no_lookahead(&hourly, 220, 2);
}

fn check_row_equals_matrix(b: &FeatureBuilder, values: &[f64], start: i64) {
    let mat = b.matrix(values, start).unwrap();
    let m = b.len();
    let mut out = vec![0.0; m];
    for t in 0..values.len() {
        b.row(&values[..t], start, &mut out).unwrap();
        assert!(
            same_bits(&out, &mat[t * m..(t + 1) * m]),
            "t={t}\n{out:?}\n{:?}",
            &mat[t * m..(t + 1) * m]
        );
    }
    // The period after the last value, too (what the first forecast step asks for).
    b.row(values, start, &mut out).unwrap();
    let mut longer = values.to_vec();
    longer.push(1.0);
    let mat = b.matrix(&longer, start).unwrap();
    assert!(same_bits(&out, &mat[values.len() * m..]));
}

#[test]
fn row_equals_matrix_bit_for_bit_every_t() {
    let mut spec = FeatureSpec::for_frequency(HOUR, &[]).unwrap();
    spec.time_zone = Some("Europe/Berlin".into());
    spec.holidays = vec!["2022-03-27".into(), "2022-04-15".into()];
    let values = series(1500, 1e4, 0.1, 3);
    check_row_equals_matrix(&spec.compile().unwrap(), &values, START);
    let daily = FeatureSpec::for_frequency(86_400, &[])
        .unwrap()
        .compile()
        .unwrap();
    check_row_equals_matrix(&daily, &series(400, 100.0, 0.2, 4), START);
    check_row_equals_matrix(
        &small_spec().compile().unwrap(),
        &series(300, 5.0, 0.3, 5),
        START,
    );
    // Mostly missing, and with signed zeros.
    let mut sparse = series(200, 0.0, 0.8, 6);
    sparse[10] = -0.0;
    sparse[11] = 0.0;
    check_row_equals_matrix(&small_spec().compile().unwrap(), &sparse, START);
}

#[test]
fn long_matrix_filled_in_blocks_equals_cursor_rows_bit_for_bit() {
    // Long enough to be filled in several parallel blocks; missing values straddle the
    // block edges so every rebuilt state starts from an awkward window.
    let mut spec = FeatureSpec::for_frequency(HOUR, &[24, 168]).unwrap();
    spec.time_zone = Some("America/New_York".into());
    let b = spec.compile().unwrap();
    let mut values = series(7000, 500.0, 0.05, 9);
    for edge in [2333, 4666] {
        for x in &mut values[edge - 30..edge + 5] {
            *x = f64::NAN;
        }
    }
    let mat = b.matrix(&values, START).unwrap();
    let m = b.len();
    let mut cursor = b.cursor(&[], START).unwrap();
    let mut out = vec![0.0; m];
    for (t, &x) in values.iter().enumerate() {
        cursor.row(&mut out).unwrap();
        assert!(same_bits(&out, &mat[t * m..(t + 1) * m]), "t={t}");
        cursor.push(x).unwrap();
    }
}

/// Naive window statistics of the present values of `values[t-w..t]`.
fn naive(values: &[f64], t: usize, w: usize, q: f64) -> [f64; 5] {
    let mut v: Vec<f64> = values[t.saturating_sub(w)..t]
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .collect();
    if v.is_empty() {
        return [f64::NAN; 5];
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = if v.len() < 2 {
        f64::NAN
    } else {
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    v.sort_by(f64::total_cmp);
    let pos = q * (n - 1.0);
    let lo = pos.floor() as usize;
    let qv = if lo + 1 < v.len() {
        v[lo] + (v[lo + 1] - v[lo]) * (pos - lo as f64)
    } else {
        v[lo]
    };
    [mean, std, v[0], v[v.len() - 1], qv]
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= rel * b.abs().max(1e-300) || a == b
}

#[test]
fn window_statistics_match_naive_two_pass() {
    // Large level, small variation (cancellation trap), gaps, and a constant stretch.
    for (level, seed) in [(1e6, 10u64), (0.0, 11), (1e9, 12), (-5e3, 13)] {
        let mut values = series(3000, level, 0.1, seed);
        for x in &mut values[1000..1300] {
            *x = level + 0.5;
        }
        for x in &mut values[2000..2100] {
            *x = f64::NAN;
        }
        let spec = FeatureSpec::for_frequency(HOUR, &[]).unwrap();
        let b = spec.compile().unwrap();
        let names = spec.names();
        let mat = b.matrix(&values, START).unwrap();
        let m = b.len();
        let col = |n: &str| names.iter().position(|x| x == n).unwrap();
        let (mut sum, mut cnt) = (0.0, 0.0);
        for t in 0..values.len() {
            let row = &mat[t * m..(t + 1) * m];
            for &w in &spec.windows {
                let want = naive(&values, t, w, 0.5);
                let got = [
                    row[col(&format!("roll_mean_{w}"))],
                    row[col(&format!("roll_std_{w}"))],
                    row[col(&format!("roll_min_{w}"))],
                    row[col(&format!("roll_max_{w}"))],
                    row[col(&format!("roll_q50_{w}"))],
                ];
                for k in 0..5 {
                    assert!(
                        close(got[k], want[k], 1e-9),
                        "level {level} t={t} w={w} stat {k}: {} vs {}",
                        got[k],
                        want[k]
                    );
                }
                if (1000 + w..1300).contains(&t) {
                    assert_eq!(got[1], 0.0, "constant window std");
                }
            }
            let want_exp = if cnt > 0.0 { sum / cnt } else { f64::NAN };
            assert!(close(row[col("expanding_mean")], want_exp, 1e-12));
            if !values[t].is_nan() {
                sum += values[t];
                cnt += 1.0;
            }
            for p in [24usize, 168] {
                let v: Vec<f64> = (1..=4)
                    .filter_map(|j| t.checked_sub(j * p))
                    .map(|i| values[i])
                    .filter(|x| !x.is_nan())
                    .collect();
                let want = if v.is_empty() {
                    f64::NAN
                } else {
                    v.iter().sum::<f64>() / v.len() as f64
                };
                assert!(close(row[col(&format!("seas_mean_{p}x4"))], want, 1e-12));
            }
        }
    }
}

#[test]
fn lags_keep_gaps_and_calendar_follows_local_clock() {
    let spec = small_spec();
    let b = spec.compile().unwrap();
    let names = spec.names();
    let col = |n: &str| names.iter().position(|x| x == n).unwrap();
    // 2022-03-26T20:00Z .. : across the Berlin spring-forward night.
    let start = 1_648_324_800;
    let values: Vec<f64> = (0..12)
        .map(|i| if i == 4 { f64::NAN } else { i as f64 })
        .collect();
    let mat = b.matrix(&values, start).unwrap();
    let m = b.len();
    let hours: Vec<f64> = (0..12).map(|t| mat[t * m + col("cal_hour")]).collect();
    assert_eq!(
        hours,
        vec![21., 22., 23., 0., 1., 3., 4., 5., 6., 7., 8., 9.]
    );
    assert!(mat[5 * m + col("lag_1")].is_nan(), "a lag on a gap is NaN");
    assert_eq!(mat[5 * m + col("lag_2")], 3.0);
    assert!(mat[col("lag_1")].is_nan());
    assert!(mat[5 * m + col("diff_1_2")].is_nan());
    // 2022-03-26 is a Saturday, 2022-03-27 a Sunday; neither is the listed holiday.
    assert_eq!(mat[col("cal_weekend")], 1.0);
    assert_eq!(mat[col("cal_dow")], 5.0);
    assert_eq!(mat[3 * m + col("cal_dow")], 6.0);
    assert_eq!(mat[col("cal_holiday")], 0.0);
    let mon = b.matrix(&[1.0], parse_monday()).unwrap();
    assert_eq!(mon[col("cal_holiday")], 1.0);
    assert_eq!(mon[col("cal_weekend")], 0.0);
}

/// 2022-03-21T08:00:00Z: Monday 09:00 in Berlin, the holiday of `small_spec`.
fn parse_monday() -> i64 {
    1_647_849_600
}

/// pandas reference (tests/fixtures/features/make_fixture.py), hand-checked for row 8:
/// window 3 = [4, 6, 9] -> mean 6.333, std 2.517, q25 5; EWM(0.5) 5, 6, 5, 5.5, 7.25.
#[test]
fn matches_pandas_fixture() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/features/small_hourly.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let spec: FeatureSpec = serde_json::from_value(fixture["spec"].clone()).unwrap();
    let start = fixture["start"].as_i64().unwrap();
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let values: Vec<f64> = fixture["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(num)
        .collect();
    let names: Vec<String> = serde_json::from_value(fixture["names"].clone()).unwrap();
    assert_eq!(spec.names(), names);
    let b = spec.compile().unwrap();
    let mat = b.matrix(&values, start).unwrap();
    let m = b.len();
    for (t, row) in fixture["rows"].as_array().unwrap().iter().enumerate() {
        for (j, want) in row.as_array().unwrap().iter().enumerate() {
            let (got, want) = (mat[t * m + j], num(want));
            let ok = (got.is_nan() && want.is_nan())
                || (got - want).abs() <= 1e-12 * want.abs().max(1.0);
            assert!(ok, "row {t} {}: {got} vs pandas {want}", names[j]);
        }
    }
}

#[test]
fn cursor_rows_equal_row_after_each_push() {
    let mut spec = FeatureSpec::for_frequency(HOUR, &[]).unwrap();
    spec.time_zone = Some("America/New_York".into());
    spec.ewm_alphas = vec![0.05, 0.1, 0.2, 0.3, 0.5, 1.0]; // more than one lane group
    let b = spec.compile().unwrap();
    let values = series(900, 200.0, 0.1, 21);
    let mut cursor = b.cursor(&values[..600], START).unwrap();
    let (mut a, mut r) = (vec![0.0; b.len()], vec![0.0; b.len()]);
    for t in 600..values.len() {
        cursor.row(&mut a).unwrap();
        b.row(&values[..t], START, &mut r).unwrap();
        assert!(same_bits(&a, &r), "t={t}");
        cursor.push(values[t]).unwrap();
    }
    assert!(same_bits(cursor.history(), &values));
    assert!(is_invalid(cursor.push(f64::INFINITY)));
    assert!(is_invalid(cursor.row(&mut [0.0; 3])));
    let mat = b.matrix(&values, START).unwrap();
    b.row(&values[..600], START, &mut r).unwrap();
    assert!(same_bits(&r, &mat[600 * b.len()..601 * b.len()]));
}
