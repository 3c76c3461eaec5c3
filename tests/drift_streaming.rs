//! Page-Hinkley and ADWIN against river 0.26 on the streams exported by
//! tests/fixtures/drift/make_fixtures.py (streams.json): same detection positions, same
//! final window statistics; plus state round trips and bad settings.

use serde_json::Value;
use tenantml::drift::{Adwin, AdwinParams, PageHinkley, PageHinkleyParams};

fn fixtures() -> Value {
    serde_json::from_str(include_str!("fixtures/drift/streams.json")).unwrap()
}

fn values(stream: &Value) -> Vec<f64> {
    stream["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn detections(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn page_hinkley_matches_river() {
    let mut checked = 0;
    for stream in fixtures()["streams"].as_array().unwrap() {
        let xs = values(stream);
        for run in stream["runs"].as_array().unwrap() {
            if run["detector"] != "page_hinkley" {
                continue;
            }
            // river's parameter names are ours, so its JSON is our params JSON.
            let params: PageHinkleyParams = serde_json::from_value(run["params"].clone()).unwrap();
            let mut ph = PageHinkley::new(params).unwrap();
            let got: Vec<usize> = xs
                .iter()
                .enumerate()
                .filter(|(_, &x)| ph.update(x))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(
                got,
                detections(&run["detections"]),
                "{} {}",
                stream["name"],
                run["params"]
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}

#[test]
fn adwin_matches_river() {
    let mut checked = 0;
    let mut total_detections = 0;
    for stream in fixtures()["streams"].as_array().unwrap() {
        let xs = values(stream);
        for run in stream["runs"].as_array().unwrap() {
            if run["detector"] != "adwin" {
                continue;
            }
            let params: AdwinParams = serde_json::from_value(run["params"].clone()).unwrap();
            let mut ad = Adwin::new(params).unwrap();
            let got: Vec<usize> = xs
                .iter()
                .enumerate()
                .filter(|(_, &x)| ad.update(x))
                .map(|(i, _)| i)
                .collect();
            let ctx = format!("{} {}", stream["name"], run["params"]);
            assert_eq!(got, detections(&run["detections"]), "{ctx}");
            total_detections += got.len();
            let fin = &run["final"];
            assert_eq!(ad.width(), fin["width"].as_u64().unwrap(), "{ctx}");
            assert_eq!(
                ad.n_detections(),
                fin["n_detections"].as_u64().unwrap(),
                "{ctx}"
            );
            let close =
                |a: f64, b: &Value| (a - b.as_f64().unwrap()).abs() <= 1e-9 * (1.0 + a.abs());
            assert!(
                close(ad.total(), &fin["total"]),
                "{ctx}: total {}",
                ad.total()
            );
            assert!(
                close(ad.variance(), &fin["variance"]),
                "{ctx}: variance {}",
                ad.variance()
            );
            assert!(close(ad.estimation(), &fin["estimation"]), "{ctx}");
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
    assert!(total_detections >= 9, "the fixtures exercise detections");
}

/// A detector persisted (JSON) and restored mid-stream continues exactly as if it had
/// never stopped — what a php-fpm worker does between requests.
#[test]
fn state_round_trips_mid_stream() {
    let fx = fixtures();
    let xs = values(&fx["streams"][1]);
    let mut ph = PageHinkley::new(PageHinkleyParams::default()).unwrap();
    let mut ad = Adwin::new(AdwinParams::default()).unwrap();
    let mut ph_ref = ph.clone();
    let mut ad_ref = ad.clone();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, &x) in xs.iter().enumerate() {
        ph = PageHinkley::from_json(&ph.to_json().unwrap()).unwrap();
        ad = Adwin::from_json(&ad.to_json().unwrap()).unwrap();
        a.push((ph.update(x), ad.update(x)));
        b.push((ph_ref.update(x), ad_ref.update(x)));
        if i % 500 == 0 {
            assert_eq!(ph, ph_ref);
            assert_eq!(ad, ad_ref);
        }
    }
    assert_eq!(a, b);
    assert!(a.iter().any(|d| d.0) && a.iter().any(|d| d.1));
}

#[test]
fn bad_settings_and_state_are_refused() {
    let e = PageHinkley::new(PageHinkleyParams {
        threshold: 0.0,
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("threshold (lambda) must be finite and > 0"),
        "{e}"
    );
    let e = PageHinkley::new(PageHinkleyParams {
        alpha: 1.5,
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("alpha must be in (0, 1]"), "{e}");
    let e = Adwin::new(AdwinParams {
        delta: 0.0,
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("delta must be in (0, 1)"), "{e}");
    let e = Adwin::new(AdwinParams {
        clock: 0,
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("clock and max_buckets must be >= 1"),
        "{e}"
    );
    let e = serde_json::from_str::<PageHinkleyParams>(r#"{"lambda": 3}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field `lambda`"), "{e}");
    // A tampered window is caught.
    let mut ad = Adwin::new(AdwinParams::default()).unwrap();
    for i in 0..100 {
        ad.update((i % 2) as f64);
    }
    assert_eq!(ad.width(), 100);
    let json = ad
        .to_json()
        .unwrap()
        .replace("\"width\":100.0", "\"width\":99.0");
    assert!(Adwin::from_json(&json)
        .unwrap_err()
        .to_string()
        .contains("width"));
    assert_eq!(PageHinkley::from_json("{}").unwrap_err().code(), 3);
}

#[test]
fn non_finite_values_are_ignored() {
    let mut ph = PageHinkley::new(PageHinkleyParams::default()).unwrap();
    let mut ad = Adwin::new(AdwinParams::default()).unwrap();
    for x in [1.0, f64::NAN, 2.0, f64::INFINITY] {
        ph.update(x);
        ad.update(x);
    }
    assert_eq!(ph.n(), 2);
    assert_eq!(ad.width(), 2);
    assert_eq!(ph.mean(), 1.5);
    assert_eq!(ad.estimation(), 1.5);
}
