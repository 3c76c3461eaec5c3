//! Every batch statistic against scipy / numpy values from
//! tests/fixtures/drift/make_fixtures.py (versions recorded in stats.json).

use serde_json::Value;
use tenantml::drift::special::{
    chi2_sf, gamma_p, gamma_q, kolmogorov_sf, kstwo_sf, ln_gamma, smirnov,
};
use tenantml::drift::{
    chi2_categorical, chi2_contingency, jensen_shannon, jensen_shannon_categorical,
    jensen_shannon_numeric, ks_2samp, psi, psi_categorical, wasserstein, wasserstein_normalized,
    CategoryCounts, KsMethod,
};

fn fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures/drift/stats.json")).unwrap()
}

fn vec_f64(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// `|a - b| <= atol + rtol |b|`
fn close(a: f64, b: f64, rtol: f64, atol: f64) -> bool {
    (a - b).abs() <= atol + rtol * b.abs()
}

#[test]
fn anchor_values_from_the_issue() {
    let ks = ks_2samp(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
    assert_eq!(ks.statistic, 1.0);
    assert!((ks.p_value - 0.0079365).abs() < 5e-8, "{}", ks.p_value);
    assert!((ks.p_value - 2.0 / 252.0).abs() < 1e-15);
    assert_eq!(ks.method, KsMethod::Exact);
    assert_eq!(
        wasserstein(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]).unwrap(),
        5.0
    );
    let js = jensen_shannon(&[0.5, 0.5], &[0.9, 0.1]).unwrap();
    assert!((js - 0.318982).abs() < 5e-7, "{js}");
    let c = chi2_contingency(&[vec![4.0, 2.0, 0.0], vec![1.0, 1.0, 4.0]]).unwrap();
    assert!((c.statistic - 6.13333).abs() < 5e-6, "{}", c.statistic);
    assert!((c.p_value - 0.0465762).abs() < 5e-8, "{}", c.p_value);
    assert_eq!(c.dof, 2);
}

#[test]
fn ks_2samp_matches_scipy() {
    for case in fixtures()["ks"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let r = ks_2samp(&vec_f64(&case["reference"]), &vec_f64(&case["current"])).unwrap();
        let method = match case["method"].as_str().unwrap() {
            "exact" => KsMethod::Exact,
            _ => KsMethod::Asymptotic,
        };
        assert_eq!(r.method, method, "{name}");
        assert!(
            close(r.statistic, f(&case["statistic"]), 1e-12, 1e-14),
            "{name}: D {} vs {}",
            r.statistic,
            case["statistic"]
        );
        assert!(
            close(r.p_value, f(&case["p_value"]), 1e-8, 1e-300),
            "{name}: p {} vs {}",
            r.p_value,
            case["p_value"]
        );
    }
}

#[test]
fn kstwo_smirnov_kolmogorov_match_scipy() {
    let fx = fixtures();
    for c in fx["kstwo"].as_array().unwrap() {
        let (n, x, sf) = (c["n"].as_u64().unwrap(), f(&c["x"]), f(&c["sf"]));
        let got = kstwo_sf(x, n);
        assert!(
            close(got, sf, 1e-9, 1e-14),
            "kstwo.sf({x}, {n}) = {got}, scipy {sf}"
        );
    }
    for c in fx["smirnov"].as_array().unwrap() {
        let (n, x, sf) = (c["n"].as_u64().unwrap(), f(&c["x"]), f(&c["sf"]));
        let got = smirnov(n, x);
        assert!(
            close(got, sf, 1e-10, 1e-300),
            "smirnov({n}, {x}) = {got}, scipy {sf}"
        );
    }
    for c in fx["kolmogorov"].as_array().unwrap() {
        let (y, sf) = (f(&c["y"]), f(&c["sf"]));
        let got = kolmogorov_sf(y);
        assert!(
            close(got, sf, 1e-12, 1e-16),
            "kolmogorov({y}) = {got}, scipy {sf}"
        );
    }
}

#[test]
fn incomplete_gamma_and_chi2_match_scipy() {
    let fx = fixtures();
    for c in fx["gamma"].as_array().unwrap() {
        let (a, x) = (f(&c["a"]), f(&c["x"]));
        let (p, q) = (gamma_p(a, x), gamma_q(a, x));
        assert!(
            close(p, f(&c["p"]), 1e-12, 1e-300),
            "P({a}, {x}) = {p}, scipy {}",
            c["p"]
        );
        assert!(
            close(q, f(&c["q"]), 1e-12, 1e-300),
            "Q({a}, {x}) = {q}, scipy {}",
            c["q"]
        );
    }
    for c in fx["lngamma"].as_array().unwrap() {
        let x = f(&c["x"]);
        assert!(
            close(ln_gamma(x), f(&c["value"]), 1e-13, 1e-14),
            "lgamma({x})"
        );
    }
    for c in fx["chi2_sf"].as_array().unwrap() {
        let (x, k) = (f(&c["x"]), f(&c["dof"]));
        assert!(
            close(chi2_sf(x, k), f(&c["sf"]), 1e-12, 1e-300),
            "chi2.sf({x}, {k})"
        );
    }
    assert!(gamma_q(-1.0, 1.0).is_nan());
    assert!(chi2_sf(1.0, 0.0).is_nan());
}

#[test]
fn chi2_contingency_matches_scipy() {
    let fx = fixtures();
    for c in fx["chi2"].as_array().unwrap() {
        let table: Vec<Vec<f64>> = c["table"].as_array().unwrap().iter().map(vec_f64).collect();
        let r = chi2_contingency(&table).unwrap();
        let name = c["name"].as_str().unwrap();
        assert!(
            close(r.statistic, f(&c["statistic"]), 1e-12, 1e-14),
            "{name}"
        );
        assert!(close(r.p_value, f(&c["p_value"]), 1e-10, 1e-300), "{name}");
        assert_eq!(r.dof as u64, c["dof"].as_u64().unwrap(), "{name}");
    }
    for c in fx["categorical"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let a = CategoryCounts::from_values(&vec_f64(&c["reference"])).unwrap();
        let b = CategoryCounts::from_values(&vec_f64(&c["current"])).unwrap();
        let r = chi2_categorical(&a, &b).unwrap();
        assert!(
            close(r.statistic, f(&c["chi2_statistic"]), 1e-12, 1e-14),
            "{name}"
        );
        assert!(
            close(r.p_value, f(&c["chi2_p_value"]), 1e-10, 1e-300),
            "{name}"
        );
        assert_eq!(r.dof as u64, c["dof"].as_u64().unwrap(), "{name}");
        assert!(
            close(psi_categorical(&a, &b).unwrap(), f(&c["psi"]), 1e-12, 1e-14),
            "{name}"
        );
        let js = jensen_shannon_categorical(&a, &b).unwrap();
        assert!(close(js, f(&c["jensen_shannon"]), 1e-12, 1e-14), "{name}");
    }
}

#[test]
fn distances_match_scipy_and_numpy() {
    for c in fixtures()["distances"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (a, b) = (vec_f64(&c["reference"]), vec_f64(&c["current"]));
        let bins = c["bins"].as_u64().unwrap() as usize;
        let w = wasserstein(&a, &b).unwrap();
        assert!(
            close(w, f(&c["wasserstein"]), 1e-10, 1e-14),
            "{name}: {w} vs {}",
            c["wasserstein"]
        );
        let wn = wasserstein_normalized(&a, &b).unwrap();
        assert!(
            close(wn, f(&c["wasserstein_normalized"]), 1e-10, 1e-14),
            "{name}"
        );
        let p = psi(&a, &b, bins).unwrap();
        assert!(
            close(p, f(&c["psi"]), 1e-10, 1e-14),
            "{name}: psi {p} vs {}",
            c["psi"]
        );
        let js = jensen_shannon_numeric(&a, &b, bins).unwrap();
        assert!(
            close(js, f(&c["jensen_shannon"]), 1e-10, 1e-14),
            "{name}: js {js} vs {}",
            c["jensen_shannon"]
        );
    }
    for c in fixtures()["jensen_shannon"].as_array().unwrap() {
        let d = jensen_shannon(&vec_f64(&c["p"]), &vec_f64(&c["q"])).unwrap();
        assert!(close(d, f(&c["distance"]), 1e-12, 1e-15), "{c}");
    }
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let msg = |r: Result<f64, tenantml::Error>| r.unwrap_err().to_string();
    assert!(msg(wasserstein(&[], &[1.0])).contains("reference sample is empty"));
    assert!(msg(psi(&[1.0, 2.0], &[], 10)).contains("current sample is empty"));
    let e = ks_2samp(&[1.0, f64::NAN], &[1.0]).unwrap_err();
    assert_eq!(e.code(), 1);
    assert!(
        e.to_string().contains("non-finite value (NaN) at index 1"),
        "{e}"
    );
    assert!(msg(psi(&[1.0, 2.0], &[1.0], 1)).contains("bins must be at least 2"));
    assert!(msg(jensen_shannon(&[1.0], &[1.0, 2.0])).contains("one length"));
    assert!(msg(jensen_shannon(&[0.0], &[1.0])).contains("sum to zero"));
    assert!(chi2_contingency(&[vec![1.0, 0.0], vec![2.0, 0.0]])
        .unwrap_err()
        .to_string()
        .contains("zero expected"));
    assert!(CategoryCounts::from_values(&[f64::INFINITY]).is_err());
}

/// Unequal sizes with a large statistic: the exact recursion would visit ~2 D m n = 9e7
/// lattice points, so the asymptotic p-value answers (and says so); it is as tiny as the
/// exact one would be. Below the bound the same sizes stay exact.
#[test]
fn ks_bounds_the_exact_cost_for_unequal_sizes() {
    let a: Vec<f64> = (0..10_000).map(|i| i as f64).collect();
    let far: Vec<f64> = (0..9_000).map(|i| 5_000.0 + i as f64).collect();
    let r = ks_2samp(&a, &far).unwrap();
    assert_eq!(r.method, KsMethod::Asymptotic);
    assert!((r.statistic - 0.5).abs() < 1e-12);
    assert!(r.p_value < 1e-100 && r.p_value >= 0.0, "{}", r.p_value);
    let near: Vec<f64> = (0..9_000)
        .map(|i| 20.0 + i as f64 * 10_000.0 / 9_000.0)
        .collect();
    let r = ks_2samp(&a, &near).unwrap();
    assert_eq!(r.method, KsMethod::Exact);
    assert!(r.p_value > 0.5, "{r:?}");
}

#[test]
fn identical_samples_show_no_drift() {
    let x: Vec<f64> = (0..500).map(|i| ((i * 37) % 101) as f64).collect();
    let r = ks_2samp(&x, &x).unwrap();
    assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
    assert_eq!(wasserstein(&x, &x).unwrap(), 0.0);
    assert!(psi(&x, &x, 10).unwrap().abs() < 1e-15);
    assert_eq!(jensen_shannon_numeric(&x, &x, 10).unwrap(), 0.0);
}
