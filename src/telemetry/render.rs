//! Prometheus text exposition (format 0.0.4): the metrics table's series and the breaker
//! store's breakers. HELP and TYPE once per family; label values escaped.

use std::fmt::Write;

use super::slot::{Family, SlotValues, LATENCY_BUCKETS};
use crate::breaker::{BreakerSnapshot, BreakerStore, State};
use crate::error::Result;

/// Renders every breaker of `store`.
///
/// ```
/// use tenantml::breaker::{BreakerConfig, BreakerStore};
/// let store = BreakerStore::in_process();
/// store.breaker("ml-api", BreakerConfig::default())?;
/// let text = tenantml::telemetry::breaker_metrics(&store)?;
/// assert!(text.contains("tenantml_breaker_state{breaker=\"ml-api\",state=\"closed\"} 1"));
/// # Ok::<(), tenantml::Error>(())
/// ```
pub fn breaker_metrics(store: &BreakerStore) -> Result<String> {
    Ok(render_breakers(&store.snapshots()?))
}

/// Renders the given snapshots.
pub fn render_breakers(snapshots: &[BreakerSnapshot]) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "tenantml_breaker_state",
        "gauge",
        "Circuit breaker state: 1 for the current state, 0 for the others.",
        snapshots.iter().flat_map(|s| {
            State::ALL.iter().map(move |st| {
                (
                    format!("breaker=\"{}\",state=\"{}\"", escape(&s.name), st.as_str()),
                    u64::from(s.state == *st),
                )
            })
        }),
    );
    family(
        &mut out,
        "tenantml_breaker_calls_total",
        "counter",
        "Calls recorded through the breaker, by outcome.",
        snapshots.iter().flat_map(|s| {
            [
                ("success", s.totals.successes),
                ("failure", s.totals.failures),
            ]
            .map(|(outcome, n)| {
                (
                    format!("breaker=\"{}\",outcome=\"{outcome}\"", escape(&s.name)),
                    n,
                )
            })
        }),
    );
    let simple = [
        (
            "tenantml_breaker_slow_calls_total",
            "counter",
            "Calls at or over the slow-call duration.",
            (|s: &BreakerSnapshot| s.totals.slow_calls) as fn(&BreakerSnapshot) -> u64,
        ),
        (
            "tenantml_breaker_rejected_calls_total",
            "counter",
            "Calls the breaker refused.",
            |s| s.totals.rejected,
        ),
        (
            "tenantml_breaker_transitions_total",
            "counter",
            "State transitions.",
            |s| s.transitions,
        ),
        (
            "tenantml_breaker_consecutive_failures",
            "gauge",
            "Failures in a row in the current closed period.",
            |s| s.consecutive_failures,
        ),
    ];
    for (name, kind, help, value) in simple {
        family(
            &mut out,
            name,
            kind,
            help,
            snapshots
                .iter()
                .map(|s| (format!("breaker=\"{}\"", escape(&s.name)), value(s))),
        );
    }
    out
}

fn family(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: impl Iterator<Item = (String, u64)>,
) {
    header(out, name, kind, help);
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// Renders the metrics table's series (sorted by labels, so the page is deterministic) and
/// the dropped-record counter.
pub(crate) fn render_metrics(values: &[SlotValues], dropped: u64) -> String {
    let mut sorted: Vec<&SlotValues> = values.iter().collect();
    sorted.sort_by(|a, b| (a.family, &a.model, &a.label).cmp(&(b.family, &b.model, &b.label)));
    let of = |family: Family| sorted.iter().copied().filter(move |v| v.family == family);
    let prediction_labels = |v: &SlotValues| {
        format!(
            "model=\"{}\",outcome=\"{}\"",
            escape(&v.model),
            escape(&v.label)
        )
    };
    let mut out = String::new();
    header(
        &mut out,
        "tenantml_predictions_total",
        "counter",
        "Predictions answered, by model and by the regime that answered (outcome).",
    );
    for v in of(Family::Prediction) {
        let _ = writeln!(
            out,
            "tenantml_predictions_total{{{}}} {}",
            prediction_labels(v),
            v.count
        );
    }
    header(
        &mut out,
        "tenantml_prediction_latency_seconds",
        "histogram",
        "Time to answer one prediction, in seconds.",
    );
    for v in of(Family::Prediction) {
        let labels = prediction_labels(v);
        // The count is the buckets' sum, read once: the page stays consistent while other
        // processes record.
        let mut cumulative = 0u64;
        for (bound, n) in LATENCY_BUCKETS.iter().zip(&v.buckets) {
            cumulative = cumulative.saturating_add(*n);
            let _ = writeln!(
                out,
                "tenantml_prediction_latency_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "tenantml_prediction_latency_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            v.count
        );
        let _ = writeln!(
            out,
            "tenantml_prediction_latency_seconds_sum{{{labels}}} {}",
            float(v.sum_ns as f64 / 1e9)
        );
        let _ = writeln!(
            out,
            "tenantml_prediction_latency_seconds_count{{{labels}}} {}",
            v.count
        );
    }
    header(
        &mut out,
        "tenantml_drift_score",
        "gauge",
        "Drift statistic of each feature in the model's last drift report.",
    );
    for v in of(Family::DriftScore) {
        let _ = writeln!(
            out,
            "tenantml_drift_score{{model=\"{}\",feature=\"{}\"}} {}",
            escape(&v.model),
            escape(&v.label),
            float(v.gauge)
        );
    }
    let gauges = [
        (
            Family::DriftDetected,
            "tenantml_drift_detected",
            "1 if the model's last drift report found dataset drift, else 0.",
        ),
        (
            Family::ModelVersion,
            "tenantml_model_version_in_use",
            "Version of the model loaded for serving.",
        ),
    ];
    for (family, name, help) in gauges {
        header(&mut out, name, "gauge", help);
        for v in of(family) {
            let _ = writeln!(
                out,
                "{name}{{model=\"{}\"}} {}",
                escape(&v.model),
                float(v.gauge)
            );
        }
    }
    header(
        &mut out,
        "tenantml_telemetry_dropped_total",
        "counter",
        "Records dropped because the metrics table was full (raise its capacity).",
    );
    let _ = writeln!(out, "tenantml_telemetry_dropped_total {dropped}");
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Sample values as the exposition format spells them (`NaN`, `+Inf`, `-Inf`).
fn float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// Label values escape backslash, double quote and newline (exposition format 0.0.4).
fn escape(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{BreakerConfig, Outcome};

    #[test]
    fn exposition_lists_every_family_and_escapes_labels() {
        let store = BreakerStore::in_process();
        let b = store
            .breaker("we\"ird\\name\n", BreakerConfig::default())
            .unwrap();
        for _ in 0..5 {
            let p = b.allow().unwrap();
            b.record(&p, Outcome::Failure, None);
        }
        let _ = b.allow();
        let text = breaker_metrics(&store).unwrap();
        let label = r#"breaker="we\"ird\\name\n""#;
        for line in [
            format!("tenantml_breaker_state{{{label},state=\"open\"}} 1"),
            format!("tenantml_breaker_state{{{label},state=\"closed\"}} 0"),
            format!("tenantml_breaker_calls_total{{{label},outcome=\"failure\"}} 5"),
            format!("tenantml_breaker_rejected_calls_total{{{label}}} 1"),
            format!("tenantml_breaker_transitions_total{{{label}}} 1"),
            "# TYPE tenantml_breaker_calls_total counter".to_string(),
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
