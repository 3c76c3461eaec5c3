//! The pieces the C, PHP and CLI interfaces stand on: `StreamingDetector` (either detector
//! behind one JSON state) and `ModelReference::from_json`, including bad input.

use ndarray::Array2;
use tenantml::drift::{
    Adwin, AdwinParams, DriftConfig, FeatureSchema, ModelReference, PageHinkley, PageHinkleyParams,
    PolicyState, ReferenceSample, RetrainPolicy, StreamingDetector,
};
use tenantml::Error;

fn stream() -> Vec<f64> {
    (0..1500)
        .map(|i| if i < 700 { 0.2 } else { 1.0 } + 0.03 * (i % 5) as f64)
        .collect()
}

#[test]
fn wrapper_detects_where_the_detectors_do() {
    let xs = stream();
    let mut ph = PageHinkley::new(PageHinkleyParams::default()).unwrap();
    let mut adwin = Adwin::new(AdwinParams::default()).unwrap();
    let ph_hits: Vec<usize> = (0..xs.len()).filter(|&i| ph.update(xs[i])).collect();
    let adwin_hits: Vec<usize> = (0..xs.len()).filter(|&i| adwin.update(xs[i])).collect();
    assert!(!ph_hits.is_empty() && !adwin_hits.is_empty());
    for (kind, hits) in [("page_hinkley", &ph_hits), ("adwin", &adwin_hits)] {
        let mut d = StreamingDetector::new(kind, None).unwrap();
        let run = d.update_many(&xs).unwrap();
        assert_eq!(run.first_detection, Some(hits[0]), "{kind}");
        assert_eq!(run.detections, hits.len(), "{kind}");
        assert_eq!(d.kind(), kind);
    }
}

#[test]
fn state_survives_json_between_every_value() {
    let xs = stream();
    for kind in ["page_hinkley", "adwin"] {
        let mut whole = StreamingDetector::new(kind, None).unwrap();
        let mut hopping = StreamingDetector::new(kind, None).unwrap();
        for (i, &x) in xs.iter().enumerate().take(900) {
            // Every request restores the detector, adds a value and stores it again.
            hopping = StreamingDetector::from_json(&hopping.to_json().unwrap()).unwrap();
            assert_eq!(
                hopping.update(x).unwrap(),
                whole.update(x).unwrap(),
                "{kind} at {i}"
            );
        }
        assert_eq!(hopping, whole);
        let state: serde_json::Value = serde_json::from_str(&whole.to_json().unwrap()).unwrap();
        assert_eq!(state["kind"], kind);
    }
}

#[test]
fn bad_values_params_and_states_are_errors() {
    let mut d = StreamingDetector::new("page_hinkley", Some(r#"{"min_instances": 5}"#)).unwrap();
    d.update_many(&[1.0, 2.0]).unwrap();
    let before = d.clone();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert!(matches!(d.update(bad), Err(Error::InvalidArgument(_))));
        let e = d.update_many(&[1.0, bad]).unwrap_err();
        assert!(e.to_string().contains("value 1"), "{e}");
    }
    assert_eq!(d, before, "a refused value changes nothing");
    assert!(matches!(
        StreamingDetector::new("kswin", None),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        StreamingDetector::new("adwin", Some(r#"{"delta": 0}"#)),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        StreamingDetector::new("adwin", Some(r#"{"clok": 3}"#)),
        Err(Error::Parse(_))
    ));
    let state = StreamingDetector::new("adwin", None)
        .unwrap()
        .to_json()
        .unwrap();
    for bad in [
        String::new(),
        state[..state.len() / 2].to_string(),
        state.replace("adwin", "page_hinkley"),
        state.replace("\"width\":0.0", "\"width\":7.0"),
        r#"{"kind": "adwin"}"#.to_string(),
    ] {
        assert!(StreamingDetector::from_json(&bad).is_err(), "{bad}");
    }
}

#[test]
fn model_reference_json_accepts_both_forms_and_refuses_damage() {
    let train = Array2::from_shape_fn((400, 2), |(i, j)| ((i * 11 + j) % 60) as f64);
    let schema = FeatureSchema::new(vec!["x".into(), "tier".into()], &[1]).unwrap();
    let predictions: Vec<f64> = (0..400).map(|i| (i % 20) as f64 / 20.0).collect();
    let full = ModelReference::build(train.view(), &schema, &predictions).unwrap();
    assert_eq!(
        ModelReference::from_json(&full.to_json().unwrap()).unwrap(),
        full
    );
    let bare = ReferenceSample::new(train.view(), &schema).unwrap();
    let from_bare = ModelReference::from_json(&bare.to_json().unwrap()).unwrap();
    assert_eq!((from_bare.features, from_bare.predictions), (bare, None));

    let shifted = train.mapv(|v| v + 25.0);
    let report = full
        .report(shifted.view(), &DriftConfig::default())
        .unwrap();
    assert!(report.features[0].drifted);
    let json = full.to_json().unwrap();
    for bad in [
        "",
        "[]",
        "{}",
        &json[..json.len() - 10],
        r#"{"features": {"max_per_feature": 1, "features": []}, "predictions": null}"#,
        r#"{"max_per_feature": 10, "features": [{"name": "a", "column": {"kind": "numeric", "values": [2, 1], "count": 2, "missing": 0}}]}"#,
    ] {
        assert!(
            matches!(ModelReference::from_json(bad), Err(Error::Parse(_))),
            "{bad}"
        );
    }
}

#[test]
fn settings_and_states_must_be_json_objects() {
    // serde alone would read `[]` as "every default"; a caller passing an array made a mistake.
    for json in ["[]", " [1]", "3", "null"] {
        assert!(
            matches!(DriftConfig::from_json(json), Err(Error::Parse(_))),
            "{json}"
        );
        assert!(
            matches!(RetrainPolicy::from_json(json), Err(Error::Parse(_))),
            "{json}"
        );
        assert!(
            matches!(PolicyState::from_json(json), Err(Error::Parse(_))),
            "{json}"
        );
        let e = StreamingDetector::new("adwin", Some(json)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parse error: adwin params must be a JSON object"
        );
    }
    assert!(DriftConfig::from_json(" {}").is_ok());
    assert!(RetrainPolicy::from_json("{}").is_ok());
}
