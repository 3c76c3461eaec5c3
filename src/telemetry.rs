//! Prometheus text exposition (format 0.0.4) of tenantml's metrics: one function any app
//! can serve at `/metrics`. Breaker state lives in the (shared) breaker store, so the
//! numbers are host-wide when the store is shared.

use std::fmt::Write;

use crate::breaker::{BreakerSnapshot, BreakerStore, State};
use crate::error::Result;

/// Content-Type header to serve the exposition with.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
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
