#!/usr/bin/env python3
"""Parses a tenantml /metrics page with the Prometheus client's own text parser and checks
it: every family with its type, histograms cumulative and consistent with their counters,
and, with --example, the values examples/metrics_page.rs recorded.

Usage: validate_exposition.py PAGE_FILE [--example]   (PAGE_FILE "-" reads stdin)

The parser must be importable (Debian: python3-prometheus-client; or a venv with
prometheus-client, run with that venv's python). A missing parser is an error, not a skip.
"""
import math
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:  # fail loudly: a skipped validation would hide a broken page
    sys.exit(f"FAIL: the Prometheus parser is missing ({e}); "
             "install python3-prometheus-client (apt) or prometheus-client (pip)")

EXPECTED_TYPES = {
    "tenantml_predictions": "counter",
    "tenantml_prediction_latency_seconds": "histogram",
    "tenantml_drift_score": "gauge",
    "tenantml_drift_detected": "gauge",
    "tenantml_model_version_in_use": "gauge",
    "tenantml_telemetry_dropped": "counter",
    "tenantml_breaker_state": "gauge",
    "tenantml_breaker_calls": "counter",
    "tenantml_breaker_slow_calls": "counter",
    "tenantml_breaker_rejected_calls": "counter",
    "tenantml_breaker_transitions": "counter",
    "tenantml_breaker_consecutive_failures": "gauge",
}

failures = []


def check(cond, message):
    if not cond:
        failures.append(message)


def key(labels, drop=()):
    return tuple(sorted((k, v) for k, v in labels.items() if k not in drop))


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    text = sys.stdin.read() if args[0] == "-" else open(args[0], encoding="utf-8").read()
    families = {f.name: f for f in text_string_to_metric_families(text)}

    for name, kind in EXPECTED_TYPES.items():
        check(name in families, f"family {name} missing")
        if name in families:
            check(families[name].type == kind, f"{name} is {families[name].type}, not {kind}")
    unknown = set(families) - set(EXPECTED_TYPES)
    check(not unknown, f"unexpected families {sorted(unknown)}")

    totals = {key(s.labels): s.value for s in families["tenantml_predictions"].samples
              if s.name == "tenantml_predictions_total"}
    histogram = families["tenantml_prediction_latency_seconds"]
    buckets, counts, sums = {}, {}, {}
    for s in histogram.samples:
        if s.name.endswith("_bucket"):
            buckets.setdefault(key(s.labels, ("le",)), []).append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_count"):
            counts[key(s.labels)] = s.value
        elif s.name.endswith("_sum"):
            sums[key(s.labels)] = s.value
    check(set(buckets) == set(counts) == set(sums) == set(totals),
          "histogram series and counter series differ")
    for series, bs in buckets.items():
        bounds = [b for b, _ in bs]
        check(bounds == sorted(bounds) and math.isinf(bounds[-1]), f"{series}: bucket bounds {bounds}")
        values = [v for _, v in bs]
        check(values == sorted(values), f"{series}: buckets not cumulative {values}")
        check(values[-1] == counts.get(series), f"{series}: +Inf bucket != _count")
        check(totals.get(series) == counts.get(series), f"{series}: _total != histogram _count")
        check(sums.get(series, -1) >= 0, f"{series}: negative _sum")

    if "--example" in sys.argv:
        check_example(families, totals, sums)

    if failures:
        for f in failures:
            print("FAIL:", f)
        sys.exit(1)
    n = sum(len(f.samples) for f in families.values())
    print(f"ok: {len(families)} families, {n} samples parsed by prometheus_client")


def value(families, family, **labels):
    for s in families[family].samples:
        if s.labels == labels and not s.name.endswith(("_bucket", "_sum", "_created")):
            return s.value
    return None


def check_example(families, totals, sums):
    fraud = 'fraud "eu"\\west'  # escaped on the page, unescaped by the parser
    fraud_key = key({"model": fraud, "outcome": "fallback"})
    check(totals.get(fraud_key) == 3, f"fraud predictions {totals.get(fraud_key)}, want 3")
    api_key = key({"model": "pricing-api", "outcome": "fallback"})
    check(totals.get(api_key) == 1, "pricing-api predictions")
    check(abs(sums.get(api_key, 0) - 0.12) < 1e-9, f"pricing-api latency sum {sums.get(api_key)}")
    check(value(families, "tenantml_model_version_in_use", model=fraud) == 3, "model version")
    check(value(families, "tenantml_drift_detected", model=fraud) == 1, "drift detected")
    amount = value(families, "tenantml_drift_score", model=fraud, feature="amount")
    velocity = value(families, "tenantml_drift_score", model=fraud, feature="velocity")
    check(amount is not None and velocity is not None and velocity > amount,
          f"drift scores amount={amount} velocity={velocity}")
    check(value(families, "tenantml_breaker_state", breaker="ml-api", state="open") == 1,
          "breaker open")
    check(value(families, "tenantml_breaker_calls", breaker="ml-api", outcome="failure") == 5,
          "breaker failures")
    check(value(families, "tenantml_telemetry_dropped") == 0, "dropped records")


if __name__ == "__main__":
    main()
