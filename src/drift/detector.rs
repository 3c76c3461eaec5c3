//! One streaming detector of either kind, with its kind carried in its JSON state, so a
//! caller that persists detectors (a PHP worker between requests) needs no type of its own.

use serde::{Deserialize, Serialize};

use super::{Adwin, AdwinParams, PageHinkley, PageHinkleyParams};
use crate::error::{Error, Result};

/// A [`PageHinkley`] or an [`Adwin`] detector. Its JSON is
/// `{"kind": "page_hinkley" | "adwin", "state": {...}}`.
///
/// Unlike the detectors themselves, which skip non-finite values, this wrapper refuses
/// them: a NaN reaching a caller's error stream is almost always a bug upstream, and it is
/// better reported than silently dropped.
///
/// ```
/// use tenantml::drift::StreamingDetector;
/// let mut d = StreamingDetector::new("page_hinkley", Some(r#"{"threshold": 20}"#))?;
/// let stream: Vec<f64> = (0..400).map(|i| if i < 200 { 0.1 } else { 2.0 }).collect();
/// let run = d.update_many(&stream)?;
/// assert!(run.first_detection.unwrap() >= 200);
/// let restored = StreamingDetector::from_json(&d.to_json()?)?; // kept between requests
/// assert_eq!(restored, d);
/// assert!(d.update(f64::NAN).is_err());
/// # Ok::<(), tenantml::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "state", rename_all = "snake_case")]
pub enum StreamingDetector {
    /// Page-Hinkley (changes of the mean).
    PageHinkley(PageHinkley),
    /// ADWIN (adaptive window).
    Adwin(Adwin),
}

/// What [`StreamingDetector::update_many`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRun {
    /// Index of the first value at which drift was detected.
    pub first_detection: Option<usize>,
    /// Number of values at which drift was detected (the detector restarts after each).
    pub detections: usize,
}

impl StreamingDetector {
    /// A fresh detector of `kind` (`page_hinkley` or `adwin`) with `params_json` (`None`
    /// = defaults; unknown fields are refused).
    pub fn new(kind: &str, params_json: Option<&str>) -> Result<Self> {
        let params = params_json.unwrap_or("{}");
        let what = format!("{kind} params");
        match kind {
            "page_hinkley" => {
                let p: PageHinkleyParams = super::from_json_object(params, &what)?;
                Ok(StreamingDetector::PageHinkley(PageHinkley::new(p)?))
            }
            "adwin" => {
                let p: AdwinParams = super::from_json_object(params, &what)?;
                Ok(StreamingDetector::Adwin(Adwin::new(p)?))
            }
            other => Err(Error::InvalidArgument(format!(
                "unknown streaming detector kind '{other}' (use page_hinkley or adwin)"
            ))),
        }
    }

    /// The kind, as [`StreamingDetector::new`] takes it.
    pub fn kind(&self) -> &'static str {
        match self {
            StreamingDetector::PageHinkley(_) => "page_hinkley",
            StreamingDetector::Adwin(_) => "adwin",
        }
    }

    /// Adds one value; returns whether drift is detected at it. Errors (leaving the state
    /// unchanged) on a non-finite value.
    pub fn update(&mut self, x: f64) -> Result<bool> {
        check_finite(x, 0)?;
        Ok(self.step(x))
    }

    /// Adds every value in order. Errors, before adding any, if one is non-finite.
    pub fn update_many(&mut self, xs: &[f64]) -> Result<StreamRun> {
        if let Some(i) = xs.iter().position(|x| !x.is_finite()) {
            check_finite(xs[i], i)?;
        }
        let mut run = StreamRun {
            first_detection: None,
            detections: 0,
        };
        for (i, &x) in xs.iter().enumerate() {
            if self.step(x) {
                run.first_detection.get_or_insert(i);
                run.detections += 1;
            }
        }
        Ok(run)
    }

    fn step(&mut self, x: f64) -> bool {
        match self {
            StreamingDetector::PageHinkley(d) => d.update(x),
            StreamingDetector::Adwin(d) => d.update(x),
        }
    }

    /// Whether the last update detected drift.
    pub fn drift_detected(&self) -> bool {
        match self {
            StreamingDetector::PageHinkley(d) => d.drift_detected(),
            StreamingDetector::Adwin(d) => d.drift_detected(),
        }
    }

    /// The state as JSON (kind, settings and running sums).
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string(self)?)
    }

    /// A detector from [`StreamingDetector::to_json`]'s output; validates the settings
    /// (and ADWIN's window) as the detectors' own `from_json` do.
    pub fn from_json(json: &str) -> Result<Self> {
        let d: StreamingDetector = serde_json::from_str(json)
            .map_err(|e| Error::Parse(format!("streaming detector state: {e}")))?;
        // Round-trip the inner state through the checked constructors.
        Ok(match d {
            StreamingDetector::PageHinkley(ph) => {
                StreamingDetector::PageHinkley(PageHinkley::from_json(&ph.to_json()?)?)
            }
            StreamingDetector::Adwin(a) => {
                StreamingDetector::Adwin(Adwin::from_json(&a.to_json()?)?)
            }
        })
    }
}

fn check_finite(x: f64, index: usize) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "streaming detector value {index} is {x}; values must be finite"
        )))
    }
}
